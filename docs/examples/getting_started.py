"""Getting started: a hosted checkout, paid, and the webhook that says so — on the sandbox."""

# --8<-- [start:sandbox]
from decimal import Decimal

from paywire import EventType, Invoice, LineItem, Money, Paywire, WebhookEvent
from paywire.webhooks import InMemoryEventStore, WebhookProcessor
from paywire_sandbox import run_sandbox
from paywire_sandbox.testing import WebhookReceiver

with run_sandbox() as sandbox, WebhookReceiver() as receiver:
    # Point the plugin at the sandbox; in production the same settings name your real keys.
    pw = Paywire(
        settings={
            "stripe": {
                "api_key": "sk_test_getting_started",
                "webhook_secret": "whsec_getting_started",
                "base_url": f"{sandbox.url}/stripe",
            }
        }
    )
    stripe = pw.provider("stripe")
    # --8<-- [end:sandbox]

    # --8<-- [start:checkout]
    invoice = Invoice(
        id="INV-1",
        currency="EUR",
        line_items=[LineItem("Pro plan", Money(Decimal("9.90"), "EUR"))],
    )
    session = stripe.create_checkout_session(
        invoice,
        success_url="https://shop.example/paid",
        cancel_url="https://shop.example/cancelled",
    )
    print("send the customer to", session.url)
    # --8<-- [end:checkout]

    # --8<-- [start:pay]
    # The webhook processor verifies each delivery, skips what it has seen, and calls you.
    processor = WebhookProcessor(pw, store=InMemoryEventStore())

    paid: dict[str, Money] = {}

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def payment_succeeded(event: WebhookEvent) -> None:
        # Idempotent: a provider may report one payment in more than one event.
        if event.invoice_id is not None and event.amount is not None:
            paid[event.invoice_id] = event.amount

    # The customer pays on the hosted page (here through the sandbox's control API); the
    # sandbox delivers Stripe's signed webhooks, which the app hands to the processor.
    sandbox.register_webhook("stripe", receiver.url, "whsec_getting_started")
    sandbox.control("POST", f"/stripe/checkout/{session.id}/complete", {"outcome": "success"})
    sandbox.wait_for_webhooks()
    for headers, body in receiver.requests:
        processor.process("stripe", body, headers)
    print("paid:", {invoice_id: str(amount) for invoice_id, amount in paid.items()})
    pw.close()
    # --8<-- [end:pay]
