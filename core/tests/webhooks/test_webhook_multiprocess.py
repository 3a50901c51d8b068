"""Several processes (spawned, as separate servers would be) deliver the same events to one SQLite
file: every event is handled exactly once."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from webhook_support import event_body, make_provider, signed

from paywire import EventType, WebhookEvent
from paywire.webhooks import SQLiteEventStore, WebhookProcessor

EVENTS = 40
WORKERS = 3


def _worker(store_path: str, ledger_path: str, seed: int, failures: int, start: Any) -> None:
    """Deliver every event, in this worker's own order, until the answer is 2xx — as a provider
    retries. The handler writes each run into the ledger (a separate SQLite file); the first
    ``failures`` runs in this process fail, so that redeliveries and takeovers happen too."""
    provider = make_provider()
    store = SQLiteEventStore(store_path)
    processor = WebhookProcessor({"acme": provider}, store, lease_seconds=30)
    ledger = sqlite3.connect(ledger_path, timeout=30, isolation_level=None)
    budget = [failures]

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def handle(event: WebhookEvent) -> None:
        if budget[0] > 0:
            budget[0] -= 1
            raise RuntimeError("injected failure")
        ledger.execute("INSERT INTO handled (event_id, pid) VALUES (?, ?)", (event.id, seed))
        time.sleep(0.002)  # widen the window in which other workers deliver the same event

    order = list(range(EVENTS))
    random.Random(seed).shuffle(order)
    start.wait(60)  # every worker is ready: deliveries overlap from the first event
    try:
        for i in order:
            body = event_body(f"evt_{i}")
            for _ in range(1000):
                if processor.process("acme", body, signed(body)).ok:
                    break
                time.sleep(0.005)
            else:
                raise AssertionError(f"evt_{i} was never acknowledged")
    finally:
        ledger.close()
        store.close()
        provider.close()


@pytest.mark.slow
def test_processes_sharing_one_sqlite_file_handle_each_event_once(tmp_path: Path) -> None:
    store_path = tmp_path / "events.sqlite3"
    ledger_path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(ledger_path) as ledger:
        ledger.execute("PRAGMA journal_mode = WAL")
        ledger.execute("CREATE TABLE handled (event_id TEXT NOT NULL, pid INTEGER NOT NULL)")
    ledger.close()
    SQLiteEventStore(store_path).close()  # the schema exists before the race starts

    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WORKERS)
    workers = [
        context.Process(target=_worker, args=(str(store_path), str(ledger_path), seed, 3, start))
        for seed in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * WORKERS

    with sqlite3.connect(ledger_path) as ledger:
        runs = ledger.execute(
            "SELECT event_id, COUNT(*) FROM handled GROUP BY event_id ORDER BY event_id"
        ).fetchall()
        by_worker = ledger.execute("SELECT COUNT(DISTINCT pid) FROM handled").fetchone()[0]
    ledger.close()
    assert sorted(runs) == sorted((f"evt_{i}", 1) for i in range(EVENTS))
    assert by_worker > 1  # the work really was shared between processes
    store = SQLiteEventStore(store_path)
    try:
        assert store.pending() == []
        statuses = {store.get("acme", f"evt_{i}").status for i in range(EVENTS)}  # type: ignore[union-attr]
        assert statuses == {"processed"}
    finally:
        store.close()
