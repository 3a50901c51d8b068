"""Razorpay's error answers as data: what its bodies say, and which paywire error each means.

Razorpay answers ``{"error": {"code", "description", "source", "step", "reason", "metadata",
"field"}}``. ``code`` is coarse (``BAD_REQUEST_ERROR``, ``GATEWAY_ERROR``, ``SERVER_ERROR``);
``reason`` says why a payment failed (``card_declined`` …) and is ``"NA"`` otherwise. The kernel
applies :data:`ERROR_RULES` (first match wins) to what :func:`read_error` reads; 5xx and 429 are
the kernel's. ``raw_code`` keeps the reason, or the code when there is none. An unknown id is a
**400** with "The id provided does not exist" (Razorpay has no 404 for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from paywire import (
    AlreadyRefunded,
    AuthenticationRequired,
    CardDeclined,
    InvalidRequest,
    NotFound,
    PaymentMethodExpired,
    ProviderError,
    Secret,
    redact,
)
from paywire.plugin import ErrorInfo, ErrorRule, Reply

__all__ = [
    "CARD_FAILURE_REASONS",
    "ERROR_RULES",
    "error_from_payment",
    "error_info",
    "read_error",
]

_PROVIDER: Final = "razorpay"
_NOT_APPLICABLE: Final = frozenset({"", "NA", "na", "null"})

_EXPIRED: Final = frozenset({"card_expired", "expired_card"})
_AUTHENTICATION: Final = frozenset({"authentication_failed", "card_not_enrolled"})
# Declines that may pass later with nothing changed on our side.
_RETRYABLE_REASONS: Final = frozenset(
    {"payment_timed_out", "gateway_technical_error", "bank_technical_error"}
)
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
        "payment_cancelled",
        "payment_failed",
        "transaction_limit_exceeded",
        "international_transaction_not_allowed",
    }
    | _RETRYABLE_REASONS
)

#: Razorpay's error table: by failure reason first, then by wording where Razorpay has no code.
ERROR_RULES: Final = (
    ErrorRule(PaymentMethodExpired, codes=_EXPIRED),
    ErrorRule(AuthenticationRequired, codes=_AUTHENTICATION),
    ErrorRule(CardDeclined, codes=_RETRYABLE_REASONS, retryable=True),
    ErrorRule(CardDeclined, codes=CARD_FAILURE_REASONS),
    ErrorRule(NotFound, message=r"does not exist"),
    ErrorRule(
        AlreadyRefunded,
        operations=frozenset({"refund"}),
        message=r"fully refunded|refund amount.*greater than",
    ),
    # The token's mandate ran out ("Card mandate is not active, it is expired").
    ErrorRule(PaymentMethodExpired, operations=frozenset({"charge"}), message=r"mandate.*expired"),
    # 409: another request with this key is still running (worth retrying), or one with another
    # body was made with it ("Different request with the same idempotency key…", never).
    ErrorRule(
        InvalidRequest, statuses=frozenset({409}), message=r"different request", retryable=False
    ),
    ErrorRule(InvalidRequest, statuses=frozenset({409}), retryable=True),
)


def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if not isinstance(value, str) or value in _NOT_APPLICABLE:
        return None
    return value


def error_info(fields: Mapping[str, Any]) -> ErrorInfo:
    """What an ``error`` object (``code``, ``reason``, ``description``, ``metadata``) says."""
    code, reason = _text(fields, "code"), _text(fields, "reason")
    metadata = fields.get("metadata")
    payment_id = metadata.get("payment_id") if isinstance(metadata, Mapping) else None
    return ErrorInfo(
        code=reason or code,
        message=_text(fields, "description"),
        codes=frozenset(c for c in (reason, code) if c),
        transaction_id=payment_id if isinstance(payment_id, str) and payment_id else None,
    )


def read_error(reply: Reply) -> ErrorInfo:
    """What Razorpay's error answer says (nothing when the body is not its error shape)."""
    error = reply.data.get("error") if isinstance(reply.data, Mapping) else None
    return error_info(error) if isinstance(error, Mapping) else ErrorInfo()


def error_from_payment(
    payment: Mapping[str, Any], secrets: Iterable[Secret | str] = ()
) -> ProviderError:
    """The error for a payment entity in status ``failed`` (its ``error_*`` fields), by the same
    table as an error answer; a failure the table does not name is a decline."""
    info = error_info(
        {
            "code": payment.get("error_code"),
            "reason": payment.get("error_reason"),
            "description": payment.get("error_description"),
            "metadata": {"payment_id": payment.get("id")},
        }
    )
    message = redact(info.message or "the payment failed", secrets)
    raw_code = info.code or "payment_failed"
    for rule in ERROR_RULES:
        if rule.matches(info, 400, "charge"):
            error, retryable = rule.error, rule.retryable
            break
    else:
        error, retryable = CardDeclined, None
    if issubclass(error, AuthenticationRequired):
        return error(
            message, provider=_PROVIDER, raw_code=raw_code, transaction_id=info.transaction_id
        )
    return error(message, provider=_PROVIDER, raw_code=raw_code, retryable=retryable)
