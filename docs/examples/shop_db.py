"""The shop's own records: invoices and saved payment methods, in SQLite.

paywire keeps no business state: the app owns its invoices and decides when to charge. Both
tutorial shops (FastAPI and Flask) keep their records with this module.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from paywire import Money, SavedPaymentMethod, SetupSession

# --8<-- [start:schema]
SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    description TEXT NOT NULL,
    amount TEXT NOT NULL,              -- a decimal string: money is never a float
    currency TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',   -- open, paid, failed, needs_authentication
    provider TEXT,
    transaction_id TEXT,               -- what a refund needs
    action_url TEXT,                   -- where the customer approves a renewal
    refunded TEXT NOT NULL DEFAULT '0'
);
CREATE TABLE IF NOT EXISTS payment_methods (
    customer TEXT NOT NULL,
    provider TEXT NOT NULL,
    method_id TEXT NOT NULL,
    provider_customer_id TEXT,
    PRIMARY KEY (customer, provider)
);
CREATE TABLE IF NOT EXISTS setups (   -- a customer's pages for saving a method
    provider TEXT NOT NULL,
    session_id TEXT NOT NULL,
    customer TEXT NOT NULL,
    provider_customer_id TEXT,
    PRIMARY KEY (provider, session_id)
);
"""
# --8<-- [end:schema]


@dataclass(frozen=True)
class InvoiceRow:
    """One invoice as the shop sees it."""

    id: str
    customer: str
    description: str
    amount: Money
    status: str
    provider: str | None
    transaction_id: str | None
    action_url: str | None
    refunded: Decimal

    def as_json(self) -> dict[str, str | None]:
        """The invoice as the shops' APIs show it."""
        return {
            "id": self.id,
            "customer": self.customer,
            "amount": str(self.amount.amount),
            "currency": self.amount.currency,
            "status": self.status,
            "provider": self.provider,
            "transaction_id": self.transaction_id,
            "action_url": self.action_url,
            "refunded": str(self.refunded),
        }


class ShopDB:
    """The shop's tables; safe from any thread (one connection per use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path)
        try:
            with db:  # commits, or rolls back on an error
                yield db
        finally:
            db.close()

    def new_invoice(self, customer: str, description: str, amount: Money) -> InvoiceRow:
        """An open invoice with a fresh id."""
        invoice_id = f"INV-{uuid.uuid4().hex[:10].upper()}"
        with self._db() as db:
            db.execute(
                "INSERT INTO invoices (id, customer, description, amount, currency)"
                " VALUES (?, ?, ?, ?, ?)",
                (invoice_id, customer, description, str(amount.amount), amount.currency),
            )
        return self.invoice(invoice_id)

    def invoice(self, invoice_id: str) -> InvoiceRow:
        """The invoice; :class:`KeyError` when there is none."""
        with self._db() as db:
            row = db.execute(
                "SELECT id, customer, description, amount, currency, status, provider,"
                " transaction_id, action_url, refunded FROM invoices WHERE id = ?",
                (invoice_id,),
            ).fetchone()
        if row is None:
            raise KeyError(invoice_id)
        return InvoiceRow(
            id=row[0],
            customer=row[1],
            description=row[2],
            amount=Money(Decimal(row[3]), row[4]),
            status=row[5],
            provider=row[6],
            transaction_id=row[7],
            action_url=row[8],
            refunded=Decimal(row[9]),
        )

    def update_invoice(self, invoice_id: str, **fields: str | None) -> None:
        """Set some of an invoice's columns (``status="paid"``, ``transaction_id=...``)."""
        allowed = {"status", "provider", "transaction_id", "action_url", "refunded"}
        if not fields or not set(fields) <= allowed:
            raise ValueError(f"cannot update {sorted(fields)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._db() as db:
            db.execute(
                f"UPDATE invoices SET {assignments} WHERE id = ?",  # noqa: S608 - allow-listed
                (*fields.values(), invoice_id),
            )

    def invoice_for_transaction(self, transaction_id: str) -> InvoiceRow | None:
        """The invoice a provider's transaction paid."""
        with self._db() as db:
            row = db.execute(
                "SELECT id FROM invoices WHERE transaction_id = ?", (transaction_id,)
            ).fetchone()
        return None if row is None else self.invoice(row[0])

    def setup_started(self, customer: str, session: SetupSession) -> None:
        """Remember whose setup page ``session`` is (and the provider's id for the customer)."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO setups VALUES (?, ?, ?, ?)",
                (session.provider, session.id, customer, session.customer_id),
            )

    def last_setup(self, customer: str, provider: str) -> str | None:
        """The id of the last setup page ``customer`` was sent to at ``provider``."""
        with self._db() as db:
            row = db.execute(
                "SELECT session_id FROM setups WHERE customer = ? AND provider = ?"
                " ORDER BY rowid DESC LIMIT 1",
                (customer, provider),
            ).fetchone()
        return None if row is None else str(row[0])

    def customer_of(self, provider: str, provider_customer_id: str | None) -> str | None:
        """Our customer behind a provider's customer id."""
        with self._db() as db:
            row = db.execute(
                "SELECT customer FROM setups WHERE provider = ? AND provider_customer_id = ?",
                (provider, provider_customer_id),
            ).fetchone()
        return None if row is None else str(row[0])

    def save_method(self, customer: str, method: SavedPaymentMethod) -> None:
        """Keep ``customer``'s saved method for later charges (one per provider)."""
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO payment_methods VALUES (?, ?, ?, ?)",
                (customer, method.provider, method.id, method.customer_id),
            )

    def saved_method(self, customer: str, provider: str) -> SavedPaymentMethod | None:
        """The method ``customer`` saved with ``provider``, as paywire wants it back."""
        with self._db() as db:
            row = db.execute(
                "SELECT method_id, provider_customer_id FROM payment_methods"
                " WHERE customer = ? AND provider = ?",
                (customer, provider),
            ).fetchone()
        return None if row is None else SavedPaymentMethod(provider, row[0], row[1])
