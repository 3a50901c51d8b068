"""PayPal's error bodies mapped onto paywire's error hierarchy.

PayPal answers ``{"name", "message", "debug_id", "details": [{"issue", "description", …}]}``
(and the OAuth endpoint ``{"error", "error_description"}``). The first ``issue`` decides the error
class where it means something to the caller (a decline, an expired method, a refund beyond what
is left); otherwise the HTTP status does. ``raw_code`` keeps the issue (or ``name``) verbatim and
``request_id`` the ``debug_id`` PayPal's support asks for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import httpx

import paywire
from paywire_paypal._fields import str_or_none

__all__ = [
    "ALREADY_REFUNDED_ISSUES",
    "AUTHENTICATION_REQUIRED_ISSUES",
    "DECLINE_ISSUES",
    "EXPIRED_ISSUES",
    "PayPalErrorBody",
    "error_from_response",
    "parse_error_body",
]

#: Issues that mean the funding source refused the payment.
DECLINE_ISSUES: Final = frozenset(
    {
        "INSTRUMENT_DECLINED",
        "TRANSACTION_REFUSED",
        "PAYMENT_DENIED",
        "DECLINED_DUE_TO_RELATED_TXN",
        "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
        "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
        "PAYMENT_SOURCE_CANNOT_BE_USED",
        "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR",
        "TRANSACTION_BLOCKED_BY_PAYEE",
        "COMPLIANCE_VIOLATION",
    }
)
#: Issues that mean the saved method can no longer be used: ask the customer for a new one.
EXPIRED_ISSUES: Final = frozenset(
    {
        "CARD_EXPIRED",
        "REFERENCED_CARD_EXPIRED",
        "AGREEMENT_ALREADY_CANCELLED",
        "BILLING_AGREEMENT_NOT_FOUND",
    }
)
#: Issues that need the payer present.
AUTHENTICATION_REQUIRED_ISSUES: Final = frozenset({"PAYER_ACTION_REQUIRED"})
#: Refund issues that mean nothing (or not that much) is left to refund.
ALREADY_REFUNDED_ISSUES: Final = frozenset({"CAPTURE_FULLY_REFUNDED", "REFUND_AMOUNT_EXCEEDED"})


class PayPalErrorBody:
    """What an error response said, read defensively (any field may be missing)."""

    __slots__ = ("debug_id", "description", "issue", "message", "name")

    def __init__(
        self,
        *,
        name: str | None = None,
        message: str | None = None,
        debug_id: str | None = None,
        issue: str | None = None,
        description: str | None = None,
    ) -> None:
        self.name = name
        self.message = message
        self.debug_id = debug_id
        self.issue = issue
        self.description = description

    @property
    def code(self) -> str | None:
        """The most specific code: the first issue, else the error name."""
        return self.issue or self.name


def parse_error_body(content: bytes) -> PayPalErrorBody:
    """Read a PayPal (or OAuth) error body; anything unreadable gives an empty result."""
    try:
        data: Any = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return PayPalErrorBody()
    if not isinstance(data, Mapping):
        return PayPalErrorBody()
    issue = description = None
    details = data.get("details")
    if isinstance(details, list):
        for detail in details:
            if isinstance(detail, Mapping) and str_or_none(detail.get("issue")):
                issue = str_or_none(detail.get("issue"))
                description = str_or_none(detail.get("description"))
                break
    return PayPalErrorBody(
        name=str_or_none(data.get("name")) or str_or_none(data.get("error")),
        message=str_or_none(data.get("message")) or str_or_none(data.get("error_description")),
        debug_id=str_or_none(data.get("debug_id")),
        issue=issue,
        description=description,
    )


def _message(body: PayPalErrorBody, status: int) -> str:
    text = body.message or f"PayPal answered HTTP {status}"
    if body.description and body.description not in text:
        text = f"{text} {body.issue}: {body.description}"
    return text


def error_from_response(
    response: httpx.Response,
    *,
    provider: str,
    request_id_header: str | None,
    idempotency_key: str | None = None,
    secrets: Iterable[paywire.Secret | str] = (),
) -> paywire.ProviderError:
    """The paywire error for an unsuccessful PayPal response."""
    body = parse_error_body(response.content)
    status = response.status_code
    header_id = response.headers.get(request_id_header) if request_id_header else None
    request_id = body.debug_id or header_id
    message = paywire.redact(_message(body, status), secrets)
    common: dict[str, Any] = {
        "provider": provider,
        "raw_code": body.code,
        "http_status": status,
        "request_id": request_id,
    }
    issue = body.issue or ""
    if issue in ALREADY_REFUNDED_ISSUES:
        return paywire.AlreadyRefunded(message, **common)
    if issue in EXPIRED_ISSUES:
        return paywire.PaymentMethodExpired(message, **common)
    if issue in AUTHENTICATION_REQUIRED_ISSUES:
        return paywire.AuthenticationRequired(message, **common)
    if issue in DECLINE_ISSUES:
        return paywire.CardDeclined(message, **common)
    if status in (401, 403):
        return paywire.AuthenticationFailed(message, **common)
    if status == 404:
        return paywire.NotFound(message, **common)
    if status == 409:
        # PREVIOUS_REQUEST_IN_PROGRESS: the first request with this PayPal-Request-Id is still
        # running; asking again later with the same id tells how it ended.
        return paywire.OutcomeUnknown(message, idempotency_key=idempotency_key, **common)
    if status == 429 or status >= 500:
        return paywire.error_for_status(
            response,
            provider=provider,
            message=message,
            raw_code=body.code,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
    return paywire.InvalidRequest(message, **common)
