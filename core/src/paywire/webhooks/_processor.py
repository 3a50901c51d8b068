"""The webhook processor: verify → parse → record → deduplicate → follow-up and handlers → done.

What each delivery is answered (``WebhookResult.status_code`` is what the endpoints send):

================  ====  ==================================================================
outcome           code  meaning
================  ====  ==================================================================
processed         200   every handler succeeded; the event is marked processed
duplicate         200   the event was already processed: handlers are not called again
unknown_event     200   signed correctly but of a type the plugin does not normalize (or not
                        an event at all): recorded as ignored so the provider stops sending it
invalid_signature 400   nothing is parsed or stored
deferred          409   a handler raised :class:`Defer` (the event needs one that has not
                        arrived): the event is kept as deferred and retried by the processor —
                        at once after the next event of its provider is processed, then with
                        backoff — and by :meth:`WebhookProcessor.replay_pending`; meanwhile
                        the provider's own redeliveries are a second way in, and once it is
                        processed they are answered ``duplicate``
in_progress       409   another delivery of the same event holds the lease right now; the
                        provider delivers again later and gets ``duplicate`` (or a fresh try)
handler_failed    500   a handler raised: the event stays pending (with the error) and the
                        provider redelivers it; :meth:`~WebhookProcessor.replay_pending` also
                        retries it
================  ====  ==================================================================

Every verified event is recorded — its normalized JSON (:func:`paywire.to_json_dict`) and the raw
body, with its outcome — before it is answered, so an event that arrives before the one it
depends on (a refund before its payment) is never lost. (Stores differ in *when* a new event is
first written: the in-memory and PostgreSQL stores, and SQLite with ``new_events="record"``,
write it before its handlers run; SQLite by default holds it under a lock while they run and
writes it once, with the outcome — see :class:`~paywire.webhooks.SQLiteEventStore`.) Only events
that are done (processed or ignored) are acknowledged with a 2xx: nothing still waiting depends
on the provider having been told "received", so the provider keeps delivering everything that
is not finished — including an event whose process died while its handlers ran.

Handlers must be idempotent: delivery is at least once. A handler that succeeded is not called
again for the same event unless a *later* handler of that event failed (the whole event is
retried), or the process died after the handlers ran and before the event was marked processed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs

from paywire._errors import ConfigurationError, InvalidSignature, UnknownEvent
from paywire._plugins import Paywire
from paywire._secrets import redact
from paywire._types import EventType, WebhookEvent
from paywire.webhooks._store import (
    DATA_IS_RAW_BODY,
    EventStore,
    FinishStatus,
    NewEvent,
    StoredEvent,
)

if TYPE_CHECKING:
    from paywire._provider import Provider
    from paywire.webhooks._asgi import AsgiEndpoint
    from paywire.webhooks._wsgi import WsgiEndpoint

__all__ = [
    "DEFAULT_STORE_PATH",
    "Defer",
    "Handler",
    "Outcome",
    "WebhookProcessor",
    "WebhookResult",
]

_log = logging.getLogger("paywire.webhooks")

#: Where the default :class:`~paywire.webhooks.SQLiteEventStore` lives (relative to the current
#: directory) when no store is given.
DEFAULT_STORE_PATH = "paywire-webhooks.sqlite3"

_MAX_ERROR = 2000

Outcome = Literal[
    "processed",
    "duplicate",
    "unknown_event",
    "deferred",
    "invalid_signature",
    "in_progress",
    "handler_failed",
]

_STATUS: dict[Outcome, int] = {
    "processed": 200,
    "duplicate": 200,
    "unknown_event": 200,
    "deferred": 409,
    "invalid_signature": 400,
    "in_progress": 409,
    "handler_failed": 500,
}

Handler = Callable[[WebhookEvent], object]
H = TypeVar("H", bound=Handler)


class Defer(Exception):
    """Raise from a handler when the event cannot be handled *yet* (it refers to something that
    has not arrived). The event is kept as deferred and answered 409, so the provider delivers it
    again; the processor also retries it after the next event of its provider is processed (then
    with backoff), and :meth:`WebhookProcessor.replay_pending` retries it on demand.
    """

    def __init__(self, reason: str = "deferred by handler") -> None:
        super().__init__(reason)
        self.reason = reason


@attrs.frozen
class WebhookResult:
    """What happened to one delivery (or one replayed event).

    ``error`` is the failing handler's exception (type and redacted message) for
    ``handler_failed``, the reason for ``deferred``; the endpoints never send it to the caller.
    ``replayed`` holds the results of deferred events retried after this one was processed.
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


class WebhookProcessor:
    """Receives webhooks for one or more providers and calls the app's handlers exactly when it
    should.

    Args:
        providers: a :class:`paywire.Paywire` (providers are looked up by name, built with their
            configured webhook secret), or a mapping of name → built provider.
        store: where events are recorded; by default an :class:`~paywire.webhooks.SQLiteEventStore`
            at :data:`DEFAULT_STORE_PATH` in the current directory (closed by :meth:`close`).
            Use the same store (file, database) in every process that receives webhooks.
        lease_seconds: how long one delivery may run its handlers before another delivery of the
            same event may take over (the holder is presumed dead). Keep it above your slowest
            handler. (An event that SQLite holds under a lock is taken over by another process
            only once the holder's process has died — the operating system tells — and by
            another thread of the same process after ``lease_seconds``.)
        replay_deferred: after an event is processed, retry up to this many deferred events of the
            same provider (0 turns it off) ...
        replay_backoff: ... at once after its first try, then no sooner than ``replay_backoff``,
            ``3 ×``, ``7 × replay_backoff`` … seconds (at most an hour) after its last try, so that
            an event that keeps deferring does not cost a retry on every processed event.
            :meth:`replay_pending` retries regardless. (The SQLite store notices an event that
            another process deferred up to ``replay_backoff`` seconds late: it remembers that
            nothing was due between looks.)

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
        lease_seconds: float = 120.0,
        replay_deferred: int = 10,
        replay_backoff: float = 0.05,
    ) -> None:
        if lease_seconds <= 0:
            raise ConfigurationError("lease_seconds must be positive")
        if replay_deferred < 0 or replay_backoff < 0:
            raise ConfigurationError("replay_deferred and replay_backoff must not be negative")
        self._providers = providers
        self._owns_store = store is None
        if store is None:
            from paywire.webhooks._sqlite import SQLiteEventStore

            store = SQLiteEventStore(DEFAULT_STORE_PATH)
        self.store: EventStore = store
        self.lease_seconds = lease_seconds
        self.replay_deferred = replay_deferred
        self.replay_backoff = replay_backoff
        self._handlers: dict[EventType, list[Handler]] = {}
        self._any: list[Handler] = []

    def __repr__(self) -> str:
        return f"<WebhookProcessor store={self.store!r}>"

    def close(self) -> None:
        """Close the store if the processor created it (a store you passed stays yours)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> WebhookProcessor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- registration -----------------------------------------------------------------------

    def on(self, *event_types: EventType) -> Callable[[H], H]:
        """Register the decorated function for these event types (in registration order)."""
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

    # -- processing -------------------------------------------------------------------------

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
        and lets the store's own errors (database unreachable) through: the endpoints answer
        those with 500 so that the provider delivers again.
        """
        plugin = self.provider(provider)
        body = bytes(body)
        try:
            plugin.verify_webhook_signature(body, headers)
        except InvalidSignature as exc:
            _log.info("rejected a %s webhook: %s", provider, exc)
            return _result("invalid_signature", provider)
        try:
            payload = json.loads(body)
        except ValueError as exc:  # signed, yet not JSON: sending it again will not help
            return self._ignore(provider, body, exc)
        try:
            if not isinstance(payload, Mapping):
                raise UnknownEvent(
                    "the body is not a JSON object", provider=provider, event_type=None
                )
            event = plugin.handle_webhook_event(payload)
        except UnknownEvent as exc:
            return self._ignore(provider, body, exc)

        record = NewEvent(
            provider=provider,
            event_id=event.id,
            event_type=event.type.value,
            event_json=_to_json(event, payload),
            raw_body=body,
        )
        claim = self.store.record_and_claim(record, lease_seconds=self.lease_seconds)
        if claim.state == "busy":
            return _result("in_progress", provider, event.id, event)
        if claim.state != "claimed" or claim.token is None:
            return _result("duplicate", provider, event.id, event)
        result = self._run(provider, event, claim.token, failed="pending")
        if result.outcome == "processed" and self.replay_deferred:
            replayed = self._replay(provider, limit=self.replay_deferred, deferred_only=True)
            if replayed:
                result = attrs.evolve(result, replayed=tuple(replayed))
        return result

    def _ignore(self, provider: str, body: bytes, exc: Exception) -> WebhookResult:
        # Without a normalized event there is no event id; the body's digest stands in for it,
        # prefixed so that it can never collide with a provider's own id.
        key = "sha256:" + hashlib.sha256(body).hexdigest()
        event_type = exc.event_type if isinstance(exc, UnknownEvent) else None
        new = self.store.record_ignored(
            NewEvent(provider, key, event_type or "", event_json=None, raw_body=body)
        )
        if new:
            _log.info("ignored a %s webhook (%s): %s", provider, event_type or "?", exc)
        return _result("unknown_event", provider, key)

    def _run(
        self, provider: str, event: WebhookEvent, token: str, *, failed: FinishStatus
    ) -> WebhookResult:
        """Run the follow-up and the handlers under the lease ``token``; on a failure the event
        is left ``failed``."""
        try:
            # The provider's own follow-up first (PayPal captures an approved order), so that
            # a failure there is retried on redelivery exactly like a handler's.
            self.provider(provider).follow_up(event)
            for handler in self.handlers_for(event.type):
                handler(event)
        except Defer as defer:
            reason = redact(defer.reason)[:_MAX_ERROR]
            self._finish(provider, event.id, token, "deferred", reason)
            return _result("deferred", provider, event.id, event, reason)
        except Exception as exc:
            error = _describe(exc)
            _log.error(
                "a handler failed on %s event %s (%s); it stays %s",
                provider,
                event.id,
                event.type.value,
                failed,
                exc_info=exc,
            )
            self._finish(provider, event.id, token, failed, error)
            return _result("handler_failed", provider, event.id, event, error)
        self._finish(provider, event.id, token, "processed", None)
        return _result("processed", provider, event.id, event)

    def _finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        status: FinishStatus,
        error: str | None,
    ) -> None:
        if not self.store.finish(provider, event_id, token, status=status, error=error):
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
        """Events recorded but not processed (failed, deferred or interrupted), oldest first."""
        return self.store.pending(provider=provider, limit=limit)

    def replay_pending(
        self, provider: str | None = None, *, limit: int = 100
    ) -> list[WebhookResult]:
        """Run the handlers of up to ``limit`` pending and deferred events (not held by another
        worker), oldest first, and return what happened to each. Safe to call from several
        workers at once (a cron job, a periodic task): each event goes to one of them."""
        return self._replay(provider, limit=limit, deferred_only=False)

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
        results = []
        for stored in claimed:
            token = stored.token
            if token is None:  # pragma: no cover - claim_pending always sets it
                continue
            # A deferred event whose retry fails stays deferred, so that automatic replay keeps
            # trying it; any other failure leaves it pending.
            failed: FinishStatus = "deferred" if stored.status == "deferred" else "pending"
            try:
                event = stored.event
            except Exception as exc:
                error = f"cannot rebuild the stored event: {_describe(exc)}"
                self._finish(stored.provider, stored.event_id, token, failed, error)
                results.append(_result("handler_failed", stored.provider, stored.event_id))
                continue
            if event is None:  # pragma: no cover - ignored events are never open
                continue
            results.append(self._run(stored.provider, event, token, failed=failed))
        return results

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


def _to_json(event: WebhookEvent, payload: Mapping[str, Any]) -> str:
    """The event as the converter writes it, less the fields that are ``None`` (their default;
    a test holds the two equal), built directly: this runs for every delivery, and the generic
    converter costs more than the rest of the path. ``data`` that is the payload is not written
    again (``StoredEvent.event`` rebuilds it)."""
    data: object = DATA_IS_RAW_BODY
    if event.data is not payload and event.data != payload:
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
