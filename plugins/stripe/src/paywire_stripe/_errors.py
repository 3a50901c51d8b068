"""Stripe's error bodies mapped onto paywire's error hierarchy, keeping Stripe's own codes.

Stripe answers errors with ``{"error": {"type", "code", "decline_code", "message", …}}`` and a
``Request-Id`` header. The normalized class comes from the codes first (they say *why*), then from
the HTTP status; ``raw_code`` keeps ``decline_code`` (the issuer's reason) or else ``code``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import paywire

if TYPE_CHECKING:
    import httpx

__all__ = ["Operation", "StripeHTTPError", "error_from_response", "parse_error_body"]

#: What was being done, where the same Stripe code means different things.
Operation = Literal[
    "checkout", "setup", "customer", "charge", "refund", "payment_method", "detach", "other"
]

_PROVIDER = "stripe"

# Codes (``code`` or ``decline_code``) that name a card the customer must replace.
_EXPIRED = frozenset({"expired_card"})
# The issuer wants 3-D Secure: only the customer, on-session, can complete the payment.
_AUTHENTICATION = frozenset({"authentication_required", "authentication_not_handled"})
# Refunding more than is left.
_REFUNDED = frozenset({"charge_already_refunded"})
_REFUND_TOO_LARGE = frozenset({"amount_too_large"})
# Declines that may pass later without any change on our side.
_RETRYABLE_DECLINES = frozenset(
    {"processing_error", "try_again_later", "issuer_not_available", "reenter_transaction"}
)


class StripeHTTPError(Exception):
    """Stripe answered a request made through :attr:`StripeProvider.client` with an error status.

    The provider's operations never let it out: they map it with :func:`error_from_response`,
    which needs to know the operation. It is raised from inside the SDK's call, so the SDK's own
    error classes are never built. Code that calls the SDK client directly sees this exception
    and may map it the same way.
    """

    def __init__(self, response: httpx.Response, idempotency_key: str | None) -> None:
        super().__init__(f"Stripe answered HTTP {response.status_code}")
        self.response = response
        self.idempotency_key = idempotency_key


def parse_error_body(content: bytes) -> dict[str, Any]:
    """The ``error`` object of a Stripe error body, or ``{}`` when the body is not one."""
    try:
        body = json.loads(content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    if not isinstance(body, dict):
        return {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def error_from_response(
    response: httpx.Response,
    *,
    operation: Operation = "other",
    idempotency_key: str | None = None,
    secrets: Iterable[paywire.Secret | str] = (),
) -> paywire.ProviderError:
    """The paywire error for Stripe's unsuccessful ``response`` to ``operation``.

    The response's body must have been read. Messages are redacted of ``secrets`` and of anything
    shaped like a credential (Stripe echoes part of a bad API key back).
    """
    status = response.status_code
    error = parse_error_body(response.content)
    err_type = _text(error.get("type"))
    code = _text(error.get("code"))
    decline_code = _text(error.get("decline_code"))
    raw_code = decline_code or code or err_type
    request_id = response.headers.get("Request-Id")
    raw_message = _text(error.get("message")) or f"Stripe answered HTTP {status}"
    message = paywire.redact(raw_message, secrets)
    common: dict[str, Any] = {
        "provider": _PROVIDER,
        "raw_code": raw_code,
        "http_status": status,
        "request_id": request_id,
    }
    codes = {c for c in (code, decline_code) if c}

    if status == 401:
        return paywire.AuthenticationFailed(message, **common)
    if status == 429 or code == "rate_limit":
        retry_after = paywire.parse_retry_after(response.headers.get("Retry-After"))
        return paywire.RateLimited(message, retry_after=retry_after, **common)
    if status >= 500:
        return paywire.error_for_status(
            response,
            provider=_PROVIDER,
            message=message,
            raw_code=raw_code,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
    if err_type == "idempotency_error":
        return paywire.InvalidRequest(message, **common)
    if codes & _EXPIRED:
        return paywire.PaymentMethodExpired(message, **common)
    if codes & _AUTHENTICATION:
        return paywire.AuthenticationRequired(message, **common)
    if codes & _REFUNDED or (operation == "refund" and codes & _REFUND_TOO_LARGE):
        return paywire.AlreadyRefunded(message, **common)
    if code == "resource_missing" or status == 404:
        return paywire.NotFound(message, **common)
    if operation == "detach" and code == "payment_method_unexpected_state":
        # Stripe refuses to detach a method attached to nobody: detached before, so it is gone.
        return paywire.NotFound(message, **common)
    if status == 402 or err_type == "card_error":
        return paywire.CardDeclined(message, retryable=bool(codes & _RETRYABLE_DECLINES), **common)
    if status == 403:
        return paywire.AuthenticationFailed(message, **common)
    # 409 idempotency_key_in_use: the first request with this key is still running.
    return paywire.InvalidRequest(message, retryable=code == "idempotency_key_in_use", **common)
