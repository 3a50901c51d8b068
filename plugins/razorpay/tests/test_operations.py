"""The operations' requests and answers, against a respx router standing in for Razorpay."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import respx
from razorpay_helpers import KEY_ID, KEY_SECRET, build_provider

import paywire
from paywire import PaymentStatus, RefundStatus, SessionStatus
from paywire_razorpay import RazorpayProvider

METHOD = paywire.SavedPaymentMethod("razorpay", "cust_Abc123/token_Def456", "cust_Abc123")
INR_12_34 = paywire.Money("12.34", "INR")


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def _not_found() -> httpx.Response:
    return httpx.Response(
        400,
        json={
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": "The id provided does not exist",
                "source": "NA",
                "step": "NA",
                "reason": "NA",
                "metadata": {},
            }
        },
    )


def _invoice(invoice_id: str = "INV-1", **changes: Any) -> paywire.Invoice:
    return paywire.Invoice(
        id=invoice_id,
        currency="INR",
        line_items=[
            paywire.LineItem("Plan", paywire.Money("10.00", "INR")),
            paywire.LineItem("Seat", paywire.Money("1.17", "INR"), quantity=2),
        ],
        customer=paywire.Customer(id="app-1", email="asha@example.com", name="Asha Rao"),
        **changes,
    )


def _link(**changes: Any) -> dict[str, Any]:
    link = {
        "id": "plink_L1",
        "short_url": "https://rzp.io/i/abc",
        "amount": 1234,
        "currency": "INR",
        "status": "created",
        "reference_id": "INV-1",
        "expire_by": 0,
    }
    link.update(changes)
    return link


def _payment(**changes: Any) -> dict[str, Any]:
    payment = {
        "id": "pay_P1",
        "entity": "payment",
        "amount": 1234,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_O1",
        "notes": {"invoice_id": "INV-9"},
        "created_at": 1_700_000_000,
    }
    payment.update(changes)
    return payment


# -- checkout ----------------------------------------------------------------------------------


def test_checkout_creates_a_payment_link(router: respx.Router, provider: RazorpayProvider) -> None:
    route = router.post("/v1/payment_links").respond(200, json=_link())
    session = provider.create_checkout_session(
        _invoice(metadata={"plan": "pro"}),
        success_url="https://app.example/ok",
        cancel_url="https://app.example/cancel",
    )
    request = route.calls.last.request
    assert _body(request) == {
        "amount": 1234,
        "currency": "INR",
        "reference_id": "INV-1",
        "description": "Invoice INV-1",
        "notes": {"plan": "pro", "invoice_id": "INV-1"},
        "callback_url": "https://app.example/ok",
        "callback_method": "get",
        "customer": {"name": "Asha Rao", "email": "asha@example.com"},
    }
    expected = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert session.id == "plink_L1"
    assert session.url == "https://rzp.io/i/abc"
    assert session.invoice_id == "INV-1"
    assert session.amount == INR_12_34
    assert session.status is SessionStatus.OPEN
    assert session.expires_at is None


@pytest.mark.parametrize(
    ("invoice", "kwargs"),
    [
        (_invoice("I" * 41), {}),
        (_invoice(), {"save_payment_method": True}),
        (_invoice(metadata={f"k{i}": "v" for i in range(15)}), {}),
    ],
)
def test_checkout_refusals_happen_before_any_request(
    router: respx.Router,
    provider: RazorpayProvider,
    invoice: paywire.Invoice,
    kwargs: dict[str, Any],
) -> None:
    with pytest.raises(paywire.InvalidRequest):
        provider.create_checkout_session(
            invoice, success_url="https://a/", cancel_url="https://a/", **kwargs
        )
    assert not router.calls


def test_checkout_again_for_the_same_invoice_returns_its_open_link(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    router.post("/v1/payment_links").respond(
        400,
        json={
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": "payment link creation with reference ID already attempted",
                "reason": "NA",
                "field": "reference_id",
            }
        },
    )
    lookup = router.get("/v1/payment_links").respond(
        200,
        json={"payment_links": [_link(id="plink_Other", reference_id="INV-2"), _link()]},
    )
    session = provider.create_checkout_session(
        _invoice(), success_url="https://a/", cancel_url="https://a/"
    )
    assert session.id == "plink_L1"
    assert lookup.calls.last.request.url.params["reference_id"] == "INV-1"


def test_checkout_again_after_the_link_was_paid_is_refused(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    router.post("/v1/payment_links").respond(
        400,
        json={
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": "payment link creation with reference ID already attempted",
            }
        },
    )
    router.get("/v1/payment_links").respond(200, json={"payment_links": [_link(status="paid")]})
    with pytest.raises(paywire.InvalidRequest, match="already attempted"):
        provider.create_checkout_session(
            _invoice(), success_url="https://a/", cancel_url="https://a/"
        )


def test_checkout_is_retried_after_a_server_error(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    route = router.post("/v1/payment_links")
    route.side_effect = [
        httpx.Response(503, json={"error": {"code": "SERVER_ERROR", "description": "down"}}),
        httpx.Response(200, json=_link()),
    ]
    session = provider.create_checkout_session(
        _invoice(), success_url="https://a/", cancel_url="https://a/"
    )
    assert session.id == "plink_L1"
    assert route.call_count == 2


# -- setup -------------------------------------------------------------------------------------


def test_setup_creates_customer_and_registration_link(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    customers = router.post("/v1/customers").respond(200, json={"id": "cust_C1"})
    links = router.post("/v1/subscription_registration/auth_links").respond(
        200,
        json={
            "id": "inv_R1",
            "short_url": "https://rzp.io/i/reg",
            "status": "issued",
            "customer_id": "cust_C1",
            "expire_by": None,
        },
    )
    session = provider.create_setup_session(
        paywire.Customer(id="app-1", email="asha@example.com", name="Asha Rao"),
        success_url="https://a/",
        cancel_url="https://a/",
    )
    assert _body(customers.calls.last.request) == {
        "name": "Asha Rao",
        "email": "asha@example.com",
        "fail_existing": "0",
        "notes": {"app_customer_id": "app-1"},
    }
    body = _body(links.calls.last.request)
    assert body["customer_id"] == "cust_C1"
    assert body["type"] == "link"
    assert body["amount"] == 100
    assert body["currency"] == "INR"
    assert body["subscription_registration"] == {
        "method": "card",
        "max_amount": 1_500_000,
        "frequency": "as_presented",
    }
    assert session.id == "inv_R1"
    assert session.url == "https://rzp.io/i/reg"
    assert session.customer_id == "cust_C1"
    assert session.status is SessionStatus.OPEN


def test_setup_reuses_a_known_customer(router: respx.Router, provider: RazorpayProvider) -> None:
    customers = router.post("/v1/customers").respond(200, json={"id": "cust_New"})
    router.post("/v1/subscription_registration/auth_links").respond(
        200, json={"id": "inv_R1", "short_url": "https://rzp.io/i/reg", "status": "issued"}
    )
    session = provider.create_setup_session(
        paywire.Customer(id="app-1", provider_customer_id="cust_Known"),
        success_url="https://a/",
        cancel_url="https://a/",
    )
    assert not customers.called
    assert session.customer_id == "cust_Known"


# -- charges -----------------------------------------------------------------------------------


def _charge_routes(
    router: respx.Router, payment: dict[str, Any] | None = None
) -> dict[str, respx.Route]:
    return {
        "customer": router.get("/v1/customers/cust_Abc123").respond(
            200, json={"id": "cust_Abc123", "email": "asha@example.com", "contact": "+919000090000"}
        ),
        "order": router.post("/v1/orders").respond(
            200, json={"id": "order_O1", "amount": 1234, "currency": "INR"}
        ),
        "recurring": router.post("/v1/payments/create/recurring").respond(
            200,
            json={
                "razorpay_payment_id": "pay_P1",
                "razorpay_order_id": "order_O1",
                "razorpay_signature": "ab",
            },
        ),
        "payment": router.get("/v1/payments/pay_P1").respond(200, json=payment or _payment()),
    }


def test_charge_makes_an_order_and_a_recurring_payment(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    routes = _charge_routes(router)
    result = provider.charge_payment_method(
        METHOD, INR_12_34, description="Renewal", invoice_id="INV-9", metadata={"plan": "pro"}
    )
    assert _body(routes["order"].calls.last.request) == {
        "amount": 1234,
        "currency": "INR",
        "payment_capture": True,
        "notes": {"plan": "pro", "invoice_id": "INV-9"},
    }
    assert _body(routes["recurring"].calls.last.request) == {
        "amount": 1234,
        "currency": "INR",
        "order_id": "order_O1",
        "customer_id": "cust_Abc123",
        "token": "token_Def456",
        "recurring": True,
        "notes": {"plan": "pro", "invoice_id": "INV-9"},
        "email": "asha@example.com",
        "contact": "+919000090000",
        "description": "Renewal",
    }
    assert result.id == "pay_P1"
    assert result.amount == INR_12_34
    assert result.status is PaymentStatus.SUCCEEDED
    assert result.raw_status == "captured"
    assert result.payment_method_id == METHOD.id
    assert result.invoice_id == "INV-9"
    assert result.created_at is not None


def test_a_bare_token_with_its_customer_is_accepted(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    routes = _charge_routes(router)
    bare = paywire.SavedPaymentMethod("razorpay", "token_Def456", "cust_Abc123")
    provider.charge_payment_method(bare, INR_12_34)
    assert _body(routes["recurring"].calls.last.request)["token"] == "token_Def456"


def test_a_payment_still_processing_is_pending(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    _charge_routes(router, _payment(status="created"))
    result = provider.charge_payment_method(METHOD, INR_12_34)
    assert result.status is PaymentStatus.PENDING


@pytest.mark.parametrize(
    ("method", "amount"),
    [
        (paywire.SavedPaymentMethod("razorpay", "token_Def456"), INR_12_34),
        (paywire.SavedPaymentMethod("razorpay", "cust_A/../../v1/x"), INR_12_34),
        (paywire.SavedPaymentMethod("razorpay", "cust_A/token_B", "cust_Other"), INR_12_34),
        (METHOD, paywire.Money("1.001", "KWD")),
    ],
)
def test_charge_refusals_happen_before_any_request(
    router: respx.Router,
    provider: RazorpayProvider,
    method: paywire.SavedPaymentMethod,
    amount: paywire.Money,
) -> None:
    with pytest.raises((paywire.InvalidRequest, paywire.InvalidAmount)):
        provider.charge_payment_method(method, amount)
    assert not router.calls


def test_a_declined_charge_keeps_razorpays_reason(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    _charge_routes(router)
    router.post("/v1/payments/create/recurring").respond(
        400,
        json={
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": "Your payment has been declined by your bank.",
                "source": "bank",
                "step": "payment_authorization",
                "reason": "card_declined",
                "metadata": {"payment_id": "pay_F1", "order_id": "order_O1"},
            }
        },
    )
    with pytest.raises(paywire.CardDeclined) as caught:
        provider.charge_payment_method(METHOD, INR_12_34)
    assert caught.value.raw_code == "card_declined"
    assert caught.value.http_status == 400


def test_a_key_becomes_the_order_receipt(router: respx.Router, provider: RazorpayProvider) -> None:
    routes = _charge_routes(router)
    lookup = router.get("/v1/orders").respond(
        200, json={"entity": "collection", "count": 0, "items": []}
    )
    provider.charge_payment_method(METHOD, INR_12_34, idempotency_key="renewal-2024-07")
    assert lookup.calls.last.request.url.params["receipt"] == "pw-renewal-2024-07"
    assert _body(routes["order"].calls.last.request)["receipt"] == "pw-renewal-2024-07"


def test_a_long_key_becomes_a_short_receipt(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    routes = _charge_routes(router)
    router.get("/v1/orders").respond(200, json={"items": []})
    provider.charge_payment_method(METHOD, INR_12_34, idempotency_key="k" * 100)
    receipt = _body(routes["order"].calls.last.request)["receipt"]
    assert receipt.startswith("pw-")
    assert len(receipt) == 40


def test_the_same_key_again_answers_with_the_first_payment(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    routes = _charge_routes(router)
    router.get("/v1/orders").respond(
        200,
        json={
            "items": [
                {
                    "id": "order_O1",
                    "receipt": "pw-key-0000001",
                    "amount": 1234,
                    "currency": "INR",
                    "status": "paid",
                }
            ]
        },
    )
    router.get("/v1/orders/order_O1/payments").respond(
        200, json={"items": [_payment(status="failed"), _payment(id="pay_First")]}
    )
    result = provider.charge_payment_method(METHOD, INR_12_34, idempotency_key="key-0000001")
    assert result.id == "pay_First"
    assert not routes["order"].called
    assert not routes["recurring"].called


def test_the_same_key_after_a_decline_raises_that_decline(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    routes = _charge_routes(router)
    router.get("/v1/orders").respond(
        200,
        json={
            "items": [
                {"id": "order_O1", "receipt": "pw-key-0000001", "amount": 1234, "currency": "INR"}
            ]
        },
    )
    router.get("/v1/orders/order_O1/payments").respond(
        200,
        json={
            "items": [
                _payment(
                    status="failed",
                    error_code="BAD_REQUEST_ERROR",
                    error_reason="insufficient_funds",
                    error_description="no money",
                )
            ]
        },
    )
    with pytest.raises(paywire.CardDeclined) as caught:
        provider.charge_payment_method(METHOD, INR_12_34, idempotency_key="key-0000001")
    assert caught.value.raw_code == "insufficient_funds"
    assert not routes["recurring"].called


def test_an_order_without_payment_is_paid_now(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    routes = _charge_routes(router)
    router.get("/v1/orders").respond(
        200,
        json={
            "items": [
                {"id": "order_O1", "receipt": "pw-key-0000001", "amount": 1234, "currency": "INR"}
            ]
        },
    )
    router.get("/v1/orders/order_O1/payments").respond(200, json={"items": []})
    result = provider.charge_payment_method(METHOD, INR_12_34, idempotency_key="key-0000001")
    assert result.id == "pay_P1"
    assert not routes["order"].called
    assert _body(routes["recurring"].calls.last.request)["order_id"] == "order_O1"


def test_a_key_reused_for_another_amount_is_refused(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    routes = _charge_routes(router)
    router.get("/v1/orders").respond(
        200,
        json={
            "items": [
                {"id": "order_O1", "receipt": "pw-key-0000001", "amount": 999, "currency": "INR"}
            ]
        },
    )
    with pytest.raises(paywire.InvalidRequest, match="another charge"):
        provider.charge_payment_method(METHOD, INR_12_34, idempotency_key="key-0000001")
    assert not routes["recurring"].called


def test_a_lost_answer_is_found_on_the_order(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    _charge_routes(router)
    router.post("/v1/payments/create/recurring").mock(
        side_effect=httpx.RemoteProtocolError("dropped")
    )
    router.get("/v1/orders/order_O1/payments").respond(200, json={"items": [_payment()]})
    result = provider.charge_payment_method(METHOD, INR_12_34)
    assert result.id == "pay_P1"
    assert result.status is PaymentStatus.SUCCEEDED


def test_a_lost_answer_with_no_payment_is_outcome_unknown_with_the_key(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    _charge_routes(router)
    router.get("/v1/orders").respond(200, json={"items": []})
    recurring = router.post("/v1/payments/create/recurring").mock(
        side_effect=httpx.RemoteProtocolError("dropped")
    )
    router.get("/v1/orders/order_O1/payments").respond(200, json={"items": []})
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        provider.charge_payment_method(METHOD, INR_12_34, idempotency_key="key-0000002")
    assert caught.value.idempotency_key == "key-0000002"
    assert recurring.call_count == 1  # a payment is never sent twice blindly


# -- refunds -----------------------------------------------------------------------------------


def _refund(**changes: Any) -> dict[str, Any]:
    refund = {
        "id": "rfnd_R1",
        "entity": "refund",
        "amount": 1234,
        "currency": "INR",
        "payment_id": "pay_P1",
        "status": "processed",
    }
    refund.update(changes)
    return refund


def test_full_refund_sends_the_key_header(router: respx.Router, provider: RazorpayProvider) -> None:
    route = router.post("/v1/payments/pay_P1/refund").respond(200, json=_refund())
    result = provider.create_refund("pay_P1", idempotency_key="refund-key-0001")
    request = route.calls.last.request
    assert request.headers["X-Refund-Idempotency"] == "refund-key-0001"
    assert _body(request) == {}
    assert result.id == "rfnd_R1"
    assert result.transaction_id == "pay_P1"
    assert result.amount == INR_12_34
    assert result.status is RefundStatus.SUCCEEDED


def test_refund_retries_keep_one_key(router: respx.Router, provider: RazorpayProvider) -> None:
    route = router.post("/v1/payments/pay_P1/refund")
    route.side_effect = [
        httpx.Response(502, json={"error": {"code": "SERVER_ERROR"}}),
        httpx.Response(200, json=_refund(status="pending")),
    ]
    result = provider.create_refund("pay_P1")
    keys = {call.request.headers["X-Refund-Idempotency"] for call in route.calls}
    assert len(keys) == 1
    assert route.call_count == 2
    assert result.status is RefundStatus.PENDING


def test_a_key_razorpay_would_refuse_is_digested(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    route = router.post("/v1/payments/pay_P1/refund").respond(200, json=_refund())
    provider.create_refund("pay_P1", idempotency_key="k:1")
    header = route.calls.last.request.headers["X-Refund-Idempotency"]
    assert len(header) >= 10
    assert header.isalnum()


def test_partial_refund_checks_the_currency_first(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    router.get("/v1/payments/pay_P1").respond(200, json=_payment())
    route = router.post("/v1/payments/pay_P1/refund").respond(200, json=_refund(amount=500))
    result = provider.create_refund(
        "pay_P1", paywire.Money("5", "INR"), reason="duplicate", metadata={"ticket": "T-1"}
    )
    assert _body(route.calls.last.request) == {
        "amount": 500,
        "notes": {"ticket": "T-1", "reason": "duplicate"},
    }
    assert result.amount == paywire.Money("5", "INR")
    with pytest.raises(paywire.InvalidAmount):
        provider.create_refund("pay_P1", paywire.Money("5", "USD"))
    assert route.call_count == 1


def test_refunding_a_refunded_payment_is_already_refunded(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    router.post("/v1/payments/pay_P1/refund").respond(
        400,
        json={
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": "The payment has been fully refunded already",
                "reason": "NA",
            }
        },
    )
    with pytest.raises(paywire.AlreadyRefunded):
        provider.create_refund("pay_P1")


def test_refund_of_an_unknown_payment_is_not_found(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    router.post("/v1/payments/pay_Nope/refund").mock(return_value=_not_found())
    with pytest.raises(paywire.NotFound):
        provider.create_refund("pay_Nope")
    with pytest.raises(paywire.InvalidRequest):
        provider.create_refund("pi_stripe_123")


# -- saved methods -----------------------------------------------------------------------------


def test_details_of_a_token(router: respx.Router, provider: RazorpayProvider) -> None:
    router.get("/v1/customers/cust_Abc123/tokens/token_Def456").respond(
        200,
        json={
            "id": "token_Def456",
            "method": "card",
            "card": {
                "last4": 11,
                "network": "MasterCard",
                "expiry_month": "02",
                "expiry_year": "2031",
            },
        },
    )
    info = provider.get_payment_method_details(METHOD.id)
    assert info.id == METHOD.id
    assert info.customer_id == "cust_Abc123"
    assert info.type == "card"
    assert info.brand == "mastercard"
    assert info.last4 == "0011"
    assert (info.exp_month, info.exp_year) == (2, 2031)


def test_detach_deletes_the_token_and_unknown_ids_are_not_found(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    route = router.delete("/v1/customers/cust_Abc123/tokens/token_Def456")
    route.side_effect = [httpx.Response(200, json={"deleted": True}), _not_found()]
    provider.detach_payment_method(METHOD.id)
    with pytest.raises(paywire.NotFound):
        provider.detach_payment_method(METHOD.id)
    router.get("/v1/customers/cust_Abc123/tokens/token_Def456").mock(return_value=_not_found())
    with pytest.raises(paywire.NotFound):
        provider.get_payment_method_details(METHOD.id)


# -- configuration -----------------------------------------------------------------------------


def test_without_credentials_nothing_is_sent(router: respx.Router) -> None:
    bare = build_provider(router, key_secret=None)
    try:
        assert not bare.available()
        with pytest.raises(paywire.ConfigurationError):
            bare.create_refund("pay_P1")
    finally:
        bare.close()
    assert not router.calls


def test_answers_that_are_not_json_objects(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    router.get("/v1/customers/cust_Abc123/tokens/token_Def456").respond(200, text="<html>")
    with pytest.raises(paywire.ProviderUnavailable):
        provider.get_payment_method_details(METHOD.id)
    router.post("/v1/payments/pay_P1/refund").respond(200, json=["not", "an", "object"])
    with pytest.raises(paywire.OutcomeUnknown):
        provider.create_refund("pay_P1", idempotency_key="refund-key-0002")
