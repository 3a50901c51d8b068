"""How a payment turns out in the sandbox.

A PayPal order is approved on the hosted page (or by the control route) with an *outcome*; a
vaulted payment token carries the outcome chosen when it was approved or created. Capturing the
order, or charging the token, then plays that outcome out:

================================  ==================================================================
outcome                           result
================================  ==================================================================
``success``                       capture ``COMPLETED``
``pending``                       capture ``PENDING`` (``status_details.reason`` ``PENDING_REVIEW``)
``denied``                        capture ``DECLINED`` (processor response ``0500``)
``insufficient_funds``            capture ``DECLINED`` (processor response ``5120``)
``incorrect_cvc``                 capture ``DECLINED`` (processor response ``00N7``)
``decline``                       422 ``INSTRUMENT_DECLINED``, no capture
``expired``                       422 ``CARD_EXPIRED`` (vault charge), ``INSTRUMENT_DECLINED``
                                  (capture)
``processing_error``              422 ``TRANSACTION_REFUSED``
``authentication_required``       vault charge: order ``PAYER_ACTION_REQUIRED`` with a
                                  ``payer-action`` link; capture: 422 ``PAYER_ACTION_REQUIRED``
================================  ==================================================================

Card numbers (control route ``{"card": ...}`` and card setup tokens) choose an outcome too; see
:data:`CARD_OUTCOMES`. Any other valid number succeeds.
"""

from __future__ import annotations

import attrs

__all__ = ["CARD_OUTCOMES", "OUTCOMES", "Outcome", "card_brand", "outcome_for_card"]


@attrs.frozen
class Outcome:
    """What capturing or charging does for one outcome name."""

    name: str
    #: Capture status when a capture is made; ``None`` when the call is refused (422).
    capture_status: str | None
    #: Issue of the 422 when an approved order is captured.
    capture_issue: str | None = None
    #: Issue of the 422 when a vaulted token is charged in one step.
    charge_issue: str | None = None
    #: ``processor_response.response_code`` for a declined capture.
    response_code: str | None = None
    #: A one-step charge needs the payer back (order ``PAYER_ACTION_REQUIRED``).
    payer_action: bool = False


OUTCOMES: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome("success", "COMPLETED"),
        Outcome("pending", "PENDING"),
        Outcome("denied", "DECLINED", response_code="0500"),
        Outcome("insufficient_funds", "DECLINED", response_code="5120"),
        Outcome("incorrect_cvc", "DECLINED", response_code="00N7"),
        Outcome("decline", None, "INSTRUMENT_DECLINED", "INSTRUMENT_DECLINED"),
        Outcome("expired", None, "INSTRUMENT_DECLINED", "CARD_EXPIRED"),
        Outcome("processing_error", None, "TRANSACTION_REFUSED", "TRANSACTION_REFUSED"),
        Outcome(
            "authentication_required",
            None,
            "PAYER_ACTION_REQUIRED",
            None,
            payer_action=True,
        ),
    )
}

#: Test card numbers and the outcome they stand for.
CARD_OUTCOMES: dict[str, str] = {
    "4000000000000002": "decline",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
    "4000002500003155": "authentication_required",
    "4000002760003184": "authentication_required",
    "4000000000000259": "denied",
}


def outcome_for_card(number: str) -> str:
    """The outcome a card number stands for (``success`` unless listed)."""
    return CARD_OUTCOMES.get(number, "success")


def card_brand(number: str) -> str:
    """The card brand PayPal reports for ``number`` (by its leading digits)."""
    if number.startswith("4"):
        return "VISA"
    if number[:2] in {"34", "37"}:
        return "AMEX"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "MASTERCARD"
    if number.startswith(("6011", "65")):
        return "DISCOVER"
    if number.startswith("35"):
        return "JCB"
    return "MAESTRO"
