"""Webhook delivery: the framework's :class:`~paywire_sandbox.WebhookSink`.

A fake hands each event's exact bytes to :meth:`WebhookHub.emit`; the hub delivers them to every
endpoint registered for that provider, in the background on the server's event loop. Each attempt
is signed at send time by the fake's :meth:`~paywire_sandbox.Fake.sign_webhook` with the sandbox
clock's timestamp, non-2xx answers and connection errors are retried on the configured backoff
schedule, and every attempt is recorded.

Deliveries to one endpoint are attempted one at a time, first attempts in the order the events
were fired, so ``reorder_webhooks`` and ``duplicate_webhook`` faults are observable
deterministically. Retries are scheduled independently and may interleave with later events, as
with the real providers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs
import httpx

from paywire_sandbox._fake import Clock, Fake, WebhookEndpoint
from paywire_sandbox._faults import Fault, FaultKind, FaultSet

__all__ = ["DEFAULT_RETRY_DELAYS", "WebhookHub"]

logger = logging.getLogger("paywire_sandbox")

#: Compressed backoff (seconds between attempts) so tests see retries quickly.
DEFAULT_RETRY_DELAYS: Final = (0.05, 0.1, 0.2, 0.4, 0.8)
#: Oldest delivery records are forgotten beyond this many (a long-running dev server).
MAX_RECORDS: Final = 100_000


@attrs.frozen
class _Event:
    provider: str
    event_id: str
    event_type: str
    body: bytes = attrs.field(repr=False)


@attrs.define(eq=False)
class _Job:
    event: _Event
    endpoint: WebhookEndpoint
    generation: int
    attempt: int = 0


class WebhookHub:
    """Registered endpoints, the delivery queue and the record of every attempt."""

    def __init__(
        self,
        clock: Clock,
        faults: FaultSet,
        *,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        delays = tuple(float(d) for d in retry_delays)
        if any(not d >= 0 for d in delays):
            raise ValueError("webhook retry delays must be non-negative numbers")
        if not timeout > 0:
            raise ValueError("the webhook timeout must be positive")
        self.retry_delays = delays
        self.timeout = timeout
        self._clock = clock
        self._faults = faults
        self._transport = transport
        self._fakes: Mapping[str, Fake] = {}
        self._endpoints: dict[str, dict[str, WebhookEndpoint]] = {}
        self._records: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        self._record_jobs: dict[str, tuple[_Event, WebhookEndpoint]] = {}
        self._queues: dict[str, collections.deque[_Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._pending = 0
        self._generation = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

    def bind_fakes(self, fakes: Mapping[str, Fake]) -> None:
        """Tell the hub which fake signs each provider's webhooks."""
        self._fakes = fakes

    # -- WebhookSink -------------------------------------------------------------------------

    def emit(self, provider: str, event_id: str, event_type: str, body: bytes) -> None:
        """Queue ``body`` for every endpoint of ``provider`` (see :class:`WebhookSink`).

        Call it from a request handler: delivery runs on the server's (the running) event loop.
        """
        if not isinstance(body, bytes):
            raise TypeError("webhook bodies must be bytes (json.dumps(...).encode())")
        self._bind()
        if not self._endpoints.get(provider):
            return
        event = _Event(provider, event_id, event_type, body)
        copies = 1
        duplicate = self._faults.matching_webhook(provider, event_type, FaultKind.DUPLICATE_WEBHOOK)
        if duplicate is not None:
            copies = 2
            self._faults.consume(duplicate)
        reorder = self._faults.matching_webhook(provider, event_type, FaultKind.REORDER_WEBHOOKS)
        if reorder is not None:
            reorder.held.append((event, copies))
            self._faults.consume(reorder)
            if reorder.count is not None and reorder.count <= 0:
                self.release(reorder)
            return
        self._dispatch(event, copies)

    def endpoints(self, provider: str) -> Sequence[WebhookEndpoint]:
        """The endpoints currently registered for ``provider``."""
        return tuple(self._endpoints.get(provider, {}).values())

    # -- endpoints ---------------------------------------------------------------------------

    def add_endpoint(
        self, provider: str, url: str, secret: str, extra: Mapping[str, str] | None = None
    ) -> WebhookEndpoint:
        """Register a receiver; the provider's fake may add data to ``extra`` (PayPal's
        ``webhook_id``) through :meth:`Fake.endpoint_extra`."""
        fake = self._fakes.get(provider)
        extra_dict = fake.endpoint_extra(extra or {}) if fake is not None else dict(extra or {})
        endpoint = WebhookEndpoint(
            id="we_" + secrets.token_hex(12),
            provider=provider,
            url=url,
            secret=secret,
            extra=extra_dict,
        )
        self._endpoints.setdefault(provider, {})[endpoint.id] = endpoint
        return endpoint

    def get_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None:
        """The registered endpoint with this id."""
        for endpoints in self._endpoints.values():
            if endpoint_id in endpoints:
                return endpoints[endpoint_id]
        return None

    def remove_endpoint(self, endpoint_id: str) -> bool:
        """Unregister one endpoint; its queued deliveries are dropped. False if unknown."""
        for endpoints in self._endpoints.values():
            if endpoints.pop(endpoint_id, None) is not None:
                return True
        return False

    def clear_endpoints(self, provider: str | None = None) -> int:
        """Unregister every endpoint (of ``provider``); returns how many were removed."""
        if provider is None:
            removed = sum(len(e) for e in self._endpoints.values())
            self._endpoints.clear()
            return removed
        return len(self._endpoints.pop(provider, {}))

    def all_endpoints(self) -> list[WebhookEndpoint]:
        """Every registered endpoint, in registration order per provider."""
        return [ep for endpoints in self._endpoints.values() for ep in endpoints.values()]

    # -- records -----------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Deliveries queued, in flight or waiting for a retry."""
        return self._pending

    @property
    def held(self) -> int:
        """Events held back by ``reorder_webhooks`` faults (not counted as pending)."""
        return sum(len(f.held) for f in self._faults if f.kind is FaultKind.REORDER_WEBHOOKS)

    def deliveries(
        self,
        provider: str | None = None,
        *,
        event_id: str | None = None,
        endpoint_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every recorded attempt, oldest first, optionally filtered."""
        return [
            dict(record)
            for record in self._records.values()
            if (provider is None or record["provider"] == provider)
            and (event_id is None or record["event_id"] == event_id)
            and (endpoint_id is None or record["endpoint_id"] == endpoint_id)
        ]

    def has_delivery(self, delivery_id: str) -> bool:
        """Whether a delivery record with this id exists."""
        return delivery_id in self._records

    async def redeliver(self, delivery_id: str) -> dict[str, Any]:
        """Send a recorded delivery's event to its endpoint again, once, now; returns the record.

        Raises ``KeyError`` for an unknown id.
        """
        event, endpoint = self._record_jobs[delivery_id]
        self._bind()
        record, _ = await self._attempt(event, endpoint, 1, redelivery_of=delivery_id)
        return dict(record)

    async def wait_idle(self) -> None:
        """Return once no delivery is pending (bound it with ``asyncio.timeout``)."""
        while self._pending:
            await self._idle.wait()

    def release(self, fault: Fault) -> None:
        """Deliver what a ``reorder_webhooks`` fault held, newest first."""
        held, fault.held = fault.held, []
        for event, copies in reversed(held):
            self._dispatch(event, copies)

    # -- lifecycle ---------------------------------------------------------------------------

    def reset(self, *, keep_endpoints: bool = False) -> None:
        """Drop pending deliveries and records (and endpoints unless ``keep_endpoints``)."""
        self._generation += 1
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for task in self._workers.values():
            task.cancel()
        self._workers.clear()
        self._queues.clear()
        self._records.clear()
        self._record_jobs.clear()
        self._pending = 0
        self._idle.set()
        if not keep_endpoints:
            self._endpoints.clear()

    async def aclose(self) -> None:
        """Cancel everything in flight and close the HTTP client (server shutdown)."""
        tasks = list(self._workers.values())
        self.reset(keep_endpoints=True)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
        self._loop = None

    # -- internals ---------------------------------------------------------------------------

    def _bind(self) -> None:
        """Attach to the running loop (the server's); a different loop starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:
            # Served on a new loop (e.g. a test client per request): the old loop's tasks and
            # client cannot be used from here, so in-flight deliveries are abandoned.
            logger.warning(
                "sandbox webhook hub moved to a new event loop; pending deliveries dropped"
            )
            self.reset(keep_endpoints=True)
            self._client = None
            self._idle = asyncio.Event()
            self._idle.set()
        self._loop = loop

    def _dispatch(self, event: _Event, copies: int) -> None:
        for endpoint in self.endpoints(event.provider):
            for _ in range(copies):
                self._pending += 1
                self._idle.clear()
                self._enqueue(_Job(event, endpoint, self._generation))

    def _enqueue(self, job: _Job) -> None:
        if job.generation != self._generation:
            return
        endpoint_id = job.endpoint.id
        queue = self._queues.setdefault(endpoint_id, collections.deque())
        queue.append(job)
        if endpoint_id not in self._workers:
            assert self._loop is not None
            self._workers[endpoint_id] = self._loop.create_task(self._drain(endpoint_id, queue))

    async def _drain(self, endpoint_id: str, queue: collections.deque[_Job]) -> None:
        try:
            while queue:
                await self._run(queue.popleft())
        finally:
            if self._workers.get(endpoint_id) is asyncio.current_task():
                del self._workers[endpoint_id]

    async def _run(self, job: _Job) -> None:
        if job.generation != self._generation:
            return
        endpoint = job.endpoint
        if self._endpoints.get(endpoint.provider, {}).get(endpoint.id) is not endpoint:
            self._finish(job)  # unregistered meanwhile
            return
        job.attempt += 1
        record, final = await self._attempt(job.event, endpoint, job.attempt)
        if job.generation != self._generation:
            return
        if record["delivered"] or final or job.attempt > len(self.retry_delays):
            self._finish(job)
            return
        assert self._loop is not None
        delay = self.retry_delays[job.attempt - 1]
        timer: asyncio.TimerHandle | None = None

        def fire() -> None:
            assert timer is not None
            self._timers.discard(timer)
            self._enqueue(job)

        timer = self._loop.call_later(delay, fire)
        self._timers.add(timer)

    def _finish(self, job: _Job) -> None:
        if job.generation != self._generation:
            return
        self._pending -= 1
        if self._pending <= 0:
            self._pending = 0
            self._idle.set()

    async def _attempt(
        self,
        event: _Event,
        endpoint: WebhookEndpoint,
        attempt: int,
        *,
        redelivery_of: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Sign and send once; returns the record and whether retrying is pointless."""
        now = self._clock.now()
        status: int | None = None
        error: str | None = None
        final = False
        fake = self._fakes.get(event.provider)
        try:
            if fake is None:
                raise LookupError(f"no fake serves provider {event.provider!r}")
            signature = fake.sign_webhook(event.body, endpoint, int(now))
        except Exception as exc:
            logger.exception("sandbox internal error signing a %s webhook", event.provider)
            error = f"sandbox internal error: signing failed ({type(exc).__name__})"
            final = True  # retrying would fail the same way
        else:
            headers = {"Content-Type": "application/json", "User-Agent": "paywire-sandbox"}
            lower = {k.lower() for k in signature}
            headers = {k: v for k, v in headers.items() if k.lower() not in lower}
            headers.update(signature)
            try:
                response = await self._get_client().post(
                    endpoint.url, content=event.body, headers=headers
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        record: dict[str, Any] = {
            "id": "whd_" + secrets.token_hex(10),
            "provider": event.provider,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "attempt": attempt,
            "status": status,
            "error": error,
            "at": now,
            "delivered": status is not None and 200 <= status < 300,
            "redelivery_of": redelivery_of,
        }
        self._remember(record, event, endpoint)
        return record, final

    def _remember(self, record: dict[str, Any], event: _Event, endpoint: WebhookEndpoint) -> None:
        self._records[record["id"]] = record
        self._record_jobs[record["id"]] = (event, endpoint)
        while len(self._records) > MAX_RECORDS:
            old_id, _ = self._records.popitem(last=False)
            self._record_jobs.pop(old_id, None)

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                trust_env=False,
                transport=self._transport,
            )
        return self._client
