"""Razorpay webhooks: the ``X-Razorpay-Signature`` check, the event id, and the event table.

Razorpay's envelope is ``{"entity": "event", "account_id", "event", "contains", "payload":
{"payment": {"entity": {…}}, "order": …, "refund": …, "payment_link": …, "token": …},
"created_at"}``, signed with ``X-Razorpay-Signature`` (hex HMAC-SHA256 of the raw body; no
timestamp). Its id travels in the ``X-Razorpay-Event-Id`` header, "unique per event" and the same
on every redelivery; without that header (a body handed over on its own) the id is derived from
the payload (:func:`event_id`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from paywire import EventType, InvalidAmount, MalformedWebhook, Money, UnknownEvent, WebhookEvent
from paywire.plugin import (
    EventFields,
    EventRule,
    EventRules,
    check_text,
    get_header,
    parse_json_body,
)
from paywire_razorpay._currency import RAZORPAY_CURRENCY_RULES

__all__ = [
    "EVENTS",
    "EVENT_ID_HEADER",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "event_id",
    "parse_event",
]

#: The header carrying the body's hex HMAC-SHA256 under the webhook secret.
SIGNATURE_HEADER: Final = "X-Razorpay-Signature"
#: The header carrying Razorpay's event id, unique per event and kept on redeliveries.
EVENT_ID_HEADER: Final = "X-Razorpay-Event-Id"
_PROVIDER: Final = "razorpay"
_MAX_ID: Final = 200


def _entity(entities: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """``payload[name].entity``; ``None`` when the event does not contain it."""
    wrapper = entities.get(name)
    if wrapper is None:
        return None
    inner = wrapper["entity"]
    if not isinstance(inner, Mapping):
        raise TypeError(name)
    return inner


def _text(obj: Mapping[str, Any] | None, key: str) -> str | None:
    if obj is None:
        return None
    value = obj.get(key)
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise TypeError(key)
    return value


def _note(obj: Mapping[str, Any] | None, key: str) -> str | None:
    # Razorpay writes empty notes as a JSON array (``[]``).
    notes = obj.get("notes") if obj is not None else None
    if isinstance(notes, Mapping):
        value = notes.get(key)
        if type(value) is str and value:
            return value
    return None


def _money(obj: Mapping[str, Any] | None, key: str = "amount") -> Money | None:
    if obj is None:
        return None
    amount, currency = obj.get(key), obj.get("currency")
    if amount is None or currency is None:
        return None
    if type(amount) is not int or type(currency) is not str:
        raise TypeError(key)
    try:
        return RAZORPAY_CURRENCY_RULES.from_minor_units(amount, currency)
    except InvalidAmount:
        return None  # a currency paywire cannot express: the event still arrives, in ``data``


class _Event:
    """The entities of one event's payload, and what each contributes."""

    def __init__(self, entities: Mapping[str, Any]) -> None:
        self.payment = _entity(entities, "payment")
        self.order = _entity(entities, "order")
        self.link = _entity(entities, "payment_link")
        self.refund = _entity(entities, "refund")
        self.token = _entity(entities, "token")
        self.dispute = _entity(entities, "dispute")
        self.invoice = _entity(entities, "invoice")

    def invoice_id(self) -> str | None:
        """The app's invoice id: a payment link's reference, else ``notes.invoice_id`` of the
        payment, order, link or refund (paywire writes it into every link and order it makes,
        and a payment carries its link's or order's notes)."""
        return (
            _text(self.link, "reference_id")
            or _note(self.payment, "invoice_id")
            or _note(self.order, "invoice_id")
            or _note(self.link, "invoice_id")
            or _note(self.refund, "invoice_id")
        )

    def customer_id(self) -> str | None:
        return (
            _text(self.payment, "customer_id")
            or _text(self.token, "customer_id")
            or _text(self.invoice, "customer_id")
        )

    def token_id(self) -> str | None:
        return _text(self.token, "id") or _text(self.payment, "token_id")


def _read(entities: Mapping[str, Any]) -> _Event:
    return _Event(entities)


def _payment(entities: Mapping[str, Any]) -> EventFields:
    event = _read(entities)
    token = event.token_id()
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.payment),
        "transaction_id": _text(event.payment, "id"),
        "payment_method_id": token,
        "customer_id": event.customer_id(),
        # A payment on a token is made with a saved card (a recurring charge, or the
        # registration payment that saved it).
        "method_saved": token is not None,
    }


def _order_paid(entities: Mapping[str, Any]) -> EventFields:
    event = _read(entities)
    fields = _payment(entities)
    fields["amount"] = _money(event.order, "amount_paid") or fields.get("amount")
    return fields


def _link(entities: Mapping[str, Any]) -> EventFields:
    event = _read(entities)
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.link, "amount_paid") if event.payment else _money(event.link),
        "transaction_id": _text(event.payment, "id"),
        "customer_id": event.customer_id(),
        "session_id": _text(event.link, "id"),
    }


def _refund(entities: Mapping[str, Any]) -> EventFields:
    event = _read(entities)
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.refund),
        "transaction_id": _text(event.refund, "payment_id") or _text(event.payment, "id"),
        "refund_id": _text(event.refund, "id"),
        "customer_id": event.customer_id(),
    }


def _token(entities: Mapping[str, Any]) -> EventFields:
    # Razorpay's card token.confirmed carries no customer_id: the saved method is then named by
    # its token alone, and invoice.paid (or complete_setup with the session) names both.
    event = _read(entities)
    return {"payment_method_id": event.token_id(), "customer_id": event.customer_id()}


def _registration(entities: Mapping[str, Any]) -> EventFields:
    event = _read(entities)
    return {
        "amount": _money(event.payment),
        "transaction_id": _text(event.payment, "id"),
        "payment_method_id": event.token_id(),
        "customer_id": event.customer_id(),
        "session_id": _text(event.invoice, "id"),
    }


def _dispute(entities: Mapping[str, Any]) -> EventFields:
    event = _read(entities)
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.dispute) or _money(event.payment),
        "transaction_id": _text(event.dispute, "payment_id") or _text(event.payment, "id"),
        "customer_id": event.customer_id(),
    }


def _refund_kind(entities: Mapping[str, Any]) -> EventType:
    status = _text(_read(entities).refund, "status")
    if status == "processed":
        return EventType.REFUND_SUCCEEDED
    if status == "failed":
        return EventType.REFUND_FAILED
    return EventType.REFUND_CREATED


def _invoice_paid(entities: Mapping[str, Any]) -> EventType:
    # Only a registration link (an invoice whose payment saved a token) is paywire's business.
    if _read(entities).token_id() is None:
        raise UnknownEvent(
            "invoice.paid without a token is not a registration link",
            provider=_PROVIDER,
            event_type="invoice.paid",
        )
    return EventType.SETUP_COMPLETED


#: Razorpay event → normalized type (or how to tell it) and what the event contributes.
EVENTS: Final = EventRules(
    _PROVIDER,
    {
        "payment_link.paid": EventRule(EventType.CHECKOUT_COMPLETED, _link),
        # Part of the link is paid and the rest is due: not a completed checkout.
        "payment_link.partially_paid": EventRule(EventType.PAYMENT_PENDING, _link),
        "payment_link.expired": EventRule(EventType.CHECKOUT_EXPIRED, _link),
        "payment_link.cancelled": EventRule(EventType.CHECKOUT_EXPIRED, _link),
        "payment.authorized": EventRule(EventType.PAYMENT_PENDING, _payment),
        # A recurring debit settles with payment.captured (and order.paid) or payment.failed.
        "payment.captured": EventRule(EventType.PAYMENT_SUCCEEDED, _payment),
        "payment.failed": EventRule(EventType.PAYMENT_FAILED, _payment),
        "payment.pending": EventRule(EventType.PAYMENT_PENDING, _payment),
        # Razorpay's recommended "money received" event; the same payment as payment.captured.
        "order.paid": EventRule(EventType.PAYMENT_SUCCEEDED, _order_paid),
        "refund.created": EventRule(EventType.REFUND_CREATED, _refund),
        "refund.processed": EventRule(EventType.REFUND_SUCCEEDED, _refund),
        "refund.failed": EventRule(EventType.REFUND_FAILED, _refund),
        "refund.speed_changed": EventRule(_refund_kind, _refund),
        "token.confirmed": EventRule(EventType.SETUP_COMPLETED, _token),
        "token.rejected": EventRule(EventType.SETUP_FAILED, _token),
        "token.cancelled": EventRule(EventType.PAYMENT_METHOD_DETACHED, _token),
        "token.paused": EventRule(EventType.PAYMENT_METHOD_UPDATED, _token),
        "invoice.paid": EventRule(_invoice_paid, _registration),
        "invoice.expired": EventRule(EventType.CHECKOUT_EXPIRED, _registration),
        "payment.dispute.created": EventRule(EventType.DISPUTE_OPENED, _dispute),
        "payment.dispute.under_review": EventRule(EventType.DISPUTE_OPENED, _dispute),
        "payment.dispute.action_required": EventRule(EventType.DISPUTE_OPENED, _dispute),
        "payment.dispute.won": EventRule(EventType.DISPUTE_CLOSED, _dispute),
        "payment.dispute.lost": EventRule(EventType.DISPUTE_CLOSED, _dispute),
        "payment.dispute.closed": EventRule(EventType.DISPUTE_CLOSED, _dispute),
    },
)

#: Every Razorpay event this plugin normalizes.
EVENT_TYPES: Final = EVENTS.types


def event_id(payload: Mapping[str, Any]) -> str:
    """The id of a Razorpay event derived from its payload, for a body without its
    ``X-Razorpay-Event-Id`` header: ``"payment.captured:payment=pay_X:1700000000"`` (ids of
    several entities are listed by entity name), the same for every delivery of one event.
    Falls back to a digest of the canonical JSON when the payload names no entity id."""
    name = payload.get("event")
    inner = payload.get("payload")
    parts: list[str] = []
    if isinstance(inner, Mapping):
        for key in sorted(k for k in inner if isinstance(k, str)):
            wrapper = inner[key]
            entity = wrapper.get("entity") if isinstance(wrapper, Mapping) else None
            ident = entity.get("id") if isinstance(entity, Mapping) else None
            if type(ident) is str and ident:
                parts.append(f"{key}={ident}")
    created = payload.get("created_at")
    if parts and type(name) is str and type(created) is int:
        candidate = f"{name}:{','.join(parts)}:{created}"
        if len(candidate) <= _MAX_ID:
            return candidate
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return f"{name}:sha256={hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


def _header_id(headers: Mapping[str, str]) -> str | None:
    value = get_header(headers, EVENT_ID_HEADER)
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > _MAX_ID:
        raise MalformedWebhook(f"{EVENT_ID_HEADER} is too long", provider=_PROVIDER)
    check_text(value, EVENT_ID_HEADER, provider=_PROVIDER)
    return value


def parse_event(body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    """The normalized event of a verified delivery: its raw ``body`` and its ``headers``.

    Raises :class:`paywire.UnknownEvent` for an event this plugin does not map (and for anything
    that is not a Razorpay event) and :class:`paywire.MalformedWebhook` for a mapped event that
    cannot be read.
    """
    payload = parse_json_body(body, provider=_PROVIDER)
    if not isinstance(payload, Mapping) or payload.get("entity") != "event":
        raise UnknownEvent("the body is not a Razorpay event", provider=_PROVIDER, event_type=None)
    name = payload.get("event")
    if type(name) is not str:
        raise UnknownEvent("the event has no name", provider=_PROVIDER, event_type=None)
    if name not in EVENTS.types:
        check_text(name, "the event type", provider=_PROVIDER)
        raise UnknownEvent(
            f"Razorpay event {name!r} is not normalized", provider=_PROVIDER, event_type=name
        )
    entities = payload.get("payload")
    created = payload.get("created_at")
    if not isinstance(entities, Mapping) or (created is not None and type(created) is not int):
        raise MalformedWebhook(f"malformed Razorpay {name} event", provider=_PROVIDER)
    from paywire.plugin import utc_from_timestamp  # here: loading the plugin loads no httpx

    try:
        created_at = utc_from_timestamp(created) if created is not None else None
    except (OverflowError, OSError, ValueError):
        raise MalformedWebhook(
            f"malformed Razorpay {name} event (created_at)", provider=_PROVIDER
        ) from None
    ident = _header_id(headers) or event_id(payload)
    return EVENTS.normalize(name, entities, event_id=ident, created_at=created_at, data=payload)
