"""Stripe's error answers: what their bodies say, the table that turns them into paywire's errors,
and Stripe's own advice on retrying.

Stripe answers ``{"error": {"type", "code", "decline_code", "message", "payment_intent", …}}``
with a ``Request-Id`` header. A rule matches on the codes (they say *why*) before the status;
``raw_code`` keeps ``decline_code`` (the issuer's reason), else ``code``, else ``type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import paywire
from paywire.plugin import ErrorInfo, ErrorRule, Reply
from paywire_stripe._readers import redirect_url

if TYPE_CHECKING:
    import httpx

__all__ = ["ERROR_RULES", "read_error", "retry_advice"]

# Declines that may pass later without any change on our side.
_RETRYABLE_DECLINES: Final = frozenset(
    {"processing_error", "try_again_later", "issuer_not_available", "reenter_transaction"}
)


def _codes(*names: str) -> frozenset[str]:
    return frozenset(names)


#: Stripe's errors in paywire's terms, first match wins (5xx and 429 are the kernel's). Types
#: (``card_error`` …) are matched like codes.
ERROR_RULES: Final = (
    ErrorRule(paywire.AuthenticationFailed, statuses=frozenset({401})),
    ErrorRule(paywire.RateLimited, codes=_codes("rate_limit")),
    ErrorRule(paywire.InvalidRequest, codes=_codes("idempotency_error")),
    ErrorRule(paywire.PaymentMethodExpired, codes=_codes("expired_card")),
    ErrorRule(
        paywire.AuthenticationRequired,
        codes=_codes("authentication_required", "authentication_not_handled"),
    ),
    ErrorRule(paywire.AlreadyRefunded, codes=_codes("charge_already_refunded")),
    ErrorRule(
        paywire.AlreadyRefunded, codes=_codes("amount_too_large"), operations=_codes("refund")
    ),
    ErrorRule(paywire.NotFound, codes=_codes("resource_missing")),
    ErrorRule(paywire.NotFound, statuses=frozenset({404})),
    # Stripe refuses to detach a method attached to nobody: detached before, so it is gone.
    ErrorRule(
        paywire.NotFound,
        codes=_codes("payment_method_unexpected_state"),
        operations=_codes("detach"),
    ),
    ErrorRule(paywire.CardDeclined, codes=_RETRYABLE_DECLINES, retryable=True),
    ErrorRule(paywire.CardDeclined, statuses=frozenset({402})),
    ErrorRule(paywire.CardDeclined, codes=_codes("card_error")),
    # 409: the first request with this key is still running; Stripe asks to retry.
    ErrorRule(paywire.InvalidRequest, codes=_codes("idempotency_key_in_use"), retryable=True),
)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _intent(error: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The PaymentIntent (or SetupIntent) an error is about, and the page Stripe offers for it
    (Stripe puts the whole intent in the error body)."""
    for name in ("payment_intent", "setup_intent"):
        intent = error.get(name)
        if isinstance(intent, str) and intent:
            return intent, None
        if isinstance(intent, Mapping):
            return _text(intent.get("id")), redirect_url(intent)
    return None, None


def read_error(reply: Reply) -> ErrorInfo:
    """What Stripe's error body says (nothing, for a body that is not one)."""
    body = reply.data
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return ErrorInfo()
    kind, code, decline = (_text(error.get(k)) for k in ("type", "code", "decline_code"))
    transaction_id, action_url = _intent(error)
    return ErrorInfo(
        code=decline or code or kind,
        message=_text(error.get("message")),
        codes=frozenset(c for c in (kind, code, decline) if c),
        transaction_id=transaction_id,
        action_url=action_url,
    )


def retry_advice(response: httpx.Response) -> bool | None:
    """``Stripe-Should-Retry: true|false`` when Stripe sends it; a 409 (a request with the same
    idempotency key still running) is worth retrying, as Stripe documents; else no opinion."""
    value: str | None = response.headers.get("Stripe-Should-Retry")
    if value is not None:
        return value.strip().lower() == "true"
    return True if response.status_code == 409 else None
