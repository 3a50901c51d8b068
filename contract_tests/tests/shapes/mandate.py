"""Saved methods are mandates that live under their customer: a method is
``SavedPaymentMethod(id=<mandate>, customer_id=<customer>)`` — no composite ids — and every
call on it names both. Webhooks are signed without a timestamp (hex HMAC of the body,
``signature_timestamp = False``) and carry their event id in a header."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from paywire import EventType, NotFound, SavedPaymentMethod
from paywire.plugin import (
    CurrencyRules,
    EventRules,
    Operation,
    get_header,
    immediately,
    verify_hmac_sha256_hex,
)
from paywire_contract import WebhookSample
from paywire_sandbox import WebhookEndpoint
from shapes._base import ShapeFake, ShapeHarness, ShapeProvider, charge_events, hmac_hex

NAME = "mandates"
RULES = CurrencyRules(name=NAME, multiples={"KWD": 10})
SIGNATURE = "Mandate-Signature"
EVENT_ID = "Mandate-Event-Id"


class MandateFake(ShapeFake):
    """Methods at ``/v1/customers/{c}/mandates/{m}``; charges name the customer and mandate."""

    name: ClassVar[str] = NAME
    mandates: ClassVar[bool] = True

    def reset(self) -> None:
        super().reset()
        self.event_ids: dict[bytes, str] = {}

    def notify(self, event_type: str, obj: Mapping[str, Any]) -> None:
        event_id = self._id("evt")
        body = json.dumps(
            {"type": event_type, "created": int(self.ctx.clock.now()), "data": obj}
        ).encode()
        self.event_ids[body] = event_id
        self.ctx.webhooks.emit(NAME, event_id, event_type, body)

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {SIGNATURE: hmac_hex(endpoint.secret, body), EVENT_ID: self.event_ids.get(body, "")}


class MandateProvider(ShapeProvider):
    """Reads the customer from the saved method wherever the mandate is used."""

    name: ClassVar[str] = NAME
    currency_rules: ClassVar[CurrencyRules] = RULES
    events: ClassVar[EventRules] = EventRules(NAME, charge_events(RULES))

    def _customer(self, method: SavedPaymentMethod) -> str:
        if not method.customer_id:
            raise NotFound(f"mandate {method.id} is named without its customer", provider=NAME)
        return method.customer_id

    def charge_body(self, method: SavedPaymentMethod) -> dict[str, Any]:
        return {"customer": self._customer(method), "mandate": method.id}

    def method_path(self, method: SavedPaymentMethod) -> str:
        return f"/v1/customers/{self._customer(method)}/mandates/{method.id}"

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        verify_hmac_sha256_hex(body, get_header(headers, SIGNATURE), secret)
        return immediately(None)

    def event_id(self, payload: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
        ident = get_header(headers, EVENT_ID)
        if "event_id_per_read" in self.bugs and ident:
            return f"{ident}:{time.monotonic_ns()}"  # a new id each time it is read
        return ident


class MandateHarness(ShapeHarness):
    """The mandate shape's harness."""

    provider_name: ClassVar[str] = NAME
    provider_class: ClassVar[type[ShapeProvider]] = MandateProvider
    signature_timestamp = False

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        return {SIGNATURE: hmac_hex(secret, payload)}

    @staticmethod
    def delivery(event_type: str, data: Mapping[str, Any], event_id: str) -> WebhookSample:
        """An event as this shape delivers it: no id in the body, the id in a header."""
        body = {"type": event_type, "created": 1_700_000_000, "data": dict(data)}
        return WebhookSample(json.dumps(body).encode(), {EVENT_ID: event_id})

    def webhook_samples(
        self,
    ) -> Sequence[tuple[Mapping[str, Any] | WebhookSample, EventType]]:
        out: list[tuple[Mapping[str, Any] | WebhookSample, EventType]] = []
        for payload, kind in super().webhook_samples():
            assert isinstance(payload, Mapping)
            out.append((self.delivery(payload["type"], payload["data"], payload["id"]), kind))
        return out

    def unknown_event(self) -> Mapping[str, Any] | WebhookSample:
        return self.delivery("customer.touched", {"customer": "cus_1"}, "evt_9")
