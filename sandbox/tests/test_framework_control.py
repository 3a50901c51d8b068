"""The control API: reset, clock, endpoints; bad input is a clear 4xx, never a 500."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import BaseRoute

from paywire_sandbox import Fake, RunningSandbox, SandboxContext, WebhookEndpoint, run_sandbox
from paywire_sandbox.testing import WebhookReceiver


def error_message(response: httpx.Response) -> str:
    body = response.json()
    assert set(body["error"]) == {"type", "message"}
    message: str = body["error"]["message"]
    return message


def test_info_lists_the_served_fakes(echo: RunningSandbox) -> None:
    info = echo.info()
    assert info["fakes"] == ["echo", "listener", "plain"]
    assert info["failures"] == []
    assert info["webhook_retry_delays"] == [0.01, 0.02, 0.04]


def test_clock_advances_and_reset_returns_to_real_time(echo: RunningSandbox) -> None:
    before = echo.now()
    after = echo.advance_clock(86_400)
    assert 86_400 <= after - before < 86_400 + 5
    assert echo.control("GET", "/clock").json()["offset"] == 86_400
    with httpx.Client(base_url=echo.url) as client:
        created = client.post("/echo/v1/things").json()["created"]
    assert created >= int(before) + 86_400  # fakes see the advanced clock
    echo.reset()
    assert echo.control("GET", "/clock").json()["offset"] == 0
    assert echo.now() < after


def test_clock_offsets_accumulate(echo: RunningSandbox) -> None:
    echo.advance_clock(10)
    echo.advance_clock(0.5)
    assert echo.control("GET", "/clock").json()["offset"] == 10.5


def test_reset_forgets_every_fakes_state_and_faults(echo: RunningSandbox) -> None:
    with httpx.Client(base_url=echo.url) as client:
        client.post("/echo/v1/things")
        client.post("/plain/v1/things")
        echo.add_fault("echo", path="/v1/things", kind="server_error")
        echo.reset()
        assert client.get("/echo/v1/things").json() == {"data": []}
        assert client.get("/plain/v1/things").json() == {"data": []}
        assert echo.faults() == []
        assert client.post("/echo/v1/things").json()["id"] == "th_1"


def test_endpoint_crud(echo: RunningSandbox) -> None:
    created = echo.register_webhook("echo", "https://example.test/hook", "s", note="x")
    assert created["extra"] == {"note": "x"}
    assert set(created) == {"id", "provider", "url", "extra"}
    fetched = echo.control("GET", f"/webhooks/endpoints/{created['id']}").json()
    assert fetched == created
    assert echo.webhook_endpoints("echo") == [created]
    assert echo.webhook_endpoints("plain") == []
    assert echo.control("DELETE", "/webhooks/endpoints?provider=echo").json() == {"deleted": 1}
    assert echo.control("GET", f"/webhooks/endpoints/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("POST", "/clock/advance", None, 400, "JSON object body is required"),
        ("POST", "/clock/advance", "{nope", 400, "not valid JSON"),
        ("POST", "/clock/advance", [1], 400, "must be a JSON object"),
        ("POST", "/clock/advance", {"seconds": -1}, 400, "'seconds' must be between"),
        ("POST", "/clock/advance", {"seconds": "1"}, 400, "'seconds' must be a number"),
        ("POST", "/clock/advance", {"seconds": True}, 400, "'seconds' must be a number"),
        ("POST", "/clock/advance", {"seconds": 1, "x": 2}, 400, "unknown field(s): x"),
        ("POST", "/reset", {"keep_endpoints": "yes"}, 400, "must be a boolean"),
        ("POST", "/webhooks/endpoints", {"provider": "nope"}, 400, "one of the served fakes"),
        (
            "POST",
            "/webhooks/endpoints",
            {"provider": "echo", "url": "ftp://x/y", "secret": "s"},
            400,
            "absolute http(s) URL",
        ),
        (
            "POST",
            "/webhooks/endpoints",
            {"provider": "echo", "url": "/relative", "secret": "s"},
            400,
            "absolute http(s) URL",
        ),
        (
            "POST",
            "/webhooks/endpoints",
            {"provider": "echo", "url": "http://x/y", "secret": 5},
            400,
            "'secret' must be a string",
        ),
        (
            "POST",
            "/webhooks/endpoints",
            {"provider": "echo", "url": "http://x/y", "secret": "s", "extra": {"a": 1}},
            400,
            "string values",
        ),
        ("GET", "/webhooks/deliveries?provider=nope", None, 400, "unknown provider"),
        ("POST", "/webhooks/deliveries/whd_nope/redeliver", None, 404, "no such delivery"),
        ("DELETE", "/webhooks/endpoints/we_nope", None, 404, "no such webhook endpoint"),
        ("POST", "/webhooks/wait", {"timeout": 1e9}, 400, "'timeout' must be between"),
        ("POST", "/faults", {"provider": "echo", "kind": "explode"}, 400, "'kind' must be one"),
        ("POST", "/faults", {"provider": "nope", "kind": "delay"}, 400, "one of the served"),
        ("POST", "/faults", {"provider": "echo", "kind": "delay"}, 400, "'delay' must be"),
        (
            "POST",
            "/faults",
            {"provider": "echo", "kind": "delay", "delay": 1e6},
            400,
            "'delay' must be",
        ),
        (
            "POST",
            "/faults",
            {"provider": "echo", "kind": "server_error", "status": 404},
            400,
            "500-599",
        ),
        (
            "POST",
            "/faults",
            {"provider": "echo", "kind": "server_error", "retry_after": 3},
            400,
            "only to rate_limit",
        ),
        ("POST", "/faults", {"provider": "echo", "kind": "rate_limit", "count": 0}, 400, "count"),
        (
            "POST",
            "/faults",
            {"provider": "echo", "kind": "reorder_webhooks", "count": 1},
            400,
            ">= 2",
        ),
        ("POST", "/faults", {"provider": "echo", "kind": "delay", "path": "v1"}, 400, "'/'"),
        ("POST", "/faults", {"provider": "echo", "kind": "x", "bogus": 1}, 400, "bogus"),
        ("GET", "/no/such/route", None, 404, "no control route"),
        ("PATCH", "/faults", None, 404, "no control route"),
    ],
)
def test_bad_control_requests_get_a_clear_json_error(
    echo: RunningSandbox, method: str, path: str, body: Any, status: int, fragment: str
) -> None:
    content = body if isinstance(body, str) else None if body is None else json.dumps(body)
    response = echo.control(method, path, content=content)
    assert response.status_code == status
    assert fragment in error_message(response)
    assert echo.faults() == []


def test_wait_times_out_with_408(echo: RunningSandbox) -> None:
    with WebhookReceiver(delays=[0.5]) as rx:
        echo.register_webhook("echo", rx.url, "s")
        echo.control("POST", "/echo/emit", json={"type": "thing.created"})
        response = echo.control("POST", "/webhooks/wait", json={"timeout": 0.05})
        assert response.status_code == 408
        assert response.json()["pending"] == 1
        assert response.json()["error"]["type"] == "timeout"
        echo.wait_for_webhooks()
    done = echo.control("POST", "/webhooks/wait", json={"timeout": 0})
    assert done.status_code == 200
    assert done.json() == {"pending": 0, "held": 0}


def test_fake_control_routes_are_mounted_and_guarded(echo: RunningSandbox) -> None:
    assert echo.control("POST", "/echo/emit", json={"type": "x"}).json() == {"event_id": "evt_1"}
    # The echo fake's handler fails on a non-JSON body: a JSON 500, not a crash or plain text.
    broken = echo.control("POST", "/echo/emit", content=b"not json")
    assert broken.status_code == 500
    assert error_message(broken) == "sandbox internal error: JSONDecodeError"
    assert broken.json()["error"]["type"] == "internal_error"
    missing = echo.control("GET", "/echo/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "provider",
        "kind",
        "method",
        "path",
        "count",
        "status",
        "retry_after",
        "delay",
        "seconds",
        "url",
        "secret",
        "extra",
        "timeout",
        "keep_endpoints",
    ]
)
bodies = (
    st.dictionaries(
        field_names,
        json_values
        | st.sampled_from(
            ["echo", "delay", "server_error", "rate_limit", "*", "/v1/*", "http://x/"]
        ),
        max_size=5,
    )
    | json_values
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        ["/clock/advance", "/webhooks/endpoints", "/webhooks/wait", "/faults", "/reset"]
    ),
    body=bodies,
)
def test_arbitrary_json_never_causes_a_500(echo: RunningSandbox, path: str, body: Any) -> None:
    if path == "/webhooks/wait" and isinstance(body, dict):
        body = {**body, "timeout": 0}  # never wait on a generated timeout
    try:
        content = json.dumps(body, allow_nan=True)
        response = echo.control("POST", path, content=content)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            error_message(response)
    finally:
        echo.reset()


class CountingFake(Fake):
    name: ClassVar[str] = "counting"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self.resets = 0

    def routes(self) -> Sequence[BaseRoute]:
        return []

    def reset(self) -> None:
        self.resets += 1

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {}


class BrokenResetFake(CountingFake):
    name: ClassVar[str] = "aaa-broken"  # sorts first: the others must still be reset

    def reset(self) -> None:
        raise RuntimeError("cannot forget")


def test_a_failing_fake_reset_is_a_500_and_the_others_still_reset() -> None:
    with run_sandbox([BrokenResetFake, CountingFake]) as sb:
        sb.advance_clock(50)
        response = sb.control("POST", "/reset")
        assert response.status_code == 500
        assert error_message(response) == "sandbox internal error: RuntimeError"
        counting = sb.app.sandbox.fakes["counting"]
        assert isinstance(counting, CountingFake)
        assert counting.resets == 1
        assert sb.control("GET", "/clock").json()["offset"] == 0
