"""Durable acknowledgements: how many events/s the inbox records and answers with full
durability, and how long an acknowledgement takes whatever the handlers cost.

    python core/benchmarks/bench_webhook_ack.py [--events 20000] [--senders 16]
                                                [--dsn DSN] [--skip-postgres]

1. Throughput: ``--senders`` threads call ``WebhookProcessor.process`` (inbox mode, no worker)
   with distinct signed events; every answer comes after the event's row is synced to disk.
   SQLite: ``synchronous=FULL`` with group commit (the rows waiting at each commit share it) —
   also with one sender, where nothing can be shared (one fsync per event). PostgreSQL: a
   throw-away cluster with its durable defaults (``fsync``, ``synchronous_commit`` on), or
   ``--dsn``.
2. Latency: 16 senders deliver 2,000 events to an inbox whose embedded worker runs handlers that
   take 0 ms, then 5 s; p50/p99 of the time to the answer (the handlers run after it).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_webhooks import SECRET, SoakProvider, sign

from paywire import EventType, ProviderConfig, Secret, WebhookEvent
from paywire.webhooks import (
    EventStore,
    PostgresEventStore,
    SQLiteEventStore,
    WebhookProcessor,
)


def _events(prefix: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    return [sign(f"pay_{prefix}{n}") for n in range(count)]


def throughput(store: EventStore, events: int, senders: int, label: str) -> float:
    provider = SoakProvider.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    processor = WebhookProcessor({"soak": provider}, store, mode="inbox", worker=None)
    items = _events(f"{label}-{senders}-", events)

    def send(item: tuple[bytes, dict[str, str]]) -> str:
        return processor.process("soak", *item).outcome

    group = getattr(store, "_group", None)
    commits0 = group.commits if group is not None else 0
    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        outcomes = list(pool.map(send, items, chunksize=16))
    elapsed = time.perf_counter() - started
    assert outcomes == ["accepted"] * events, set(outcomes)
    rate = events / elapsed
    shared = ""
    if group is not None:
        commits = group.commits - commits0
        shared = f", {events / commits:.1f} events per durable commit"
    print(f"  {label}, {senders:>2} senders: {rate:>8,.0f} events/s acknowledged durably{shared}")
    provider.close()
    return rate


def latency(store: EventStore, handler_seconds: float, events: int = 2000) -> tuple[float, float]:
    provider = SoakProvider.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    processor = WebhookProcessor({"soak": provider}, store, mode="inbox", worker_threads=4)

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def slow(event: WebhookEvent) -> None:
        time.sleep(handler_seconds)

    items = _events(f"lat{handler_seconds}-", events)
    took: list[float] = []
    lock = threading.Lock()

    def send(item: tuple[bytes, dict[str, str]]) -> None:
        started = time.perf_counter()
        result = processor.process("soak", *item)
        elapsed = time.perf_counter() - started
        assert result.outcome == "accepted"
        with lock:
            took.append(elapsed)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, items))
    processor.stop_worker(timeout=0)
    provider.close()
    cuts = statistics.quantiles(took, n=100)
    return cuts[49] * 1000, cuts[98] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--dsn")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args(argv)
    logging.getLogger("paywire.webhooks").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="paywire-ack-") as folder:
        print("1. durable acknowledgements through the processor (inbox mode)")
        # enqueue() always commits with synchronous=FULL; the store's setting is for the
        # workers' claims and outcomes.
        sqlite = SQLiteEventStore(Path(folder) / "ack.sqlite3")
        throughput(sqlite, args.events, args.senders, "SQLite FULL, group commit")
        throughput(sqlite, min(args.events, 2000), 1, "SQLite FULL, group commit")
        sqlite.close()
        cluster = None
        dsn = args.dsn
        if dsn is None and not args.skip_postgres:
            from _postgres_cluster import start_cluster

            cluster = start_cluster(durable=True)
            dsn = cluster.dsn
        try:
            if dsn is not None:
                pg = PostgresEventStore(dsn, pool_size=args.senders)
                throughput(pg, args.events, args.senders, "PostgreSQL durable commit")
                throughput(pg, min(args.events, 2000), 1, "PostgreSQL durable commit")
                pg.close()
        finally:
            if cluster is not None:
                cluster.stop()
        print("2. time to the answer, handlers run by the embedded worker afterwards")
        for seconds in (0.0, 5.0):
            store = SQLiteEventStore(Path(folder) / f"lat{seconds}.sqlite3")
            p50, p99 = latency(store, seconds)
            print(f"  handlers of {seconds * 1000:>4.0f} ms: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
