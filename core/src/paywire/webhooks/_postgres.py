"""The PostgreSQL event store (psycopg 3), for apps that run many workers on many machines.

Install with ``pip install 'paywire[postgres]'``; psycopg and psycopg_pool are imported only
when the store is built. Connections come from a pool (``psycopg_pool``; at most ``pool_size``,
whatever the number of threads) in autocommit mode, and the async methods (``*_async``, used by
:meth:`WebhookProcessor.process_async`) from an ``AsyncConnectionPool`` per event loop. Every
operation is one statement: recording and claiming is ``INSERT … ON CONFLICT DO UPDATE …
WHERE … RETURNING`` (PostgreSQL locks the conflicting row, so exactly one of several concurrent
deliveries gets the lease), and claiming a batch for replay is ``UPDATE … FROM (SELECT … FOR
UPDATE SKIP LOCKED)`` so that workers replaying at the same time share the backlog instead of
queueing on each other.
Commits are as durable as the server's ``synchronous_commit`` (on by default: a commit returns
once its WAL is flushed to disk). Concurrent commits share one WAL flush — PostgreSQL's own group
commit — so the inbox's durable acknowledgements need nothing more here.

Lease times come from the store's clock (``time.time`` on the app's machine): keep the machines'
clocks in sync (NTP); leases last minutes, so ordinary skew does not matter.
"""

# The only name interpolated into SQL is the table, checked by SQLEventStore first.
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from paywire._errors import ConfigurationError
from paywire.webhooks._sql import SQLEventStore, claimed_events, stored_event
from paywire.webhooks._store import (
    MAX_BACKOFF,
    Claim,
    EventStatus,
    FinishStatus,
    NewEvent,
    StoredEvent,
    ThisProcess,
    new_token,
    unclaimed,
)

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

__all__ = ["PostgresEventStore"]

_COLUMNS = (
    "provider, event_id, event_type, status, attempts, event_json::text, raw_body, received_at, "
    "updated_at, last_error, lease_until"
)


def _statements(t: str) -> dict[str, str]:
    open_ = "status IN ('pending', 'deferred')"
    claim_batch = f"""
        UPDATE {t} AS e SET lease_token = %(token)s, lease_until = %(until)s,
                            attempts = e.attempts + 1, updated_at = %(now)s
        FROM (
            SELECT id FROM {t}
            WHERE {{statuses}} AND (lease_until IS NULL OR lease_until <= %(now)s)
              AND (%(provider)s::text IS NULL OR provider = %(provider)s)
              AND updated_at + LEAST(%(cap)s, %(backoff)s
                                     * ((1::bigint << LEAST(GREATEST(attempts - 1, 0), 30)) - 1))
                  <= %(now)s
            ORDER BY updated_at, id LIMIT %(limit)s
            FOR UPDATE SKIP LOCKED
        ) AS picked
        WHERE e.id = picked.id
        RETURNING {", ".join("e." + c.strip() for c in _COLUMNS.split(","))}
    """
    return {
        "schema": f"""
            CREATE TABLE IF NOT EXISTS {t} (
                id BIGSERIAL PRIMARY KEY,
                provider TEXT NOT NULL,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                lease_token TEXT,
                lease_until DOUBLE PRECISION,
                last_error TEXT,
                event_json JSONB,
                raw_body BYTEA NOT NULL,
                received_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                UNIQUE (provider, event_id)
            )
        """,
        "index": f"CREATE INDEX IF NOT EXISTS {t}_open ON {t} (status, updated_at) WHERE {open_}",
        "record_and_claim": f"""
            INSERT INTO {t} AS e (provider, event_id, event_type, status, attempts, lease_token,
                                  lease_until, event_json, raw_body, received_at, updated_at)
            VALUES (%(provider)s, %(event_id)s, %(event_type)s, 'pending', 1, %(token)s,
                    %(until)s, %(json)s::jsonb, %(body)s, %(now)s, %(now)s)
            ON CONFLICT (provider, event_id) DO UPDATE SET
                attempts = e.attempts + 1, lease_token = EXCLUDED.lease_token,
                lease_until = EXCLUDED.lease_until, updated_at = EXCLUDED.updated_at
            WHERE e.status IN ('pending', 'deferred')
              AND (e.lease_until IS NULL OR e.lease_until <= EXCLUDED.updated_at)
            RETURNING e.attempts
        """,
        "state": f"SELECT status, attempts FROM {t} WHERE provider = %s AND event_id = %s",
        "record_ignored": f"""
            INSERT INTO {t} (provider, event_id, event_type, status, attempts, event_json,
                             raw_body, received_at, updated_at)
            VALUES (%(provider)s, %(event_id)s, %(event_type)s, 'ignored', 0, %(json)s::jsonb,
                    %(body)s, %(now)s, %(now)s)
            ON CONFLICT (provider, event_id) DO NOTHING
        """,
        "claim": f"""
            UPDATE {t} SET lease_token = %(token)s, lease_until = %(until)s,
                           attempts = attempts + 1, updated_at = %(now)s
            WHERE provider = %(provider)s AND event_id = %(event_id)s AND {open_}
              AND (lease_until IS NULL OR lease_until <= %(now)s)
        """,
        "claim_pending": claim_batch.format(statuses=open_),
        "claim_deferred": claim_batch.format(statuses=f"{open_} AND status = 'deferred'"),
        "finish": f"""
            UPDATE {t} SET status = %s, last_error = %s, lease_token = NULL, lease_until = NULL,
                           updated_at = %s
            WHERE provider = %s AND event_id = %s AND lease_token = %s
        """,
        "get": f"SELECT {_COLUMNS} FROM {t} WHERE provider = %s AND event_id = %s",
        "pending": f"""
            SELECT {_COLUMNS} FROM {t}
            WHERE {open_} AND (%(provider)s::text IS NULL OR provider = %(provider)s)
            ORDER BY received_at, id LIMIT %(limit)s
        """,
        "record_rejected": f"""
            INSERT INTO {t} (provider, event_id, event_type, status, attempts, event_json,
                             raw_body, received_at, updated_at)
            VALUES (%(provider)s, %(event_id)s, %(event_type)s, 'rejected', 0, %(json)s::jsonb,
                    %(body)s, %(now)s, %(now)s)
            ON CONFLICT (provider, event_id) DO NOTHING
        """,
        # A no-op update on conflict, so that RETURNING reports the status the row has.
        "enqueue": f"""
            INSERT INTO {t} AS e (provider, event_id, event_type, status, attempts, event_json,
                                  raw_body, received_at, updated_at)
            VALUES (%(provider)s, %(event_id)s, %(event_type)s, 'pending', 0, %(json)s::jsonb,
                    %(body)s, %(now)s, %(now)s)
            ON CONFLICT (provider, event_id) DO UPDATE SET status = e.status
            RETURNING (xmax = 0) AS inserted, e.status
        """,
        "list": f"SELECT {_COLUMNS} FROM {t} WHERE {{where}} ORDER BY received_at, id",
        "requeue": f"""
            UPDATE {t} SET status = 'pending', attempts = 0, lease_token = NULL,
                           lease_until = NULL, updated_at = %s
            WHERE {{where}}
        """,
        "prune": f"DELETE FROM {t} WHERE status IN ({{statuses}}) AND updated_at < %s",
        "counts": f"""
            SELECT status, count(*) FROM {t} WHERE (%s::text IS NULL OR provider = %s)
            GROUP BY status
        """,
    }


class PostgresEventStore(SQLEventStore["psycopg.Connection[Any]"]):
    """An :class:`~paywire.webhooks.EventStore` in a PostgreSQL table.

    Args:
        dsn: a libpq connection string or URI (``postgresql://user@host/db``). It is never
            shown in ``repr`` (it may hold a password).
        table: the table's name (created with its index when missing).
        connect_timeout: seconds to wait for a connection.
        clock: seconds since the epoch, for leases.
        pool_size: the most connections the store opens (per process, and per event loop for
            the async methods); callers beyond it wait for one to be given back.
    """

    _mark = "%s"

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "paywire_webhook_events",
        connect_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        pool_size: int = 10,
    ) -> None:
        super().__init__(table, clock)
        try:
            import psycopg
            import psycopg_pool
        except ImportError:
            raise ConfigurationError(
                "PostgresEventStore needs psycopg 3 and psycopg_pool: "
                "pip install 'paywire[postgres]'"
            ) from None
        if pool_size < 1:
            raise ConfigurationError("pool_size must be at least 1")
        self._psycopg = psycopg
        self._psycopg_pool = psycopg_pool
        self._dsn = dsn
        self._connect_timeout = max(1, round(connect_timeout))
        self.pool_size = pool_size
        self._sql = _statements(table)
        self._schema_ready = False
        self._pool: psycopg_pool.ConnectionPool[Any] | None = None
        self._pool_pid = -1
        self._apools: dict[asyncio.AbstractEventLoop, psycopg_pool.AsyncConnectionPool[Any]] = {}
        # Fail at start-up (at once, not after the pool's timeout) on a bad DSN, and create the
        # table; the pool opens its connections when first used.
        with psycopg.connect(dsn, **self._kwargs()) as conn:
            self._create_schema(conn)

    def __repr__(self) -> str:
        return f"<PostgresEventStore table={self.table!r}>"

    # -- connections ------------------------------------------------------------------------

    def _kwargs(self) -> dict[str, Any]:
        return {"autocommit": True, "connect_timeout": self._connect_timeout}

    def _sync_pool(self) -> psycopg_pool.ConnectionPool[Any]:
        pool = self._pool
        if pool is not None and self._pool_pid == ThisProcess.pid:
            return pool
        with self._lock:
            self._check_open()
            if self._pool is None or self._pool_pid != ThisProcess.pid:
                # A forked child builds its own; the parent's (sockets, threads) is left alone.
                self._pool = self._psycopg_pool.ConnectionPool(
                    self._dsn,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs=self._kwargs(),
                    timeout=self._connect_timeout,
                    num_workers=1,
                    open=True,
                )
                self._pool_pid = ThisProcess.pid
            return self._pool

    def _acquire(self) -> psycopg.Connection[Any]:
        self._check_open()
        conn: psycopg.Connection[Any] = self._sync_pool().getconn()
        if not self._schema_ready:
            try:
                self._create_schema(conn)
            except BaseException as exc:
                self._release(conn, failed=exc)
                raise
        return conn

    def _release(
        self, conn: psycopg.Connection[Any], *, failed: BaseException | None = None
    ) -> None:
        pool = self._pool
        if pool is None or self._pool_pid != ThisProcess.pid or self._closed:
            conn.close()
            return
        # The pool checks the connection's state and discards a broken one.
        pool.putconn(conn)

    def _create_schema(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            if not self._schema_ready:
                with conn.transaction():
                    # Several processes may start at once: one creates the table, the others wait.
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
                    conn.execute(self._sql["schema"])
                    conn.execute(self._sql["index"])
                self._schema_ready = True

    async def _async_pool(self) -> psycopg_pool.AsyncConnectionPool[Any]:
        loop = asyncio.get_running_loop()
        pool = self._apools.get(loop)
        if pool is None:
            self._check_open()
            if not self._schema_ready:
                await asyncio.to_thread(lambda: self._release(self._acquire()))
            pool = self._psycopg_pool.AsyncConnectionPool(
                self._dsn,
                min_size=1,
                max_size=self.pool_size,
                kwargs=self._kwargs(),
                timeout=self._connect_timeout,
                num_workers=1,
                open=False,
            )
            await pool.open()
            if loop in self._apools:  # another task of this loop built one meanwhile
                await pool.close()
                return self._apools[loop]
            self._apools[loop] = pool
        return pool

    async def _aexecute(self, sql: str, params: Any) -> _Rows:
        self._check_open()
        pool = await self._async_pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            rows = await cursor.fetchall() if cursor.description is not None else []
            return _Rows(rows, cursor.rowcount)

    def close(self) -> None:
        """Close the pool of this process (and mark the store closed for every loop: call
        :meth:`aclose` from each event loop that used the async methods to close theirs)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None and self._pool_pid == ThisProcess.pid:
            pool.close()

    async def aclose(self) -> None:
        """Close the running event loop's async pool (and, when it is the last, the store)."""
        pool = self._apools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()

    # -- the protocol -----------------------------------------------------------------------

    def _claim_params(self, event: NewEvent, lease_seconds: float) -> dict[str, Any]:
        now = self._clock()
        return {
            "provider": event.provider,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "token": new_token(),
            "until": now + lease_seconds,
            "json": event.event_json,
            "body": event.raw_body,
            "now": now,
        }

    def record_and_claim(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        params = self._claim_params(event, lease_seconds)
        found = self._execute(self._sql["record_and_claim"], params).rows
        if found:
            return Claim("claimed", params["token"], found[0][0])
        state = self._execute(self._sql["state"], (event.provider, event.event_id)).rows
        return _unclaimed(state)

    async def record_and_claim_async(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        """:meth:`record_and_claim`, awaitable."""
        params = self._claim_params(event, lease_seconds)
        found = (await self._aexecute(self._sql["record_and_claim"], params)).rows
        if found:
            return Claim("claimed", params["token"], found[0][0])
        state = (await self._aexecute(self._sql["state"], (event.provider, event.event_id))).rows
        return _unclaimed(state)

    def _as_params(self, event: NewEvent) -> dict[str, Any]:
        return {
            "provider": event.provider,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "json": event.event_json,
            "body": event.raw_body,
            "now": self._clock(),
        }

    def record_ignored(self, event: NewEvent) -> bool:
        return bool(
            self._execute(self._sql["record_ignored"], self._as_params(event)).rowcount == 1
        )

    async def record_ignored_async(self, event: NewEvent) -> bool:
        """:meth:`record_ignored`, awaitable."""
        done = await self._aexecute(self._sql["record_ignored"], self._as_params(event))
        return done.rowcount == 1

    def record_rejected(self, event: NewEvent) -> bool:
        done = self._execute(self._sql["record_rejected"], self._as_params(event))
        return bool(done.rowcount == 1)

    async def record_rejected_async(self, event: NewEvent) -> bool:
        """:meth:`record_rejected`, awaitable."""
        done = await self._aexecute(self._sql["record_rejected"], self._as_params(event))
        return done.rowcount == 1

    def enqueue(self, event: NewEvent) -> EventStatus | None:
        inserted, status = self._execute(self._sql["enqueue"], self._as_params(event)).rows[0]
        return None if inserted else cast("EventStatus", status)

    async def enqueue_async(self, event: NewEvent) -> EventStatus | None:
        """:meth:`enqueue`, awaitable."""
        done = await self._aexecute(self._sql["enqueue"], self._as_params(event))
        inserted, status = done.rows[0]
        return None if inserted else cast("EventStatus", status)

    async def finish_async(
        self,
        provider: str,
        event_id: str,
        token: str,
        *,
        status: FinishStatus,
        error: str | None = None,
    ) -> bool:
        """:meth:`finish`, awaitable."""
        done = await self._aexecute(
            self._sql["finish"], (status, error, self._clock(), provider, event_id, token)
        )
        return done.rowcount == 1

    def claim(self, provider: str, event_id: str, *, lease_seconds: float) -> str | None:
        now = self._clock()
        token = new_token()
        done = self._execute(
            self._sql["claim"],
            {
                "token": token,
                "until": now + lease_seconds,
                "now": now,
                "provider": provider,
                "event_id": event_id,
            },
        )
        return token if done.rowcount == 1 else None

    def _batch_params(
        self, provider: str | None, lease_seconds: float, limit: int, backoff: float
    ) -> dict[str, Any]:
        now = self._clock()
        return {
            "token": new_token(),
            "until": now + lease_seconds,
            "now": now,
            "provider": provider,
            "limit": max(limit, 0),
            "backoff": backoff,
            "cap": MAX_BACKOFF,
        }

    def claim_pending(
        self,
        *,
        provider: str | None = None,
        lease_seconds: float,
        limit: int,
        deferred_only: bool = False,
        backoff: float = 0.0,
    ) -> list[StoredEvent]:
        params = self._batch_params(provider, lease_seconds, limit, backoff)
        sql = self._sql["claim_deferred" if deferred_only else "claim_pending"]
        return claimed_events(self._execute(sql, params).rows, params["token"])

    async def claim_pending_async(
        self,
        *,
        provider: str | None = None,
        lease_seconds: float,
        limit: int,
        deferred_only: bool = False,
        backoff: float = 0.0,
    ) -> list[StoredEvent]:
        """:meth:`claim_pending`, awaitable."""
        params = self._batch_params(provider, lease_seconds, limit, backoff)
        sql = self._sql["claim_deferred" if deferred_only else "claim_pending"]
        return claimed_events((await self._aexecute(sql, params)).rows, params["token"])

    def pending(
        self, *, provider: str | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        rows = self._execute(self._sql["pending"], {"provider": provider, "limit": limit}).rows
        return [stored_event(r) for r in rows]


class _Rows:
    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount


def _unclaimed(state: list[Any]) -> Claim:
    if not state:  # pragma: no cover - rows are never deleted while open
        return Claim("busy")
    status, attempts = state[0]
    return unclaimed(status, attempts)
