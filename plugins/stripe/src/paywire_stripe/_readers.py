"""Reading Stripe's objects (parsed JSON, plain dicts): ids, amounts, times and statuses.

The same small readers serve the operations' answers and the webhook events' objects. Each one
raises ``TypeError`` when a field has not the type Stripe documents (the event table turns that
into :class:`~paywire.MalformedWebhook`); a field Stripe leaves out or sends as ``null`` is None.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import paywire
from paywire import PaymentStatus, RefundStatus, SessionStatus
from paywire.plugin import utc_from_timestamp
from paywire_stripe._currency import STRIPE_CURRENCY_RULES

__all__ = [
    "PAYMENT_STATUS",
    "REFUND_STATUS",
    "SESSION_STATUS",
    "event_money",
    "integer",
    "invoice_from_metadata",
    "money",
    "redirect_url",
    "ref",
    "text",
    "timestamp",
]

PAYMENT_STATUS: Final = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.PENDING,
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "requires_payment_method": PaymentStatus.FAILED,
    "canceled": PaymentStatus.CANCELED,
}
REFUND_STATUS: Final = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
SESSION_STATUS: Final = {
    "open": SessionStatus.OPEN,
    "complete": SessionStatus.COMPLETE,
    "expired": SessionStatus.EXPIRED,
}


def ref(obj: Mapping[str, Any], key: str) -> str | None:
    """An expandable field: the id, whether Stripe sent the id or the expanded object."""
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    if isinstance(value, Mapping):
        inner = value.get("id")
        if type(inner) is str:
            return inner
    raise TypeError(key)


def text(obj: Mapping[str, Any], key: str) -> str | None:
    """A string field."""
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    raise TypeError(key)


def integer(obj: Mapping[str, Any], key: str) -> int | None:
    """An integer field (never a bool, never a float)."""
    value = obj.get(key)
    if value is None or type(value) is int:
        return value
    raise TypeError(key)


def timestamp(obj: Mapping[str, Any], key: str) -> datetime | None:
    """A Unix-time field as an aware UTC datetime."""
    seconds = integer(obj, key)
    if seconds is None:
        return None
    try:
        return utc_from_timestamp(seconds)
    except (OverflowError, OSError) as exc:
        raise ValueError(key) from exc


def invoice_from_metadata(obj: Mapping[str, Any]) -> str | None:
    """The invoice id paywire put in the object's ``metadata[invoice_id]``."""
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        value = metadata.get("invoice_id")
        if type(value) is str and value:
            return value
    return None


@functools.lru_cache(maxsize=4096)
def _money(minor: int, currency: str) -> paywire.Money:
    # Money is immutable and webhook traffic repeats the same prices: building (and validating)
    # each amount once saves most of the cost of normalizing an event.
    return STRIPE_CURRENCY_RULES.from_minor_units(minor, currency)


def money(obj: Mapping[str, Any], key: str) -> paywire.Money | None:
    """``obj[key]`` minor units of ``obj["currency"]``; None when either is absent. Raises
    :class:`~paywire.InvalidAmount` for a currency paywire does not know."""
    minor = integer(obj, key)
    currency = text(obj, "currency")
    if minor is None or currency is None:
        return None
    if minor < 0:
        raise ValueError(key)
    return _money(minor, currency)


def event_money(obj: Mapping[str, Any], key: str) -> paywire.Money | None:
    """:func:`money` for an event: an amount in a currency paywire cannot express is left out
    rather than dropping the whole event (the raw object is still in the event's ``data``)."""
    try:
        return money(obj, key)
    except paywire.InvalidAmount:
        return None


def redirect_url(intent: Mapping[str, Any]) -> str | None:
    """The page a PaymentIntent (or SetupIntent) waits for the customer on, when Stripe gives one
    (``next_action.redirect_to_url.url``); an off-session decline or an SDK challenge has none."""
    action = intent.get("next_action")
    if not isinstance(action, Mapping) or action.get("type") != "redirect_to_url":
        return None
    redirect = action.get("redirect_to_url")
    url = redirect.get("url") if isinstance(redirect, Mapping) else None
    return url if isinstance(url, str) and url else None
