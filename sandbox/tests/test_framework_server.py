"""Serving: start and stop, ports, loopback only, the public API surface."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

import paywire_sandbox
from paywire_sandbox import Fake, WebhookEndpoint, run_sandbox
from paywire_sandbox._server import is_loopback
from paywire_sandbox.testing import sandbox_process


class PingFake(Fake):
    name: ClassVar[str] = "ping"

    def routes(self) -> Sequence[BaseRoute]:
        async def ping(request: Request) -> Response:
            return PlainTextResponse(f"pong {request.base_url}")

        return [Route("/ping", ping)]

    def reset(self) -> None:
        return None

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {}


def refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=1.0)
    except httpx.ConnectError:
        return True
    return False


def test_serves_on_a_free_loopback_port_and_stops() -> None:
    with run_sandbox([PingFake]) as sb:
        assert sb.url.startswith("http://127.0.0.1:")
        response = httpx.get(f"{sb.url}/ping/ping")
        assert response.text == f"pong {sb.url}/"  # hosted pages build URLs from this
        assert "server" not in response.headers
    assert refused(f"{sb.url}/ping/ping")


def test_two_sandboxes_are_independent() -> None:
    with run_sandbox([PingFake]) as first, run_sandbox([PingFake]) as second:
        assert first.url != second.url
        first.advance_clock(100)
        assert first.control("GET", "/clock").json()["offset"] == 100
        assert second.control("GET", "/clock").json()["offset"] == 0


def test_a_given_port_is_used() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with run_sandbox([PingFake], port=port) as sb:
        assert sb.url == f"http://127.0.0.1:{port}"


def test_a_busy_port_fails_to_start() -> None:
    with run_sandbox([PingFake]) as sb:
        port = int(sb.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match="in use"), run_sandbox([PingFake], port=port):
            pytest.fail("started on a busy port")


def test_only_loopback_hosts() -> None:
    everywhere = "0.0.0.0"  # noqa: S104 - the address being refused
    with pytest.raises(ValueError, match="loopback"), run_sandbox([PingFake], host=everywhere):
        pytest.fail("served on every interface")
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")  # noqa: S104
    assert not is_loopback("192.168.1.2")
    assert not is_loopback("example.com")


def test_repr_shows_no_secrets_and_names_the_fakes() -> None:
    with run_sandbox([PingFake]) as sb:
        sb.register_webhook("ping", "http://127.0.0.1:9/", "whsec_hidden")
        assert "ping" in repr(sb)
        assert "whsec_hidden" not in repr(sb)
        [endpoint] = sb.app.sandbox.webhooks.all_endpoints()
        assert "whsec_hidden" not in repr(endpoint)


def test_all_is_complete_and_sorted() -> None:
    public = {
        name
        for name, value in vars(paywire_sandbox).items()
        if not name.startswith("_") and not isinstance(value, type(paywire_sandbox))
    }
    assert set(paywire_sandbox.__all__) == public

    # Sorted as ruff's RUF022 sorts: CONSTANTS, then Classes, then functions.
    def order(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert paywire_sandbox.__all__ == sorted(paywire_sandbox.__all__, key=order)


def test_control_paths_may_include_the_prefix() -> None:
    with run_sandbox([PingFake]) as sb:
        assert sb.control("GET", "/clock").status_code == 200
        assert sb.control("GET", "clock").status_code == 200
        assert sb.control("GET", "/_sandbox/clock").status_code == 200
        assert sb.control("GET", "/_sandbox/").json()["fakes"] == ["ping"]


def test_sandbox_process_serves_the_named_fakes_and_stops() -> None:
    with sandbox_process("stripe") as root:
        assert root.startswith("http://127.0.0.1:")
        fakes = httpx.get(f"{root}/_sandbox/", timeout=10).json()
        answer = httpx.get(f"{root}/stripe/v1/customers/cus_none", timeout=10)
        assert answer.status_code == 401  # the Stripe fake answers, and wants a key
        assert httpx.get(f"{root}/razorpay/v1/orders", timeout=10).status_code == 404
    assert fakes
    assert refused(f"{root}/_sandbox/")


def test_sandbox_process_reports_why_it_did_not_start() -> None:
    wrong = pytest.raises(RuntimeError, match=r"(?s)did not start: .*'no-such-fake'.*no fakes")
    with wrong, sandbox_process("no-such-fake"):
        pass
