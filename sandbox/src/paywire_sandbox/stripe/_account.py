"""The Stripe account's state: stored objects, events, customers and payment methods.

Nothing here knows about HTTP. Operations take already-validated values, mutate the stored JSON
objects and raise :class:`StripeError` exactly where Stripe refuses a request. Every state change
fires the events Stripe fires, each serialised once into the bytes that are both delivered and
served by ``GET /v1/events/{id}``. :mod:`._payments` and :mod:`._engine` build on this class.
"""

from __future__ import annotations

import collections
import datetime
import json
from collections.abc import Iterator
from typing import Any

import attrs

from paywire_sandbox._fake import SandboxContext
from paywire_sandbox.stripe import _resources as res
from paywire_sandbox.stripe._cards import (
    AUTH_FAILED,
    PM_TOKENS,
    Behaviour,
    CardSpec,
    Decline,
    card_for_number,
)
from paywire_sandbox.stripe._errors import StripeError, invalid_request, resource_missing
from paywire_sandbox.stripe._resources import JSON, IdMaker

__all__ = [
    "CONFIRMABLE",
    "MAX_EVENTS",
    "UNUSABLE_PM",
    "AccountBase",
    "Attempt",
    "EventRecord",
    "IntentRecord",
    "PaymentMethodRecord",
    "SessionRecord",
    "card_error",
    "merge_metadata",
    "setup_decline",
    "year_of",
]

#: Stripe's refusal of a PaymentMethod that was detached, or used once without a customer.
UNUSABLE_PM = (
    "The provided PaymentMethod was previously used with a PaymentIntent without Customer "
    "attachment, shared with a connected account without Customer attachment, or was detached "
    "from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must "
    "attach it to a Customer first."
)

#: How many events ``GET /v1/events`` remembers (the oldest are forgotten first).
MAX_EVENTS = 50_000

#: PaymentIntent/SetupIntent statuses from which a confirmation (or a cancel) may proceed.
CONFIRMABLE = frozenset({"requires_payment_method", "requires_confirmation", "requires_action"})


@attrs.define(slots=True)
class PaymentMethodRecord:
    """A PaymentMethod and what the API does not show: its card and whether it can be reused."""

    obj: JSON
    card: CardSpec
    #: Detached from a customer, or used once without one: it can never be used again.
    spent: bool = False
    #: Set up for off-session use (SetupIntent or setup_future_usage) — skips 3DS on some cards.
    set_up: bool = False


@attrs.define(slots=True)
class IntentRecord:
    """A PaymentIntent or SetupIntent with the context of its current attempt."""

    obj: JSON
    session: str | None = None
    pm: PaymentMethodRecord | None = None
    return_url: str | None = None


@attrs.define(slots=True)
class SessionRecord:
    """A Checkout Session plus its line items and the data it copies onto its intents."""

    obj: JSON
    line_items: list[JSON]
    pi_data: dict[str, Any]
    seti_data: dict[str, Any]
    #: The message the hosted page shows after a declined attempt.
    error: str | None = None


@attrs.define(slots=True)
class EventRecord:
    """A fired event: its serialised body, kept for ``GET /v1/events``."""

    created: int
    type: str
    body: bytes


@attrs.frozen
class Attempt:
    """The outcome of a customer paying a Checkout Session (page or control API)."""

    status: str
    redirect_url: str | None = None
    error: Decline | None = None
    #: Set when 3D Secure must be completed first: the challenge page's path.
    action_intent: str | None = None


class AccountBase:
    """The account's state and its basic operations: ids, events, customers, payment methods."""

    def __init__(self, ctx: SandboxContext, provider: str, ids: IdMaker) -> None:
        self.ctx = ctx
        self.provider = provider
        self.new_id = ids
        self.customers: dict[str, JSON] = {}
        self.payment_methods: dict[str, PaymentMethodRecord] = {}
        self.payment_intents: dict[str, IntentRecord] = {}
        self.setup_intents: dict[str, IntentRecord] = {}
        self.charges: dict[str, JSON] = {}
        self.refunds: dict[str, JSON] = {}
        self.disputes: dict[str, JSON] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.events: dict[str, EventRecord] = {}
        self._event_order: collections.deque[str] = collections.deque()
        self._expiry: list[tuple[int, str]] = []
        #: The API request being served, stamped on the events it causes.
        self.request_id: str | None = None
        self.idempotency_key: str | None = None
        #: Where the fake's pages are served (``http://host:port/stripe/``), for 3DS links.
        self.base_url = f"/{provider}/"
        #: The object last emitted in this request and its JSON (see :meth:`emit`).
        self.last_dump: tuple[JSON, str] | None = None

    # ------------------------------------------------------------------ basics

    def now(self) -> int:
        """The sandbox clock, in whole seconds as Stripe's timestamps are."""
        return int(self.ctx.clock.now())

    def emit(self, type_: str, obj: JSON, previous: JSON | None = None) -> str:
        """Fire an event with a snapshot of ``obj`` and hand it to the webhook sink.

        ``obj`` is serialised once; the bytes are kept as :attr:`last_dump` so that a handler
        answering with the very object it last emitted (and has not changed since, which every
        operation here respects: state changes come before their event) sends the same bytes.
        """
        evid = self.new_id("evt")
        created = self.now()
        obj_json = json.dumps(obj)
        body = res.event_bytes(
            evid,
            created,
            type_,
            obj_json,
            previous_attributes=previous,
            pending_webhooks=len(self.ctx.webhooks.endpoints(self.provider)),
            request_id=self.request_id,
            idempotency_key=self.idempotency_key,
        )
        self.last_dump = (obj, obj_json)
        self.events[evid] = EventRecord(created, type_, body)
        self._event_order.append(evid)
        if len(self._event_order) > MAX_EVENTS:
            # Stripe keeps events for 30 days; the sandbox keeps the newest MAX_EVENTS, so a
            # long-running server does not grow without bound.
            del self.events[self._event_order.popleft()]
        self.ctx.webhooks.emit(self.provider, evid, type_, body)
        return evid

    def dump(self, obj: JSON) -> bytes:
        """``obj`` as response bytes (the last event's serialisation when that was ``obj``)."""
        last = self.last_dump
        if last is not None and last[0] is obj:
            return last[1].encode()
        return json.dumps(obj).encode()

    def lookup(self, object_id: str) -> JSON | None:
        """Any stored object by id (for ``expand``)."""
        prefix = object_id[: object_id.find("_") + 1]
        if prefix == "pi_":
            rec = self.payment_intents.get(object_id)
            return rec.obj if rec else None
        if prefix == "seti_":
            rec = self.setup_intents.get(object_id)
            return rec.obj if rec else None
        if prefix == "pm_":
            pm = self.payment_methods.get(object_id)
            return pm.obj if pm else None
        if prefix == "cs_":
            session = self.sessions.get(object_id)
            return session.obj if session else None
        if prefix in ("ch_", "py_"):
            return self.charges.get(object_id)
        if prefix == "re_":
            return self.refunds.get(object_id)
        if prefix == "cus_":
            return self.customers.get(object_id)
        if prefix == "du_":
            return self.disputes.get(object_id)
        return None

    def expand(self, obj: JSON, paths: list[str]) -> JSON:
        """A copy of ``obj`` with the ids at ``paths`` replaced by their objects."""
        if not paths:
            return obj
        result = dict(obj)
        for path in paths:
            parts = path.split(".")
            if len(parts) > 4:
                raise invalid_request(
                    f"You cannot expand more than 4 levels of a property. Property: {path}",
                    param="expand",
                )
            self._expand_into(result, parts, path)
        return result

    def _expand_into(self, node: JSON, parts: list[str], full: str) -> None:
        key = parts[0]
        if key not in node:
            raise invalid_request(f"This property cannot be expanded ({full}).", param="expand")
        value = node[key]
        if key == "data" and isinstance(value, list):
            items = [dict(item) for item in value]
            node[key] = items
            if len(parts) > 1:
                for item in items:
                    self._expand_into(item, parts[1:], full)
            return
        if isinstance(value, str):
            target = self.lookup(value)
            if target is None:
                raise invalid_request(f"This property cannot be expanded ({full}).", param="expand")
            value = dict(target)
        elif isinstance(value, dict):
            value = dict(value)
        elif value is None:
            return
        else:
            raise invalid_request(f"This property cannot be expanded ({full}).", param="expand")
        node[key] = value
        if len(parts) > 1:
            self._expand_into(value, parts[1:], full)

    # ------------------------------------------------------------------ customers

    def create_customer(
        self,
        *,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        phone: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> JSON:
        """``POST /v1/customers``."""
        obj = res.customer(
            self.new_id("cus"),
            self.now(),
            email=email,
            name=name,
            description=description,
            phone=phone,
            metadata=metadata or {},
        )
        self.customers[obj["id"]] = obj
        self.emit("customer.created", obj)
        return obj

    def customer(self, cid: str, param: str = "id") -> JSON:
        """A customer, or Stripe's 404."""
        obj = self.customers.get(cid)
        if obj is None:
            raise resource_missing("customer", cid, param=param)
        return obj

    def update_customer(self, cid: str, changes: dict[str, Any]) -> JSON:
        """``POST /v1/customers/{id}``: scalar fields, metadata, default payment method."""
        obj = self.customer(cid)
        previous: JSON = {}
        for key, value in changes.items():
            if key == "metadata":
                old = dict(obj["metadata"])
                merged = merge_metadata(obj["metadata"], value)
                if merged != old:
                    previous["metadata"] = old
                    obj["metadata"] = merged
            elif key == "invoice_settings":
                default = value.get("default_payment_method")
                if default is not None:
                    pm = self.payment_method(
                        default, param="invoice_settings[default_payment_method]"
                    )
                    if pm.obj["customer"] != cid:
                        raise invalid_request(
                            f"The customer does not have a payment method with the ID {default}. "
                            "The payment method must be attached to the customer.",
                            param="invoice_settings[default_payment_method]",
                        )
                settings = obj["invoice_settings"]
                if settings["default_payment_method"] != default:
                    previous["invoice_settings"] = {
                        "default_payment_method": settings["default_payment_method"]
                    }
                    settings["default_payment_method"] = default
            elif obj[key] != value:
                previous[key] = obj[key]
                obj[key] = value
        if previous:
            self.emit("customer.updated", obj, previous)
        return obj

    # ------------------------------------------------------------------ payment methods

    def new_payment_method(
        self,
        spec: CardSpec,
        *,
        exp_month: int | None = None,
        exp_year: int | None = None,
        email: str | None = None,
        name: str | None = None,
    ) -> PaymentMethodRecord:
        """A fresh card PaymentMethod (test ``pm_card_*`` ids get a card valid for years)."""
        if exp_month is None or exp_year is None:
            exp_month, exp_year = 12, year_of(self.now()) + 3
        obj = res.payment_method(
            self.new_id("pm"),
            self.now(),
            spec,
            exp_month=exp_month,
            exp_year=exp_year,
            email=email,
            name=name,
        )
        record = PaymentMethodRecord(obj, spec)
        self.payment_methods[obj["id"]] = record
        return record

    def payment_method(self, value: str, param: str = "payment_method") -> PaymentMethodRecord:
        """A stored PM, or a fresh one for a ``pm_card_*`` test id (as Stripe does)."""
        record = self.payment_methods.get(value)
        if record is not None:
            return record
        number = PM_TOKENS.get(value)
        if number is not None:
            return self.new_payment_method(card_for_number(number))
        raise StripeError(
            404,
            "invalid_request_error",
            f"No such PaymentMethod: '{value}'",
            code="resource_missing",
            param=param,
        )

    def attach(self, pmid: str, cid: str) -> JSON:
        """``POST /v1/payment_methods/{pm}/attach``: validates the card like Stripe does."""
        record = self.payment_method(pmid)
        self.customer(cid, param="customer")
        if record.obj["customer"] == cid:
            return record.obj
        self.check_attachable(record)
        self._attach(record, cid)
        return record.obj

    def check_attachable(self, record: PaymentMethodRecord) -> None:
        """Raise what ``attach`` would for a PM that cannot be attached to a new customer."""
        obj = record.obj
        if record.spent:
            raise invalid_request(
                "This PaymentMethod was previously used without being attached to a Customer or "
                "was detached from a Customer, and may not be used again.",
                param="payment_method",
                code="payment_method_unexpected_state",
            )
        if obj["customer"] is not None:
            raise invalid_request(
                "The payment method you provided has already been attached to a customer.",
                param="payment_method",
                code="payment_method_unexpected_state",
            )
        decline = setup_decline(record.card)
        if decline is not None:
            raise card_error(decline, extra={"payment_method": obj})

    def _attach(self, record: PaymentMethodRecord, cid: str) -> None:
        record.obj["customer"] = cid
        self.emit("payment_method.attached", record.obj, {"customer": None})

    def detach(self, pmid: str) -> JSON:
        """``POST /v1/payment_methods/{pm}/detach``: permanent, the PM is unusable afterwards."""
        record = self.payment_method(pmid)
        obj = record.obj
        cid = obj["customer"]
        if cid is None:
            raise invalid_request(
                "The payment method you provided is not attached to a customer so detachment is "
                "impossible.",
                param="payment_method",
                code="payment_method_unexpected_state",
            )
        obj["customer"] = None
        record.spent = True
        owner = self.customers.get(cid)
        if owner is not None and owner["invoice_settings"]["default_payment_method"] == pmid:
            owner["invoice_settings"]["default_payment_method"] = None
        self.emit("payment_method.detached", obj, {"customer": cid})
        return obj

    def customer_payment_methods(self, cid: str) -> list[JSON]:
        """The customer's attached PMs, newest first."""
        self.customer(cid, param="customer")
        found = [r.obj for r in self.payment_methods.values() if r.obj["customer"] == cid]
        found.reverse()
        return found

    # ------------------------------------------------------------------ events

    def event_ids_newest_first(self) -> Iterator[str]:
        """Event ids, newest first (``GET /v1/events`` order)."""
        return reversed(self._event_order)

    def event(self, evid: str) -> EventRecord:
        """An Event, or Stripe's 404."""
        record = self.events.get(evid)
        if record is None:
            raise resource_missing("event", evid, param="id")
        return record


def setup_decline(spec: CardSpec) -> Decline | None:
    if (
        spec.behaviour is Behaviour.DECLINE
        and spec.decline is not None
        and spec.decline.fails_setup
    ):
        return spec.decline
    return None


def card_error(decline: Decline, *, extra: JSON) -> StripeError:
    type_ = "invalid_request_error" if decline is AUTH_FAILED else "card_error"
    status = 400 if decline is AUTH_FAILED else 402
    return StripeError(
        status, type_, decline.message, code=decline.code, param=decline.param, extra=extra
    )


def merge_metadata(current: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    if not changes:
        return {}  # ``metadata=""`` clears every key
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def year_of(timestamp: int) -> int:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).year
