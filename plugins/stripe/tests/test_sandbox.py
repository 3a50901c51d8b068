"""Integration: the provider against the sandbox's Stripe fake, over real HTTP, sync and async.

The fake is an independent implementation of Stripe's API (its own money and signing code), so
these tests catch what a fake written alongside the plugin would agree with by mistake. Every
request the plugin sends is also checked against the stripe SDK's parameter types.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sdk_shapes import check_request

import paywire
from paywire.plugin import Call, Operation, new_idempotency_key
from paywire_stripe import StripeConfig, StripeProvider

paywire_sandbox = pytest.importorskip("paywire_sandbox")
from paywire_sandbox.testing import WebhookReceiver  # noqa: E402

API_KEY = "sk_test_sandboxintegration000"
WEBHOOK_SECRET = "whsec_sandboxintegration000"
SUCCESS = "https://shop.example.com/paid?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example.com/cart"
VISA = "pm_card_visa"


class Checked(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """The network, for both paths, refusing a request the stripe SDK could not have sent."""

    def __init__(self) -> None:
        self.sync = httpx.HTTPTransport()
        self.async_ = httpx.AsyncHTTPTransport()
        self.seen = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_request(request)
        self.seen += 1
        return self.sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        check_request(request)
        self.seen += 1
        return await self.async_.handle_async_request(request)

    def close(self) -> None:
        self.sync.close()

    async def aclose(self) -> None:
        await self.async_.aclose()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    with paywire_sandbox.run_sandbox(webhook_retry_delays=(0.05, 0.1)) as running:
        yield running


@pytest.fixture
def transport() -> Checked:
    return Checked()


@pytest.fixture
def provider(sandbox: Any, transport: Checked) -> Iterator[StripeProvider]:
    sandbox.reset()
    config = paywire.load_config(
        StripeConfig,
        "stripe",
        environ={},
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        base_url=sandbox.url + "/stripe",
    )
    built = StripeProvider.create(config, transport=transport)
    yield built
    built.close()
    assert transport.seen  # every test here talks to the sandbox through the check


def control(sandbox: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = sandbox.control("POST", path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def new_customer() -> Operation[str]:
    reply = yield Call.post(
        "/v1/customers", form={"email": "saved@example.com"}, key=new_idempotency_key()
    )
    return str(reply.data["id"])


def saved_card(
    sandbox: Any, provider: StripeProvider, test_id: str = VISA
) -> paywire.SavedPaymentMethod:
    """A test card saved for a new customer, as a completed setup would leave it."""
    customer_id = provider.run(new_customer())
    path = f"/stripe/customers/{customer_id}/payment_methods"
    method = control(sandbox, path, {"payment_method": test_id})
    return paywire.SavedPaymentMethod("stripe", method["id"], customer_id)


def stripe_get(sandbox: Any, path: str, **params: str) -> Any:
    """Read the sandbox's Stripe API directly (what the test checks, not what the plugin does)."""
    response = httpx.get(
        f"{sandbox.url}/stripe/v1/{path}",
        params=params,
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    response.raise_for_status()
    return response.json()


def invoice(currency: str = "USD", amount: str = "12.50", quantity: int = 2) -> paywire.Invoice:
    return paywire.Invoice(
        id="INV-SBX-1",
        currency=currency,
        line_items=[paywire.LineItem("Pro plan", paywire.Money(amount, currency), quantity)],
        customer=paywire.Customer(id="user-1", email="buyer@example.com", name="Buyer"),
    )


def processed(provider: StripeProvider, receiver: Any) -> list[paywire.WebhookEvent]:
    """What an app's handlers see: every delivery verified, parsed and followed up."""
    events = []
    for headers, body in receiver.requests:
        provider.verify_webhook(body, dict(headers))
        try:
            found = provider.parse_webhook(body, dict(headers))
        except paywire.UnknownEvent:
            continue  # customer.created and the like: not paywire's business
        assert isinstance(found, paywire.WebhookEvent)
        events.append(provider.follow_up(found) or found)
    return events


def by_type(events: list[paywire.WebhookEvent], raw_type: str) -> list[paywire.WebhookEvent]:
    return [e for e in events if e.raw_type == raw_type]


def test_checkout_end_to_end_with_signed_webhooks(sandbox: Any, provider: StripeProvider) -> None:
    with WebhookReceiver() as receiver:
        sandbox.register_webhook("stripe", receiver.url, WEBHOOK_SECRET)
        session = provider.create_checkout_session(
            invoice(), success_url=SUCCESS, cancel_url=CANCEL
        )
        assert session.amount == paywire.Money("25", "USD")
        assert session.url.startswith(sandbox.url + "/stripe/")
        assert (session.customer_id or "").startswith("cus_")
        done = control(sandbox, f"/stripe/checkout/{session.id}/complete", {"outcome": "success"})
        assert done["redirect_url"] == SUCCESS.replace("{CHECKOUT_SESSION_ID}", session.id)
        sandbox.wait_for_webhooks(timeout=10)
        events = processed(provider, receiver)
    (completed,) = by_type(events, "checkout.session.completed")
    assert completed.type is paywire.EventType.CHECKOUT_COMPLETED
    assert completed.invoice_id == "INV-SBX-1"
    assert completed.session_id == session.id
    assert completed.amount == paywire.Money("25", "USD")
    assert completed.saved_payment_method is None  # nothing was saved
    (succeeded,) = by_type(events, "payment_intent.succeeded")
    assert succeeded.type is paywire.EventType.PAYMENT_SUCCEEDED
    assert succeeded.invoice_id == "INV-SBX-1"
    assert succeeded.amount == paywire.Money("25", "USD")
    assert succeeded.transaction_id == completed.transaction_id
    assert succeeded.customer_id == session.customer_id


def test_a_checkout_that_saves_the_card_makes_it_reachable(
    sandbox: Any, provider: StripeProvider
) -> None:
    with WebhookReceiver() as receiver:
        sandbox.register_webhook("stripe", receiver.url, WEBHOOK_SECRET)
        session = provider.create_checkout_session(
            invoice(), success_url=SUCCESS, cancel_url=CANCEL, save_payment_method=True
        )
        control(sandbox, f"/stripe/checkout/{session.id}/complete", {"outcome": "success"})
        sandbox.wait_for_webhooks(timeout=10)
        events = processed(provider, receiver)
    (completed,) = by_type(events, "checkout.session.completed")
    (succeeded,) = by_type(events, "payment_intent.succeeded")
    saved = completed.saved_payment_method
    assert saved is not None
    assert saved == succeeded.saved_payment_method
    assert saved.customer_id == session.customer_id
    renewal = provider.charge_payment_method(saved, paywire.Money("9.99", "USD"))
    assert renewal.status is paywire.PaymentStatus.SUCCEEDED


def test_refund_events_report_each_refund_not_the_running_total(
    sandbox: Any, provider: StripeProvider
) -> None:
    # Issue 13: charge.refunded reported an empty refund id and the cumulative amount.
    method = saved_card(sandbox, provider)
    charge = provider.charge_payment_method(method, paywire.Money("20", "USD"))
    with WebhookReceiver() as receiver:
        sandbox.register_webhook("stripe", receiver.url, WEBHOOK_SECRET)
        first = provider.create_refund(charge.id, paywire.Money("5", "USD"))
        second = provider.create_refund(charge.id, paywire.Money("2.50", "USD"))
        sandbox.wait_for_webhooks(timeout=10)
        raw_types = {json.loads(body)["type"] for _, body in receiver.requests}
        events = processed(provider, receiver)
    assert "charge.refunded" in raw_types  # Stripe sends it; paywire does not normalize it
    refunds = [e for e in events if e.refund_id is not None]
    assert {(e.refund_id, e.amount) for e in refunds} == {
        (first.id, paywire.Money("5", "USD")),
        (second.id, paywire.Money("2.50", "USD")),
    }
    assert all(e.type is paywire.EventType.REFUND_SUCCEEDED for e in refunds)
    assert all(e.transaction_id == charge.id for e in refunds)
    refund_types = {
        paywire.EventType.REFUND_CREATED,
        paywire.EventType.REFUND_SUCCEEDED,
        paywire.EventType.REFUND_FAILED,
    }
    assert [e for e in events if e.type in refund_types and e.refund_id is None] == []


def test_save_then_charge_then_refund(sandbox: Any, provider: StripeProvider) -> None:
    method = saved_card(sandbox, provider)
    details = provider.get_payment_method_details(method)
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


def test_the_async_path_against_the_sandbox(sandbox: Any, provider: StripeProvider) -> None:
    method = saved_card(sandbox, provider)

    async def main() -> None:
        try:
            charges = await asyncio.gather(
                *(
                    provider.charge_payment_method_async(method, paywire.Money(n, "USD"))
                    for n in range(1, 11)
                )
            )
            assert sorted(c.amount for c in charges) == [
                paywire.Money(n, "USD") for n in range(1, 11)
            ]
            assert len({c.id for c in charges}) == 10
            refund = await provider.create_refund_async(charges[0].id, charges[0].amount)
            assert refund.status is paywire.RefundStatus.SUCCEEDED
            info = await provider.get_payment_method_details_async(method)
            assert info.customer_id == method.customer_id
            await provider.detach_payment_method_async(method)
            with pytest.raises(paywire.NotFound):
                await provider.get_payment_method_details_async(method)
        finally:
            await provider.aclose()

    asyncio.run(main())


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


def test_authentication_required_names_the_payment_intent(
    sandbox: Any, provider: StripeProvider
) -> None:
    method = saved_card(sandbox, provider, "pm_card_authenticationRequired")
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        provider.charge_payment_method(method, paywire.Money("10", "USD"), invoice_id="INV-3DS")
    intent_id = caught.value.transaction_id
    assert intent_id is not None
    intent = stripe_get(sandbox, f"payment_intents/{intent_id}")
    assert intent["metadata"]["invoice_id"] == "INV-3DS"
    assert intent["status"] == "requires_payment_method"
    assert caught.value.action_url is None  # an off-session decline offers no page


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
    intent = stripe_get(sandbox, f"payment_intents/{charge.id}")
    assert intent["amount"] == provider.currency_rules.to_minor_units(money)


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
    events = stripe_get(sandbox, "events", type="payment_intent.succeeded")
    charged = [e["data"]["object"]["id"] for e in events["data"]]
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


def test_setup_is_completed_from_the_success_url(sandbox: Any, provider: StripeProvider) -> None:
    customer = paywire.Customer(id="user-setup", email="setup@example.com")
    session = provider.create_setup_session(
        customer, success_url="https://shop.example.com/saved", cancel_url=CANCEL
    )
    with pytest.raises(paywire.AuthenticationRequired) as unfinished:
        provider.complete_setup(session)
    assert unfinished.value.action_url == session.url
    done = control(sandbox, f"/stripe/checkout/{session.id}/complete", {"outcome": "success"})
    # Stripe filled in the session id the plugin asked for in the success URL.
    redirect = urllib.parse.urlsplit(done["redirect_url"])
    params = dict(urllib.parse.parse_qsl(redirect.query))
    assert params == {"session_id": session.id}
    saved = provider.complete_setup(session.id, params=params)
    assert saved == provider.complete_setup(session)  # asking again gives the same method
    assert saved.customer_id == session.customer_id
    assert provider.charge_payment_method(saved, paywire.Money("3", "USD")).status is (
        paywire.PaymentStatus.SUCCEEDED
    )


def test_a_setup_webhook_gives_handlers_the_saved_method(
    sandbox: Any, provider: StripeProvider
) -> None:
    with WebhookReceiver() as receiver:
        sandbox.register_webhook("stripe", receiver.url, WEBHOOK_SECRET)
        session = provider.create_setup_session(
            paywire.Customer(id="user-hook"), success_url=SUCCESS, cancel_url=CANCEL
        )
        control(sandbox, f"/stripe/checkout/{session.id}/complete", {"outcome": "success"})
        sandbox.wait_for_webhooks(timeout=10)
        events = processed(provider, receiver)
    (completed,) = by_type(events, "checkout.session.completed")
    assert completed.type is paywire.EventType.SETUP_COMPLETED
    saved = completed.saved_payment_method
    assert saved is not None
    assert saved.customer_id == session.customer_id
    assert provider.complete_setup(completed) == saved
    assert provider.complete_setup(session) == saved


def test_detach_and_not_found(sandbox: Any, provider: StripeProvider) -> None:
    method = saved_card(sandbox, provider)
    provider.detach_payment_method(method)
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
        types = {e.type for e in processed(provider, receiver)}
    assert paywire.EventType.PAYMENT_FAILED in types
    assert paywire.EventType.CHECKOUT_COMPLETED not in types
