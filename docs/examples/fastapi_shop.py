"""A FastAPI shop that takes payments through paywire: the FastAPI tutorial's code.

Serve it with ``uvicorn --factory fastapi_shop:create_app`` (see ``serve_fastapi.sh``); the
tests in ``docs/tests`` run exactly this against the sandbox.
"""

# --8<-- [start:imports]
from __future__ import annotations

import html
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from shop_db import ShopDB
from shop_webhooks import handle_webhooks
from starlette.routing import Route

from paywire import (
    AuthenticationRequired,
    CardDeclined,
    ConfigurationError,
    Customer,
    InvalidAmount,
    Invoice,
    LineItem,
    Money,
    PaymentMethodExpired,
    PaymentStatus,
    Paywire,
    Provider,
)
from paywire.webhooks import SQLiteEventStore, WebhookProcessor

# --8<-- [end:imports]


# --8<-- [start:models]
class NewInvoice(BaseModel):
    """What the shop's back office sends to bill a customer."""

    customer: str
    description: str
    amount: str  # a decimal string, "19.99": never a float
    currency: str


class ProviderChoice(BaseModel):
    """Which installed provider to use."""

    provider: str


class NewMethod(ProviderChoice):
    """Who saves a method: some providers need a name and a phone number (Razorpay)."""

    name: str | None = None
    phone: str | None = None


class NewRenewal(ProviderChoice):
    """A renewal charged to the customer's saved method."""

    description: str
    amount: str
    currency: str


class RefundRequest(BaseModel):
    """How much of a paid invoice to give back (all of it when absent)."""

    amount: str | None = None


def money(amount: str, currency: str) -> Money:
    """The amount as paywire's Money, or a 422 the client can read."""
    try:
        return Money(Decimal(amount), currency)
    except (InvalidOperation, InvalidAmount) as exc:
        raise HTTPException(422, f"not an amount in {currency}: {amount!r} ({exc})") from None


# --8<-- [end:models]


# --8<-- [start:app]
def create_app() -> FastAPI:  # noqa: PLR0915 - one factory holds the shop's routes
    """The shop, configured from the environment.

    ``SHOP_URL`` is where customers come back to; ``PAYWIRE_<PROVIDER>_<SETTING>`` variables
    configure each installed provider (``PAYWIRE_STRIPE_API_KEY``,
    ``PAYWIRE_STRIPE_WEBHOOK_SECRET`` …).
    """
    shop_url = os.environ["SHOP_URL"].rstrip("/")
    db = ShopDB(Path(os.environ.get("SHOP_DATABASE", "shop.sqlite3")))
    pw = Paywire()
    processor = WebhookProcessor(
        pw, store=SQLiteEventStore(os.environ.get("SHOP_WEBHOOK_EVENTS", "webhooks.sqlite3"))
    )
    handle_webhooks(processor, db)
    app = FastAPI(title="paywire shop")
    for name in pw.providers:
        # The raw body reaches paywire untouched: signatures are over the exact bytes.
        app.routes.append(Route(f"/webhooks/{name}", processor.asgi(name), methods=["POST"]))

    def provider(name: str) -> Provider[Any]:
        if name not in pw.providers:
            raise HTTPException(404, f"no provider {name!r} is installed")
        return pw.provider(name)

    # --8<-- [end:app]

    # --8<-- [start:checkout]
    @app.post("/invoices")
    async def new_invoice(body: NewInvoice) -> dict[str, str | None]:
        amount = money(body.amount, body.currency)
        return db.new_invoice(body.customer, body.description, amount).as_json()

    @app.get("/invoices/{invoice_id}")
    async def get_invoice(invoice_id: str) -> dict[str, str | None]:
        try:
            return db.invoice(invoice_id).as_json()
        except KeyError:
            raise HTTPException(404, "no such invoice") from None

    @app.post("/invoices/{invoice_id}/checkout")
    async def checkout(invoice_id: str, body: ProviderChoice) -> dict[str, str]:
        invoice = db.invoice(invoice_id)
        session = await provider(body.provider).create_checkout_session_async(
            Invoice(
                id=invoice.id,
                currency=invoice.amount.currency,
                line_items=[LineItem(invoice.description, invoice.amount)],
            ),
            success_url=f"{shop_url}/thanks?invoice={invoice.id}",
            cancel_url=f"{shop_url}/thanks?invoice={invoice.id}",
            idempotency_key=f"checkout-{invoice.id}",  # a retried request makes one session
        )
        db.update_invoice(invoice.id, provider=body.provider)
        return {"url": session.url, "session_id": session.id}

    @app.get("/thanks", response_class=HTMLResponse)
    async def thanks(invoice: str) -> str:
        row = db.invoice(invoice)
        note = "paid, thank you" if row.status == "paid" else "waiting for the payment"
        return f"<h1>Invoice {html.escape(row.id)}</h1><p id='status'>{note}</p>"

    # --8<-- [end:checkout]

    # --8<-- [start:setup]
    @app.post("/customers/{customer}/payment-methods")
    async def save_a_method(customer: str, body: NewMethod) -> dict[str, str]:
        chosen = provider(body.provider)
        session = await chosen.create_setup_session_async(
            Customer(
                id=customer, email=f"{customer}@example.com", name=body.name, phone=body.phone
            ),
            success_url=f"{shop_url}/saved?customer={customer}&provider={chosen.name}",
            cancel_url=f"{shop_url}/saved?customer={customer}&provider={chosen.name}",
        )
        db.setup_started(customer, session)
        return {"url": session.url, "session_id": session.id}

    @app.get("/customers/{customer}/payment-methods/{name}")
    async def saved_method(customer: str, name: str) -> dict[str, str | None]:
        method = db.saved_method(customer, name)
        if method is None:
            raise HTTPException(404, "no saved method yet")
        return {"provider": method.provider, "id": method.id}

    @app.get("/saved", response_class=HTMLResponse)
    async def saved(request: Request, customer: str, provider: str) -> str:
        # The customer is back from the provider's page: ask the provider what was saved.
        chosen, session_id = pw.provider(provider), db.last_setup(customer, provider)
        if session_id is None:
            raise HTTPException(404, "no setup was started")
        try:
            method = await chosen.complete_setup_async(
                session_id, params=dict(request.query_params)
            )
        except AuthenticationRequired:
            return "<h1>Not finished</h1><p>Your payment method was not saved.</p>"
        except ConfigurationError:
            method = None  # this provider tells by its SETUP_COMPLETED webhook only
        if method is not None:
            db.save_method(customer, method)
        return "<h1>Thank you</h1><p>Your payment method is saved for your renewals.</p>"

    # --8<-- [end:setup]

    # --8<-- [start:renewal]
    @app.post("/customers/{customer}/renewals")
    async def renew(customer: str, body: NewRenewal) -> dict[str, str | None]:
        method = db.saved_method(customer, body.provider)
        if method is None:
            raise HTTPException(409, "the customer has no saved method with this provider")
        invoice = db.new_invoice(customer, body.description, money(body.amount, body.currency))
        try:
            result = await provider(body.provider).charge_payment_method_async(
                method,
                invoice.amount,
                invoice_id=invoice.id,
                description=body.description,
                idempotency_key=f"renewal-{invoice.id}",  # safe to retry: one charge at most
            )
        except AuthenticationRequired as exc:
            # The bank wants the customer: ask them to approve it (see the renewals how-to).
            db.update_invoice(
                invoice.id,
                status="needs_authentication",
                provider=body.provider,
                transaction_id=exc.transaction_id,
                action_url=exc.action_url,
            )
        except (CardDeclined, PaymentMethodExpired):
            db.update_invoice(invoice.id, status="failed", provider=body.provider)
        else:
            # PENDING settles later: the PAYMENT_SUCCEEDED webhook marks the invoice paid.
            paid = result.status is PaymentStatus.SUCCEEDED
            db.update_invoice(
                invoice.id,
                status="paid" if paid else "open",
                provider=body.provider,
                transaction_id=result.id,
            )
        return db.invoice(invoice.id).as_json()

    # --8<-- [end:renewal]

    # --8<-- [start:refund]
    @app.post("/invoices/{invoice_id}/refunds")
    async def refund(invoice_id: str, body: RefundRequest) -> dict[str, str]:
        invoice = db.invoice(invoice_id)
        if invoice.status != "paid" or invoice.provider is None or not invoice.transaction_id:
            raise HTTPException(409, "only a paid invoice can be refunded")
        amount = None if body.amount is None else money(body.amount, invoice.amount.currency)
        result = await provider(invoice.provider).create_refund_async(
            invoice.transaction_id,
            amount,
            reason="requested_by_customer",
            idempotency_key=f"refund-{invoice.id}-{invoice.refunded}",
        )
        db.update_invoice(invoice.id, refunded=str(invoice.refunded + result.amount.amount))
        return {"id": result.id, "status": result.status.value, "amount": str(result.amount)}

    # --8<-- [end:refund]

    return app
