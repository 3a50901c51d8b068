"""WebhookProcessor semantics, over every event store."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest
from webhook_support import (
    SECRET,
    SIGNATURE_HEADER,
    AcmePlugin,
    AcmeProvider,
    ManualClock,
    StoreFactory,
    event_body,
    signed,
)

from paywire import ConfigurationError, EventType, Paywire, WebhookEvent, to_json_dict
from paywire.webhooks import (
    DEFAULT_STORE_PATH,
    Defer,
    EventStore,
    InMemoryEventStore,
    NewEvent,
    SQLiteEventStore,
    WebhookProcessor,
    WebhookResult,
)


@pytest.fixture
def processor(store: EventStore, acme: AcmeProvider) -> WebhookProcessor:
    return WebhookProcessor({"acme": acme}, store)


def deliver(processor: WebhookProcessor, body: bytes, provider: str = "acme") -> WebhookResult:
    return processor.process(provider, body, signed(body))


def test_a_new_event_is_processed_once(processor: WebhookProcessor, store: EventStore) -> None:
    seen: list[tuple[str, WebhookEvent]] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: seen.append(("paid", e)))
    processor.on(EventType.REFUND_SUCCEEDED)(lambda e: seen.append(("refund", e)))
    processor.on_any(lambda e: seen.append(("any", e)))
    body = event_body("evt_1", invoice="INV-1", amount="12.50", currency="EUR")

    result = deliver(processor, body)

    assert (result.status_code, result.outcome, result.ok) == (200, "processed", True)
    assert result.event is not None
    assert (result.event.id, result.event.invoice_id, result.event.type) == (
        "evt_1",
        "INV-1",
        EventType.PAYMENT_SUCCEEDED,
    )
    assert [(name, e.id) for name, e in seen] == [("paid", "evt_1"), ("any", "evt_1")]
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.status == "processed"
    assert stored.raw_body == body
    assert stored.event == result.event
    assert stored.event_json is not None
    # The provider's payload is the raw body: stored once, not again inside the event's JSON.
    stored_json = json.loads(stored.event_json)
    assert stored_json["data"] == "$raw_body"
    # Fields left at None are not written either.
    written = {
        k: v
        for k, v in to_json_dict(result.event).items()
        if v is not None and not (k == "method_saved" and v is False)
    }
    assert stored_json == {**written, "data": "$raw_body"}
    assert "refund_id" not in stored_json
    assert stored.event.data == json.loads(body)


def test_event_data_that_is_not_the_payload_is_stored_as_is(
    store: EventStore, acme: AcmeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    normalize = acme.handle_webhook_event

    def trimmed(payload: Mapping[str, Any]) -> WebhookEvent:
        return attrs.evolve(normalize(payload), data={"kept": "only this"})

    monkeypatch.setattr(acme, "handle_webhook_event", trimmed)
    processor = WebhookProcessor({"acme": acme}, store)
    result = deliver(processor, event_body("evt_2"))
    stored = store.get("acme", "evt_2")
    assert stored is not None
    assert stored.event_json is not None
    assert json.loads(stored.event_json)["data"] == {"kept": "only this"}
    assert stored.event == result.event


def test_a_duplicate_is_answered_2xx_without_running_handlers(processor: WebhookProcessor) -> None:
    calls = Counter[str]()
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: calls.update([e.id]))
    body = event_body("evt_1")
    assert deliver(processor, body).outcome == "processed"
    again = deliver(processor, body)
    assert (again.status_code, again.outcome) == (200, "duplicate")
    assert again.event is not None
    assert again.event.id == "evt_1"
    # A redelivery whose body differs (say, re-serialized) is still the same event.
    assert deliver(processor, event_body("evt_1", invoice="changed")).outcome == "duplicate"
    assert calls == Counter({"evt_1": 1})


def test_a_failing_handler_leaves_the_event_pending_until_a_redelivery_succeeds(
    processor: WebhookProcessor, store: EventStore
) -> None:
    attempts: list[str] = []
    fail = True

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def flaky(event: WebhookEvent) -> None:
        attempts.append(event.id)
        if fail:
            raise RuntimeError("database is down, key sk_test_abcdefghijkl")

    body = event_body("evt_1")
    first = deliver(processor, body)
    assert (first.status_code, first.outcome, first.ok) == (500, "handler_failed", False)
    assert first.error is not None
    assert first.error.startswith("RuntimeError: database is down")
    assert "sk_test_abcdefghijkl" not in first.error
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert (stored.status, stored.last_error, stored.lease_until) == ("pending", first.error, None)
    assert [e.event_id for e in processor.pending()] == ["evt_1"]

    fail = False
    second = deliver(processor, body)
    assert (second.status_code, second.outcome) == (200, "processed")
    assert deliver(processor, body).outcome == "duplicate"
    assert attempts == ["evt_1", "evt_1"]
    assert processor.pending() == []


def test_the_providers_follow_up_runs_before_the_handlers_and_is_retried(
    processor: WebhookProcessor, acme: AcmeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider's own step (PayPal capturing an approved order) runs first; when it fails the
    event stays pending and a redelivery runs both again, as with a failing handler."""
    order: list[str] = []
    broken = True

    def follow_up(event: WebhookEvent) -> None:
        order.append(f"follow_up:{event.id}")
        if broken:
            raise ConnectionError("the provider timed out")

    monkeypatch.setattr(acme, "follow_up", follow_up)
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: order.append(f"handler:{e.id}"))
    body = event_body("evt_9")
    first = deliver(processor, body)
    assert (first.status_code, first.outcome) == (500, "handler_failed")
    assert first.error == "ConnectionError: the provider timed out"
    assert order == ["follow_up:evt_9"]
    broken = False
    assert deliver(processor, body).outcome == "processed"
    assert order == ["follow_up:evt_9", "follow_up:evt_9", "handler:evt_9"]
    assert deliver(processor, body).outcome == "duplicate"
    assert len(order) == 3


def test_a_later_handler_failing_retries_the_whole_event(processor: WebhookProcessor) -> None:
    calls: list[str] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: calls.append("first"))

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def second(event: WebhookEvent) -> None:
        calls.append("second")
        if calls.count("second") == 1:
            raise ValueError("not yet")

    body = event_body("evt_1")
    assert deliver(processor, body).outcome == "handler_failed"
    assert deliver(processor, body).outcome == "processed"
    assert calls == ["first", "second", "first", "second"]


def test_an_invalid_signature_is_400_and_nothing_is_stored(
    processor: WebhookProcessor, store: EventStore
) -> None:
    calls: list[WebhookEvent] = []
    processor.on_any(calls.append)
    body = event_body("evt_1")
    for headers in (
        {},
        {SIGNATURE_HEADER: "00" * 32},
        signed(body, secret="another-secret"),
        signed(body + b" "),
    ):
        result = processor.process("acme", body, headers)
        assert (result.status_code, result.outcome, result.event) == (
            400,
            "invalid_signature",
            None,
        )
    assert store.get("acme", "evt_1") is None
    assert processor.pending() == []
    assert calls == []


def test_an_unknown_event_type_is_recorded_as_ignored_and_answered_2xx(
    processor: WebhookProcessor, store: EventStore
) -> None:
    calls: list[WebhookEvent] = []
    processor.on_any(calls.append)
    body = event_body("evt_9", raw_type="account.updated")
    key = "sha256:" + hashlib.sha256(body).hexdigest()

    first = deliver(processor, body)
    again = deliver(processor, body)

    assert (first.status_code, first.outcome, first.event_id) == (200, "unknown_event", key)
    assert (again.status_code, again.outcome) == (200, "unknown_event")
    stored = store.get("acme", key)
    assert stored is not None
    assert (stored.status, stored.event_type, stored.raw_body) == (
        "ignored",
        "account.updated",
        body,
    )
    assert calls == []
    assert processor.pending() == []


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"text"'])
def test_signed_json_that_is_not_an_event_is_ignored(
    processor: WebhookProcessor, store: EventStore, body: bytes
) -> None:
    result = deliver(processor, body)
    assert (result.status_code, result.outcome) == (200, "unknown_event")
    assert result.event_id is not None
    stored = store.get("acme", result.event_id)
    assert stored is not None
    assert stored.status == "ignored"


@pytest.mark.parametrize("body", [b"not json at all", b"\xff\xfe"])
def test_a_signed_body_that_is_not_json_is_rejected_as_malformed(
    processor: WebhookProcessor, store: EventStore, body: bytes
) -> None:
    result = deliver(processor, body)
    assert (result.status_code, result.outcome) == (400, "malformed")
    assert result.event_id is not None
    stored = store.get("acme", result.event_id)
    assert stored is not None
    assert (stored.status, stored.raw_body) == ("rejected", body)


def test_events_out_of_order_are_both_processed(
    processor: WebhookProcessor, store: EventStore, clock: ManualClock
) -> None:
    paid: set[str] = set()
    handled: list[str] = []

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def payment(event: WebhookEvent) -> None:
        assert event.transaction_id is not None
        paid.add(event.transaction_id)
        handled.append(event.id)

    @processor.on(EventType.REFUND_SUCCEEDED)
    def refund(event: WebhookEvent) -> None:
        if event.transaction_id not in paid:
            raise Defer(f"refund {event.id} before payment {event.transaction_id}")
        handled.append(event.id)

    refund_body = event_body("evt_refund", raw_type="refund.processed", transaction="tx_1")
    early = deliver(processor, refund_body)
    # Not acknowledged: the provider keeps it coming until it is done.
    assert (early.status_code, early.outcome, early.ok) == (409, "deferred", False)
    assert early.error == "refund evt_refund before payment tx_1"
    stored = store.get("acme", "evt_refund")
    assert stored is not None
    assert stored.status == "deferred"
    # The provider may deliver the refund again before the payment: still deferred, and now
    # retried automatically only once replay_backoff has passed since that second try.
    assert deliver(processor, refund_body).outcome == "deferred"
    clock.advance(processor.replay_backoff)

    payment_result = deliver(processor, event_body("evt_pay", transaction="tx_1"))
    assert payment_result.outcome == "processed"
    assert [(r.event_id, r.outcome) for r in payment_result.replayed] == [
        ("evt_refund", "processed")
    ]
    assert handled == ["evt_pay", "evt_refund"]
    assert processor.pending() == []
    assert deliver(processor, refund_body).outcome == "duplicate"


def test_deferred_events_wait_for_replay_when_automatic_replay_is_off(
    store: EventStore, acme: AcmeProvider
) -> None:
    processor = WebhookProcessor({"acme": acme}, store, replay_deferred=0)
    ready = False
    handled: list[str] = []

    @processor.on(EventType.REFUND_SUCCEEDED)
    def refund(event: WebhookEvent) -> None:
        if not ready:
            raise Defer
        handled.append(event.id)

    assert deliver(processor, event_body("evt_r", raw_type="refund.processed")).outcome == (
        "deferred"
    )
    assert deliver(processor, event_body("evt_p")).replayed == ()
    assert [(e.event_id, e.status, e.last_error) for e in processor.pending()] == [
        ("evt_r", "deferred", "deferred by handler")
    ]
    ready = True
    results = processor.replay_pending()
    assert [(r.event_id, r.outcome, r.status_code) for r in results] == [
        ("evt_r", "processed", 200)
    ]
    assert handled == ["evt_r"]
    assert processor.replay_pending() == []


def test_replay_pending_retries_failed_events_without_a_redelivery(
    processor: WebhookProcessor,
) -> None:
    failing = {"evt_1", "evt_2"}
    handled: list[WebhookEvent] = []

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def handler(event: WebhookEvent) -> None:
        if event.id in failing:
            raise RuntimeError("temporarily broken")
        handled.append(event)

    originals = {}
    for event_id in ("evt_1", "evt_2", "evt_3"):
        result = deliver(processor, event_body(event_id, amount="5", invoice=f"INV-{event_id}"))
        originals[event_id] = result.event
    assert [e.event_id for e in processor.pending()] == ["evt_1", "evt_2"]

    failing.clear()
    results = processor.replay_pending(limit=1)
    assert [(r.event_id, r.outcome) for r in results] == [("evt_1", "processed")]
    results = processor.replay_pending("acme")
    assert [(r.event_id, r.outcome) for r in results] == [("evt_2", "processed")]
    # The replayed events are the very events that were delivered, rebuilt from the store.
    assert [e for e in handled if e.id != "evt_3"] == [originals["evt_1"], originals["evt_2"]]
    assert processor.pending() == []


def test_concurrent_deliveries_of_one_event_run_the_handler_once(
    processor: WebhookProcessor,
) -> None:
    calls = Counter[str]()
    lock = threading.Lock()

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def slow(event: WebhookEvent) -> None:
        with lock:
            calls.update([event.id])
        time.sleep(0.05)  # long enough for every other delivery to arrive meanwhile

    body = event_body("evt_1")
    threads = 8
    barrier = threading.Barrier(threads)

    def one(_: int) -> str:
        barrier.wait()
        return deliver(processor, body).outcome

    with ThreadPoolExecutor(threads) as pool:
        outcomes = Counter(pool.map(one, range(threads)))
    assert calls == Counter({"evt_1": 1})
    assert outcomes["processed"] == 1
    assert outcomes["in_progress"] + outcomes["duplicate"] == threads - 1
    # What a provider does after a 409: deliver again later. It is then a duplicate.
    assert deliver(processor, body).outcome == "duplicate"
    assert calls == Counter({"evt_1": 1})


def test_a_delivery_during_another_ones_handlers_is_409(processor: WebhookProcessor) -> None:
    body = event_body("evt_1")
    inner: list[tuple[int, str]] = []

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def reenter(event: WebhookEvent) -> None:
        result = deliver(processor, body)
        inner.append((result.status_code, result.outcome))

    assert deliver(processor, body).outcome == "processed"
    assert inner == [(409, "in_progress")]


def test_an_expired_lease_lets_another_delivery_take_over(
    make_store: StoreFactory,
    acme: AcmeProvider,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor = WebhookProcessor({"acme": acme}, make_store(), lease_seconds=30)
    body = event_body("evt_1")
    outcomes: list[str] = []
    runs: list[str] = []

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def stuck(event: WebhookEvent) -> None:
        runs.append(event.id)
        if len(runs) == 1:
            clock.advance(31)  # this holder is presumed dead; a redelivery arrives
            outcomes.append(deliver(processor, body).outcome)

    with caplog.at_level(logging.WARNING, logger="paywire.webhooks"):
        first = deliver(processor, body)
    assert outcomes == ["processed"]
    assert runs == ["evt_1", "evt_1"]
    # The late holder's result does not overwrite the takeover's.
    assert first.outcome == "processed"
    assert "lease" in caplog.text
    assert deliver(processor, body).outcome == "duplicate"


def test_a_stored_event_that_cannot_be_rebuilt_stays_pending(
    acme: AcmeProvider, store: EventStore
) -> None:
    processor = WebhookProcessor({"acme": acme}, store)
    # A pending event whose JSON has a schema from elsewhere.
    record = NewEvent("acme", "evt_1", "payment.succeeded", '{"id": "evt_1"}', event_body("evt_1"))
    claim = store.record_and_claim(record, lease_seconds=60)
    assert claim.token is not None
    assert store.finish("acme", "evt_1", claim.token, status="pending", error="RuntimeError: fail")
    results = processor.replay_pending()
    assert [(r.event_id, r.outcome, r.status_code) for r in results] == [
        ("evt_1", "handler_failed", 500)
    ]
    (stored,) = processor.pending()
    assert stored.last_error is not None
    assert stored.last_error.startswith("cannot rebuild the stored event")


def test_handlers_are_listed_in_order(processor: WebhookProcessor) -> None:
    def a(event: WebhookEvent) -> None: ...
    def b(event: WebhookEvent) -> None: ...
    def c(event: WebhookEvent) -> None: ...

    assert processor.on(EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED)(a) is a
    assert processor.on_any(b) is b
    processor.on(EventType.PAYMENT_SUCCEEDED)(c)
    assert processor.handlers_for(EventType.PAYMENT_SUCCEEDED) == [a, c, b]
    assert processor.handlers_for(EventType.PAYMENT_FAILED) == [a, b]
    assert processor.handlers_for(EventType.DISPUTE_OPENED) == [b]
    with pytest.raises(TypeError):
        processor.on()
    with pytest.raises(TypeError):
        processor.on("payment.succeeded")  # type: ignore[arg-type]


def test_processing_through_paywire_uses_the_configured_secret(store: EventStore) -> None:
    with Paywire(
        plugins=[("acme", AcmePlugin())],
        load_entry_points=False,
        settings={"acme": {"webhook_secret": SECRET}},
        environ={},
    ) as paywire:
        processor = WebhookProcessor(paywire, store)
        assert deliver(processor, event_body("evt_1")).outcome == "processed"
        with pytest.raises(ConfigurationError, match="no provider 'stripe'"):
            deliver(processor, event_body("evt_1"), provider="stripe")


def test_an_unknown_provider_name_is_a_configuration_error(processor: WebhookProcessor) -> None:
    with pytest.raises(ConfigurationError, match="known: acme"):
        deliver(processor, event_body("evt_1"), provider="nope")
    with pytest.raises(ConfigurationError):
        processor.asgi("nope")
    with pytest.raises(ConfigurationError):
        processor.wsgi("nope")


def test_bad_settings_are_refused(acme: AcmeProvider) -> None:
    store = InMemoryEventStore()
    with pytest.raises(ConfigurationError):
        WebhookProcessor({"acme": acme}, store, lease_seconds=0)
    with pytest.raises(ConfigurationError):
        WebhookProcessor({"acme": acme}, store, replay_deferred=-1)


def test_the_default_store_is_sqlite_in_the_current_directory(
    acme: AcmeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with WebhookProcessor({"acme": acme}) as processor:
        assert isinstance(processor.store, SQLiteEventStore)
        assert "SQLiteEventStore" in repr(processor)
        assert deliver(processor, event_body("evt_1")).outcome == "processed"
    assert (tmp_path / DEFAULT_STORE_PATH).exists()
    # A second processor (a restart) sees the event as already processed.
    with WebhookProcessor({"acme": acme}) as processor:
        assert deliver(processor, event_body("evt_1")).outcome == "duplicate"


def test_a_store_given_to_the_processor_stays_open(acme: AcmeProvider, tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    with WebhookProcessor({"acme": acme}, store) as processor:
        deliver(processor, event_body("evt_1"))
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.status == "processed"
    store.close()


def test_an_event_that_keeps_deferring_is_retried_with_backoff(
    store: EventStore, acme: AcmeProvider, clock: ManualClock
) -> None:
    processor = WebhookProcessor({"acme": acme}, store, replay_backoff=10)
    tries: list[float] = []

    @processor.on(EventType.REFUND_SUCCEEDED)
    def never_ready(event: WebhookEvent) -> None:
        tries.append(clock.now)
        raise Defer("waiting for a payment that never comes")

    start = clock.now
    assert deliver(processor, event_body("evt_r", raw_type="refund.processed")).outcome == (
        "deferred"
    )
    # Retried at once after the first try, then after 10 s, then after 30 s more.
    for i in range(60):
        clock.advance(1)
        deliver(processor, event_body(f"evt_p{i}"))
    assert [t - start for t in tries] == [0, 1, 11, 41]
    # An explicit replay does not wait.
    assert [r.outcome for r in processor.replay_pending()] == ["deferred"]
    assert len(tries) == 5


def test_a_deferred_event_whose_retry_fails_stays_deferred(
    processor: WebhookProcessor, store: EventStore
) -> None:
    state = {"ready": False, "broken": False}
    handled: list[str] = []

    @processor.on(EventType.REFUND_SUCCEEDED)
    def refund(event: WebhookEvent) -> None:
        if not state["ready"]:
            raise Defer
        if state["broken"]:
            raise RuntimeError("database is down")
        handled.append(event.id)

    assert deliver(processor, event_body("evt_r", raw_type="refund.processed")).outcome == (
        "deferred"
    )
    state.update(ready=True, broken=True)
    result = deliver(processor, event_body("evt_p"))
    assert [(r.event_id, r.outcome) for r in result.replayed] == [("evt_r", "handler_failed")]
    # It stays deferred (with the error), so that automatic replay keeps trying it.
    stored = store.get("acme", "evt_r")
    assert stored is not None
    assert (stored.status, stored.last_error) == ("deferred", "RuntimeError: database is down")
    state["broken"] = False
    assert [(r.event_id, r.outcome) for r in processor.replay_pending()] == [("evt_r", "processed")]
    assert handled == ["evt_r"]


def test_every_answer_comes_after_its_outcome_is_stored(
    make_store: StoreFactory, acme: AcmeProvider
) -> None:
    # A second handle on the same database sees what the answer promises — as another process
    # would the moment the provider has been told.
    processor = WebhookProcessor({"acme": acme}, make_store())
    other = make_store()
    outcomes = iter(["fail", "defer", "ok"])

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def flaky(event: WebhookEvent) -> None:
        step = next(outcomes)
        if step == "fail":
            raise RuntimeError("boom")
        if step == "defer":
            raise Defer("not yet")

    body = event_body("evt_1")
    expected = [
        (500, "handler_failed", "pending"),
        (409, "deferred", "deferred"),
        (200, "processed", "processed"),
    ]
    for code, outcome, status in expected:
        result = deliver(processor, body)
        assert (result.status_code, result.outcome) == (code, outcome)
        stored = other.get("acme", "evt_1")
        assert stored is not None
        assert stored.status == status
        assert stored.lease_until is None
    assert deliver(processor, body).outcome == "duplicate"
