"""HttpClient: timeouts, bounded retries, one idempotency key per operation, OutcomeUnknown,
redacted logs, an injectable transport — against MockTransport and real local servers."""

from __future__ import annotations

import email.utils
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import paywire_strategies  # noqa: F401 - loads the property-test profile
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    ProviderUnavailable,
    RateLimited,
    Secret,
    new_idempotency_key,
)
from paywire.plugin import (
    HttpClient,
    RetryPolicy,
    error_for_status,
    parse_retry_after,
    utc_from_timestamp,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a script and remembers what it was sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _client(
    handler: Handler, *, attempts: int = 3, sleeps: list[float] | None = None, **kwargs: object
) -> HttpClient:
    waits = sleeps if sleeps is not None else []
    return HttpClient(
        provider="toy",
        base_url="https://api.toy.invalid/",
        retry=RetryPolicy(max_attempts=attempts),
        transport=httpx.MockTransport(handler),
        sleep=waits.append,
        rand=lambda: 0.5,
        **kwargs,  # type: ignore[arg-type]
    )


# -- Retry-After and backoff -------------------------------------------------------------------


def test_parse_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    now = 1_900_000_000.0
    future = email.utils.formatdate(now + 120, usegmt=True)
    assert parse_retry_after(future, now=now) == 120.0
    past = email.utils.formatdate(now - 120, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now=now) == 0.0  # no zone: UTC
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    later = parse_retry_after(email.utils.formatdate(time.time() + 60, usegmt=True))
    assert later is not None
    assert 55 < later <= 60


@given(st.integers(min_value=1, max_value=40), st.floats(min_value=0, max_value=1))
def test_backoff_is_exponential_jittered_and_bounded(retry: int, rand: float) -> None:
    policy = RetryPolicy(backoff_base=0.25, backoff_max=8.0)
    ceiling = min(8.0, 0.25 * 2 ** (retry - 1))
    wait = policy.backoff(retry, lambda: rand)
    assert ceiling / 2 <= wait <= ceiling


def test_backoff_doubles() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=100.0)
    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert [policy.backoff(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_retry_policy_needs_an_attempt() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


# -- retries by status -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_safe_requests_are_retried_on_retryable_statuses(status: int) -> None:
    handler = Recorder(httpx.Response(status), httpx.Response(status), httpx.Response(200))
    sleeps: list[float] = []
    with _client(handler, sleeps=sleeps) as http:
        assert http.request("GET", "things").status_code == 200
    assert len(handler.requests) == 3
    assert sleeps == [0.75 * 0.25, 0.75 * 0.5]  # rand 0.5: three quarters of each ceiling


def test_retries_are_bounded_and_the_last_answer_is_returned() -> None:
    handler = Recorder(httpx.Response(503, json={"error": "down"}))
    sleeps: list[float] = []
    with _client(handler, attempts=4, sleeps=sleeps) as http:
        response = http.request("GET", "things")
    assert response.status_code == 503
    assert response.json() == {"error": "down"}
    assert len(handler.requests) == 4
    assert len(sleeps) == 3


@pytest.mark.parametrize("status", [200, 201, 400, 401, 402, 404, 409, 422, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    handler = Recorder(httpx.Response(status))
    with _client(handler) as http:
        assert http.request("GET", "things").status_code == status
    assert len(handler.requests) == 1


def test_unkeyed_post_is_not_retried_on_5xx_or_429() -> None:
    for status in (429, 500, 503):
        handler = Recorder(httpx.Response(status), httpx.Response(200))
        with _client(handler) as http:
            assert http.request("POST", "charges", json={"amount": 1}).status_code == status
        assert len(handler.requests) == 1


def test_keyed_post_is_retried_with_the_same_key_every_time() -> None:
    handler = Recorder(httpx.Response(500), httpx.Response(502), httpx.Response(200, json={}))
    with _client(handler) as http:
        response = http.request("POST", "charges", json={"amount": 1}, idempotency_key="op-1")
    assert response.status_code == 200
    assert [r.headers["Idempotency-Key"] for r in handler.requests] == ["op-1"] * 3
    assert all(r.content == b'{"amount":1}' for r in handler.requests)


def test_idempotency_header_name_is_the_providers() -> None:
    handler = Recorder(httpx.Response(503), httpx.Response(200))
    with _client(handler) as http:
        http.request("POST", "orders", idempotency_key="k", idempotency_header="PayPal-Request-Id")
    assert [r.headers["PayPal-Request-Id"] for r in handler.requests] == ["k", "k"]
    assert "Idempotency-Key" not in handler.requests[0].headers


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "OPTIONS"])
def test_idempotent_methods_are_retried_without_a_key(method: str) -> None:
    handler = Recorder(httpx.Response(503), httpx.Response(204))
    with _client(handler) as http:
        assert http.request(method, "things/1").status_code == 204
    assert len(handler.requests) == 2


def test_429_honours_retry_after_seconds() -> None:
    handler = Recorder(httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200))
    sleeps: list[float] = []
    with _client(handler, sleeps=sleeps) as http:
        assert http.request("GET", "x").status_code == 200
    assert sleeps == [3.0]


def test_429_honours_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    handler = Recorder(httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200))
    sleeps: list[float] = []
    with _client(handler, sleeps=sleeps) as http:
        assert http.request("GET", "x").status_code == 200
    assert len(sleeps) == 1
    assert 3.0 < sleeps[0] <= 5.0


def test_short_retry_after_never_shortens_the_backoff() -> None:
    handler = Recorder(httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200))
    sleeps: list[float] = []
    with _client(handler, sleeps=sleeps) as http:
        http.request("GET", "x")
    assert sleeps == [0.75 * 0.25]


def test_too_long_retry_after_is_not_waited_for() -> None:
    handler = Recorder(httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200))
    sleeps: list[float] = []
    with _client(handler, sleeps=sleeps) as http:
        response = http.request("GET", "x")
    assert response.status_code == 429
    assert sleeps == []
    assert len(handler.requests) == 1
    error = error_for_status(response, provider="toy")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 3600.0


def test_one_attempt_means_no_retry() -> None:
    handler = Recorder(httpx.Response(503), httpx.Response(200))
    with _client(handler, attempts=1) as http:
        assert http.request("GET", "x").status_code == 503
    assert len(handler.requests) == 1


# -- retries on transport errors --------------------------------------------------------------


def _request_error(kind: type[httpx.TransportError]) -> httpx.TransportError:
    return kind("simulated", request=httpx.Request("GET", "https://api.toy.invalid/"))


@pytest.mark.parametrize("kind", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_unsent_requests_are_retried_even_without_a_key(kind: type[httpx.TransportError]) -> None:
    handler = Recorder(_request_error(kind), httpx.Response(201))
    with _client(handler) as http:
        assert http.request("POST", "charges").status_code == 201
    assert len(handler.requests) == 2


def test_unsent_post_that_never_connects_is_provider_unavailable() -> None:
    handler = Recorder(httpx.ConnectError("refused"))
    sleeps: list[float] = []
    with _client(handler, sleeps=sleeps) as http, pytest.raises(ProviderUnavailable) as caught:
        http.request("POST", "charges")
    assert len(handler.requests) == 3
    assert len(sleeps) == 2
    assert caught.value.retryable
    assert "after 3 attempt(s)" in caught.value.message


@pytest.mark.parametrize(
    "kind", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError]
)
def test_get_that_fails_in_transit_is_retried_then_provider_unavailable(
    kind: type[httpx.TransportError],
) -> None:
    handler = Recorder(_request_error(kind))
    with _client(handler) as http, pytest.raises(ProviderUnavailable) as caught:
        http.request("GET", "things/1")
    assert len(handler.requests) == 3
    assert caught.value.provider == "toy"
    assert kind.__name__ in caught.value.message


def test_keyed_post_that_fails_in_transit_is_retried_then_outcome_unknown() -> None:
    handler = Recorder(_request_error(httpx.ReadTimeout))
    with _client(handler) as http, pytest.raises(OutcomeUnknown) as caught:
        http.request("POST", "charges", idempotency_key="op-9")
    assert len(handler.requests) == 3
    assert {r.headers["Idempotency-Key"] for r in handler.requests} == {"op-9"}
    assert caught.value.idempotency_key == "op-9"
    assert caught.value.retryable
    assert "same idempotency key" in caught.value.message


def test_unkeyed_post_that_fails_in_transit_is_outcome_unknown_at_once() -> None:
    handler = Recorder(_request_error(httpx.ReadTimeout), httpx.Response(200))
    sleeps: list[float] = []
    with _client(handler, sleeps=sleeps) as http, pytest.raises(OutcomeUnknown) as caught:
        http.request("POST", "charges")
    assert len(handler.requests) == 1
    assert sleeps == []
    assert caught.value.idempotency_key is None
    assert "not retried" in caught.value.message


def test_delete_that_fails_in_transit_may_have_taken_effect() -> None:
    handler = Recorder(httpx.RemoteProtocolError("server hung up"))  # no request attached
    with _client(handler) as http, pytest.raises(OutcomeUnknown) as caught:
        http.request("DELETE", "methods/pm_1")
    assert len(handler.requests) == 3
    assert caught.value.idempotency_key is None
    assert "idempotent" in caught.value.message


# -- the client --------------------------------------------------------------------------------


def test_request_building_and_default_headers() -> None:
    handler = Recorder(httpx.Response(200, headers={"Request-Id": "req_42"}))
    with _client(
        handler,
        headers={"Authorization": "Bearer sk_test_abcdefgh"},
        request_id_header="Request-Id",
    ) as http:
        response = http.request(
            "post",
            "v1/charges",
            params={"expand": "x"},
            data={"amount": "100"},
            headers={"Stripe-Version": "1"},
        )
        assert http.request_id(response) == "req_42"
        http.request("PUT", "v1/blob", content=b"\x00\x01")
    first, second = handler.requests
    assert str(first.url) == "https://api.toy.invalid/v1/charges?expand=x"
    assert first.method == "POST"
    assert first.content == b"amount=100"
    assert first.headers["User-Agent"] == "paywire"
    assert first.headers["Authorization"] == "Bearer sk_test_abcdefgh"
    assert first.headers["Stripe-Version"] == "1"
    assert second.content == b"\x00\x01"


def test_request_id_without_a_header_name() -> None:
    with _client(Recorder(httpx.Response(200, headers={"Request-Id": "r"}))) as http:
        assert http.request_id(http.request("GET", "x")) is None


def test_send_takes_a_prebuilt_request() -> None:
    handler = Recorder(httpx.Response(503), httpx.Response(200))
    with _client(handler) as http:
        request = http.client.build_request("POST", "x", headers={"Idempotency-Key": "pre"})
        assert http.send(request, idempotency_key="pre").status_code == 200
    assert len(handler.requests) == 2


def test_client_lifecycle_and_repr() -> None:
    http = _client(Recorder(httpx.Response(200)))
    assert repr(http) == "<HttpClient 'toy' https://api.toy.invalid/>"
    assert not http.client.is_closed
    with http:
        pass
    assert http.client.is_closed


def test_timeout_is_per_attempt_and_connect_is_capped() -> None:
    with HttpClient(provider="p", timeout=60.0) as http:
        timeout = http.client.timeout
        assert (timeout.read, timeout.write, timeout.pool, timeout.connect) == (60, 60, 60, 10)
    with HttpClient(provider="p", timeout=2.0) as http:
        assert http.client.timeout.connect == 2.0


def test_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    handler = Recorder(
        httpx.ConnectError("cannot reach sk_" + "live_abcdefghijk"),  # built: scanners flag it
        httpx.Response(503),
        httpx.Response(200),
    )
    secret = Secret("acct-very-secret-id")
    with (
        caplog.at_level(logging.DEBUG, logger="paywire.http"),
        _client(
            handler, secrets=[secret], headers={"Authorization": "Bearer tok-hidden-forever"}
        ) as http,
    ):
        http.request("GET", "accounts/acct-very-secret-id/balance")
    text = caplog.text
    assert "acct-very-secret-id" not in text
    assert "sk_" + "live_abcdefghijk" not in text
    assert "tok-hidden-forever" not in text
    assert "[REDACTED]" in text
    levels = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "paywire.http"]
    assert levels[0][0] == logging.WARNING
    assert "ConnectError failed on attempt 1/3" in levels[0][1]
    assert any(lvl == logging.INFO and "answered 503; retrying" in m for lvl, m in levels)
    assert levels[-1][0] == logging.DEBUG
    assert levels[-1][1].startswith("toy: GET /accounts/[REDACTED]/balance -> 200 in ")
    assert levels[-1][1].endswith("(attempt 3/3)")


def test_nothing_is_formatted_when_logging_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="paywire.http"),
        _client(Recorder(httpx.Response(200))) as http,
    ):
        http.request("GET", "x")
    assert caplog.records == []


# -- error_for_status --------------------------------------------------------------------------


def _response(status: int, method: str = "GET", **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request(method, "https://t/x"))


@pytest.mark.parametrize(
    ("status", "method", "kind"),
    [
        (400, "POST", InvalidRequest),
        (402, "POST", InvalidRequest),
        (409, "POST", InvalidRequest),
        (422, "GET", InvalidRequest),
        (401, "GET", AuthenticationFailed),
        (403, "POST", AuthenticationFailed),
        (404, "GET", NotFound),
        (429, "POST", RateLimited),
        (500, "GET", ProviderUnavailable),
        (503, "HEAD", ProviderUnavailable),
        (500, "POST", OutcomeUnknown),
        (502, "PATCH", OutcomeUnknown),
        (503, "PUT", OutcomeUnknown),
        (504, "DELETE", OutcomeUnknown),
    ],
)
def test_error_for_status(status: int, method: str, kind: type[Exception]) -> None:
    error = error_for_status(
        _response(status, method),
        provider="toy",
        raw_code="raw",
        request_id="req",
        idempotency_key="key-1",
    )
    assert type(error) is kind
    assert error.http_status == status
    assert error.raw_code == "raw"
    assert error.request_id == "req"
    assert error.message == f"toy answered HTTP {status}"
    if isinstance(error, OutcomeUnknown):
        assert error.idempotency_key == "key-1"


def test_error_for_status_message_and_retry_after() -> None:
    error = error_for_status(_response(429, **{"Retry-After": "12"}), provider="p", message="slow")
    assert isinstance(error, RateLimited)
    assert (error.message, error.retry_after, error.retryable) == ("slow", 12.0, True)
    assert error_for_status(_response(400), provider="p").retryable is False


# -- small helpers -----------------------------------------------------------------------------


def test_new_idempotency_key() -> None:
    keys = {new_idempotency_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(uuid.UUID(key).version == 4 for key in keys)


def test_utc_from_timestamp() -> None:
    when = utc_from_timestamp(1_700_000_000)
    assert when == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert when.utcoffset() is not None


# -- real local servers ------------------------------------------------------------------------


class _FlakyHandler(BaseHTTPRequestHandler):
    """Answers 503 twice, then 200, recording each request's idempotency key."""

    def _answer(self) -> None:
        server = self.server
        assert isinstance(server, _FlakyServer)
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        with server.lock:
            server.keys.append(self.headers.get("Idempotency-Key"))
            failing = len(server.keys) <= 2
        body = b'{"error": "busy"}' if failing else b'{"ok": true}'
        self.send_response(503 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer  # noqa: N815 - the stdlib's handler names
    do_POST = _answer  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _FlakyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FlakyHandler)
        self.lock = threading.Lock()
        self.keys: list[str | None] = []


@pytest.fixture
def flaky_server() -> Iterator[_FlakyServer]:
    server = _FlakyServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _real_client(base_url: str, *, timeout: float = 5.0) -> HttpClient:
    return HttpClient(
        provider="toy",
        base_url=base_url,
        timeout=timeout,
        retry=RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.05),
    )


def test_real_server_failing_twice_then_answering(flaky_server: _FlakyServer) -> None:
    host, port = flaky_server.server_address[:2]
    with _real_client(f"http://{host!s}:{port}/") as http:
        response = http.request("GET", "things")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert flaky_server.keys == [None, None, None]


def test_real_server_keyed_post_keeps_its_key(flaky_server: _FlakyServer) -> None:
    host, port = flaky_server.server_address[:2]
    with _real_client(f"http://{host!s}:{port}/") as http:
        response = http.request("POST", "charges", json={"a": 1}, idempotency_key="op-77")
    assert response.status_code == 200
    assert flaky_server.keys == ["op-77"] * 3


def test_real_server_unkeyed_post_gets_the_503(flaky_server: _FlakyServer) -> None:
    host, port = flaky_server.server_address[:2]
    with _real_client(f"http://{host!s}:{port}/") as http:
        response = http.request("POST", "charges", json={"a": 1})
    assert response.status_code == 503
    assert isinstance(error_for_status(response, provider="toy"), OutcomeUnknown)
    assert flaky_server.keys == [None]


class _SilentServer:
    """Accepts connections, reads nothing, never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for connection in self.accepted:
            connection.close()
        self.listener.close()


@pytest.fixture
def silent_server() -> Iterator[_SilentServer]:
    server = _SilentServer()
    try:
        yield server
    finally:
        server.close()


def _silent_client(server: _SilentServer) -> HttpClient:
    return _real_client(f"http://127.0.0.1:{server.port}/", timeout=0.2)


def test_silent_server_get_is_provider_unavailable(silent_server: _SilentServer) -> None:
    started = time.monotonic()
    with _silent_client(silent_server) as http, pytest.raises(ProviderUnavailable) as caught:
        http.request("GET", "things")
    assert len(silent_server.accepted) == 3
    assert "ReadTimeout" in caught.value.message
    assert time.monotonic() - started < 5


def test_silent_server_keyed_post_is_outcome_unknown_after_retries(
    silent_server: _SilentServer,
) -> None:
    with _silent_client(silent_server) as http, pytest.raises(OutcomeUnknown) as caught:
        http.request("POST", "charges", json={"a": 1}, idempotency_key="op-5")
    assert len(silent_server.accepted) == 3
    assert caught.value.idempotency_key == "op-5"


def test_silent_server_unkeyed_post_is_outcome_unknown_without_retry(
    silent_server: _SilentServer,
) -> None:
    with _silent_client(silent_server) as http, pytest.raises(OutcomeUnknown) as caught:
        http.request("POST", "charges", json={"a": 1})
    time.sleep(0.1)  # a retry, had there been one, would have connected by now
    assert len(silent_server.accepted) == 1
    assert caught.value.idempotency_key is None


def test_nobody_listening_is_provider_unavailable_even_for_unkeyed_post() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    # The port was just released: connecting is refused, so nothing was sent.
    with (
        _real_client(f"http://127.0.0.1:{port}/", timeout=0.5) as http,
        pytest.raises(ProviderUnavailable) as caught,
    ):
        http.request("POST", "charges", json={"a": 1})
    assert "ConnectError" in caught.value.message


def test_transport_errors_without_a_request_still_explain_themselves() -> None:
    with _client(Recorder(httpx.Response(200))) as http:
        error = http._transport_error(httpx.ReadTimeout("lost"), "POST", True, False, None, 1)
    assert isinstance(error, OutcomeUnknown)
    assert error.message.startswith("POST to toy may or may not have taken effect (ReadTimeout")


@given(st.text(max_size=60))
def test_parse_retry_after_never_raises(value: str) -> None:
    seconds = parse_retry_after(value, now=1_900_000_000.0)
    assert seconds is None or seconds >= 0
