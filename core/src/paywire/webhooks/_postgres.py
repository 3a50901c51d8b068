"""The PostgreSQL event store (psycopg 3), for apps that run many workers on many machines.

Install with ``pip install 'paywire[postgres]'``; psycopg is imported only when the store is
built. Each thread has its own connection in autocommit mode, and every operation is one
statement: recording and claiming is ``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING``
(PostgreSQL locks the conflicting row, so exactly one of several concurrent deliveries gets the
lease), and claiming a batch for replay is ``UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)`` so
that workers replaying at the same time share the backlog instead of queueing on each other.
Commits are as durable as the server's ``synchronous_commit`` (on by default).

Lease times come from the store's clock (``time.time`` on the app's machine): keep the machines'
clocks in sync (NTP); leases last minutes, so ordinary skew does not matter.
"""

# The only name interpolated into SQL is the table, checked by SQLEventStore first.
# ruff: noqa: S608

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from paywire._errors import ConfigurationError
from paywire.webhooks._sql import SQLEventStore, claimed_events, stored_event
from paywire.webhooks._store import (
    MAX_BACKOFF,
    Claim,
    NewEvent,
    StoredEvent,
    new_token,
    unclaimed,
)

if TYPE_CHECKING:
    import psycopg

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
    }


class PostgresEventStore(SQLEventStore["psycopg.Connection[Any]"]):
    """An :class:`~paywire.webhooks.EventStore` in a PostgreSQL table.

    Args:
        dsn: a libpq connection string or URI (``postgresql://user@host/db``). It is never
            shown in ``repr`` (it may hold a password).
        table: the table's name (created with its index when missing).
        connect_timeout: seconds to wait for a connection.
        clock: seconds since the epoch, for leases.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: str = "paywire_webhook_events",
        connect_timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(table, clock)
        try:
            import psycopg
        except ImportError:
            raise ConfigurationError(
                "PostgresEventStore needs psycopg 3: pip install 'paywire[postgres]'"
            ) from None
        self._psycopg = psycopg
        self._dsn = dsn
        self._connect_timeout = max(1, round(connect_timeout))
        self._sql = _statements(table)
        self._schema_ready = False
        self._conn()

    def __repr__(self) -> str:
        return f"<PostgresEventStore table={self.table!r}>"

    def _usable(self, conn: psycopg.Connection[Any]) -> bool:
        return not conn.broken

    def _open(self) -> psycopg.Connection[Any]:
        return self._psycopg.connect(
            self._dsn, autocommit=True, connect_timeout=self._connect_timeout
        )

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            if not self._schema_ready:
                with conn.transaction():
                    # Several processes may start at once: one creates the table, the others wait.
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
                    conn.execute(self._sql["schema"])
                    conn.execute(self._sql["index"])
                self._schema_ready = True

    def record_and_claim(self, event: NewEvent, *, lease_seconds: float) -> Claim:
        conn = self._conn()
        now = self._clock()
        token = new_token()
        found = conn.execute(
            self._sql["record_and_claim"],
            {
                "provider": event.provider,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "token": token,
                "until": now + lease_seconds,
                "json": event.event_json,
                "body": event.raw_body,
                "now": now,
            },
        ).fetchone()
        if found is not None:
            return Claim("claimed", token, found[0])
        state = conn.execute(self._sql["state"], (event.provider, event.event_id)).fetchone()
        if state is None:  # pragma: no cover - rows are never deleted by the store
            return Claim("busy")
        return unclaimed(*state)

    def record_ignored(self, event: NewEvent) -> bool:
        cursor = self._conn().execute(
            self._sql["record_ignored"],
            {
                "provider": event.provider,
                "event_id": event.event_id,
                "event_type": event.event_type,
                "json": event.event_json,
                "body": event.raw_body,
                "now": self._clock(),
            },
        )
        return cursor.rowcount == 1

    def claim(self, provider: str, event_id: str, *, lease_seconds: float) -> str | None:
        now = self._clock()
        token = new_token()
        cursor = self._conn().execute(
            self._sql["claim"],
            {
                "token": token,
                "until": now + lease_seconds,
                "now": now,
                "provider": provider,
                "event_id": event_id,
            },
        )
        return token if cursor.rowcount == 1 else None

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
        token = new_token()
        rows = (
            self._conn()
            .execute(
                self._sql["claim_deferred" if deferred_only else "claim_pending"],
                {
                    "token": token,
                    "until": now + lease_seconds,
                    "now": now,
                    "provider": provider,
                    "limit": max(limit, 0),
                    "backoff": backoff,
                    "cap": MAX_BACKOFF,
                },
            )
            .fetchall()
        )
        return claimed_events(rows, token)

    def pending(
        self, *, provider: str | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        rows = (
            self._conn()
            .execute(self._sql["pending"], {"provider": provider, "limit": limit})
            .fetchall()
        )
        return [stored_event(r) for r in rows]
