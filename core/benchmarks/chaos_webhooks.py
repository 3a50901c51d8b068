"""Chaos soak of the webhook inbox: events through the ASGI endpoint under uvicorn while worker
processes are SIGKILLed, checking that none is lost, none acknowledged before it was recorded,
and none handled twice outside the at-least-once window.

    python core/benchmarks/chaos_webhooks.py --store sqlite [--events 100000]
    python core/benchmarks/chaos_webhooks.py --store postgres [--dsn DSN] [--events 100000]

What runs:

- ``sqlite``: two uvicorn server processes on one SQLite file, each an inbox with the embedded
  worker (threads in the server process). A server process is SIGKILLed every ``--kill-every``
  seconds and started again — the worker dies with it.
- ``postgres``: two uvicorn server processes (inbox, no embedded worker: each recorded event
  defers a procrastinate job) and ``--workers`` (4) procrastinate worker processes; a worker
  process is SIGKILLed every ``--kill-every`` seconds and started again.

A simulated provider sends every event with 50 concurrent senders and a 2 s timeout (its
"provider timeout"): 10% of the events twice, 5% of the refunds before their payment (the
refund handler defers), and it delivers again whatever was not answered 2xx. 5% of the events
fail in their handler once, 1% of handlers take longer than the provider's timeout.

Every handler run that completes is written to a ledger (a separate table) with the process
id. At the end: every event acknowledged is in the store (recorded before its answer), every
event was handled, and an event handled twice is counted as *inside the at-least-once window*
when its first run's process was killed (the handler had finished, the worker died before the
event was marked processed, and the lease ran out) — any other double is a failure.
"""

# The SQL here names fixed tables; the only interpolation is the driver's parameter mark.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak_webhooks import SECRET, SoakProvider, build_deliveries, sign

PROVIDER_TIMEOUT = 2.0
SENDERS = 50


# -- the app each server / worker process builds --------------------------------------------


def _ledger(kind: str, where: str) -> Any:
    if kind == "sqlite":
        conn = sqlite3.connect(where, timeout=60, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        return conn
    import psycopg

    return psycopg.connect(where, autocommit=True)


def _ledger_schema(kind: str, where: str) -> None:
    conn = _ledger(kind, where)
    serial = "INTEGER PRIMARY KEY" if kind == "sqlite" else "BIGSERIAL PRIMARY KEY"
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS chaos_ledger (n {serial}, event_id TEXT, pid INTEGER)"
    )
    conn.execute("CREATE TABLE IF NOT EXISTS chaos_failed (event_id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM chaos_ledger")
    conn.execute("DELETE FROM chaos_failed")
    conn.close()


def build_processor(settings: dict[str, Any]) -> Any:
    """The app: the inbox processor with the chaos handlers (in every server/worker process)."""
    from paywire import EventType, ProviderConfig, Secret, WebhookEvent
    from paywire.webhooks import Defer, WebhookProcessor

    kind = settings["store"]
    if kind == "sqlite":
        from paywire.webhooks import SQLiteEventStore

        store: Any = SQLiteEventStore(settings["db"])
        worker: Any = "embedded"
    else:
        from paywire.webhooks import PostgresEventStore

        store = PostgresEventStore(settings["db"], pool_size=4)
        worker = None
    provider = SoakProvider.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    processor = WebhookProcessor(
        {"soak": provider},
        store,
        mode="inbox",
        worker=worker,
        worker_threads=4,
        lease_seconds=settings["lease"],
        retry_backoff=0.2,
        max_attempts=50,
    )
    failing = set(settings["failing"])
    slow = set(settings["slow"])
    local = __import__("threading").local()

    def ledger() -> Any:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = _ledger(kind, settings["ledger"])
        return conn

    mark = "?" if kind == "sqlite" else "%s"

    def run(event: WebhookEvent) -> None:
        if event.id in failing:
            inserted = ledger().execute(
                f"INSERT INTO chaos_failed (event_id) VALUES ({mark}) ON CONFLICT DO NOTHING",
                (event.id,),
            )
            if inserted.rowcount == 1:
                raise RuntimeError("injected handler failure")
        if event.id in slow:
            time.sleep(PROVIDER_TIMEOUT * 1.5)
        ledger().execute(
            f"INSERT INTO chaos_ledger (event_id, pid) VALUES ({mark}, {mark})",
            (event.id, os.getpid()),
        )

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def payment(event: WebhookEvent) -> None:
        run(event)

    @processor.on(EventType.REFUND_SUCCEEDED)
    def refund(event: WebhookEvent) -> None:
        paid = (
            ledger()
            .execute(
                f"SELECT 1 FROM chaos_ledger WHERE event_id = {mark} LIMIT 1",
                ("pay_" + str(event.transaction_id).removeprefix("tx_"),),
            )
            .fetchone()
        )
        if paid is None:
            raise Defer("refund before its payment")
        run(event)

    return processor


def _tasks(settings: dict[str, Any], processor: Any) -> Any:
    import procrastinate
    from psycopg.conninfo import make_conninfo

    from paywire.webhooks import register_procrastinate

    # Few connections per process: the test suite's server allows 60 in all.
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=make_conninfo(settings["db"]), min_size=1, max_size=4
        )
    )
    register_procrastinate(app, processor)
    return app


def serve(settings: dict[str, Any], port: int) -> None:
    """A server process: uvicorn serving the ASGI endpoint."""
    import uvicorn

    logging.disable(logging.CRITICAL)
    processor = build_processor(settings)
    endpoint = processor.asgi("soak")
    app: Any = endpoint
    if settings["store"] == "postgres":
        tasks = _tasks(settings, processor)

        async def with_tasks(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                async with tasks.open_async():
                    await endpoint(scope, receive, send)
                return
            await endpoint(scope, receive, send)

        app = with_tasks
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")


def work(settings: dict[str, Any]) -> None:
    """A procrastinate worker process."""
    logging.disable(logging.CRITICAL)
    processor = build_processor(settings)
    tasks = _tasks(settings, processor)
    tasks.run_worker(queues=["paywire_webhooks"], concurrency=4, install_signal_handlers=True)


# -- the provider ---------------------------------------------------------------------------


async def send_all(
    order: list[str], bodies: dict[str, tuple[bytes, dict[str, str]]], ports: list[int]
) -> tuple[set[str], Counter[str], float]:
    """The provider: ``SENDERS`` connections, the provider's timeout, every non-2xx again."""
    from _http_sender import send_all as send

    return await send(order, bodies, ports, senders=SENDERS, patience=PROVIDER_TIMEOUT)


# -- the run --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"no server on port {port}")


def run(
    store: str,
    events: int,
    folder: Path,
    *,
    dsn: str | None = None,
    kill_every: float = 3.0,
    workers: int = 4,
    seed: int = 2026,
    settle_timeout: float = 600.0,
    lease: float = 10.0,
    log: Any = print,
) -> dict[str, Any]:
    """Run the chaos soak; returns its figures (``problems`` lists what went wrong)."""
    rng = random.Random(seed)
    order, failing, _reordered = build_deliveries(events, rng)
    distinct = sorted(set(order))
    slow = set(rng.sample(distinct, k=max(1, round(events * 0.01))))
    bodies = {event_id: sign(event_id) for event_id in distinct}
    settings: dict[str, Any]
    if store == "sqlite":
        settings = {
            "store": "sqlite",
            "db": str(folder / "chaos-events.sqlite3"),
            "ledger": str(folder / "chaos-ledger.sqlite3"),
        }
    else:
        assert dsn is not None, "--dsn is needed for postgres"
        settings = {"store": "postgres", "db": dsn, "ledger": dsn}
    settings["lease"] = lease  # above the slowest handler (1.5 × the provider's timeout)
    settings["failing"] = sorted(failing)
    settings["slow"] = sorted(slow)
    _ledger_schema(store, settings["ledger"])
    _reset_store(settings)

    spawn = multiprocessing.get_context("spawn")
    ports = [_free_port(), _free_port()]
    procs: dict[str, Any] = {}

    def start(name: str) -> None:
        if name.startswith("server"):
            port = ports[int(name[-1])]
            proc = spawn.Process(target=serve, args=(settings, port), daemon=True)
        else:
            proc = spawn.Process(target=work, args=(settings,), daemon=True)
        proc.start()
        procs[name] = proc

    for n in range(2):
        start(f"server{n}")
    if store == "postgres":
        for n in range(workers):
            start(f"worker{n}")
    deadline = time.monotonic() + 60
    for port in ports:
        _wait_for_port(port, deadline)
    victims = [n for n in procs if n.startswith("worker")] or list(procs)
    killed: list[int] = []
    stop = __import__("threading").Event()

    def killer() -> None:
        while not stop.wait(kill_every):
            name = rng.choice(victims)
            proc = procs[name]
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
                proc.join()
                killed.append(proc.pid)
            start(name)
            if name.startswith("server"):
                with contextlib.suppress(RuntimeError):
                    _wait_for_port(ports[int(name[-1])], time.monotonic() + 30)

    thread = __import__("threading").Thread(target=killer, daemon=True)
    thread.start()
    try:
        acked, answers, send_seconds = asyncio.run(send_all(order, bodies, ports))
        log(
            f"sent: {len(order):,} deliveries of {len(distinct):,} events in {send_seconds:.1f} s "
            f"-> {len(distinct) / send_seconds:,.0f} events/s acknowledged; answers {dict(answers)}"
        )
        recorded = _recorded(settings)
        # Acknowledged only once recorded: every acknowledged event is in the store.
        unrecorded = acked - recorded
        settled, seconds = _settle(settings, len(distinct), settle_timeout)
    finally:
        stop.set()
        thread.join()
        for proc in procs.values():
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
                proc.join()
    runs = _ledger_runs(settings)
    counts = Counter(event_id for event_id, _ in runs)
    first_pid: dict[str, int] = {}
    for event_id, pid in runs:
        first_pid.setdefault(event_id, pid)
    twice = {event_id for event_id, n in counts.items() if n > 1}
    killed_pids = set(killed)
    inside = {event_id for event_id in twice if first_pid[event_id] in killed_pids}
    final = _recorded(settings)
    waiting = set(distinct) - set(counts)  # not handled (yet): still open in the store
    lost = waiting - final  # neither handled nor recorded
    statuses = _statuses(settings)
    problems = []
    if unrecorded:
        problems.append(f"{len(unrecorded)} acknowledged events not in the store")
    if lost:
        problems.append(f"{len(lost)} events lost, e.g. {sorted(lost)[:5]}")
    if twice - inside:
        problems.append(f"{len(twice - inside)} handled twice outside the window")
    if not settled:
        problems.append(f"not all events processed after {settle_timeout:.0f} s: {statuses}")
    figures = {
        "events": len(distinct),
        "deliveries": len(order),
        "send_seconds": send_seconds,
        "settle_seconds": seconds,
        "kills": len(killed),
        "handled_twice": len(twice),
        "twice_inside_window": len(inside),
        "lost": len(lost),
        "waiting": len(waiting),
        "statuses": statuses,
        "problems": problems,
    }
    settle_text = (
        f"all events processed {seconds:.1f} s after the last acknowledgement"
        if settled
        else f"stopped waiting {seconds:.1f} s after the last acknowledgement"
    )
    log(f"killed {len(killed)} processes; {settle_text}; store: {statuses}")
    log(
        f"handled: {len(counts):,} events, {len(twice)} twice (inside the at-least-once window: "
        f"{len(inside)}), {len(waiting)} still waiting in the store, {len(lost)} lost, "
        f"{len(unrecorded)} acknowledged before recorded"
    )
    return figures


def _query(settings: dict[str, Any], sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    conn = _ledger(settings["store"], settings["db"])
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def _reset_store(settings: dict[str, Any]) -> None:
    if settings["store"] == "postgres":
        conn = _ledger("postgres", settings["db"])
        for table in ("paywire_webhook_events", "procrastinate_jobs"):
            with contextlib.suppress(Exception):
                conn.execute(f"DELETE FROM {table}")
        exists = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        conn.close()
        if exists is None or exists[0] is None:
            import procrastinate
            from psycopg.conninfo import make_conninfo

            app = procrastinate.App(
                connector=procrastinate.PsycopgConnector(conninfo=make_conninfo(settings["db"]))
            )
            with app.open():
                app.schema_manager.apply_schema()


def _recorded(settings: dict[str, Any]) -> set[str]:
    return {row[0] for row in _query(settings, "SELECT event_id FROM paywire_webhook_events")}


def _statuses(settings: dict[str, Any]) -> dict[str, int]:
    rows = _query(settings, "SELECT status, count(*) FROM paywire_webhook_events GROUP BY status")
    return {status: int(n) for status, n in rows}


def _settle(settings: dict[str, Any], expected: int, timeout: float) -> tuple[bool, float]:
    """Wait until every event is processed; (done, seconds waited)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _statuses(settings).get("processed", 0) >= expected:
            return True, time.monotonic() - started
        if settings["store"] == "postgres":
            _sweep(settings)
        time.sleep(0.5)
    return False, time.monotonic() - started


def _sweep(settings: dict[str, Any]) -> None:
    """What the periodic sweep does each minute, done more often to keep the run short."""
    processor = build_processor(settings)
    tasks = _tasks(settings, processor)
    with tasks.open():
        tasks.tasks["paywire_webhooks.sweep"](timestamp=int(time.time()))
    processor.close()
    processor.store.close()


def _ledger_runs(settings: dict[str, Any]) -> list[tuple[str, int]]:
    conn = _ledger(settings["store"], settings["ledger"])
    try:
        rows = conn.execute("SELECT event_id, pid FROM chaos_ledger ORDER BY n").fetchall()
    finally:
        conn.close()
    return [(str(event_id), int(pid)) for event_id, pid in rows]


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--store", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--dsn", help="PostgreSQL (default: a throw-away durable cluster)")
    parser.add_argument("--kill-every", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--settle-timeout", type=float, default=1800.0, help="seconds to wait for the workers"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="paywire-chaos-") as folder:
        dsn = args.dsn
        cluster = None
        if args.store == "postgres" and dsn is None:
            from _postgres_cluster import start_cluster

            cluster = start_cluster(durable=True)
            dsn = cluster.dsn
        try:
            figures = run(
                args.store,
                args.events,
                Path(folder),
                dsn=dsn,
                kill_every=args.kill_every,
                workers=args.workers,
                settle_timeout=args.settle_timeout,
            )
        finally:
            if cluster is not None:
                cluster.stop()
    for problem in figures["problems"]:
        print("FAIL: " + problem, file=sys.stderr)
    if figures["problems"]:
        return 1
    print("OK: none lost, none acknowledged before recorded, none handled twice outside the window")
    return 0


if __name__ == "__main__":
    sys.exit(main())
