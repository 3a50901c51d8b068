"""One status event per checkout: ``payment.updated``, whose status says what happened
(``checkout_events = "single"``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from paywire import EventReference, EventType, WebhookEvent
from paywire.plugin import CurrencyRules, EventRule, EventRules
from paywire_contract import WebhookSample
from shapes._base import ShapeFake, ShapeHarness, ShapeProvider, charge_events

NAME = "singleevent"
RULES = CurrencyRules(name=NAME, multiples={"KWD": 10})

_KINDS = {
    "succeeded": EventType.PAYMENT_SUCCEEDED,
    "failed": EventType.PAYMENT_FAILED,
    "pending": EventType.PAYMENT_PENDING,
}


def _kind(obj: Mapping[str, Any]) -> EventType:
    return _KINDS[str(obj["status"])]


class SingleFake(ShapeFake):
    """A completed checkout sends one ``payment.updated`` event."""

    name: ClassVar[str] = NAME

    def checkout_paid(self, session: Mapping[str, Any], charge: Mapping[str, Any]) -> None:
        self.notify("payment.updated", charge)


class SingleProvider(ShapeProvider):
    """Normalizes ``payment.updated`` by the payment's status."""

    name: ClassVar[str] = NAME
    currency_rules: ClassVar[CurrencyRules] = RULES
    events: ClassVar[EventRules] = EventRules(
        NAME,
        {"payment.updated": EventRule(_kind, charge_events(RULES)["payment.succeeded"].read)},
    )

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> WebhookEvent | EventReference:
        event = super().parse_webhook(body, headers)
        if "single_no_invoice" in self.bugs and isinstance(event, WebhookEvent):
            return attrs.evolve(event, invoice_id=None)
        return event


class SingleHarness(ShapeHarness):
    """The single-event shape's harness."""

    provider_name: ClassVar[str] = NAME
    provider_class: ClassVar[type[ShapeProvider]] = SingleProvider
    checkout_events = "single"

    def webhook_samples(
        self,
    ) -> Sequence[tuple[Mapping[str, Any] | WebhookSample, EventType]]:
        charge = {"id": "ch_1", "amount": 1234, "currency": "USD", "invoice_id": "inv_1"}
        return [
            (
                self.payload("payment.updated", {**charge, "status": "succeeded"}, "evt_1"),
                EventType.PAYMENT_SUCCEEDED,
            ),
            (
                self.payload("payment.updated", {**charge, "status": "failed"}, "evt_2"),
                EventType.PAYMENT_FAILED,
            ),
        ]
