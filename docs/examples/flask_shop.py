"""A Flask shop that takes payments through paywire: the Flask tutorial's code.

Serve it with ``flask --app flask_shop run`` (see ``serve_flask.sh``); the tests in
``docs/tests`` run exactly this against the sandbox.
"""

# --8<-- [start:imports]
from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import Flask, abort, request
from markupsafe import escape
from shop_db import ShopDB
from shop_webhooks import handle_webhooks

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
from paywire.webhooks import SQLiteEventStore, WebhookProcessor, mount_wsgi

# --8<-- [end:imports]


# --8<-- [start:helpers]
def money(amount: object, currency: object) -> Money:
    """The amount as paywire's Money; a 422 for anything else (a float is not an amount)."""
    if not isinstance(amount, str) or not isinstance(currency, str):
        abort(422, "amount and currency are strings: {'amount': '19.99', 'currency': 'USD'}")
    try:
        return Money(Decimal(amount), currency)
    except (InvalidOperation, InvalidAmount) as exc:
        abort(422, f"not an amount in {currency}: {amount!r} ({exc})")


def body() -> dict[str, Any]:
    """The request's JSON object."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "send a JSON object")
    return data


# --8<-- [end:helpers]


# --8<-- [start:app]
def create_app() -> Flask:  # noqa: PLR0915 - one factory holds the shop's routes
    """The shop, configured from the environment (``SHOP_URL``, ``PAYWIRE_*``)."""
    shop_url = os.environ["SHOP_URL"].rstrip("/")
    db = ShopDB(Path(os.environ.get("SHOP_DATABASE", "shop.sqlite3")))
    pw = Paywire()
    processor = WebhookProcessor(
        pw, store=SQLiteEventStore(os.environ.get("SHOP_WEBHOOK_EVENTS", "webhooks.sqlite3"))
    )
    handle_webhooks(processor, db)
    app = Flask(__name__)
    # The webhook endpoints are WSGI apps of their own, in front of Flask: they read the raw
    # body (signatures are over the exact bytes) and answer the provider themselves.
    endpoints = {f"/webhooks/{name}": processor.wsgi(name) for name in pw.providers}
    app.wsgi_app = mount_wsgi(app.wsgi_app, endpoints)  # type: ignore[method-assign,assignment]

    def provider(name: object) -> Provider[Any]:
        if not isinstance(name, str) or name not in pw.providers:
            abort(404, f"no provider {name!r} is installed")
        return pw.provider(name)

    # --8<-- [end:app]

    # --8<-- [start:checkout]
    @app.post("/invoices")
    def new_invoice() -> dict[str, str | None]:
        data = body()
        amount = money(data.get("amount"), data.get("currency"))
        return db.new_invoice(str(data["customer"]), str(data["description"]), amount).as_json()

    @app.get("/invoices/<invoice_id>")
    def get_invoice(invoice_id: str) -> dict[str, str | None]:
        try:
            return db.invoice(invoice_id).as_json()
        except KeyError:
            abort(404, "no such invoice")

    @app.post("/invoices/<invoice_id>/checkout")
    def checkout(invoice_id: str) -> dict[str, str]:
        invoice = db.invoice(invoice_id)
        chosen = body().get("provider")
        session = provider(chosen).create_checkout_session(
            Invoice(
                id=invoice.id,
                currency=invoice.amount.currency,
                line_items=[LineItem(invoice.description, invoice.amount)],
            ),
            success_url=f"{shop_url}/thanks?invoice={invoice.id}",
            cancel_url=f"{shop_url}/thanks?invoice={invoice.id}",
            idempotency_key=f"checkout-{invoice.id}",  # a retried request makes one session
        )
        db.update_invoice(invoice.id, provider=str(chosen))
        return {"url": session.url, "session_id": session.id}

    @app.get("/thanks")
    def thanks() -> str:
        row = db.invoice(request.args.get("invoice", ""))
        note = "paid, thank you" if row.status == "paid" else "waiting for the payment"
        return f"<h1>Invoice {escape(row.id)}</h1><p id='status'>{note}</p>"

    # --8<-- [end:checkout]

    # --8<-- [start:setup]
    @app.post("/customers/<customer>/payment-methods")
    def save_a_method(customer: str) -> dict[str, str]:
        form = body()
        chosen = provider(form.get("provider"))
        session = chosen.create_setup_session(
            # Some providers need a name and a phone number to save a method (Razorpay).
            Customer(
                id=customer,
                email=f"{customer}@example.com",
                name=form.get("name"),
                phone=form.get("phone"),
            ),
            success_url=f"{shop_url}/saved?customer={customer}&provider={chosen.name}",
            cancel_url=f"{shop_url}/saved?customer={customer}&provider={chosen.name}",
        )
        db.setup_started(customer, session)
        return {"url": session.url, "session_id": session.id}

    @app.get("/customers/<customer>/payment-methods/<name>")
    def saved_method(customer: str, name: str) -> dict[str, str | None]:
        method = db.saved_method(customer, name)
        if method is None:
            abort(404, "no saved method yet")
        return {"provider": method.provider, "id": method.id}

    @app.get("/saved")
    def saved() -> str:
        # The customer is back from the provider's page: ask the provider what was saved.
        customer, name = request.args.get("customer", ""), request.args.get("provider", "")
        chosen, session_id = provider(name), db.last_setup(customer, name)
        if session_id is None:
            abort(404, "no setup was started")
        try:
            method = chosen.complete_setup(session_id, params=request.args.to_dict())
        except AuthenticationRequired:
            return "<h1>Not finished</h1><p>Your payment method was not saved.</p>"
        except ConfigurationError:
            method = None  # this provider tells by its SETUP_COMPLETED webhook only
        if method is not None:
            db.save_method(customer, method)
        return "<h1>Thank you</h1><p>Your payment method is saved for your renewals.</p>"

    # --8<-- [end:setup]

    # --8<-- [start:renewal]
    @app.post("/customers/<customer>/renewals")
    def renew(customer: str) -> dict[str, str | None]:
        data = body()
        name = str(data.get("provider"))
        method = db.saved_method(customer, name)
        if method is None:
            abort(409, "the customer has no saved method with this provider")
        amount = money(data.get("amount"), data.get("currency"))
        invoice = db.new_invoice(customer, str(data.get("description")), amount)
        try:
            result = provider(name).charge_payment_method(
                method,
                invoice.amount,
                invoice_id=invoice.id,
                description=invoice.description,
                idempotency_key=f"renewal-{invoice.id}",  # safe to retry: one charge at most
            )
        except AuthenticationRequired as exc:
            # The bank wants the customer: ask them to approve it (see the renewals how-to).
            db.update_invoice(
                invoice.id,
                status="needs_authentication",
                provider=name,
                transaction_id=exc.transaction_id,
                action_url=exc.action_url,
            )
        except (CardDeclined, PaymentMethodExpired):
            db.update_invoice(invoice.id, status="failed", provider=name)
        else:
            # PENDING settles later: the PAYMENT_SUCCEEDED webhook marks the invoice paid.
            paid = result.status is PaymentStatus.SUCCEEDED
            db.update_invoice(
                invoice.id,
                status="paid" if paid else "open",
                provider=name,
                transaction_id=result.id,
            )
        return db.invoice(invoice.id).as_json()

    # --8<-- [end:renewal]

    # --8<-- [start:refund]
    @app.post("/invoices/<invoice_id>/refunds")
    def refund(invoice_id: str) -> dict[str, str]:
        invoice = db.invoice(invoice_id)
        if invoice.status != "paid" or invoice.provider is None or not invoice.transaction_id:
            abort(409, "only a paid invoice can be refunded")
        wanted = body().get("amount")
        amount = None if wanted is None else money(wanted, invoice.amount.currency)
        result = provider(invoice.provider).create_refund(
            invoice.transaction_id,
            amount,
            reason="requested_by_customer",
            idempotency_key=f"refund-{invoice.id}-{invoice.refunded}",
        )
        db.update_invoice(invoice.id, refunded=str(invoice.refunded + result.amount.amount))
        return {"id": result.id, "status": result.status.value, "amount": str(result.amount)}

    # --8<-- [end:refund]

    return app
