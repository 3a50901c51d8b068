"""The recorder and replayer on their own: matching, redaction, transport errors, secrets."""

from __future__ import annotations

import asyncio
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


# -- credentials the recorder learns --------------------------------------------------------

TOKEN = "A21AAtokenIssuedByTheProvider0123456789"
ISSUED_SECRET = "pi_1_secret_issuedClientSecret42"


def _issuer(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/oauth2/token":
        return httpx.Response(
            200, json={"scope": "x", "access_token": TOKEN, "token_type": "Bearer"}
        )
    if request.url.path == "/form-token":
        return httpx.Response(
            200,
            content=f"refresh_token={TOKEN}R&expires_in=3600".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    return httpx.Response(200, json={"intent": {"id": "pi_1", "client_secret": ISSUED_SECRET}})


def test_credentials_sent_or_issued_are_redacted_everywhere(tmp_path: Path) -> None:
    cassette = Cassette(test_id="t", provider="p")
    transport = RecordingTransport(
        httpx.MockTransport(_issuer), cassette, channel="provider", base=REAL
    )
    with httpx.Client(transport=transport, base_url=REAL) as client:
        # The token appears before the recorder could know it is one: redacted when written.
        client.post("/echo", json={"note": TOKEN})
        client.post("/oauth2/token", auth=("client-id", "client-secret-value"))
        client.get("/v1/orders", headers={"Authorization": f"Bearer {TOKEN}"})
        client.get("/v1/x", headers={"X-Api-Key": "apikey-value-123456"})
        client.get("/v1/y", auth=("sk_test_basicuser000000", ""))
        client.post("/form-token")
        client.post("/v1/intents", json={})
    assert {
        TOKEN,
        f"{TOKEN}R",
        "client-secret-value",
        "apikey-value-123456",
        "sk_test_basicuser000000",
        ISSUED_SECRET,
    } <= cassette.learned
    path = tmp_path / "t.json"
    cassette.dump(path, [])
    text = path.read_text()
    for value in (TOKEN, ISSUED_SECRET, "client-secret-value", "apikey-value-123456"):
        assert value not in text
    assert '"access_token": "[REDACTED]"' in text
    assert '"client_secret": "[REDACTED]"' in text
    assert "refresh_token=[REDACTED]&expires_in=3600" in text
    assert '"note": "[REDACTED]"' in text
    assert find_secrets(text, [], fixture=True) == []


def test_the_fixture_scan_knows_issued_credentials() -> None:
    leaked = json.dumps({"response": {"body": {"json": {"access_token": "A21AAabc"}}}})
    assert find_secrets(leaked, [], fixture=True) == ["an issued credential (access_token)"]
    assert find_secrets(leaked, []) == []  # a repr or a log line is not a fixture
    escaped = json.dumps({"body": json.dumps({"client_secret": "pi_9_secret_x"})})
    assert find_secrets(escaped, [], fixture=True) == ["an issued credential (client_secret)"]
    form = json.dumps({"body": "grant_type=x&refresh_token=r123&y=1"})
    assert find_secrets(form, [], fixture=True) == ["an issued credential (refresh_token)"]
    redacted = json.dumps({"access_token": "[REDACTED]", "body": "refresh_token=%5BREDACTED%5D"})
    assert find_secrets(redacted, [], fixture=True) == []


# -- the async path -------------------------------------------------------------------------


def test_recording_and_replaying_on_the_async_path(tmp_path: Path) -> None:
    cassette = Cassette(test_id="t", provider="p", origins={REAL: SANDBOX_ORIGIN}, secrets=[SECRET])
    counting = CountingTransport(
        RecordingTransport(httpx.MockTransport(_server), cassette, channel="provider", base=REAL)
    )

    async def record() -> None:
        async with httpx.AsyncClient(transport=counting, base_url=REAL) as client:
            await client.post("/v1/charges", json={"amount": 1, "key": SECRET})
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/v1/drop", json={})

    asyncio.run(record())
    assert [r.url.path for r in counting.requests] == ["/v1/charges", "/v1/drop"]
    path = tmp_path / "t.json"
    cassette.dump(path, [SECRET])
    assert SECRET not in path.read_text()

    replayed = Cassette.load(path, test_id="t", provider="p", secrets=[SECRET], origins={})
    replayer = ReplayTransport(replayed, channel="provider", base=SANDBOX_ORIGIN)

    async def replay() -> dict[str, object]:
        async with httpx.AsyncClient(transport=replayer, base_url=SANDBOX_ORIGIN) as client:
            answer = await client.post("/v1/charges", json={"key": SECRET, "amount": 1})
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/v1/drop", json={})
            body: dict[str, object] = answer.json()
            return body

    assert asyncio.run(replay())["path"] == "/v1/charges"
    assert replayed.unused() == []


# -- webhooks, look by look ---------------------------------------------------------------


def test_webhooks_replay_in_the_looks_they_were_read_in(tmp_path: Path) -> None:
    cassette = Cassette(test_id="t", provider="p", origins={REAL: SANDBOX_ORIGIN})
    cassette.add_webhooks(0, [({"Host": "x", "Sig": "a"}, b'{"n": 1}')])
    cassette.add_webhooks(1, [])
    cassette.add_webhooks(2, [({"Sig": "b"}, f"{REAL}/2".encode())])
    cassette.interactions.append(cassette.interaction_for("c", REAL, httpx.Request("GET", REAL)))
    path = tmp_path / "t.json"
    cassette.dump(path, [])
    loaded = Cassette.load(path, test_id="t", provider="p", secrets=[], origins={})
    assert [w["body"] for w in loaded.webhook_batch(0)] == ['{"n": 1}']
    assert loaded.webhook_batch(0)[0]["headers"] == {"Sig": "a"}  # the receiver's own dropped
    assert loaded.webhook_batch(1) == []
    assert [w["body"] for w in loaded.webhook_batch(2)] == [f"{SANDBOX_ORIGIN}/2"]
    # Fixtures recorded before looks were numbered hand everything out in the first look.
    old = Cassette(test_id="t", provider="p", webhooks=[{"body": "x"}, {"body": "y"}])
    assert len(old.webhook_batch(0)) == 2
    assert old.webhook_batch(1) == []
