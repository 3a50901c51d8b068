"""Razorpay webhooks: the ``X-Razorpay-Signature`` check and events normalized to
``WebhookEvent``.

Razorpay's envelope is ``{"entity": "event", "account_id", "event", "contains", "payload":
{"payment": {"entity": {…}}, "order": …, "refund": …, "payment_link": …, "token": …},
"created_at"}``. It carries no event id: Razorpay sends that in the ``X-Razorpay-Event-Id``
header, which :meth:`handle_webhook_event` never sees. So the id is derived from the payload —
``"<event>:<entity ids by entity name>:<created_at>"`` — which is the same for every delivery of
one event (a redelivery resends the same snapshot) and differs between events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import paywire
from paywire import EventType, WebhookEvent
from paywire_razorpay._currency import RAZORPAY_CURRENCY_RULES
from paywire_razorpay._ids import method_id

__all__ = [
    "EVENT_ID_HEADER",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "event_id",
    "normalize_event",
    "verify_signature",
]

SIGNATURE_HEADER: Final = "X-Razorpay-Signature"
#: Razorpay's own event id, unique per event; apps that read headers may prefer it.
EVENT_ID_HEADER: Final = "X-Razorpay-Event-Id"
_PROVIDER: Final = "razorpay"
_MAX_ID = 200


def verify_signature(payload: bytes, headers: Mapping[str, str], secret: str | None) -> None:
    """Check ``X-Razorpay-Signature``: hex HMAC-SHA256 of the raw ``payload`` under the webhook
    secret. Raises :class:`paywire.InvalidSignature` and nothing else, whatever arrives."""
    try:
        signature = paywire.get_header(headers, SIGNATURE_HEADER)
        paywire.verify_hmac_sha256_hex(payload, signature, secret)
    except paywire.InvalidSignature:
        raise
    except Exception:  # not a mapping, odd types: whatever it is, it is not a valid signature
        raise paywire.InvalidSignature("malformed signature header") from None


class _Malformed(Exception):
    """A field that does not have Razorpay's type."""


def _unknown(message: str, event_type: str | None) -> paywire.UnknownEvent:
    return paywire.UnknownEvent(message, provider=_PROVIDER, event_type=event_type)


def _entity(payload: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    wrapper = payload.get(name)
    if wrapper is None:
        return None
    inner = wrapper.get("entity") if isinstance(wrapper, Mapping) else None
    if not isinstance(inner, Mapping):
        raise _Malformed(name)
    return inner


def _text(obj: Mapping[str, Any] | None, key: str) -> str | None:
    if obj is None:
        return None
    value = obj.get(key)
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise _Malformed(key)
    return value


def _note(obj: Mapping[str, Any] | None, key: str) -> str | None:
    # Razorpay writes empty notes as a JSON array (``[]``).
    notes = obj.get("notes") if obj is not None else None
    if isinstance(notes, Mapping):
        value = notes.get(key)
        if type(value) is str and value:
            return value
    return None


def _money(obj: Mapping[str, Any] | None, key: str = "amount") -> paywire.Money | None:
    if obj is None:
        return None
    amount = obj.get(key)
    currency = obj.get("currency")
    if amount is None or currency is None:
        return None
    if type(amount) is not int or type(currency) is not str:
        raise _Malformed(key)
    try:
        return RAZORPAY_CURRENCY_RULES.from_minor_units(amount, currency)
    except paywire.InvalidAmount:
        return None  # a currency paywire cannot express: the event still arrives, in ``data``


class _Event:
    """The entities of one event's payload, and what each contributes."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payment = _entity(payload, "payment")
        self.order = _entity(payload, "order")
        self.link = _entity(payload, "payment_link")
        self.refund = _entity(payload, "refund")
        self.token = _entity(payload, "token")
        self.dispute = _entity(payload, "dispute")
        self.invoice = _entity(payload, "invoice")

    def invoice_id(self) -> str | None:
        """The app's invoice id: a payment link's reference, else ``notes.invoice_id`` of the
        payment, order, link or refund (paywire writes it into every one it creates)."""
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

    def method_id(self) -> str | None:
        token_id = _text(self.token, "id") or _text(self.payment, "token_id")
        if token_id is None:
            return None
        customer_id = self.customer_id()
        return method_id(customer_id, token_id) if customer_id else token_id


_Fields = dict[str, Any]


def _payment(event: _Event) -> _Fields:
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.payment),
        "transaction_id": _text(event.payment, "id"),
        "payment_method_id": event.method_id(),
        "customer_id": event.customer_id(),
    }


def _order_paid(event: _Event) -> _Fields:
    fields = _payment(event)
    fields["amount"] = _money(event.order, "amount_paid") or fields["amount"]
    return fields


def _link(event: _Event) -> _Fields:
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.link, "amount_paid") if event.payment else _money(event.link),
        "transaction_id": _text(event.payment, "id"),
        "customer_id": event.customer_id(),
        "session_id": _text(event.link, "id"),
    }


def _refund(event: _Event) -> _Fields:
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.refund),
        "transaction_id": _text(event.refund, "payment_id") or _text(event.payment, "id"),
        "refund_id": _text(event.refund, "id"),
        "customer_id": event.customer_id(),
    }


def _token(event: _Event) -> _Fields:
    return {
        "payment_method_id": event.method_id(),
        "customer_id": event.customer_id(),
    }


def _registration(event: _Event) -> _Fields:
    return {
        "amount": _money(event.payment),
        "transaction_id": _text(event.payment, "id"),
        "payment_method_id": event.method_id(),
        "customer_id": event.customer_id(),
        "session_id": _text(event.invoice, "id"),
    }


def _dispute(event: _Event) -> _Fields:
    return {
        "invoice_id": event.invoice_id(),
        "amount": _money(event.dispute) or _money(event.payment),
        "transaction_id": _text(event.dispute, "payment_id") or _text(event.payment, "id"),
        "customer_id": event.customer_id(),
    }


def _refund_kind(event: _Event) -> EventType:
    status = _text(event.refund, "status")
    if status == "processed":
        return EventType.REFUND_SUCCEEDED
    if status == "failed":
        return EventType.REFUND_FAILED
    return EventType.REFUND_CREATED


def _invoice_paid(event: _Event) -> EventType:
    # Only a registration link (an invoice whose payment saved a token) is paywire's business.
    if event.method_id() is None:
        raise _unknown("invoice.paid without a token is not a registration link", "invoice.paid")
    return EventType.SETUP_COMPLETED


_Kind = Callable[[_Event], EventType] | EventType
_Extract = Callable[[_Event], _Fields]

#: Razorpay event → (normalized type, or how to tell it; what the event contributes).
_MAP: Final[dict[str, tuple[_Kind, _Extract]]] = {
    "payment_link.paid": (EventType.CHECKOUT_COMPLETED, _link),
    # Part of the link is paid and the rest is due: not a completed checkout.
    "payment_link.partially_paid": (EventType.PAYMENT_PENDING, _link),
    "payment_link.expired": (EventType.CHECKOUT_EXPIRED, _link),
    "payment_link.cancelled": (EventType.CHECKOUT_EXPIRED, _link),
    "payment.authorized": (EventType.PAYMENT_PENDING, _payment),
    "payment.captured": (EventType.PAYMENT_SUCCEEDED, _payment),
    "payment.failed": (EventType.PAYMENT_FAILED, _payment),
    "payment.pending": (EventType.PAYMENT_PENDING, _payment),
    # Razorpay's recommended "money received" event; the same payment as payment.captured.
    "order.paid": (EventType.PAYMENT_SUCCEEDED, _order_paid),
    "refund.created": (EventType.REFUND_CREATED, _refund),
    "refund.processed": (EventType.REFUND_SUCCEEDED, _refund),
    "refund.failed": (EventType.REFUND_FAILED, _refund),
    "refund.speed_changed": (_refund_kind, _refund),
    "token.confirmed": (EventType.SETUP_COMPLETED, _token),
    "token.rejected": (EventType.SETUP_FAILED, _token),
    "token.cancelled": (EventType.PAYMENT_METHOD_DETACHED, _token),
    "token.paused": (EventType.PAYMENT_METHOD_UPDATED, _token),
    "invoice.paid": (_invoice_paid, _registration),
    "invoice.expired": (EventType.CHECKOUT_EXPIRED, _registration),
    "payment.dispute.created": (EventType.DISPUTE_OPENED, _dispute),
    "payment.dispute.under_review": (EventType.DISPUTE_OPENED, _dispute),
    "payment.dispute.action_required": (EventType.DISPUTE_OPENED, _dispute),
    "payment.dispute.won": (EventType.DISPUTE_CLOSED, _dispute),
    "payment.dispute.lost": (EventType.DISPUTE_CLOSED, _dispute),
    "payment.dispute.closed": (EventType.DISPUTE_CLOSED, _dispute),
}

#: Every Razorpay event this plugin normalizes.
EVENT_TYPES: Final = frozenset(_MAP)


def event_id(payload: Mapping[str, Any]) -> str:
    """The stable id of a Razorpay event (see the module docstring).

    ``"payment.captured:payment=pay_X:1700000000"``; ids of several entities are listed by entity
    name. Falls back to a digest of the canonical JSON when the payload names no entity id.
    """
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


def normalize_event(payload: Mapping[str, Any]) -> WebhookEvent:
    """The :class:`paywire.WebhookEvent` for a parsed Razorpay event.

    Raises :class:`paywire.UnknownEvent` for an event this plugin does not map, and for anything
    that is not a Razorpay event of the mapped event's shape.
    """
    if not isinstance(payload, Mapping) or payload.get("entity") != "event":
        raise _unknown("the payload is not a Razorpay event", None)
    name = payload.get("event")
    if type(name) is not str:
        raise _unknown("the payload has no event name", None)
    entry = _MAP.get(name)
    if entry is None:
        raise _unknown(f"Razorpay event {name!r} is not normalized", name)
    inner = payload.get("payload")
    if not isinstance(inner, Mapping):
        raise _unknown(f"malformed Razorpay {name} event", name)
    kind, extract = entry
    try:
        event = _Event(inner)
        fields = extract(event)
        normalized = kind if isinstance(kind, EventType) else kind(event)
        created = payload.get("created_at")
        created_at = None
        if created is not None:
            if type(created) is not int:
                raise _Malformed("created_at")
            created_at = datetime.fromtimestamp(created, UTC)
    except (_Malformed, OverflowError, OSError, ValueError):
        raise _unknown(f"malformed Razorpay {name} event", name) from None
    return WebhookEvent(
        provider=_PROVIDER,
        id=event_id(payload),
        type=normalized,
        raw_type=name,
        created_at=created_at,
        data=payload,
        **fields,
    )
