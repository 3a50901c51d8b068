"""Shared fixtures for the sandbox's tests.

``sandbox``: one served sandbox (every registered fake) for the whole session.
``clean_sandbox``: the same sandbox, reset before the test (fakes, deliveries, endpoints, faults,
clock). Neither is autouse.

The framework's own tests use ``echo_sandbox`` / ``echo``: a sandbox serving only the tiny
:class:`EchoFake` (and two variants), so they do not depend on any real provider's fake.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from paywire_sandbox import Fake, RunningSandbox, SandboxContext, WebhookEndpoint, run_sandbox

#: Fast retries for the framework's tests: four attempts within ~0.1 s.
ECHO_RETRY_DELAYS = (0.01, 0.02, 0.04)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """A sandbox served in a background thread for the whole test session."""
    with run_sandbox() as running:
        yield running


@pytest.fixture
def clean_sandbox(sandbox: RunningSandbox) -> RunningSandbox:
    """The session sandbox, reset to a fresh state for this test."""
    sandbox.reset()
    return sandbox


class EchoFake(Fake):
    """A minimal provider: things you can create, list and fetch; each creation fires a webhook.

    Its error bodies (``error_body``) are ``{"echo_error": {"status", "message"}}``; webhooks are
    signed ``Echo-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">``.
    """

    name: ClassVar[str] = "echo"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self.things: dict[str, dict[str, object]] = {}
        self.events = 0

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/v1/things", self.create, methods=["POST"]),
            Route("/v1/things", self.list, methods=["GET"]),
            Route("/v1/things/{thing_id}", self.get, methods=["GET"]),
            Route("/v1/boom", self.boom, methods=["POST"]),
        ]

    def control_routes(self) -> Sequence[BaseRoute]:
        return [Route("/emit", self.control_emit, methods=["POST"])]

    def reset(self) -> None:
        self.things.clear()
        self.events = 0

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        mac = hmac.new(endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return {"Echo-Signature": f"t={timestamp},v1={mac.hexdigest()}"}

    def error_body(self, status: int, message: str) -> tuple[bytes, str]:
        body = {"echo_error": {"status": status, "message": message}}
        return json.dumps(body).encode(), "application/json"

    def fire(self, event_type: str, data: object) -> str:
        self.events += 1
        event_id = f"evt_{self.events}"
        body = json.dumps({"id": event_id, "type": event_type, "data": data}).encode()
        self.ctx.webhooks.emit(self.name, event_id, event_type, body)
        return event_id

    async def create(self, request: Request) -> Response:
        thing_id = f"th_{len(self.things) + 1}"
        thing = {"id": thing_id, "created": int(self.ctx.clock.now())}
        self.things[thing_id] = thing
        self.fire("thing.created", thing)
        return JSONResponse(thing)

    async def list(self, request: Request) -> Response:
        return JSONResponse({"data": list(self.things.values())})

    async def get(self, request: Request) -> Response:
        thing = self.things.get(request.path_params["thing_id"])
        if thing is None:
            return JSONResponse({"echo_error": {"status": 404, "message": "no such thing"}}, 404)
        return JSONResponse(thing)

    async def boom(self, request: Request) -> Response:
        raise RuntimeError("a bug in the fake")

    async def control_emit(self, request: Request) -> Response:
        data = await request.json()
        return JSONResponse({"event_id": self.fire(data["type"], data.get("data"))})


class PlainFake(EchoFake):
    """An echo fake without an ``error_body`` hook: the framework's generic errors apply."""

    name: ClassVar[str] = "plain"
    error_body = None  # type: ignore[assignment]


class ListenerIdFake(EchoFake):
    """An echo fake that, like PayPal, assigns each registered endpoint a listener id."""

    name: ClassVar[str] = "listener"

    def endpoint_extra(self, extra: Mapping[str, str]) -> dict[str, str]:
        result = dict(extra)
        result.setdefault("listener_id", f"L{len(self.ctx.webhooks.endpoints(self.name)) + 1}")
        return result


@pytest.fixture(scope="session")
def echo_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox serving only the echo fakes, with fast webhook retries, for the session."""
    with run_sandbox(
        [EchoFake, PlainFake, ListenerIdFake],
        webhook_retry_delays=ECHO_RETRY_DELAYS,
        webhook_timeout=1.0,
    ) as running:
        yield running


@pytest.fixture
def echo(echo_sandbox: RunningSandbox) -> RunningSandbox:
    """The echo sandbox, reset for this test."""
    echo_sandbox.reset()
    return echo_sandbox
