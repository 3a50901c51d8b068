"""Asynchronous charges and refunds: both come back pending and settle by webhook
(``charge_settlement`` and ``refund_settlement = "asynchronous"``). A declining method is pending
too, and settles as failed.

The shape's signatures carry a timestamp, which the default ``Harness.settle`` (the sandbox clock
moved 48 hours ahead) would put in the future: its fake settles on a control call instead
(``POST /_sandbox/asyncsettle/settle``), and the harness says so in ``settle``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from paywire import EventReference, EventType, UnknownEvent, WebhookEvent
from paywire.plugin import CurrencyRules, EventRules
from paywire_contract import ScenarioContext
from shapes._base import ShapeFake, ShapeHarness, ShapeProvider, charge_events

NAME = "asyncsettle"
RULES = CurrencyRules(name=NAME, multiples={"KWD": 10})


class SettleFake(ShapeFake):
    """Charges of good (and declining) methods, and refunds, stay pending until settled."""

    name: ClassVar[str] = NAME
    settles_later: ClassVar[bool] = True

    def control_routes(self) -> Sequence[BaseRoute]:
        return [*super().control_routes(), Route("/settle", self.settle, methods=["POST"])]

    async def settle(self, request: Request) -> JSONResponse:
        """Settle what is pending now, without moving the clock."""
        self.on_clock_advanced()
        return JSONResponse({"settled": True})


class SettleProvider(ShapeProvider):
    """Reports pending charges and refunds as pending."""

    name: ClassVar[str] = NAME
    currency_rules: ClassVar[CurrencyRules] = RULES
    events: ClassVar[EventRules] = EventRules(NAME, charge_events(RULES))

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> WebhookEvent | EventReference:
        event = super().parse_webhook(body, headers)
        if not isinstance(event, WebhookEvent):
            return event
        if "settled_unmapped" in self.bugs and event.type is EventType.PAYMENT_SUCCEEDED:
            raise UnknownEvent("not mapped", provider=self.name, event_type=event.raw_type)
        if "refund_event_no_transaction" in self.bugs and event.type is EventType.REFUND_SUCCEEDED:
            return attrs.evolve(event, transaction_id=None, refund_id=None)
        return event


class SettleHarness(ShapeHarness):
    """The asynchronous-settlement shape's harness."""

    provider_name: ClassVar[str] = NAME
    provider_class: ClassVar[type[ShapeProvider]] = SettleProvider
    charge_settlement = "asynchronous"
    refund_settlement = "asynchronous"

    def settle(self, ctx: ScenarioContext) -> None:
        ctx.control_json("POST", f"/{NAME}/settle", {})
