"""Inbox mode: recorded durably and answered at once; workers run the handlers with leases,
backoff, and a dead state — over every store."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from webhook_support import AcmeProvider, ManualClock, StoreFactory, event_body, signed

from paywire import ConfigurationError, EventType, WebhookEvent
from paywire.webhooks import (
    Defer,
    EventStore,
    InMemoryEventStore,
    NewEvent,
    SQLiteEventStore,
    StoreUnavailable,
    WebhookProcessor,
)


@pytest.fixture
def inbox(store: EventStore, acme: AcmeProvider) -> WebhookProcessor:
    """An inbox processor whose worker is the test (it calls work())."""
    return WebhookProcessor({"acme": acme}, store, mode="inbox", worker=None, retry_backoff=1.0)


def deliver(processor: WebhookProcessor, event_id: str, **fields: Any) -> Any:
    body = event_body(event_id, **fields)
    return processor.process("acme", body, signed(body))


def test_an_event_is_accepted_before_any_handler_runs(
    inbox: WebhookProcessor, store: EventStore
) -> None:
    runs: list[str] = []
    inbox.on(EventType.PAYMENT_SUCCEEDED)(lambda e: runs.append(e.id))
    result = deliver(inbox, "evt_1", invoice="INV-1")
    assert (result.status_code, result.outcome, result.event_id) == (200, "accepted", "evt_1")
    assert runs == []
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert (stored.status, stored.attempts) == ("pending", 0)
    # A redelivery before or after the handlers ran is a duplicate; the handler runs once.
    assert deliver(inbox, "evt_1").outcome == "duplicate"
    (done,) = inbox.work()
    assert (done.outcome, done.event_id) == ("processed", "evt_1")
    assert done.event is not None
    assert done.event.invoice_id == "INV-1"
    assert deliver(inbox, "evt_1").outcome == "duplicate"
    assert inbox.work() == []
    assert runs == ["evt_1"]
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.status == "processed"


def test_a_failing_event_is_retried_with_backoff_then_dead(
    store: EventStore, acme: AcmeProvider, clock: ManualClock
) -> None:
    inbox = WebhookProcessor(
        {"acme": acme}, store, mode="inbox", worker=None, max_attempts=4, retry_backoff=10.0
    )
    tries: list[float] = []

    @inbox.on(EventType.PAYMENT_SUCCEEDED)
    def fails(event: WebhookEvent) -> None:
        tries.append(clock.now)
        raise RuntimeError("card service down")

    start = clock.now
    deliver(inbox, "evt_1")
    outcomes = []
    for _ in range(80):  # a worker looking every second for 80 s
        outcomes += [r.outcome for r in inbox.work()]
        clock.advance(1)
    # At once, again at the next look, then 10 s and 30 s after the last try: the 4th is the
    # last.
    assert [t - start for t in tries] == [0, 1, 11, 41]
    assert outcomes == ["handler_failed"] * 3 + ["dead"]
    (dead,) = store.events(statuses=["dead"])
    assert (dead.event_id, dead.attempts) == ("evt_1", 4)
    assert dead.last_error == "RuntimeError: card service down"
    assert store.pending() == []
    assert deliver(inbox, "evt_1").outcome == "duplicate"  # dead is not retried by a redelivery
    # An operator revives it; it runs at once.
    assert store.requeue("acme", "evt_1") == 1
    assert [r.outcome for r in inbox.work()] == ["handler_failed"]
    assert len(tries) == 5


def test_ordering_help_stays_a_refund_before_its_payment_waits(
    inbox: WebhookProcessor, store: EventStore, clock: ManualClock
) -> None:
    paid: set[str] = set()
    order: list[str] = []

    @inbox.on(EventType.PAYMENT_SUCCEEDED)
    def payment(event: WebhookEvent) -> None:
        assert event.transaction_id is not None
        paid.add(event.transaction_id)
        order.append(event.id)

    @inbox.on(EventType.REFUND_SUCCEEDED)
    def refund(event: WebhookEvent) -> None:
        if event.transaction_id not in paid:
            raise Defer("refund before its payment")
        order.append(event.id)

    deliver(inbox, "evt_refund", raw_type="refund.processed", transaction="tx_1")
    assert [r.outcome for r in inbox.work()] == ["deferred"]
    assert [r.outcome for r in inbox.work()] == ["deferred"]  # tried again at once
    assert inbox.work() == []  # then not before retry_backoff (1 s)
    clock.advance(0.1)
    deliver(inbox, "evt_pay", transaction="tx_1")
    # Once the payment is processed, the refund waiting for it is tried at once (its
    # replay_backoff, 0.05 s, is over), not a second later.
    assert [(r.event_id, r.outcome) for r in inbox.work()] == [
        ("evt_pay", "processed"),
        ("evt_refund", "processed"),
    ]
    assert order == ["evt_pay", "evt_refund"]
    assert store.pending() == []


def test_a_store_that_cannot_record_is_never_acknowledged(acme: AcmeProvider) -> None:
    class Broken(InMemoryEventStore):
        def enqueue(self, event: NewEvent) -> Any:
            raise OSError("disk I/O error")

    inbox = WebhookProcessor({"acme": acme}, Broken(), mode="inbox", worker=None)
    with pytest.raises(OSError, match="disk I/O"):  # the endpoints answer 500
        deliver(inbox, "evt_1")


def test_the_embedded_worker_runs_handlers_outside_the_request(
    store: EventStore, acme: AcmeProvider
) -> None:
    inbox = WebhookProcessor({"acme": acme}, store, mode="inbox", worker_threads=2)
    release = threading.Event()
    ran: list[str] = []

    @inbox.on(EventType.PAYMENT_SUCCEEDED)
    def slow(event: WebhookEvent) -> None:
        release.wait(10)  # a handler far slower than any provider waits
        ran.append(event.id)

    try:
        answers = [deliver(inbox, f"evt_{n}").outcome for n in range(3)]
        assert answers == ["accepted"] * 3  # answered while the handlers are blocked
        assert ran == []
        release.set()
        deadline = time.monotonic() + 10
        while len(ran) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(ran) == ["evt_0", "evt_1", "evt_2"]
        worker = inbox._worker
        assert worker is not None
        assert worker.alive()
    finally:
        inbox.close()
    assert not worker.alive()
    assert all(s.status == "processed" for s in store.events())


test_the_embedded_worker_runs_handlers_outside_the_request.store_kinds = [  # type: ignore[attr-defined]
    "memory",
    "sqlite",
    "postgres",
]


def test_prune_forgets_only_old_finished_events(
    store: EventStore, acme: AcmeProvider, clock: ManualClock
) -> None:
    inbox = WebhookProcessor({"acme": acme}, store, mode="inbox", worker=None)
    deliver(inbox, "evt_done")
    inbox.work()
    deliver(inbox, "evt_waiting")
    body = b"not json"
    inbox.process("acme", body, signed(body))  # rejected
    clock.advance(3600)
    deliver(inbox, "evt_recent")
    assert store.prune(older_than=1800) == 2  # evt_done and the rejected body
    assert sorted(e.event_id for e in store.events()) == ["evt_recent", "evt_waiting"]
    assert store.counts() == {"pending": 2}
    # Forgotten: a replay of it is new again (keep events longer than any provider replays).
    assert deliver(inbox, "evt_done").outcome == "accepted"


def test_events_lists_by_status_provider_and_failure(store: EventStore, clock: ManualClock) -> None:
    for n, event_id in enumerate(["evt_a", "evt_b", "evt_c"]):
        clock.advance(1)
        store.enqueue(NewEvent("acme" if n < 2 else "other", event_id, "t", "{}", b"{}"))
    (claimed,) = store.claim_pending(provider="acme", lease_seconds=60, limit=1)
    assert claimed.token is not None
    store.finish("acme", claimed.event_id, claimed.token, status="pending", error="boom")
    assert [e.event_id for e in store.events()] == ["evt_a", "evt_b", "evt_c"]
    assert [e.event_id for e in store.events(provider="other")] == ["evt_c"]
    assert [e.event_id for e in store.events(failed_only=True)] == ["evt_a"]
    assert [e.event_id for e in store.events(statuses=["pending"], limit=2)] == ["evt_a", "evt_b"]
    assert store.events(statuses=["dead"]) == []
    assert store.enqueue(NewEvent("acme", "evt_a", "t", "{}", b"{}")) == "pending"
    assert store.requeue("acme", statuses=["dead"]) == 0
    assert store.requeue("acme") == 2
    assert store.counts(provider="acme") == {"pending": 2}


def test_sqlite_group_commit_shares_durable_commits(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    group = store._group
    keys = [f"evt_{n}" for n in range(400)]

    def enqueue(key: str) -> Any:
        return store.enqueue(NewEvent("acme", key, "t", "{}", b"{}"))

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(enqueue, keys + keys[:50]))
    assert answers[:400] == [None] * 400
    assert answers[400:] == ["pending"] * 50
    assert group.rows == 450
    # Deliveries that waited together shared a commit (how many depends on the scheduler).
    assert group.commits < group.rows
    conn = group._conn
    assert conn is not None
    assert conn[0].execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    # Committed: another connection sees every row.
    other = sqlite3.connect(tmp_path / "e.sqlite3")
    (count,) = other.execute(f"SELECT count(*) FROM {store.table}").fetchone()  # noqa: S608
    other.close()
    assert count == 400
    store.close()


def test_sqlite_group_commit_fails_every_waiter_of_a_failed_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    (tmp_path / "e.sqlite3").unlink()
    with pytest.raises(StoreUnavailable, match="gone"):
        store.enqueue(NewEvent("acme", "evt", "t", "{}", b"{}"))
    store.close()
    with pytest.raises(ConfigurationError, match="closed"):
        store.enqueue(NewEvent("acme", "evt", "t", "{}", b"{}"))


def test_bad_inbox_settings_are_refused(acme: AcmeProvider) -> None:
    store = InMemoryEventStore()
    for bad in (
        {"mode": "later"},
        {"max_attempts": 0},
        {"worker_threads": 0},
        {"worker": "celery"},
        {"retry_backoff": -1},
    ):
        with pytest.raises(ConfigurationError):
            WebhookProcessor({"acme": acme}, store, **bad)


def test_concurrent_workers_run_each_event_once(
    make_store: StoreFactory, acme: AcmeProvider
) -> None:
    stores = [make_store() for _ in range(3)]
    processors = [WebhookProcessor({"acme": acme}, s, mode="inbox", worker=None) for s in stores]
    handled: Counter[str] = Counter()
    lock = threading.Lock()

    def handle(event: WebhookEvent) -> None:
        with lock:
            handled[event.id] += 1

    for p in processors:
        p.on_any(handle)
    for n in range(60):
        deliver(processors[n % 3], f"evt_{n}")

    def drain(p: WebhookProcessor) -> None:
        while p.work(limit=3):
            pass

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(drain, processors))
    assert handled == Counter({f"evt_{n}": 1 for n in range(60)})
