"""What the SQL event stores share; each keeps its own SQL.

One connection per thread and per process (a connection is never used after ``fork``), the table
name check, closing, reading rows back into :class:`StoredEvent`, and the two statements whose
parameters are the same for both (``finish``, ``get``).
"""

from __future__ import annotations

import abc
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from paywire._errors import ConfigurationError
from paywire.webhooks._store import FinishStatus, StoredEvent, ThisProcess

__all__ = ["SQLEventStore", "claimed_events", "stored_event"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class _Connection(Protocol):
    def close(self) -> None: ...

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...


C = TypeVar("C", bound=_Connection)


def stored_event(values: tuple[Any, ...], token: str | None = None) -> StoredEvent:
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


def claimed_events(rows: Iterable[tuple[Any, ...]], token: str) -> list[StoredEvent]:
    """Rows just leased with ``token``, oldest first (``RETURNING`` promises no order)."""
    return sorted((stored_event(r, token) for r in rows), key=lambda e: e.received_at)


class SQLEventStore(abc.ABC, Generic[C]):
    """The base of the SQL stores. A subclass sets ``_sql`` (its statements by name, with
    positional parameters in ``finish`` and ``get``), opens connections in :meth:`_open` and
    readies them in :meth:`_prepare`."""

    _sql: dict[str, str]

    def __init__(self, table: str, clock: Callable[[], float]) -> None:
        if not _IDENTIFIER.match(table):
            raise ConfigurationError(f"invalid table name {table!r}")
        self.table = table
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[tuple[int, C]] = []
        self._closed = False

    @abc.abstractmethod
    def _open(self) -> C:
        """A new connection."""

    @abc.abstractmethod
    def _prepare(self, conn: C) -> None:
        """Make a new connection ready for the store's statements (settings, schema)."""

    def _usable(self, conn: C) -> bool:
        """Whether this thread's connection can still be used."""
        return True

    def _conn(self) -> C:
        if self._closed:  # checked first: close() may have run in another thread
            raise ConfigurationError(f"this {type(self).__name__} is closed")
        local = self._local
        conn: C | None = getattr(local, "conn", None)
        if conn is not None and local.pid == ThisProcess.pid and self._usable(conn):
            return conn
        conn = self._open()
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        with self._lock:
            self._connections.append((os.getpid(), conn))
        local.conn = conn
        local.pid = os.getpid()
        return conn

    def close(self) -> None:
        """Close every thread's connection (in this process)."""
        with self._lock:
            self._closed = True
            pid = os.getpid()
            for owner, conn in self._connections:
                # A connection inherited through fork() is the parent's (for PostgreSQL, the
                # parent's session): closing it here would close it for the parent too.
                if owner == pid:
                    conn.close()
            self._connections.clear()

    def finish(
        self,
        provider: str,
        event_id: str,
        token: str,
        *,
        status: FinishStatus,
        error: str | None = None,
    ) -> bool:
        cursor = self._conn().execute(
            self._sql["finish"], (status, error, self._clock(), provider, event_id, token)
        )
        return bool(cursor.rowcount == 1)

    def get(self, provider: str, event_id: str) -> StoredEvent | None:
        found = self._conn().execute(self._sql["get"], (provider, event_id)).fetchone()
        return None if found is None else stored_event(found)
