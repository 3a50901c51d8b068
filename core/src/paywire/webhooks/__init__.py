"""Receiving provider webhooks: verify → parse → record → deduplicate → handlers → mark done.

::

    from paywire import EventType, Paywire, WebhookEvent
    from paywire.webhooks import Defer, WebhookProcessor, mount_wsgi

    processor = WebhookProcessor(Paywire())            # events in ./paywire-webhooks.sqlite3

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def paid(event: WebhookEvent) -> None:
        invoices.mark_paid(event.invoice_id, event.amount)

    @processor.on(EventType.REFUND_SUCCEEDED)
    def refunded(event: WebhookEvent) -> None:
        if not invoices.has_payment(event.transaction_id):
            raise Defer("refund before its payment")      # kept, retried after the payment
        invoices.record_refund(event.transaction_id, event.amount)

    app.add_route("/webhooks/stripe", processor.asgi("stripe"))      # Starlette / FastAPI
    app.wsgi_app = mount_wsgi(app.wsgi_app, {"/webhooks/stripe": processor.wsgi("stripe")})  # Flask

Two modes: ``WebhookProcessor(..., mode="inline")`` (the default: handlers run in the request)
and ``mode="inbox"`` (recorded durably and answered at once; an :class:`EmbeddedWorker`, or
procrastinate workers through :func:`register_procrastinate`, run the handlers later, with
retries and a dead state). Stores: :class:`SQLiteEventStore` (the default; several processes on
one machine), :class:`PostgresEventStore` (``pip install 'paywire[postgres]'``; many machines)
and :class:`InMemoryEventStore` (tests); each is an :class:`EventStore`. What each delivery is
answered is in :mod:`paywire.webhooks._processor` (and ``docs/webhooks.md``); ``paywire
webhooks`` lists, shows, replays and prunes stored events.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from paywire.webhooks._asgi import AsgiEndpoint
from paywire.webhooks._processor import (
    DEFAULT_STORE_PATH,
    Defer,
    Handler,
    Mode,
    Outcome,
    WebhookProcessor,
    WebhookResult,
)
from paywire.webhooks._sqlite import SQLiteEventStore
from paywire.webhooks._store import (
    Claim,
    EventStatus,
    EventStore,
    InMemoryEventStore,
    NewEvent,
    StoredEvent,
    StoreUnavailable,
)
from paywire.webhooks._worker import EmbeddedWorker
from paywire.webhooks._wsgi import WsgiEndpoint, mount_wsgi

if TYPE_CHECKING:
    from paywire.webhooks._postgres import PostgresEventStore
    from paywire.webhooks._procrastinate import register_procrastinate

__all__ = [
    "DEFAULT_STORE_PATH",
    "AsgiEndpoint",
    "Claim",
    "Defer",
    "EmbeddedWorker",
    "EventStatus",
    "EventStore",
    "Handler",
    "InMemoryEventStore",
    "Mode",
    "NewEvent",
    "Outcome",
    "PostgresEventStore",
    "SQLiteEventStore",
    "StoreUnavailable",
    "StoredEvent",
    "WebhookProcessor",
    "WebhookResult",
    "WsgiEndpoint",
    "mount_wsgi",
    "register_procrastinate",
]


_LAZY = {
    "PostgresEventStore": "paywire.webhooks._postgres",
    "register_procrastinate": "paywire.webhooks._procrastinate",
}


def __getattr__(name: str) -> Any:
    # These modules are only imported when asked for; psycopg and procrastinate themselves only
    # when a store is built or tasks are registered.
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'paywire.webhooks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
