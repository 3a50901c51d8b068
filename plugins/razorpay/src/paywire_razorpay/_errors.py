"""Razorpay's error bodies mapped onto paywire's error hierarchy, keeping Razorpay's own codes.

Razorpay answers ``{"error": {"code", "description", "source", "step", "reason", "metadata",
"field"}}``. ``code`` is coarse (``BAD_REQUEST_ERROR``, ``GATEWAY_ERROR``, ``SERVER_ERROR``);
``reason`` says why a payment failed (``card_declined`` …) and is ``"NA"`` otherwise. The
normalized class comes from the reason first, then from what was being done and the status;
``raw_code`` keeps the reason, or the code when there is none. An unknown id is a **400** with
"The id provided does not exist" (Razorpay has no 404 for it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, Literal

import paywire

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CARD_FAILURE_REASONS",
    "Operation",
    "RazorpayErrorBody",
    "error_from_payment",
    "error_from_response",
    "parse_error_body",
]

#: What was being done, where the same answer means different things.
Operation = Literal["checkout", "setup", "customer", "charge", "refund", "token", "other"]

_PROVIDER: Final = "razorpay"
_NOT_APPLICABLE: Final = frozenset({"", "NA", "na", "null"})

_EXPIRED: Final = frozenset({"card_expired", "expired_card"})
_AUTHENTICATION: Final = frozenset({"authentication_failed", "card_not_enrolled"})
#: Payment failure reasons that mean "the card was refused"; from Razorpay's card error list.
CARD_FAILURE_REASONS: Final = frozenset(
    {
        "card_declined",
        "insufficient_funds",
        "incorrect_cvv",
        "incorrect_card_details",
        "invalid_card_number",
        "card_disabled_for_online_payments",
        "card_blocked",
        "payment_declined",
        "payment_risk_check_failed",
        "payment_timed_out",
        "payment_cancelled",
        "payment_failed",
        "gateway_technical_error",
        "bank_technical_error",
        "transaction_limit_exceeded",
        "international_transaction_not_allowed",
    }
)
# Declines that may pass later with nothing changed on our side.
_RETRYABLE_REASONS: Final = frozenset(
    {"payment_timed_out", "gateway_technical_error", "bank_technical_error"}
)


class RazorpayErrorBody(dict[str, Any]):
    """The ``error`` object of an error answer (a plain dict with typed readers)."""

    def text(self, key: str) -> str | None:
        """A string field, ``None`` when absent, empty or ``"NA"``."""
        value = self.get(key)
        if not isinstance(value, str) or value in _NOT_APPLICABLE:
            return None
        return value


def parse_error_body(content: bytes) -> RazorpayErrorBody:
    """The ``error`` object of a Razorpay error body, empty when the body is not one."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return RazorpayErrorBody()
    error = body.get("error") if isinstance(body, dict) else None
    return RazorpayErrorBody(error) if isinstance(error, dict) else RazorpayErrorBody()


def _classify(
    reason: str | None, description: str, operation: Operation
) -> type[paywire.ProviderError] | None:
    """The class a failure's reason or wording names, if it names one."""
    lowered = description.lower()
    if reason in _EXPIRED:
        return paywire.PaymentMethodExpired
    if reason in _AUTHENTICATION:
        return paywire.AuthenticationRequired
    if reason in CARD_FAILURE_REASONS:
        return paywire.CardDeclined
    if "does not exist" in lowered:
        return paywire.NotFound
    if operation == "refund" and (
        "fully refunded" in lowered or ("refund amount" in lowered and "greater than" in lowered)
    ):
        return paywire.AlreadyRefunded
    if operation == "charge" and "mandate" in lowered and "expired" in lowered:
        # The token's mandate ran out ("Card mandate is not active, it is expired").
        return paywire.PaymentMethodExpired
    return None


def error_from_response(
    response: httpx.Response,
    *,
    operation: Operation = "other",
    idempotency_key: str | None = None,
    secrets: Iterable[paywire.Secret | str] = (),
) -> paywire.ProviderError:
    """The paywire error for Razorpay's unsuccessful ``response`` to ``operation``.

    The response's body must have been read. Messages are redacted of ``secrets`` and of anything
    shaped like a credential.
    """
    status = response.status_code
    error = parse_error_body(response.content)
    code = error.text("code")
    reason = error.text("reason")
    raw_code = reason or code
    description = error.text("description") or f"Razorpay answered HTTP {status}"
    message = paywire.redact(description, secrets)
    common: dict[str, Any] = {"provider": _PROVIDER, "raw_code": raw_code, "http_status": status}

    if status == 401:
        return paywire.AuthenticationFailed(message, **common)
    if status == 429:
        retry_after = paywire.parse_retry_after(response.headers.get("Retry-After"))
        return paywire.RateLimited(message, retry_after=retry_after, **common)
    # A GATEWAY_ERROR that names a failure reason is a payment that was tried and failed: its
    # outcome is known, whatever the 5xx status says.
    known = _classify(reason, description, operation)
    if status >= 500 and (known is None or code == "SERVER_ERROR"):
        return paywire.error_for_status(
            response,
            provider=_PROVIDER,
            message=message,
            raw_code=raw_code,
            idempotency_key=idempotency_key,
        )
    if known is paywire.CardDeclined:
        return paywire.CardDeclined(message, retryable=reason in _RETRYABLE_REASONS, **common)
    if known is not None:
        return known(message, **common)
    if status == 409:
        # Another request with this idempotency key: still running (worth retrying), or with a
        # different body ("Different request with the same idempotency key…", never).
        retryable = "different request" not in description.lower()
        return paywire.InvalidRequest(message, retryable=retryable, **common)
    if status == 403:
        return paywire.AuthenticationFailed(message, **common)
    if status == 404:
        return paywire.NotFound(message, **common)
    return paywire.InvalidRequest(message, **common)


def error_from_payment(
    payment: dict[str, Any], secrets: Iterable[paywire.Secret | str] = ()
) -> paywire.ProviderError:
    """The error for a payment entity in status ``failed`` (its ``error_*`` fields)."""
    fields = RazorpayErrorBody(
        code=payment.get("error_code"),
        reason=payment.get("error_reason"),
        description=payment.get("error_description"),
    )
    reason = fields.text("reason")
    description = fields.text("description") or "the payment failed"
    raw_code = reason or fields.text("code") or "payment_failed"
    message = paywire.redact(description, secrets)
    known = _classify(reason, description, "charge") or paywire.CardDeclined
    if known is paywire.CardDeclined:
        return paywire.CardDeclined(
            message, provider=_PROVIDER, raw_code=raw_code, retryable=reason in _RETRYABLE_REASONS
        )
    return known(message, provider=_PROVIDER, raw_code=raw_code)
