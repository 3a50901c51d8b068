"""The inbox's handlers run as procrastinate jobs, on the PostgreSQL the store uses (a real
server, a real procrastinate worker)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import pytest
from webhook_support import AcmeProvider, ManualClock, StoreFactory, event_body, signed

from paywire import ConfigurationError, EventType, WebhookEvent
from paywire.webhooks import InMemoryEventStore, WebhookProcessor, register_procrastinate


def _app(dsn: str) -> Any:
    import procrastinate
    from psycopg.conninfo import make_conninfo

    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=make_conninfo(dsn)))


def _work(app: Any) -> None:
    """A procrastinate worker, run until no job is due (it closes the app when it stops: open
    it again for the web side's defers, as a web process keeps its own open)."""
    app.run_worker(
        queues=["paywire_webhooks"], wait=False, install_signal_handlers=False, concurrency=2
    )
    app.open()


def test_handlers_run_as_procrastinate_jobs(
    make_store: StoreFactory, acme: AcmeProvider, postgres_dsn: str, clock: ManualClock
) -> None:
    store = make_store()
    app = _app(postgres_dsn)
    processor = WebhookProcessor(
        {"acme": acme}, store, mode="inbox", worker=None, retry_backoff=0.5
    )
    register_procrastinate(app, processor)
    handled: Counter[str] = Counter()
    failures = {"evt_2": 1}

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def handle(event: WebhookEvent) -> None:
        if failures.get(event.id, 0) > 0:
            failures[event.id] -= 1
            raise RuntimeError("injected failure")
        handled[event.id] += 1

    with app.open():
        import psycopg

        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            exists = admin.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if exists is None or exists[0] is None:
                app.schema_manager.apply_schema()
            admin.execute("DELETE FROM procrastinate_jobs")
        outcomes = []
        for n in range(5):
            body = event_body(f"evt_{n}")
            outcomes.append(processor.process("acme", body, signed(body)).outcome)
        body = event_body("evt_1")
        outcomes.append(processor.process("acme", body, signed(body)).outcome)
        assert outcomes == ["accepted"] * 5 + ["duplicate"]
        assert handled == Counter()  # nothing runs in the request
        _work(app)
        assert handled == Counter({f"evt_{n}": 1 for n in (0, 1, 3, 4)})
        time.sleep(1.1)  # the failed one's own retry is scheduled a second later
        _work(app)
        assert handled == Counter({f"evt_{n}": 1 for n in range(5)})

        # An event recorded while no job could be deferred (the process died in between) is
        # found by the periodic sweep.
        processor.dispatch = None
        body = event_body("evt_lost")
        assert processor.process("acme", body, signed(body)).outcome == "accepted"
        _work(app)
        assert "evt_lost" not in handled
        sweep = app.tasks["paywire_webhooks.sweep"]
        assert sweep(timestamp=int(clock.now) + 1) == 1
        _work(app)
        assert handled["evt_lost"] == 1
        assert sweep(timestamp=int(clock.now) + 1) == 0
    assert all(e.status == "processed" for e in store.events())


test_handlers_run_as_procrastinate_jobs.store_kinds = ["postgres"]  # type: ignore[attr-defined]


def test_procrastinate_needs_an_inbox_without_an_embedded_worker(acme: AcmeProvider) -> None:
    import procrastinate
    from procrastinate import testing

    app = procrastinate.App(connector=testing.InMemoryConnector())
    for processor in (
        WebhookProcessor({"acme": acme}, InMemoryEventStore()),
        WebhookProcessor({"acme": acme}, InMemoryEventStore(), mode="inbox"),
    ):
        with pytest.raises(ConfigurationError, match="worker=None"):
            register_procrastinate(app, processor)


def test_jobs_are_deferred_once_per_event_and_a_failed_defer_is_left_to_the_sweep(
    make_store: StoreFactory,
    acme: AcmeProvider,
    postgres_dsn: str,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    import psycopg

    store = make_store()
    app = _app(postgres_dsn)
    processor = WebhookProcessor({"acme": acme}, store, mode="inbox", worker=None)
    register_procrastinate(app, processor)
    handled: list[str] = []
    processor.on_any(lambda e: handled.append(e.id))

    # The app is not open: the event is recorded and answered, the job is left to the sweep.
    body = event_body("evt_unopened")
    with caplog.at_level(logging.WARNING, logger="paywire.webhooks"):
        assert processor.process("acme", body, signed(body)).outcome == "accepted"
    assert "could not defer a job for acme event evt_unopened" in caplog.text

    async def deliver_async() -> str:
        async with app.open_async():
            body = event_body("evt_async")
            return (await processor.process_async("acme", body, signed(body))).outcome

    with app.open():
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            exists = admin.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if exists is None or exists[0] is None:
                app.schema_manager.apply_schema()
            admin.execute("DELETE FROM procrastinate_jobs")
        assert asyncio.run(deliver_async()) == "accepted"  # deferred with defer_async
        app.open()
        sweep = app.tasks["paywire_webhooks.sweep"]
        # evt_async has its job queued already: only evt_unopened gets one, and only once.
        assert sweep(timestamp=int(clock.now) + 1) == 1
        assert sweep(timestamp=int(clock.now) + 1) == 0
        _work(app)
    assert sorted(handled) == ["evt_async", "evt_unopened"]


test_jobs_are_deferred_once_per_event_and_a_failed_defer_is_left_to_the_sweep.store_kinds = [  # type: ignore[attr-defined]
    "postgres"
]
