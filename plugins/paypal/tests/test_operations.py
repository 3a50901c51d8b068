"""Each operation's request, and how PayPal's answers become paywire results and errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from paypal_fakes import FakePayPal, body_of, json_response, paypal_error

import paywire
from paywire import Money, PaymentStatus, RefundStatus
from paywire_paypal import PayPalProvider

ORDERS = "/v2/checkout/orders"


def _invoice(**kwargs: Any) -> paywire.Invoice:
    return paywire.Invoice(
        id="INV-1001",
        currency="USD",
        line_items=[
            paywire.LineItem("Pro plan", Money("10.00", "USD")),
            paywire.LineItem("Seat", Money("1.17", "USD"), quantity=2),
        ],
        customer=paywire.Customer(id="user-42", email="a@example.com"),
        description="Order 1001",
        **kwargs,
    )


def _order(status: str = "PAYER_ACTION_REQUIRED", **extra: Any) -> dict[str, Any]:
    return {
        "id": "5O190127TN364715T",
        "status": status,
        "links": [
            {"href": "https://api/v2/checkout/orders/5O1", "rel": "self"},
            {"href": "https://www.paypal.com/checkoutnow?token=5O1", "rel": "payer-action"},
        ],
        **extra,
    }


def _captured(status: str = "COMPLETED", value: str = "12.34", **capture: Any) -> dict[str, Any]:
    return {
        "id": "ORDER2",
        "status": "COMPLETED",
        "purchase_units": [
            {
                "reference_id": "default",
                "invoice_id": "INV-9",
                "payments": {
                    "captures": [
                        {
                            "id": "CAP1",
                            "status": status,
                            "amount": {"currency_code": "USD", "value": value},
                            "create_time": "2026-11-27T10:00:00Z",
                            **capture,
                        }
                    ]
                },
            }
        ],
    }


# -- checkout ----------------------------------------------------------------------------------


def test_checkout_builds_an_order_for_the_invoice(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("POST", ORDERS, 201, _order())
    session = provider.create_checkout_session(
        _invoice(),
        success_url="https://shop/ok",
        cancel_url="https://shop/cancel",
        idempotency_key="idem-1",
    )
    assert session.id == "5O190127TN364715T"
    assert session.url == "https://www.paypal.com/checkoutnow?token=5O1"
    assert session.invoice_id == "INV-1001"
    assert session.amount == Money("12.34", "USD")
    (request,) = fake.sent("POST", ORDERS)
    assert request.headers["PayPal-Request-Id"] == "idem-1"
    assert request.headers["Prefer"] == "return=representation"
    body = body_of(request)
    assert body["intent"] == "CAPTURE"
    (unit,) = body["purchase_units"]
    assert unit["reference_id"] == unit["invoice_id"] == unit["custom_id"] == "INV-1001"
    assert unit["amount"] == {
        "currency_code": "USD",
        "value": "12.34",
        "breakdown": {"item_total": {"currency_code": "USD", "value": "12.34"}},
    }
    assert [(i["name"], i["quantity"], i["unit_amount"]["value"]) for i in unit["items"]] == [
        ("Pro plan", "1", "10.00"),
        ("Seat", "2", "1.17"),
    ]
    assert unit["description"] == "Order 1001"
    context = body["payment_source"]["paypal"]["experience_context"]
    assert context == {
        "return_url": "https://shop/ok",
        "cancel_url": "https://shop/cancel",
        "user_action": "PAY_NOW",
        "shipping_preference": "NO_SHIPPING",
    }
    assert "attributes" not in body["payment_source"]["paypal"]


def test_checkout_can_vault_the_wallet(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _order())
    invoice = paywire.Invoice(
        id="INV-2",
        currency="JPY",
        line_items=[paywire.LineItem("Plan", Money("500", "JPY"))],
        customer=paywire.Customer(id="u1", provider_customer_id="cust_99"),
    )
    provider.create_checkout_session(
        invoice, success_url="https://s", cancel_url="https://c", save_payment_method=True
    )
    body = body_of(fake.sent("POST", ORDERS)[0])
    assert body["purchase_units"][0]["amount"]["value"] == "500"
    attributes = body["payment_source"]["paypal"]["attributes"]
    assert attributes["vault"]["store_in_vault"] == "ON_SUCCESS"
    assert attributes["vault"]["usage_type"] == "MERCHANT"
    assert attributes["customer"] == {"id": "cust_99"}
    key = fake.sent("POST", ORDERS)[0].headers["PayPal-Request-Id"]
    assert 1 <= len(key) <= 108  # one is made when the caller gives none


def test_checkout_without_approval_link_is_an_error(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("POST", ORDERS, 201, {"id": "X", "status": "CREATED", "links": []})
    with pytest.raises(paywire.ProviderError):
        provider.create_checkout_session(
            _invoice(), success_url="https://s", cancel_url="https://c"
        )


def test_checkout_amount_paypal_cannot_take_is_refused_before_http(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    invoice = paywire.Invoice(
        id="INV-3", currency="HUF", line_items=[paywire.LineItem("x", Money("10.50", "HUF"))]
    )
    with pytest.raises(paywire.InvalidAmount):
        provider.create_checkout_session(invoice, success_url="https://s", cancel_url="https://c")
    assert not fake.requests


# -- capture -----------------------------------------------------------------------------------


def test_capture_order(fake: FakePayPal, provider: PayPalProvider) -> None:
    path = "/v2/checkout/orders/ORDER2/capture"
    fake.answer("POST", path, 201, _captured())
    result = provider.capture_order("ORDER2")
    assert result.id == "CAP1"
    assert result.amount == Money("12.34", "USD")
    assert result.status is PaymentStatus.SUCCEEDED
    assert result.invoice_id == "INV-9"
    (request,) = fake.sent("POST", path)
    assert request.content == b""
    assert request.headers["Content-Type"] == "application/json"
    # The default key is derived from the order: a second capture call is the same request.
    assert request.headers["PayPal-Request-Id"].startswith("paywire-capture-ORDER2")


def test_capture_of_a_captured_order_returns_its_capture(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer(
        "POST",
        "/v2/checkout/orders/ORDER2/capture",
        422,
        paypal_error(422, "ORDER_ALREADY_CAPTURED"),
    )
    fake.answer("GET", "/v2/checkout/orders/ORDER2", 200, _captured())
    assert provider.capture_order("ORDER2", idempotency_key="other").id == "CAP1"


def test_capture_not_approved(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "POST", "/v2/checkout/orders/O/capture", 422, paypal_error(422, "ORDER_NOT_APPROVED")
    )
    with pytest.raises(paywire.InvalidRequest) as caught:
        provider.capture_order("O")
    assert caught.value.raw_code == "ORDER_NOT_APPROVED"


def test_order_ids_cannot_change_the_path(fake: FakePayPal, provider: PayPalProvider) -> None:
    with pytest.raises(paywire.NotFound):
        provider.capture_order("../../v1/oauth2/token")
    posted = [r.url.raw_path for r in fake.requests if r.method == "POST"]
    assert b"/v2/checkout/orders/..%2F..%2Fv1%2Foauth2%2Ftoken/capture" in posted


def test_follow_up_captures_approved_orders(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", "/v2/checkout/orders/ORDER2/capture", 201, _captured())
    approved = paywire.WebhookEvent(
        provider="paypal",
        id="WH-1",
        type=paywire.EventType.CHECKOUT_COMPLETED,
        raw_type="CHECKOUT.ORDER.APPROVED",
        session_id="ORDER2",
    )
    provider.follow_up(approved)
    completed = paywire.WebhookEvent(
        provider="paypal",
        id="WH-2",
        type=paywire.EventType.CHECKOUT_COMPLETED,
        raw_type="CHECKOUT.ORDER.COMPLETED",
        session_id="ORDER2",
    )
    provider.follow_up(completed)  # not an approval: nothing to capture
    assert len(fake.sent("POST", "/v2/checkout/orders/ORDER2/capture")) == 1


def test_follow_up_swallows_final_capture_failures_only(
    fake: FakePayPal, provider: PayPalProvider, caplog: pytest.LogCaptureFixture
) -> None:
    event = paywire.WebhookEvent(
        provider="paypal",
        id="WH-1",
        type=paywire.EventType.CHECKOUT_COMPLETED,
        raw_type="CHECKOUT.ORDER.APPROVED",
        session_id="O",
    )
    path = "/v2/checkout/orders/O/capture"
    fake.answer("POST", path, 422, paypal_error(422, "INSTRUMENT_DECLINED"))
    provider.follow_up(event)  # final: logged, so the event is not redelivered for nothing
    assert "could not be captured" in caplog.text
    fake.answer("POST", path, 503, paypal_error(503, None, "SERVICE_UNAVAILABLE"))
    with pytest.raises(paywire.OutcomeUnknown):  # transient: the event comes back
        provider.follow_up(event)


# -- setup -------------------------------------------------------------------------------------


def test_setup_session_and_completion(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "POST",
        "/v3/vault/setup-tokens",
        201,
        {
            "id": "5C991763VB2781612",
            "customer": {"id": "customer_1"},
            "status": "PAYER_ACTION_REQUIRED",
            "links": [{"href": "https://www.paypal.com/agreements/approve?x=1", "rel": "approve"}],
        },
    )
    customer = paywire.Customer(id="user-42")
    session = provider.create_setup_session(
        customer, success_url="https://s", cancel_url="https://c"
    )
    assert session.id == "5C991763VB2781612"
    assert session.url == "https://www.paypal.com/agreements/approve?x=1"
    assert session.customer_id == "customer_1"
    body = body_of(fake.sent("POST", "/v3/vault/setup-tokens")[0])
    wallet = body["payment_source"]["paypal"]
    assert wallet["usage_type"] == "MERCHANT"
    assert wallet["experience_context"]["return_url"] == "https://s"
    assert wallet["experience_context"]["cancel_url"] == "https://c"
    assert body["customer"] == {"merchant_customer_id": "user-42"}

    fake.answer(
        "POST",
        "/v3/vault/payment-tokens",
        201,
        {"id": "8kk8451t", "customer": {"id": "customer_1"}, "payment_source": {"paypal": {}}},
    )
    saved = provider.complete_setup(session.id)
    assert saved == paywire.SavedPaymentMethod("paypal", "8kk8451t", "customer_1")
    request = fake.sent("POST", "/v3/vault/payment-tokens")[0]
    assert body_of(request) == {
        "payment_source": {"token": {"id": "5C991763VB2781612", "type": "SETUP_TOKEN"}}
    }
    assert "5C991763VB2781612" in request.headers["PayPal-Request-Id"]


def test_app_ids_paypal_would_refuse_are_not_sent(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer(
        "POST",
        "/v3/vault/setup-tokens",
        201,
        {"id": "ST2", "links": [{"href": "https://pp/approve", "rel": "approve"}]},
    )
    customer = paywire.Customer(id="user 42+x", provider_customer_id="cust_7")
    provider.create_setup_session(customer, success_url="https://s", cancel_url="https://c")
    body = body_of(fake.sent("POST", "/v3/vault/setup-tokens")[0])
    assert body["customer"] == {"id": "cust_7"}


def test_complete_setup_before_approval(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", "/v3/vault/payment-tokens", 422, paypal_error(422, "PAYER_ACTION_REQUIRED"))
    with pytest.raises(paywire.AuthenticationRequired):
        provider.complete_setup("ST1")


# -- charge ------------------------------------------------------------------------------------

METHOD = paywire.SavedPaymentMethod("paypal", "8kk8451t", "customer_1")


def test_charge_is_a_one_step_vault_order(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _captured())
    result = provider.charge_payment_method(
        METHOD,
        Money("12.34", "USD"),
        description="Renewal",
        invoice_id="INV-9",
        idempotency_key="renew-9",
    )
    assert result.id == "CAP1"
    assert result.amount == Money("12.34", "USD")
    assert result.status is PaymentStatus.SUCCEEDED
    assert result.raw_status == "COMPLETED"
    assert result.payment_method_id == "8kk8451t"
    assert result.invoice_id == "INV-9"
    assert result.created_at is not None
    request = fake.sent("POST", ORDERS)[0]
    assert request.headers["PayPal-Request-Id"] == "renew-9"
    body = body_of(request)
    assert body["payment_source"] == {
        "paypal": {
            "vault_id": "8kk8451t",
            "stored_credential": {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT"},
        }
    }
    unit = body["purchase_units"][0]
    assert unit["amount"] == {"currency_code": "USD", "value": "12.34"}
    assert unit["invoice_id"] == unit["custom_id"] == "INV-9"
    assert unit["description"] == "Renewal"


def test_charge_always_sends_a_request_id(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _captured())
    provider.charge_payment_method(METHOD, Money("12.34", "USD"))
    assert fake.sent("POST", ORDERS)[0].headers["PayPal-Request-Id"]


def test_pending_capture(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _captured("PENDING", status_details={"reason": "ECHECK"}))
    result = provider.charge_payment_method(METHOD, Money("12.34", "USD"))
    assert result.status is PaymentStatus.PENDING
    assert result.raw_status == "PENDING"


def test_declined_capture(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "POST", ORDERS, 201, _captured("DECLINED", processor_response={"response_code": "5120"})
    )
    with pytest.raises(paywire.CardDeclined) as caught:
        provider.charge_payment_method(METHOD, Money("12.34", "USD"))
    assert caught.value.raw_code == "5120"


@pytest.mark.parametrize(
    ("issue", "expected"),
    [
        ("INSTRUMENT_DECLINED", paywire.CardDeclined),
        ("TRANSACTION_REFUSED", paywire.CardDeclined),
        ("CARD_EXPIRED", paywire.PaymentMethodExpired),
        ("PAYER_ACTION_REQUIRED", paywire.AuthenticationRequired),
    ],
)
def test_charge_issues(
    fake: FakePayPal, provider: PayPalProvider, issue: str, expected: type[paywire.ProviderError]
) -> None:
    fake.answer("POST", ORDERS, 422, paypal_error(422, issue))
    with pytest.raises(expected) as caught:
        provider.charge_payment_method(METHOD, Money("12.34", "USD"))
    assert caught.value.raw_code == issue


def test_charge_needing_the_payer(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _order("PAYER_ACTION_REQUIRED"))
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        provider.charge_payment_method(METHOD, Money("12.34", "USD"))
    assert caught.value.raw_code == "PAYER_ACTION_REQUIRED"


def test_card_token_is_charged_as_a_card(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.on(
        "POST",
        ORDERS,
        lambda r: json_response(422, paypal_error(422, "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE")),
        lambda r: json_response(201, _captured()),
    )
    result = provider.charge_payment_method(METHOD, Money("12.34", "USD"), idempotency_key="k")
    assert result.id == "CAP1"
    first, second = fake.sent("POST", ORDERS)
    assert "paypal" in body_of(first)["payment_source"]
    card = body_of(second)["payment_source"]["card"]
    assert card["vault_id"] == "8kk8451t"
    assert card["stored_credential"]["payment_initiator"] == "MERCHANT"
    assert second.headers["PayPal-Request-Id"] == "k:card"


def test_order_without_capture_is_outcome_unknown(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("POST", ORDERS, 201, {"id": "O", "status": "COMPLETED", "purchase_units": []})
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        provider.charge_payment_method(METHOD, Money("12.34", "USD"), idempotency_key="k9")
    assert caught.value.idempotency_key == "k9"


@pytest.mark.parametrize(
    "money", [Money("1.50", "HUF"), Money("1.5", "TWD"), Money("1.000", "KWD"), Money("1", "INR")]
)
def test_amounts_paypal_cannot_take(
    fake: FakePayPal, provider: PayPalProvider, money: Money
) -> None:
    with pytest.raises(paywire.InvalidAmount):
        provider.charge_payment_method(METHOD, money)
    assert not fake.requests


def test_server_error_on_charge_is_outcome_unknown(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("POST", ORDERS, 500, paypal_error(500, "INTERNAL_SERVICE_ERROR"))
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        provider.charge_payment_method(METHOD, Money("1.00", "USD"), idempotency_key="k1")
    assert caught.value.idempotency_key == "k1"


# -- refunds -----------------------------------------------------------------------------------

REFUND = "/v2/payments/captures/CAP1/refund"


def _refund(value: str, status: str = "COMPLETED") -> dict[str, Any]:
    return {"id": "RF1", "status": status, "amount": {"currency_code": "USD", "value": value}}


def test_full_refund_sends_an_empty_body(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", REFUND, 201, _refund("12.34"))
    refund = provider.create_refund("CAP1", idempotency_key="r1")
    assert refund.amount == Money("12.34", "USD")
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.transaction_id == "CAP1"
    request = fake.sent("POST", REFUND)[0]
    assert request.content == b""
    assert request.headers["PayPal-Request-Id"] == "r1"


def test_partial_refund(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", REFUND, 201, _refund("5.00", "PENDING"))
    refund = provider.create_refund(
        "CAP1", Money("5", "USD"), reason="damaged", metadata={"invoice_id": "INV-9"}
    )
    assert refund.status is RefundStatus.PENDING
    assert refund.amount == Money("5.00", "USD")
    assert body_of(fake.sent("POST", REFUND)[0]) == {
        "amount": {"currency_code": "USD", "value": "5.00"},
        "invoice_id": "INV-9",
        "note_to_payer": "damaged",
    }


@pytest.mark.parametrize("issue", ["CAPTURE_FULLY_REFUNDED", "REFUND_AMOUNT_EXCEEDED"])
def test_refund_beyond_what_is_left(fake: FakePayPal, provider: PayPalProvider, issue: str) -> None:
    fake.answer("POST", REFUND, 422, paypal_error(422, issue))
    with pytest.raises(paywire.AlreadyRefunded) as caught:
        provider.create_refund("CAP1", Money("5", "USD"))
    assert caught.value.raw_code == issue


def test_refund_of_unknown_capture(fake: FakePayPal, provider: PayPalProvider) -> None:
    with pytest.raises(paywire.NotFound):
        provider.create_refund("NOPE")


# -- saved methods -----------------------------------------------------------------------------


def test_card_details(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "GET",
        "/v3/vault/payment-tokens/tok1",
        200,
        {
            "id": "tok1",
            "customer": {"id": "customer_1"},
            "payment_source": {
                "card": {"brand": "VISA", "last_digits": "1111", "expiry": "2030-04"}
            },
        },
    )
    info = provider.get_payment_method_details("tok1")
    assert info == paywire.PaymentMethodInfo(
        provider="paypal",
        id="tok1",
        type="card",
        customer_id="customer_1",
        brand="visa",
        last4="1111",
        exp_month=4,
        exp_year=2030,
    )


def test_wallet_details(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "GET",
        "/v3/vault/payment-tokens/tok2",
        200,
        {
            "id": "tok2",
            "customer": {"id": "c2"},
            "payment_source": {"paypal": {"email_address": "buyer@example.com"}},
        },
    )
    info = provider.get_payment_method_details("tok2")
    assert (info.type, info.email, info.customer_id, info.last4) == (
        "paypal",
        "buyer@example.com",
        "c2",
        None,
    )


def test_details_of_unknown_token(fake: FakePayPal, provider: PayPalProvider) -> None:
    with pytest.raises(paywire.NotFound):
        provider.get_payment_method_details("gone")
    with pytest.raises(paywire.NotFound):
        provider.get_payment_method_details("")


def test_detach(fake: FakePayPal, provider: PayPalProvider) -> None:
    path = "/v3/vault/payment-tokens/tok1"
    fake.on(
        "DELETE",
        path,
        lambda r: httpx.Response(204),
        lambda r: json_response(404, paypal_error(404, "INVALID_RESOURCE_ID")),
    )
    provider.detach_payment_method("tok1")
    assert len(fake.sent("DELETE", path)) == 1
    with pytest.raises(paywire.NotFound):
        provider.detach_payment_method("tok1")


def test_decimal_strings_are_exact(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _captured(value="1234567890123.45"))
    result = provider.charge_payment_method(METHOD, Money("1234567890123.45", "USD"))
    assert result.amount.amount == Decimal("1234567890123.45")
