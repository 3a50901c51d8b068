"""The processor on the provider interface of API 1.1: several secrets, providers that parse their
own bodies, notifications that only name a resource (fetched, and for some providers
authenticated by that fetch), follow-ups that complete the event, and the async path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from webhook_support import SECRET, AcmeProvider, StoreFactory, event_body, signed

from paywire import (
    EventReference,
    EventType,
    MalformedWebhook,
    NotFound,
    ProviderConfig,
    Secret,
    WebhookEvent,
)
from paywire.plugin import parse_form_body
from paywire.webhooks import EventStore, InMemoryEventStore, WebhookProcessor


def test_every_configured_secret_is_tried(store: EventStore) -> None:
    rotated = AcmeProvider.create(
        ProviderConfig(webhook_secret=Secret("new-secret"), webhook_secrets=(Secret(SECRET),))
    )
    processor = WebhookProcessor({"acme": rotated}, store)
    body = event_body("evt_old_key")
    assert processor.process("acme", body, signed(body)).outcome == "processed"
    assert processor.process("acme", body, signed(body, "wrong")).outcome == "invalid_signature"
    rotated.close()


class FormProvider(AcmeProvider):
    """Form-encoded bodies whose event id travels in a header."""

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        form = parse_form_body(body, provider=self.name)
        return WebhookEvent(
            provider=self.name,
            id=headers["x-acme-event"],
            type=EventType.PAYMENT_SUCCEEDED,
            raw_type="payment.captured",
            invoice_id=form.get("invoice"),
            data=form,
        )


def test_a_provider_parses_its_own_body_and_sees_the_headers(store: EventStore) -> None:
    provider = FormProvider.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    processor = WebhookProcessor({"acme": provider}, store)
    seen: list[WebhookEvent] = []
    processor.on_any(seen.append)
    body = b"invoice=INV-7&amount=10"
    headers = {**signed(body), "x-acme-event": "evt_form"}
    assert processor.process("acme", body, headers).outcome == "processed"
    assert [(e.id, e.invoice_id) for e in seen] == [("evt_form", "INV-7")]
    stored = store.get("acme", "evt_form")
    assert stored is not None
    assert stored.event is not None
    assert stored.event.data == {"invoice": "INV-7", "amount": "10"}
    bad = b"invoice=%00"
    headers = {**signed(bad), "x-acme-event": "evt_bad"}
    assert processor.process("acme", bad, headers).outcome == "malformed"
    provider.close()


class FetchingProvider(AcmeProvider):
    """Notifications name a transaction; its state is read from the provider's API (here a
    dict), and that read is what authenticates it."""

    webhook_authentication: ClassVar[Any] = "fetch"
    states: ClassVar[dict[str, str]] = {}
    lookups: ClassVar[list[str]] = []
    full_events = False

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        return None  # nothing to check: the fetch decides

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> WebhookEvent | EventReference:
        resource = body.decode("utf-8", "surrogatepass").removeprefix("id=")
        if self.full_events:
            return WebhookEvent(
                provider=self.name,
                id=resource,
                type=EventType.PAYMENT_SUCCEEDED,
                raw_type="forged",
            )
        if not resource:
            raise MalformedWebhook("no id", provider=self.name)
        return EventReference(self.name, resource)

    def fetch_webhook_event(self, reference: EventReference) -> WebhookEvent:
        self.lookups.append(reference.resource_id)
        state = self.states.get(reference.resource_id)
        if state is None:
            raise NotFound("no such transaction", provider=self.name)
        return WebhookEvent(
            provider=self.name,
            id=f"{reference.resource_id}:{state}",
            type=EventType.PAYMENT_SUCCEEDED,
            raw_type=state,
            transaction_id=reference.resource_id,
        )


@pytest.fixture
def fetching() -> Any:
    FetchingProvider.states = {"tr_1": "paid"}
    FetchingProvider.lookups = []
    provider = FetchingProvider.create(ProviderConfig())
    yield provider
    provider.close()


def test_a_reference_is_fetched_and_deduplicated_on_the_resource_state(
    store: EventStore, fetching: FetchingProvider
) -> None:
    processor = WebhookProcessor({"acme": fetching}, store)
    seen: list[str] = []
    processor.on_any(lambda e: seen.append(e.id))
    assert processor.process("acme", b"id=tr_1", {}).outcome == "processed"
    assert processor.process("acme", b"id=tr_1", {}).outcome == "duplicate"
    FetchingProvider.states["tr_1"] = "refunded"
    assert processor.process("acme", b"id=tr_1", {}).outcome == "processed"
    assert seen == ["tr_1:paid", "tr_1:refunded"]
    assert FetchingProvider.lookups == ["tr_1"] * 3


def test_a_forged_notification_costs_one_lookup_and_changes_nothing(
    store: EventStore, fetching: FetchingProvider
) -> None:
    processor = WebhookProcessor({"acme": fetching}, store)
    seen: list[str] = []
    processor.on_any(lambda e: seen.append(e.id))
    with pytest.raises(NotFound):  # the endpoints answer 500; nothing was written
        processor.process("acme", b"id=tr_forged", {})
    assert FetchingProvider.lookups == ["tr_forged"]
    malformed = processor.process("acme", b"id=", {})
    assert (malformed.status_code, malformed.outcome) == (400, "malformed")
    nul = processor.process("acme", b"id=tr\x00x", {})
    assert nul.outcome == "malformed"
    assert FetchingProvider.lookups == ["tr_forged"]  # an invalid id is never looked up
    assert seen == []
    assert store.events() == []  # nothing of an unauthenticated body is stored


def test_a_full_event_from_a_fetch_authenticated_provider_is_refused(
    store: EventStore, fetching: FetchingProvider, caplog: pytest.LogCaptureFixture
) -> None:
    fetching.full_events = True
    processor = WebhookProcessor({"acme": fetching}, store)
    seen: list[str] = []
    processor.on_any(lambda e: seen.append(e.id))
    with caplog.at_level(logging.ERROR, logger="paywire.webhooks"):
        result = processor.process("acme", b"id=tr_1", {})
    assert (result.status_code, result.outcome) == (400, "refused")
    assert "authenticated by fetching" in caplog.text
    assert seen == []
    assert store.events() == []
    assert FetchingProvider.lookups == []


def test_handlers_get_the_event_the_follow_up_completed(store: EventStore) -> None:
    class Completing(AcmeProvider):
        def follow_up(self, event: WebhookEvent) -> WebhookEvent | None:
            if event.type is EventType.PAYMENT_SUCCEEDED:
                return WebhookEvent(
                    provider=event.provider,
                    id=event.id,
                    type=event.type,
                    raw_type=event.raw_type,
                    payment_method_id="pm_saved",
                    method_saved=True,
                )
            return None

    provider = Completing.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    processor = WebhookProcessor({"acme": provider}, store)
    seen: list[WebhookEvent] = []
    processor.on_any(seen.append)
    body = event_body("evt_1")
    assert processor.process("acme", body, signed(body)).outcome == "processed"
    refund = event_body("evt_2", raw_type="refund.processed")
    assert processor.process("acme", refund, signed(refund)).outcome == "processed"
    assert [(e.id, e.payment_method_id) for e in seen] == [("evt_1", "pm_saved"), ("evt_2", None)]
    assert seen[0].saved_payment_method is not None
    provider.close()


# -- the async path -----------------------------------------------------------------------------


def test_process_async_runs_coroutine_and_plain_handlers(
    make_store: StoreFactory, acme: AcmeProvider
) -> None:
    store = make_store()
    processor = WebhookProcessor({"acme": acme}, store)
    order: list[str] = []

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    async def first(event: WebhookEvent) -> None:
        await asyncio.sleep(0)
        order.append(f"async:{event.id}")

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def second(event: WebhookEvent) -> None:
        order.append(f"sync:{event.id}")

    @processor.on(EventType.PAYMENT_FAILED)
    async def fails(event: WebhookEvent) -> None:
        raise RuntimeError("no")

    async def go() -> list[Any]:
        body = event_body("evt_1")
        failing = event_body("evt_2", raw_type="payment.failed")
        deep = b'{"id": "x", "a": ' + b"[" * 500 + b"]" * 500 + b"}"
        results = [
            await processor.process_async("acme", body, signed(body)),
            await processor.process_async("acme", body, signed(body)),
            await processor.process_async("acme", failing, signed(failing)),
            await processor.process_async("acme", deep, signed(deep)),
            await processor.process_async("acme", b"[1]", signed(b"[1]")),
            await processor.process_async("acme", body, signed(body, "wrong")),
        ]
        await processor.aclose()
        return results

    results = asyncio.run(go())
    assert [r.outcome for r in results] == [
        "processed",
        "duplicate",
        "handler_failed",
        "malformed",
        "unknown_event",
        "invalid_signature",
    ]
    assert order == ["async:evt_1", "sync:evt_1"]
    stored = store.get("acme", "evt_2")
    assert stored is not None
    assert (stored.status, stored.last_error) == ("pending", "RuntimeError: no")


test_process_async_runs_coroutine_and_plain_handlers.store_kinds = [  # type: ignore[attr-defined]
    "memory",
    "sqlite",
    "postgres",
]


def test_the_inbox_on_the_async_path(make_store: StoreFactory, acme: AcmeProvider) -> None:
    store = make_store()
    processor = WebhookProcessor({"acme": acme}, store, mode="inbox", worker=None)
    seen: list[str] = []

    @processor.on_any
    async def handle(event: WebhookEvent) -> None:
        seen.append(event.id)

    async def go() -> list[str]:
        body = event_body("evt_1")
        outcomes: list[str] = [
            (await processor.process_async("acme", body, signed(body))).outcome for _ in range(2)
        ]
        await processor.aclose()
        return outcomes

    assert asyncio.run(go()) == ["accepted", "duplicate"]
    assert seen == []
    # A coroutine handler run by a (thread) worker: in that thread's own event loop.
    assert [r.outcome for r in processor.work()] == ["processed"]
    assert seen == ["evt_1"]


test_the_inbox_on_the_async_path.store_kinds = [  # type: ignore[attr-defined]
    "memory",
    "sqlite",
    "postgres",
]


def test_a_deferred_event_is_replayed_on_the_async_path(acme: AcmeProvider) -> None:
    from paywire.webhooks import Defer

    processor = WebhookProcessor({"acme": acme}, InMemoryEventStore())
    paid: set[str] = set()

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    async def payment(event: WebhookEvent) -> None:
        paid.add(str(event.transaction_id))

    @processor.on(EventType.REFUND_SUCCEEDED)
    async def refund(event: WebhookEvent) -> None:
        if event.transaction_id not in paid:
            raise Defer("refund before its payment")

    async def go() -> list[Any]:
        refund_body = event_body("evt_r", raw_type="refund.processed", transaction="tx")
        pay_body = event_body("evt_p", transaction="tx")
        return [
            await processor.process_async("acme", refund_body, signed(refund_body)),
            await processor.process_async("acme", pay_body, signed(pay_body)),
        ]

    deferred, processed = asyncio.run(go())
    assert deferred.outcome == "deferred"
    assert processed.outcome == "processed"
    assert [r.outcome for r in processed.replayed] == ["processed"]
