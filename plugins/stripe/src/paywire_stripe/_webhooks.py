"""Stripe webhooks: the ``Stripe-Signature`` check and the event table.

This is the hot path of a webhook endpoint: it reads the parsed JSON with plain dict access and
builds no SDK objects.

Refunds. Since API version 2022-11-15 a Charge no longer embeds its refunds, and
``charge.refunded`` reports the charge (``amount_refunded`` is what all its refunds add up to),
not the refund that just happened. So ``charge.refunded`` is not normalized: the refund events
(``refund.created``, ``refund.updated``, ``refund.failed``, ``charge.refund.updated``) carry each
refund's own id, amount and status, and are what paywire reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import paywire
from paywire import EventType, WebhookEvent
from paywire.plugin import (
    EventFields,
    EventRule,
    EventRules,
    get_header,
    parse_json_body,
    verify_timestamped,
)
from paywire_stripe._readers import (
    event_money,
    invoice_from_metadata,
    ref,
    text,
    timestamp,
)

__all__ = [
    "EVENT_RULES",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "normalize_event",
    "parse_event",
    "verify_signature",
]

#: The header Stripe puts its signature in (``t=...,v1=...``).
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

    Any ``v1`` may match (Stripe signs with every secret of the endpoint while one is rolled);
    the timestamp must be within ``tolerance`` seconds of now, in the past or in the future.
    Raises :class:`paywire.InvalidSignature` and nothing else.
    """
    try:
        header = headers.get(SIGNATURE_HEADER)
        if header is None:
            header = get_header(headers, SIGNATURE_HEADER)
        return verify_timestamped(payload, header, secret, tolerance=tolerance, now=now)
    except paywire.InvalidSignature:
        raise
    except Exception:  # whatever arrived (not a mapping, odd types): it is not a valid signature
        raise paywire.InvalidSignature("malformed signature header") from None


# -- what each kind of Stripe object says ------------------------------------------------------


def _session(obj: Mapping[str, Any]) -> EventFields:
    reference = text(obj, "client_reference_id")
    return {
        "invoice_id": reference or invoice_from_metadata(obj),
        "amount": event_money(obj, "amount_total"),
        "transaction_id": ref(obj, "payment_intent"),
        "customer_id": ref(obj, "customer"),
        "session_id": ref(obj, "id"),
    }


def _payment_intent(obj: Mapping[str, Any]) -> EventFields:
    return {
        "invoice_id": invoice_from_metadata(obj),
        "amount": event_money(obj, "amount"),
        "transaction_id": ref(obj, "id"),
        "payment_method_id": ref(obj, "payment_method"),
        "customer_id": ref(obj, "customer"),
        # A payment that keeps its card for later says so; a one-off payment's card is not saved.
        "method_saved": obj.get("setup_future_usage") is not None,
    }


def _charge(obj: Mapping[str, Any]) -> EventFields:
    return {
        "invoice_id": invoice_from_metadata(obj),
        "amount": event_money(obj, "amount"),
        "transaction_id": ref(obj, "payment_intent") or ref(obj, "id"),
        "payment_method_id": ref(obj, "payment_method"),
        "customer_id": ref(obj, "customer"),
    }


def _refund(obj: Mapping[str, Any]) -> EventFields:
    return {
        "invoice_id": invoice_from_metadata(obj),
        "amount": event_money(obj, "amount"),
        "transaction_id": ref(obj, "payment_intent") or ref(obj, "charge"),
        "refund_id": ref(obj, "id"),
    }


def _setup_intent(obj: Mapping[str, Any]) -> EventFields:
    return {
        "invoice_id": invoice_from_metadata(obj),
        "payment_method_id": ref(obj, "payment_method"),
        "customer_id": ref(obj, "customer"),
    }


def _payment_method(obj: Mapping[str, Any]) -> EventFields:
    return {"payment_method_id": ref(obj, "id"), "customer_id": ref(obj, "customer")}


def _dispute(obj: Mapping[str, Any]) -> EventFields:
    return {
        "invoice_id": invoice_from_metadata(obj),
        "amount": event_money(obj, "amount"),
        "transaction_id": ref(obj, "payment_intent") or ref(obj, "charge"),
    }


# -- which normalized type a status makes ------------------------------------------------------


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


_DISPUTE_CLOSED_STATUSES: Final = frozenset({"won", "lost", "warning_closed", "prevented"})


def _dispute_status(obj: Mapping[str, Any]) -> EventType:
    if obj.get("status") in _DISPUTE_CLOSED_STATUSES:
        return EventType.DISPUTE_CLOSED
    return EventType.DISPUTE_OPENED


#: Stripe's event types paywire normalizes: the normalized type (or how the object's status
#: decides it) and what the object says.
EVENT_RULES: Final = EventRules(
    _PROVIDER,
    {
        "checkout.session.completed": EventRule(_session_completed, _session),
        "checkout.session.expired": EventRule(EventType.CHECKOUT_EXPIRED, _session),
        "checkout.session.async_payment_succeeded": EventRule(
            EventType.PAYMENT_SUCCEEDED, _session
        ),
        "checkout.session.async_payment_failed": EventRule(EventType.PAYMENT_FAILED, _session),
        "payment_intent.succeeded": EventRule(EventType.PAYMENT_SUCCEEDED, _payment_intent),
        "payment_intent.payment_failed": EventRule(EventType.PAYMENT_FAILED, _payment_intent),
        "payment_intent.requires_action": EventRule(
            EventType.PAYMENT_REQUIRES_ACTION, _payment_intent
        ),
        "payment_intent.processing": EventRule(EventType.PAYMENT_PENDING, _payment_intent),
        "payment_intent.canceled": EventRule(EventType.PAYMENT_FAILED, _payment_intent),
        "charge.succeeded": EventRule(EventType.PAYMENT_SUCCEEDED, _charge),
        "charge.failed": EventRule(EventType.PAYMENT_FAILED, _charge),
        "charge.pending": EventRule(EventType.PAYMENT_PENDING, _charge),
        # A refund's own events; charge.refunded is deliberately absent (see the module's doc).
        "refund.created": EventRule(_refund_status, _refund),
        "refund.updated": EventRule(_refund_status, _refund),
        "refund.failed": EventRule(EventType.REFUND_FAILED, _refund),
        "charge.refund.updated": EventRule(_refund_status, _refund),
        "setup_intent.succeeded": EventRule(EventType.SETUP_COMPLETED, _setup_intent),
        "setup_intent.setup_failed": EventRule(EventType.SETUP_FAILED, _setup_intent),
        "payment_method.attached": EventRule(EventType.PAYMENT_METHOD_ATTACHED, _payment_method),
        "payment_method.detached": EventRule(EventType.PAYMENT_METHOD_DETACHED, _payment_method),
        "payment_method.updated": EventRule(EventType.PAYMENT_METHOD_UPDATED, _payment_method),
        "payment_method.automatically_updated": EventRule(
            EventType.PAYMENT_METHOD_UPDATED, _payment_method
        ),
        "charge.dispute.created": EventRule(EventType.DISPUTE_OPENED, _dispute),
        "charge.dispute.updated": EventRule(_dispute_status, _dispute),
        "charge.dispute.funds_withdrawn": EventRule(EventType.DISPUTE_OPENED, _dispute),
        "charge.dispute.closed": EventRule(EventType.DISPUTE_CLOSED, _dispute),
        "charge.dispute.funds_reinstated": EventRule(EventType.DISPUTE_CLOSED, _dispute),
    },
)

#: Every Stripe event type this plugin normalizes (the names of :data:`EVENT_RULES`).
EVENT_TYPES: Final = EVENT_RULES.types


def _unknown(message: str, event_type: str | None = None) -> paywire.UnknownEvent:
    return paywire.UnknownEvent(message, provider=_PROVIDER, event_type=event_type)


def parse_event(body: bytes) -> WebhookEvent:
    """The :class:`~paywire.WebhookEvent` for a Stripe event's raw JSON ``body``.

    Raises :class:`~paywire.UnknownEvent` for a type this plugin does not map (or a body that is
    no event at all) and :class:`~paywire.MalformedWebhook` for a mapped event that cannot be
    read (no id, no object, fields of the wrong type) or for unreadable JSON.
    """
    return normalize_event(parse_json_body(body, provider=_PROVIDER))


def normalize_event(payload: Any) -> WebhookEvent:
    """:func:`parse_event` for an event already parsed."""
    if type(payload) is not dict and not isinstance(payload, Mapping):
        raise _unknown("the body is not a Stripe event object")
    raw_type = payload.get("type")
    if type(raw_type) is not str:
        raise _unknown("the body has no event type")
    if raw_type not in EVENT_TYPES:
        raise _unknown(f"Stripe event type {raw_type!r} is not normalized", raw_type)
    data = payload.get("data")
    obj = data.get("object") if type(data) is dict or isinstance(data, Mapping) else None
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise paywire.MalformedWebhook(
            f"Stripe {raw_type} event without data.object", provider=_PROVIDER
        )
    try:
        created_at = timestamp(payload, "created")
    except (TypeError, ValueError):
        raise paywire.MalformedWebhook(
            f"Stripe {raw_type} event with an unreadable created time", provider=_PROVIDER
        ) from None
    event_id = payload.get("id")
    return EVENT_RULES.normalize(
        raw_type,
        obj,
        event_id=event_id if type(event_id) is str else "",  # "" is refused as no id
        created_at=created_at,
        data=payload,
    )
