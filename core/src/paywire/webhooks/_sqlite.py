"""The SQLite event store (stdlib :mod:`sqlite3`): the default, safe with several processes on one
machine.

How it stays correct with several threads and processes on one file:

- WAL journal, so readers never block the writer, and ``busy_timeout`` so a writer waits for
  another instead of failing.
- One connection per thread (and per process: a connection is never used after ``fork``).
- An event seen for the first time is held, while its handlers run, by an operating-system lock
  on one byte of a file beside the database (:mod:`paywire.webhooks._locks`): another delivery of
  it — another thread, another process — is answered ``busy`` until the holder has written the
  outcome, and a holder that dies lets go at once. The event is written once, with its outcome
  (processed, pending with the error, deferred): **one commit per event**, made before the
  delivery is answered. (``new_events="record"`` writes it as pending with a lease first, then
  the outcome: two commits.)
- A stored event is claimed by a *single* writing statement in autocommit mode, ``UPDATE … WHERE
  <open and lease free or expired> RETURNING``. SQLite takes the write lock when a writing
  statement starts, before it reads, so the check and the lease happen under one lock: exactly as
  atomic as ``BEGIN IMMEDIATE; SELECT; UPDATE; COMMIT``, with three fewer round trips. (What can
  fail with ``SQLITE_BUSY`` is a deferred ``BEGIN``, a read, then a write; there is none here.)
- Statements are prepared once per connection (sqlite3's statement cache, keyed by their text).

Durability. ``synchronous="NORMAL"`` (the default) in WAL mode: every commit has been written
to the operating system before it returns, so what was committed survives the application
crashing or being killed at any point. Nothing is answered 2xx before its outcome is committed;
an event whose process dies while its handlers run was not answered at all, so the provider
delivers it again (and, with the default ``new_events="lock"``, nothing of it was stored: the
redelivery finds it new). A power loss or kernel crash can forget the last commits (never corrupt
the file), and that is harmless here because only finished events are acknowledged: an event
still waiting (pending, deferred) was answered non-2xx, so the provider delivers it again; a
processed event did its work in the application's own database, and forgetting that it was
processed only matters if the provider sends it again (handlers are idempotent: delivery is at
least once); an ignored one is ignored again. ``synchronous="FULL"`` syncs the WAL on every
commit, for those who also want the bookkeeping itself to survive a power loss (one fsync per
commit: far slower on most disks).
"""

# The only name interpolated into SQL is the table, checked by SQLEventStore first.
# ruff: noqa: S608

from __future__ import annotations

import math
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from paywire._errors import ConfigurationError
from paywire.webhooks._locks import (
    HAVE_LOCKS,
    LockFile,
    lock_offset,
    release_lock_file,
    use_lock_file,
)
from paywire.webhooks._sql import SQLEventStore, claimed_events, stored_event
from paywire.webhooks._store import (
    MAX_BACKOFF,
    Claim,
    FinishStatus,
    NewEvent,
    StoredEvent,
    ThisProcess,
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
        new_events: how an event seen for the first time is held while its handlers run.
            ``"lock"`` (the default where the OS has POSIX record locks, i.e. not on Windows): by
            a lock on one byte of ``<path>-paywire-locks``, which the OS releases if the process
            dies; the event is written once, with its outcome — one commit per event. While its
            handlers run it is not in :meth:`get` or :meth:`pending`, and a holder that hangs
            (alive, never returning) keeps other processes out until it returns or dies.
            ``"record"``: written as pending, with a lease, before the handlers, and updated
            after — two commits per event; the running event shows in :meth:`pending`, and a
            lease that runs out lets another process take over. Processes with either setting
            can share one database.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "paywire_webhook_events",
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        new_events: Literal["lock", "record"] | None = None,
    ) -> None:
        super().__init__(table, clock)
        if synchronous not in ("NORMAL", "FULL"):
            raise ConfigurationError("synchronous must be 'NORMAL' or 'FULL'")
        if new_events is None:
            new_events = "lock" if HAVE_LOCKS else "record"
        if new_events not in ("lock", "record"):
            raise ConfigurationError("new_events must be 'lock' or 'record'")
        if new_events == "lock" and not HAVE_LOCKS:  # pragma: no cover - Windows
            raise ConfigurationError("new_events='lock' needs POSIX record locks (fcntl)")
        self.new_events = new_events
        # When the first deferred event becomes claimable, by (provider, backoff): (looked at,
        # due). Trusted until it is due, until this store writes a deferred event (generation),
        # and for at most `backoff` seconds — what another process deferred meanwhile waits
        # that long at most, which its backoff schedule allows for anyway.
        self._deferred_due: dict[tuple[str | None, float], tuple[float, float]] = {}
        self._deferred_generation = 0
        if str(path) == ":memory:":
            # Each thread's connection would see its own empty database.
            raise ConfigurationError("use InMemoryEventStore instead of an SQLite ':memory:' file")
        self.path = Path(path)
        self.synchronous = synchronous
        self._busy_ms = int(busy_timeout * 1000)
        self._sql = self._statements(table)
        # Create the schema now, so a bad path fails at start-up rather than on the first webhook.
        self._conn()
        # Resolved, so that every process finds the same lock file whatever path it was given.
        self._lock_path = os.path.realpath(self.path) + "-paywire-locks"
        self._locks: LockFile | None = None
        if HAVE_LOCKS:
            # Both settings honour the locks, so that processes with either can share the file.
            try:
                self._locks = use_lock_file(self._lock_path)
            except OSError as exc:
                super().close()
                raise ConfigurationError(
                    f"cannot open the lock file {self._lock_path!r}: {exc}"
                ) from None

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
            "record_finished": f"""
                INSERT INTO {t} (provider, event_id, event_type, status, attempts, event_json,
                                 raw_body, received_at, updated_at, last_error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            "any_pending": f"SELECT EXISTS (SELECT 1 FROM {t} WHERE {open_} AND {eligible})",
            # When the first deferred event becomes claimable: its backoff is over and its lease
            # free (NULL when there is none). The same terms as `eligible`.
            "next_deferred": f"""
                SELECT min(max(
                    updated_at + min(?7, ?6 * ((1 << min(max(attempts - 1, 0), 30)) - 1)),
                    coalesce(lease_until, updated_at)
                ))
                FROM {t}
                WHERE {open_} AND status = 'deferred' AND (?4 IS NULL OR provider = ?4)
                  AND ?3 IS NOT NULL
            """,
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

    def _lock_file(self) -> LockFile | None:
        locks = self._locks
        if locks is not None and locks.pid != ThisProcess.pid:
            # A forked child: its own descriptor, never the parent's.
            locks = self._locks = use_lock_file(self._lock_path)
        return locks

    def close(self) -> None:
        locks, self._locks = self._locks, None
        super().close()
        if locks is not None:
            release_lock_file(locks)

    def record_and_claim(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        conn = self._conn()
        now = self._clock()
        token = new_token()
        until = now + lease_seconds
        key = (event.provider, event.event_id)
        locks = self._lock_file()
        if locks is None:  # pragma: no cover - Windows: the stored lease is the only guard
            if self._record(conn, event, token, until, now):
                return Claim("claimed", token, 1)
            state = conn.execute(self._sql["state"], key).fetchone()
        else:
            hold = locks.acquire(lock_offset(self.table, *key), token, now, until)
            if hold is None:  # another delivery of a new event holds it
                return Claim("busy")
            try:
                if self.new_events == "record" and self._record(conn, event, token, until, now):
                    state = None
                else:
                    state = conn.execute(self._sql["state"], key).fetchone()
                    if state is None:
                        # New: held until finish() writes it with its outcome. A takeover
                        # (this process, lease run out) keeps the first delivery's body.
                        if hold.payload is None:
                            hold.payload = (event, now)
                        return Claim("claimed", token, hold.attempts)
            except BaseException:
                locks.release(hold)
                raise
            locks.release(hold)
            if state is None:  # recorded just now, under the lock
                return Claim("claimed", token, 1)
        # Known already. A finished event stays finished; only an open one needs the atomic
        # reclaim.
        status, attempts = state
        if status in ("processed", "ignored"):
            return Claim(status, attempts=attempts)
        rows = conn.execute(self._sql["reclaim"], (token, until, now, *key)).fetchall()
        if rows:
            return Claim("claimed", token, rows[0][0])
        # Leased by another delivery (or finished by it since the read: the provider's next
        # delivery then finds it processed).
        return Claim("busy", attempts=attempts)

    def _record(
        self, conn: sqlite3.Connection, event: NewEvent, token: str, until: float, now: float
    ) -> bool:
        """Store a new event as pending, leased with ``token``; ``False`` when it is known."""
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
        return bool(cursor.rowcount == 1)

    def finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        *,
        status: FinishStatus,
        error: str | None = None,
    ) -> bool:
        finished = self._finish(provider, event_id, token, status, error)
        if status == "deferred":
            # After the write: a look that ran before it and remembers "nothing due" is
            # forgotten here, or (generation) not remembered at all.
            self._deferred_generation += 1
            self._deferred_due.clear()
        return finished

    def _finish(
        self, provider: str, event_id: str, token: str, status: FinishStatus, error: str | None
    ) -> bool:
        locks = self._lock_file()
        hold = None if locks is None else locks.settle(token)
        if hold is None or hold.payload is None:  # a stored event (or a lost hold)
            return super().finish(provider, event_id, token, status=status, error=error)
        assert locks is not None
        event, received_at = hold.payload
        try:
            # Written before the lock is let go: the next delivery finds it stored.
            cursor = self._conn().execute(
                self._sql["record_finished"],
                (
                    event.provider,
                    event.event_id,
                    event.event_type,
                    status,
                    hold.attempts,
                    event.event_json,
                    event.raw_body,
                    received_at,
                    self._clock(),
                    error,
                ),
            )
        finally:
            locks.release(hold)
        # Stored meanwhile by a process that ignored the lock file (a different path to the
        # database through a hard link, say): its result stands.
        return bool(cursor.rowcount == 1)

    def record_ignored(self, event: NewEvent) -> bool:
        conn = self._conn()
        now = self._clock()
        params = (
            event.provider,
            event.event_id,
            event.event_type,
            event.event_json,
            event.raw_body,
            now,
        )
        locks = self._lock_file()
        if locks is None:  # pragma: no cover - Windows
            return bool(conn.execute(self._sql["record_ignored"], params).rowcount == 1)
        # Under the event's lock too: a key held by a delivery is known, though not stored yet.
        offset = lock_offset(self.table, event.provider, event.event_id)
        hold = locks.acquire(offset, new_token(), now, math.inf)
        if hold is None:
            return False
        try:
            return bool(conn.execute(self._sql["record_ignored"], params).rowcount == 1)
        finally:
            locks.release(hold)

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
        # Numbered parameters; ?1, ?2 and ?5 are unused by the probes, which SQLite allows.
        params: tuple[Any, ...] = (None, None, now, provider, 0, backoff, MAX_BACKOFF)
        if deferred_only:
            # The processor looks after every processed event: answered from memory while no
            # deferred event can be due (see _deferred_due).
            key = (provider, backoff)
            known = self._deferred_due.get(key)
            if known is not None and now < known[1] and now < known[0] + backoff:
                return []
            generation = self._deferred_generation
            due = conn.execute(self._sql["next_deferred"], params).fetchone()[0]
            if generation == self._deferred_generation:
                self._deferred_due[key] = (now, math.inf if due is None else due)
            if due is None or due > now:
                return []
        elif not conn.execute(self._sql["any_pending"], params).fetchone()[0]:
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
