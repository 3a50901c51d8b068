"""What the SQL event stores share; each keeps its own SQL.

Connections are *borrowed* for one operation and given back (a pool, never one connection per
thread: a thread-per-request server would leave one open per request), the table name check,
closing, reading rows back into :class:`StoredEvent`, and the statements whose parameters are the
same for both stores.
"""

from __future__ import annotations

import abc
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from paywire._errors import ConfigurationError
from paywire._webhook_body import valid_text
from paywire.webhooks._store import (
    FINISHED_STATUSES,
    EventStatus,
    FinishStatus,
    StoredEvent,
)

__all__ = ["SQLEventStore", "claimed_events", "stored_event"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class _Connection(Protocol):
    def close(self) -> None: ...

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...


C = TypeVar("C", bound=_Connection)


def stored_event(values: Sequence[Any], token: str | None = None) -> StoredEvent:
    """A row of the stores' column list (``provider, event_id, event_type, status, attempts,
    event_json, raw_body, received_at, updated_at, last_error, lease_until``)."""
    return StoredEvent(
        provider=values[0],
        event_id=values[1],
        event_type=values[2],
        status=values[3],
        attempts=values[4],
        event_json=values[5],
        raw_body=bytes(values[6]),
        received_at=values[7],
        updated_at=values[8],
        last_error=values[9],
        lease_until=values[10],
        token=token,
    )


def claimed_events(rows: Iterable[Sequence[Any]], token: str) -> list[StoredEvent]:
    """Rows just leased with ``token``, oldest first (``RETURNING`` promises no order)."""
    return sorted((stored_event(r, token) for r in rows), key=lambda e: e.received_at)


class SQLEventStore(abc.ABC, Generic[C]):
    """The base of the SQL stores. A subclass sets ``_sql`` (its statements by name), lends
    connections with :meth:`_acquire` and takes them back with :meth:`_release`."""

    _sql: dict[str, str]
    #: How a statement's positional parameter is written (``?`` or ``%s``).
    _mark = "?"

    def __init__(self, table: str, clock: Callable[[], float]) -> None:
        if not _IDENTIFIER.match(table):
            raise ConfigurationError(f"invalid table name {table!r}")
        self.table = table
        self._clock = clock
        self._lock = threading.Lock()
        self._closed = False

    @abc.abstractmethod
    def _acquire(self) -> C:
        """A connection for one operation (from the pool, or a new one)."""

    @abc.abstractmethod
    def _release(self, conn: C, *, failed: BaseException | None = None) -> None:
        """Give ``conn`` back; ``failed`` is what the operation raised (a connection that a
        fault may have left unusable is closed, not kept)."""

    def _check_open(self) -> None:
        if self._closed:  # checked first: close() may have run in another thread
            raise ConfigurationError(f"this {type(self).__name__} is closed")

    def _execute(self, sql: str, params: Any) -> Any:
        """Run one statement on a borrowed connection; the cursor (rows fetched) comes back."""
        conn = self._acquire()
        try:
            cursor = conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description is not None else None
            count = cursor.rowcount
        except BaseException as exc:
            self._release(conn, failed=exc)
            raise
        self._release(conn)
        return _Result(rows, count)

    def _execute_unchecked(self, sql: str, params: Any) -> Any:
        """:meth:`_execute` for a write the store checks afterwards (SQLite: that the file
        written is still the one at its path); the same as it by default."""
        return self._execute(sql, params)

    @abc.abstractmethod
    def close(self) -> None:
        """Close every pooled connection (in this process)."""

    def finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        *,
        status: FinishStatus,
        error: str | None = None,
    ) -> bool:
        result = self._execute_unchecked(
            self._sql["finish"], (status, error, self._clock(), provider, event_id, token)
        )
        return bool(result.rowcount == 1)

    def get(self, provider: str, event_id: str) -> StoredEvent | None:
        if not (valid_text(provider) and valid_text(event_id)):
            return None  # never stored (the processor refuses such text), and no driver takes it
        rows = self._execute(self._sql["get"], (provider, event_id)).rows
        return stored_event(rows[0]) if rows else None

    def events(
        self,
        *,
        statuses: Sequence[EventStatus] = (),
        provider: str | None = None,
        limit: int | None = None,
        failed_only: bool = False,
    ) -> list[StoredEvent]:
        return self._events(statuses, provider, limit, failed_only)

    def _events(
        self,
        statuses: Sequence[EventStatus],
        provider: str | None,
        limit: int | None,
        failed_only: bool,
    ) -> list[StoredEvent]:
        m = self._mark
        where = []
        params: list[Any] = []
        if statuses:
            where.append(f"status IN ({', '.join([m] * len(statuses))})")
            params += statuses
        if provider is not None:
            where.append(f"provider = {m}")
            params.append(provider)
        if failed_only:
            where.append("last_error IS NOT NULL")
        sql = self._sql["list"].format(where=" AND ".join(where) or "TRUE")
        if limit is not None:
            sql += f" LIMIT {max(int(limit), 0)}"
        return [stored_event(r) for r in self._execute(sql, tuple(params)).rows]

    def requeue(
        self, provider: str, event_id: str | None = None, *, statuses: Sequence[EventStatus] = ()
    ) -> int:
        m = self._mark
        statuses = tuple(statuses) or ("pending", "deferred", "dead")
        where = [f"status IN ({', '.join([m] * len(statuses))})", f"provider = {m}"]
        params: list[Any] = [self._clock(), *statuses, provider]
        if event_id is not None:
            where.append(f"event_id = {m}")
            params.append(event_id)
        sql = self._sql["requeue"].format(where=" AND ".join(where))
        return int(self._execute(sql, tuple(params)).rowcount)

    def prune(self, *, older_than: float) -> int:
        m = self._mark
        finished = tuple(FINISHED_STATUSES)
        sql = self._sql["prune"].format(statuses=", ".join([m] * len(finished)))
        return int(self._execute(sql, (*finished, self._clock() - older_than)).rowcount)

    def counts(self, *, provider: str | None = None) -> dict[str, int]:
        rows = self._execute(self._sql["counts"], (provider, provider)).rows
        return {status: int(n) for status, n in rows}


class _Result:
    """A finished statement's rows (``None`` when it returns none) and row count."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[Any] | None, rowcount: int) -> None:
        self.rows: list[Any] = rows if rows is not None else []
        self.rowcount = rowcount
