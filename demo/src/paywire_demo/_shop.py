"""A small shop (Starlette): invoices, a "pay" button per provider, saving a payment method,
renewals, and the webhook endpoints.

Only the public app API is used: ``paywire`` and ``paywire.webhooks``. The webhook endpoints are
the core's ASGI endpoints, mounted one line each; the handlers mark invoices paid and keep the
methods customers saved. A saved method reaches the shop's own table either way a provider tells:
when the customer comes back from the hosted page (``Provider.complete_setup``) or through the
``SETUP_COMPLETED`` webhook (``event.saved_payment_method``); renewals charge what that table holds.
Everything a person clicks through with ``paywire demo --keep-serving`` is here.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from paywire import (
    ChargeResult,
    CheckoutSession,
    Customer,
    EventType,
    InvalidAmount,
    Money,
    PaywireError,
    Provider,
    SavedPaymentMethod,
    SetupSession,
    WebhookEvent,
)
from paywire.webhooks import WebhookProcessor
from paywire_demo._invoices import InvoiceBook, InvoiceRecord

__all__ = ["Shop"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
table{border-collapse:collapse;width:100%}td,th{padding:.4rem;border-bottom:1px solid #dde}
.paid{color:#0a7d32;font-weight:600}.open{color:#a15c00}button{padding:.3rem .8rem;margin:.1rem}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


class Shop:
    """The demo shop for a set of providers built against the sandbox."""

    def __init__(
        self,
        book: InvoiceBook,
        providers: dict[str, Provider[Any]],
        processor: WebhookProcessor,
        currency: str = "USD",
    ) -> None:
        self.book = book
        self.providers = providers
        self.processor = processor
        self.currency = currency
        self.base_url = ""  # set once served: the hosted pages send the customer back here
        processor.on(EventType.PAYMENT_SUCCEEDED)(self._payment_succeeded)
        processor.on(EventType.SETUP_COMPLETED)(self._setup_completed)

    def _setup_completed(self, event: WebhookEvent) -> None:
        method = event.saved_payment_method
        if method is None:
            return  # the provider completes it on the customer's return instead
        customer = self.book.setup_customer(event.provider, event.session_id, method.customer_id)
        if customer is not None:
            self.book.save_method(customer, method)

    def _payment_succeeded(self, event: WebhookEvent) -> None:
        if event.invoice_id is None or event.amount is None:
            return  # a payment that is not for one of our invoices
        try:
            self.book.get(event.invoice_id)
        except KeyError:
            return
        self.book.mark_paid(event.invoice_id, event.amount, event.transaction_id)

    def app(self) -> Starlette:
        """The ASGI app: pages, JSON status, and ``/webhooks/{provider}``."""
        routes: Sequence[Route] = [
            Route("/", self._index),
            Route("/invoices", self._create_invoice, methods=["POST"]),
            Route("/invoices/{invoice_id}", self._invoice_json),
            Route("/invoices/{invoice_id}/pay/{provider}", self._pay, methods=["POST"]),
            Route("/success", self._success),
            Route("/cancel", self._cancel),
            Route("/setup/{provider}/return", self._setup_return),
            # One line per provider: the core's ASGI endpoint reads the raw body itself.
            *[Route(f"/webhooks/{name}", self.processor.asgi(name)) for name in self.providers],
        ]
        return Starlette(routes=list(routes))

    def new_invoice(self, amount: Money, description: str = "Monthly plan") -> InvoiceRecord:
        """An open invoice with a fresh id."""
        return self.book.create(f"INV-{secrets.token_hex(4).upper()}", description, amount)

    def start_checkout(self, invoice: InvoiceRecord, provider: str) -> CheckoutSession:
        """Create the hosted checkout for ``invoice``; send the customer to its ``url``."""
        session = self.providers[provider].create_checkout_session(
            invoice.as_invoice(),
            success_url=f"{self.base_url}/success?invoice={invoice.id}",
            cancel_url=f"{self.base_url}/cancel?invoice={invoice.id}",
        )
        self.book.checkout_started(invoice.id, provider, session.id)
        return session

    def start_setup(self, customer: Customer, provider: str) -> SetupSession:
        """A hosted page where ``customer`` saves a payment method with ``provider``."""
        session = self.providers[provider].create_setup_session(
            customer,
            success_url=f"{self.base_url}/setup/{provider}/return?customer={customer.id}",
            cancel_url=f"{self.base_url}/cancel",
        )
        self.book.setup_started(provider, session.id, customer.id, session.customer_id)
        return session

    def complete_setup(
        self, customer_id: str, provider: str, params: dict[str, str]
    ) -> SavedPaymentMethod | None:
        """The customer is back from the setup page: ask the provider what was saved and keep it."""
        session_id = self.book.latest_setup(provider, customer_id)
        if session_id is None:
            return None
        method = self.providers[provider].complete_setup(session_id, params=params)
        self.book.save_method(customer_id, method)
        return method

    def renew(self, customer_id: str, provider: str, amount: Money) -> tuple[str, ChargeResult]:
        """Charge the customer's saved method for a new renewal invoice (the customer is absent).

        The invoice is marked paid by the ``PAYMENT_SUCCEEDED`` webhook — at once for most
        providers, after the provider debits it for those that settle later.
        """
        method = self.book.method_for(customer_id, provider)
        if method is None:
            raise KeyError(f"{customer_id} has no saved method with {provider}")
        invoice = self.new_invoice(amount, "Renewal")
        result = self.providers[provider].charge_payment_method(
            method, amount, invoice_id=invoice.id, description="Renewal"
        )
        return invoice.id, result

    # -- pages ------------------------------------------------------------------------------

    async def _index(self, request: Request) -> Response:
        rows = []
        for record in self.book.all():
            buttons = (
                ""
                if record.status == "paid"
                else "".join(
                    f"<form method='post' action='/invoices/{record.id}/pay/{name}' "
                    f"style='display:inline'><button id='pay-{record.id}-{name}'>"
                    f"Pay with {html.escape(name)}</button></form>"
                    for name in self.providers
                )
            )
            rows.append(
                f"<tr><td>{record.id}</td><td>{html.escape(record.description)}</td>"
                f"<td>{record.amount}</td><td class='{record.status}' id='status-{record.id}'>"
                f"{record.status}</td><td>{buttons}</td></tr>"
            )
        body = (
            "<form method='post' action='/invoices'><label>New invoice for "
            f"<input name='amount' id='amount' value='19.99' size='8'> {self.currency}</label> "
            "<button id='create'>Create</button></form>"
            "<table><tr><th>Invoice</th><th>What</th><th>Amount</th><th>Status</th><th></th></tr>"
            + "".join(rows)
            + "</table>"
        )
        return _page("paywire demo shop", body)

    async def _create_invoice(self, request: Request) -> Response:
        form = await request.form()
        raw = form.get("amount")
        try:
            amount = Money(Decimal(str(raw).strip()), self.currency)
        except (InvalidAmount, InvalidOperation):
            return _page("Not an amount", f"<p>{html.escape(str(raw))} is not an amount.</p>")
        self.new_invoice(amount)
        return RedirectResponse("/", status_code=303)

    async def _invoice_json(self, request: Request) -> Response:
        try:
            record = self.book.get(request.path_params["invoice_id"])
        except KeyError:
            return JSONResponse({"error": "no such invoice"}, status_code=404)
        return JSONResponse(
            {
                "id": record.id,
                "amount": str(record.amount.amount),
                "currency": record.amount.currency,
                "status": record.status,
                "provider": record.provider,
                "transaction_id": record.transaction_id,
            }
        )

    async def _pay(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        try:
            record = self.book.get(request.path_params["invoice_id"])
        except KeyError:
            return _page("No such invoice", "")
        if provider not in self.providers:
            return _page("No such provider", f"<p>{html.escape(provider)}</p>")
        try:
            session = self.start_checkout(record, provider)
        except PaywireError as exc:
            return _page("Checkout failed", f"<p>{html.escape(str(exc))}</p>")
        return RedirectResponse(session.url, status_code=303)

    async def _success(self, request: Request) -> Response:
        invoice_id = request.query_params.get("invoice", "")
        try:
            record = self.book.get(invoice_id)
        except KeyError:
            return _page("Thank you", "<p>Unknown invoice.</p>")
        note = (
            "Paid — the provider's webhook has been processed."
            if record.status == "paid"
            else "Payment received by the provider; waiting for its webhook. <a href=''>Refresh</a>"
        )
        return _page(
            "Thank you",
            f"<p id='invoice' data-status='{record.status}'>Invoice {record.id} "
            f"({record.amount}): <span class='{record.status}'>{record.status}</span></p>"
            f"<p>{note}</p><p><a href='/'>Back to the shop</a></p>",
        )

    async def _setup_return(self, request: Request) -> Response:
        provider = request.path_params["provider"]
        customer_id = request.query_params.get("customer", "")
        if provider not in self.providers or not customer_id:
            return _page("Unknown setup", "")
        params = {k: v for k, v in request.query_params.items() if k != "customer"}
        try:
            method = await run_in_threadpool(self.complete_setup, customer_id, provider, params)
        except PaywireError as exc:
            return _page("Saving the payment method failed", f"<p>{html.escape(str(exc))}</p>")
        saved = "" if method is None else f" ({html.escape(method.id)})"
        return _page("Payment method saved", f"<p id='saved'>Saved{saved}.</p>")

    async def _cancel(self, request: Request) -> Response:
        invoice_id = html.escape(request.query_params.get("invoice", ""))
        return _page(
            "Payment cancelled",
            f"<p>Invoice {invoice_id} is still open.</p><p><a href='/'>Back to the shop</a></p>",
        )
