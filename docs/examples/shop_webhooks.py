"""What both tutorial shops do when a provider tells them something happened."""

from __future__ import annotations

from shop_db import ShopDB

from paywire import EventType, WebhookEvent
from paywire.webhooks import WebhookProcessor


# --8<-- [start:handlers]
def handle_webhooks(processor: WebhookProcessor, db: ShopDB) -> None:
    """What the shop does when a provider tells it something happened."""

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def paid(event: WebhookEvent) -> None:
        if event.invoice_id is None:
            return  # a payment that is not for one of our invoices
        try:
            invoice = db.invoice(event.invoice_id)
        except KeyError:
            return
        if invoice.status == "paid" or event.amount != invoice.amount:
            return  # already recorded (providers deliver at least once), or not what we billed
        db.update_invoice(
            invoice.id,
            status="paid",
            provider=event.provider,
            transaction_id=event.transaction_id,
            action_url=None,
        )

    @processor.on(EventType.SETUP_COMPLETED)
    def method_saved(event: WebhookEvent) -> None:
        method = event.saved_payment_method
        if method is None:
            return  # this event does not name the method; another event of the setup will
        customer = db.customer_of(event.provider, method.customer_id)
        if customer is not None:
            db.save_method(customer, method)


# --8<-- [end:handlers]
