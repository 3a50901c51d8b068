"""Form-encoded notifications that carry only an id (``id=ch_…``), unsigned: the provider reads
the resource they name and says what happened from its state (``webhook_authentication =
"fetch"``; the event id is ``<resource id>:<status>``)."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from paywire import (
    EventReference,
    EventType,
    MalformedWebhook,
    NotFound,
    UnknownEvent,
    WebhookEvent,
)
from paywire.plugin import (
    Call,
    CurrencyRules,
    EventRule,
    EventRules,
    Operation,
    immediately,
    parse_form_body,
)
from paywire_contract import WebhookSample
from paywire_sandbox import WebhookEndpoint
from shapes._base import ShapeFake, ShapeHarness, ShapeProvider, charge_events

NAME = "idonly"
RULES = CurrencyRules(name=NAME, multiples={"KWD": 10})

# What a resource id's prefix says it is, and where it is read.
_KINDS: Final = {"ch": ("charge", "/v1/charges/"), "re": ("refund", "/v1/refunds/")}
_CHARGE_KINDS: Final = {
    "succeeded": EventType.PAYMENT_SUCCEEDED,
    "failed": EventType.PAYMENT_FAILED,
    "pending": EventType.PAYMENT_PENDING,
}
_REFUND_KINDS: Final = {
    "succeeded": EventType.REFUND_SUCCEEDED,
    "failed": EventType.REFUND_FAILED,
    "pending": EventType.REFUND_CREATED,
}


class IdOnlyFake(ShapeFake):
    """Notifies ``id=<resource>`` for every change, unsigned."""

    name: ClassVar[str] = NAME

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {}

    def notify(self, event_type: str, obj: Mapping[str, Any]) -> None:
        ident = str(obj.get("id") or obj.get("customer"))
        body = urllib.parse.urlencode({"id": ident}).encode()
        self.ctx.webhooks.emit(NAME, f"{ident}:{obj.get('status')}", event_type, body)

    def checkout_paid(self, session: Mapping[str, Any], charge: Mapping[str, Any]) -> None:
        self.notify("charge", charge)
        if charge.get("customer"):
            self.notify("customer", {"id": charge["customer"]})


def _rules() -> EventRules:
    read = charge_events(RULES)
    return EventRules(
        NAME,
        {
            "charge": EventRule(
                lambda obj: _CHARGE_KINDS[str(obj["status"])], read["payment.succeeded"].read
            ),
            "refund": EventRule(
                lambda obj: _REFUND_KINDS[str(obj["status"])], read["refund.succeeded"].read
            ),
        },
    )


class IdOnlyProvider(ShapeProvider):
    """Parses notifications into references and fetches what they name."""

    name: ClassVar[str] = NAME
    currency_rules: ClassVar[CurrencyRules] = RULES
    events: ClassVar[EventRules] = _rules()
    webhook_authentication = "fetch"

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        return immediately(None)  # nothing to check: the fetch decides

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> WebhookEvent | EventReference:
        form = parse_form_body(body, provider=self.name)
        ident = form.get("id")
        if not ident:
            raise MalformedWebhook("a notification without an id", provider=self.name)
        prefix = ident.split("_", 1)[0]
        if prefix not in _KINDS:
            raise UnknownEvent(
                f"{prefix!r} resources are not mapped", provider=self.name, event_type=prefix
            )
        kind = _KINDS[prefix][0]
        if "no_fetch" in self.bugs or ("trust_notification" in self.bugs and form.get("status")):
            return WebhookEvent(
                provider=self.name,
                id=f"{ident}:{form.get('status', 'notified')}",
                type=EventType.PAYMENT_SUCCEEDED,
                raw_type=kind,
                transaction_id=ident,
            )
        return EventReference(self.name, ident, kind=kind)

    def op_fetch_event(self, reference: EventReference) -> Operation[WebhookEvent]:
        kind, path = _KINDS[reference.resource_id.split("_", 1)[0]]
        try:
            reply = yield Call.get(path + reference.resource_id, operation="fetch")
        except NotFound:
            if "missing_as_pending" not in self.bugs:
                raise
            return WebhookEvent(
                provider=self.name,
                id=f"{reference.resource_id}:missing",
                type=EventType.PAYMENT_PENDING,
                raw_type=kind,
            )
        obj = reply.data
        event_id = f"{obj['id']}:{obj['status']}"
        if "event_id_random" in self.bugs:
            event_id += f":{uuid.uuid4().hex[:8]}"
        return self.events.normalize(kind, obj, event_id=event_id)


class IdOnlyHarness(ShapeHarness):
    """The id-only notification shape's harness."""

    provider_name: ClassVar[str] = NAME
    provider_class: ClassVar[type[ShapeProvider]] = IdOnlyProvider
    checkout_events = "single"

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        return {}

    def webhook_samples(
        self,
    ) -> Sequence[tuple[Mapping[str, Any] | WebhookSample, EventType]]:
        return [
            (WebhookSample(b"id=ch_sample1"), EventType.PAYMENT_SUCCEEDED),
            (WebhookSample(b"id=re_sample1"), EventType.REFUND_SUCCEEDED),
        ]

    def unknown_event(self) -> Mapping[str, Any] | WebhookSample:
        return WebhookSample(b"id=cus_sample1")
