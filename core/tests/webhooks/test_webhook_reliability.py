"""Issue 10's webhook defects, each as it was found: leaked connections behind a
thread-per-request server, a removed database still acknowledged, a read-only connection that
stays read-only, deep JSON answered 500 forever, invalid text crashing the stores, and handlers
run again and again while the store cannot write."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socketserver
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from webhook_support import AcmeProvider, StoreFactory, event_body, signed

from paywire import EventType, WebhookEvent
from paywire.webhooks import EventStore, SQLiteEventStore, WebhookProcessor


class _ThreadPerRequest(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _postgres_sessions(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _serve(processor: WebhookProcessor) -> tuple[_ThreadPerRequest, threading.Thread]:
    server = make_server(
        "127.0.0.1",
        0,
        processor.wsgi("acme"),
        server_class=_ThreadPerRequest,
        handler_class=_Quiet,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


DELIVERIES = 2000


def test_a_thread_per_request_server_leaks_no_connections_or_descriptors(
    make_store: StoreFactory, acme: AcmeProvider, request: pytest.FixtureRequest, capsys: Any
) -> None:
    """2,000 deliveries, each on a new thread: the open descriptors (SQLite) and server
    sessions (PostgreSQL) afterwards are what they were, give or take the pool."""
    kind = request.node.callspec.params["make_store"]
    store = make_store()
    processor = WebhookProcessor({"acme": acme}, store)
    handled: list[str] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: handled.append(e.id))
    dsn = request.getfixturevalue("postgres_dsn") if kind == "postgres" else ""
    server, thread = _serve(processor)
    try:
        before = _postgres_sessions(dsn) if dsn else _open_descriptors()
        statuses: dict[int, int] = {}
        for n in range(DELIVERIES):
            body = event_body(f"evt_{n}")
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=30)
            conn.request("POST", "/", body=body, headers=signed(body))
            response = conn.getresponse()
            response.read()
            conn.close()
            statuses[response.status] = statuses.get(response.status, 0) + 1
        after = _postgres_sessions(dsn) if dsn else _open_descriptors()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    with capsys.disabled():
        what = "server sessions" if dsn else "open descriptors"
        print(f"\n[{kind}] {what} before {before}, after {DELIVERIES} deliveries {after}")
    assert statuses == {200: DELIVERIES}
    assert len(handled) == DELIVERIES
    # The pool keeps a few connections open for the next requests, never one per request.
    assert after - before <= (10 if dsn else 8 * 3)


test_a_thread_per_request_server_leaks_no_connections_or_descriptors.store_kinds = [  # type: ignore[attr-defined]
    "sqlite",
    "postgres",
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    found = tmp_path / "db"
    found.mkdir()
    return found


def test_a_removed_database_fails_closed_and_a_new_one_is_used_once_it_is_there(
    folder: Path, acme: AcmeProvider
) -> None:
    path = folder / "events.sqlite3"
    store = SQLiteEventStore(path)
    processor = WebhookProcessor({"acme": acme}, store)
    runs: list[str] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: runs.append(e.id))
    body = event_body("evt_1")
    assert processor.wsgi("acme") is not None
    assert processor.process("acme", body, signed(body)).outcome == "processed"

    shutil.rmtree(folder)
    later = event_body("evt_2")
    endpoint = processor.wsgi("acme")
    status = _wsgi_status(endpoint, later)
    assert status == 500  # never "recorded" in the deleted file and acknowledged
    folder.mkdir()
    assert _wsgi_status(endpoint, later) == 500  # an empty folder: still no database
    assert runs == ["evt_1"]
    assert not path.exists()  # the store does not make an empty one in its place

    # Another process (restarted) creates the database at the path: this store uses it.
    other = SQLiteEventStore(path)
    assert _wsgi_status(endpoint, later) == 200
    assert runs == ["evt_1", "evt_2"]
    assert other.get("acme", "evt_2") is not None
    other.close()
    store.close()


def _wsgi_status(endpoint: Any, body: bytes) -> int:
    import io

    found: list[str] = []
    headers = signed(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    list(endpoint(environ, lambda status, _headers: found.append(status)))
    return int(found[0].split()[0])


def test_a_connection_opened_while_the_file_was_read_only_is_not_kept(
    tmp_path: Path, acme: AcmeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.sqlite3"
    store = SQLiteEventStore(path)
    processor = WebhookProcessor({"acme": acme}, store)
    runs: list[str] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: runs.append(e.id))
    real_connect = sqlite3.connect
    read_only = [True]

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        # As SQLite does when the file cannot be written: it opens it read-only, silently.
        if read_only[0]:
            kwargs["uri"] = True
            database = f"file:{path}?mode=ro"
        conn: sqlite3.Connection = real_connect(database, *args, **kwargs)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    # The pool's idle connection was opened before the fault: the request needs a new one.
    getattr(store, "_idle", []).clear()
    results: list[int] = []

    def one_thread() -> None:  # the fault and its end, seen by one request thread
        body = event_body("evt_ro")
        results.append(_status(processor, body))
        read_only[0] = False
        results.append(_status(processor, body))

    thread = threading.Thread(target=one_thread)
    thread.start()
    thread.join()
    assert results == [500, 200]
    assert runs == ["evt_ro"]  # not run while the store could not write
    store.close()


def _status(processor: WebhookProcessor, body: bytes) -> int:
    try:
        return processor.process("acme", body, signed(body)).status_code
    except Exception:
        return 500


def _deep(depth: int) -> bytes:
    return (
        b'{"id": "evt_deep", "type": "payment.captured", "x": ' + b"[" * depth + b"]" * depth + b"}"
    )


def test_deep_json_is_a_client_error_recorded_once_and_not_parsed_again(
    store: EventStore, acme: AcmeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paywire.webhooks import _processor

    processor = WebhookProcessor({"acme": acme}, store)
    runs: list[str] = []
    processor.on_any(lambda e: runs.append(e.id))
    body = _deep(1000)
    parsed: list[bytes] = []
    from paywire._webhook_body import parse_json_body as real_parse


    def spy(data: bytes, **kwargs: Any) -> Any:
        parsed.append(data)
        return real_parse(data, **kwargs)

    monkeypatch.setattr(_processor, "parse_json_body", spy)
    first = processor.process("acme", body, signed(body))
    assert (first.status_code, first.outcome) == (400, "malformed")
    assert first.event_id is not None
    stored = store.get("acme", first.event_id)
    assert stored is not None
    assert (stored.status, stored.raw_body) == ("rejected", body)
    for _ in range(3):
        again = processor.process("acme", body, signed(body))
        assert (again.status_code, again.outcome, again.event_id) == (
            400,
            "malformed",
            first.event_id,
        )
    assert len(parsed) == 1  # the redeliveries are recognised without parsing
    assert store.events(statuses=["rejected"]) == [stored]
    assert runs == []
    # Another processor on the same store (another process) parses it, finds it known.
    other = WebhookProcessor({"acme": acme}, store)
    assert other.process("acme", body, signed(body)).outcome == "malformed"
    assert len(store.events(statuses=["rejected"])) == 1


NUL = "\x00"
SURROGATE = "\ud800"


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("field", ["id", "invoice", "type"])
def test_invalid_text_in_an_event_is_malformed_never_a_crash(
    store: EventStore, acme: AcmeProvider, field: str, bad: str
) -> None:
    processor = WebhookProcessor({"acme": acme}, store)
    runs: list[str] = []
    processor.on_any(lambda e: runs.append(e.id))
    fields: dict[str, Any] = {"id": "evt_text", "type": "payment.captured", "invoice": "INV-1"}
    fields[field] = f"a{bad}b"
    body = json.dumps(fields).encode()  # valid JSON: \u0000 and \ud800 are legal escapes
    result = processor.process("acme", body, signed(body))
    assert runs == []
    if field == "type":  # an unmapped type: ignored, and its invalid name is not stored
        assert (result.status_code, result.outcome) == (200, "unknown_event")
    else:
        assert (result.status_code, result.outcome) == (400, "malformed")
        assert result.event_id is not None
        stored = store.get("acme", result.event_id)
        assert stored is not None
        assert stored.status == "rejected"
    assert store.get("acme", f"a{bad}b") is None


def test_data_holding_a_nul_escape_is_malformed_but_an_escaped_backslash_is_not(
    store: EventStore, acme: AcmeProvider
) -> None:
    class Copying(AcmeProvider):
        def handle_webhook_event(self, payload: Any) -> WebhookEvent:
            event = super().handle_webhook_event(payload)
            # Data that is not the body itself is stored as JSON of its own.
            return WebhookEvent(
                provider=event.provider,
                id=event.id,
                type=event.type,
                raw_type=event.raw_type,
                data={"note": payload.get("note")},
            )

    provider = Copying(acme.config, acme.http)
    processor = WebhookProcessor({"acme": provider}, store)
    nul = event_body("evt_nul", note="a\x00b")
    assert processor.process("acme", nul, signed(nul)).outcome == "malformed"
    literal = event_body("evt_literal", note="a\\u0000b")  # a backslash, then "u0000"
    assert processor.process("acme", literal, signed(literal)).outcome == "processed"
    stored = store.get("acme", "evt_literal")
    assert stored is not None
    assert stored.event is not None
    assert stored.event.data == {"note": "a\\u0000b"}


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """Every new SQLite connection can grow the file by nothing while the switch is on (SQLite
    answers SQLITE_FULL, as on a full disk)."""
    real_connect = sqlite3.connect
    on = [False]

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real_connect(*args, **kwargs)
        if on[0]:
            conn.execute("PRAGMA max_page_count = 1")  # no more than the file has now
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)

    def switch(value: bool) -> None:
        on[0] = value

    return switch


def test_while_the_disk_is_full_handlers_do_not_run_on_every_redelivery(
    tmp_path: Path, acme: AcmeProvider, full_disk: Callable[[bool], None]
) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    processor = WebhookProcessor({"acme": acme}, store)
    runs: list[str] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: runs.append(e.id))
    full_disk(True)
    getattr(store, "_idle", []).clear()  # opened before the disk filled up
    body = event_body("evt_full", note="x" * 20000)  # needs new pages
    statuses = [_status(processor, body) for _ in range(6)]
    assert statuses == [500] * 6
    # At most the delivery that met the fault first ran the handler; none after it.
    assert runs in ([], ["evt_full"])
    ran_during_fault = len(runs)
    full_disk(False)
    store._idle.clear()  # connections that never wrote kept the limit; a real disk frees up
    assert _status(processor, body) == 200
    assert runs == ["evt_full"] * (ran_during_fault + 1)
    # Writing works again: new events go back to one commit with their outcome.
    assert not store._fault
    store.close()


def test_with_too_little_free_space_new_events_are_written_before_their_handlers(
    tmp_path: Path,
    acme: AcmeProvider,
    full_disk: Callable[[bool], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3", reserve_bytes=1 << 60)
    processor = WebhookProcessor({"acme": acme}, store)
    runs: list[str] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda e: runs.append(e.id))
    full_disk(True)
    store._idle.clear()
    body = event_body("evt_low", note="x" * 20000)
    assert [_status(processor, body) for _ in range(3)] == [500] * 3
    assert runs == []  # found out before any handler ran
    full_disk(False)
    store._idle.clear()
    assert _status(processor, body) == 200
    assert runs == ["evt_low"]
    store.close()
