"""The one HTTP client every plugin sends through, for sync and async callers alike.

Timeouts, bounded retries with exponential backoff and jitter, the provider's own retry advice,
one idempotency key per operation (reused on each retry), ``OutcomeUnknown`` when a
state-changing request may have landed, logging with secrets redacted — and injectable httpx
transports, the seam for record and replay.

The retry logic does no I/O (as h11 does for HTTP): :meth:`HttpClient.exchange` is a generator
that yields :class:`Send` and :class:`Sleep` steps and is handed back responses or transport
errors. :func:`drive` runs such a generator with ``httpx.Client`` and ``time.sleep``;
:func:`drive_async` with ``httpx.AsyncClient`` and ``asyncio.sleep``. Both paths therefore retry,
wait and give up by the same rules, written once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import UTC
from typing import Any, TypeVar

import attrs
import httpx

from paywire._errors import (
    AuthenticationFailed,
    ConfigurationError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from paywire._keys import new_idempotency_key
from paywire._secrets import Secret, redact
from paywire._types import utc_from_timestamp

__all__ = [
    "HttpClient",
    "RetryPolicy",
    "Send",
    "Sleep",
    "Step",
    "drive",
    "drive_async",
    "error_for_status",
    "new_idempotency_key",
    "parse_retry_after",
    "utc_from_timestamp",
]

logger = logging.getLogger("paywire.http")

T = TypeVar("T")

#: Methods that change nothing, however often they are sent.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Methods that change the same thing however often they are sent: retried, but once sent they
#: may have taken effect (a DELETE that timed out may have deleted).
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "DELETE"}

# The request never left: retrying cannot do anything twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

#: A provider's opinion on retrying a response: ``True`` retry (when it is safe), ``False`` do
#: not, ``None`` no opinion (the policy decides). Stripe's ``Stripe-Should-Retry`` header is one.
RetryAdvice = Callable[[httpx.Response], bool | None]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@attrs.frozen
class RetryPolicy:
    """How hard to try.

    Attributes:
        max_attempts: sends per operation, the first included (1 = never retry).
        backoff_base: the first retry waits about this long; each next one twice as long.
        backoff_max: no single wait is longer than this.
        max_retry_after: a ``Retry-After`` longer than this is not waited for: the 429 is returned.
        retry_statuses: statuses worth another try (a provider's advice may add or veto one).
    """

    max_attempts: int = attrs.field(default=3)
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_retry_after: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})

    @max_attempts.validator
    def _check(self, _: attrs.Attribute[int], value: int) -> None:
        if value < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, retry: int, rand: Callable[[], float]) -> float:
        """Wait before retry number ``retry`` (1-based): exponential, half of it jittered."""
        ceiling = min(self.backoff_max, self.backoff_base * 2.0 ** (retry - 1))
        return float(ceiling / 2 + rand() * ceiling / 2)


# -- the steps a driver carries out -----------------------------------------------------------


@attrs.frozen(slots=True)
class Send:
    """Send ``request`` and hand back the response (body read) or the transport error."""

    request: httpx.Request


@attrs.frozen(slots=True)
class Sleep:
    """Wait ``seconds`` before going on."""

    seconds: float


#: What an exchange (or a kernel operation) asks its driver to do.
Step = Send | Sleep
#: A generator of steps that ends with a value.
Steps = Generator[Step, Any, T]


class HttpClient:
    """An httpx client pair (sync and async) with paywire's retry, idempotency and redaction
    policy, for one provider.

    Args:
        provider: the provider's name, for errors and logs.
        base_url: prefix for relative URLs.
        timeout: seconds per attempt.
        retry: the retry policy.
        transport: what to send through instead of the network (``MockTransport``, a recorder, a
            replayer). An object with ``handle_request`` serves the sync path; one with
            ``handle_async_request`` the async path; one with both serves both. Given only a sync
            transport, the async path runs it in a worker thread.
        async_transport: the async path's transport, when it is a separate object.
        secrets: values to scrub from logs and error messages, besides credential-shaped tokens.
        headers: sent with every request (never logged).
        request_id_header: the response header holding the provider's request id.
        retry_advice: the provider's opinion on retrying a response (see :data:`RetryAdvice`).
        sleep, rand: injectable for tests (``sleep`` is the sync path's; the async path awaits
            ``asyncio.sleep`` unless ``async_sleep`` is given).
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str = "",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[Secret | str] = (),
        headers: Mapping[str, str] | None = None,
        request_id_header: str | None = None,
        retry_advice: RetryAdvice | None = None,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Any] | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.request_id_header = request_id_header
        self.retry_advice = retry_advice
        self._secrets = tuple(secrets)
        self._sleep = sleep
        self._async_sleep = async_sleep or asyncio.sleep
        self._rand = rand
        self._settings: dict[str, Any] = {
            "base_url": base_url,
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            "headers": {"User-Agent": "paywire", **(headers or {})},
            "follow_redirects": False,
        }
        sync_transport = transport if isinstance(transport, httpx.BaseTransport) else None
        if async_transport is None and hasattr(transport, "handle_async_request"):
            async_transport = transport  # type: ignore[assignment]
        self._sync_transport = sync_transport
        self._async_transport = async_transport
        self._async_only = transport is not None and sync_transport is None
        self._client = httpx.Client(transport=sync_transport, **self._settings)
        # One AsyncClient per event loop: httpx's async connections belong to the loop that
        # opened them, and an app (or a test suite) may run several loops one after another.
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, httpx.AsyncClient
        ] = weakref.WeakKeyDictionary()
        self._async_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<HttpClient {self.provider!r} {self._client.base_url}>"

    @property
    def client(self) -> httpx.Client:
        """The underlying sync httpx client; send through :meth:`send` to keep the retry policy."""
        if self._async_only:
            raise ConfigurationError(
                f"{self.provider} was built with an async-only transport: use the async API"
            )
        return self._client

    def async_client(self) -> httpx.AsyncClient:
        """The async httpx client of the running event loop (made on first use in each loop)."""
        loop = asyncio.get_running_loop()
        with self._async_lock:
            client = self._async_clients.get(loop)
            if client is None:
                transport = self._async_transport
                if transport is None and self._sync_transport is not None:
                    transport = ThreadedTransport(self._sync_transport)
                client = httpx.AsyncClient(transport=transport, **self._settings)
                self._async_clients[loop] = client
            return client

    def close(self) -> None:
        """Close the sync connection pool (and forget the async clients: await :meth:`aclose`
        in each event loop that used one to close its connections too)."""
        self._client.close()
        with self._async_lock:
            self._async_clients.clear()

    async def aclose(self) -> None:
        """Close the running event loop's async connections."""
        loop = asyncio.get_running_loop()
        with self._async_lock:
            client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- building and sending ---------------------------------------------------------------

    def build_request(
        self,
        method: str,
        url: str,
        *,
        idempotency_key: str | None = None,
        idempotency_header: str = "Idempotency-Key",
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        content: bytes | None = None,
    ) -> httpx.Request:
        """A request for :meth:`send` / :meth:`send_async` (usable on both paths)."""
        all_headers = headers
        if idempotency_key is not None:
            all_headers = {**(headers or {}), idempotency_header: idempotency_key}
        return self._client.build_request(
            method, url, headers=all_headers, params=params, json=json, data=data, content=content
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotency_key: str | None = None,
        idempotency_header: str = "Idempotency-Key",
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Build and :meth:`send` a request; ``idempotency_key`` goes in ``idempotency_header``."""
        request = self.build_request(
            method,
            url,
            idempotency_key=idempotency_key,
            idempotency_header=idempotency_header,
            headers=headers,
            params=params,
            json=json,
            data=data,
            content=content,
        )
        return self.send(request, idempotency_key=idempotency_key)

    async def request_async(
        self,
        method: str,
        url: str,
        *,
        idempotency_key: str | None = None,
        idempotency_header: str = "Idempotency-Key",
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """:meth:`request`, awaitable."""
        request = self.build_request(
            method,
            url,
            idempotency_key=idempotency_key,
            idempotency_header=idempotency_header,
            headers=headers,
            params=params,
            json=json,
            data=data,
            content=content,
        )
        return await self.send_async(request, idempotency_key=idempotency_key)

    def send(self, request: httpx.Request, *, idempotency_key: str | None = None) -> httpx.Response:
        """Send ``request`` under the retry policy; return the final response (its body read),
        whatever its status.

        A request is retried only when doing it twice is harmless: a safe method, an idempotency key
        (which the caller has put in the request's headers), or a failure to connect at all.

        Raises:
            ProviderUnavailable: the provider could not be reached, and nothing was changed.
            OutcomeUnknown: a state-changing request failed in transit and may have taken effect;
                retry the operation later with ``idempotency_key``.
        """
        return drive(self, self.exchange(request, idempotency_key=idempotency_key))

    async def send_async(
        self, request: httpx.Request, *, idempotency_key: str | None = None
    ) -> httpx.Response:
        """:meth:`send`, awaitable (the same rules, through the async client)."""
        return await drive_async(self, self.exchange(request, idempotency_key=idempotency_key))

    # -- the retry loop, without I/O ----------------------------------------------------------

    def exchange(
        self,
        request: httpx.Request,
        *,
        idempotency_key: str | None = None,
        repeatable: bool = False,
    ) -> Steps[httpx.Response]:
        """The steps of sending ``request`` under the retry policy: attempt, judge, wait.

        Yields :class:`Send` (answered with the response, or a transport error thrown in) and
        :class:`Sleep`; returns the final response. Raises as :meth:`send` does.
        ``repeatable`` marks a request that changes nothing however often it is sent whatever its
        method (an OAuth token request, a verification postback): retried like a ``GET``, and a
        failure to get an answer is :class:`ProviderUnavailable`, never ``OutcomeUnknown``.
        """
        method = "GET" if repeatable else request.method.upper()
        retry_safe = method in IDEMPOTENT_METHODS or idempotency_key is not None
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response: httpx.Response = yield Send(request)
            except httpx.TransportError as exc:
                wait = self._after_failure(exc, method, retry_safe, idempotency_key, attempt)
                yield Sleep(wait)
                continue
            if logger.isEnabledFor(logging.DEBUG):
                self._log(
                    logging.DEBUG,
                    "%s %s -> %d in %.0f ms (attempt %d/%d)",
                    request.method,
                    request.url.path,
                    response.status_code,
                    (time.perf_counter() - started) * 1000,
                    attempt,
                    self.retry.max_attempts,
                )
            wait_for = self._after_answer(response, retry_safe, attempt)
            if wait_for is None:
                return response
            self._log(
                logging.INFO,
                "%s %s answered %d; retrying in %.2f s",
                request.method,
                request.url.path,
                response.status_code,
                wait_for,
            )
            yield Sleep(wait_for)

    def _after_answer(
        self, response: httpx.Response, retry_safe: bool, attempt: int
    ) -> float | None:
        """How long to wait before sending again, or ``None`` to return ``response``."""
        if not retry_safe or attempt >= self.retry.max_attempts:
            return None
        status = response.status_code
        advice = self.retry_advice(response) if self.retry_advice is not None else None
        if advice is False or (advice is None and status not in self.retry.retry_statuses):
            return None
        if advice is True and status < 400:
            return None  # advice never turns a success into a retry
        wait = self.retry.backoff(attempt, self._rand)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is not None:
                if retry_after > self.retry.max_retry_after:
                    return None
                wait = max(wait, retry_after)
        return wait

    def _after_failure(
        self,
        exc: httpx.TransportError,
        method: str,
        retry_safe: bool,
        idempotency_key: str | None,
        attempt: int,
    ) -> float:
        """How long to wait before trying again after a transport error; raises when giving up.
        ``method`` is the one the policy judges by (``GET`` for a repeatable request)."""
        sent = not isinstance(exc, _NOT_SENT)
        self._log(
            logging.WARNING,
            "%s %s %s failed on attempt %d/%d: %s",
            _request_method(exc, method),
            _request_path(exc),
            type(exc).__name__,
            attempt,
            self.retry.max_attempts,
            exc,
        )
        if attempt < self.retry.max_attempts and (retry_safe or not sent):
            return self.retry.backoff(attempt, self._rand)
        raise self._transport_error(exc, method, sent, retry_safe, idempotency_key, attempt)

    def _transport_error(
        self,
        exc: httpx.TransportError,
        method: str,
        sent: bool,
        retry_safe: bool,
        idempotency_key: str | None,
        attempts: int,
    ) -> ProviderError:
        path = _request_path(exc)
        what = f"{_request_method(exc, method)} {path}".rstrip()
        if not sent or method in SAFE_METHODS:
            return ProviderUnavailable(
                f"could not reach {self.provider} for {what} after {attempts} attempt(s): "
                f"{type(exc).__name__}",
                provider=self.provider,
            )
        if idempotency_key is not None:
            hint = "retry with the same idempotency key to learn the outcome"
        elif retry_safe:
            hint = f"{method} is idempotent, so sending it again is safe"
        else:
            hint = "the request had no idempotency key, so it was not retried"
        return OutcomeUnknown(
            f"{what} to {self.provider} may or may not have taken effect "
            f"({type(exc).__name__} after {attempts} attempt(s)); {hint}",
            provider=self.provider,
            idempotency_key=idempotency_key,
        )

    def _log(self, level: int, message: str, *args: object) -> None:
        if logger.isEnabledFor(level):
            text = message % args
            logger.log(level, "%s: %s", self.provider, redact(text, self._secrets))

    def request_id(self, response: httpx.Response) -> str | None:
        """The provider's request id from ``response``, if it sends one."""
        if self.request_id_header is None:
            return None
        value: str | None = response.headers.get(self.request_id_header)
        return value


def _request_path(exc: httpx.TransportError) -> str:
    try:
        return exc.request.url.path
    except RuntimeError:  # httpx raises when the error carries no request
        return ""


def _request_method(exc: httpx.TransportError, fallback: str) -> str:
    try:
        return exc.request.method
    except RuntimeError:
        return fallback


# -- drivers ----------------------------------------------------------------------------------


def drive(http: HttpClient, steps: Steps[T]) -> T:
    """Run ``steps`` to the end with ``http``'s sync client: sends, sleeps, returns the value."""
    client = http.client
    answer: Any = None
    failure: BaseException | None = None
    while True:
        try:
            step = steps.send(answer) if failure is None else steps.throw(failure)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        answer, failure = None, None
        if isinstance(step, Sleep):
            http._sleep(step.seconds)
            continue
        try:
            answer = client.send(step.request)
        except httpx.TransportError as exc:
            failure = exc


async def drive_async(http: HttpClient, steps: Steps[T]) -> T:
    """Run ``steps`` to the end with ``http``'s async client (the running loop's)."""
    client = http.async_client()
    answer: Any = None
    failure: BaseException | None = None
    while True:
        try:
            step = steps.send(answer) if failure is None else steps.throw(failure)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        answer, failure = None, None
        if isinstance(step, Sleep):
            await http._async_sleep(step.seconds)
            continue
        try:
            answer = await client.send(step.request)
        except httpx.TransportError as exc:
            failure = exc


class ThreadedTransport(httpx.AsyncBaseTransport):
    """An async transport that runs a sync one in a worker thread (for tests and replayers that
    only speak sync)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the sync transport in a thread; the answer is read whole."""
        content = await request.aread()
        sync_request = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=content,
            extensions=request.extensions,
        )

        def exchange() -> httpx.Response:
            response = self.inner.handle_request(sync_request)
            try:
                body = response.read()
            finally:
                response.close()
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                content=body,
                extensions=response.extensions,
            )

        answer = await asyncio.to_thread(exchange)
        return httpx.Response(
            answer.status_code,
            headers=answer.headers,
            content=answer.content,
            request=request,
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        """Nothing to close: the sync transport belongs to its owner."""


def error_for_status(
    response: httpx.Response,
    *,
    provider: str,
    message: str | None = None,
    raw_code: str | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> ProviderError:
    """The generic error for an unsuccessful ``response``, for what a plugin does not map itself.

    401/403 → :class:`AuthenticationFailed`; 404 → :class:`NotFound`; 429 → :class:`RateLimited`
    (with ``Retry-After``); 5xx → :class:`ProviderUnavailable` for safe methods, and
    :class:`OutcomeUnknown` for state-changing ones (a 5xx may come after the change was made);
    any other status → :class:`InvalidRequest`.
    """
    status = response.status_code
    text = message or f"{provider} answered HTTP {status}"
    common: dict[str, Any] = {
        "provider": provider,
        "raw_code": raw_code,
        "http_status": status,
        "request_id": request_id,
    }
    if status in (401, 403):
        return AuthenticationFailed(text, **common)
    if status == 404:
        return NotFound(text, **common)
    if status == 429:
        return RateLimited(
            text, retry_after=parse_retry_after(response.headers.get("Retry-After")), **common
        )
    if status >= 500:
        if response.request.method.upper() in SAFE_METHODS:
            return ProviderUnavailable(text, **common)
        return OutcomeUnknown(text, idempotency_key=idempotency_key, **common)
    return InvalidRequest(text, **common)


