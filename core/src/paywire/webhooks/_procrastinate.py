"""Inbox workers on several machines: handlers run as `procrastinate <https://procrastinate.readthedocs.io>`_
jobs (``pip install 'paywire[procrastinate]'``).

Why procrastinate: its queue is a table in PostgreSQL — the database the
:class:`~paywire.webhooks.PostgresEventStore` already uses — so it adds no broker to run and no
second system whose state can disagree with the store's. Its workers take jobs with ``FOR UPDATE
SKIP LOCKED`` and ``LISTEN/NOTIFY`` (no polling delay), run sync tasks in threads, schedule
delayed jobs and periodic tasks, and are started and scaled with its own command. (Celery or
Dramatiq would need RabbitMQ or Redis beside PostgreSQL.)

The division of work: the event store stays the source of truth (durable record, leases,
attempts, dead state, what ``paywire webhooks`` shows); a procrastinate job is only the wake-up
"run event X now". A job that is lost, or never made (the process died between recording and
deferring), costs latency, not the event: a periodic sweep defers a job for every open event
that is due and not leased. A job that runs twice finds the event already claimed or processed
and does nothing (:meth:`WebhookProcessor.run_event`).

::

    # myapp/webhooks.py — imported by the web app and by the workers
    import procrastinate
    from paywire.webhooks import PostgresEventStore, WebhookProcessor, register_procrastinate

    DSN = "postgresql://app@db/app"
    tasks = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=DSN))
    processor = WebhookProcessor(paywire, PostgresEventStore(DSN), mode="inbox", worker=None)
    register_procrastinate(tasks, processor)

    # once:            procrastinate --app=myapp.webhooks.tasks schema --apply
    # on each machine: procrastinate --app=myapp.webhooks.tasks worker --queues=paywire_webhooks

The web app opens ``tasks`` (``tasks.open()``, or ``async with tasks.open_async():`` in an ASGI
lifespan) so that it can defer jobs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from paywire.webhooks._store import OPEN_STATUSES, backoff_delay

if TYPE_CHECKING:
    import procrastinate

    from paywire.webhooks._processor import WebhookProcessor

__all__ = ["register_procrastinate"]

_log = logging.getLogger("paywire.webhooks")

#: The queue the jobs go to.
QUEUE = "paywire_webhooks"
RUN_TASK = "paywire_webhooks.run_event"
SWEEP_TASK = "paywire_webhooks.sweep"


def register_procrastinate(
    app: procrastinate.App,
    processor: WebhookProcessor,
    *,
    queue: str = QUEUE,
    sweep_cron: str = "* * * * *",
    sweep_limit: int = 1000,
) -> None:
    """Run ``processor``'s handlers as procrastinate jobs of ``app``.

    Registers the task that runs one event and a periodic sweep (``sweep_cron``, every minute by
    default) that defers a job for up to ``sweep_limit`` open events that are due, and makes
    ``processor`` defer a job for each event it records. ``processor`` must be in inbox mode
    without an embedded worker (``worker=None``).
    """
    if processor.mode != "inbox" or processor.worker_kind is not None:
        from paywire._errors import ConfigurationError

        raise ConfigurationError(
            "register_procrastinate needs WebhookProcessor(mode='inbox', worker=None)"
        )

    @app.task(name=RUN_TASK, queue=queue)
    def run_event(provider: str, event_id: str) -> str:
        result = processor.run_event(provider, event_id)
        if result is None:
            return "not open"  # done already, or another worker holds it
        if result.outcome in ("handler_failed", "deferred"):
            stored = processor.store.get(provider, event_id)
            attempts = stored.attempts if stored is not None else 1
            # Its own retry, after the inbox's backoff (the sweep would also find it).
            wait = max(1.0, backoff_delay(processor.retry_backoff, attempts))
            _defer(run_event, provider, event_id, schedule_in={"seconds": wait})
        return result.outcome

    @app.periodic(cron=sweep_cron, periodic_id="paywire")
    @app.task(name=SWEEP_TASK, queue=queue)
    def sweep(timestamp: int) -> int:
        now = float(timestamp)
        deferred = 0
        for stored in processor.store.events(statuses=OPEN_STATUSES, limit=sweep_limit):
            leased = stored.lease_until is not None and stored.lease_until > now
            due = stored.updated_at + backoff_delay(processor.retry_backoff, stored.attempts)
            if not leased and due <= now:
                deferred += _defer(run_event, stored.provider, stored.event_id)
        return deferred

    def dispatch(provider: str, event_id: str) -> None:
        _defer(run_event, provider, event_id)

    async def dispatch_async(provider: str, event_id: str) -> None:
        try:
            await run_event.configure(queueing_lock=f"{provider}:{event_id}").defer_async(
                provider=provider, event_id=event_id
            )
        except Exception as exc:
            _not_deferred(provider, event_id, exc)

    processor.dispatch = dispatch
    processor.dispatch_async = dispatch_async


def _defer(task: Any, provider: str, event_id: str, **options: Any) -> int:
    """Defer a run of the event (one queued job per event at most); 1 if one was deferred."""
    from procrastinate.exceptions import AlreadyEnqueued

    try:
        task.configure(queueing_lock=f"{provider}:{event_id}", **options).defer(
            provider=provider, event_id=event_id
        )
    except AlreadyEnqueued:
        return 0
    except Exception as exc:
        _not_deferred(provider, event_id, exc)
        return 0
    return 1


def _not_deferred(provider: str, event_id: str, exc: Exception) -> None:
    from procrastinate.exceptions import AlreadyEnqueued

    if isinstance(exc, AlreadyEnqueued):
        return
    # The event is recorded; the sweep defers its job within a minute.
    _log.warning(
        "could not defer a job for %s event %s: %s: %s", provider, event_id, type(exc).__name__, exc
    )
