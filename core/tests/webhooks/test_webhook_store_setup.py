"""Building, configuring and closing the stores; the subpackage's public surface."""

from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path

import pytest

import paywire.webhooks
from paywire import ConfigurationError
from paywire.webhooks import (
    EventStore,
    InMemoryEventStore,
    NewEvent,
    SQLiteEventStore,
)


def test_the_public_surface_is_curated() -> None:
    assert len(set(paywire.webhooks.__all__)) == len(paywire.webhooks.__all__)
    public = {n for n in vars(paywire.webhooks) if not n.startswith("_") and n[0].isupper()}
    assert public - {"TYPE_CHECKING", "Any"} <= set(paywire.webhooks.__all__)
    for name in paywire.webhooks.__all__:
        assert getattr(paywire.webhooks, name) is not None
    assert dir(paywire.webhooks) == sorted(paywire.webhooks.__all__)
    with pytest.raises(AttributeError):
        paywire.webhooks.NoSuchThing  # noqa: B018


def test_every_store_satisfies_the_protocol(tmp_path: Path) -> None:
    memory = InMemoryEventStore()
    sqlite = SQLiteEventStore(tmp_path / "e.sqlite3")
    assert isinstance(memory, EventStore)
    assert isinstance(sqlite, EventStore)
    assert repr(memory) == "<InMemoryEventStore events=0>"
    assert (
        repr(sqlite)
        == f"<SQLiteEventStore {str(tmp_path / 'e.sqlite3')!r} table='paywire_webhook_events'>"
    )
    sqlite.close()
    memory.close()


@pytest.mark.parametrize("table", ["", "1abc", "events; DROP TABLE x", "a-b", "x" * 64])
def test_sql_stores_refuse_bad_table_names(tmp_path: Path, table: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid table name"):
        SQLiteEventStore(tmp_path / "e.sqlite3", table=table)
    from paywire.webhooks import PostgresEventStore

    with pytest.raises(ConfigurationError, match="invalid table name"):
        PostgresEventStore("host=127.0.0.1 port=1", table=table)


def test_sqlite_refuses_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="synchronous"):
        SQLiteEventStore(tmp_path / "e.sqlite3", synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="InMemoryEventStore"):
        SQLiteEventStore(":memory:")


def test_a_file_that_is_not_a_database_fails_at_start_up_and_is_left_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.sqlite3"
    path.write_bytes(b"not a database\n" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        SQLiteEventStore(path)
    assert path.read_bytes() == b"not a database\n" * 100


def test_a_closed_sqlite_store_refuses_work_in_every_thread(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    errors: list[BaseException] = []

    def use() -> None:
        try:
            store.get("acme", "evt")
        except ConfigurationError as exc:
            errors.append(exc)

    closer = threading.Thread(target=store.close)  # from a thread that never used the store
    closer.start()
    closer.join()
    with pytest.raises(ConfigurationError, match="closed"):
        store.get("acme", "evt")
    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len(errors) == 1


def test_sqlite_connections_are_lent_per_operation_not_kept_per_thread(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "e.sqlite3")
    seen: list[int] = []

    def use() -> None:
        conn = store._acquire()
        seen.append(id(conn))
        store._release(conn)

    for _ in range(20):  # one thread after another, as a thread-per-request server runs them
        thread = threading.Thread(target=use)
        thread.start()
        thread.join()
    assert len(set(seen)) == 1
    assert len(store._idle) == 1
    # Held at once, they are distinct; given back, at most the pool's idle size stays open.
    held = [store._acquire() for _ in range(12)]
    assert len({id(c) for c in held}) == 12
    for conn in held:
        store._release(conn)
    assert len(store._idle) == 8
    store.close()


def test_sqlite_settings_are_applied_to_every_connection(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "e.sqlite3", busy_timeout=2.5)
    full = SQLiteEventStore(tmp_path / "f.sqlite3", synchronous="FULL")
    found: list[tuple[str, int, int]] = []

    def look() -> None:
        for s in (store, full):
            conn = s._acquire()
            found.append(
                (
                    conn.execute("PRAGMA journal_mode").fetchone()[0],
                    conn.execute("PRAGMA synchronous").fetchone()[0],
                    conn.execute("PRAGMA busy_timeout").fetchone()[0],
                )
            )
            # Held by this thread: the other thread gets a connection of its own.

    look()
    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert len(store._lent) == len(full._lent) == 2
    # NORMAL is 1, FULL is 2.
    assert found == [("wal", 1, 2500), ("wal", 2, 30000)] * 2
    store.close()
    full.close()


def test_tokens_are_unique_and_change_prefix_in_a_forked_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from paywire.webhooks import _store

    tokens = {_store.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    prefix = next(iter(tokens)).split("-")[0]
    monkeypatch.setattr(_store._tokens, "_pid", -42)  # as in a child after fork()
    child = _store.new_token()
    assert child not in tokens
    assert child.split("-")[0] != prefix


def test_postgres_needs_psycopg(monkeypatch: pytest.MonkeyPatch) -> None:
    from paywire.webhooks import PostgresEventStore

    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigurationError, match=r"paywire\[postgres\]"):
        PostgresEventStore("host=127.0.0.1")


def test_postgres_keeps_the_dsn_out_of_repr_and_reconnects(postgres_dsn: str) -> None:
    import psycopg

    from paywire.webhooks import PostgresEventStore

    # One connection, so that the call after the kill is the one that meets the dead session.
    store = PostgresEventStore(postgres_dsn, table="setup_events", pool_size=1)
    try:
        assert repr(store) == "<PostgresEventStore table='setup_events'>"
        assert "password" not in repr(store)
        assert store.record_ignored(NewEvent("acme", "evt", "t", None, b"x"))
        conn = store._acquire()
        backend = conn.info.backend_pid
        store._release(conn)
        with psycopg.connect(postgres_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        # The broken connection fails the call in flight (the endpoint answers 500 and the
        # provider delivers again); the next call gets a new connection.
        with pytest.raises(psycopg.OperationalError):
            store.get("acme", "evt")
        stored = store.get("acme", "evt")
        assert stored is not None
        assert stored.raw_body == b"x"
        conn = store._acquire()
        assert conn.info.backend_pid != backend
        store._release(conn)
    finally:
        conn = store._acquire()
        conn.execute("DROP TABLE setup_events")
        store._release(conn)
        store.close()
    with pytest.raises(ConfigurationError, match="closed"):
        store.get("acme", "evt")
