"""The Stripe fake driven by the official ``stripe`` SDK, unmodified, against a served sandbox.

Every call a Stripe provider plugin makes is exercised here and its behaviour asserted: test
card outcomes and the SDK exceptions they raise, refund arithmetic, detach semantics,
idempotency, session expiry by the sandbox clock, and signed webhook delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
import requests
import stripe
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paywire_sandbox import RunningSandbox
from paywire_sandbox.testing import WebhookReceiver

KEY = "sk_test_51SandboxKeyForPaywireTests000000000000"
SECRET = "whsec_test_secret_for_the_receiver"


@pytest.fixture
def sb(clean_sandbox: RunningSandbox) -> RunningSandbox:
    return clean_sandbox


@pytest.fixture
def client(sb: RunningSandbox) -> Iterator[stripe.StripeClient]:
    session = requests.Session()
    try:
        yield stripe.StripeClient(
            KEY,
            base_addresses={"api": sb.url + "/stripe"},
            max_network_retries=0,
            http_client=stripe.RequestsClient(session=session),
        )
    finally:
        session.close()


@pytest.fixture
def receiver(sb: RunningSandbox) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as rx:
        sb.register_webhook("stripe", rx.url, SECRET)
        yield rx


def _meta(obj: Any) -> dict[str, Any]:
    """An object's metadata as a plain dict."""
    result: dict[str, Any] = obj.metadata.to_dict()
    return result


def _event_types(client: stripe.StripeClient, **params: Any) -> list[str]:
    """Every event's type, oldest first."""
    listing = client.v1.events.list(params=cast("Any", {"limit": 100, **params}))
    return [event.type for event in reversed(list(listing.auto_paging_iter()))]


def _charge(
    client: stripe.StripeClient,
    pm: str,
    *,
    customer: str | None = None,
    amount: int = 2000,
    currency: str = "usd",
    **extra: Any,
) -> stripe.PaymentIntent:
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "payment_method": pm,
        "confirm": True,
        **extra,
    }
    if customer is not None:
        params["customer"] = customer
        params.setdefault("off_session", True)
    return client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]


def _saved_card(client: stripe.StripeClient, pm: str = "pm_card_visa") -> tuple[str, str]:
    customer = client.v1.customers.create(params={"email": "saved@example.com"})
    attached = client.v1.payment_methods.attach(pm, params={"customer": customer.id})
    return customer.id, attached.id


def _payment_session(
    client: stripe.StripeClient, amount: int = 4200, **extra: Any
) -> stripe.checkout.Session:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": "https://shop.example/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cancel",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": amount,
                    "product_data": {"name": "Invoice INV-42"},
                },
                "quantity": 1,
            }
        ],
        "client_reference_id": "INV-42",
        "metadata": {"invoice_id": "INV-42"},
        "payment_intent_data": {"metadata": {"invoice_id": "INV-42"}},
        **extra,
    }
    return client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]


def _complete(sb: RunningSandbox, session_id: str, **body: Any) -> dict[str, Any]:
    response = sb.control("POST", f"/stripe/checkout/{session_id}/complete", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# ---------------------------------------------------------------------- customers


def test_customer_create_retrieve_update(client: stripe.StripeClient) -> None:
    created = client.v1.customers.create(
        params={"email": "ada@example.com", "name": "Ada", "metadata": {"tier": "gold", "x": "1"}}
    )
    assert created.id.startswith("cus_")
    fetched = client.v1.customers.retrieve(created.id)
    assert (fetched.email, fetched.name) == ("ada@example.com", "Ada")
    updated = client.v1.customers.update(
        created.id, params={"name": "Ada L.", "metadata": {"x": "", "y": "2"}}
    )
    assert updated.name == "Ada L."
    assert _meta(updated) == {"tier": "gold", "y": "2"}
    assert _event_types(client) == ["customer.created", "customer.updated"]


def test_customer_payment_methods_list_and_retrieve(client: stripe.StripeClient) -> None:
    customer, pm = _saved_card(client, "pm_card_mastercard")
    second = client.v1.payment_methods.attach("pm_card_amex", params={"customer": customer})
    listed = client.v1.customers.payment_methods.list(customer, params={"type": "card"})
    assert [p.id for p in listed.data] == [second.id, pm]
    assert [p.card.brand for p in listed.data] == ["amex", "mastercard"]  # type: ignore[union-attr]
    one = client.v1.customers.payment_methods.retrieve(customer, pm)
    assert one.card.last4 == "4444"  # type: ignore[union-attr]
    other, _ = _saved_card(client)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.customers.payment_methods.retrieve(other, pm)
    assert info.value.code == "resource_missing"


# ---------------------------------------------------------------------- payment intents


def test_off_session_charge_of_saved_card_succeeds(client: stripe.StripeClient) -> None:
    customer, pm = _saved_card(client)
    pi = _charge(client, pm, customer=customer, description="Renewal", metadata={"invoice": "9"})
    assert pi.status == "succeeded"
    assert pi.amount_received == 2000
    assert pi.customer == customer
    assert _meta(pi) == {"invoice": "9"}
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.id.startswith("ch_")
    assert (charge.amount, charge.status, charge.paid) == (2000, "succeeded", True)
    assert charge.payment_method_details.card.last4 == "4242"  # type: ignore[union-attr]
    assert _event_types(client, type="payment_intent.*") == [
        "payment_intent.created",
        "payment_intent.succeeded",
    ]


@pytest.mark.parametrize(
    "pm",
    [
        "pm_card_riskLevelElevated",
        "pm_card_cvcCheckFail",
        "pm_card_avsZipFail",
        "pm_card_avsLine1Fail",
        "pm_card_avsFail",
        "pm_card_avsUnchecked",
        "pm_card_bypassPending",
        "pm_card_bypassPendingInternational",
    ],
)
def test_documented_test_cards_that_go_through(client: stripe.StripeClient, pm: str) -> None:
    """Stripe's testing documentation: these pay with the default Radar rules."""
    assert _charge(client, pm).status == "succeeded"


@pytest.mark.parametrize("pm", ["pm_card_threeDSecure2Required", "pm_card_authenticationRequired"])
def test_documented_3ds_cards_need_the_customer(client: stripe.StripeClient, pm: str) -> None:
    assert _charge(client, pm).status == "requires_action"
    with pytest.raises(stripe.CardError) as info:
        _charge(client, pm, error_on_requires_action=True)
    assert info.value.code == "authentication_required"


@pytest.mark.parametrize(
    ("pm", "code", "decline_code"),
    [
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"),
        ("pm_card_chargeDeclinedProcessingError", "processing_error", "processing_error"),
        # The spellings of Stripe's testing documentation.
        ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
        (
            "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
            "card_declined",
            "card_velocity_exceeded",
        ),
        ("pm_card_radarBlock", "card_declined", "fraudulent"),
        ("pm_card_riskLevelHighest", "card_declined", "fraudulent"),
    ],
)
def test_declining_test_cards_raise_card_error(
    client: stripe.StripeClient, pm: str, code: str, decline_code: str
) -> None:
    with pytest.raises(stripe.CardError) as info:
        _charge(client, pm)
    error = info.value
    assert error.http_status == 402
    assert error.code == code
    assert error.error is not None
    assert error.error.decline_code == decline_code
    assert error.error.payment_intent is not None
    assert error.error.payment_intent["status"] == "requires_payment_method"
    assert str(error.error.doc_url).startswith("https://stripe.com/docs/error-codes/")
    pi = client.v1.payment_intents.retrieve(error.error.payment_intent["id"])
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error is not None
    assert pi.last_payment_error.code == code
    charge = client.v1.charges.retrieve(str(error.error.charge))
    assert (charge.status, charge.failure_code) == ("failed", code)
    assert _event_types(client) == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
    ]


@pytest.mark.parametrize(
    ("pm", "brand", "last4"),
    [
        ("pm_card_visa", "visa", "4242"),
        ("pm_card_mastercard", "mastercard", "4444"),
        ("pm_card_amex", "amex", "0005"),
    ],
)
def test_succeeding_brands(client: stripe.StripeClient, pm: str, brand: str, last4: str) -> None:
    pi = _charge(client, pm)
    assert pi.status == "succeeded"
    details = client.v1.payment_methods.retrieve(str(pi.payment_method)).card
    assert details is not None
    assert (details.brand, details.last4) == (brand, last4)


def test_charge_customer_fail_attaches_then_declines(client: stripe.StripeClient) -> None:
    customer, pm = _saved_card(client, "pm_card_chargeCustomerFail")
    assert client.v1.payment_methods.retrieve(pm).customer == customer
    for _ in range(2):
        with pytest.raises(stripe.CardError) as info:
            _charge(client, pm, customer=customer)
        assert info.value.code == "card_declined"


def test_attaching_a_declining_card_fails(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={})
    with pytest.raises(stripe.CardError) as info:
        client.v1.payment_methods.attach("pm_card_chargeDeclined", params={"customer": customer.id})
    assert info.value.code == "card_declined"
    assert client.v1.customers.payment_methods.list(customer.id).data == []


def test_authentication_required_off_session(client: stripe.StripeClient) -> None:
    customer, pm = _saved_card(client, "pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as info:
        _charge(client, pm, customer=customer)
    error = info.value
    assert error.code == "authentication_required"
    assert error.error is not None
    assert error.error.decline_code == "authentication_required"
    assert error.error.payment_intent is not None
    assert error.error.payment_intent["status"] == "requires_payment_method"


def test_authentication_required_on_session_then_completed(
    client: stripe.StripeClient, sb: RunningSandbox
) -> None:
    pi = _charge(client, "pm_card_authenticationRequired")
    assert pi.status == "requires_action"
    assert pi.next_action is not None
    assert pi.next_action.type == "use_stripe_sdk"
    assert "payment_intent.requires_action" in _event_types(client)
    done = sb.control("POST", f"/stripe/intents/{pi.id}/authenticate", json={"result": "complete"})
    assert done.json()["intent_status"] == "succeeded"
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_error_on_requires_action_fails_instead(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as info:
        _charge(client, "pm_card_authenticationRequired", error_on_requires_action=True)
    assert info.value.code == "authentication_required"


def test_redirect_3ds_returns_to_return_url(
    client: stripe.StripeClient, sb: RunningSandbox
) -> None:
    pi = _charge(client, "pm_card_authenticationRequired", return_url="https://shop.example/back")
    assert pi.next_action is not None
    assert pi.next_action.type == "redirect_to_url"
    failed = sb.control("POST", f"/stripe/intents/{pi.id}/authenticate", json={"result": "fail"})
    body = failed.json()
    assert body["redirect_url"].startswith(f"https://shop.example/back?payment_intent={pi.id}&")
    assert body["redirect_url"].endswith("redirect_status=failed")
    after = client.v1.payment_intents.retrieve(pi.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error is not None
    assert after.last_payment_error.code == "payment_intent_authentication_failure"


def test_redirect_3ds_page_completes(client: stripe.StripeClient, sb: RunningSandbox) -> None:
    pi = _charge(client, "pm_card_authenticationRequired", return_url="https://shop.example/back")
    assert pi.next_action is not None
    redirect = pi.next_action.redirect_to_url
    assert redirect is not None
    assert redirect.url == f"{sb.url}/stripe/3ds/{pi.id}"
    page = requests.get(str(redirect.url), timeout=5)
    assert 'id="authorize-3ds"' in page.text
    done = requests.post(
        str(redirect.url), data={"result": "complete"}, allow_redirects=False, timeout=5
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("redirect_status=succeeded")
    assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"


def test_create_then_confirm_and_unexpected_state(client: stripe.StripeClient) -> None:
    pi = client.v1.payment_intents.create(params={"amount": 1099, "currency": "eur"})
    assert pi.status == "requires_payment_method"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.confirm(pi.id)
    assert missing.value.code == "payment_intent_unexpected_state"
    confirmed = client.v1.payment_intents.confirm(pi.id, params={"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.payment_intents.confirm(pi.id)
    assert again.value.code == "payment_intent_unexpected_state"
    with_pm = client.v1.payment_intents.create(
        params={"amount": 1099, "currency": "eur", "payment_method": "pm_card_visa"}
    )
    assert with_pm.status == "requires_confirmation"
    canceled = client.v1.payment_intents.cancel(with_pm.id)
    assert canceled.status == "canceled"


def test_pm_used_without_customer_cannot_be_reused(client: stripe.StripeClient) -> None:
    pi = _charge(client, "pm_card_visa")
    with pytest.raises(stripe.InvalidRequestError) as info:
        _charge(client, str(pi.payment_method))
    assert info.value.param == "payment_method"


def test_detach_is_permanent(client: stripe.StripeClient) -> None:
    customer, pm = _saved_card(client)
    detached = client.v1.payment_methods.detach(pm)
    assert detached.customer is None
    with pytest.raises(stripe.InvalidRequestError) as charge:
        _charge(client, pm, customer=customer)
    assert charge.value.param == "payment_method"
    with pytest.raises(stripe.InvalidRequestError):
        _charge(client, pm)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.attach(pm, params={"customer": customer})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.detach(pm)
    assert client.v1.customers.payment_methods.list(customer).data == []
    assert _event_types(client, type="payment_method.*") == [
        "payment_method.attached",
        "payment_method.detached",
    ]


def test_pm_of_another_customer_is_refused(client: stripe.StripeClient) -> None:
    _, pm = _saved_card(client)
    stranger = client.v1.customers.create(params={})
    with pytest.raises(stripe.InvalidRequestError):
        _charge(client, pm, customer=stranger.id)
    with pytest.raises(stripe.InvalidRequestError):
        _charge(client, pm)


# ---------------------------------------------------------------------- refunds


def test_refunds_partial_repeated_then_exhausted(client: stripe.StripeClient) -> None:
    pi = _charge(client, "pm_card_visa", amount=1000)
    first = client.v1.refunds.create(
        params={
            "payment_intent": pi.id,
            "amount": 300,
            "reason": "requested_by_customer",
            "metadata": {"ticket": "T1"},
        }
    )
    assert (first.amount, first.status, first.charge) == (300, "succeeded", pi.latest_charge)
    second = client.v1.refunds.create(params={"charge": str(pi.latest_charge), "amount": 500})
    assert second.amount == 500
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 201})
    assert too_much.value.code == "amount_too_large"
    assert too_much.value.param == "amount"
    rest = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert rest.amount == 200
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (1000, True)
    with pytest.raises(stripe.InvalidRequestError) as done:
        client.v1.refunds.create(params={"payment_intent": pi.id, "amount": 1})
    assert done.value.code == "charge_already_refunded"
    fetched = client.v1.refunds.retrieve(first.id)
    assert _meta(fetched) == {"ticket": "T1"}
    assert fetched.reason == "requested_by_customer"
    refunded = [
        json.loads(str(e))["data"]["object"]["amount_refunded"]
        for e in reversed(client.v1.events.list(params={"type": "charge.refunded"}).data)
    ]
    assert refunded == [300, 800, 1000]


def test_refund_update_fires_refund_updated(client: stripe.StripeClient) -> None:
    pi = _charge(client, "pm_card_visa")
    refund = client.v1.refunds.create(params={"payment_intent": pi.id})
    updated = client.v1.refunds.update(refund.id, params={"metadata": {"note": "late"}})
    assert _meta(updated) == {"note": "late"}
    event = client.v1.events.list(params={"type": "refund.updated"}).data[0]
    assert event.data.previous_attributes is not None
    assert event.data.previous_attributes.to_dict() == {"metadata": {}}


def test_refund_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.refunds.create(params={"payment_intent": "pi_does_not_exist"})
    assert (missing.value.code, missing.value.http_status) == ("resource_missing", 404)
    unpaid = client.v1.payment_intents.create(params={"amount": 500, "currency": "usd"})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": unpaid.id})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={})
    kwd = _charge(client, "pm_card_visa", amount=5000, currency="kwd")
    with pytest.raises(stripe.InvalidRequestError) as odd:
        client.v1.refunds.create(params={"payment_intent": kwd.id, "amount": 1005})
    assert odd.value.code == "invalid_charge_amount"


def test_refund_fail_card_fails_after_acceptance(client: stripe.StripeClient) -> None:
    pi = _charge(client, "pm_card_refundFail")
    refund = client.v1.refunds.create(params={"payment_intent": pi.id})
    assert refund.status == "succeeded"
    assert client.v1.refunds.retrieve(refund.id).status == "failed"
    assert client.v1.charges.retrieve(str(pi.latest_charge)).amount_refunded == 0
    assert _event_types(client, type="refund.*") == [
        "refund.created",
        "refund.updated",
        "refund.failed",
    ]


# ---------------------------------------------------------------------- disputes


def test_dispute_card_opens_a_chargeback_that_can_be_won(client: stripe.StripeClient) -> None:
    pi = _charge(client, "pm_card_createDispute", amount=4500)
    assert pi.status == "succeeded"
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.disputed is True
    (dispute,) = client.v1.disputes.list(params={"payment_intent": pi.id}).data
    assert (dispute.status, dispute.reason, dispute.amount) == (
        "needs_response",
        "fraudulent",
        4500,
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": pi.id})
    assert refused.value.code == "charge_disputed"
    won = client.v1.disputes.update(
        dispute.id, params={"evidence": {"uncategorized_text": "winning_evidence"}}
    )
    assert won.status == "won"
    assert [t["amount"] for t in won.balance_transactions] == [-4500, 4500]
    assert _event_types(client, type="charge.dispute.*") == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(dispute.id)


def test_inquiry_and_accepting_a_dispute(client: stripe.StripeClient) -> None:
    inquiry_pi = _charge(client, "pm_card_createDisputeInquiry")
    (inquiry,) = client.v1.disputes.list(params={"payment_intent": inquiry_pi.id}).data
    assert inquiry.status == "warning_needs_response"
    assert inquiry.is_charge_refundable is True
    refund = client.v1.refunds.create(params={"payment_intent": inquiry_pi.id})
    assert refund.status == "succeeded"
    chargeback_pi = _charge(client, "pm_card_createDispute")
    (chargeback,) = client.v1.disputes.list(params={"payment_intent": chargeback_pi.id}).data
    closed = client.v1.disputes.close(chargeback.id)
    assert closed.status == "lost"
    assert client.v1.disputes.retrieve(chargeback.id).status == "lost"


# ---------------------------------------------------------------------- checkout


def test_checkout_payment_with_saved_card(client: stripe.StripeClient, sb: RunningSandbox) -> None:
    session = _payment_session(
        client,
        customer_creation="always",
        customer_email="buyer@example.com",
        payment_intent_data={
            "metadata": {"invoice_id": "INV-42"},
            "setup_future_usage": "off_session",
        },
    )
    assert session.status == "open"
    assert session.url == f"{sb.url}/stripe/checkout/pay/{session.id}"
    assert (session.amount_total, session.currency, session.payment_status) == (
        4200,
        "usd",
        "unpaid",
    )
    page = requests.get(str(session.url), timeout=5)
    assert page.status_code == 200
    assert 'id="card-number"' in page.text
    result = _complete(sb, session.id, card="4242424242424242")
    assert result["status"] == "complete"
    assert result["redirect_url"] == f"https://shop.example/paid?session={session.id}"
    done = client.v1.checkout.sessions.retrieve(
        session.id, params={"expand": ["payment_intent", "payment_intent.payment_method"]}
    )
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.client_reference_id == "INV-42"
    assert _meta(done) == {"invoice_id": "INV-42"}
    pi = done.payment_intent
    assert isinstance(pi, stripe.PaymentIntent)
    assert _meta(pi) == {"invoice_id": "INV-42"}
    assert pi.customer == done.customer
    pm = pi.payment_method
    assert isinstance(pm, stripe.PaymentMethod)
    assert pm.customer == done.customer
    assert _event_types(client) == [
        "customer.created",
        "payment_intent.created",
        "payment_method.attached",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    renewal = _charge(client, pm.id, customer=str(done.customer), amount=4200)
    assert renewal.status == "succeeded"


def test_checkout_without_customer_does_not_attach(
    client: stripe.StripeClient, sb: RunningSandbox
) -> None:
    session = _payment_session(client, payment_intent_data={"setup_future_usage": "off_session"})
    _complete(sb, session.id, outcome="success")
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.customer is None
    pi = client.v1.payment_intents.retrieve(str(done.payment_intent))
    assert client.v1.payment_methods.retrieve(str(pi.payment_method)).customer is None


def test_checkout_decline_then_success(client: stripe.StripeClient, sb: RunningSandbox) -> None:
    session = _payment_session(client)
    declined = _complete(sb, session.id, outcome="decline")
    assert declined["status"] == "open"
    assert declined["redirect_url"] is None
    assert declined["error"]["code"] == "card_declined"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    ok = _complete(sb, session.id, outcome="success")
    assert ok["status"] == "complete"
    assert _event_types(client, type="checkout.session.*") == ["checkout.session.completed"]


@pytest.mark.parametrize(
    ("outcome", "final_event", "payment_status", "pi_status"),
    [
        ("async_success", "checkout.session.async_payment_succeeded", "paid", "succeeded"),
        (
            "async_failure",
            "checkout.session.async_payment_failed",
            "unpaid",
            "requires_payment_method",
        ),
    ],
)
def test_checkout_delayed_notification_payment(
    client: stripe.StripeClient,
    sb: RunningSandbox,
    outcome: str,
    final_event: str,
    payment_status: str,
    pi_status: str,
) -> None:
    session = _payment_session(client, allowed_payment_method_types=["card", "us_bank_account"])
    result = _complete(sb, session.id, outcome=outcome)
    assert result["status"] == "complete"
    assert result["redirect_url"] == f"https://shop.example/paid?session={session.id}"
    events = client.v1.events.list(params={"type": "checkout.session.*"}).data
    assert [e.type for e in reversed(events)] == ["checkout.session.completed", final_event]
    completed = events[-1].data.object
    assert completed["payment_status"] == "unpaid"
    done = client.v1.checkout.sessions.retrieve(session.id)
    assert done.payment_status == payment_status
    pi = client.v1.payment_intents.retrieve(str(done.payment_intent))
    assert pi.status == pi_status
    assert pi.metadata.to_dict() == {"invoice_id": "INV-42"}
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.id.startswith("py_")
    assert charge.payment_method_details is not None
    assert charge.payment_method_details.type == "us_bank_account"
    types = _event_types(client)
    assert types.index("payment_intent.processing") < types.index("checkout.session.completed")


def test_delayed_payment_needs_the_method_on_the_session(
    client: stripe.StripeClient, sb: RunningSandbox
) -> None:
    session = _payment_session(client)
    response = sb.control(
        "POST", f"/stripe/checkout/{session.id}/complete", json={"outcome": "async_success"}
    )
    assert response.status_code == 400
    with pytest.raises(stripe.InvalidRequestError) as info:
        _payment_session(
            client,
            allowed_payment_method_types=["us_bank_account"],
            line_items=[
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 900,
                        "product_data": {"name": "x"},
                    },
                    "quantity": 1,
                }
            ],
        )
    assert info.value.param == "allowed_payment_method_types"


def test_checkout_setup_mode(client: stripe.StripeClient, sb: RunningSandbox) -> None:
    customer = client.v1.customers.create(params={"email": "setup@example.com"})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "eur",
            "customer": customer.id,
            "success_url": "https://shop.example/saved?s={CHECKOUT_SESSION_ID}",
            "setup_intent_data": {"metadata": {"purpose": "renewals"}},
        }
    )
    assert session.payment_status == "no_payment_required"
    assert str(session.setup_intent).startswith("seti_")
    result = _complete(sb, session.id, card="5555555555554444")
    assert result["status"] == "complete"
    seti = client.v1.setup_intents.retrieve(
        str(client.v1.checkout.sessions.retrieve(session.id).setup_intent)
    )
    assert seti.status == "succeeded"
    assert _meta(seti) == {"purpose": "renewals"}
    pm = client.v1.payment_methods.retrieve(str(seti.payment_method))
    assert pm.customer == customer.id
    assert pm.card is not None
    assert pm.card.brand == "mastercard"
    assert _event_types(client) == [
        "customer.created",
        "setup_intent.created",
        "payment_method.attached",
        "setup_intent.succeeded",
        "checkout.session.completed",
    ]


def test_checkout_setup_mode_decline_and_3ds(
    client: stripe.StripeClient, sb: RunningSandbox
) -> None:
    customer = client.v1.customers.create(params={})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "setup",
            "currency": "usd",
            "customer": customer.id,
            "success_url": "https://shop.example/s",
        }
    )
    failed = _complete(sb, session.id, outcome="decline")
    assert failed["status"] == "open"
    assert "setup_intent.setup_failed" in _event_types(client)
    ok = _complete(sb, session.id, card="4000002500003155")
    assert ok["status"] == "complete"
    seti = client.v1.setup_intents.retrieve(str(ok["setup_intent"]))
    # A card set up with 3DS can then be charged off-session without authentication.
    renewal = _charge(client, str(seti.payment_method), customer=customer.id)
    assert renewal.status == "succeeded"


def test_auth_unless_setup_card_needs_setup(client: stripe.StripeClient) -> None:
    customer, pm = _saved_card(client, "pm_card_authenticationRequiredOnSetup")
    with pytest.raises(stripe.CardError) as info:
        _charge(client, pm, customer=customer)
    assert info.value.code == "authentication_required"


def test_checkout_create_errors(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as currency:
        client.v1.checkout.sessions.create(
            params={"mode": "setup", "success_url": "https://shop.example/s"}
        )
    assert currency.value.param == "currency"
    with pytest.raises(stripe.InvalidRequestError) as small:
        _payment_session(client, amount=10)
    assert small.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as both:
        _payment_session(client, customer="cus_x", customer_email="a@example.com")
    assert both.value.code == "parameters_exclusive"
    with pytest.raises(stripe.InvalidRequestError) as nobody:
        _payment_session(client, customer="cus_nobody")
    assert (nobody.value.code, nobody.value.param) == ("resource_missing", "customer")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        _payment_session(client, colour="blue")
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "colour")


def test_checkout_line_items(client: stripe.StripeClient) -> None:
    session = _payment_session(client, amount=1250)
    items = client.v1.checkout.sessions.line_items.list(session.id)
    assert len(items.data) == 1
    item = items.data[0]
    assert (item.description, item.amount_total, item.quantity) == ("Invoice INV-42", 1250, 1)


def test_checkout_expire_and_events(
    client: stripe.StripeClient, receiver: WebhookReceiver, sb: RunningSandbox
) -> None:
    session = _payment_session(client)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)
    sb.wait_for_webhooks()
    delivered = [json.loads(body)["type"] for _, body in receiver.requests]
    assert delivered == ["checkout.session.expired"]


def test_checkout_expires_with_the_sandbox_clock(
    client: stripe.StripeClient, sb: RunningSandbox, receiver: WebhookReceiver
) -> None:
    now = int(sb.now())
    session = _payment_session(client, expires_at=now + 1800)
    assert session.expires_at == now + 1800
    with pytest.raises(stripe.InvalidRequestError) as early:
        _payment_session(client, expires_at=now + 600)
    assert early.value.param == "expires_at"
    with pytest.raises(stripe.InvalidRequestError):
        _payment_session(client, expires_at=now + 90000)
    sb.advance_clock(1801)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    sb.wait_for_webhooks()
    ((_headers, body),) = receiver.wait_for(1)
    event = json.loads(body)
    assert event["type"] == "checkout.session.expired"
    assert event["data"]["object"]["id"] == session.id
    late = sb.control(
        "POST", f"/stripe/checkout/{session.id}/complete", json={"outcome": "success"}
    )
    assert late.status_code == 400


# ---------------------------------------------------------------------- idempotency and errors


def test_idempotency_replay_and_conflict(client: stripe.StripeClient) -> None:
    params: dict[str, Any] = {
        "amount": 1500,
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "confirm": True,
    }
    first = client.v1.payment_intents.create(
        params=cast("Any", params), options={"idempotency_key": "order-7"}
    )
    again = client.v1.payment_intents.create(
        params=cast("Any", params), options={"idempotency_key": "order-7"}
    )
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.events.list(params={"type": "charge.succeeded"}).data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            params=cast("Any", {**params, "amount": 1600}), options={"idempotency_key": "order-7"}
        )


def test_idempotent_retry_after_dropped_response(
    client: stripe.StripeClient, sb: RunningSandbox
) -> None:
    sb.add_fault("stripe", "POST", "/v1/payment_intents", kind="drop_after_commit")
    params: dict[str, Any] = {
        "amount": 800,
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "confirm": True,
    }
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.create(
            params=cast("Any", params), options={"idempotency_key": "drop-1"}
        )
    retried = client.v1.payment_intents.create(
        params=cast("Any", params), options={"idempotency_key": "drop-1"}
    )
    assert retried.status == "succeeded"
    assert retried.last_response is not None
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.events.list(params={"type": "payment_intent.succeeded"}).data) == 1


def test_injected_faults_have_stripe_shapes(
    client: stripe.StripeClient, sb: RunningSandbox
) -> None:
    sb.add_fault("stripe", "POST", "/v1/customers", kind="server_error", status=503)
    with pytest.raises(stripe.APIError) as server:
        client.v1.customers.create(params={})
    assert server.value.http_status == 503
    assert server.value.error is not None
    assert server.value.error.type == "api_error"
    # Stripe sends Request-Id on every answer; the SDK surfaces it on the exception.
    assert server.value.request_id is not None
    assert server.value.request_id.startswith("req_")
    sb.add_fault("stripe", "POST", "/v1/customers", kind="rate_limit", retry_after=1)
    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.customers.create(params={})
    assert limited.value.http_status == 429
    assert limited.value.error is not None
    assert limited.value.error.code == "rate_limit"
    assert limited.value.request_id is not None
    assert limited.value.request_id.startswith("req_")
    assert limited.value.request_id != server.value.request_id
    assert limited.value.headers is not None
    assert limited.value.headers["Retry-After"] == "1"
    assert client.v1.customers.create(params={}).id.startswith("cus_")


def test_bad_api_key(sb: RunningSandbox) -> None:
    session = requests.Session()
    bad_key = "sk_" + "live_51ThisIsNotATestKey0123456789"  # built: scanners flag it
    try:
        wrong = stripe.StripeClient(
            bad_key,
            base_addresses={"api": sb.url + "/stripe"},
            max_network_retries=0,
            http_client=stripe.RequestsClient(session=session),
        )
        with pytest.raises(stripe.AuthenticationError) as info:
            wrong.v1.customers.create(params={})
    finally:
        session.close()
    assert info.value.http_status == 401
    assert bad_key not in str(info.value)
    assert bad_key not in str(info.value.http_body)
    assert str(info.value.user_message).startswith("Invalid API Key provided: sk_live_")


def test_invalid_request_shapes(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.create(params=cast("Any", {"emial": "x@example.com"}))
    assert (unknown.value.code, unknown.value.param) == ("parameter_unknown", "emial")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_missing")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    assert "No such payment_intent: 'pi_missing'" in str(missing.value)
    with pytest.raises(stripe.InvalidRequestError) as currency:
        client.v1.payment_intents.create(params={"amount": 500, "currency": "xyz"})
    assert currency.value.param == "currency"
    with pytest.raises(stripe.InvalidRequestError) as pm:
        _charge(client, "pm_not_real")
    assert (pm.value.code, pm.value.param) == ("resource_missing", "payment_method")


# ---------------------------------------------------------------------- webhooks and events


def _independent_signature_ok(headers: Any, body: bytes, secret: str) -> bool:
    parts = dict(item.split("=", 1) for item in headers["Stripe-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def test_webhooks_are_signed_and_match_the_events_api(
    client: stripe.StripeClient, sb: RunningSandbox, receiver: WebhookReceiver
) -> None:
    pi = _charge(client, "pm_card_visa", amount=3100)
    sb.wait_for_webhooks()
    received = receiver.wait_for(3)
    types = [json.loads(body)["type"] for _, body in received]
    assert types == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
    for headers, body in received:
        assert _independent_signature_ok(headers, body, SECRET)
        assert not _independent_signature_ok(headers, body.replace(b"3100", b"3199"), SECRET)
        assert not _independent_signature_ok(headers, body, "whsec_wrong")
        event = stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], SECRET)
        stored = client.v1.events.retrieve(event.id)
        assert json.loads(str(stored)) == json.loads(body)
    succeeded = json.loads(received[2][1])
    assert succeeded["data"]["object"]["id"] == pi.id
    assert succeeded["api_version"] == "2026-10-28.endive"
    assert succeeded["livemode"] is False
    assert succeeded["pending_webhooks"] == 1
    assert succeeded["request"]["idempotency_key"] is not None
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            received[0][1].decode().replace("3100", "3199"),
            received[0][0]["Stripe-Signature"],
            SECRET,
        )


def test_event_listing_and_retrieval(client: stripe.StripeClient) -> None:
    for _ in range(3):
        client.v1.customers.create(params={})
    _charge(client, "pm_card_visa")
    everything = _event_types(client)
    assert everything[:3] == ["customer.created"] * 3
    only = client.v1.events.list(params={"types": ["charge.succeeded", "customer.created"]})
    assert [e.type for e in only.data] == ["charge.succeeded"] + ["customer.created"] * 3
    page = client.v1.events.list(params={"limit": 2})
    assert page.has_more is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.retrieve("evt_missing")


def test_list_endpoints_filter_and_page(client: stripe.StripeClient, sb: RunningSandbox) -> None:
    customer, pm = _saved_card(client)
    first = _charge(client, pm, customer=customer, amount=1000)
    second = _charge(client, pm, customer=customer, amount=2000)
    _charge(client, "pm_card_visa", amount=3000)
    by_customer = client.v1.payment_intents.list(params={"customer": customer})
    assert [pi.id for pi in by_customer.data] == [second.id, first.id]
    client.v1.refunds.create(params={"payment_intent": first.id, "amount": 100})
    client.v1.refunds.create(params={"payment_intent": second.id})
    refunds = client.v1.refunds.list(params={"payment_intent": first.id})
    assert [r.amount for r in refunds.data] == [100]
    charges = client.v1.charges.list(params={"customer": customer, "limit": 1})
    assert charges.has_more is True
    assert [c.amount for c in charges.auto_paging_iter()] == [2000, 1000]
    assert [c.email for c in client.v1.customers.list(params={"email": "saved@example.com"})] == [
        "saved@example.com"
    ]
    methods = client.v1.payment_methods.list(params={"customer": customer, "type": "card"})
    assert [m.id for m in methods.data] == [pm]
    session = _payment_session(client)
    result = _complete(sb, session.id, outcome="success")
    found = client.v1.checkout.sessions.list(params={"payment_intent": result["payment_intent"]})
    assert [s.id for s in found.data] == [session.id]
    assert client.v1.checkout.sessions.list(params={"status": "open"}).data == []


# ---------------------------------------------------------------------- amount rules

ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp"}
THREE_DECIMAL = {"kwd", "bhd", "jod", "omr", "tnd"}
CURRENCIES = sorted(ZERO_DECIMAL | THREE_DECIMAL | {"usd", "eur", "gbp", "isk", "huf"})


def _expected_code(amount: int, currency: str, minimum: int) -> str | None:
    if amount < minimum:
        return "amount_too_small"
    if amount > 99_999_999:
        return "amount_too_large"
    if currency in THREE_DECIMAL and amount % 10:
        return "invalid_charge_amount"
    if currency == "isk" and amount % 100:
        return "invalid_charge_amount_no_decimal_compatible"
    return None


# The minimums Stripe publishes (settlement currencies) and, where it publishes none, the
# sandbox's documented table (roughly $0.50).
MINIMUMS = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "jpy": 50,
    "huf": 17500,
    "isk": 10000,
    "krw": 700,
    "vnd": 13000,
    "clp": 500,
    "kwd": 200,
    "bhd": 200,
    "jod": 400,
    "omr": 200,
    "tnd": 2000,
}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    currency=st.sampled_from(CURRENCIES),
    amount=st.one_of(
        st.integers(min_value=1, max_value=30_000),
        st.integers(min_value=30_000, max_value=120_000_000),
    ),
)
def test_amount_rules(client: stripe.StripeClient, currency: str, amount: int) -> None:
    expected = _expected_code(amount, currency, MINIMUMS[currency])
    params: dict[str, Any] = {"amount": amount, "currency": currency.upper()}
    if expected is None:
        pi = client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]
        assert (pi.amount, pi.currency) == (amount, currency)
    else:
        with pytest.raises(stripe.InvalidRequestError) as info:
            client.v1.payment_intents.create(params=params)  # type: ignore[arg-type]
        assert info.value.code == expected
        assert info.value.param == "amount"
