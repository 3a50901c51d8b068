"""PayPal's error bodies, and the table that maps them onto paywire's error hierarchy.

PayPal answers ``{"name", "message", "debug_id", "details": [{"issue", "description", …}],
"links"}`` (and the OAuth endpoint and a rejected token ``{"error", "error_description"}``).
:func:`read_error` reads that; :data:`ERROR_RULES` says which issue is which paywire error; the
kernel applies them (then the HTTP status) and keeps the issue as ``raw_code`` and the
``Paypal-Debug-Id`` as ``request_id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import paywire
from paywire import plugin
from paywire_paypal._fields import as_list, as_mapping, str_or_none

if TYPE_CHECKING:
    import httpx

__all__ = [
    "ALREADY_REFUNDED_ISSUES",
    "AUTHENTICATION_REQUIRED_ISSUES",
    "DECLINE_ISSUES",
    "ERROR_RULES",
    "EXPIRED_ISSUES",
    "IN_PROGRESS_ISSUE",
    "payer_action_url",
    "read_error",
    "retry_advice",
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
#: The 409 PayPal answers while the first request with the same ``PayPal-Request-Id`` still runs.
IN_PROGRESS_ISSUE: Final = "PREVIOUS_REQUEST_IN_PROGRESS"

#: PayPal's error table, first match wins (5xx and 429 are the kernel's; unmatched 401/403 are
#: ``AuthenticationFailed``, 404 ``NotFound``, the rest ``InvalidRequest``).
ERROR_RULES: Final = (
    # A request with this PayPal-Request-Id is still running (it outlasted the kernel's
    # retries, which PayPal's retry advice asks for): its outcome is unknown, and asking again
    # with the same key will tell. The kernel gives it the operation's key.
    plugin.ErrorRule(
        paywire.OutcomeUnknown,
        codes=frozenset({IN_PROGRESS_ISSUE}),
        statuses=frozenset({409}),
    ),
    # The token endpoint refusing the client credentials (400 invalid_client, 401 …).
    plugin.ErrorRule(
        paywire.AuthenticationFailed,
        statuses=frozenset({400, 401, 403}),
        operations=frozenset({"token"}),
    ),
    plugin.ErrorRule(paywire.AlreadyRefunded, codes=ALREADY_REFUNDED_ISSUES),
    plugin.ErrorRule(paywire.PaymentMethodExpired, codes=EXPIRED_ISSUES),
    plugin.ErrorRule(paywire.AuthenticationRequired, codes=AUTHENTICATION_REQUIRED_ISSUES),
    plugin.ErrorRule(paywire.CardDeclined, codes=DECLINE_ISSUES),
    # An id PayPal does not know, whatever the status: Vault v3 answers a DELETE of an unknown
    # (or already deleted) payment token with 400, not 404.
    plugin.ErrorRule(paywire.NotFound, codes=frozenset({"INVALID_RESOURCE_ID"})),
)


def payer_action_url(resource: Mapping[str, object]) -> str | None:
    """The ``payer-action`` (else ``approve``) link of an order, setup token or error body."""
    for rel in ("payer-action", "approve"):
        for link in as_list(resource.get("links")):
            item = as_mapping(link)
            href = str_or_none(item.get("href"))
            if item.get("rel") == rel and href:
                return href
    return None


def read_error(reply: plugin.Reply) -> plugin.ErrorInfo:
    """What a PayPal (or OAuth) error body says: the first ``issue`` — else ``name``, else the
    OAuth ``error`` — as the one code the rules match (PayPal puts the specific reason first;
    ``name`` is the generic one, ``UNPROCESSABLE_ENTITY``), PayPal's message with the issue's
    description, and the payer-action link when the body has one."""
    body = as_mapping(reply.data)
    issue: str | None = None
    description: str | None = None
    for detail in as_list(body.get("details")):
        item = as_mapping(detail)
        issue = str_or_none(item.get("issue"))
        if issue is not None:
            description = str_or_none(item.get("description"))
            break
    name = str_or_none(body.get("name")) or str_or_none(body.get("error"))
    message = str_or_none(body.get("message")) or str_or_none(body.get("error_description"))
    if issue and description and (message is None or description not in message):
        message = f"{message or 'PayPal refused the request.'} {issue}: {description}"
    return plugin.ErrorInfo(code=issue or name, message=message, action_url=payer_action_url(body))


def retry_advice(response: httpx.Response) -> bool | None:
    """PayPal's opinion on retrying: a 409 ``PREVIOUS_REQUEST_IN_PROGRESS`` is worth asking again
    (with the same ``PayPal-Request-Id``, which makes it safe); otherwise no opinion."""
    if response.status_code != 409:
        return None
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        return None
    for detail in as_list(as_mapping(data).get("details")):
        if as_mapping(detail).get("issue") == IN_PROGRESS_ISSUE:
            return True
    return None
