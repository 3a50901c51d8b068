"""Webhooks through HTTP: the ASGI endpoint under uvicorn (and, for comparison, the WSGI endpoint
under uvicorn's WSGI interface), 50 concurrent senders, SQLite and PostgreSQL stores, inline
and inbox modes.

    python core/benchmarks/bench_webhook_http.py [--events 10000] [--dsn DSN] [--skip-postgres]

Each run starts one uvicorn server process with the endpoint and a handler that counts the
events it sees; a sender (50 keep-alive connections on raw asyncio streams) delivers every
event, 10% of them twice, and delivers again anything not answered 2xx. It prints events/s
(distinct events, until the last one is acknowledged) and checks that every event was handled
exactly once (inbox: once the worker has caught up). PostgreSQL: a throw-away cluster with
durable commits, or ``--dsn``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import random
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _http_sender import send_all
from chaos_webhooks import _free_port, _wait_for_port
from soak_webhooks import SECRET, SoakProvider, sign


def _baseline(interface: str) -> Any:
    """An endpoint that answers 200 at once: the HTTP stack's own ceiling here."""
    handled: set[bytes] = set()

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/stats":
            body = json.dumps({"handled": len(handled), "twice": 0}).encode()
        else:
            handled.add(body)
            body = b'{"outcome":"processed"}'
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    def wsgi(environ: Any, start_response: Any) -> Any:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size)
        if environ.get("PATH_INFO") == "/stats":
            body = json.dumps({"handled": len(handled), "twice": 0}).encode()
        else:
            handled.add(body)
        start_response("200 OK", [])
        return [body]

    return asgi if interface == "asgi" else wsgi


def _app(store_spec: dict[str, Any], mode: str, interface: str) -> Any:
    if store_spec["kind"] == "none":
        return _baseline(interface)
    from paywire import ProviderConfig, Secret, WebhookEvent
    from paywire.webhooks import PostgresEventStore, SQLiteEventStore, WebhookProcessor

    store: Any
    if store_spec["kind"] == "sqlite":
        store = SQLiteEventStore(
            store_spec["path"], synchronous="FULL" if mode == "inbox" else "NORMAL"
        )
    else:
        store = PostgresEventStore(store_spec["dsn"], pool_size=20)
    provider = SoakProvider.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    processor = WebhookProcessor({"soak": provider}, store, mode=mode)  # type: ignore[arg-type]
    seen: Counter[str] = Counter()

    @processor.on_any
    def count(event: WebhookEvent) -> None:
        seen[event.id] += 1

    def stats() -> bytes:
        return json.dumps(
            {"handled": len(seen), "twice": sum(1 for n in seen.values() if n > 1)}
        ).encode()

    if interface == "asgi":
        endpoint = processor.asgi("soak")

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] == "/stats":
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": stats()})
                return
            await endpoint(scope, receive, send)

        return asgi
    wsgi_endpoint = processor.wsgi("soak")

    def wsgi(environ: Any, start_response: Any) -> Any:
        if mode == "inbox":
            processor.start_worker()
        if environ.get("PATH_INFO") == "/stats":
            start_response("200 OK", [])
            return [stats()]
        return wsgi_endpoint(environ, start_response)

    return wsgi


def _serve(store_spec: dict[str, Any], mode: str, interface: str, port: int) -> None:
    import uvicorn

    logging.disable(logging.CRITICAL)
    app = _app(store_spec, mode, interface)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="critical",
        interface="asgi3" if interface == "asgi" else "wsgi",
    )


def _stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as answer:
        found: dict[str, int] = json.loads(answer.read())
        return found


def one_run(store_spec: dict[str, Any], mode: str, interface: str, events: int) -> str:
    rng = random.Random(11)
    distinct = [f"pay_{n}" for n in range(events)]
    order = distinct + rng.sample(distinct, k=events // 10)
    rng.shuffle(order)
    bodies = {event_id: sign(event_id) for event_id in distinct}
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(store_spec, mode, interface, port), daemon=True
    )
    proc.start()
    try:
        _wait_for_port(port, time.monotonic() + 60)
        acked, answers, seconds = asyncio.run(send_all(order, bodies, port))
        deadline = time.monotonic() + 120
        found = _stats(port)
        while found["handled"] < events and time.monotonic() < deadline:
            time.sleep(0.2)
            found = _stats(port)
    finally:
        proc.kill()
        proc.join()
    ok = len(acked) == events and found["handled"] == events and found["twice"] == 0
    rate = events / seconds
    return (
        f"{interface.upper():4} {store_spec['kind']:8} {mode:6}: {rate:>6,.0f} events/s "
        f"({len(order):,} deliveries in {seconds:.1f} s; handled {found['handled']:,}, twice "
        f"{found['twice']}; answers {dict(answers)}){'' if ok else '  FAIL'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--dsn")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--interfaces", default="asgi,wsgi")
    parser.add_argument("--modes", default="inline,inbox")
    args = parser.parse_args(argv)
    cluster = None
    dsn = args.dsn
    if dsn is None and not args.skip_postgres:
        from _postgres_cluster import start_cluster

        cluster = start_cluster(durable=True)
        dsn = cluster.dsn
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="paywire-http-") as folder:
            for interface in args.interfaces.split(","):
                line = one_run({"kind": "none"}, "-", interface, args.events)
                print(line.replace("none     -     ", "no processor (HTTP only)"), flush=True)
            n = 0
            for kind in ("sqlite", "postgres"):
                if kind == "postgres" and dsn is None:
                    continue
                for mode in args.modes.split(","):
                    for interface in args.interfaces.split(","):
                        n += 1
                        if kind == "sqlite":
                            spec: dict[str, Any] = {"kind": kind, "path": f"{folder}/h{n}.sqlite3"}
                        else:
                            spec = {"kind": kind, "dsn": dsn}
                            import psycopg

                            with psycopg.connect(dsn, autocommit=True) as conn:
                                conn.execute("DROP TABLE IF EXISTS paywire_webhook_events")
                        line = one_run(spec, mode, interface, args.events)
                        failed = failed or line.endswith("FAIL")
                        print(line, flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
