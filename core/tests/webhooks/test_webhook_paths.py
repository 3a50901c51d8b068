"""The processor's less travelled paths: odd provider answers, both paths of every branch, the
embedded worker when the store fails, closing."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from webhook_support import SECRET, AcmeProvider, event_body, signed

from paywire import (
    EventReference,
    EventType,
    ProviderConfig,
    Secret,
    UnknownEvent,
    WebhookEvent,
)
from paywire.webhooks import EmbeddedWorker, EventStore, InMemoryEventStore, WebhookProcessor
from paywire.webhooks import _processor as processor_module


def _acme(cls: type[AcmeProvider]) -> AcmeProvider:
    return cls.create(ProviderConfig(webhook_secret=Secret(SECRET)))


class Odd(AcmeProvider):
    """Answers what the test sets in ``answer``."""

    answer: ClassVar[Any] = None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Any:
        answer = type(self).answer
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _event(**fields: Any) -> WebhookEvent:
    values: dict[str, Any] = {
        "provider": "acme",
        "id": "evt_odd",
        "type": EventType.PAYMENT_SUCCEEDED,
        "raw_type": "payment.captured",
    }
    values.update(fields)
    return WebhookEvent(**values)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (RecursionError("deep"), "malformed"),
        (_event(raw_type="pay\x00ment"), "malformed"),
        (_event(customer_id="cus\ud800"), "malformed"),
        (_event(data={"when": object()}), "malformed"),
        (_event(created_at=datetime(2026, 1, 2, tzinfo=UTC)), "processed"),
        (_event(data={"a": 1}), "processed"),
    ],
)
def test_what_a_provider_parses_is_checked_before_it_is_stored(
    store: EventStore, answer: Any, outcome: str
) -> None:
    Odd.answer = answer
    provider = _acme(Odd)
    processor = WebhookProcessor({"acme": provider}, store)
    body = b'{"not": "the data"}'
    result = processor.process("acme", body, signed(body))
    assert result.outcome == outcome
    if outcome == "processed":
        stored = store.get("acme", "evt_odd")
        assert stored is not None
        assert stored.event == answer  # rebuilt exactly, data and time included
    provider.close()


def test_a_parser_returning_something_else_is_a_bug_not_an_event() -> None:
    Odd.answer = {"id": "evt"}
    provider = _acme(Odd)
    processor = WebhookProcessor({"acme": provider}, InMemoryEventStore())
    with pytest.raises(TypeError, match="not an event"):
        processor.process("acme", b"{}", signed(b"{}"))
    provider.close()


def test_only_the_last_rejected_bodies_are_remembered(
    acme: AcmeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processor_module, "_REMEMBERED_REJECTS", 2)
    processor = WebhookProcessor({"acme": acme}, InMemoryEventStore())
    bodies = [b"{bad %d" % n for n in range(3)]
    for body in bodies:
        assert processor.process("acme", body, signed(body)).outcome == "malformed"
    assert [key[1] for key in processor._rejected] == [
        hashlib.sha256(b).digest() for b in bodies[1:]
    ]


class AsyncFetching(AcmeProvider):
    webhook_authentication: ClassVar[Any] = "fetch"
    full = False

    def verify_webhook_signature(self, *args: Any, **kwargs: Any) -> None:
        return None

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Any:
        if body == b"unknown":
            raise UnknownEvent("no", provider=self.name, event_type="x\x00")
        if self.full:
            return _event()
        return EventReference(self.name, body.decode())

    async def fetch_webhook_event_async(self, reference: EventReference) -> WebhookEvent:
        await asyncio.sleep(0)
        return _event(id=f"{reference.resource_id}:paid")

    async def follow_up_async(self, event: WebhookEvent) -> WebhookEvent | None:
        return _event(id=event.id, invoice_id="INV-followed")


def test_the_async_path_fetches_refuses_and_follows_up(acme: AcmeProvider) -> None:
    provider = AsyncFetching.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    store = InMemoryEventStore()
    processor = WebhookProcessor({"acme": provider}, store)
    seen: list[WebhookEvent] = []

    @processor.on_any
    def handle(event: WebhookEvent) -> Any:
        seen.append(event)
        return asyncio.sleep(0)  # a plain function returning an awaitable: awaited too

    async def go() -> list[str]:
        outcomes: list[str] = [
            (await processor.process_async("acme", b"tr_1", {})).outcome,
            (await processor.process_async("acme", b"tr_1", {})).outcome,
            (await processor.process_async("acme", b"unknown", {})).outcome,
        ]
        provider.full = True
        outcomes.append((await processor.process_async("acme", b"tr_2", {})).outcome)
        return outcomes

    assert asyncio.run(go()) == ["processed", "duplicate", "unknown_event", "refused"]
    assert [(e.id, e.invoice_id) for e in seen] == [("tr_1:paid", "INV-followed")]
    assert store.events() == [store.get("acme", "tr_1:paid")]
    provider.close()


def test_the_async_path_answers_known_rejects_and_dispatches(acme: AcmeProvider) -> None:
    store = InMemoryEventStore()
    processor = WebhookProcessor({"acme": acme}, store, mode="inbox", worker=None)
    dispatched: list[tuple[str, str]] = []

    async def dispatch(provider: str, event_id: str) -> None:
        dispatched.append((provider, event_id))

    processor.dispatch_async = dispatch

    async def go() -> list[str]:
        body = event_body("evt_1")
        return [
            (await processor.process_async("acme", b"{x", signed(b"{x"))).outcome,
            (await processor.process_async("acme", b"{x", signed(b"{x"))).outcome,
            (await processor.process_async("acme", body, signed(body))).outcome,
            (await processor.process_async("acme", body, signed(body))).outcome,
        ]

    assert asyncio.run(go()) == ["malformed", "malformed", "accepted", "duplicate"]
    assert dispatched == [("acme", "evt_1")]


def test_run_event_takes_only_open_events(acme: AcmeProvider) -> None:
    processor = WebhookProcessor({"acme": acme}, InMemoryEventStore(), mode="inbox", worker=None)
    body = event_body("evt_1")
    processor.process("acme", body, signed(body))
    first = processor.run_event("acme", "evt_1")
    assert first is not None
    assert first.outcome == "processed"
    assert processor.run_event("acme", "evt_1") is None
    assert processor.run_event("acme", "evt_unknown") is None


def test_a_stored_event_without_json_is_dead_in_the_inbox(acme: AcmeProvider) -> None:
    from paywire.webhooks import NewEvent

    store = InMemoryEventStore()
    processor = WebhookProcessor({"acme": acme}, store, mode="inbox", worker=None, max_attempts=1)
    store.enqueue(NewEvent("acme", "evt_1", "payment.succeeded", None, b"{}"))
    (result,) = processor.work()
    assert result.outcome == "dead"
    assert (
        result.error
        == "cannot rebuild the stored event: ValueError: the stored event has no event JSON"
    )


def test_the_embedded_worker_survives_a_failing_store(
    acme: AcmeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    class Flaky(InMemoryEventStore):
        fail = True

        def claim_pending(self, **kwargs: Any) -> Any:
            if self.fail:
                self.fail = False
                raise OSError("database unreachable")
            return super().claim_pending(**kwargs)

    store = Flaky()
    processor = WebhookProcessor({"acme": acme}, store, mode="inbox", worker=None)
    ran: list[str] = []
    processor.on_any(lambda e: ran.append(e.id))
    body = event_body("evt_1")
    processor.process("acme", body, signed(body))
    worker = EmbeddedWorker(processor, threads=1, poll_interval=0.01)
    assert repr(worker) == "<EmbeddedWorker threads=1 alive=False>"
    with caplog.at_level(logging.ERROR, logger="paywire.webhooks"):
        worker.start()
        deadline = time.monotonic() + 10
        while not ran and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.stop(5)
    assert ran == ["evt_1"]
    assert "could not claim events" in caplog.text
    assert worker.counts == {"processed": 1}
    assert not worker.alive()


def test_closing_stops_the_worker_and_closes_the_default_store(
    acme: AcmeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    processor = WebhookProcessor({"acme": acme}, mode="inbox")
    body = event_body("evt_1")
    assert processor.process("acme", body, signed(body)).outcome == "accepted"
    worker = processor._worker
    assert worker is not None
    assert processor.start_worker() is worker  # one per process
    asyncio.run(processor.aclose())
    assert not worker.alive()
    from paywire import ConfigurationError

    with pytest.raises(ConfigurationError, match="closed"):
        processor.store.get("acme", "evt_1")
