"""The testing how-to's tests: an app's billing code against the sandbox, recorded, replayed."""

# --8<-- [start:imports]
from typing import Any

import pytest
from billing import recovery_url, renew

from paywire import (
    AuthenticationRequired,
    EventType,
    Invoice,
    LineItem,
    Money,
    Paywire,
    Provider,
    WebhookEvent,
)
from paywire.webhooks import InMemoryEventStore, WebhookProcessor
from paywire_contract import ScenarioContext
from paywire_sandbox import run_sandbox
from paywire_sandbox.testing import WebhookReceiver
from paywire_stripe.contract import StripeHarness

# --8<-- [end:imports]


# --8<-- [start:contract-fixtures]
class TestRenewals:
    # paywire-contract's fixtures build the provider from this harness: against the sandbox,
    # recording (--paywire-mode=record) or replaying (--paywire-mode=replay) its HTTP.
    harness = StripeHarness()

    @pytest.mark.parametrize(
        ("card", "expected"),
        [
            ("succeeds", "paid"),
            ("declines", "failed"),
            ("needs_authentication", "needs_authentication"),
        ],
    )
    def test_a_renewal(
        self,
        paywire_provider: Provider[Any],
        paywire_ctx: ScenarioContext,
        card: Any,
        expected: str,
    ) -> None:
        method = self.harness.saved_method(paywire_ctx, card)  # a test card, saved
        assert renew(paywire_provider, method, Money("9.90", "USD"), f"inv-{card}") == expected

    def test_a_renewal_that_needs_the_customer_is_recovered(
        self, paywire_provider: Provider[Any], paywire_ctx: ScenarioContext
    ) -> None:
        method = self.harness.saved_method(paywire_ctx, "needs_authentication")
        amount = Money("9.90", "USD")
        with pytest.raises(AuthenticationRequired) as needed:
            paywire_provider.charge_payment_method(method, amount, invoice_id="inv-3ds")
        invoice = Invoice(id="inv-3ds", currency="USD", line_items=[LineItem("Renewal", amount)])
        url = recovery_url(paywire_provider, invoice, needed.value, "https://shop.example/back")
        assert url.startswith(("http://", "https://"))  # where the shop sends the customer


# --8<-- [end:contract-fixtures]


# --8<-- [start:sandbox]
def test_a_renewal_is_confirmed_by_its_webhook() -> None:
    settings = {
        "api_key": "sk_test_my_app",
        "webhook_secret": "whsec_my_app",
    }
    with run_sandbox() as sandbox, WebhookReceiver() as receiver:
        settings["base_url"] = f"{sandbox.url}/stripe"
        sandbox.register_webhook("stripe", receiver.url, "whsec_my_app")
        with Paywire(settings={"stripe": settings}, environ={}, allow=["stripe"]) as pw:
            stripe = pw.provider("stripe")
            ctx = ScenarioContext("sandbox", stripe, sandbox, settings, control=sandbox.control)
            method = StripeHarness().saved_method(ctx, "succeeds")

            processor = WebhookProcessor(pw, store=InMemoryEventStore())
            confirmed: set[str | None] = set()

            @processor.on(EventType.PAYMENT_SUCCEEDED)
            def paid(event: WebhookEvent) -> None:
                confirmed.add(event.invoice_id)

            assert renew(stripe, method, Money("9.90", "USD"), "inv-7") == "paid"
            sandbox.wait_for_webhooks()
            for headers, body in receiver.requests:
                processor.process("stripe", body, headers)
            assert confirmed == {"inv-7"}


# --8<-- [end:sandbox]
