"""The operations' requests and answers, against a respx router standing in for Razorpay, on
the sync path and on the async path."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import respx
from razorpay_helpers import (
    CUSTOMER,
    INR_12_34,
    KEY_ID,
    KEY_SECRET,
    METHOD,
    TOKEN,
    call,
    charge_routes,
    error_body,
    payment,
)

import paywire
from paywire import PaymentStatus, RefundStatus, SessionStatus
from paywire_razorpay import RazorpayProvider


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def _not_found() -> httpx.Response:
    return httpx.Response(400, json=error_body("The id provided does not exist"))


def _invoice(invoice_id: str = "INV-1", **changes: Any) -> paywire.Invoice:
    customer = paywire.Customer(
        id="app-1", email="asha@example.com", name="Asha Rao", phone="+91 98765 43210"
    )
    return paywire.Invoice(
        id=invoice_id,
        currency="INR",
        line_items=[
            paywire.LineItem("Plan", paywire.Money("10.00", "INR")),
            paywire.LineItem("Seat", paywire.Money("1.17", "INR"), quantity=2),
        ],
        customer=customer,
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


def _checkout(provider: RazorpayProvider, mode: str, invoice: paywire.Invoice, **kw: Any) -> Any:
    return call(
        provider,
        mode,
        "create_checkout_session",
        invoice,
        success_url="https://app.example/ok",
        cancel_url="https://app.example/cancel",
        **kw,
    )


# -- checkout ----------------------------------------------------------------------------------


def test_checkout_creates_a_payment_link(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    route = router.post("/v1/payment_links").respond(200, json=_link())
    session = _checkout(provider, mode, _invoice(metadata={"plan": "pro"}))
    request = route.calls.last.request
    assert _body(request) == {
        "amount": 1234,
        "currency": "INR",
        "reference_id": "INV-1",
        "description": "Invoice INV-1",
        "notes": {"plan": "pro", "invoice_id": "INV-1"},
        "callback_url": "https://app.example/ok",
        "callback_method": "get",
        "customer": {"name": "Asha Rao", "email": "asha@example.com", "contact": "+919876543210"},
    }
    expected = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "Idempotency-Key" not in request.headers
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
        (
            paywire.Invoice(
                "INV-2",
                "INR",
                [paywire.LineItem("Plan", paywire.Money("1", "INR"))],
                customer=paywire.Customer(id="a", phone="12"),
            ),
            {},
        ),
    ],
)
def test_checkout_refusals_happen_before_any_request(
    router: respx.Router,
    provider: RazorpayProvider,
    invoice: paywire.Invoice,
    kwargs: dict[str, Any],
    mode: str,
) -> None:
    with pytest.raises(paywire.InvalidRequest):
        _checkout(provider, mode, invoice, **kwargs)
    assert not router.calls


def test_checkout_again_for_the_same_invoice_returns_its_open_link(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.post("/v1/payment_links").respond(
        400,
        json=error_body(
            "payment link creation with reference ID already attempted", field="reference_id"
        ),
    )
    lookup = router.get("/v1/payment_links").respond(
        200,
        json={"payment_links": [_link(id="plink_Other", reference_id="INV-2"), _link()]},
    )
    session = _checkout(provider, mode, _invoice())
    assert session.id == "plink_L1"
    assert lookup.calls.last.request.url.params["reference_id"] == "INV-1"


def test_checkout_again_after_the_link_was_paid_is_refused(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.post("/v1/payment_links").respond(
        400, json=error_body("payment link creation with reference ID already attempted")
    )
    router.get("/v1/payment_links").respond(200, json={"payment_links": [_link(status="paid")]})
    with pytest.raises(paywire.InvalidRequest, match="already attempted"):
        _checkout(provider, mode, _invoice())


def test_checkout_is_retried_after_a_server_error(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    """Safe to send again: Razorpay keeps reference_id unique."""
    route = router.post("/v1/payment_links")
    route.side_effect = [
        httpx.Response(503, json=error_body("down", code="SERVER_ERROR")),
        httpx.Response(200, json=_link()),
    ]
    session = _checkout(provider, mode, _invoice())
    assert session.id == "plink_L1"
    assert route.call_count == 2


# -- setup -------------------------------------------------------------------------------------


def _setup(provider: RazorpayProvider, mode: str, customer: paywire.Customer) -> Any:
    return call(
        provider,
        mode,
        "create_setup_session",
        customer,
        success_url="https://a/",
        cancel_url="https://a/",
    )


def _registration(**changes: Any) -> dict[str, Any]:
    invoice = {
        "id": "inv_R1",
        "entity": "invoice",
        "short_url": "https://rzp.io/i/reg",
        "status": "issued",
        "customer_id": "cust_C1",
        "payment_id": None,
        "expire_by": None,
    }
    invoice.update(changes)
    return invoice


def test_setup_sends_a_registration_link_with_the_customer(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    customers = router.post("/v1/customers")
    links = router.post("/v1/subscription_registration/auth_links").respond(
        200, json=_registration()
    )
    session = _setup(
        provider,
        mode,
        paywire.Customer(
            id="app-1", email="asha@example.com", name="Asha Rao", phone="+919876543210"
        ),
    )
    assert not customers.called
    assert _body(links.calls.last.request) == {
        "customer": {"name": "Asha Rao", "email": "asha@example.com", "contact": "+919876543210"},
        "type": "link",
        "amount": 100,
        "currency": "INR",
        "description": "Save a card for later payments",
        "subscription_registration": {
            "method": "card",
            "max_amount": 1_500_000,
            "frequency": "as_presented",
        },
        "sms_notify": False,
        "email_notify": False,
        "notes": {"app_customer_id": "app-1"},
    }
    assert session.id == "inv_R1"
    assert session.url == "https://rzp.io/i/reg"
    assert session.customer_id == "cust_C1"
    assert session.status is SessionStatus.OPEN


def test_setup_fills_what_is_missing_from_a_known_customer(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    known = router.get("/v1/customers/cust_Known").respond(
        200,
        json={"id": "cust_Known", "name": "Asha Rao", "email": "a@x.in", "contact": "9876543210"},
    )
    links = router.post("/v1/subscription_registration/auth_links").respond(
        200, json=_registration(customer_id="cust_Known")
    )
    session = _setup(
        provider,
        mode,
        paywire.Customer(id="app-1", name="Asha R.", provider_customer_id="cust_Known"),
    )
    assert known.called
    assert _body(links.calls.last.request)["customer"] == {
        "name": "Asha R.",
        "email": "a@x.in",
        "contact": "9876543210",
    }
    assert session.customer_id == "cust_Known"


# -- completing a setup ------------------------------------------------------------------------


def _paid_registration(router: respx.Router) -> dict[str, respx.Route]:
    return {
        "invoice": router.get("/v1/invoices/inv_R1").respond(
            200, json=_registration(status="paid", payment_id="pay_Auth1", customer_id=CUSTOMER)
        ),
        "payment": router.get("/v1/payments/pay_Auth1").respond(
            200, json=payment(id="pay_Auth1", amount=100)
        ),
    }


@pytest.mark.parametrize(
    "source",
    [
        paywire.SetupSession("razorpay", "inv_R1", "https://rzp.io/i/reg", CUSTOMER),
        "inv_R1",
    ],
    ids=["session", "id"],
)
def test_complete_setup_reads_the_links_payment(
    router: respx.Router, provider: RazorpayProvider, mode: str, source: Any
) -> None:
    _paid_registration(router)
    saved = call(provider, mode, "complete_setup", source)
    assert saved == paywire.SavedPaymentMethod("razorpay", TOKEN, CUSTOMER)


def test_complete_setup_before_the_customer_paid_says_where_to_send_them(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.get("/v1/invoices/inv_R1").respond(200, json=_registration())
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        call(provider, mode, "complete_setup", "inv_R1")
    assert caught.value.action_url == "https://rzp.io/i/reg"


def test_complete_setup_of_an_expired_link_is_refused(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.get("/v1/invoices/inv_R1").respond(200, json=_registration(status="expired"))
    with pytest.raises(paywire.InvalidRequest, match="expired"):
        call(provider, mode, "complete_setup", "inv_R1")


def _setup_event(raw_type: str, **fields: Any) -> paywire.WebhookEvent:
    return paywire.WebhookEvent(
        "razorpay", "evt_1", paywire.EventType.SETUP_COMPLETED, raw_type, **fields
    )


def test_complete_setup_from_an_event_naming_token_and_customer_sends_nothing(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    event = _setup_event("invoice.paid", payment_method_id=TOKEN, customer_id=CUSTOMER)
    saved = call(provider, mode, "complete_setup", event)
    assert saved == paywire.SavedPaymentMethod("razorpay", TOKEN, CUSTOMER)
    assert not router.calls


def test_complete_setup_from_an_event_with_its_link_reads_the_link(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    _paid_registration(router)
    event = _setup_event("invoice.paid", payment_method_id=TOKEN, session_id="inv_R1")
    saved = call(provider, mode, "complete_setup", event)
    assert saved.customer_id == CUSTOMER


@pytest.mark.parametrize(
    "source",
    [
        _setup_event("token.confirmed", payment_method_id=TOKEN),
        paywire.WebhookEvent("razorpay", "e", paywire.EventType.PAYMENT_SUCCEEDED, "order.paid"),
        "inv_R1/../../v1/payments",
        "plink_L1",
    ],
    ids=["token-without-customer", "not-a-setup", "path", "not-a-registration-link"],
)
def test_complete_setup_refusals_happen_before_any_request(
    router: respx.Router, provider: RazorpayProvider, mode: str, source: Any
) -> None:
    with pytest.raises(paywire.InvalidRequest):
        call(provider, mode, "complete_setup", source)
    assert not router.calls


# -- charges -----------------------------------------------------------------------------------


def _charge(provider: RazorpayProvider, mode: str, method: Any = METHOD, **kw: Any) -> Any:
    return call(provider, mode, "charge_payment_method", method, kw.pop("amount", INR_12_34), **kw)


def test_charge_makes_an_order_and_a_recurring_payment(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    result = _charge(
        provider,
        mode,
        description="Renewal",
        invoice_id="INV-9",
        metadata={"plan": "pro"},
        idempotency_key="renewal-2024-07",
    )
    assert routes["lookup"].calls.last.request.url.params["receipt"] == "pw-renewal-2024-07"
    assert _body(routes["order"].calls.last.request) == {
        "amount": 1234,
        "currency": "INR",
        "receipt": "pw-renewal-2024-07",
        "payment_capture": True,
        "notes": {"plan": "pro", "invoice_id": "INV-9"},
    }
    assert _body(routes["recurring"].calls.last.request) == {
        "email": "asha@example.com",
        "contact": "+919000090000",
        "amount": 1234,
        "currency": "INR",
        "order_id": "order_O1",
        "customer_id": CUSTOMER,
        "token": TOKEN,
        "recurring": True,
        "notes": {"plan": "pro", "invoice_id": "INV-9"},
        "description": "Renewal",
    }
    assert result.id == "pay_P1"
    assert result.amount == INR_12_34
    assert result.status is PaymentStatus.SUCCEEDED
    assert result.raw_status == "captured"
    assert result.payment_method_id == TOKEN
    assert result.invoice_id == "INV-9"
    assert result.created_at is not None


def test_without_a_key_the_kernels_key_is_the_receipt(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    _charge(provider, mode)
    receipt = routes["lookup"].calls.last.request.url.params["receipt"]
    assert receipt.startswith("pw-")
    assert len(receipt) > len("pw-") + 30
    assert _body(routes["order"].calls.last.request)["receipt"] == receipt


def test_an_old_composite_id_is_still_charged(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    stored = paywire.SavedPaymentMethod("razorpay", f"{CUSTOMER}/{TOKEN}")
    result = _charge(provider, mode, stored)
    assert _body(routes["recurring"].calls.last.request)["token"] == TOKEN
    assert result.payment_method_id == f"{CUSTOMER}/{TOKEN}"


@pytest.mark.parametrize("status", ["created", "authorized"])
def test_a_payment_still_to_be_debited_is_pending(
    router: respx.Router, provider: RazorpayProvider, mode: str, status: str
) -> None:
    charge_routes(router, payment(status=status))
    result = _charge(provider, mode)
    assert result.status is PaymentStatus.PENDING
    assert result.raw_status == status


@pytest.mark.parametrize(
    ("method", "amount"),
    [
        (paywire.SavedPaymentMethod("razorpay", TOKEN), INR_12_34),
        (paywire.SavedPaymentMethod("razorpay", "cust_A/../../v1/x"), INR_12_34),
        (paywire.SavedPaymentMethod("razorpay", "cust_A/token_B", "cust_Other"), INR_12_34),
        (paywire.SavedPaymentMethod("razorpay", "pm_123", CUSTOMER), INR_12_34),
        (METHOD, paywire.Money("1.001", "KWD")),
        (METHOD, paywire.Money("1.23", "KWD")),
        (METHOD, paywire.Money("500", "JPY")),
        (METHOD, paywire.Money("5", "USD")),
    ],
)
def test_charge_refusals_happen_before_any_request(
    router: respx.Router,
    provider: RazorpayProvider,
    mode: str,
    method: paywire.SavedPaymentMethod,
    amount: paywire.Money,
) -> None:
    with pytest.raises((paywire.InvalidRequest, paywire.InvalidAmount)):
        _charge(provider, mode, method, amount=amount)
    assert not router.calls


def test_a_declined_charge_keeps_razorpays_reason(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    charge_routes(router)
    router.post("/v1/payments/create/recurring").respond(
        400,
        json=error_body(
            "Your payment has been declined by your bank.",
            reason="card_declined",
            source="bank",
            step="payment_authorization",
            metadata={"payment_id": "pay_F1", "order_id": "order_O1"},
        ),
    )
    with pytest.raises(paywire.CardDeclined) as caught:
        _charge(provider, mode)
    assert caught.value.raw_code == "card_declined"
    assert caught.value.http_status == 400
    assert not caught.value.retryable


def test_a_gateway_error_is_read_from_the_orders_payment(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    """A 502 may come after the payment was made: the order says what happened."""
    routes = charge_routes(router)
    router.post("/v1/payments/create/recurring").respond(
        502,
        json=error_body(
            "Payment processing failed", code="GATEWAY_ERROR", reason="gateway_technical_error"
        ),
    )
    router.get("/v1/orders/order_O1/payments").respond(
        200,
        json={
            "items": [
                payment(
                    status="failed",
                    error_code="GATEWAY_ERROR",
                    error_reason="gateway_technical_error",
                    error_description="Payment processing failed",
                )
            ]
        },
    )
    with pytest.raises(paywire.CardDeclined) as caught:
        _charge(provider, mode)
    assert caught.value.raw_code == "gateway_technical_error"
    assert caught.value.retryable
    assert routes["recurring"].call_count == 1


def _earlier_order(router: respx.Router, **changes: Any) -> None:
    order = {"id": "order_O1", "receipt": "pw-key-0000001", "amount": 1234, "currency": "INR"}
    order.update(changes)
    router.get("/v1/orders").respond(200, json={"items": [order]})


def test_the_same_key_again_answers_with_the_first_payment(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    _earlier_order(router, status="paid")
    router.get("/v1/orders/order_O1/payments").respond(
        200, json={"items": [payment(status="failed"), payment(id="pay_First")]}
    )
    result = _charge(provider, mode, idempotency_key="key-0000001")
    assert result.id == "pay_First"
    assert not routes["customer"].called
    assert not routes["order"].called
    assert not routes["recurring"].called


def test_the_same_key_after_a_decline_raises_that_decline(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    _earlier_order(router)
    router.get("/v1/orders/order_O1/payments").respond(
        200,
        json={
            "items": [
                payment(
                    status="failed",
                    error_code="BAD_REQUEST_ERROR",
                    error_reason="insufficient_funds",
                    error_description="no money",
                )
            ]
        },
    )
    with pytest.raises(paywire.CardDeclined) as caught:
        _charge(provider, mode, idempotency_key="key-0000001")
    assert caught.value.raw_code == "insufficient_funds"
    assert not routes["recurring"].called


def test_an_order_without_payment_is_paid_now(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    _earlier_order(router)
    router.get("/v1/orders/order_O1/payments").respond(200, json={"items": []})
    result = _charge(provider, mode, idempotency_key="key-0000001")
    assert result.id == "pay_P1"
    assert not routes["order"].called
    assert _body(routes["recurring"].calls.last.request)["order_id"] == "order_O1"


def test_a_key_reused_for_another_amount_is_refused(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    _earlier_order(router, amount=999)
    with pytest.raises(paywire.InvalidRequest, match="another charge"):
        _charge(provider, mode, idempotency_key="key-0000001")
    assert not routes["recurring"].called


def test_a_key_reused_for_another_card_is_refused(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    charge_routes(router)
    _earlier_order(router)
    router.get("/v1/orders/order_O1/payments").respond(
        200, json={"items": [payment(token_id="token_Other", customer_id="cust_Other")]}
    )
    with pytest.raises(paywire.InvalidRequest, match="another saved card"):
        _charge(provider, mode, idempotency_key="key-0000001")


def test_a_lost_answer_is_found_on_the_order(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    charge_routes(router)
    router.post("/v1/payments/create/recurring").mock(
        side_effect=httpx.RemoteProtocolError("dropped")
    )
    router.get("/v1/orders/order_O1/payments").respond(200, json={"items": [payment()]})
    result = _charge(provider, mode)
    assert result.id == "pay_P1"
    assert result.status is PaymentStatus.SUCCEEDED


def test_a_lost_answer_with_no_payment_is_outcome_unknown_with_the_key(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    routes["recurring"].mock(side_effect=httpx.RemoteProtocolError("dropped"))
    router.get("/v1/orders/order_O1/payments").respond(200, json={"items": []})
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        _charge(provider, mode, idempotency_key="key-0000002")
    assert caught.value.idempotency_key == "key-0000002"
    assert routes["recurring"].call_count == 1  # a payment is never sent twice blindly


def test_a_lost_order_is_looked_up_before_anything_else(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    routes["order"].mock(side_effect=httpx.ReadTimeout("lost"))
    lookup = routes["lookup"]
    lookup.side_effect = [
        httpx.Response(200, json={"items": []}),
        httpx.Response(200, json={"items": []}),
    ]
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        _charge(provider, mode, idempotency_key="key-0000003")
    assert caught.value.idempotency_key == "key-0000003"
    assert routes["order"].call_count == 1
    assert lookup.call_count == 2
    assert not routes["recurring"].called


def test_a_made_payment_whose_status_cannot_be_read_is_outcome_unknown(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router)
    routes["payment"].respond(503, json=error_body("down", code="SERVER_ERROR"))
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        _charge(provider, mode, idempotency_key="key-0000004")
    assert caught.value.idempotency_key == "key-0000004"
    assert routes["payment"].call_count == 3  # a read is retried


# -- refunds -----------------------------------------------------------------------------------


def _refund_entity(**changes: Any) -> dict[str, Any]:
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


def test_full_refund_sends_the_key_header(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    route = router.post("/v1/payments/pay_P1/refund").respond(200, json=_refund_entity())
    result = call(provider, mode, "create_refund", "pay_P1", idempotency_key="refund-key-0001")
    request = route.calls.last.request
    assert request.headers["X-Refund-Idempotency"] == "refund-key-0001"
    assert _body(request) == {}
    assert result.id == "rfnd_R1"
    assert result.transaction_id == "pay_P1"
    assert result.amount == INR_12_34
    assert result.status is RefundStatus.SUCCEEDED


def test_refund_retries_keep_one_key_and_pending_is_pending(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    route = router.post("/v1/payments/pay_P1/refund")
    route.side_effect = [
        httpx.Response(502, json=error_body("down", code="SERVER_ERROR")),
        httpx.Response(200, json=_refund_entity(status="pending")),
    ]
    result = call(provider, mode, "create_refund", "pay_P1")
    keys = {c.request.headers["X-Refund-Idempotency"] for c in route.calls}
    assert len(keys) == 1
    assert route.call_count == 2
    assert result.status is RefundStatus.PENDING
    assert result.raw_status == "pending"


def test_a_refund_whose_answer_is_lost_is_outcome_unknown_with_the_callers_key(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    route = router.post("/v1/payments/pay_P1/refund").mock(side_effect=httpx.ReadError("lost"))
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        call(provider, mode, "create_refund", "pay_P1", idempotency_key="k:1")
    assert caught.value.idempotency_key == "k:1"
    assert route.call_count == 3  # keyed: Razorpay deduplicates, so it is resent


def test_a_key_razorpay_would_refuse_is_digested(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    route = router.post("/v1/payments/pay_P1/refund").respond(200, json=_refund_entity())
    call(provider, mode, "create_refund", "pay_P1", idempotency_key="k:1")
    header = route.calls.last.request.headers["X-Refund-Idempotency"]
    assert len(header) >= 10
    assert header.isalnum()


def test_partial_refund_checks_the_currency_first(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.get("/v1/payments/pay_P1").respond(200, json=payment())
    route = router.post("/v1/payments/pay_P1/refund").respond(200, json=_refund_entity(amount=500))
    result = call(
        provider,
        mode,
        "create_refund",
        "pay_P1",
        paywire.Money("5", "INR"),
        reason="duplicate",
        metadata={"ticket": "T-1"},
    )
    assert _body(route.calls.last.request) == {
        "amount": 500,
        "notes": {"ticket": "T-1", "reason": "duplicate"},
    }
    assert result.amount == paywire.Money("5", "INR")
    with pytest.raises(paywire.InvalidAmount):
        call(provider, mode, "create_refund", "pay_P1", paywire.Money("5", "USD"))
    assert route.call_count == 1


def test_refunding_a_refunded_payment_is_already_refunded(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.post("/v1/payments/pay_P1/refund").respond(
        400, json=error_body("The payment has been fully refunded already")
    )
    with pytest.raises(paywire.AlreadyRefunded):
        call(provider, mode, "create_refund", "pay_P1")


def test_refund_of_an_unknown_payment_is_not_found(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.post("/v1/payments/pay_Nope/refund").mock(return_value=_not_found())
    with pytest.raises(paywire.NotFound):
        call(provider, mode, "create_refund", "pay_Nope")
    with pytest.raises(paywire.InvalidRequest):
        call(provider, mode, "create_refund", "pi_stripe_123")


# -- saved methods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [METHOD, f"{CUSTOMER}/{TOKEN}", paywire.SavedPaymentMethod("razorpay", f"{CUSTOMER}/{TOKEN}")],
    ids=["saved-method", "old-id", "old-id-in-saved-method"],
)
def test_details_of_a_token(
    router: respx.Router, provider: RazorpayProvider, mode: str, method: Any
) -> None:
    router.get(f"/v1/customers/{CUSTOMER}/tokens/{TOKEN}").respond(
        200,
        json={
            "id": TOKEN,
            "method": "card",
            "card": {
                "last4": 11,
                "network": "MasterCard",
                "expiry_month": "02",
                "expiry_year": "2031",
            },
        },
    )
    info = call(provider, mode, "get_payment_method_details", method)
    assert info.id == (method if isinstance(method, str) else method.id)
    assert info.customer_id == CUSTOMER
    assert info.type == "card"
    assert info.brand == "mastercard"
    assert info.last4 == "0011"
    assert (info.exp_month, info.exp_year) == (2, 2031)


def test_a_bare_token_id_is_refused_before_any_request(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    with pytest.raises(paywire.InvalidRequest, match="customer_id"):
        call(provider, mode, "get_payment_method_details", TOKEN)
    with pytest.raises(paywire.InvalidRequest, match="customer_id"):
        call(provider, mode, "detach_payment_method", TOKEN)
    assert not router.calls


def test_detach_deletes_the_token_and_unknown_ids_are_not_found(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    route = router.delete(f"/v1/customers/{CUSTOMER}/tokens/{TOKEN}")
    route.side_effect = [httpx.Response(200, json={"deleted": True}), _not_found()]
    assert call(provider, mode, "detach_payment_method", METHOD) is None
    with pytest.raises(paywire.NotFound):
        call(provider, mode, "detach_payment_method", METHOD)
    router.get(f"/v1/customers/{CUSTOMER}/tokens/{TOKEN}").mock(return_value=_not_found())
    with pytest.raises(paywire.NotFound):
        call(provider, mode, "get_payment_method_details", METHOD)


# -- configuration and odd answers -------------------------------------------------------------


def test_without_credentials_nothing_is_sent(router: respx.Router, mode: str) -> None:
    from razorpay_helpers import build_provider

    bare = build_provider(httpx.MockTransport(router.handler), key_secret=None)
    try:
        assert not bare.available()
        with pytest.raises(paywire.ConfigurationError, match="KEY_SECRET"):
            call(bare, mode, "create_refund", "pay_P1")
    finally:
        bare.close()
    assert not router.calls


def test_answers_that_are_not_json_objects(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.get(f"/v1/customers/{CUSTOMER}/tokens/{TOKEN}").respond(200, text="<html>")
    with pytest.raises(paywire.ProviderUnavailable):
        call(provider, mode, "get_payment_method_details", METHOD)
    router.post("/v1/payments/pay_P1/refund").respond(200, json=["not", "an", "object"])
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        call(provider, mode, "create_refund", "pay_P1", idempotency_key="refund-key-0002")
    assert caught.value.idempotency_key == "refund-key-0002"


def test_the_async_path_is_native_not_a_worker_thread() -> None:
    import threading

    threads: set[str] = set()
    router = respx.Router(base_url="https://api.razorpay.com", assert_all_called=False)
    charge_routes(router)

    def handler(request: httpx.Request) -> httpx.Response:
        threads.add(threading.current_thread().name)
        return router.handler(request)

    from razorpay_helpers import build_provider

    provider = build_provider(httpx.MockTransport(handler))
    try:
        result = call(provider, "async", "charge_payment_method", METHOD, INR_12_34)
    finally:
        provider.close()
    assert result.id == "pay_P1"
    assert threads == {threading.current_thread().name}
