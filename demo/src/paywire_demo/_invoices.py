"""The demo shop's own records in a SQLite file: invoices, the setups it started and the payment
methods its customers saved. The app owns these; providers only pay, save and charge."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import attrs

from paywire import Invoice, LineItem, Money, SavedPaymentMethod

__all__ = ["InvoiceBook", "InvoiceRecord"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    id          TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    amount      TEXT NOT NULL,
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    provider    TEXT,
    session_id  TEXT,
    transaction_id TEXT,
    paid_at     TEXT
);
CREATE TABLE IF NOT EXISTS setups (
    session_id           TEXT NOT NULL,
    provider             TEXT NOT NULL,
    customer_id          TEXT NOT NULL,
    provider_customer_id TEXT,
    started_at           TEXT NOT NULL,
    PRIMARY KEY (provider, session_id)
);
CREATE TABLE IF NOT EXISTS saved_methods (
    customer_id          TEXT NOT NULL,
    provider             TEXT NOT NULL,
    method_id            TEXT NOT NULL,
    provider_customer_id TEXT,
    saved_at             TEXT NOT NULL,
    PRIMARY KEY (customer_id, provider)
);
"""


@attrs.frozen
class InvoiceRecord:
    """One row of the demo's invoice table."""

    id: str
    description: str
    amount: Money
    status: str
    provider: str | None
    session_id: str | None
    transaction_id: str | None
    paid_at: str | None

    def as_invoice(self) -> Invoice:
        """The invoice as paywire sees it."""
        return Invoice(
            id=self.id,
            currency=self.amount.currency,
            line_items=[LineItem(self.description, self.amount)],
            description=self.description,
        )


class InvoiceBook:
    """Invoices in a SQLite file, safe to use from the shop's threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        with self._connection() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        yield db

    def close(self) -> None:
        """Close this thread's connection."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def create(self, invoice_id: str, description: str, amount: Money) -> InvoiceRecord:
        """A new open invoice."""
        with self._connection() as db:
            db.execute(
                "INSERT INTO invoices (id, description, amount, currency) VALUES (?, ?, ?, ?)",
                (invoice_id, description, str(amount.amount), amount.currency),
            )
        return self.get(invoice_id)

    def get(self, invoice_id: str) -> InvoiceRecord:
        """One invoice; ``KeyError`` if there is none."""
        with self._connection() as db:
            row = db.execute(
                "SELECT id, description, amount, currency, status, provider, session_id,"
                " transaction_id, paid_at FROM invoices WHERE id = ?",
                (invoice_id,),
            ).fetchone()
        if row is None:
            raise KeyError(invoice_id)
        return _record(row)

    def all(self) -> list[InvoiceRecord]:
        """Every invoice, newest first."""
        with self._connection() as db:
            rows = db.execute(
                "SELECT id, description, amount, currency, status, provider, session_id,"
                " transaction_id, paid_at FROM invoices ORDER BY rowid DESC"
            ).fetchall()
        return [_record(row) for row in rows]

    def checkout_started(self, invoice_id: str, provider: str, session_id: str) -> None:
        """Remember which hosted checkout pays the invoice."""
        with self._connection() as db:
            db.execute(
                "UPDATE invoices SET provider = ?, session_id = ? WHERE id = ?",
                (provider, session_id, invoice_id),
            )

    def mark_paid(self, invoice_id: str, amount: Money, transaction_id: str | None) -> bool:
        """Mark the invoice paid if ``amount`` is exactly its total; False if it was already paid.

        A payment for another amount or currency is refused (``ValueError``): the handler fails,
        the webhook is answered non-2xx and the event stays unprocessed for someone to look at.
        """
        record = self.get(invoice_id)
        if amount != record.amount:
            raise ValueError(
                f"invoice {invoice_id} is for {record.amount}, the payment was {amount}"
            )
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE invoices SET status = 'paid', paid_at = ?,"
                " transaction_id = COALESCE(?, transaction_id)"
                " WHERE id = ? AND status != 'paid'",
                (datetime.now(UTC).isoformat(), transaction_id, invoice_id),
            )
        return cursor.rowcount == 1


    # -- setups and saved methods ------------------------------------------------------------

    def setup_started(
        self, provider: str, session_id: str, customer_id: str, provider_customer_id: str | None
    ) -> None:
        """Remember which customer a setup session saves a method for."""
        with self._connection() as db:
            db.execute(
                "INSERT OR REPLACE INTO setups VALUES (?, ?, ?, ?, ?)",
                (session_id, provider, customer_id, provider_customer_id, _now()),
            )

    def latest_setup(self, provider: str, customer_id: str) -> str | None:
        """The setup session most recently started for the customer with ``provider``."""
        with self._connection() as db:
            row = db.execute(
                "SELECT session_id FROM setups WHERE provider = ? AND customer_id = ?"
                " ORDER BY started_at DESC, rowid DESC LIMIT 1",
                (provider, customer_id),
            ).fetchone()
        return None if row is None else str(row[0])

    def setup_customer(
        self, provider: str, session_id: str | None, provider_customer_id: str | None
    ) -> str | None:
        """The app's customer a setup belongs to, by its session or the provider's customer."""
        with self._connection() as db:
            row = db.execute(
                "SELECT customer_id FROM setups WHERE provider = ?"
                " AND (session_id = ? OR (? IS NOT NULL AND provider_customer_id = ?))"
                " ORDER BY started_at DESC LIMIT 1",
                (provider, session_id, provider_customer_id, provider_customer_id),
            ).fetchone()
        return None if row is None else str(row[0])

    def save_method(self, customer_id: str, method: SavedPaymentMethod) -> None:
        """Keep ``method`` as the customer's method with its provider (the latest wins)."""
        with self._connection() as db:
            db.execute(
                "INSERT OR REPLACE INTO saved_methods VALUES (?, ?, ?, ?, ?)",
                (customer_id, method.provider, method.id, method.customer_id, _now()),
            )

    def method_for(self, customer_id: str, provider: str) -> SavedPaymentMethod | None:
        """The method the customer saved with ``provider``, if any."""
        with self._connection() as db:
            row = db.execute(
                "SELECT method_id, provider_customer_id FROM saved_methods"
                " WHERE customer_id = ? AND provider = ?",
                (customer_id, provider),
            ).fetchone()
        return None if row is None else SavedPaymentMethod(provider, row[0], row[1])

    def forget_method(self, customer_id: str, provider: str) -> None:
        """The customer's method with ``provider`` was removed."""
        with self._connection() as db:
            db.execute(
                "DELETE FROM saved_methods WHERE customer_id = ? AND provider = ?",
                (customer_id, provider),
            )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _record(row: tuple[str, ...]) -> InvoiceRecord:
    return InvoiceRecord(
        id=row[0],
        description=row[1],
        amount=Money(Decimal(row[2]), row[3]),
        status=row[4],
        provider=row[5],
        session_id=row[6],
        transaction_id=row[7],
        paid_at=row[8],
    )
