"""Fault injection on provider routes: each kind, matching, counts, listing and clearing."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from typing import ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from paywire_sandbox import (
    Fake,
    RunningSandbox,
    SandboxControlError,
    WebhookEndpoint,
    run_sandbox,
)


@pytest.fixture
def client(echo: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=echo.url, timeout=5.0) as c:
        yield c


def things(client: httpx.Client, provider: str = "echo") -> int:
    return len(client.get(f"/{provider}/v1/things").json()["data"])


def test_server_error_uses_the_fakes_error_shape_and_skips_the_handler(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    echo.add_fault("echo", path="/v1/things", kind="server_error", status=503)
    response = client.post("/echo/v1/things")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "echo_error": {"status": 503, "message": "sandbox fault: injected server error"}
    }
    assert things(client) == 0  # not handled
    assert client.post("/echo/v1/things").status_code == 200  # count 1: used up
    assert things(client) == 1


def test_server_error_defaults_to_500_with_a_generic_body(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    echo.add_fault("plain", path="/v1/things", kind="server_error")
    response = client.post("/plain/v1/things")
    assert response.status_code == 500
    assert response.json()["error"]["status"] == 500
    assert "injected server error" in response.json()["error"]["message"]


def test_rate_limit_sends_retry_after(echo: RunningSandbox, client: httpx.Client) -> None:
    echo.add_fault("echo", path="/v1/things", kind="rate_limit", retry_after=7, count=2)
    for _ in range(2):
        response = client.post("/echo/v1/things")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        assert response.json()["echo_error"]["status"] == 429
    assert client.post("/echo/v1/things").status_code == 200
    assert things(client) == 1


def test_delay_exceeds_the_client_timeout_but_the_request_takes_effect(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    echo.add_fault("echo", path="/v1/things", kind="delay", delay=0.6)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/echo/v1/things", timeout=0.2)
    deadline = time.monotonic() + 5
    while things(client) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert things(client) == 1
    started = time.monotonic()
    assert client.post("/echo/v1/things").status_code == 200  # used up: no delay
    assert time.monotonic() - started < 0.5


def test_delay_then_answer_when_the_client_waits(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    echo.add_fault("echo", path="/v1/things", kind="delay", delay=0.3)
    started = time.monotonic()
    response = client.post("/echo/v1/things")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_after_commit_is_a_transport_error_after_the_change(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    echo.add_fault("echo", path="/v1/things", kind="drop_after_commit")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/echo/v1/things")
    assert things(client) == 1  # committed
    response = client.post("/echo/v1/things")  # used up; a new connection works
    assert response.status_code == 200
    assert response.json()["id"] == "th_2"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def server_log() -> Iterator[Records]:
    """What the server logs (uvicorn's error logger) during the test."""
    records = Records()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(records)
    try:
        yield records
    finally:
        logger.removeHandler(records)


def test_drop_after_commit_logs_no_server_error(
    echo: RunningSandbox, client: httpx.Client, server_log: Records
) -> None:
    echo.add_fault("echo", path="/v1/things", kind="drop_after_commit")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/echo/v1/things")
    client.get("/echo/v1/things")  # the server has finished with the dropped request
    assert server_log.messages == []


def test_drop_after_commit_applies_to_error_responses_too(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    echo.add_fault("echo", method="GET", path="/v1/things/*", kind="drop_after_commit")
    with pytest.raises(httpx.TransportError):
        client.get("/echo/v1/things/th_missing")


def test_matching_by_method_and_path_glob(echo: RunningSandbox, client: httpx.Client) -> None:
    echo.add_fault("echo", method="GET", path="/v1/things/*", kind="server_error", count=None)
    assert client.post("/echo/v1/things").status_code == 200  # method differs
    assert client.get("/echo/v1/things").status_code == 200  # path differs
    assert client.get("/echo/v1/things/th_1").status_code == 500
    assert client.get("/echo/v1/things/th_1").status_code == 500  # count null: until cleared
    assert client.get("/plain/v1/things/th_1").status_code == 404  # other provider
    [fault] = echo.faults()
    assert fault["hits"] == 2
    assert fault["count"] is None
    echo.clear_faults()
    assert client.get("/echo/v1/things/th_1").status_code == 200


def test_any_method(echo: RunningSandbox, client: httpx.Client) -> None:
    echo.add_fault("echo", method="*", path="/v1/*", kind="server_error", count=2)
    assert client.get("/echo/v1/things").status_code == 500
    assert client.post("/echo/v1/things").status_code == 500
    assert client.post("/echo/v1/things").status_code == 200


def test_faults_fire_in_the_order_armed_and_each_count_runs_out(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    echo.add_fault("echo", path="/v1/things", kind="rate_limit", count=1)
    echo.add_fault("echo", path="/v1/things", kind="server_error", count=2)
    statuses = [client.post("/echo/v1/things").status_code for _ in range(4)]
    assert statuses == [429, 500, 500, 200]
    assert echo.faults() == []


def test_listing_and_deleting_one_fault(echo: RunningSandbox) -> None:
    first = echo.add_fault("echo", path="/v1/things", kind="server_error", count=3)
    second = echo.add_fault("echo", path="/v1/*", kind="delay", delay=1.5)
    listed = echo.faults()
    assert [f["id"] for f in listed] == [first["id"], second["id"]]
    assert listed[0] == {
        "id": first["id"],
        "provider": "echo",
        "kind": "server_error",
        "method": "POST",
        "path": "/v1/things",
        "count": 3,
        "status": 500,
        "retry_after": None,
        "delay": None,
        "after": None,
        "hits": 0,
        "held": 0,
    }
    assert echo.control("DELETE", f"/faults/{first['id']}").status_code == 200
    assert [f["id"] for f in echo.faults()] == [second["id"]]
    assert echo.control("DELETE", f"/faults/{first['id']}").status_code == 404


def test_unhandled_exception_in_a_fake_is_a_sandbox_internal_error(
    echo: RunningSandbox, client: httpx.Client
) -> None:
    response = client.post("/echo/v1/boom")
    assert response.status_code == 500
    assert response.json() == {
        "echo_error": {"status": 500, "message": "sandbox internal error: RuntimeError"}
    }


def test_unknown_path_and_method_answer_in_the_providers_shape(client: httpx.Client) -> None:
    missing = client.get("/echo/v1/nothing")
    assert missing.status_code == 404
    assert missing.json()["echo_error"]["status"] == 404
    wrong = client.delete("/echo/v1/things")
    assert wrong.status_code == 405
    assert wrong.headers["allow"]  # Starlette names the first route's methods
    assert wrong.json()["echo_error"]["status"] == 405


class HeaderedFake(Fake):
    """A fake whose error answers carry a request id, as Stripe's and PayPal's do.

    It also tries to set headers the framework owns; those must not get through.
    """

    name: ClassVar[str] = "headered"
    created = 0

    def routes(self) -> Sequence[BaseRoute]:
        async def create(request: Request) -> Response:
            self.created += 1
            return Response(b"{}", media_type="application/json")

        async def boom(request: Request) -> Response:
            raise RuntimeError("a bug in the fake")

        return [
            Route("/v1/things", create, methods=["POST"]),
            Route("/v1/boom", boom, methods=["POST"]),
        ]

    def reset(self) -> None:
        self.created = 0

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {}

    def error_body(self, status: int, message: str) -> tuple[bytes, str, dict[str, str]]:
        content = json.dumps({"headered_error": {"status": status, "message": message}})
        headers = {
            "Echo-Request-Id": f"req_{status}",
            "Content-Length": "1",
            "Retry-After": "999",
        }
        return content.encode(), "application/json", headers


class BadHeadersFake(HeaderedFake):
    """Its ``error_body`` headers are not text: the framework's generic body is used."""

    name: ClassVar[str] = "badheaders"

    def error_body(self, status: int, message: str) -> tuple[bytes, str, dict[str, str]]:
        content, content_type, _ = super().error_body(status, message)
        return content, content_type, {"Echo-Request-Id": status}  # type: ignore[dict-item]


def test_error_body_headers_are_sent_on_every_framework_answer() -> None:
    with (
        run_sandbox([HeaderedFake]) as sb,
        httpx.Client(base_url=f"{sb.url}/headered", timeout=5.0) as client,
    ):
        sb.add_fault("headered", path="/v1/things", kind="server_error", status=502)
        sb.add_fault("headered", path="/v1/things", kind="rate_limit", retry_after=3)
        answers = {
            "fault": client.post("/v1/things"),
            "rate_limit": client.post("/v1/things"),
            "crash": client.post("/v1/boom"),
            "not_found": client.get("/v1/nothing"),
            "bad_method": client.delete("/v1/things"),
        }
        [fake] = sb.app.sandbox.fakes.values()
        assert isinstance(fake, HeaderedFake)
        assert fake.created == 0  # neither fault reached the handler
    for response in answers.values():
        status = response.status_code
        assert response.headers["echo-request-id"] == f"req_{status}"
        assert response.json()["headered_error"]["status"] == status
        # The framework's Content-Length (the real one) wins over the fake's "1".
        assert int(response.headers["content-length"]) == len(response.content) > 1
    assert [r.status_code for r in answers.values()] == [502, 429, 500, 404, 405]
    assert answers["rate_limit"].headers["retry-after"] == "3"
    assert answers["bad_method"].headers["allow"]
    assert "retry-after" not in answers["fault"].headers


def test_error_body_headers_that_are_not_text_fall_back_to_the_generic_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with run_sandbox([BadHeadersFake]) as sb, httpx.Client(base_url=sb.url) as client:
        sb.add_fault("badheaders", path="/v1/things", kind="server_error")
        with caplog.at_level(logging.ERROR, logger="paywire_sandbox"):
            response = client.post("/badheaders/v1/things")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "sandbox_error"
    assert "echo-request-id" not in response.headers
    assert any("using the generic body" in r.getMessage() for r in caplog.records)


def test_a_fault_can_wait_for_another_to_fire(echo: RunningSandbox, client: httpx.Client) -> None:
    """"Lose the answer, then fail everything after it": the second fault matches only once the
    first has fired, so the requests before it go through."""
    drop = echo.add_fault("echo", path="/v1/things", kind="drop_after_commit")
    echo.add_fault("echo", method="*", path="*", kind="server_error", count=None, after=drop["id"])
    assert client.get("/echo/v1/things").status_code == 200  # not active yet
    with pytest.raises(httpx.TransportError):
        client.post("/echo/v1/things")
    assert client.get("/echo/v1/things").status_code == 500  # everything after it fails
    echo.clear_faults()
    assert things(client) == 1  # the lost answer's request did take effect
    with pytest.raises(SandboxControlError, match="after"):
        echo.add_fault("echo", kind="server_error", after="flt_nonexistent")
