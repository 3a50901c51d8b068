"""The recorder and replayer on their own: matching, redaction, transport errors, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire_contract._recording import (
    SANDBOX_ORIGIN,
    Cassette,
    CountingTransport,
    FixtureSecretError,
    RecordingTransport,
    ReplayMiss,
    ReplayTransport,
    find_secrets,
    fixture_path,
)

REAL = "http://127.0.0.1:43210"
SECRET = "hunter2-is-a-secret"


def _server(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/drop"):
        raise httpx.RemoteProtocolError("peer closed connection", request=request)
    is_json = "json" in request.headers.get("content-type", "")
    body = json.loads(request.content or b"{}") if is_json else request.content.decode()
    return httpx.Response(
        200,
        json={"echo": body, "path": request.url.path, "url": f"{REAL}/pay/1"},
        headers={"Request-Id": "req_1", "Date": "Mon, 01 Jan 2024 00:00:00 GMT"},
    )


def _record(tmp_path: Path) -> Path:
    cassette = Cassette(test_id="t", provider="p", origins={REAL: SANDBOX_ORIGIN}, secrets=[SECRET])
    transport = RecordingTransport(
        httpx.MockTransport(_server), cassette, channel="provider", base=REAL + "/p"
    )
    with httpx.Client(transport=transport, base_url=REAL + "/p") as client:
        client.post(
            "/v1/charges", json={"amount": 1, "key": SECRET}, headers={"Authorization": SECRET}
        )
        client.post("/v1/charges", json={"amount": 1, "key": SECRET})
        client.get("/v1/things", params={"b": "2", "a": "1"})
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/drop", json={})
    path = tmp_path / "t.json"
    cassette.dump(path, [SECRET])
    return path


def _replayer(path: Path) -> tuple[Cassette, httpx.Client]:
    cassette = Cassette.load(path, test_id="t", provider="p", secrets=[SECRET], origins={})
    transport = ReplayTransport(cassette, channel="provider", base=SANDBOX_ORIGIN + "/p")
    return cassette, httpx.Client(transport=transport, base_url=SANDBOX_ORIGIN + "/p")


def test_recorded_fixture_is_readable_redacted_and_portable(tmp_path: Path) -> None:
    path = _record(tmp_path)
    text = path.read_text()
    assert SECRET not in text
    assert "127.0.0.1" not in text
    data = json.loads(text)
    first = data["interactions"][0]
    assert first["request"] == {
        "method": "POST",
        "path": "/v1/charges",
        "content_type": "application/json",
        "body": {"json": {"amount": 1, "key": "[REDACTED]"}},
    }
    assert first["response"]["headers"] == {
        "request-id": "req_1",
        "content-type": "application/json",
    }
    assert first["response"]["body"]["json"]["url"] == f"{SANDBOX_ORIGIN}/pay/1"
    assert data["interactions"][3]["error"]["type"] == "RemoteProtocolError"


def test_replay_serves_in_order_matches_query_and_raises_recorded_errors(tmp_path: Path) -> None:
    cassette, client = _replayer(_record(tmp_path))
    with client:
        # The query in another order and a different secret-free header still match.
        assert (
            client.get("/v1/things", params={"a": "1", "b": "2"}).json()["path"] == "/p/v1/things"
        )
        one = client.post("/v1/charges", json={"key": SECRET, "amount": 1})
        two = client.post("/v1/charges", json={"amount": 1, "key": SECRET})
        assert one.headers["request-id"] == two.headers["request-id"] == "req_1"
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v1/drop", json={})
        assert cassette.unused() == []
        with pytest.raises(
            ReplayMiss, match=r"no recorded interaction for provider POST /v1/charges"
        ):
            client.post("/v1/charges", json={"amount": 1, "key": SECRET})
        with pytest.raises(ReplayMiss, match=r"Recorded for the same method and path: used:"):
            client.post("/v1/charges", json={"amount": 2})
    assert len(cassette.misses) == 2


def test_unused_interactions_are_listed(tmp_path: Path) -> None:
    cassette, client = _replayer(_record(tmp_path))
    with client:
        client.get("/v1/things", params={"a": "1", "b": "2"})
    assert cassette.unused()[0].describe().startswith("provider POST /v1/charges")
    assert len(cassette.unused()) == 3


def test_dump_refuses_undeclared_credentials(tmp_path: Path) -> None:
    cassette = Cassette(test_id="t", provider="p")
    transport = RecordingTransport(
        httpx.MockTransport(_server), cassette, channel="provider", base=REAL
    )
    with httpx.Client(transport=transport, base_url=REAL) as client:
        client.post("/x", json={"key": "sk_" + "live_abcdefghijkl"})  # built: scanners flag it
    with pytest.raises(FixtureSecretError, match="credential-shaped token"):
        cassette.dump(tmp_path / "t.json", [])
    with pytest.raises(FixtureSecretError, match="secret #1"):
        Cassette(test_id="t", provider="p", webhooks=[{"body": SECRET}]).dump(
            tmp_path / "t.json", [SECRET]
        )
    assert not (tmp_path / "t.json").exists()


@given(st.text(min_size=4, max_size=40).filter(lambda s: s.strip() == s), st.text(max_size=80))
def test_find_secrets_never_names_the_secret(secret: str, text: str) -> None:
    found = find_secrets(text + secret, [secret])
    assert found
    assert all(secret not in item for item in found)


def test_counting_transport_and_fixture_names(tmp_path: Path) -> None:
    counting = CountingTransport(httpx.MockTransport(_server))
    with httpx.Client(transport=counting) as client:
        client.get("http://x/a")
    assert [r.url.path for r in counting.requests] == ["/a"]
    assert fixture_path(tmp_path, "test_x[JPY]").name == "test_x[JPY].json"
    assert fixture_path(tmp_path, "a/b::c").name == "a.b.c.json"


def test_load_rejects_foreign_files(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text('{"something": 1}')
    with pytest.raises(ValueError, match="not a paywire contract fixture"):
        Cassette.load(path, test_id="t", provider="p", secrets=[], origins={})
    missing = Cassette.load(
        tmp_path / "none.json", test_id="t", provider="p", secrets=[], origins={}
    )
    assert missing.interactions == []


def test_volatile_fields_are_ignored_when_matching(tmp_path: Path) -> None:
    recorded = Cassette(test_id="t", provider="p")
    transport = RecordingTransport(
        httpx.MockTransport(_server), recorded, channel="provider", base=REAL
    )
    with httpx.Client(transport=transport, base_url=REAL) as client:
        client.post("/links", json={"amount": 5, "expire_by": 100, "notes": {"at": 1}})
        client.post("/form", data={"amount": "5", "meta[at]": "1"}, params={"ts": "1"})
    path = tmp_path / "t.json"
    recorded.dump(path, [])

    def replay(volatile: frozenset[str]) -> tuple[Cassette, httpx.Client]:
        cassette = Cassette.load(
            path, test_id="t", provider="p", secrets=[], origins={}, volatile=volatile
        )
        transport = ReplayTransport(cassette, channel="provider", base=SANDBOX_ORIGIN)
        return cassette, httpx.Client(transport=transport, base_url=SANDBOX_ORIGIN)

    cassette, client = replay(frozenset({"expire_by", "at", "ts"}))
    with client:
        client.post("/links", json={"amount": 5, "expire_by": 999, "notes": {"at": 2}})
        client.post("/form", data={"amount": "5", "meta[at]": "2"}, params={"ts": "2"})
    assert cassette.unused() == []

    _cassette, client = replay(frozenset())
    with client, pytest.raises(ReplayMiss):
        client.post("/links", json={"amount": 5, "expire_by": 999, "notes": {"at": 1}})
    _cassette, client = replay(frozenset({"expire_by", "at", "ts"}))
    with client, pytest.raises(ReplayMiss):
        client.post("/links", json={"amount": 6, "expire_by": 100, "notes": {"at": 1}})
