"""Integration: the provider against the sandbox's Stripe fake, over real HTTP.

The fake is an independent implementation of Stripe's API (its own money and signing code), so
these tests catch what a fake written alongside the plugin would agree with by mistake.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import paywire
from paywire_stripe import StripeConfig, StripeProvider

paywire_sandbox = pytest.importorskip("paywire_sandbox")
from paywire_sandbox.testing import WebhookReceiver  # noqa: E402

API_KEY = "sk_test_sandboxintegration000"
WEBHOOK_SECRET = "whsec_sandboxintegration000"
SUCCESS = "https://shop.example.com/paid?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example.com/cart"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    with paywire_sandbox.run_sandbox(webhook_retry_delays=(0.05, 0.1)) as running:
        yield running


@pytest.fixture
def provider(sandbox: Any) -> Iterator[StripeProvider]:
    sandbox.reset()
    config = paywire.load_config(
        StripeConfig,
        "stripe",
        environ={},
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        base_url=sandbox.url + "/stripe",
    )
    built = StripeProvider.create(config)
    yield built
    built.close()


VISA = "pm_card_visa"


def control(sandbox: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = sandbox.control("POST", path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def saved_card(
    sandbox: Any, provider: StripeProvider, test_id: str = VISA
) -> paywire.SavedPaymentMethod:
    """A test card saved for a new customer, as a completed setup would leave it."""
    customer = provider.client.v1.customers.create({"email": "saved@example.com"})
    path = f"/stripe/customers/{customer.id}/payment_methods"
    method = control(sandbox, path, {"payment_method": test_id})
    return paywire.SavedPaymentMethod("stripe", method["id"], customer.id)


def invoice(currency: str = "USD", amount: str = "12.50", quantity: int = 2) -> paywire.Invoice:
    return paywire.Invoice(
        id="INV-SBX-1",
        currency=currency,
        line_items=[paywire.LineItem("Pro plan", paywire.Money(amount, currency), quantity)],
        customer=paywire.Customer(id="user-1", email="buyer@example.com", name="Buyer"),
    )


def test_checkout_end_to_end_with_signed_webhooks(sandbox: Any, provider: StripeProvider) -> None:
    with WebhookReceiver() as receiver:
        sandbox.register_webhook("stripe", receiver.url, WEBHOOK_SECRET)
        session = provider.create_checkout_session(
            invoice(), success_url=SUCCESS, cancel_url=CANCEL, save_payment_method=True
        )
        assert session.amount == paywire.Money("25", "USD")
        assert session.url.startswith(sandbox.url + "/stripe/")
        assert (session.customer_id or "").startswith("cus_")
        done = control(sandbox, f"/stripe/checkout/{session.id}/complete", {"outcome": "success"})
        assert done["redirect_url"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}", session.id)
        sandbox.wait_for_webhooks(timeout=10)
        events = {}
        for headers, body in receiver.requests:
            provider.verify_webhook_signature(body, dict(headers))
            try:
                normalized = provider.handle_webhook_event(json.loads(body))
            except paywire.UnknownEvent:
                continue  # customer.created and the like: not paywire's business
            events[normalized.raw_type] = normalized
    completed = events["checkout.session.completed"]
    assert completed.type is paywire.EventType.CHECKOUT_COMPLETED
    assert completed.invoice_id == "INV-SBX-1"
    assert completed.session_id == session.id
    assert completed.amount == paywire.Money("25", "USD")
    succeeded = events["payment_intent.succeeded"]
    assert succeeded.invoice_id == "INV-SBX-1"
    assert succeeded.transaction_id == completed.transaction_id
    assert succeeded.customer_id == session.customer_id


def test_save_then_charge_then_refund(sandbox: Any, provider: StripeProvider) -> None:
    method = saved_card(sandbox, provider)
    details = provider.get_payment_method_details(method.id)
    assert (details.brand, details.last4, details.customer_id) == (
        "visa",
        "4242",
        method.customer_id,
    )
    charge = provider.charge_payment_method(
        method, paywire.Money("19.99", "USD"), invoice_id="INV-R1", description="Renewal"
    )
    assert charge.status is paywire.PaymentStatus.SUCCEEDED
    assert charge.amount == paywire.Money("19.99", "USD")
    assert charge.id.startswith("pi_")
    partial = provider.create_refund(charge.id, paywire.Money("4.99", "USD"), reason="duplicate")
    assert partial.amount == paywire.Money("4.99", "USD")
    assert partial.transaction_id == charge.id
    rest = provider.create_refund(charge.id, reason="goodwill")
    assert rest.amount == paywire.Money("15", "USD")
    assert rest.status is paywire.RefundStatus.SUCCEEDED
    with pytest.raises(paywire.AlreadyRefunded):
        provider.create_refund(charge.id, paywire.Money("1", "USD"))
    with pytest.raises(paywire.InvalidAmount):
        provider.create_refund(charge.id, paywire.Money("1", "EUR"))


@pytest.mark.parametrize(
    ("token", "expected", "raw_code"),
    [
        ("pm_card_chargeCustomerFail", paywire.CardDeclined, "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", paywire.CardDeclined, "insufficient_funds"),
        (
            "pm_card_authenticationRequired",
            paywire.AuthenticationRequired,
            "authentication_required",
        ),
    ],
)
def test_declines_on_saved_cards(
    sandbox: Any,
    provider: StripeProvider,
    token: str,
    expected: type[paywire.ProviderError],
    raw_code: str,
) -> None:
    method = saved_card(sandbox, provider, token)
    with pytest.raises(expected) as caught:
        provider.charge_payment_method(method, paywire.Money("10", "USD"))
    assert caught.value.raw_code == raw_code
    assert caught.value.http_status == 402
    assert caught.value.request_id


def test_an_expired_card_is_payment_method_expired(provider: StripeProvider) -> None:
    with pytest.raises(paywire.PaymentMethodExpired):
        provider.charge_payment_method(
            paywire.SavedPaymentMethod("stripe", "pm_card_chargeDeclinedExpiredCard"),
            paywire.Money("10", "USD"),
        )


@pytest.mark.parametrize(
    ("currency", "amount"), [("JPY", "1500"), ("KWD", "3.250"), ("ISK", "990"), ("MGA", "4000")]
)
def test_edge_currencies_charge_the_exact_amount(
    sandbox: Any, provider: StripeProvider, currency: str, amount: str
) -> None:
    method = saved_card(sandbox, provider)
    money = paywire.Money(amount, currency)
    charge = provider.charge_payment_method(method, money)
    assert charge.amount == money
    intent = provider.client.v1.payment_intents.retrieve(charge.id)
    assert intent.amount == provider.currency_rules.to_minor_units(money)


def test_same_idempotency_key_charges_once(sandbox: Any, provider: StripeProvider) -> None:
    method = saved_card(sandbox, provider)
    first = provider.charge_payment_method(method, paywire.Money("5", "USD"), idempotency_key="k1")
    again = provider.charge_payment_method(method, paywire.Money("5", "USD"), idempotency_key="k1")
    assert first.id == again.id
    with pytest.raises(paywire.InvalidRequest) as caught:
        provider.charge_payment_method(method, paywire.Money("6", "USD"), idempotency_key="k1")
    assert caught.value.raw_code == "idempotency_error"


def test_a_lost_response_is_retried_with_the_same_key(
    sandbox: Any, provider: StripeProvider
) -> None:
    method = saved_card(sandbox, provider)
    sandbox.add_fault(
        provider="stripe", method="POST", path="/v1/payment_intents", kind="drop_after_commit"
    )
    charge = provider.charge_payment_method(method, paywire.Money("7", "USD"))
    assert charge.status is paywire.PaymentStatus.SUCCEEDED
    events = provider.client.v1.events.list({"type": "payment_intent.succeeded"})
    charged = [e.data.object["id"] for e in events.data]
    assert charged == [charge.id]  # the retry replayed the first intent; nothing was charged twice


def test_server_errors_past_the_retries_are_outcome_unknown(
    sandbox: Any, provider: StripeProvider
) -> None:
    method = saved_card(sandbox, provider)
    sandbox.add_fault(
        provider="stripe", method="POST", path="/v1/payment_intents", kind="server_error", count=3
    )
    try:
        with pytest.raises(paywire.OutcomeUnknown) as caught:
            provider.charge_payment_method(method, paywire.Money("8", "USD"), idempotency_key="k9")
    finally:
        sandbox.clear_faults()
    assert caught.value.idempotency_key == "k9"
    # Retrying the operation later with the key completes it, once.
    charge = provider.charge_payment_method(method, paywire.Money("8", "USD"), idempotency_key="k9")
    assert charge.status is paywire.PaymentStatus.SUCCEEDED


def test_setup_session_saves_a_card(sandbox: Any, provider: StripeProvider) -> None:
    customer = paywire.Customer(id="user-setup", email="setup@example.com")
    session = provider.create_setup_session(customer, success_url=SUCCESS, cancel_url=CANCEL)
    done = control(sandbox, f"/stripe/checkout/{session.id}/complete", {"outcome": "success"})
    intent = provider.client.v1.setup_intents.retrieve(done["setup_intent"])
    assert intent.status == "succeeded"
    method = paywire.SavedPaymentMethod("stripe", str(intent.payment_method), session.customer_id)
    assert provider.charge_payment_method(method, paywire.Money("3", "USD")).status is (
        paywire.PaymentStatus.SUCCEEDED
    )


def test_detach_and_not_found(sandbox: Any, provider: StripeProvider) -> None:
    method = saved_card(sandbox, provider)
    provider.detach_payment_method(method.id)
    with pytest.raises(paywire.NotFound):
        provider.get_payment_method_details(method.id)
    with pytest.raises(paywire.NotFound):
        provider.detach_payment_method(method.id)
    with pytest.raises(paywire.NotFound):
        provider.get_payment_method_details("pm_doesnotexist")
    with pytest.raises(paywire.NotFound):
        provider.detach_payment_method("pm_doesnotexist")


def test_a_declined_checkout_sends_a_failure_event(sandbox: Any, provider: StripeProvider) -> None:
    with WebhookReceiver() as receiver:
        sandbox.register_webhook("stripe", receiver.url, WEBHOOK_SECRET)
        session = provider.create_checkout_session(
            invoice(), success_url=SUCCESS, cancel_url=CANCEL
        )
        done = control(sandbox, f"/stripe/checkout/{session.id}/complete", {"outcome": "decline"})
        assert done["status"] == "open"
        sandbox.wait_for_webhooks(timeout=10)
        types = set()
        for headers, body in receiver.requests:
            provider.verify_webhook_signature(body, dict(headers))
            try:
                types.add(provider.handle_webhook_event(json.loads(body)).type)
            except paywire.UnknownEvent:
                continue
    assert paywire.EventType.PAYMENT_FAILED in types
    assert paywire.EventType.CHECKOUT_COMPLETED not in types
