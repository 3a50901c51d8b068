"""The SQLite event store (stdlib :mod:`sqlite3`): the default, safe with several processes on one
machine.

How it stays correct with several threads and processes on one file:

- WAL journal, so readers never block the writer, and ``busy_timeout`` so a writer waits for
  another instead of failing.
- One connection per thread (and per process: a connection is never used after ``fork``).
- Every claim is a *single* writing statement, in autocommit mode: ``INSERT … ON CONFLICT DO
  NOTHING`` records and leases a new event; ``UPDATE … WHERE <open and lease free or expired>
  RETURNING`` leases a known one. SQLite takes the write lock when a writing statement starts,
  before it reads, so the check and the lease happen under one lock: each statement is exactly as
  atomic as ``BEGIN IMMEDIATE; SELECT; UPDATE; COMMIT``, with three fewer round trips. (What can
  fail with ``SQLITE_BUSY`` is a deferred ``BEGIN``, a read, then a write; there is none here.)
- Statements are prepared once per connection (sqlite3's statement cache, keyed by their text)
  and a new event costs two commits: recorded-and-leased, then marked done.

Durability. ``synchronous="NORMAL"`` (the default) in WAL mode: every commit has been written
to the operating system before it returns, so a recorded event survives the application crashing
or being killed at any point — it is on its way to disk before its handlers run and before the
answer. A power loss or kernel crash can forget the last commits (never corrupt the file), and
that is harmless here because only finished events are acknowledged: an event still waiting
(pending, deferred) was answered non-2xx, so the provider delivers it again; a processed event
did its work in the application's own database, and forgetting that it was processed only
matters if the provider sends it again (handlers are idempotent: delivery is at least once); an
ignored one is ignored again. ``synchronous="FULL"`` syncs the WAL on every commit, for those
who also want the bookkeeping itself to survive a power loss (one fsync per commit: far slower
on most disks).
"""

# The only name interpolated into SQL is the table, checked by SQLEventStore first.
# ruff: noqa: S608

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from paywire._errors import ConfigurationError
from paywire.webhooks._sql import SQLEventStore, claimed_events, stored_event
from paywire.webhooks._store import (
    MAX_BACKOFF,
    Claim,
    NewEvent,
    StoredEvent,
    new_token,
)

__all__ = ["SQLiteEventStore"]

_COLUMNS = (
    "provider, event_id, event_type, status, attempts, event_json, raw_body, received_at, "
    "updated_at, last_error, lease_until"
)


class SQLiteEventStore(SQLEventStore[sqlite3.Connection]):
    """An :class:`~paywire.webhooks.EventStore` in an SQLite file.

    Args:
        path: the database file (created with its table when missing). Every process that
            handles webhooks for the app points at the same file.
        table: the table's name.
        synchronous: ``"NORMAL"`` (default; see the module's notes on durability) or ``"FULL"``.
        busy_timeout: seconds a writer waits for another process's transaction.
        clock: seconds since the epoch, for leases (``time.time``; tests inject their own).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "paywire_webhook_events",
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(table, clock)
        if synchronous not in ("NORMAL", "FULL"):
            raise ConfigurationError("synchronous must be 'NORMAL' or 'FULL'")
        if str(path) == ":memory:":
            # Each thread's connection would see its own empty database.
            raise ConfigurationError("use InMemoryEventStore instead of an SQLite ':memory:' file")
        self.path = Path(path)
        self.synchronous = synchronous
        self._busy_ms = int(busy_timeout * 1000)
        self._sql = self._statements(table)
        # Create the schema now, so a bad path fails at start-up rather than on the first webhook.
        self._conn()

    def __repr__(self) -> str:
        return f"<SQLiteEventStore {str(self.path)!r} table={self.table!r}>"

    @staticmethod
    def _statements(t: str) -> dict[str, str]:
        # Built once: sqlite3 caches prepared statements by their text, so every call below
        # reuses a compiled statement.
        open_ = "status IN ('pending', 'deferred')"
        # ?3 now, ?4 provider or NULL, ?6 backoff base, ?7 backoff cap (seconds).
        eligible = """
            (lease_until IS NULL OR lease_until <= ?3) AND (?4 IS NULL OR provider = ?4)
            AND updated_at + min(?7, ?6 * ((1 << min(max(attempts - 1, 0), 30)) - 1)) <= ?3
        """
        return {
            "schema": f"""
                CREATE TABLE IF NOT EXISTS {t} (
                    id INTEGER PRIMARY KEY,
                    provider TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    lease_token TEXT,
                    lease_until REAL,
                    last_error TEXT,
                    event_json TEXT,
                    raw_body BLOB NOT NULL,
                    received_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    UNIQUE (provider, event_id)
                );
                CREATE INDEX IF NOT EXISTS {t}_open ON {t} (status, updated_at) WHERE {open_};
            """,
            "record": f"""
                INSERT INTO {t} (provider, event_id, event_type, status, attempts, lease_token,
                                 lease_until, event_json, raw_body, received_at, updated_at)
                VALUES (?1, ?2, ?3, 'pending', 1, ?4, ?5, ?6, ?7, ?8, ?8)
                ON CONFLICT (provider, event_id) DO NOTHING
            """,
            "reclaim": f"""
                UPDATE {t} SET lease_token = ?1, lease_until = ?2, attempts = attempts + 1,
                               updated_at = ?3
                WHERE provider = ?4 AND event_id = ?5 AND {open_}
                  AND (lease_until IS NULL OR lease_until <= ?3)
                RETURNING attempts
            """,
            "state": f"SELECT status, attempts FROM {t} WHERE provider = ? AND event_id = ?",
            "record_ignored": f"""
                INSERT INTO {t} (provider, event_id, event_type, status, attempts, event_json,
                                 raw_body, received_at, updated_at)
                VALUES (?1, ?2, ?3, 'ignored', 0, ?4, ?5, ?6, ?6)
                ON CONFLICT (provider, event_id) DO NOTHING
            """,
            **{
                name: f"""
                UPDATE {t} SET lease_token = ?1, lease_until = ?2, attempts = attempts + 1,
                               updated_at = ?3
                WHERE id IN (
                    SELECT id FROM {t} WHERE {statuses} AND {eligible} ORDER BY updated_at, id
                    LIMIT ?5
                )
                RETURNING {_COLUMNS}
            """
                for name, statuses in (
                    ("claim_pending", open_),
                    # The open-status term lets SQLite use the partial index.
                    ("claim_deferred", f"{open_} AND status = 'deferred'"),
                )
            },
            # Looking first is a read; an UPDATE that finds nothing still takes the write lock.
            **{
                name: f"SELECT EXISTS (SELECT 1 FROM {t} WHERE {statuses} AND {eligible})"
                for name, statuses in (
                    ("any_pending", open_),
                    ("any_deferred", f"{open_} AND status = 'deferred'"),
                )
            },
            "finish": f"""
                UPDATE {t} SET status = ?, last_error = ?, lease_token = NULL, lease_until = NULL,
                               updated_at = ?
                WHERE provider = ? AND event_id = ? AND lease_token = ?
            """,
            "get": f"SELECT {_COLUMNS} FROM {t} WHERE provider = ? AND event_id = ?",
            "pending": f"""
                SELECT {_COLUMNS} FROM {t}
                WHERE {open_} AND (? IS NULL OR provider = ?)
                ORDER BY received_at, id LIMIT ?
            """,
        }

    # -- connections ------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        # Autocommit: each statement is its own transaction (see the module docstring).
        return sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=64
        )

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        # Where WAL is impossible SQLite keeps its rollback journal: still correct, only slower.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        # Checkpoint every ~16 MB of WAL instead of ~4 MB: the hot pages (the open-events index,
        # the table's last leaf) are copied back and synced once per checkpoint, not four times.
        conn.execute("PRAGMA wal_autocheckpoint = 4000")
        conn.executescript(self._sql["schema"])

    # -- the protocol -----------------------------------------------------------------------

    def record_and_claim(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        conn = self._conn()
        now = self._clock()
        token = new_token()
        until = now + lease_seconds
        # The common case, a new event, is one statement (and one commit). A known event is
        # claimed by a second single statement when it is open and its lease free or expired.
        cursor = conn.execute(
            self._sql["record"],
            (
                event.provider,
                event.event_id,
                event.event_type,
                token,
                until,
                event.event_json,
                event.raw_body,
                now,
            ),
        )
        if cursor.rowcount == 1:
            return Claim("claimed", token, 1)
        # Known already. A finished event stays finished, so reading its state (no write lock)
        # settles most redeliveries; only an open one needs the atomic reclaim.
        key = (event.provider, event.event_id)
        status, attempts = conn.execute(self._sql["state"], key).fetchone()
        if status in ("processed", "ignored"):
            return Claim(status, attempts=attempts)
        rows = conn.execute(self._sql["reclaim"], (token, until, now, *key)).fetchall()
        if rows:
            return Claim("claimed", token, rows[0][0])
        # Leased by another delivery (or finished by it since the read: the provider's next
        # delivery then finds it processed).
        return Claim("busy", attempts=attempts)

    def record_ignored(self, event: NewEvent) -> bool:
        cursor = self._conn().execute(
            self._sql["record_ignored"],
            (
                event.provider,
                event.event_id,
                event.event_type,
                event.event_json,
                event.raw_body,
                self._clock(),
            ),
        )
        return cursor.rowcount == 1

    def claim(self, provider: str, event_id: str, *, lease_seconds: float) -> str | None:
        now = self._clock()
        token = new_token()
        rows = (
            self._conn()
            .execute(self._sql["reclaim"], (token, now + lease_seconds, now, provider, event_id))
            .fetchall()
        )
        return token if rows else None

    def claim_pending(
        self,
        *,
        provider: str | None = None,
        lease_seconds: float,
        limit: int,
        deferred_only: bool = False,
        backoff: float = 0.0,
    ) -> list[StoredEvent]:
        now = self._clock()
        conn = self._conn()
        # Numbered parameters; ?1, ?2 and ?5 are unused by the probe, which SQLite allows. The
        # probe runs after every processed event, so it comes before anything else is made.
        params: tuple[Any, ...] = (None, None, now, provider, 0, backoff, MAX_BACKOFF)
        probe = self._sql["any_deferred" if deferred_only else "any_pending"]
        if not conn.execute(probe, params).fetchone()[0]:
            return []
        token = new_token()
        params = (token, now + lease_seconds, now, provider, max(limit, 0), backoff, MAX_BACKOFF)
        sql = self._sql["claim_deferred" if deferred_only else "claim_pending"]
        return claimed_events(conn.execute(sql, params).fetchall(), token)

    def pending(
        self, *, provider: str | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        rows = (
            self._conn()
            .execute(self._sql["pending"], (provider, provider, -1 if limit is None else limit))
            .fetchall()
        )
        return [stored_event(r) for r in rows]
