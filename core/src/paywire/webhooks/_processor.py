"""The webhook processor: verify → parse (→ fetch) → record → deduplicate → follow-up and handlers.

Two modes (``WebhookProcessor(mode=...)``):

``"inline"`` (the default)
    the handlers run inside the provider's request and the answer says how they did: a failing
    handler is answered 500 and the provider delivers the event again.
``"inbox"``
    the event is recorded durably and answered 200 ``accepted`` at once; workers run the
    handlers later, claiming events with leases, retrying with backoff and moving an event that
    keeps failing to ``dead`` after ``max_attempts`` (see :mod:`paywire.webhooks._worker`).

What each delivery is answered (``WebhookResult.status_code`` is what the endpoints send):

================  ====  ==================================================================
outcome           code  meaning
================  ====  ==================================================================
processed         200   (inline) every handler succeeded; the event is marked processed
accepted          200   (inbox) the event is on disk; a worker will run its handlers
duplicate         200   the event is known (processed, or in the inbox): nothing runs again
unknown_event     200   signed correctly but of a type the plugin does not normalize:
                        recorded as ignored so the provider stops sending it
invalid_signature 400   nothing is parsed or stored
malformed         400   signed, but the body cannot be read (too deep, not the provider's
                        format, an id holding a NUL or a lone surrogate): recorded once as
                        ``rejected`` under the body's digest; sending it again cannot help
refused           400   a provider authenticated by fetching sent a full event instead of a
                        reference: nothing in a notification is trusted, nothing is stored
deferred          409   (inline) a handler raised :class:`Defer`: kept as deferred, retried
in_progress       409   (inline) another delivery of the same event holds the lease
handler_failed    500   (inline) a handler raised: the event stays pending, redelivered
================  ====  ==================================================================

Handlers must be idempotent: delivery is at least once. A handler that succeeded is not called
again for the same event unless a *later* handler of that event failed (the whole event is
retried), or the process died after the handlers ran and before the event was marked processed.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import inspect
import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import attrs

from paywire._errors import (
    ConfigurationError,
    InvalidSignature,
    MalformedWebhook,
    UnknownEvent,
)
from paywire._plugins import Paywire
from paywire._provider import Provider as _Provider
from paywire._secrets import redact
from paywire._types import EventReference, EventType, WebhookEvent
from paywire._webhook_body import parse_json_body, valid_text
from paywire.webhooks._store import (
    DATA_IS_RAW_BODY,
    Claim,
    EventStatus,
    EventStore,
    FinishStatus,
    NewEvent,
    StoredEvent,
)

if TYPE_CHECKING:
    from paywire._provider import Provider
    from paywire.webhooks._asgi import AsgiEndpoint
    from paywire.webhooks._worker import EmbeddedWorker
    from paywire.webhooks._wsgi import WsgiEndpoint

__all__ = [
    "DEFAULT_STORE_PATH",
    "Defer",
    "Handler",
    "Mode",
    "Outcome",
    "WebhookProcessor",
    "WebhookResult",
]

_log = logging.getLogger("paywire.webhooks")

#: Where the default :class:`~paywire.webhooks.SQLiteEventStore` lives (relative to the current
#: directory) when no store is given.
DEFAULT_STORE_PATH = "paywire-webhooks.sqlite3"

_MAX_ERROR = 2000
#: How many rejected bodies a processor remembers, to answer their redeliveries unparsed.
_REMEMBERED_REJECTS = 1024

#: ``"inline"``: handlers run in the request. ``"inbox"``: recorded, answered, run by workers.
Mode = Literal["inline", "inbox"]

#: What a delivery was answered (each maps to one HTTP status; see ``docs/webhooks.md``).
Outcome = Literal[
    "processed",
    "accepted",
    "duplicate",
    "unknown_event",
    "deferred",
    "invalid_signature",
    "malformed",
    "refused",
    "in_progress",
    "handler_failed",
    "dead",
]

_STATUS: dict[Outcome, int] = {
    "processed": 200,
    "accepted": 200,
    "duplicate": 200,
    "unknown_event": 200,
    "deferred": 409,
    "invalid_signature": 400,
    "malformed": 400,
    "refused": 400,
    "in_progress": 409,
    "handler_failed": 500,
    # Only a worker's result (the provider was answered long before).
    "dead": 500,
}

#: A handler: a function or a coroutine function taking the event. See the docs for how each
#: kind runs on each path.
Handler = Callable[[WebhookEvent], object]
H = TypeVar("H", bound=Handler)
T = TypeVar("T")

# A JSON escape of NUL that is not itself escaped (odd number of backslashes before "u0000"):
# PostgreSQL's jsonb refuses it.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class Defer(Exception):
    """Raise from a handler when the event cannot be handled *yet* (it refers to something that
    has not arrived). The event is kept as deferred and retried: inline, it is answered 409 (the
    provider delivers it again) and retried after the next event of its provider is processed,
    then with backoff; in the inbox, workers retry it with backoff.
    """

    def __init__(self, reason: str = "deferred by handler") -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class WebhookResult:
    """What happened to one delivery (or one event a worker or a replay ran).

    ``error`` is the failing handler's exception (type and redacted message) for
    ``handler_failed`` and ``dead``, the reason for ``deferred`` and ``malformed``; the
    endpoints never send it to the caller. ``replayed`` holds the results of deferred events
    retried after this one was processed.
    """

    status_code: int
    outcome: Outcome
    provider: str
    event_id: str | None = None
    event: WebhookEvent | None = None
    error: str | None = None
    replayed: tuple[WebhookResult, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the answer is 2xx (the provider will not deliver it again)."""
        return 200 <= self.status_code < 300


def _result(
    outcome: Outcome,
    provider: str,
    event_id: str | None = None,
    event: WebhookEvent | None = None,
    error: str | None = None,
) -> WebhookResult:
    return WebhookResult(_STATUS[outcome], outcome, provider, event_id, event, error)


def _describe(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")[:_MAX_ERROR]


class _Refused(Exception):
    """A fetch-authenticated provider's notification carried a full event."""


_DEFAULT_PARSE = _Provider.parse_webhook


class WebhookProcessor:
    """Receives webhooks for one or more providers and calls the app's handlers exactly when it
    should.

    Args:
        providers: a :class:`paywire.Paywire` (providers are looked up by name, built with their
            configured webhook secret), or a mapping of name → built provider.
        store: where events are recorded; by default an :class:`~paywire.webhooks.SQLiteEventStore`
            at :data:`DEFAULT_STORE_PATH` in the current directory (closed by :meth:`close`).
            Use the same store (file, database) in every process that receives webhooks.
        mode: ``"inline"`` (handlers run in the request) or ``"inbox"`` (recorded durably,
            answered at once, handlers run by workers); see the module's notes.
        lease_seconds: how long one delivery (or worker) may run an event's handlers before
            another may take over (the holder is presumed dead). Keep it above your slowest
            handler. (An event that SQLite holds under a lock is taken over by another process
            only once the holder's process has died, and by another thread of the same process
            after ``lease_seconds``.)
        replay_deferred: after an event is processed (inline, or by an inbox worker), retry up
            to this many deferred events of the same provider (0 turns it off) ...
        replay_backoff: ... at once after its first try, then no sooner than ``replay_backoff``,
            ``3 ×``, ``7 × replay_backoff`` … seconds (at most an hour) after its last try.
            :meth:`replay_pending` retries regardless. (The SQLite store notices an event that
            another process deferred up to ``replay_backoff`` seconds late.)
        max_attempts: (inbox) after this many tries that failed or deferred, an event is
            ``dead``: kept, never retried by itself (``paywire webhooks replay`` revives it).
        retry_backoff: (inbox) a failed or deferred event is tried again at once, then no sooner
            than ``retry_backoff``, ``3 ×``, ``7 ×`` … seconds (at most an hour) after its last
            try.
        worker: (inbox) ``"embedded"`` (default): threads in this process run the handlers,
            started with the first delivery (or :meth:`start_worker`); ``None``: another
            process does (:func:`~paywire.webhooks.register_procrastinate`, or :meth:`work`
            called by you).
        worker_threads: how many threads the embedded worker runs.

    Example::

        processor = WebhookProcessor(paywire)

        @processor.on(EventType.PAYMENT_SUCCEEDED)
        def paid(event: WebhookEvent) -> None:
            invoices.mark_paid(event.invoice_id, event.amount)

        app.add_route("/webhooks/stripe", processor.asgi("stripe"))
    """

    def __init__(
        self,
        providers: Paywire | Mapping[str, Provider[Any]],
        store: EventStore | None = None,
        *,
        mode: Mode = "inline",
        lease_seconds: float = 120.0,
        replay_deferred: int = 10,
        replay_backoff: float = 0.05,
        max_attempts: int = 20,
        retry_backoff: float = 1.0,
        worker: Literal["embedded"] | None = "embedded",
        worker_threads: int = 4,
    ) -> None:
        if lease_seconds <= 0:
            raise ConfigurationError("lease_seconds must be positive")
        if replay_deferred < 0 or replay_backoff < 0 or retry_backoff < 0:
            raise ConfigurationError("replay_deferred and the backoffs must not be negative")
        if mode not in ("inline", "inbox"):
            raise ConfigurationError("mode must be 'inline' or 'inbox'")
        if max_attempts < 1 or worker_threads < 1:
            raise ConfigurationError("max_attempts and worker_threads must be at least 1")
        if worker not in ("embedded", None):
            raise ConfigurationError("worker must be 'embedded' or None")
        self._providers = providers
        self._owns_store = store is None
        if store is None:
            from paywire.webhooks._sqlite import SQLiteEventStore

            store = SQLiteEventStore(DEFAULT_STORE_PATH)
        self.store: EventStore = store
        self.mode: Mode = mode
        self.lease_seconds = lease_seconds
        self.replay_deferred = replay_deferred
        self.replay_backoff = replay_backoff
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.worker_kind = worker
        self.worker_threads = worker_threads
        self._worker: EmbeddedWorker | None = None
        #: Called with (provider, event id) for each event the inbox records (a task engine
        #: defers a job there: see :func:`~paywire.webhooks.register_procrastinate`), and its
        #: awaitable twin for :meth:`process_async`.
        self.dispatch: Callable[[str, str], None] | None = None
        self.dispatch_async: Callable[[str, str], Awaitable[None]] | None = None
        self._worker_lock = threading.Lock()
        self._handlers: dict[EventType, list[Handler]] = {}
        self._any: list[Handler] = []
        self._rejected: collections.OrderedDict[tuple[str, bytes], None] = collections.OrderedDict()
        # Stores whose calls do not block (in memory) are called on the event loop directly.
        self._store_blocks = bool(getattr(store, "blocking", True))

    def __repr__(self) -> str:
        return f"<WebhookProcessor mode={self.mode!r} store={self.store!r}>"

    def close(self) -> None:
        """Stop the embedded worker (waiting for the events it is running) and close the store
        if the processor created it (a store you passed stays yours)."""
        self.stop_worker()
        if self._owns_store:
            self.store.close()

    async def aclose(self) -> None:
        """:meth:`close` from an event loop: also closes the loop's async connections."""
        await asyncio.to_thread(self.stop_worker)
        aclose = getattr(self.store, "aclose", None)
        if aclose is not None:
            await aclose()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> WebhookProcessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- registration -----------------------------------------------------------------------

    def on(self, *event_types: EventType) -> Callable[[H], H]:
        """Register the decorated function (or coroutine function) for these event types (in
        registration order)."""
        if not event_types or not all(isinstance(t, EventType) for t in event_types):
            raise TypeError("on() takes one or more EventType members")

        def register(handler: H) -> H:
            for event_type in event_types:
                self._handlers.setdefault(event_type, []).append(handler)
            return handler

        return register

    def on_any(self, handler: H) -> H:
        """Register ``handler`` for every event type; it runs after the type's own handlers."""
        self._any.append(handler)
        return handler

    def handlers_for(self, event_type: EventType) -> list[Handler]:
        """The handlers an event of ``event_type`` runs, in order."""
        return [*self._handlers.get(event_type, ()), *self._any]

    # -- receiving --------------------------------------------------------------------------

    def provider(self, name: str) -> Provider[Any]:
        """The provider webhooks named ``name`` are verified and parsed with."""
        if isinstance(self._providers, Paywire):
            return self._providers.provider(name)
        try:
            return self._providers[name]
        except KeyError:
            known = ", ".join(sorted(self._providers)) or "none"
            raise ConfigurationError(f"no provider {name!r} for webhooks; known: {known}") from None

    def process(self, provider: str, body: bytes, headers: Mapping[str, str]) -> WebhookResult:
        """Handle one delivery: ``body`` is the raw request body, ``headers`` the request's.

        Raises :class:`~paywire.ConfigurationError` for a provider name that is not configured,
        and lets the store's own errors (database unreachable) and the provider's errors while
        fetching through: the endpoints answer those with 500 so that the provider delivers
        again.
        """
        plugin = self.provider(provider)
        body = bytes(body)
        try:
            plugin.verify_webhook(body, headers)
        except InvalidSignature as exc:
            _log.info("rejected a %s webhook: %s", provider, exc)
            return _result("invalid_signature", provider)
        known = self._known_reject(provider, body)
        if known is not None:
            return known
        try:
            parsed, payload = self._parse(plugin, provider, body, headers)
            if isinstance(parsed, EventReference):
                parsed = self._checked(plugin.fetch_webhook_event(parsed), provider)
            record = _record(provider, parsed, body, payload)
        except _Refused as exc:
            return self._refuse(provider, exc)
        except UnknownEvent as exc:
            return self._ignore(plugin, provider, body, exc)
        except MalformedWebhook as exc:
            return self._reject(plugin, provider, body, exc)
        if self.mode == "inbox":
            return self._accept(provider, parsed, self.store.enqueue(record))
        claim = self.store.record_and_claim(record, lease_seconds=self.lease_seconds)
        if claim.state != "claimed" or claim.token is None:
            return self._unclaimed(claim, provider, parsed)
        result = self._run(provider, parsed, claim.token, failed="pending")
        if result.outcome == "processed" and self.replay_deferred:
            replayed = self._replay(provider, limit=self.replay_deferred, deferred_only=True)
            if replayed:
                result = attrs.evolve(result, replayed=tuple(replayed))
        return result

    async def process_async(
        self, provider: str, body: bytes, headers: Mapping[str, str]
    ) -> WebhookResult:
        """:meth:`process`, awaitable: the provider's ``*_async`` calls, the store's async
        methods where it has them (PostgreSQL: psycopg's async pool), coroutine handlers
        awaited and plain ones run in a worker thread.

        A store whose calls block without async twins (SQLite: the stdlib driver is blocking;
        an async wrapper would only run it in a thread too) is driven by running
        :meth:`process` in one worker thread per delivery, unless a handler is a coroutine
        function.
        """
        plugin = self.provider(provider)
        if (
            self._store_blocks
            and not hasattr(self.store, "record_and_claim_async")
            and not (self.mode == "inline" and self._has_async_handlers())
        ):
            return await asyncio.to_thread(self.process, provider, bytes(body), headers)
        body = bytes(body)
        try:
            await plugin.verify_webhook_async(body, headers)
        except InvalidSignature as exc:
            _log.info("rejected a %s webhook: %s", provider, exc)
            return _result("invalid_signature", provider)
        known = self._known_reject(provider, body)
        if known is not None:
            return known
        try:
            parsed, payload = self._parse(plugin, provider, body, headers)
            if isinstance(parsed, EventReference):
                parsed = self._checked(await plugin.fetch_webhook_event_async(parsed), provider)
            record = _record(provider, parsed, body, payload)
        except _Refused as exc:
            return self._refuse(provider, exc)
        except UnknownEvent as exc:
            return await self._store_call(self._ignore, plugin, provider, body, exc)
        except MalformedWebhook as exc:
            return await self._store_call(self._reject, plugin, provider, body, exc)
        if self.mode == "inbox":
            status = await self._store_async("enqueue", record)
            if status is None and self.dispatch_async is not None:
                await self.dispatch_async(provider, parsed.id)
                return self._accept(provider, parsed, status, dispatched=True)
            return self._accept(provider, parsed, status)
        claim: Claim = await self._store_async(
            "record_and_claim", record, lease_seconds=self.lease_seconds
        )
        if claim.state != "claimed" or claim.token is None:
            return self._unclaimed(claim, provider, parsed)
        result = await self._run_async(provider, parsed, claim.token, failed="pending")
        if result.outcome == "processed" and self.replay_deferred:
            replayed = await self._replay_deferred_async(provider)
            if replayed:
                result = attrs.evolve(result, replayed=tuple(replayed))
        return result

    async def _replay_deferred_async(self, provider: str) -> list[WebhookResult]:
        """The deferred-event retry after a processed event, on the async path."""
        claimed: list[StoredEvent] = await self._store_async(
            "claim_pending",
            provider=provider,
            lease_seconds=self.lease_seconds,
            limit=self.replay_deferred,
            deferred_only=True,
            backoff=self.replay_backoff,
        )
        results = []
        for stored in claimed:
            token = stored.token
            assert token is not None  # claim_pending always sets it
            try:
                event = stored.event
                if event is None:
                    raise ValueError("the stored event has no event JSON")
            except Exception as exc:
                error = f"cannot rebuild the stored event: {_describe(exc)}"
                await self._store_call(
                    self._finish, stored.provider, stored.event_id, token, "deferred", error
                )
                results.append(_result("handler_failed", stored.provider, stored.event_id))
                continue
            results.append(await self._run_async(stored.provider, event, token, failed="deferred"))
        return results

    def _has_async_handlers(self) -> bool:
        handlers = [*self._any, *(h for hs in self._handlers.values() for h in hs)]
        return any(inspect.iscoroutinefunction(h) for h in handlers)

    async def _store_async(self, name: str, *args: Any, **kwargs: Any) -> Any:
        native = getattr(self.store, name + "_async", None)
        if native is not None:
            return await native(*args, **kwargs)
        return await self._store_call(getattr(self.store, name), *args, **kwargs)

    async def _store_call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``func`` (which uses the store) on the loop when the store does not block, else in a
        worker thread."""
        if self._store_blocks:
            return await asyncio.to_thread(func, *args, **kwargs)
        return func(*args, **kwargs)

    def _parse(
        self, plugin: Provider[Any], provider: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[WebhookEvent | EventReference, Any]:
        """What the provider made of the delivery, and the JSON body parsed when the processor
        parsed it (the default parse: the stored event need not repeat data that is the body,
        see _to_json)."""
        payload: Any = None
        try:
            if type(plugin).parse_webhook is _DEFAULT_PARSE:
                payload = parse_json_body(body, provider=plugin.name)
                if type(payload) is not dict and not isinstance(payload, Mapping):
                    raise UnknownEvent(
                        "the body is not a JSON object", provider=plugin.name, event_type=None
                    )
                parsed: WebhookEvent | EventReference = plugin.handle_webhook_event(payload)
            else:
                parsed = plugin.parse_webhook(body, headers)
        except RecursionError:  # a plugin's own parser walked a deep body
            raise MalformedWebhook("the body nests too deeply", provider=provider) from None
        if isinstance(parsed, EventReference):
            # Only the id is taken from an unauthenticated notification; it must be text.
            if not isinstance(parsed.resource_id, str) or not valid_text(parsed.resource_id):
                raise MalformedWebhook(
                    "the notification's resource id is not valid text", provider=provider
                )
            return parsed, None
        if plugin.webhook_authentication == "fetch":
            raise _Refused(
                f"the {provider} provider is authenticated by fetching, yet its parser returned "
                "a full event from the notification; refused"
            )
        return self._checked(parsed, provider), payload

    @staticmethod
    def _checked(event: WebhookEvent, provider: str) -> WebhookEvent:
        if not isinstance(event, WebhookEvent):
            raise TypeError(
                f"the {provider} provider returned {type(event).__name__}, not an event"
            )
        return event

    def _accept(
        self,
        provider: str,
        event: WebhookEvent,
        status: EventStatus | None,
        *,
        dispatched: bool = False,
    ) -> WebhookResult:
        if status is None:
            if self.dispatch is not None and not dispatched:
                self.dispatch(provider, event.id)
            worker = self._worker
            if worker is None and self.worker_kind == "embedded":
                worker = self.start_worker()
            if worker is not None:
                worker.wake()
            return _result("accepted", provider, event.id, event)
        if status == "rejected":  # pragma: no cover - digests never collide with event ids
            return _result("malformed", provider, event.id, event)
        return _result("duplicate", provider, event.id, event)

    @staticmethod
    def _unclaimed(claim: Claim, provider: str, event: WebhookEvent) -> WebhookResult:
        if claim.state == "busy":
            return _result("in_progress", provider, event.id, event)
        return _result("duplicate", provider, event.id, event)

    def _refuse(self, provider: str, exc: Exception) -> WebhookResult:
        _log.error("%s", exc)
        return _result("refused", provider, error=str(exc))

    @staticmethod
    def _digest_key(body: bytes) -> str:
        # Without a normalized event there is no event id; the body's digest stands in for it,
        # prefixed so that it can never collide with a provider's own id.
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def _ignore(
        self, plugin: Provider[Any], provider: str, body: bytes, exc: UnknownEvent
    ) -> WebhookResult:
        key = self._digest_key(body)
        event_type = exc.event_type if isinstance(exc.event_type, str) else None
        if event_type is not None and not valid_text(event_type):
            event_type = None
        if plugin.webhook_authentication == "fetch":
            # Nothing of an unauthenticated body is written: forging one changes nothing.
            return _result("unknown_event", provider, key)
        new = self.store.record_ignored(
            NewEvent(provider, key, event_type or "", event_json=None, raw_body=body)
        )
        if new:
            _log.info("ignored a %s webhook (%s): %s", provider, event_type or "?", exc)
        return _result("unknown_event", provider, key)

    def _reject(
        self, plugin: Provider[Any], provider: str, body: bytes, exc: MalformedWebhook
    ) -> WebhookResult:
        key = self._digest_key(body)
        reason = redact(str(exc))[:_MAX_ERROR]
        if plugin.webhook_authentication != "fetch":
            new = self.store.record_rejected(
                NewEvent(provider, key, "", event_json=None, raw_body=body)
            )
            if new:
                _log.warning("rejected a malformed %s webhook: %s", provider, reason)
            remembered = self._rejected
            remembered[provider, hashlib.sha256(body).digest()] = None
            while len(remembered) > _REMEMBERED_REJECTS:
                remembered.popitem(last=False)
        return _result("malformed", provider, key, error=reason)

    def _known_reject(self, provider: str, body: bytes) -> WebhookResult | None:
        """The answer to a redelivery of a body this processor rejected (without parsing it
        again); ``None`` for any other body. Costs nothing while no body was rejected."""
        if not self._rejected:
            return None
        if (provider, hashlib.sha256(body).digest()) not in self._rejected:
            return None
        return _result("malformed", provider, self._digest_key(body), error="rejected before")

    # -- running handlers -------------------------------------------------------------------

    @staticmethod
    def _call_sync(func: Callable[[WebhookEvent], object], event: WebhookEvent) -> object:
        result = func(event)
        if result is not None and inspect.isawaitable(result):
            # A coroutine handler on the sync path: run to completion in an event loop of its
            # own (made and closed for this call; process_async awaits it instead).
            return asyncio.run(_awaited(result))
        return result

    def _steps(self, provider: str, event: WebhookEvent) -> WebhookEvent:
        """The provider's follow-up, then the handlers (given the follow-up's event if it
        returned one); returns the event the handlers saw."""
        completed = self.provider(provider).follow_up(event)
        if completed is not None:
            event = self._checked(completed, provider)
        for handler in self.handlers_for(event.type):
            self._call_sync(handler, event)
        return event

    async def _steps_async(self, provider: str, event: WebhookEvent) -> WebhookEvent:
        completed = await self.provider(provider).follow_up_async(event)
        if completed is not None:
            event = self._checked(completed, provider)
        for handler in self.handlers_for(event.type):
            if inspect.iscoroutinefunction(handler):
                await cast("Awaitable[object]", handler(event))
            else:
                result = await asyncio.to_thread(handler, event)
                if inspect.isawaitable(result):
                    await result
        return event

    def _run(
        self, provider: str, event: WebhookEvent, token: str, *, failed: FinishStatus
    ) -> WebhookResult:
        """Run the follow-up and the handlers under the lease ``token``; on a failure the event
        is left ``failed``."""
        try:
            # The provider's own follow-up first (PayPal captures an approved order), so that
            # a failure there is retried exactly like a handler's.
            event = self._steps(provider, event)
        except Defer as defer:
            return self._deferred(provider, event, token, defer)
        except Exception as exc:
            return self._failed(provider, event, token, exc, failed)
        self._finish(provider, event.id, token, "processed", None)
        return _result("processed", provider, event.id, event)

    async def _run_async(
        self, provider: str, event: WebhookEvent, token: str, *, failed: FinishStatus
    ) -> WebhookResult:
        try:
            event = await self._steps_async(provider, event)
        except Defer as defer:
            reason = redact(defer.reason)[:_MAX_ERROR]
            await self._finish_async(provider, event.id, token, "deferred", reason)
            return _result("deferred", provider, event.id, event, reason)
        except Exception as exc:
            error = self._log_failure(provider, event, exc, failed)
            await self._finish_async(provider, event.id, token, failed, error)
            return _result("handler_failed", provider, event.id, event, error)
        await self._finish_async(provider, event.id, token, "processed", None)
        return _result("processed", provider, event.id, event)

    async def _finish_async(
        self, provider: str, event_id: str, token: str, status: FinishStatus, error: str | None
    ) -> None:
        if hasattr(self.store, "finish_async"):
            done = await self._store_async(
                "finish", provider, event_id, token, status=status, error=error
            )
            if not done:
                self._lease_lost(provider, event_id, status)
            return
        await self._store_call(self._finish, provider, event_id, token, status, error)

    def _deferred(
        self,
        provider: str,
        event: WebhookEvent,
        token: str,
        defer: Defer,
        status: FinishStatus = "deferred",
    ) -> WebhookResult:
        reason = redact(defer.reason)[:_MAX_ERROR]
        self._finish(provider, event.id, token, status, reason)
        return _result(
            "dead" if status == "dead" else "deferred", provider, event.id, event, reason
        )

    def _failed(
        self,
        provider: str,
        event: WebhookEvent,
        token: str,
        exc: Exception,
        status: FinishStatus,
    ) -> WebhookResult:
        error = self._log_failure(provider, event, exc, status)
        self._finish(provider, event.id, token, status, error)
        return _result(
            "dead" if status == "dead" else "handler_failed", provider, event.id, event, error
        )

    @staticmethod
    def _log_failure(
        provider: str, event: WebhookEvent, exc: Exception, status: FinishStatus
    ) -> str:
        _log.error(
            "a handler failed on %s event %s (%s); it stays %s",
            provider,
            event.id,
            event.type.value,
            status,
            exc_info=exc,
        )
        return _describe(exc)

    def _finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        status: FinishStatus,
        error: str | None,
    ) -> None:
        if not self.store.finish(provider, event_id, token, status=status, error=error):
            self._lease_lost(provider, event_id, status)

    def _lease_lost(self, provider: str, event_id: str, status: FinishStatus) -> None:
        # The lease ran out while the handlers ran and another delivery took the event over:
        # its result stands. Raise lease_seconds above the slowest handler.
        _log.warning(
            "the lease on %s event %s expired before its handlers finished (%s); "
            "lease_seconds=%s is too short",
            provider,
            event_id,
            status,
            self.lease_seconds,
        )

    # -- the backlog ------------------------------------------------------------------------

    def pending(
        self, provider: str | None = None, *, limit: int | None = None
    ) -> list[StoredEvent]:
        """Events recorded but not processed (failed, deferred, waiting in the inbox or
        interrupted), oldest first."""
        return self.store.pending(provider=provider, limit=limit)

    def replay_pending(
        self, provider: str | None = None, *, limit: int = 100
    ) -> list[WebhookResult]:
        """Run the handlers of up to ``limit`` pending and deferred events (not held by another
        worker), oldest first, and return what happened to each. Safe to call from several
        workers at once (a cron job, a periodic task): each event goes to one of them."""
        return self._replay(provider, limit=limit, deferred_only=False)

    def work(self, provider: str | None = None, *, limit: int = 10) -> list[WebhookResult]:
        """One round of an inbox worker: claim up to ``limit`` events that are due (new ones,
        and failed or deferred ones whose backoff is over), run their handlers and record each
        outcome — ``processed``, ``handler_failed``/``deferred`` (tried again later) or
        ``dead`` once ``max_attempts`` is reached. Returns what happened to each."""
        claimed = self.store.claim_pending(
            provider=provider,
            lease_seconds=self.lease_seconds,
            limit=limit,
            backoff=self.retry_backoff,
        )
        results = [self._run_stored(stored, inbox=True) for stored in claimed]
        if self.replay_deferred:
            # Ordering help, as inline: an event that was waiting for one just processed is
            # tried again now (no sooner than its replay_backoff allows), not after its
            # retry_backoff.
            for name in sorted({r.provider for r in results if r.outcome == "processed"}):
                waiting = self.store.claim_pending(
                    provider=name,
                    lease_seconds=self.lease_seconds,
                    limit=self.replay_deferred,
                    deferred_only=True,
                    backoff=self.replay_backoff,
                )
                results += [self._run_stored(stored, inbox=True) for stored in waiting]
        return results

    def run_event(self, provider: str, event_id: str) -> WebhookResult | None:
        """Claim one open event (pending, deferred) and run its handlers now, as a worker
        would; ``None`` when it is not open or another worker holds it."""
        token = self.store.claim(provider, event_id, lease_seconds=self.lease_seconds)
        if token is None:
            return None
        stored = self.store.get(provider, event_id)
        if stored is None:  # pragma: no cover - a claimed event exists
            return None
        return self._run_stored(attrs.evolve(stored, token=token), inbox=True)

    def _replay(
        self, provider: str | None, *, limit: int, deferred_only: bool
    ) -> list[WebhookResult]:
        claimed = self.store.claim_pending(
            provider=provider,
            lease_seconds=self.lease_seconds,
            limit=limit,
            deferred_only=deferred_only,
            backoff=self.replay_backoff if deferred_only else 0.0,
        )
        return [self._run_stored(stored, inbox=False) for stored in claimed]

    def _run_stored(self, stored: StoredEvent, *, inbox: bool) -> WebhookResult:
        """Run a claimed stored event. Inline replays leave a failing deferred event deferred
        (so automatic replay keeps trying it) and any other failure pending; the inbox moves an
        event to ``dead`` once it has had ``max_attempts`` tries."""
        token = stored.token
        assert token is not None  # claim_pending always sets it
        failed: FinishStatus = "deferred" if stored.status == "deferred" else "pending"
        if inbox and stored.attempts >= self.max_attempts:
            failed = "dead"
        try:
            event = stored.event
            if event is None:
                raise ValueError("the stored event has no event JSON")
        except Exception as exc:
            error = f"cannot rebuild the stored event: {_describe(exc)}"
            self._finish(stored.provider, stored.event_id, token, failed, error)
            outcome: Outcome = "dead" if failed == "dead" else "handler_failed"
            return _result(outcome, stored.provider, stored.event_id, error=error)
        if not inbox:
            return self._run(stored.provider, event, token, failed=failed)
        try:
            event = self._steps(stored.provider, event)
        except Defer as defer:
            return self._deferred(
                stored.provider, event, token, defer, "dead" if failed == "dead" else "deferred"
            )
        except Exception as exc:
            return self._failed(stored.provider, event, token, exc, failed)
        self._finish(stored.provider, event.id, token, "processed", None)
        return _result("processed", stored.provider, event.id, event)

    # -- the embedded worker ----------------------------------------------------------------

    def start_worker(self) -> EmbeddedWorker:
        """Start (once per process) the embedded worker's threads; returns it."""
        from paywire.webhooks._worker import EmbeddedWorker

        with self._worker_lock:
            worker = self._worker
            if worker is None or not worker.alive():
                worker = self._worker = EmbeddedWorker(self, threads=self.worker_threads)
                worker.start()
            return worker

    def stop_worker(self, timeout: float | None = None) -> None:
        """Stop the embedded worker: no new claims, and wait (up to ``timeout`` seconds) for
        the events it is running. What it did not start stays pending for the next worker."""
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(timeout)

    # -- endpoints --------------------------------------------------------------------------

    def asgi(self, provider: str, *, max_body_bytes: int = 1 << 20) -> AsgiEndpoint:
        """An ASGI app that receives ``provider``'s webhooks; see :class:`AsgiEndpoint`.

        Starlette / FastAPI: ``app.mount("/webhooks/stripe", processor.asgi("stripe"))`` (the
        provider posts to ``/webhooks/stripe/``) or ``app.add_route("/webhooks/stripe",
        processor.asgi("stripe"))`` (exactly ``/webhooks/stripe``).
        """
        from paywire.webhooks._asgi import AsgiEndpoint

        self.provider(provider)  # fail at start-up, not on the first webhook
        return AsgiEndpoint(self, provider, max_body_bytes=max_body_bytes)

    def wsgi(self, provider: str, *, max_body_bytes: int = 1 << 20) -> WsgiEndpoint:
        """A WSGI app that receives ``provider``'s webhooks; see :class:`WsgiEndpoint`.

        Flask: ``app.wsgi_app = mount_wsgi(app.wsgi_app, {"/webhooks/stripe":
        processor.wsgi("stripe")})``.
        """
        from paywire.webhooks._wsgi import WsgiEndpoint

        self.provider(provider)
        return WsgiEndpoint(self, provider, max_body_bytes=max_body_bytes)


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


# Built once: json.dumps with options builds a new encoder on every call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# The event's optional identifiers, written only when set.
_IDS = (
    "invoice_id",
    "transaction_id",
    "refund_id",
    "payment_method_id",
    "customer_id",
    "session_id",
)


def _record(provider: str, event: WebhookEvent, body: bytes, payload: Any = None) -> NewEvent:
    """What the store keeps of ``event``, its text checked first: a NUL or a lone surrogate
    (valid JSON escapes) fits no database column, so such an event is malformed. Every text the
    stores keep of it — id, type, identifiers, data — is in its JSON, so that is what is
    checked: a lone surrogate stays one there, a NUL becomes the escape ``\\u0000``."""
    if not isinstance(event.id, str) or not event.id:
        raise MalformedWebhook("the event has no id", provider=provider)
    try:
        text = _to_json(event, payload, body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise MalformedWebhook(
            f"the event cannot be stored ({type(exc).__name__})", provider=provider
        ) from None
    if not valid_text(text) or ("\\u0000" in text and _NUL_ESCAPE.search(text)):
        raise MalformedWebhook("the event holds a NUL or a lone surrogate", provider=provider)
    return NewEvent(
        provider=provider,
        event_id=event.id,
        event_type=event.type.value,
        event_json=text,
        raw_body=body,
    )


def _to_json(event: WebhookEvent, payload: Any = None, body: bytes | None = None) -> str:
    """The event as the converter writes it, less the fields that are ``None`` (their default;
    a test holds the two equal), built directly: this runs for every delivery. ``data`` that is
    the JSON body parsed (``payload``, when the caller has it; else ``body`` is parsed to
    compare) is not written again (``StoredEvent.event`` rebuilds it)."""
    data: object = DATA_IS_RAW_BODY
    if payload is not None:
        same = event.data is payload or event.data == payload
    else:
        same = body is not None and _is_body(event.data, body)
    if not same:
        from paywire._convert import to_json_dict

        data = to_json_dict(event.data)
    doc: dict[str, object] = {
        "provider": event.provider,
        "id": event.id,
        "type": event.type.value,
        "raw_type": event.raw_type,
    }
    if event.created_at is not None:
        doc["created_at"] = event.created_at.isoformat()
    if event.amount is not None:
        doc["amount"] = {"amount": str(event.amount.amount), "currency": event.amount.currency}
    for name in _IDS:
        value = getattr(event, name)
        if value is not None:
            doc[name] = value
    if event.method_saved:
        doc["method_saved"] = True
    doc["data"] = data
    return _encode(doc)


def _is_body(data: Mapping[str, Any], body: bytes) -> bool:
    """Whether ``data`` is ``body`` parsed as JSON (what every JSON provider puts there)."""
    if body.lstrip()[:1] != b"{":
        return False
    try:
        return bool(json.loads(body) == data)
    except (ValueError, RecursionError):
        return False
