"""Bad input never makes the control API answer 5xx, and the bounded decoders hold their limits.

The property test sends every framework control route arbitrary JSON (any shape, nested deeper
than any decoder's stack), raw bytes and oversized bodies, with arbitrary ids and query
parameters, and asserts a 4xx in the control API's shape — never a 500.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # see test_stripe_app: TestClient's httpx2 preference
    from starlette.testclient import TestClient

from paywire_sandbox import Fake, WebhookEndpoint, build_app
from paywire_sandbox._input import (
    MAX_JSON_DEPTH,
    InputRejected,
    json_depth,
    parse_form,
    parse_json,
    read_body,
)


class InertFake(Fake):
    """A provider with one route, so the control API has a fake to name."""

    name: ClassVar[str] = "inert"

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/ping", self.ping, methods=["GET"])]

    def reset(self) -> None:
        return

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {}

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"ok": True})


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(build_app([InertFake]), base_url="http://testserver") as test_client:
        yield test_client


ROUTES = [
    ("GET", "/"),
    ("POST", "/reset"),
    ("GET", "/clock"),
    ("POST", "/clock/advance"),
    ("POST", "/webhooks/endpoints"),
    ("GET", "/webhooks/endpoints"),
    ("DELETE", "/webhooks/endpoints"),
    ("GET", "/webhooks/endpoints/{id}"),
    ("DELETE", "/webhooks/endpoints/{id}"),
    ("GET", "/webhooks/deliveries"),
    ("POST", "/webhooks/deliveries/{id}/redeliver"),
    ("POST", "/webhooks/wait"),
    ("POST", "/faults"),
    ("GET", "/faults"),
    ("DELETE", "/faults"),
    ("DELETE", "/faults/{id}"),
    ("PATCH", "/{id}"),
]
FIELDS = [
    "provider", "kind", "method", "path", "count", "status", "retry_after", "delay", "seconds",
    "url", "secret", "extra", "timeout", "keep_endpoints",
]  # fmt: skip
SAMPLES = [
    "inert", "delay", "server_error", "rate_limit", "duplicate_webhook", "*", "/ping",
    "http://127.0.0.1:9/", "http://[::1", "https://", "GET", 0, 1, -1, 10**30, 1e308, True,
]  # fmt: skip

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(SAMPLES),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


class Big:
    """A body too big to print in a failure report: built on demand, shown by its recipe."""

    def __init__(self, recipe: str, size: int, unit: str, close: str = "") -> None:
        self.recipe, self.size, self.unit, self.close = recipe, size, unit, close

    def build(self) -> bytes:
        return (self.unit * self.size + self.close * self.size).encode()

    def __repr__(self) -> str:
        return f"Big({self.recipe!r}, {self.size})"


bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5).map(json.dumps),
    json_values.map(json.dumps),
    st.binary(max_size=60),
    st.integers(MAX_JSON_DEPTH, 200_000).map(lambda n: Big("nested lists", n, "[", "]")),
    st.integers(MAX_JSON_DEPTH, 50_000).map(lambda n: Big("nested objects", n, '{"a":', "}")),
    st.integers(1 << 20, 3 << 20).map(lambda n: Big("long string", n, "x")),
)
queries = st.dictionaries(
    st.sampled_from(["provider", "event_id", "endpoint_id", "x"]),
    st.one_of(st.text(max_size=10), st.sampled_from(["inert", "stripe"])),
    max_size=3,
)


def _error_shape(response: Any) -> None:
    assert response.status_code < 500, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["type"] in ("invalid_request", "not_found"), error
        assert isinstance(error["message"], str)
        assert "internal error" not in error["message"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(ROUTES),
    junk=st.text(max_size=8),
    query=queries,
    body=bodies,
)
@example(route=("POST", "/reset"), junk="", query={}, body=Big("nested lists", 100_000, "[", "]"))
@example(
    route=("POST", "/faults"), junk="", query={}, body=Big("nested objects", 5000, '{"a":', "}")
)
@example(route=("POST", "/webhooks/wait"), junk="", query={}, body=Big("long", 3 << 20, "x"))
def test_control_api_answers_bad_input_with_its_json_errors_never_5xx(
    client: TestClient, route: tuple[str, str], junk: str, query: dict[str, str], body: Any
) -> None:
    method, template = route
    segment = quote(junk.replace("/", ""), safe="")
    path = template.replace("{id}", segment if segment.strip(".") else "x")
    content = body.build() if isinstance(body, Big) else body
    try:
        response = client.request(
            method,
            "/_sandbox" + path,
            params=query,
            content=content,
            headers={"Content-Type": "application/json"},
        )
        _error_shape(response)
    finally:
        client.post("/_sandbox/reset", json={})


def test_deep_json_is_a_400_and_a_huge_body_a_413(client: TestClient) -> None:
    deep = client.post("/_sandbox/clock/advance", content=b"[" * 50_000 + b"]" * 50_000)
    assert deep.status_code == 400
    assert "nested more than" in deep.json()["error"]["message"]
    huge = client.post("/_sandbox/clock/advance", content=b"x" * ((1 << 20) + 1))
    assert huge.status_code == 413
    assert huge.json()["error"]["type"] == "invalid_request"


def test_a_newline_in_a_path_still_gets_the_providers_404(client: TestClient) -> None:
    response = client.get("/inert/pi%0Ang")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    # The inert fake has no error_body: the framework's generic shape, never plain text.
    assert response.json()["error"]["type"] == "sandbox_error"
    elsewhere = client.get("/nowhere%0A")
    assert elsewhere.status_code == 404
    assert elsewhere.json()["error"]["type"] == "not_found"


# ---------------------------------------------------------------------- the decoders


@given(value=json_values)
def test_json_depth_counts_container_nesting(value: Any) -> None:
    def depth(node: Any) -> int:
        if isinstance(node, dict):
            return 1 + max(map(depth, node.values()), default=0)
        if isinstance(node, list):
            return 1 + max(map(depth, node), default=0)
        return 0

    assert json_depth(value) == depth(value)


@given(n=st.integers(0, 3 * MAX_JSON_DEPTH))
def test_parse_json_refuses_exactly_what_nests_too_deep(n: int) -> None:
    text = "[" * n + "0" + "]" * n
    if n <= MAX_JSON_DEPTH:
        assert json_depth(parse_json(text)) == n
    else:
        with pytest.raises(InputRejected, match="nested more than"):
            parse_json(text)


@given(n=st.integers(0, 40), blanks=st.booleans())
def test_parse_form_counts_fields_against_its_limit(n: int, blanks: bool) -> None:
    text = "&".join(f"k{i}=" + ("" if blanks else "v") for i in range(n))
    if n <= 20:
        assert len(parse_form(text, max_fields=20)) == n
    else:
        with pytest.raises(InputRejected, match="more than 20 fields"):
            parse_form(text, max_fields=20)


def test_parse_form_refuses_a_long_field_name() -> None:
    assert parse_form("a=1", max_fields=5, max_key=1) == [("a", "1")]
    with pytest.raises(InputRejected, match="longer than 1"):
        parse_form("ab=1", max_fields=5, max_key=1)


@pytest.mark.parametrize(("size", "declared"), [(10, True), (10, False), (11, True), (11, False)])
def test_read_body_stops_past_its_limit(size: int, declared: bool) -> None:
    chunks = [b"x" * (size - size // 2), b"x" * (size // 2)]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    headers = [(b"content-length", str(size).encode())] if declared else []
    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
    if size <= 10:
        assert asyncio.run(read_body(request, 10)) == b"x" * size
    else:
        with pytest.raises(InputRejected) as caught:
            asyncio.run(read_body(request, 10))
        assert caught.value.too_large
