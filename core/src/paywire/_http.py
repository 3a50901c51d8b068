"""The one HTTP client every plugin sends through.

Timeouts, bounded retries with exponential backoff and jitter, one idempotency key per operation
(reused on each retry), ``OutcomeUnknown`` when a state-changing request may have landed, logging
with secrets redacted — and an injectable httpx transport, the seam for record and replay.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx

from paywire._errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from paywire._secrets import Secret, redact

__all__ = [
    "HttpClient",
    "RetryPolicy",
    "error_for_status",
    "new_idempotency_key",
    "parse_retry_after",
    "utc_from_timestamp",
]

logger = logging.getLogger("paywire.http")

#: Methods that change nothing, however often they are sent.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Methods that change the same thing however often they are sent: retried, but once sent they
#: may have taken effect (a DELETE that timed out may have deleted).
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "DELETE"}

# The request never left: retrying cannot do anything twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def new_idempotency_key() -> str:
    """A fresh key for one operation; pass the same key again to retry that operation."""
    return str(uuid.uuid4())


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
        retry_statuses: statuses worth another try.
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


class HttpClient:
    """An httpx client with paywire's retry, idempotency and redaction policy, for one provider.

    Args:
        provider: the provider's name, for errors and logs.
        base_url: prefix for relative URLs.
        timeout: seconds per attempt.
        retry: the retry policy.
        transport: an httpx transport to send through (``MockTransport``, a recorder, a replayer);
            ``None`` is the network.
        secrets: values to scrub from logs and error messages, besides credential-shaped tokens.
        headers: sent with every request (never logged).
        request_id_header: the response header holding the provider's request id.
        sleep, rand: injectable for tests.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str = "",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        secrets: Iterable[Secret | str] = (),
        headers: Mapping[str, str] | None = None,
        request_id_header: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.retry = retry or RetryPolicy()
        self.request_id_header = request_id_header
        self._secrets = tuple(secrets)
        self._sleep = sleep
        self._rand = rand
        self._client = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers={"User-Agent": "paywire", **(headers or {})},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<HttpClient {self.provider!r} {self._client.base_url}>"

    @property
    def client(self) -> httpx.Client:
        """The underlying httpx client; send through :meth:`send` to keep the retry policy."""
        return self._client

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        all_headers = dict(headers or {})
        if idempotency_key is not None:
            all_headers[idempotency_header] = idempotency_key
        request = self._client.build_request(
            method, url, headers=all_headers, params=params, json=json, data=data, content=content
        )
        return self.send(request, idempotency_key=idempotency_key)

    def send(self, request: httpx.Request, *, idempotency_key: str | None = None) -> httpx.Response:
        """Send ``request`` under the retry policy; return the final response, whatever its status.

        A request is retried only when doing it twice is harmless: a safe method, an idempotency key
        (which the caller has put in the request's headers), or a failure to connect at all.

        Raises:
            ProviderUnavailable: the provider could not be reached, and nothing was changed.
            OutcomeUnknown: a state-changing request failed in transit and may have taken effect;
                retry the operation later with ``idempotency_key``.
        """
        method = request.method.upper()
        retry_safe = method in IDEMPOTENT_METHODS or idempotency_key is not None
        path = request.url.path
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = self._client.send(request)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                self._log(
                    logging.WARNING,
                    "%s %s %s failed on attempt %d/%d: %s",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                    self.retry.max_attempts,
                    exc,
                )
                can_retry = attempt < self.retry.max_attempts and (retry_safe or not sent)
                if can_retry:
                    self._sleep(self.retry.backoff(attempt, self._rand))
                    continue
                raise self._transport_error(
                    exc, method, sent, retry_safe, idempotency_key, attempt
                ) from None
            elapsed = (time.perf_counter() - started) * 1000
            self._log(
                logging.DEBUG,
                "%s %s -> %d in %.0f ms (attempt %d/%d)",
                method,
                path,
                response.status_code,
                elapsed,
                attempt,
                self.retry.max_attempts,
            )
            if (
                response.status_code not in self.retry.retry_statuses
                or not retry_safe
                or attempt >= self.retry.max_attempts
            ):
                return response
            wait = self.retry.backoff(attempt, self._rand)
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    if retry_after > self.retry.max_retry_after:
                        return response
                    wait = max(wait, retry_after)
            response.read()
            response.close()
            self._log(
                logging.INFO,
                "%s %s answered %d; retrying in %.2f s",
                method,
                path,
                response.status_code,
                wait,
            )
            self._sleep(wait)

    def _transport_error(
        self,
        exc: httpx.TransportError,
        method: str,
        sent: bool,
        retry_safe: bool,
        idempotency_key: str | None,
        attempts: int,
    ) -> ProviderError:
        try:
            what = f"{method} {exc.request.url.path}"
        except RuntimeError:  # httpx raises when the error carries no request
            what = method
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


def utc_from_timestamp(value: float) -> datetime:
    """An aware UTC datetime from a Unix timestamp (providers send seconds)."""
    return datetime.fromtimestamp(value, tz=UTC)
