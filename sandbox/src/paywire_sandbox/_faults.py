"""Fault injection: scripted failures for provider routes and webhook delivery.

HTTP faults are matched on provider + method + path glob (the path below the provider's prefix,
e.g. ``/v1/payment_intents*``) and applied by :class:`ProviderApp`, the ASGI wrapper the framework
puts around every fake. Webhook faults (``duplicate_webhook``, ``reorder_webhooks``) are matched on
provider + event-type glob and applied by the webhook hub. Each fault fires ``count`` times (or
until cleared when ``count`` is ``None``) and is then removed.

A fake may shape the answer of injected 5xx/429 responses (and of the framework's own 404/405
and "sandbox internal error" 500) with :meth:`Fake.error_body`, returning the content, its
content type and optionally headers (a request id); otherwise a generic JSON body is used.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import fnmatch
import json
import logging
import math
import secrets
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import attrs
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paywire_sandbox._fake import Fake
from paywire_sandbox._guard import Headers, encode_headers, run_guarded, send_simple

__all__ = [
    "Fault",
    "FaultKind",
    "FaultSet",
    "IncompleteResponseFilter",
    "ProviderApp",
    "error_body_for",
]

logger = logging.getLogger("paywire_sandbox")

#: Longest injectable delay, so a typo cannot hang a test run for hours.
MAX_DELAY: Final = 300.0
#: The message uvicorn logs when an app returns mid-response; expected for drop_after_commit.
_UVICORN_INCOMPLETE = "ASGI callable returned without completing response."
#: Set (in the request's task context) while a drop_after_commit response is being abandoned, so
#: that the server's "incomplete response" error for exactly that request can be silenced.
_DROPPING: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "paywire_sandbox_dropping", default=False
)


class FaultKind(enum.StrEnum):
    """What a fault does."""

    SERVER_ERROR = "server_error"
    RATE_LIMIT = "rate_limit"
    DELAY = "delay"
    DROP_AFTER_COMMIT = "drop_after_commit"
    DUPLICATE_WEBHOOK = "duplicate_webhook"
    REORDER_WEBHOOKS = "reorder_webhooks"

    @property
    def is_webhook(self) -> bool:
        """Whether this kind applies to webhook delivery rather than to API requests."""
        return self in (FaultKind.DUPLICATE_WEBHOOK, FaultKind.REORDER_WEBHOOKS)


@attrs.define(eq=False)
class Fault:
    """One scripted failure. ``count`` is what is left (``None``: until cleared)."""

    id: str
    provider: str
    kind: FaultKind
    path: str
    method: str | None
    count: int | None
    status: int | None = None
    retry_after: int | None = None
    delay: float | None = None
    #: The id of another fault this one waits for: it matches only once that one has fired.
    after: str | None = None
    hits: int = 0
    #: Events a ``reorder_webhooks`` fault is holding back (opaque to this module).
    held: list[Any] = attrs.field(factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the control API lists."""
        return {
            "id": self.id,
            "provider": self.provider,
            "kind": str(self.kind),
            "method": self.method,
            "path": self.path,
            "count": self.count,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "after": self.after,
            "hits": self.hits,
            "held": len(self.held),
        }


_FAULT_FIELDS: Final = frozenset(
    {"provider", "kind", "method", "path", "count", "status", "retry_after", "delay", "after"}
)


def _int_field(data: Mapping[str, object], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key!r} must be an integer")
    return value


def _parse_target(kind: FaultKind, data: Mapping[str, object]) -> tuple[str | None, str]:
    """``(method or None for any, path glob)``; webhook faults match event types, any method."""
    path = data.get("path", "*")
    if not isinstance(path, str) or not path:
        raise ValueError("'path' must be a non-empty glob string")
    if kind.is_webhook:
        return None, path
    if not path.startswith(("/", "*")):
        raise ValueError("'path' must start with '/' (the path below the provider prefix)")
    method = data.get("method")
    if method is None or method == "*":
        return None, path
    if not isinstance(method, str) or not method.isalpha():
        raise ValueError("'method' must be an HTTP method name or '*'")
    return method.upper(), path


def _parse_options(
    kind: FaultKind, data: Mapping[str, object]
) -> tuple[int | None, int | None, float | None]:
    """``(status, retry_after, delay)``, each given only for the kind it applies to."""
    status = _int_field(data, "status")
    retry_after = _int_field(data, "retry_after")
    delay_value = data.get("delay")
    delay: float | None = None
    if delay_value is not None:
        if isinstance(delay_value, bool) or not isinstance(delay_value, int | float):
            raise ValueError("'delay' must be a number of seconds")
        delay = float(delay_value)
    rate_limited_429 = kind is FaultKind.RATE_LIMIT and status == 429
    if status is not None and kind is not FaultKind.SERVER_ERROR and not rate_limited_429:
        raise ValueError("'status' applies only to server_error")
    if retry_after is not None and kind is not FaultKind.RATE_LIMIT:
        raise ValueError("'retry_after' applies only to rate_limit")
    if delay is not None and kind is not FaultKind.DELAY:
        raise ValueError("'delay' applies only to the delay kind")
    if kind is FaultKind.SERVER_ERROR:
        status = 500 if status is None else status
        if not 500 <= status <= 599:
            raise ValueError("'status' for server_error must be 500-599")
    elif kind is FaultKind.RATE_LIMIT:
        status = 429
        retry_after = 1 if retry_after is None else retry_after
        if not 0 <= retry_after <= 86_400:
            raise ValueError("'retry_after' must be 0-86400 seconds")
    elif kind is FaultKind.DELAY and (
        delay is None or not math.isfinite(delay) or not 0 < delay <= MAX_DELAY
    ):
        raise ValueError(f"'delay' must be a number of seconds in (0, {MAX_DELAY:g}]")
    return status, retry_after, delay


class FaultSet:
    """The faults currently armed. Mutated only on the server's event loop."""

    def __init__(self, providers: Callable[[], Mapping[str, object]]) -> None:
        self._providers = providers
        self._faults: list[Fault] = []
        #: Ids of faults that have fired at least once (what ``after`` waits for).
        self._fired: set[str] = set()
        #: True while any HTTP fault is armed: the per-request fast path checks only this.
        self.http_active = False

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def add_from_json(self, data: object) -> Fault:
        """Validate a control-API request body and arm the fault. Raises ``ValueError``."""
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        unknown = sorted(set(data) - _FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(map(str, unknown))}")
        provider = data.get("provider")
        if not isinstance(provider, str) or provider not in self._providers():
            known = ", ".join(sorted(self._providers())) or "none"
            raise ValueError(f"'provider' must be one of the served fakes ({known})")
        try:
            kind = FaultKind(str(data.get("kind")))
        except ValueError:
            kinds = ", ".join(k.value for k in FaultKind)
            raise ValueError(f"'kind' must be one of: {kinds}") from None
        method, path = _parse_target(kind, data)
        count = _int_field(data, "count") if "count" in data else 1
        if count is not None and count < 1:
            raise ValueError("'count' must be a positive integer, or null for until cleared")
        if kind is FaultKind.REORDER_WEBHOOKS and (count is None or count < 2):
            raise ValueError("'count' for reorder_webhooks is how many events to reverse (>= 2)")
        status, retry_after, delay = _parse_options(kind, data)
        after = data.get("after")
        if after is not None and (
            not isinstance(after, str) or (self.get(after) is None and after not in self._fired)
        ):
            raise ValueError("'after' must be the id of an armed fault")
        fault = Fault(
            id="flt_" + secrets.token_hex(8),
            provider=provider,
            kind=kind,
            path=path,
            method=method,
            count=count,
            status=status,
            retry_after=retry_after,
            delay=delay,
            after=after,
        )
        self._faults.append(fault)
        self._refresh()
        return fault

    def get(self, fault_id: str) -> Fault | None:
        """The armed fault with this id."""
        return next((f for f in self._faults if f.id == fault_id), None)

    def remove(self, fault: Fault) -> None:
        """Disarm one fault."""
        if fault in self._faults:
            self._faults.remove(fault)
            self._refresh()

    def clear(self) -> list[Fault]:
        """Disarm every fault; returns them (the hub releases what reorder faults held)."""
        removed, self._faults = self._faults, []
        self._fired.clear()
        self._refresh()
        return removed

    def take_http(self, provider: str, method: str, path: str) -> Fault | None:
        """The first armed HTTP fault matching this request, with one use consumed."""
        for fault in self._faults:
            if (
                not fault.kind.is_webhook
                and fault.provider == provider
                and (fault.after is None or fault.after in self._fired)
                and (fault.method is None or fault.method == method)
                and fnmatch.fnmatchcase(path, fault.path)
            ):
                self._consume(fault)
                return fault
        return None

    def matching_webhook(self, provider: str, event_type: str, kind: FaultKind) -> Fault | None:
        """The first armed webhook fault of ``kind`` matching this event (not consumed)."""
        for fault in self._faults:
            if (
                fault.kind is kind
                and fault.provider == provider
                and fnmatch.fnmatchcase(event_type, fault.path)
            ):
                return fault
        return None

    def consume(self, fault: Fault) -> None:
        """Count one use of a webhook fault (removing it when used up)."""
        self._consume(fault)

    def _consume(self, fault: Fault) -> None:
        fault.hits += 1
        self._fired.add(fault.id)
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self.remove(fault)

    def _refresh(self) -> None:
        self.http_active = any(not f.kind.is_webhook for f in self._faults)


#: Headers the framework writes on the answers it shapes; a fake's ``error_body`` cannot set them.
_FRAMEWORK_HEADERS: Final = frozenset({b"content-type", b"content-length", b"retry-after"})


def error_body_for(fake: Fake, status: int, message: str) -> tuple[bytes, str, Headers]:
    """The fake's own error answer for ``status`` (its optional ``error_body`` hook), else JSON.

    Returns the content, its content type and the fake's extra headers, encoded for ASGI.
    """
    try:
        shaped = fake.error_body(status, message)
    except Exception:
        logger.exception("%s.error_body raised; using the generic body", fake.name)
        shaped = None
    if shaped is not None:
        checked = _check_error_body(shaped)
        if checked is not None:
            return checked
        logger.error("%s.error_body returned %r; using the generic body", fake.name, shaped)
    body = {"error": {"type": "sandbox_error", "status": status, "message": message}}
    return json.dumps(body).encode(), "application/json", []


def _check_error_body(shaped: object) -> tuple[bytes, str, Headers] | None:
    """``shaped`` as ASGI parts if it is what :meth:`Fake.error_body` promises, else ``None``."""
    if not isinstance(shaped, tuple) or len(shaped) not in (2, 3):
        return None
    content, content_type, *rest = shaped
    headers = rest[0] if rest else {}
    if not isinstance(content, bytes) or not isinstance(content_type, str):
        return None
    if not isinstance(headers, Mapping):
        return None
    try:
        encoded = encode_headers(headers)
    except (AttributeError, UnicodeEncodeError):
        return None
    return content, content_type, [h for h in encoded if h[0] not in _FRAMEWORK_HEADERS]


class ProviderApp:
    """The ASGI app mounted at ``/{name}``: fault injection and a guard around one fake's routes.

    With no HTTP fault armed the only per-request cost is one attribute check and the guard.
    An exception escaping the fake before it responded becomes a 500 whose body says
    ``sandbox internal error`` in the fake's error shape, so a sandbox bug never looks like a
    provider decision (a decline).
    """

    def __init__(self, fake: Fake, app: ASGIApp, faults: FaultSet) -> None:
        self.fake = fake
        self.app = app
        self.faults = faults
        self._where = f"the {fake.name} fake"  # for the log line of a crash

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.faults.http_active:
            fault = self.faults.take_http(self.fake.name, scope["method"], _route_path(scope))
            if fault is not None:
                await self._inject(fault, scope, receive, send)
                return
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        await run_guarded(self.app, scope, receive, send, self._answer_error, self._where)

    async def _answer_error(
        self, send: Send, status: int, message: str, headers: Mapping[str, str]
    ) -> None:
        """An error the framework answers for the fake (routing's 404/405, a crash)."""
        content, content_type, extra = error_body_for(self.fake, status, message)
        extra += encode_headers(headers)
        await send_simple(send, status, content, content_type, extra)

    async def _inject(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        kind = fault.kind
        if kind is FaultKind.SERVER_ERROR:
            status = fault.status or 500
            content, ctype, extra = error_body_for(
                self.fake, status, "sandbox fault: injected server error"
            )
            await send_simple(send, status, content, ctype, extra)
        elif kind is FaultKind.RATE_LIMIT:
            content, ctype, extra = error_body_for(
                self.fake, 429, "sandbox fault: injected rate limit"
            )
            retry_after = str(fault.retry_after if fault.retry_after is not None else 1)
            extra.append((b"retry-after", retry_after.encode()))
            await send_simple(send, 429, content, ctype, extra)
        elif kind is FaultKind.DELAY:
            # The request is handled after the delay even if the client gave up meanwhile, as a
            # real provider would: a client timeout says nothing about whether it took effect.
            await asyncio.sleep(fault.delay or 0.0)
            await self._guarded(scope, receive, send)
        else:
            await self._drop_after_commit(scope, receive, send)

    async def _drop_after_commit(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle the request fully, then abandon the response after its headers."""
        start: Message | None = None
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self._guarded(scope, receive, capture)
        if start is None:
            return  # the fake sent nothing; the server reports that on its own
        # Promise a body (at least one byte) and close before sending it: the client sees the
        # status line and then a connection closed mid-response, i.e. a transport error.
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(max(len(body), 1)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        _DROPPING.set(True)


def _route_path(scope: Scope) -> str:
    """The request path below the provider's mount point."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


class IncompleteResponseFilter(logging.Filter):
    """Silences the server's "returned without completing response" error for dropped responses."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == _UVICORN_INCOMPLETE and _DROPPING.get())
