"""The SQLite event store (stdlib :mod:`sqlite3`): the default, safe with several processes on one
machine.

How it stays correct with several threads and processes on one file:

- WAL journal, so readers never block the writer, and ``busy_timeout`` so a writer waits for
  another instead of failing.
- Connections are lent from a small pool for one operation and given back (never one per thread:
  a thread-per-request server would leave one open per request). A connection is never used
  after ``fork``, nor once the file at the store's path is not the file it opened.
- An event seen for the first time is held, while its handlers run, by an operating-system lock
  on one byte of a file beside the database (:mod:`paywire.webhooks._locks`): another delivery of
  it — another thread, another process — is answered ``busy`` until the holder has written the
  outcome, and a holder that dies lets go at once. The event is written once, with its outcome:
  **one commit per event**, made before the delivery is answered — unless the store has reason
  to doubt that it can write (see *faults*), when it is written first, as with
  ``new_events="record"``.
- A stored event is claimed by a *single* writing statement in autocommit mode, ``UPDATE … WHERE
  <open and lease free or expired> RETURNING``: SQLite takes the write lock when a writing
  statement starts, so the check and the lease happen under one lock.
- :meth:`SQLiteEventStore.enqueue` (the inbox) shares one ``synchronous=FULL`` commit between
  every delivery waiting at that moment (group commit): each caller returns once its row is
  synced to disk.

Faults. A store must not let handlers run for an event whose outcome it then cannot write
(they would run again on every redelivery). Before holding a new event under the lock it checks
that no write has failed since the last one that succeeded, that the file system is not
read-only and has ``reserve_bytes`` free; when any check fails the event is written as pending
first, so a store that cannot write answers 500 *before* any handler runs. A connection whose
statement met a fault (read-only, full, I/O error) is closed, never pooled again; a connection
is opened read-write or not at all (SQLite would otherwise fall back to read-only silently).
When the database file is removed the store fails closed: it answers with errors, never creates
an empty database in its place (that would forget every event and handle redeliveries again);
a database that another process put at the path is used from then on.

Durability. ``synchronous="NORMAL"`` (the default) in WAL mode: every commit has been written to
the operating system before it returns, so what was committed survives the application crashing
at any point; a power loss may forget the last commits. In inline mode that is harmless (only
finished events are acknowledged, see ``docs/webhooks.md``). :meth:`enqueue` always commits with
``synchronous=FULL``: the inbox acknowledges an event only once it is on disk.
"""

# The only name interpolated into SQL is the table, checked by SQLEventStore first.
# ruff: noqa: S608

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from _thread import allocate_lock as _allocate_lock
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from paywire._errors import ConfigurationError
from paywire.webhooks._locks import (
    HAVE_LOCKS,
    Hold,
    LockFile,
    lock_offset,
    release_lock_file,
    use_lock_file,
)
from paywire.webhooks._sql import SQLEventStore, claimed_events, stored_event
from paywire.webhooks._store import (
    MAX_BACKOFF,
    OPEN_STATUSES,
    Claim,
    EventStatus,
    FinishStatus,
    NewEvent,
    StoredEvent,
    StoreUnavailable,
    ThisProcess,
    new_token,
    unclaimed,
)

__all__ = ["SQLiteEventStore"]

_COLUMNS = (
    "provider, event_id, event_type, status, attempts, event_json, raw_body, received_at, "
    "updated_at, last_error, lease_until"
)

# Errors after which a connection (or the whole store) cannot be trusted to write.
_FAULTS = ("SQLITE_READONLY", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_CORRUPT")
#: How many idle connections the pool keeps; more are closed when given back.
_IDLE = 8

_Identity = tuple[int, int]

# One writer at a time per database file in this process. SQLite allows one writer per file
# anyway; without this, threads of one process wanting the write lock at once fall into SQLite's
# busy handler, which sleeps milliseconds between tries, and throughput collapses with
# concurrency. Other processes still wait in the busy handler.
_writers: dict[str, threading.Lock] = {}
_writers_mutex = threading.Lock()


def _writer_for(path: str) -> threading.Lock:
    with _writers_mutex:
        found = _writers.get(path)
        if found is None:
            found = _writers[path] = threading.Lock()
        return found


def _is_fault(exc: BaseException) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    return isinstance(exc, sqlite3.Error) and name.startswith(_FAULTS)


class SQLiteEventStore(SQLEventStore[sqlite3.Connection]):
    """An :class:`~paywire.webhooks.EventStore` in an SQLite file.

    Args:
        path: the database file (created with its table when missing *now*; later, a missing
            file is an error, never recreated). Every process that handles webhooks for the
            app points at the same file.
        table: the table's name.
        synchronous: ``"NORMAL"`` (default; see the module's notes on durability) or ``"FULL"``
            for every commit; :meth:`enqueue` is always ``FULL``.
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
        reserve_bytes: with less free space than this on the file system, new events are
            written before their handlers run (so a full disk fails the delivery before any
            handler runs).
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
        reserve_bytes: int = 64 << 20,
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
        self.reserve_bytes = reserve_bytes
        # When the first deferred event becomes claimable, by (provider, backoff): (looked at,
        # due). Trusted until it is due, until this store writes a deferred event (generation),
        # and for at most `backoff` seconds — what another process deferred meanwhile waits
        # that long at most, which its backoff schedule allows for anyway.
        self._deferred_due: dict[tuple[str | None, float], tuple[float, float]] = {}
        self._deferred_generation = 0
        if str(path) == ":memory:":
            # Each connection would see its own empty database.
            raise ConfigurationError("use InMemoryEventStore instead of an SQLite ':memory:' file")
        self.path = Path(path)
        self._path_text = os.fspath(self.path)
        self._folder = os.path.dirname(os.path.abspath(self.path)) or "."
        self.synchronous = synchronous
        self._busy_ms = int(busy_timeout * 1000)
        self._sql = self._statements(table)
        self._writer = _writer_for(os.path.realpath(self.path))
        self._writes = frozenset(
            self._sql[name]
            for name in (
                "record", "enqueue", "record_finished", "reclaim", "record_as", "finish",
                "claim_pending", "claim_deferred",
            )
        )
        # Idle connections with the file identity they were opened on.
        self._idle: list[tuple[sqlite3.Connection, _Identity]] = []
        self._lent: dict[sqlite3.Connection, _Identity] = {}
        self._pid = ThisProcess.pid
        # A write failed and none has succeeded since: new events are written before handlers.
        self._fault = False
        self._space_ok = False
        self._space_checked_until = 0.0
        # Bumped when the file at the path changed, so that the lock file is looked at again.
        self._generation = 0
        self._identity_seen: _Identity | None = None
        self._group = _GroupCommit(self)
        # Create the file and schema now, so a bad path fails at start-up, not on a webhook.
        conn = self._connect(create=True)
        self._release(conn)
        # Resolved, so that every process finds the same lock file whatever path it was given.
        self._lock_path = os.path.realpath(self.path) + "-paywire-locks"
        self._locks: LockFile | None = None
        self._retired: list[LockFile] = []
        self._locks_generation = self._generation
        if HAVE_LOCKS:
            # Both settings honour the locks, so that processes with either can share the file.
            try:
                self._locks = use_lock_file(self._lock_path)
            except OSError as exc:
                self.close()
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
            "enqueue": f"""
                INSERT INTO {t} (provider, event_id, event_type, status, attempts, event_json,
                                 raw_body, received_at, updated_at)
                VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5, ?6, ?6)
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
            "record_as": f"""
                INSERT INTO {t} (provider, event_id, event_type, status, attempts, event_json,
                                 raw_body, received_at, updated_at)
                VALUES (?1, ?2, ?3, ?7, 0, ?4, ?5, ?6, ?6)
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
            "list": f"SELECT {_COLUMNS} FROM {t} WHERE {{where}} ORDER BY received_at, id",
            "requeue": f"""
                UPDATE {t} SET status = 'pending', attempts = 0, lease_token = NULL,
                               lease_until = NULL, updated_at = ?
                WHERE {{where}}
            """,
            "prune": f"DELETE FROM {t} WHERE status IN ({{statuses}}) AND updated_at < ?",
            "counts": f"""
                SELECT status, count(*) FROM {t} WHERE (? IS NULL OR provider = ?)
                GROUP BY status
            """,
        }

    # -- connections ------------------------------------------------------------------------

    def _identity(self) -> _Identity:
        """The file at the store's path, as (device, inode); fails closed when there is none."""
        try:
            found = os.stat(self._path_text)
        except FileNotFoundError:
            self._fault = True
            raise StoreUnavailable(
                f"the event database {str(self.path)!r} is gone; restore it or restart "
                "(the store never creates an empty one in its place)"
            ) from None
        identity = (found.st_dev, found.st_ino)
        if identity != self._identity_seen:
            if self._identity_seen is not None:
                self._generation += 1  # another file: the lock file may be another one too
                self._fault = True  # what was read from the old one is in doubt
            self._identity_seen = identity
        return identity

    def _connect(
        self, *, create: bool = False, synchronous: str | None = None
    ) -> sqlite3.Connection:
        """A new connection, ready, opened read-write (or refused), on the file at the path."""
        uri = "file:" + _quote(os.path.abspath(self.path)) + ("?mode=rwc" if create else "?mode=rw")
        try:
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, cached_statements=64
            )
        except sqlite3.OperationalError as exc:
            if not create and not os.path.exists(self.path):
                self._identity()  # says the file is gone
            raise StoreUnavailable(f"cannot open the event database: {exc}") from exc
        try:
            self._prepare(conn, synchronous or self.synchronous, create=create)
        except BaseException:
            conn.close()
            raise
        self._lent[conn] = self._identity()
        return conn

    def _prepare(self, conn: sqlite3.Connection, synchronous: str, *, create: bool) -> None:
        conn.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
        # Where WAL is impossible SQLite keeps its rollback journal: still correct, only slower.
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        # Checkpoint every ~16 MB of WAL instead of ~4 MB: the hot pages (the open-events index,
        # the table's last leaf) are copied back and synced once per checkpoint, not four times.
        conn.execute("PRAGMA wal_autocheckpoint = 4000")
        if create:
            conn.executescript(self._sql["schema"])
        # SQLite opens a file it may not write read-only without a word; writing the header's
        # user version (unchanged) finds that out now, not after a handler ran.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        try:
            conn.execute(f"PRAGMA user_version = {int(version)}")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the event database cannot be written: {exc}") from exc

    def _acquire(self, *, identity: _Identity | None = None) -> sqlite3.Connection:
        self._check_open()
        if self._pid != ThisProcess.pid:
            self._after_fork()
        if identity is None:
            identity = self._identity()
        idle = self._idle
        while idle:
            try:
                conn, opened_on = idle.pop()
            except IndexError:  # another thread took the last one
                break
            if opened_on == identity:
                self._lent[conn] = opened_on
                return conn
            conn.close()  # a connection to a file that is not at the path any more
        return self._connect()

    def _release(self, conn: sqlite3.Connection, *, failed: BaseException | None = None) -> None:
        identity = self._lent.pop(conn, None)
        if failed is not None and _is_fault(failed):
            self._fault = True
            conn.close()
            return
        if identity is None or self._closed or len(self._idle) >= _IDLE:
            conn.close()
            return
        self._idle.append((conn, identity))

    def _execute(self, sql: str, params: Any) -> Any:
        if sql not in self._writes:
            return super()._execute(sql, params)
        with self._writer:
            return super()._execute(sql, params)

    def _execute_unchecked(self, sql: str, params: Any) -> Any:
        """:meth:`_execute` on a pooled connection of the file last seen at the path, for a
        write that :meth:`_check_still_there` checks afterwards (one look at the file, not
        two)."""
        seen = self._identity_seen
        if seen is None:  # pragma: no cover - set by the first connection
            return self._execute(sql, params)
        conn = self._acquire(identity=seen)
        try:
            with self._writer:
                cursor = conn.execute(sql, params)
                count = cursor.rowcount
        except BaseException as exc:
            self._release(conn, failed=exc)
            raise
        self._release(conn)
        return _Count(count)

    def _check_still_there(self, generation: int) -> None:
        """After a write an answer depends on: the file written is still the one at the path
        (else the write went to a removed or replaced file, and must not be acknowledged)."""
        self._identity()
        if self._generation != generation:
            raise StoreUnavailable("the event database was replaced while it was written")

    def _wrote(self) -> None:
        """A write succeeded: the store can write again."""
        self._fault = False

    def _after_fork(self) -> None:
        # The parent's connections are the parent's: never used, never closed here.
        with self._lock:
            if self._pid != ThisProcess.pid:
                self._idle = []
                self._lent = {}
                self._group = _GroupCommit(self)
                self._pid = ThisProcess.pid

    def _can_hold(self) -> bool:
        """Whether a new event may run its handlers before it is written (see *faults*)."""
        if self._fault:
            return False
        try:
            found = os.statvfs(self._folder)
        except OSError:
            return False
        if found.f_flag & os.ST_RDONLY:
            return False
        return found.f_bavail * found.f_frsize >= self.reserve_bytes

    def _can_hold_cached(self) -> bool:
        """:meth:`_can_hold`, the file system's answer reused for up to 0.2 s (a sudden fault
        in between is caught by the failed write, see *faults*)."""
        if self._fault:
            return False
        now = time.monotonic()
        if now >= self._space_checked_until:
            self._space_ok = self._can_hold()
            self._space_checked_until = now + 0.2
        return self._space_ok

    def _lock_file(self) -> LockFile | None:
        locks = self._locks
        if locks is None:
            return None
        if locks.pid != ThisProcess.pid or self._locks_generation != self._generation:
            # A forked child (its own descriptor, never the parent's), or the database was
            # replaced: the lock file at the path may be a new one too.
            self._locks_generation = self._generation
            fresh = use_lock_file(self._lock_path)
            if fresh is not locks and locks.pid == ThisProcess.pid:
                # Its holds finish on it (see _finish); it closes when the last one is gone.
                self._retired.append(locks)
                release_lock_file(locks)
            locks = self._locks = fresh
        return locks

    def _settle(self, token: str) -> tuple[LockFile, Hold] | None:
        """The lock file and hold of ``token``, if it still holds a new event."""
        for locks in (self._locks, *self._retired):
            if locks is not None and locks.pid == ThisProcess.pid:
                hold = locks.settle(token)
                if hold is not None:
                    return locks, hold
        return None

    def close(self) -> None:
        locks, self._locks = self._locks, None
        with self._lock:
            self._closed = True
            if self._pid == ThisProcess.pid:
                for conn, _ in self._idle:
                    conn.close()
                self._group.close()
            self._idle = []
        if locks is not None:
            release_lock_file(locks)

    # -- the protocol -----------------------------------------------------------------------

    def record_and_claim(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        conn = self._acquire()
        try:
            claim = self._record_and_claim(conn, event, lease_seconds)
        except BaseException as exc:
            self._release(conn, failed=exc)
            raise
        self._release(conn)
        return claim

    def _record_and_claim(
        self, conn: sqlite3.Connection, event: NewEvent, lease_seconds: float
    ) -> Claim:
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
                write_first = self.new_events == "record" or not self._can_hold_cached()
                if write_first and self._record(conn, event, token, until, now):
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
        if status not in OPEN_STATUSES:
            return unclaimed(status, attempts)
        with self._writer:
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
        params = (
            event.provider,
            event.event_id,
            event.event_type,
            token,
            until,
            event.event_json,
            event.raw_body,
            now,
        )
        with self._writer:
            cursor = conn.execute(self._sql["record"], params)
        self._wrote()
        return bool(cursor.rowcount == 1)

    def enqueue(self, event: NewEvent) -> EventStatus | None:
        params = (
            event.provider,
            event.event_id,
            event.event_type,
            event.event_json,
            event.raw_body,
            self._clock(),
        )
        return self._group.submit(params)

    def finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        *,
        status: FinishStatus,
        error: str | None = None,
    ) -> bool:
        generation = self._generation
        finished = self._finish(provider, event_id, token, status, error)
        self._check_still_there(generation)
        self._wrote()
        if status == "deferred":
            # After the write: a look that ran before it and remembers "nothing due" is
            # forgotten here, or (generation) not remembered at all.
            self._deferred_generation += 1
            self._deferred_due.clear()
        return finished

    def _finish(
        self, provider: str, event_id: str, token: str, status: FinishStatus, error: str | None
    ) -> bool:
        settled = self._settle(token)
        if settled is None or settled[1].payload is None:  # a stored event (or a lost hold)
            return super().finish(provider, event_id, token, status=status, error=error)
        locks, hold = settled
        event, received_at = hold.payload
        try:
            # Written before the lock is let go: the next delivery finds it stored.
            result = self._execute_unchecked(
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
        return bool(result.rowcount == 1)

    def record_ignored(self, event: NewEvent) -> bool:
        return self._record_as(event, "ignored")

    def record_rejected(self, event: NewEvent) -> bool:
        return self._record_as(event, "rejected")

    def _record_as(self, event: NewEvent, status: EventStatus) -> bool:
        now = self._clock()
        params = (
            event.provider,
            event.event_id,
            event.event_type,
            event.event_json,
            event.raw_body,
            now,
            status,
        )
        locks = self._lock_file()
        if locks is None:  # pragma: no cover - Windows
            return bool(self._execute(self._sql["record_as"], params).rowcount == 1)
        # Under the event's lock too: a key held by a delivery is known, though not stored yet.
        offset = lock_offset(self.table, event.provider, event.event_id)
        hold = locks.acquire(offset, new_token(), now, math.inf)
        if hold is None:
            return False
        generation = self._generation
        try:
            written = bool(self._execute(self._sql["record_as"], params).rowcount == 1)
        finally:
            locks.release(hold)
        self._check_still_there(generation)
        self._wrote()
        return written

    def claim(self, provider: str, event_id: str, *, lease_seconds: float) -> str | None:
        now = self._clock()
        token = new_token()
        rows = self._execute(
            self._sql["reclaim"], (token, now + lease_seconds, now, provider, event_id)
        ).rows
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
            due = self._execute(self._sql["next_deferred"], params).rows[0][0]
            if generation == self._deferred_generation:
                self._deferred_due[key] = (now, math.inf if due is None else due)
            if due is None or due > now:
                return []
        elif not self._execute(self._sql["any_pending"], params).rows[0][0]:
            return []
        token = new_token()
        params = (token, now + lease_seconds, now, provider, max(limit, 0), backoff, MAX_BACKOFF)
        sql = self._sql["claim_deferred" if deferred_only else "claim_pending"]
        return claimed_events(self._execute(sql, params).rows, token)

    def pending(
        self, *, provider: str | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        rows = self._execute(
            self._sql["pending"], (provider, provider, -1 if limit is None else limit)
        ).rows
        return [stored_event(r) for r in rows]


class _Count:
    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


def _quote(path: str) -> str:
    # The characters a URI filename must escape (SQLite reads %XX).
    return path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")


class _Waiter:
    __slots__ = ("done", "error", "lead", "params", "result")

    def __init__(self, params: tuple[Any, ...]) -> None:
        self.params = params
        # Held until the waiter may go on (a bare lock: far cheaper than an Event).
        self.done = _allocate_lock()
        self.done.acquire()
        self.lead = False
        self.result: EventStatus | None = None
        self.error: BaseException | None = None


class _GroupCommit:
    """One ``synchronous=FULL`` commit for every :meth:`~SQLiteEventStore.enqueue` waiting at
    that moment.

    The first caller to find no commit running leads: it takes every queued row, writes them in
    one transaction and commits (the fsync), then wakes their callers; if more arrived meanwhile,
    the first of them leads the next commit. While one commit syncs, the next batch gathers, so
    the batch grows with the load and each caller waits for at most two commits.
    """

    def __init__(self, store: SQLiteEventStore) -> None:
        self._store = store
        self._mutex = threading.Lock()
        self._queue: list[_Waiter] = []
        self._leading = False
        self._conn: tuple[sqlite3.Connection, _Identity] | None = None
        #: Commits made and rows written (the benchmarks print rows per commit).
        self.commits = 0
        self.rows = 0

    def submit(self, params: tuple[Any, ...]) -> EventStatus | None:
        waiter = _Waiter(params)
        with self._mutex:
            self._queue.append(waiter)
            lead = not self._leading
            self._leading = True
        if not lead:
            waiter.done.acquire()
            if not waiter.lead:
                if waiter.error is not None:
                    raise waiter.error
                return waiter.result
        self._lead()
        if waiter.error is not None:
            raise waiter.error
        return waiter.result

    def _lead(self) -> None:
        with self._mutex:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        except BaseException as exc:
            for waiter in batch:
                waiter.error = exc
        finally:
            with self._mutex:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.done.release()
                else:
                    self._leading = False
            for waiter in batch:
                if not waiter.lead:
                    waiter.done.release()

    def _connection(self) -> sqlite3.Connection:
        store = self._store
        store._check_open()
        identity = store._identity()
        if self._conn is not None and self._conn[1] != identity:
            self._conn[0].close()
            self._conn = None
        if self._conn is None:
            conn = store._connect(synchronous="FULL")
            store._lent.pop(conn, None)
            self._conn = (conn, identity)
        return self._conn[0]

    def _commit(self, batch: list[_Waiter]) -> None:
        store = self._store
        conn = self._connection()
        assert self._conn is not None
        identity = self._conn[1]
        sql = store._sql["enqueue"]
        state = store._sql["state"]
        try:
            with store._writer:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    for waiter in batch:
                        params = waiter.params
                        if conn.execute(sql, params).rowcount != 1:
                            found = conn.execute(state, params[:2]).fetchone()
                            waiter.result = found[0] if found else None
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            # Committed to a file that is still the one at the path (else: an error, 500).
            if store._identity() != identity:
                raise StoreUnavailable("the event database was replaced during a commit")
        except BaseException as exc:
            if _is_fault(exc) and self._conn is not None:
                store._fault = True
                self._conn[0].close()
                self._conn = None
            raise
        store._wrote()
        self.commits += 1
        self.rows += len(batch)

    def close(self) -> None:
        with self._mutex:
            if self._conn is not None:
                self._conn[0].close()
                self._conn = None
