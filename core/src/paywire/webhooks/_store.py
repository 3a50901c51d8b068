"""Where webhook events are kept: the :class:`EventStore` protocol and an in-memory store.

An event store remembers every verified event under ``(provider, event id)`` with its state:

``pending``
    recorded; its handlers have not (yet) succeeded — just arrived, failed, or interrupted.
``deferred``
    a handler asked to try again later (:class:`~paywire.webhooks.Defer`).
``processed``
    every handler succeeded; a redelivery is a duplicate.
``ignored``
    an event type the provider plugin does not normalize; kept so that redeliveries are
    recognised, never handled.
``rejected``
    a verified body that cannot be read (:class:`~paywire.MalformedWebhook`), kept under the
    body's digest so that redeliveries are recognised and answered 400 again, never handled.
``dead``
    (inbox mode) its handlers failed or deferred ``max_attempts`` times; kept for an operator
    (``paywire webhooks list --dead``, ``replay``), never retried by itself.

Handlers run only under a *claim*: a lease with a random token and an expiry. A store grants at
most one live lease per event, atomically, so two deliveries of the same event (threads,
processes, machines) never run handlers at the same time. A lease that expires (its holder
crashed) can be claimed again.

A store may hold an event it sees for the first time without writing it yet, and write it once,
with its outcome, when the claim is finished (:class:`~paywire.webhooks.SQLiteEventStore` does,
under an operating-system lock): until then :meth:`EventStore.get` and :meth:`EventStore.pending`
do not show it, and nothing about it survives the process dying — which loses nothing, because
an event is answered only after its outcome is stored, so the provider delivers it again.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal, Protocol, cast, runtime_checkable

import attrs

from paywire._errors import PaywireError

if TYPE_CHECKING:
    from paywire._types import WebhookEvent

__all__ = [
    "FINISHED_STATUSES",
    "MAX_BACKOFF",
    "OPEN_STATUSES",
    "Claim",
    "ClaimState",
    "EventStatus",
    "EventStore",
    "FinishStatus",
    "InMemoryEventStore",
    "NewEvent",
    "StoreUnavailable",
    "StoredEvent",
    "ThisProcess",
    "backoff_delay",
    "new_token",
    "unclaimed",
]

#: Where a stored event stands; ``pending``/``deferred`` are open, the others finished.
EventStatus = Literal["pending", "deferred", "processed", "ignored", "rejected", "dead"]
#: What a claim holder may set when it lets go of an event.
FinishStatus = Literal["pending", "deferred", "processed", "dead"]
#: ``claimed``: the caller holds the lease. ``processed``/``ignored``/``rejected``/``dead``:
#: nothing to do (a duplicate). ``busy``: another holder has a live lease on it.
ClaimState = Literal["claimed", "processed", "ignored", "rejected", "dead", "busy"]

#: States in which an event still waits for its handlers.
OPEN_STATUSES: tuple[EventStatus, ...] = ("pending", "deferred")
#: States that are over for good: :meth:`EventStore.prune` forgets them once old enough.
FINISHED_STATUSES: tuple[EventStatus, ...] = ("processed", "ignored", "rejected")

#: The longest wait :meth:`EventStore.claim_pending`'s ``backoff`` grows to, in seconds.
MAX_BACKOFF = 3600.0


def backoff_delay(backoff: float, attempts: int) -> float:
    """How long after its last try an event that was tried ``attempts`` times waits:
    ``backoff × (2^(attempts−1) − 1)``, at most :data:`MAX_BACKOFF` — no wait after the first
    try (an event that arrived just before the one it needs goes through at once), then
    ``backoff``, ``3 × backoff``, ``7 × backoff`` …"""
    return min(MAX_BACKOFF, backoff * ((1 << min(max(attempts - 1, 0), 30)) - 1))


class StoreUnavailable(PaywireError):
    """The event store cannot be used right now (its database file is gone, or cannot be
    written): the delivery is answered 500 and the provider delivers it again."""


class ThisProcess:
    """``pid``: this process's id, kept current across ``os.fork()`` — the stores check it on
    every call (a forked child must not use its parent's connections, locks or tokens), and a
    system call each time costs more than the check is worth."""

    pid = os.getpid()


def _forked() -> None:
    ThisProcess.pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


class _Tokens:
    # A random prefix per process and a counter: unique across processes and machines, and far
    # cheaper than fresh random bytes for every claim.
    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != ThisProcess.pid:  # a forked child must not reuse its parent's tokens
            self._pid = ThisProcess.pid
            self._prefix = secrets.token_hex(8)
        return f"{self._prefix}-{next(self._counter)}"


_tokens = _Tokens()


def new_token() -> str:
    """A lease token never handed out before, in any process."""
    return _tokens.next()


@attrs.frozen
class NewEvent:
    """A verified event about to be recorded.

    ``event_json`` is the normalized :class:`~paywire.WebhookEvent` as JSON text
    (:func:`paywire.to_json_dict`; fields that are ``None`` may be left out), ``None`` for ignored
    events; ``raw_body`` is the request body exactly as it arrived.
    """

    provider: str
    event_id: str
    event_type: str
    event_json: str | None
    raw_body: bytes


@attrs.frozen
class Claim:
    """The answer to :meth:`EventStore.record_and_claim`."""

    state: ClaimState
    token: str | None = None
    attempts: int = 0


@attrs.frozen
class StoredEvent:
    """An event as the store holds it.

    ``token`` is set only on events returned by :meth:`EventStore.claim_pending` (the lease the
    caller now holds). Times are seconds since the epoch, by the store's clock.
    """

    provider: str
    event_id: str
    event_type: str
    status: EventStatus
    attempts: int
    event_json: str | None
    raw_body: bytes
    received_at: float
    updated_at: float
    last_error: str | None = None
    lease_until: float | None = None
    token: str | None = None

    @property
    def event(self) -> WebhookEvent | None:
        """The normalized event, rebuilt from its stored JSON (``None`` for ignored events)."""
        if self.event_json is None:
            return None
        import json

        from paywire._convert import from_json_dict
        from paywire._types import WebhookEvent

        data = json.loads(self.event_json)
        if data.get("data") == DATA_IS_RAW_BODY:
            data["data"] = json.loads(self.raw_body)
        return from_json_dict(data, WebhookEvent)


#: Stands for ``WebhookEvent.data`` in ``event_json`` when the data is the raw body parsed (what
#: every provider puts there): storing the provider's payload twice doubles what each commit
#: writes.
DATA_IS_RAW_BODY = "$raw_body"


@runtime_checkable
class EventStore(Protocol):
    """Durable memory of webhook events. Every method is atomic and safe to call from several
    threads; the SQL stores are also safe across processes.

    Implementations are checked by the same behavioural test suite
    (``core/tests/webhooks/test_webhook_stores.py``).
    """

    def record_and_claim(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        """Record ``event`` as ``pending`` if its ``(provider, event_id)`` is new, and claim it
        — or, in a store that writes new events with their outcome, hold it (no other claim on
        it succeeds) until :meth:`finish` writes it.

        An event already recorded is claimed when it is still open (pending or deferred) and
        nobody holds a live lease on it; otherwise the answer says why not (``processed``,
        ``ignored``, ``busy``). The stored body of an existing event is never replaced.
        """
        ...

    def record_ignored(self, event: NewEvent) -> bool:
        """Record ``event`` as ``ignored`` unless its key is known; ``True`` when it was new."""
        ...

    def record_rejected(self, event: NewEvent) -> bool:
        """Record ``event`` as ``rejected`` (a body that cannot be read) unless its key is
        known; ``True`` when it was new."""
        ...

    def enqueue(self, event: NewEvent) -> EventStatus | None:
        """Record ``event`` as ``pending`` (no lease: a worker claims it) unless its key is
        known, and return only once the record is durable (the inbox acknowledges it then):
        ``None`` when it was new, else the status it already has. Stores may let concurrent
        callers share one durable commit (group commit)."""
        ...

    def claim(self, provider: str, event_id: str, *, lease_seconds: float) -> str | None:
        """Lease one open event whose lease is free or expired; its token, or ``None``."""
        ...

    def claim_pending(
        self,
        *,
        provider: str | None = None,
        lease_seconds: float,
        limit: int,
        deferred_only: bool = False,
        backoff: float = 0.0,
    ) -> list[StoredEvent]:
        """Lease up to ``limit`` open events with free or expired leases, least recently touched
        first; each returned event carries its ``token``.

        ``deferred_only`` leaves out pending events (the provider still delivers those again).
        ``backoff`` skips events tried less than :func:`backoff_delay` seconds ago, so that events
        that keep deferring are not retried on every call.
        """
        ...

    def finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        *,
        status: FinishStatus,
        error: str | None = None,
    ) -> bool:
        """Release the lease ``token`` holds and set ``status`` (writing a held new event, with
        this status, before the hold is let go). ``False`` (and no change) when ``token`` no
        longer holds the lease (it expired and someone else claimed the event)."""
        ...

    def get(self, provider: str, event_id: str) -> StoredEvent | None:
        """The stored event, or ``None``."""
        ...

    def pending(
        self, *, provider: str | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        """Open events (pending or deferred, leased or not), oldest first."""
        ...

    def events(
        self,
        *,
        statuses: Sequence[EventStatus] = (),
        provider: str | None = None,
        limit: int | None = None,
        failed_only: bool = False,
    ) -> list[StoredEvent]:
        """Events in any of ``statuses`` (every status when empty), oldest first;
        ``failed_only`` keeps those with an error recorded."""
        ...

    def requeue(
        self, provider: str, event_id: str | None = None, *, statuses: Sequence[EventStatus] = ()
    ) -> int:
        """Put events of ``provider`` (one, or every one) in ``statuses`` (default: pending,
        deferred and dead) back to ``pending`` with no attempts and no lease, so that workers
        take them at once; how many were."""
        ...

    def prune(self, *, older_than: float) -> int:
        """Forget finished events (:data:`FINISHED_STATUSES`) last touched more than
        ``older_than`` seconds ago; how many were deleted. A redelivery of a forgotten event is
        new again: keep events longer than any provider redelivers or replays them."""
        ...

    def counts(self, *, provider: str | None = None) -> dict[str, int]:
        """How many events are in each status."""
        ...

    def close(self) -> None:
        """Release connections. The store is not used afterwards."""
        ...


def unclaimed(status: EventStatus, attempts: int) -> Claim:
    """The answer for a known event that could not be claimed: finished (``processed``,
    ``ignored``) or, when still open, ``busy``."""
    if status in OPEN_STATUSES:
        return Claim("busy", attempts=attempts)
    return Claim(cast("ClaimState", status), attempts=attempts)


def _claimable(event: StoredEvent, now: float) -> bool:
    return event.status in OPEN_STATUSES and (event.lease_until is None or event.lease_until <= now)


class InMemoryEventStore:
    """An :class:`EventStore` in a dict: for tests and single-process apps that accept losing
    unfinished events on restart. Thread-safe.

    ``clock`` returns seconds since the epoch (``time.time`` by default; tests inject their own).
    """

    #: Its calls never wait on I/O: :meth:`WebhookProcessor.process_async` makes them on the
    #: event loop (a store without this attribute is taken to block, and called in a thread).
    blocking = False

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # Events as get() returns them (no token); the token of each event's last lease apart.
        self._events: dict[tuple[str, str], StoredEvent] = {}
        self._tokens: dict[tuple[str, str], str] = {}
        # The open events' keys in the order they arrived (ties in time keep it, as the SQL
        # stores' ids do), so that a replay does not walk every event ever received.
        self._open: dict[tuple[str, str], None] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<InMemoryEventStore events={len(self._events)}>"

    def _insert(self, event: NewEvent, status: EventStatus, now: float) -> StoredEvent:
        stored = StoredEvent(
            provider=event.provider,
            event_id=event.event_id,
            event_type=event.event_type,
            status=status,
            attempts=0,
            event_json=event.event_json,
            raw_body=bytes(event.raw_body),
            received_at=now,
            updated_at=now,
        )
        key = (event.provider, event.event_id)
        self._events[key] = stored
        if status in OPEN_STATUSES:
            self._open[key] = None
        return stored

    def _lease(self, stored: StoredEvent, token: str, now: float, lease_seconds: float) -> int:
        key = (stored.provider, stored.event_id)
        attempts = stored.attempts + 1
        self._events[key] = attrs.evolve(
            stored, attempts=attempts, lease_until=now + lease_seconds, updated_at=now
        )
        self._tokens[key] = token
        return attempts

    def record_and_claim(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        with self._lock:
            now = self._clock()
            stored = self._events.get((event.provider, event.event_id))
            if stored is None:
                stored = self._insert(event, "pending", now)
            elif not _claimable(stored, now):
                return unclaimed(stored.status, stored.attempts)
            token = new_token()
            return Claim("claimed", token, self._lease(stored, token, now, lease_seconds))

    def record_ignored(self, event: NewEvent) -> bool:
        return self._record_finished(event, "ignored")

    def record_rejected(self, event: NewEvent) -> bool:
        return self._record_finished(event, "rejected")

    def _record_finished(self, event: NewEvent, status: EventStatus) -> bool:
        with self._lock:
            if (event.provider, event.event_id) in self._events:
                return False
            self._insert(event, status, self._clock())
            return True

    def enqueue(self, event: NewEvent) -> EventStatus | None:
        with self._lock:
            stored = self._events.get((event.provider, event.event_id))
            if stored is not None:
                return stored.status
            self._insert(event, "pending", self._clock())
            return None

    def claim(self, provider: str, event_id: str, *, lease_seconds: float) -> str | None:
        with self._lock:
            now = self._clock()
            stored = self._events.get((provider, event_id))
            if stored is None or not _claimable(stored, now):
                return None
            token = new_token()
            self._lease(stored, token, now, lease_seconds)
            return token

    def claim_pending(
        self,
        *,
        provider: str | None = None,
        lease_seconds: float,
        limit: int,
        deferred_only: bool = False,
        backoff: float = 0.0,
    ) -> list[StoredEvent]:
        with self._lock:
            now = self._clock()
            wanted = ("deferred",) if deferred_only else OPEN_STATUSES
            candidates = sorted(
                (
                    stored
                    for stored in map(self._events.__getitem__, self._open)
                    if stored.status in wanted
                    and _claimable(stored, now)
                    and stored.updated_at + backoff_delay(backoff, stored.attempts) <= now
                    and (provider is None or stored.provider == provider)
                ),
                key=lambda stored: stored.updated_at,
            )[: max(limit, 0)]
            token = new_token()
            for stored in candidates:
                self._lease(stored, token, now, lease_seconds)
            return [
                attrs.evolve(self._events[stored.provider, stored.event_id], token=token)
                for stored in candidates
            ]

    def finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        *,
        status: FinishStatus,
        error: str | None = None,
    ) -> bool:
        with self._lock:
            key = (provider, event_id)
            if self._tokens.get(key) != token:
                return False
            del self._tokens[key]
            if status not in OPEN_STATUSES:
                self._open.pop(key, None)
            self._events[key] = attrs.evolve(
                self._events[key],
                status=status,
                last_error=error,
                lease_until=None,
                updated_at=self._clock(),
            )
            return True

    def get(self, provider: str, event_id: str) -> StoredEvent | None:
        with self._lock:
            return self._events.get((provider, event_id))

    def pending(
        self, *, provider: str | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        with self._lock:
            found = sorted(
                (
                    stored
                    for stored in map(self._events.__getitem__, self._open)
                    if provider is None or stored.provider == provider
                ),
                key=lambda stored: stored.received_at,
            )
            return found if limit is None else found[: max(limit, 0)]

    def events(
        self,
        *,
        statuses: Sequence[EventStatus] = (),
        provider: str | None = None,
        limit: int | None = None,
        failed_only: bool = False,
    ) -> list[StoredEvent]:
        with self._lock:
            found = sorted(
                (
                    stored
                    for stored in self._events.values()
                    if (not statuses or stored.status in statuses)
                    and (provider is None or stored.provider == provider)
                    and (not failed_only or stored.last_error is not None)
                ),
                key=lambda stored: stored.received_at,
            )
            return found if limit is None else found[: max(limit, 0)]

    def requeue(
        self, provider: str, event_id: str | None = None, *, statuses: Sequence[EventStatus] = ()
    ) -> int:
        wanted = tuple(statuses) or ("pending", "deferred", "dead")
        with self._lock:
            now = self._clock()
            keys = [
                key
                for key, stored in self._events.items()
                if stored.provider == provider
                and (event_id is None or stored.event_id == event_id)
                and stored.status in wanted
            ]
            for key in keys:
                self._tokens.pop(key, None)
                self._events[key] = attrs.evolve(
                    self._events[key], status="pending", attempts=0, lease_until=None,
                    updated_at=now,
                )
                self._open[key] = None
            return len(keys)

    def prune(self, *, older_than: float) -> int:
        with self._lock:
            cutoff = self._clock() - older_than
            old = [
                key
                for key, stored in self._events.items()
                if stored.status in FINISHED_STATUSES and stored.updated_at < cutoff
            ]
            for key in old:
                del self._events[key]
            return len(old)

    def counts(self, *, provider: str | None = None) -> dict[str, int]:
        with self._lock:
            found: dict[str, int] = {}
            for stored in self._events.values():
                if provider is None or stored.provider == provider:
                    found[stored.status] = found.get(stored.status, 0) + 1
            return found

    def close(self) -> None:
        """Nothing to release; kept for the protocol."""
