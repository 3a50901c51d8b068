"""Stripe webhooks: the ``Stripe-Signature`` check and events normalized to ``WebhookEvent``.

This is the hot path of a webhook endpoint, so it reads the parsed JSON with plain dict access
and builds no SDK objects (importing the SDK alone costs more than a thousand events).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import paywire
from paywire import EventType, WebhookEvent
from paywire_stripe._currency import STRIPE_CURRENCY_RULES

__all__ = ["EVENT_TYPES", "SIGNATURE_HEADER", "normalize_event", "verify_signature"]

SIGNATURE_HEADER: Final = "Stripe-Signature"
_PROVIDER: Final = "stripe"


def verify_signature(
    payload: bytes,
    headers: Mapping[str, str],
    secret: str | None,
    *,
    tolerance: float,
    now: float | None = None,
) -> int:
    """Check the ``t=…,v1=…`` header over the raw ``payload``; return the signed timestamp.

    Any ``v1`` may match (secret rotation); the timestamp must be within ``tolerance`` seconds of
    now, in the past or in the future. Raises :class:`paywire.InvalidSignature` and nothing else.
    """
    try:
        header = headers.get(SIGNATURE_HEADER)
        if header is None:
            header = paywire.get_header(headers, SIGNATURE_HEADER)
        return paywire.verify_timestamped(payload, header, secret, tolerance=tolerance, now=now)
    except paywire.InvalidSignature:
        raise
    except Exception:  # whatever arrived (not a mapping, odd types): it is not a valid signature
        raise paywire.InvalidSignature("malformed signature header") from None


class _Malformed(Exception):
    """A mapped event whose fields do not have Stripe's types."""


def _id(obj: Mapping[str, Any], key: str) -> str | None:
    """A reference field: an id string, or an expanded object carrying one."""
    value = obj.get(key)
    if value is None or type(value) is str:
        return value
    if isinstance(value, Mapping):
        inner = value.get("id")
        if type(inner) is str:
            return inner
    raise _Malformed(key)


def _metadata_invoice(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        value = metadata.get("invoice_id")
        if type(value) is str and value:
            return value
    return None


@functools.lru_cache(maxsize=4096)
def _minor_to_money(amount: int, currency: str) -> paywire.Money:
    # Money is immutable and webhook traffic repeats the same prices, so building (and
    # validating) each amount once saves most of the cost of normalizing an event.
    return STRIPE_CURRENCY_RULES.from_minor_units(amount, currency)


def _money(obj: Mapping[str, Any], key: str) -> paywire.Money | None:
    amount = obj.get(key)
    currency = obj.get("currency")
    if amount is None or currency is None:
        return None
    if type(amount) is not int or type(currency) is not str:
        raise _Malformed(key)
    try:
        return _minor_to_money(amount, currency)
    except paywire.InvalidAmount:
        # A currency (or amount) paywire cannot express is reported without an amount rather
        # than dropping the whole event; the raw object is still in ``data``.
        return None


# What each kind of Stripe object contributes:
# (invoice_id, amount, transaction_id, refund_id, payment_method_id, customer_id, session_id).
_Fields = tuple[
    str | None,
    paywire.Money | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
]


def _session(obj: Mapping[str, Any]) -> _Fields:
    reference = obj.get("client_reference_id")
    invoice_id = reference if type(reference) is str and reference else _metadata_invoice(obj)
    return (
        invoice_id,
        _money(obj, "amount_total"),
        _id(obj, "payment_intent"),
        None,
        None,
        _id(obj, "customer"),
        _id(obj, "id"),
    )


def _payment_intent(obj: Mapping[str, Any]) -> _Fields:
    return (
        _metadata_invoice(obj),
        _money(obj, "amount"),
        _id(obj, "id"),
        None,
        _id(obj, "payment_method"),
        _id(obj, "customer"),
        None,
    )


def _charge(obj: Mapping[str, Any], amount_key: str = "amount") -> _Fields:
    return (
        _metadata_invoice(obj),
        _money(obj, amount_key),
        _id(obj, "payment_intent") or _id(obj, "id"),
        None,
        _id(obj, "payment_method"),
        _id(obj, "customer"),
        None,
    )


def _refunded_charge(obj: Mapping[str, Any]) -> _Fields:
    invoice_id, amount, transaction_id, _, method_id, customer_id, _ = _charge(
        obj, "amount_refunded"
    )
    refund_id = None
    refunds = obj.get("refunds")
    if isinstance(refunds, Mapping):
        data = refunds.get("data")
        if isinstance(data, list) and data and isinstance(data[0], Mapping):
            refund_id = _id(data[0], "id")  # Stripe lists newest first
    return invoice_id, amount, transaction_id, refund_id, method_id, customer_id, None


def _refund(obj: Mapping[str, Any]) -> _Fields:
    return (
        _metadata_invoice(obj),
        _money(obj, "amount"),
        _id(obj, "payment_intent") or _id(obj, "charge"),
        _id(obj, "id"),
        None,
        None,
        None,
    )


def _setup_intent(obj: Mapping[str, Any]) -> _Fields:
    return (
        _metadata_invoice(obj),
        None,
        None,
        None,
        _id(obj, "payment_method"),
        _id(obj, "customer"),
        None,
    )


def _payment_method(obj: Mapping[str, Any]) -> _Fields:
    return (None, None, None, None, _id(obj, "id"), _id(obj, "customer"), None)


def _dispute(obj: Mapping[str, Any]) -> _Fields:
    return (
        _metadata_invoice(obj),
        _money(obj, "amount"),
        _id(obj, "payment_intent") or _id(obj, "charge"),
        None,
        None,
        None,
        None,
    )


def _session_completed(obj: Mapping[str, Any]) -> EventType:
    if obj.get("mode") == "setup":
        return EventType.SETUP_COMPLETED
    if obj.get("payment_status") == "unpaid":
        # Delayed methods (bank debits): the money comes with async_payment_succeeded.
        return EventType.PAYMENT_PENDING
    return EventType.CHECKOUT_COMPLETED


def _refund_status(obj: Mapping[str, Any]) -> EventType:
    status = obj.get("status")
    if status == "succeeded":
        return EventType.REFUND_SUCCEEDED
    if status in ("failed", "canceled"):
        return EventType.REFUND_FAILED
    return EventType.REFUND_CREATED


_DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})


def _dispute_status(obj: Mapping[str, Any]) -> EventType:
    if obj.get("status") in _DISPUTE_CLOSED_STATUSES:
        return EventType.DISPUTE_CLOSED
    return EventType.DISPUTE_OPENED


_Kind = Callable[[Mapping[str, Any]], EventType] | EventType
_Extract = Callable[[Mapping[str, Any]], _Fields]

#: Stripe event type → (normalized type, or how to tell it from the object; field extractor).
_MAP: Final[dict[str, tuple[_Kind, _Extract]]] = {
    "checkout.session.completed": (_session_completed, _session),
    "checkout.session.expired": (EventType.CHECKOUT_EXPIRED, _session),
    "checkout.session.async_payment_succeeded": (EventType.PAYMENT_SUCCEEDED, _session),
    "checkout.session.async_payment_failed": (EventType.PAYMENT_FAILED, _session),
    "payment_intent.succeeded": (EventType.PAYMENT_SUCCEEDED, _payment_intent),
    "payment_intent.payment_failed": (EventType.PAYMENT_FAILED, _payment_intent),
    "payment_intent.requires_action": (EventType.PAYMENT_REQUIRES_ACTION, _payment_intent),
    "payment_intent.processing": (EventType.PAYMENT_PENDING, _payment_intent),
    "payment_intent.canceled": (EventType.PAYMENT_FAILED, _payment_intent),
    "charge.succeeded": (EventType.PAYMENT_SUCCEEDED, _charge),
    "charge.failed": (EventType.PAYMENT_FAILED, _charge),
    "charge.pending": (EventType.PAYMENT_PENDING, _charge),
    "charge.refunded": (EventType.REFUND_SUCCEEDED, _refunded_charge),
    "charge.refund.updated": (_refund_status, _refund),
    "refund.created": (EventType.REFUND_CREATED, _refund),
    "refund.updated": (_refund_status, _refund),
    "refund.failed": (EventType.REFUND_FAILED, _refund),
    "setup_intent.succeeded": (EventType.SETUP_COMPLETED, _setup_intent),
    "setup_intent.setup_failed": (EventType.SETUP_FAILED, _setup_intent),
    "payment_method.attached": (EventType.PAYMENT_METHOD_ATTACHED, _payment_method),
    "payment_method.detached": (EventType.PAYMENT_METHOD_DETACHED, _payment_method),
    "payment_method.updated": (EventType.PAYMENT_METHOD_UPDATED, _payment_method),
    "payment_method.automatically_updated": (
        EventType.PAYMENT_METHOD_UPDATED,
        _payment_method,
    ),
    "charge.dispute.created": (EventType.DISPUTE_OPENED, _dispute),
    "charge.dispute.updated": (_dispute_status, _dispute),
    "charge.dispute.funds_withdrawn": (EventType.DISPUTE_OPENED, _dispute),
    "charge.dispute.closed": (EventType.DISPUTE_CLOSED, _dispute),
    "charge.dispute.funds_reinstated": (EventType.DISPUTE_CLOSED, _dispute),
}

#: Every Stripe event type this plugin normalizes.
EVENT_TYPES: Final = frozenset(_MAP)


def _unknown(message: str, event_type: str | None) -> paywire.UnknownEvent:
    return paywire.UnknownEvent(message, provider=_PROVIDER, event_type=event_type)


def normalize_event(payload: Mapping[str, Any]) -> WebhookEvent:
    """The :class:`paywire.WebhookEvent` for a parsed Stripe event.

    Raises :class:`paywire.UnknownEvent` for a type this plugin does not map, and for anything
    that is not a Stripe event of the mapped type's shape.
    """
    if not isinstance(payload, Mapping):
        raise _unknown("the payload is not a Stripe event object", None)
    event_type = payload.get("type")
    if type(event_type) is not str:
        raise _unknown("the payload has no event type", None)
    entry = _MAP.get(event_type)
    if entry is None:
        raise _unknown(f"Stripe event type {event_type!r} is not normalized", event_type)
    event_id = payload.get("id")
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if type(event_id) is not str or not event_id or not isinstance(obj, Mapping):
        raise _unknown(f"malformed Stripe {event_type} event", event_type)
    kind, extract = entry
    created = payload.get("created")
    try:
        fields = extract(obj)
        created_at = None
        if created is not None:
            if type(created) is not int:
                raise _Malformed("created")
            created_at = datetime.fromtimestamp(created, UTC)
    except (_Malformed, OverflowError, OSError, ValueError):
        raise _unknown(f"malformed Stripe {event_type} event", event_type) from None
    invoice_id, amount, transaction_id, refund_id, method_id, customer_id, session_id = fields
    return WebhookEvent(
        provider=_PROVIDER,
        id=event_id,
        type=kind if isinstance(kind, EventType) else kind(obj),
        raw_type=event_type,
        created_at=created_at,
        invoice_id=invoice_id,
        amount=amount,
        transaction_id=transaction_id,
        refund_id=refund_id,
        payment_method_id=method_id,
        customer_id=customer_id,
        session_id=session_id,
        data=payload,
    )
