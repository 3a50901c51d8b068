"""Test cards: which number succeeds, which fails and how.

Razorpay's own test mode decides outcomes on a mock bank page; the sandbox instead decides by
card number, so that tests are deterministic. Any other Luhn-valid number succeeds.

==================== =========== ======================================================
number               outcome     Razorpay ``reason`` on failure
==================== =========== ======================================================
4111111111111111     success     (Visa credit, Razorpay's documented test card)
5267318187975449     success     (Mastercard, Razorpay's documented test card)
4242424242424242     success     (Visa)
5555555555554444     success     (Mastercard)
4000000000000002     decline     ``card_declined``
4000000000009995     insufficient_funds ``insufficient_funds``
4000000000000069     expired     ``card_expired``
4000000000000127     incorrect_cvc ``incorrect_cvv``
4000000000000119     processing_error ``gateway_technical_error`` (GATEWAY_ERROR, 502)
4000002760003184     authentication_required ``authentication_failed``
==================== =========== ======================================================
"""

from __future__ import annotations

import attrs

from paywire_sandbox._cards import luhn_valid
from paywire_sandbox.razorpay._errors import BAD_REQUEST, GATEWAY

__all__ = [
    "OUTCOME_CARDS",
    "CardFailure",
    "TestCard",
    "card_for_number",
]


@attrs.frozen
class CardFailure:
    """How a payment with this card fails, in Razorpay's error vocabulary."""

    reason: str
    description: str
    source: str
    step: str
    code: str = BAD_REQUEST
    status: int = 400


@attrs.frozen
class TestCard:
    """A card as the sandbox knows it: its network details and its fate."""

    number: str
    network: str
    type: str
    issuer: str
    failure: CardFailure | None = None

    @property
    def last4(self) -> str:
        """The last four digits, as Razorpay shows them."""
        return self.number[-4:]


_DECLINED = CardFailure(
    reason="card_declined",
    description="Your payment has been declined by your bank. Try another card.",
    source="bank",
    step="payment_authorization",
)
_INSUFFICIENT = CardFailure(
    reason="insufficient_funds",
    description="Your payment could not be completed due to insufficient account balance.",
    source="customer",
    step="payment_authorization",
)
_EXPIRED = CardFailure(
    reason="card_expired",
    description="Your payment could not be completed as your card has expired.",
    source="customer",
    step="payment_authorization",
)
_BAD_CVV = CardFailure(
    reason="incorrect_cvv",
    description="Your payment could not be completed as the CVV entered is incorrect.",
    source="customer",
    step="payment_authorization",
)
_GATEWAY = CardFailure(
    reason="gateway_technical_error",
    description="Payment processing failed due to error at bank or wallet gateway",
    source="gateway",
    step="payment_authorization",
    code=GATEWAY,
    status=502,
)
_AUTH_FAILED = CardFailure(
    reason="authentication_failed",
    description="Payment failed because card holder couldn't be authenticated",
    source="customer",
    step="payment_authentication",
)

_KNOWN: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4111111111111111", "Visa", "credit", "HDFC"),
        TestCard("5267318187975449", "MasterCard", "credit", "ICIC"),
        TestCard("4242424242424242", "Visa", "credit", "SBIN"),
        TestCard("5555555555554444", "MasterCard", "debit", "UTIB"),
        TestCard("4000000000000002", "Visa", "credit", "HDFC", _DECLINED),
        TestCard("4000000000009995", "Visa", "debit", "SBIN", _INSUFFICIENT),
        TestCard("4000000000000069", "Visa", "credit", "ICIC", _EXPIRED),
        TestCard("4000000000000127", "Visa", "credit", "KKBK", _BAD_CVV),
        TestCard("4000000000000119", "Visa", "credit", "HDFC", _GATEWAY),
        TestCard("4000002760003184", "Visa", "credit", "CITI", _AUTH_FAILED),
    )
}

#: The shared control-API ``outcome`` names and the card that produces each.
OUTCOME_CARDS: dict[str, str] = {
    "success": "4111111111111111",
    "decline": "4000000000000002",
    "insufficient_funds": "4000000000009995",
    "expired": "4000000000000069",
    "incorrect_cvc": "4000000000000127",
    "processing_error": "4000000000000119",
    "authentication_required": "4000002760003184",
}


def _network(number: str) -> str:
    if number.startswith("4"):
        return "Visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or number[:1] == "2":
        return "MasterCard"
    if number[:2] in {"34", "37"}:
        return "American Express"
    if number[:2] in {"60", "65", "81", "82", "50"}:
        return "RuPay"
    return "Unknown"


def card_for_number(raw: str) -> TestCard | None:
    """The test card for ``raw`` (spaces and dashes ignored), or None if it is not a card number."""
    number = raw.replace(" ", "").replace("-", "")
    known = _KNOWN.get(number)
    if known is not None:
        return known
    if not luhn_valid(number):
        return None
    return TestCard(number, _network(number), "credit", "HDFC")
