"""What each operation sends to Stripe and how it reads the answer (fake Stripe in memory), on
the sync and the async path (the ``run`` fixture)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from stripe_fakes import FakeStripe, Runner, build, form, stripe_error, stripe_json

import paywire
from paywire_stripe import API_VERSION, StripeConfig, StripeProvider

SUCCESS = "https://shop.example.com/paid?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example.com/cart"
EXPIRES = 1_900_000_000


def session_body(request: httpx.Request, **changes: Any) -> dict[str, Any]:
    sent = form(request)
    body: dict[str, Any] = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        "amount_total": 2500,
        "currency": sent.get("line_items[0][price_data][currency]", "usd"),
        "customer": sent.get("customer"),
        "expires_at": EXPIRES,
        "status": "open",
        "mode": sent["mode"],
    }
    body.update(changes)
    return body


def customer_handler(request: httpx.Request) -> httpx.Response:
    return stripe_json(200, {"id": "cus_created", "object": "customer", **form(request)})


def invoice(customer: paywire.Customer | None = None, **changes: Any) -> paywire.Invoice:
    values: dict[str, Any] = {
        "id": "INV-1",
        "currency": "USD",
        "line_items": [
            paywire.LineItem("Pro plan", paywire.Money("10.00", "USD"), 2),
            paywire.LineItem("Setup fee", paywire.Money("5", "USD")),
        ],
        "customer": customer,
        **changes,
    }
    return paywire.Invoice(**values)


# -- checkout -----------------------------------------------------------------------------------


def test_checkout_session_sends_the_invoice_lines_in_minor_units(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on(
        "POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r, customer=None))
    )
    session = run(
        provider,
        "create_checkout_session",
        invoice(metadata={"order": "42"}, description="March"),
        success_url=SUCCESS,
        cancel_url=CANCEL,
        idempotency_key="key-1",
    )
    (request,) = fake.sent("POST", "/v1/checkout/sessions")
    sent = form(request)
    assert sent == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1000",
        "line_items[0][price_data][product_data][name]": "Pro plan",
        "line_items[0][quantity]": "2",
        "line_items[1][price_data][currency]": "usd",
        "line_items[1][price_data][unit_amount]": "500",
        "line_items[1][price_data][product_data][name]": "Setup fee",
        "line_items[1][quantity]": "1",
        "success_url": SUCCESS,
        "cancel_url": CANCEL,
        "client_reference_id": "INV-1",
        "metadata[order]": "42",
        "metadata[invoice_id]": "INV-1",
        "payment_intent_data[metadata][order]": "42",
        "payment_intent_data[metadata][invoice_id]": "INV-1",
        "payment_intent_data[description]": "March",
    }
    assert request.headers["Idempotency-Key"] == "key-1"
    assert request.headers["Authorization"] == "Bearer sk_test_unit0000000000000000"
    assert request.headers["Stripe-Version"] == API_VERSION
    assert session == paywire.CheckoutSession(
        provider="stripe",
        id="cs_test_1",
        url="https://checkout.stripe.com/c/pay/cs_test_1",
        invoice_id="INV-1",
        amount=paywire.Money("25", "USD"),
        status=paywire.SessionStatus.OPEN,
        customer_id=None,
        expires_at=datetime.fromtimestamp(EXPIRES, UTC),
    )


def test_checkout_creates_a_customer_once_per_operation_key(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("POST", "/v1/customers", customer_handler)
    fake.on("POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r)))
    customer = paywire.Customer(
        id="user-7",
        email="u7@example.com",
        name="U Seven",
        phone="+14155550100",
        metadata={"plan": "pro"},
    )
    session = run(
        provider,
        "create_checkout_session",
        invoice(customer),
        success_url=SUCCESS,
        cancel_url=CANCEL,
        save_payment_method=True,
        idempotency_key="key-2",
    )
    (created,) = fake.sent("POST", "/v1/customers")
    assert form(created) == {
        "email": "u7@example.com",
        "name": "U Seven",
        "phone": "+14155550100",
        "metadata[app_id]": "user-7",
        "metadata[plan]": "pro",
    }
    # Its own key, derived from the operation's: a retry of the operation finds the same customer.
    assert created.headers["Idempotency-Key"] == "key-2:customer"
    (request,) = fake.sent("POST", "/v1/checkout/sessions")
    sent = form(request)
    assert sent["customer"] == "cus_created"
    assert sent["payment_intent_data[setup_future_usage]"] == "off_session"
    assert "customer_creation" not in sent
    assert session.customer_id == "cus_created"


def test_checkout_reuses_a_known_stripe_customer(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r)))
    customer = paywire.Customer(id="user-8", provider_customer_id="cus_known")
    session = run(
        provider,
        "create_checkout_session",
        invoice(customer),
        success_url=SUCCESS,
        cancel_url=CANCEL,
    )
    assert fake.sent("POST", "/v1/customers") == []
    assert form(fake.sent("POST", "/v1/checkout/sessions")[0])["customer"] == "cus_known"
    assert session.customer_id == "cus_known"


def test_saving_without_a_customer_asks_stripe_to_create_one(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r)))
    run(
        provider,
        "create_checkout_session",
        invoice(),
        success_url=SUCCESS,
        cancel_url=CANCEL,
        save_payment_method=True,
    )
    sent = form(fake.sent("POST", "/v1/checkout/sessions")[0])
    assert sent["customer_creation"] == "always"
    assert "customer" not in sent


def test_each_operation_gets_a_fresh_key_when_none_is_given(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r)))
    for _ in range(2):
        run(provider, "create_checkout_session", invoice(), success_url=SUCCESS, cancel_url=CANCEL)
    keys = [r.headers["Idempotency-Key"] for r in fake.sent("POST", "/v1/checkout/sessions")]
    assert len(set(keys)) == 2


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("KWD", "1.235"), ("BHD", "0.005"), ("MGA", "10.50")],
)
def test_amounts_stripe_cannot_take_fail_before_any_http(
    fake: FakeStripe, provider: StripeProvider, run: Runner, currency: str, amount: str
) -> None:
    items = [paywire.LineItem("Thing", paywire.Money(amount, currency))]
    bad = paywire.Invoice(id="INV-X", currency=currency, line_items=items)
    with pytest.raises(paywire.InvalidAmount):
        run(provider, "create_checkout_session", bad, success_url=SUCCESS, cancel_url=CANCEL)
    with pytest.raises(paywire.InvalidAmount):
        run(
            provider,
            "charge_payment_method",
            paywire.SavedPaymentMethod("stripe", "pm_1"),
            paywire.Money(amount, currency),
        )
    assert fake.requests == []


def test_setup_session(fake: FakeStripe, provider: StripeProvider, run: Runner) -> None:
    fake.on("POST", "/v1/customers", customer_handler)
    fake.on(
        "POST",
        "/v1/checkout/sessions",
        lambda r: stripe_json(200, session_body(r, amount_total=None, currency="usd")),
    )
    setup = run(
        provider,
        "create_setup_session",
        paywire.Customer(id="user-9", email="u9@example.com"),
        success_url="https://shop.example.com/saved",
        cancel_url=CANCEL,
    )
    (created,) = fake.sent("POST", "/v1/customers")
    session_request = fake.sent("POST", "/v1/checkout/sessions")[0]
    assert created.headers["Idempotency-Key"] == (
        session_request.headers["Idempotency-Key"] + ":customer"
    )
    assert form(session_request) == {
        "mode": "setup",
        "customer": "cus_created",
        "currency": "usd",
        # Stripe fills the template in: the customer comes back naming the session.
        "success_url": "https://shop.example.com/saved?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": CANCEL,
        "metadata[customer_id]": "user-9",
        "setup_intent_data[metadata][customer_id]": "user-9",
    }
    assert setup.id == "cs_test_1"
    assert setup.customer_id == "cus_created"
    assert setup.url.startswith("https://checkout.stripe.com/")
    assert setup.expires_at == datetime.fromtimestamp(EXPIRES, UTC)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (SUCCESS, SUCCESS),
        ("https://e.example/ok?a=1", "https://e.example/ok?a=1&session_id={CHECKOUT_SESSION_ID}"),
        ("https://e.example/ok?", "https://e.example/ok?session_id={CHECKOUT_SESSION_ID}"),
        ("https://e.example/ok#top", "https://e.example/ok?session_id={CHECKOUT_SESSION_ID}#top"),
        (
            "https://e.example/ok?s={CHECKOUT_SESSION_ID}&x=1",
            "https://e.example/ok?s={CHECKOUT_SESSION_ID}&x=1",
        ),
    ],
)
def test_the_setup_success_url_names_the_session(
    fake: FakeStripe, provider: StripeProvider, given: str, sent: str
) -> None:
    fake.on("POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r)))
    provider.create_setup_session(
        paywire.Customer(id="u", provider_customer_id="cus_1"), success_url=given, cancel_url=CANCEL
    )
    assert form(fake.requests[0])["success_url"] == sent


def test_setup_currency_is_configurable(fake: FakeStripe) -> None:
    fake.on("POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r)))
    provider, _ = build(fake, setup_currency="eur")
    with closing(provider):
        provider.create_setup_session(
            paywire.Customer(id="u", provider_customer_id="cus_1"),
            success_url=SUCCESS,
            cancel_url=CANCEL,
        )
    assert form(fake.requests[0])["currency"] == "eur"


# -- charges and refunds ------------------------------------------------------------------------


def intent_handler(status: str = "succeeded", **changes: Any) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        sent = form(request)
        return stripe_json(
            200,
            {
                "id": "pi_1",
                "object": "payment_intent",
                "amount": int(sent["amount"]),
                "currency": sent["currency"],
                "status": status,
                "payment_method": sent["payment_method"],
                "created": 1_700_000_000,
                **changes,
            },
        )

    return handle


def test_charge_confirms_an_off_session_payment_intent(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("POST", "/v1/payment_intents", intent_handler())
    result = run(
        provider,
        "charge_payment_method",
        paywire.SavedPaymentMethod("stripe", "pm_1", "cus_1"),
        paywire.Money("1.230", "KWD"),
        description="Renewal",
        invoice_id="INV-5",
        metadata={"period": "2024-07"},
        idempotency_key="charge-1",
    )
    (request,) = fake.requests
    assert form(request) == {
        "amount": "1230",
        "currency": "kwd",
        "customer": "cus_1",
        "payment_method": "pm_1",
        "confirm": "true",
        "off_session": "true",
        "description": "Renewal",
        "metadata[period]": "2024-07",
        "metadata[invoice_id]": "INV-5",
    }
    assert request.headers["Idempotency-Key"] == "charge-1"
    assert result == paywire.ChargeResult(
        provider="stripe",
        id="pi_1",
        amount=paywire.Money("1.230", "KWD"),
        status=paywire.PaymentStatus.SUCCEEDED,
        raw_status="succeeded",
        payment_method_id="pm_1",
        invoice_id="INV-5",
        created_at=datetime.fromtimestamp(1_700_000_000, UTC),
    )
    assert repr(result.amount) == "Money('1.230', 'KWD')"  # the caller's own value, exactly


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("processing", paywire.PaymentStatus.PENDING),
        ("requires_payment_method", paywire.PaymentStatus.FAILED),
        ("canceled", paywire.PaymentStatus.CANCELED),
    ],
)
def test_charge_status_mapping(
    fake: FakeStripe, provider: StripeProvider, raw: str, status: paywire.PaymentStatus
) -> None:
    fake.on("POST", "/v1/payment_intents", intent_handler(raw))
    result = provider.charge_payment_method(
        paywire.SavedPaymentMethod("stripe", "pm_1"), paywire.Money("500", "JPY")
    )
    assert result.status is status
    assert result.raw_status == raw
    assert form(fake.requests[0])["amount"] == "500"
    assert "customer" not in form(fake.requests[0])


def test_a_charge_waiting_for_the_customer_is_authentication_required(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    page = "https://hooks.stripe.com/3d_secure_2/hosted?intent=pi_1"
    fake.on(
        "POST",
        "/v1/payment_intents",
        intent_handler(
            "requires_action",
            next_action={"type": "redirect_to_url", "redirect_to_url": {"url": page}},
        ),
    )
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        run(
            provider,
            "charge_payment_method",
            paywire.SavedPaymentMethod("stripe", "pm_1", "cus_1"),
            paywire.Money("10", "USD"),
        )
    assert caught.value.transaction_id == "pi_1"
    assert caught.value.action_url == page
    assert caught.value.raw_code == "requires_action"


def refund_handler(request: httpx.Request) -> httpx.Response:
    sent = form(request)
    return stripe_json(
        200,
        {
            "id": "re_1",
            "object": "refund",
            "amount": int(sent.get("amount", "2000")),
            "currency": "usd",
            "payment_intent": sent.get("payment_intent", "pi_9"),
            "charge": sent.get("charge", "ch_1"),
            "status": "pending",
        },
    )


def test_full_refund_with_a_stripe_reason(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("POST", "/v1/refunds", refund_handler)
    refund = run(provider, "create_refund", "pi_1", reason="duplicate", idempotency_key="r-1")
    (request,) = fake.requests
    assert form(request) == {"payment_intent": "pi_1", "reason": "duplicate"}
    assert request.headers["Idempotency-Key"] == "r-1"
    assert refund == paywire.RefundResult(
        provider="stripe",
        id="re_1",
        transaction_id="pi_1",
        amount=paywire.Money("20", "USD"),
        status=paywire.RefundStatus.PENDING,
        raw_status="pending",
    )


def test_partial_refund_checks_the_currency_and_keeps_other_reasons_in_metadata(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on(
        "GET",
        "/v1/payment_intents/pi_1",
        stripe_json(200, {"id": "pi_1", "object": "payment_intent", "currency": "usd"}),
    )
    fake.on("POST", "/v1/refunds", refund_handler)
    refund = run(
        provider,
        "create_refund",
        "pi_1",
        paywire.Money("5.50", "USD"),
        reason="customer changed plan",
        metadata={"a": "b"},
    )
    sent = form(fake.sent("POST", "/v1/refunds")[0])
    assert sent == {
        "payment_intent": "pi_1",
        "amount": "550",
        "metadata[a]": "b",
        "metadata[reason]": "customer changed plan",
    }
    assert refund.amount == paywire.Money("5.50", "USD")
    assert repr(refund.amount) == "Money('5.50', 'USD')"


def test_a_refund_in_another_currency_is_refused_before_posting(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on(
        "GET",
        "/v1/payment_intents/pi_1",
        stripe_json(200, {"id": "pi_1", "object": "payment_intent", "currency": "jpy"}),
    )
    with pytest.raises(paywire.InvalidAmount, match="JPY"):
        run(provider, "create_refund", "pi_1", paywire.Money("10", "USD"))
    assert fake.sent("POST", "/v1/refunds") == []


def test_refunding_a_charge_id(fake: FakeStripe, provider: StripeProvider, run: Runner) -> None:
    fake.on(
        "GET",
        "/v1/charges/ch_9",
        stripe_json(200, {"id": "ch_9", "object": "charge", "currency": "usd"}),
    )
    fake.on("POST", "/v1/refunds", refund_handler)
    refund = run(provider, "create_refund", "ch_9", paywire.Money("1", "USD"))
    assert form(fake.sent("POST", "/v1/refunds")[0]) == {"charge": "ch_9", "amount": "100"}
    # The transaction the app named, although Stripe's refund names the charge's intent too.
    assert refund.transaction_id == "ch_9"


@pytest.mark.parametrize("bad", ["", "pi_1/../../v1/refunds", "pi 1", "pi_1?expand=x", "π_1"])
def test_an_id_that_is_no_stripe_id_is_not_found_without_a_request(
    fake: FakeStripe, provider: StripeProvider, bad: str
) -> None:
    with pytest.raises(paywire.NotFound):
        provider.create_refund(bad, paywire.Money("1", "USD"))
    with pytest.raises(paywire.NotFound):
        provider.get_payment_method_details(paywire.SavedPaymentMethod("stripe", bad or "x/y"))
    with pytest.raises(paywire.NotFound):
        provider.detach_payment_method(bad or "x/y")
    assert fake.requests == []


# -- payment methods ----------------------------------------------------------------------------

CARD = {
    "id": "pm_1",
    "object": "payment_method",
    "type": "card",
    "customer": "cus_1",
    "billing_details": {"email": "a@example.com", "name": None},
    "card": {"brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2030},
}


def test_payment_method_details(fake: FakeStripe, provider: StripeProvider, run: Runner) -> None:
    fake.on("GET", "/v1/payment_methods/pm_1", stripe_json(200, CARD))
    expected = paywire.PaymentMethodInfo(
        provider="stripe",
        id="pm_1",
        type="card",
        customer_id="cus_1",
        brand="visa",
        last4="4242",
        exp_month=8,
        exp_year=2030,
        email="a@example.com",
    )
    assert run(provider, "get_payment_method_details", "pm_1") == expected
    saved = paywire.SavedPaymentMethod("stripe", "pm_1", "cus_1")
    assert run(provider, "get_payment_method_details", saved) == expected


def test_a_method_saved_to_another_customer_is_not_found(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("GET", "/v1/payment_methods/pm_1", stripe_json(200, CARD))
    with pytest.raises(paywire.NotFound, match="cus_other"):
        run(
            provider,
            "get_payment_method_details",
            paywire.SavedPaymentMethod("stripe", "pm_1", "cus_other"),
        )


def test_details_of_a_method_without_a_card(fake: FakeStripe, provider: StripeProvider) -> None:
    fake.on(
        "GET",
        "/v1/payment_methods/pm_2",
        stripe_json(
            200,
            {"id": "pm_2", "object": "payment_method", "type": "sepa_debit", "customer": "cus_2"},
        ),
    )
    info = provider.get_payment_method_details("pm_2")
    assert (info.type, info.brand, info.last4, info.customer_id) == (
        "sepa_debit",
        None,
        None,
        "cus_2",
    )


def test_a_method_attached_to_nobody_is_not_found(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    # Stripe keeps detached methods readable; as a saved method it is gone.
    fake.on(
        "GET",
        "/v1/payment_methods/pm_3",
        stripe_json(
            200, {"id": "pm_3", "object": "payment_method", "type": "card", "customer": None}
        ),
    )
    with pytest.raises(paywire.NotFound, match="pm_3"):
        run(provider, "get_payment_method_details", "pm_3")


def test_detach(fake: FakeStripe, provider: StripeProvider, run: Runner) -> None:
    fake.on(
        "POST",
        "/v1/payment_methods/pm_1/detach",
        stripe_json(200, {"id": "pm_1", "object": "payment_method", "customer": None}),
    )
    assert (
        run(provider, "detach_payment_method", paywire.SavedPaymentMethod("stripe", "pm_1")) is None
    )
    (request,) = fake.requests
    assert request.content == b""
    assert request.headers["Idempotency-Key"]


def test_detaching_twice_is_not_found(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on(
        "POST",
        "/v1/payment_methods/pm_1/detach",
        stripe_error(
            400,
            type="invalid_request_error",
            code="payment_method_unexpected_state",
            message="The payment method you provided is not attached to a customer so "
            "detachment is impossible.",
        ),
    )
    with pytest.raises(paywire.NotFound) as caught:
        run(provider, "detach_payment_method", "pm_1")
    assert caught.value.raw_code == "payment_method_unexpected_state"


def test_detach_unknown_is_not_found(fake: FakeStripe, provider: StripeProvider) -> None:
    fake.on(
        "POST",
        "/v1/payment_methods/pm_x/detach",
        stripe_error(404, type="invalid_request_error", code="resource_missing", message="No"),
    )
    with pytest.raises(paywire.NotFound):
        provider.detach_payment_method("pm_x")


# -- configuration ------------------------------------------------------------------------------


def test_available_needs_an_enabled_provider_with_a_key(fake: FakeStripe) -> None:
    cases: list[tuple[dict[str, Any], bool]] = [
        ({}, True),
        ({"enabled": False}, False),
        ({"api_key": None}, False),
        ({"api_key": ""}, False),
    ]
    for settings, expected in cases:
        provider, _ = build(fake, **settings)
        with closing(provider):
            assert provider.available() is expected


def test_operations_without_a_key_are_a_configuration_error(fake: FakeStripe, run: Runner) -> None:
    provider, _ = build(fake, api_key=None)
    with closing(provider), pytest.raises(paywire.ConfigurationError, match="api_key"):
        run(provider, "get_payment_method_details", "pm_1")
    assert fake.requests == []


def test_every_request_names_the_pinned_api_version_unless_configured(fake: FakeStripe) -> None:
    fake.on("GET", "/v1/payment_methods/pm_1", stripe_json(200, CARD))
    provider, _ = build(fake)
    with closing(provider):
        provider.get_payment_method_details("pm_1")
    other = FakeStripe(check=False)
    other.on("GET", "/v1/payment_methods/pm_1", stripe_json(200, CARD))
    pinned, _ = build(other, api_version="2025-03-31.basil")
    with closing(pinned):
        pinned.get_payment_method_details("pm_1")
    assert fake.requests[0].headers["Stripe-Version"] == API_VERSION
    assert other.requests[0].headers["Stripe-Version"] == "2025-03-31.basil"


@pytest.mark.parametrize("version", ["latest", "2024-13", "", "2024-06-20 "])
def test_a_malformed_api_version_is_a_configuration_error(version: str) -> None:
    with pytest.raises(paywire.ConfigurationError):
        paywire.load_config(StripeConfig, "stripe", environ={}, api_version=version)


def test_requests_go_to_base_url(fake: FakeStripe) -> None:
    fake.on("GET", "/stripe/v1/payment_methods/pm_1", stripe_error(500, type="api_error"))
    provider, _ = build(fake, base_url="http://127.0.0.1:9/stripe", max_attempts=1)
    with closing(provider), pytest.raises(paywire.ProviderUnavailable):
        provider.get_payment_method_details("pm_1")
    (request,) = fake.requests
    assert str(request.url) == "http://127.0.0.1:9/stripe/v1/payment_methods/pm_1"


# -- edge answers -------------------------------------------------------------------------------


def test_a_failed_customer_step_reports_the_operation_key(fake: FakeStripe, run: Runner) -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    fake.on("POST", "/v1/customers", timeout)
    provider, _ = build(fake, max_attempts=2)
    customer = paywire.Customer(id="user-1", email="u1@example.com")
    with closing(provider), pytest.raises(paywire.OutcomeUnknown) as caught:
        run(
            provider,
            "create_checkout_session",
            invoice(customer),
            success_url=SUCCESS,
            cancel_url=CANCEL,
            idempotency_key="op-9",
        )
    # The app retries the *operation* with this key; the step's own key is derived again from it.
    assert caught.value.idempotency_key == "op-9"
    assert [r.headers["Idempotency-Key"] for r in fake.requests] == ["op-9:customer"] * 2
    assert fake.sent("POST", "/v1/checkout/sessions") == []


def test_a_very_long_key_still_gives_a_valid_step_key(fake: FakeStripe) -> None:
    fake.on("POST", "/v1/customers", customer_handler)
    fake.on("POST", "/v1/checkout/sessions", lambda r: stripe_json(200, session_body(r)))
    provider, _ = build(fake)
    long_key = "k" * 255
    with closing(provider):
        provider.create_checkout_session(
            invoice(paywire.Customer(id="u")),
            success_url=SUCCESS,
            cancel_url=CANCEL,
            idempotency_key=long_key,
        )
    step = fake.sent("POST", "/v1/customers")[0].headers["Idempotency-Key"]
    assert len(step) <= 255
    assert step.endswith(":customer")
    assert fake.sent("POST", "/v1/checkout/sessions")[0].headers["Idempotency-Key"] == long_key


def test_an_unreadable_success_answer_to_a_post_is_outcome_unknown(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("POST", "/v1/payment_intents", httpx.Response(200, content=b"<html>proxy</html>"))
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        run(
            provider,
            "charge_payment_method",
            paywire.SavedPaymentMethod("stripe", "pm_1"),
            paywire.Money("1", "USD"),
            idempotency_key="k-html",
        )
    assert caught.value.idempotency_key == "k-html"


def test_an_unreadable_success_answer_to_a_get_is_provider_unavailable(
    fake: FakeStripe, provider: StripeProvider
) -> None:
    fake.on("GET", "/v1/payment_methods/pm_1", httpx.Response(200, content=b"not json"))
    with pytest.raises(paywire.ProviderUnavailable):
        provider.get_payment_method_details("pm_1")


def test_expanded_customer_objects_give_their_id(
    fake: FakeStripe, provider: StripeProvider
) -> None:
    fake.on(
        "POST",
        "/v1/checkout/sessions",
        lambda r: stripe_json(
            200, session_body(r, customer={"id": "cus_expanded", "object": "customer"})
        ),
    )
    session = provider.create_checkout_session(invoice(), success_url=SUCCESS, cancel_url=CANCEL)
    assert session.customer_id == "cus_expanded"
