"""Each operation's request, and how PayPal's answers become paywire results and errors — on the
sync and the async path, from the same plugin code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
from paypal_fakes import FakePayPal, body_of, build, json_response, paypal_error, run

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
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("POST", ORDERS, 201, _order())
    session = run(
        provider,
        mode,
        "create_checkout_session",
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
    assert request.headers["Authorization"] == "Bearer A21AAtoken0001"
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
    session = provider.create_checkout_session(
        invoice, success_url="https://s", cancel_url="https://c", save_payment_method=True
    )
    assert session.customer_id == "cust_99"
    body = body_of(fake.sent("POST", ORDERS)[0])
    assert body["purchase_units"][0]["amount"]["value"] == "500"
    attributes = body["payment_source"]["paypal"]["attributes"]
    assert attributes["vault"]["store_in_vault"] == "ON_SUCCESS"
    assert attributes["vault"]["usage_type"] == "MERCHANT"
    assert attributes["customer"] == {"id": "cust_99"}
    key = fake.sent("POST", ORDERS)[0].headers["PayPal-Request-Id"]
    assert 1 <= len(key) <= 108  # one is made when the caller gives none


def test_a_vault_customer_paypal_could_not_have_issued_is_refused(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    invoice = paywire.Invoice(
        id="INV-2",
        currency="USD",
        line_items=[paywire.LineItem("Plan", Money("5", "USD"))],
        customer=paywire.Customer(id="u1", provider_customer_id="cus/../x"),
    )
    with pytest.raises(paywire.InvalidRequest):
        provider.create_checkout_session(
            invoice, success_url="https://s", cancel_url="https://c", save_payment_method=True
        )
    assert not fake.requests


def test_checkout_without_approval_link_is_outcome_unknown(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    # An answer without what paywire needs is what the kernel makes of an unreadable one: the
    # order may exist, so the outcome is unknown (never a bare ProviderError).
    fake.answer("POST", ORDERS, 201, {"id": "X", "status": "CREATED", "links": []})
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        run(
            provider,
            mode,
            "create_checkout_session",
            _invoice(),
            success_url="https://s",
            cancel_url="https://c",
            idempotency_key="ck-1",
        )
    assert caught.value.idempotency_key == "ck-1"


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b"[1, 2]", b'"text"'])
def test_unreadable_success_answers_are_the_kernels_errors(
    fake: FakePayPal, provider: PayPalProvider, mode: str, body: bytes
) -> None:
    fake.on("POST", ORDERS, lambda r: httpx.Response(201, content=body))
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        run(provider, mode, "charge_payment_method", METHOD, Money("1", "USD"), idempotency_key="u")
    assert type(caught.value) is paywire.OutcomeUnknown
    assert caught.value.idempotency_key == "u"
    fake.on("GET", "/v3/vault/payment-tokens/tok1", lambda r: httpx.Response(200, content=body))
    with pytest.raises(paywire.ProviderUnavailable) as unavailable:
        run(provider, mode, "get_payment_method_details", "tok1")
    assert type(unavailable.value) is paywire.ProviderUnavailable


def test_checkout_amount_paypal_cannot_take_is_refused_before_http(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    invoice = paywire.Invoice(
        id="INV-3", currency="HUF", line_items=[paywire.LineItem("x", Money("10.50", "HUF"))]
    )
    with pytest.raises(paywire.InvalidAmount):
        provider.create_checkout_session(invoice, success_url="https://s", cancel_url="https://c")
    assert not fake.requests


@pytest.mark.parametrize(
    "invoice",
    [
        paywire.Invoice(
            id="I" * 128, currency="USD", line_items=[paywire.LineItem("x", Money("1", "USD"))]
        ),
        paywire.Invoice(
            id="INV-4",
            currency="USD",
            line_items=[paywire.LineItem("x", Money("0.01", "USD"), quantity=10**10)],
        ),
        paywire.Invoice(
            id="INV-5",
            currency="USD",
            line_items=[paywire.LineItem("x", Money("1" + "0" * 30, "USD"))],
        ),
    ],
    ids=["invoice-id-too-long", "quantity-too-long", "amount-too-long"],
)
def test_what_paypal_cannot_keep_is_refused_before_http(
    fake: FakePayPal, provider: PayPalProvider, invoice: paywire.Invoice
) -> None:
    with pytest.raises((paywire.InvalidRequest, paywire.InvalidAmount)):
        provider.create_checkout_session(invoice, success_url="https://s", cancel_url="https://c")
    assert not fake.requests


# -- capture -----------------------------------------------------------------------------------


def test_capture_order(fake: FakePayPal, provider: PayPalProvider, mode: str) -> None:
    path = "/v2/checkout/orders/ORDER2/capture"
    fake.answer("POST", path, 201, _captured())
    result = run(provider, mode, "capture_order", "ORDER2")
    assert result.id == "CAP1"
    assert result.amount == Money("12.34", "USD")
    assert result.status is PaymentStatus.SUCCEEDED
    assert result.invoice_id == "INV-9"
    run(provider, mode, "capture_order", "ORDER2")
    first, second = fake.sent("POST", path)
    assert first.content == b""
    assert first.headers["Content-Type"] == "application/json"
    # The default key is derived from the order: a second capture call is the same request.
    assert first.headers["PayPal-Request-Id"] == "paywire-capture-ORDER2:v1"
    assert second.headers["PayPal-Request-Id"] == first.headers["PayPal-Request-Id"]


def test_capture_of_a_captured_order_returns_its_capture(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer(
        "POST",
        "/v2/checkout/orders/ORDER2/capture",
        422,
        paypal_error(422, "ORDER_ALREADY_CAPTURED"),
    )
    fake.answer("GET", "/v2/checkout/orders/ORDER2", 200, _captured())
    assert run(provider, mode, "capture_order", "ORDER2", idempotency_key="other").id == "CAP1"


def test_capture_not_approved(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "POST", "/v2/checkout/orders/O/capture", 422, paypal_error(422, "ORDER_NOT_APPROVED")
    )
    with pytest.raises(paywire.InvalidRequest) as caught:
        provider.capture_order("O")
    assert caught.value.raw_code == "ORDER_NOT_APPROVED"


def test_capture_waiting_for_the_payer_names_the_order(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer(
        "POST", "/v2/checkout/orders/O7/capture", 422, paypal_error(422, "PAYER_ACTION_REQUIRED")
    )
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        provider.capture_order("O7")
    assert caught.value.transaction_id == "O7"
    assert caught.value.raw_code == "PAYER_ACTION_REQUIRED"


def test_order_ids_cannot_change_the_path(fake: FakePayPal, provider: PayPalProvider) -> None:
    with pytest.raises(paywire.NotFound):
        provider.capture_order("../../v1/oauth2/token")
    posted = [r.url.raw_path for r in fake.requests if r.method == "POST"]
    assert b"/v2/checkout/orders/..%2F..%2Fv1%2Foauth2%2Ftoken/capture" in posted
    with pytest.raises(paywire.NotFound):
        provider.capture_order("")


def _approved(order_id: str = "ORDER2", raw_type: str = "CHECKOUT.ORDER.APPROVED") -> Any:
    return paywire.WebhookEvent(
        provider="paypal",
        id="WH-1",
        type=paywire.EventType.CHECKOUT_COMPLETED,
        raw_type=raw_type,
        session_id=order_id,
    )


def test_follow_up_captures_approved_orders(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    path = "/v2/checkout/orders/ORDER2/capture"
    fake.answer("POST", path, 201, _captured())
    completed = run(provider, mode, "follow_up", _approved())
    # The handlers see the event with the capture it caused.
    assert completed == attrs.evolve(_approved(), transaction_id="CAP1")
    assert completed.saved_payment_method is None
    # Not an approval: nothing to capture.
    assert run(provider, mode, "follow_up", _approved(raw_type="CHECKOUT.ORDER.COMPLETED")) is None
    (capture,) = fake.sent("POST", path)
    # The same key as capture_order's default: the return page and the webhook capture once.
    assert capture.headers["PayPal-Request-Id"] == "paywire-capture-ORDER2:v1"


def test_follow_up_names_the_wallet_a_checkout_saved(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    vaulted = {
        **_captured(),
        "payment_source": {
            "paypal": {
                "attributes": {
                    "vault": {"id": "tok9", "status": "VAULTED", "customer": {"id": "cust9"}}
                }
            }
        },
    }
    fake.answer("POST", "/v2/checkout/orders/ORDER2/capture", 201, vaulted)
    completed = run(provider, mode, "follow_up", _approved())
    assert completed.transaction_id == "CAP1"
    assert completed.saved_payment_method == paywire.SavedPaymentMethod("paypal", "tok9", "cust9")


def test_follow_up_swallows_final_capture_failures_only(
    fake: FakePayPal, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    provider = build(fake, max_attempts=2)
    path = "/v2/checkout/orders/O/capture"
    fake.answer("POST", path, 422, paypal_error(422, "INSTRUMENT_DECLINED"))
    # Final: logged, the event left as it was (not redelivered for nothing).
    assert run(provider, mode, "follow_up", _approved("O")) is None
    assert "could not be captured" in caplog.text
    fake.answer("POST", path, 503, paypal_error(503, None, "SERVICE_UNAVAILABLE"))
    with pytest.raises(paywire.OutcomeUnknown) as caught:  # transient: the event comes back
        run(provider, mode, "follow_up", _approved("O"))
    assert caught.value.idempotency_key == "paywire-capture-O:v1"
    assert len(fake.sent("POST", path)) == 3  # keyed, so the 503 was retried


# -- setup -------------------------------------------------------------------------------------

SETUP = {
    "id": "5C991763VB2781612",
    "customer": {"id": "customer_1"},
    "status": "PAYER_ACTION_REQUIRED",
    "links": [{"href": "https://www.paypal.com/agreements/approve?x=1", "rel": "approve"}],
}
TOKEN = {"id": "8kk8451t", "customer": {"id": "customer_1"}, "payment_source": {"paypal": {}}}


def test_setup_session_and_completion(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("POST", "/v3/vault/setup-tokens", 201, SETUP)
    customer = paywire.Customer(id="user-42")
    session = run(
        provider, mode, "create_setup_session", customer, success_url="https://s", cancel_url="c"
    )
    assert session.id == "5C991763VB2781612"
    assert session.url == "https://www.paypal.com/agreements/approve?x=1"
    assert session.customer_id == "customer_1"
    (created,) = fake.sent("POST", "/v3/vault/setup-tokens")
    assert created.headers["PayPal-Request-Id"]  # Vault v3 requires one
    body = body_of(created)
    wallet = body["payment_source"]["paypal"]
    assert wallet["usage_type"] == "MERCHANT"
    assert wallet["experience_context"]["return_url"] == "https://s"
    assert "user_action" not in wallet["experience_context"]  # not a Vault v3 member
    assert body["customer"] == {"merchant_customer_id": "user-42"}

    fake.answer("POST", "/v3/vault/payment-tokens", 201, TOKEN)
    returned = {"approval_token_id": session.id, "approval_session_id": session.id}
    saved = run(provider, mode, "complete_setup", session, params=returned)
    assert saved == paywire.SavedPaymentMethod("paypal", "8kk8451t", "customer_1")
    # Written the old way (the setup token id alone) it still works, with the same key.
    assert run(provider, mode, "complete_setup", session.id) == saved
    first, second = fake.sent("POST", "/v3/vault/payment-tokens")
    assert body_of(first) == {
        "payment_source": {"token": {"id": "5C991763VB2781612", "type": "SETUP_TOKEN"}}
    }
    assert first.headers["PayPal-Request-Id"] == "paywire-setup-5C991763VB2781612"
    assert second.headers["PayPal-Request-Id"] == first.headers["PayPal-Request-Id"]


def test_complete_setup_from_the_return_url_alone(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("POST", "/v3/vault/payment-tokens", 201, TOKEN)
    saved = provider.complete_setup("", params={"approval_token_id": "ST9"})
    assert saved.id == "8kk8451t"
    (request,) = fake.sent("POST", "/v3/vault/payment-tokens")
    assert body_of(request)["payment_source"]["token"]["id"] == "ST9"


def test_complete_setup_with_an_explicit_key(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", "/v3/vault/payment-tokens", 201, TOKEN)
    provider.complete_setup("ST1", idempotency_key="my-key")
    (request,) = fake.sent("POST", "/v3/vault/payment-tokens")
    assert request.headers["PayPal-Request-Id"] == "my-key"


def test_a_return_url_naming_another_setup_token_is_refused(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    with pytest.raises(paywire.InvalidRequest):
        provider.complete_setup("ST1", params={"approval_token_id": "ST2"})
    with pytest.raises(paywire.NotFound):
        provider.complete_setup("not a token/../x")
    assert not fake.requests


def test_complete_setup_from_its_event(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    created = paywire.WebhookEvent(
        provider="paypal",
        id="WH-9",
        type=paywire.EventType.SETUP_COMPLETED,
        raw_type="VAULT.PAYMENT-TOKEN.CREATED",
        payment_method_id="8kk8451t",
        customer_id="customer_1",
    )
    saved = run(provider, mode, "complete_setup", created)
    assert saved == paywire.SavedPaymentMethod("paypal", "8kk8451t", "customer_1")
    with pytest.raises(paywire.InvalidRequest):
        run(provider, mode, "complete_setup", _approved())
    # A deleted token names a method too, but not one a setup saved.
    deleted = paywire.WebhookEvent(
        provider="paypal",
        id="WH-10",
        type=paywire.EventType.PAYMENT_METHOD_DETACHED,
        raw_type="VAULT.PAYMENT-TOKEN.DELETED",
        payment_method_id="8kk8451t",
    )
    with pytest.raises(paywire.InvalidRequest):
        run(provider, mode, "complete_setup", deleted)
    assert not fake.requests


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


def test_complete_setup_before_approval(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("POST", "/v3/vault/payment-tokens", 422, paypal_error(422, "PAYER_ACTION_REQUIRED"))
    session = paywire.SetupSession("paypal", "ST1", "https://www.paypal.com/approve?t=ST1")
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        run(provider, mode, "complete_setup", session)
    assert caught.value.transaction_id == "ST1"
    assert caught.value.action_url == session.url
    with pytest.raises(paywire.AuthenticationRequired) as by_id:
        provider.complete_setup("ST1")
    assert by_id.value.transaction_id == "ST1"
    assert by_id.value.action_url is None


# -- charge ------------------------------------------------------------------------------------

METHOD = paywire.SavedPaymentMethod("paypal", "8kk8451t", "customer_1")


def test_charge_is_a_one_step_vault_order(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("POST", ORDERS, 201, _captured())
    result = run(
        provider,
        mode,
        "charge_payment_method",
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


def test_charge_without_invoice_uses_the_custom_id(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("POST", ORDERS, 201, _captured())
    provider.charge_payment_method(METHOD, Money("1", "USD"), metadata={"custom_id": "sub-7"})
    unit = body_of(fake.sent("POST", ORDERS)[0])["purchase_units"][0]
    assert unit["custom_id"] == "sub-7"
    assert "invoice_id" not in unit


def test_charge_always_sends_a_request_id(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _captured())
    provider.charge_payment_method(METHOD, Money("12.34", "USD"))
    assert fake.sent("POST", ORDERS)[0].headers["PayPal-Request-Id"]


@pytest.mark.parametrize("key", ["k" * 109, "ключ-1", "tab\there"])
def test_keys_paypal_cannot_take_become_a_stable_request_id(
    fake: FakePayPal, provider: PayPalProvider, key: str
) -> None:
    fake.answer("POST", ORDERS, 201, _captured())
    provider.charge_payment_method(METHOD, Money("1", "USD"), idempotency_key=key)
    provider.charge_payment_method(METHOD, Money("1", "USD"), idempotency_key=key)
    first, second = (r.headers["PayPal-Request-Id"] for r in fake.sent("POST", ORDERS))
    assert first == second
    assert 1 <= len(first) <= 108
    assert first.isascii()
    assert first.isprintable()


def test_derived_keys_fit_paypal(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.on(
        "POST",
        ORDERS,
        lambda r: json_response(422, paypal_error(422, "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE")),
        lambda r: json_response(201, _captured()),
    )
    provider.charge_payment_method(METHOD, Money("1", "USD"), idempotency_key="x" * 108)
    first, second = (r.headers["PayPal-Request-Id"] for r in fake.sent("POST", ORDERS))
    assert first == "x" * 108
    assert len(second) <= 108
    assert second.endswith(":card")


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
    fake: FakePayPal,
    provider: PayPalProvider,
    mode: str,
    issue: str,
    expected: type[paywire.ProviderError],
) -> None:
    fake.answer("POST", ORDERS, 422, paypal_error(422, issue))
    with pytest.raises(expected) as caught:
        run(provider, mode, "charge_payment_method", METHOD, Money("12.34", "USD"))
    assert type(caught.value) is expected
    assert caught.value.raw_code == issue
    assert caught.value.request_id == "dbg123"


def test_charge_needing_the_payer(fake: FakePayPal, provider: PayPalProvider, mode: str) -> None:
    fake.answer("POST", ORDERS, 201, _order("PAYER_ACTION_REQUIRED"))
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        run(provider, mode, "charge_payment_method", METHOD, Money("12.34", "USD"))
    assert caught.value.raw_code == "PAYER_ACTION_REQUIRED"
    assert caught.value.transaction_id == "5O190127TN364715T"
    assert caught.value.action_url == "https://www.paypal.com/checkoutnow?token=5O1"


def test_card_token_is_charged_as_a_card(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.on(
        "POST",
        ORDERS,
        lambda r: json_response(422, paypal_error(422, "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE")),
        lambda r: json_response(201, _captured()),
    )
    result = run(
        provider, mode, "charge_payment_method", METHOD, Money("12.34", "USD"), idempotency_key="k"
    )
    assert result.id == "CAP1"
    first, second = fake.sent("POST", ORDERS)
    assert "paypal" in body_of(first)["payment_source"]
    card = body_of(second)["payment_source"]["card"]
    assert card["vault_id"] == "8kk8451t"
    assert card["stored_credential"]["payment_initiator"] == "MERCHANT"
    assert second.headers["PayPal-Request-Id"] == "k:card"


def test_order_without_capture_is_outcome_unknown(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("POST", ORDERS, 201, {"id": "O", "status": "COMPLETED", "purchase_units": []})
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        run(
            provider,
            mode,
            "charge_payment_method",
            METHOD,
            Money("12.34", "USD"),
            idempotency_key="k9",
        )
    assert caught.value.idempotency_key == "k9"


@pytest.mark.parametrize(
    "money",
    [
        Money("1.50", "HUF"),
        Money("1.5", "TWD"),
        Money("1.000", "KWD"),
        Money("1", "INR"),
        Money("1" + "0" * 32, "USD"),
    ],
)
def test_amounts_paypal_cannot_take(
    fake: FakePayPal, provider: PayPalProvider, money: Money
) -> None:
    with pytest.raises(paywire.InvalidAmount):
        provider.charge_payment_method(METHOD, money)
    assert not fake.requests


def test_a_method_paypal_could_not_have_saved_is_not_found(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    bogus = paywire.SavedPaymentMethod("paypal", "tok/../../x")
    with pytest.raises(paywire.NotFound):
        provider.charge_payment_method(bogus, Money("1", "USD"))
    with pytest.raises(paywire.NotFound):
        provider.get_payment_method_details(bogus)
    with pytest.raises(paywire.NotFound):
        provider.detach_payment_method("t" * 37)
    assert not fake.requests


def test_server_error_on_charge_is_outcome_unknown(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("POST", ORDERS, 500, paypal_error(500, "INTERNAL_SERVICE_ERROR"))
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        run(
            provider,
            mode,
            "charge_payment_method",
            METHOD,
            Money("1.00", "USD"),
            idempotency_key="k1",
        )
    assert caught.value.idempotency_key == "k1"


def test_a_request_still_in_progress_is_asked_again_then_unknown(
    fake: FakePayPal, mode: str
) -> None:
    provider = build(fake, max_attempts=3)
    busy = paypal_error(409, "PREVIOUS_REQUEST_IN_PROGRESS", "RESOURCE_CONFLICT")
    fake.on("POST", ORDERS, lambda r: json_response(409, busy))
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        run(provider, mode, "charge_payment_method", METHOD, Money("1", "USD"), idempotency_key="b")
    assert caught.value.idempotency_key == "b"
    assert caught.value.raw_code == "PREVIOUS_REQUEST_IN_PROGRESS"
    sent = fake.sent("POST", ORDERS)
    assert len(sent) == 3
    assert {r.headers["PayPal-Request-Id"] for r in sent} == {"b"}
    # Once the first request is done, asking again with the key answers.
    fake.on(
        "POST",
        ORDERS,
        lambda r: json_response(409, busy),
        lambda r: json_response(200, _captured()),
    )
    assert (
        provider.charge_payment_method(METHOD, Money("1", "USD"), idempotency_key="b").id == "CAP1"
    )


def test_other_conflicts_are_not_retried(fake: FakePayPal) -> None:
    provider = build(fake, max_attempts=3)
    fake.answer("POST", ORDERS, 409, paypal_error(409, "DUPLICATE_REQUEST", "CONFLICT"))
    with pytest.raises(paywire.InvalidRequest):
        provider.charge_payment_method(METHOD, Money("1", "USD"))
    assert len(fake.sent("POST", ORDERS)) == 1


# -- refunds -----------------------------------------------------------------------------------

REFUND = "/v2/payments/captures/CAP1/refund"


def _refund(value: str | None, status: str = "COMPLETED") -> dict[str, Any]:
    refund: dict[str, Any] = {"id": "RF1", "status": status}
    if value is not None:
        refund["amount"] = {"currency_code": "USD", "value": value}
    return refund


def test_full_refund_sends_an_empty_body(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("POST", REFUND, 201, _refund("12.34"))
    refund = run(provider, mode, "create_refund", "CAP1", idempotency_key="r1")
    assert refund.amount == Money("12.34", "USD")
    assert refund.status is RefundStatus.SUCCEEDED
    assert refund.transaction_id == "CAP1"
    request = fake.sent("POST", REFUND)[0]
    assert request.content == b""
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["PayPal-Request-Id"] == "r1"


def test_partial_refund(fake: FakePayPal, provider: PayPalProvider, mode: str) -> None:
    fake.answer("POST", REFUND, 201, _refund("5.00", "PENDING"))
    refund = run(
        provider,
        mode,
        "create_refund",
        "CAP1",
        Money("5", "USD"),
        reason="damaged",
        metadata={"invoice_id": "INV-9"},
    )
    assert refund.status is RefundStatus.PENDING
    assert refund.amount == Money("5.00", "USD")
    assert body_of(fake.sent("POST", REFUND)[0]) == {
        "amount": {"currency_code": "USD", "value": "5.00"},
        "invoice_id": "INV-9",
        "note_to_payer": "damaged",
    }


def test_a_refund_answer_without_amount(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", REFUND, 201, _refund(None))
    assert provider.create_refund("CAP1", Money("2", "USD")).amount == Money("2", "USD")
    with pytest.raises(paywire.OutcomeUnknown):  # nothing says how much was refunded
        provider.create_refund("CAP1", idempotency_key="rx")


@pytest.mark.parametrize("issue", ["CAPTURE_FULLY_REFUNDED", "REFUND_AMOUNT_EXCEEDED"])
def test_refund_beyond_what_is_left(fake: FakePayPal, provider: PayPalProvider, issue: str) -> None:
    fake.answer("POST", REFUND, 422, paypal_error(422, issue))
    with pytest.raises(paywire.AlreadyRefunded) as caught:
        provider.create_refund("CAP1", Money("5", "USD"))
    assert caught.value.raw_code == issue


def test_refund_of_unknown_capture(fake: FakePayPal, provider: PayPalProvider) -> None:
    with pytest.raises(paywire.NotFound):
        provider.create_refund("NOPE")
    with pytest.raises(paywire.NotFound):
        provider.create_refund("")


# -- saved methods -----------------------------------------------------------------------------


def test_card_details(fake: FakePayPal, provider: PayPalProvider, mode: str) -> None:
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
    expected = paywire.PaymentMethodInfo(
        provider="paypal",
        id="tok1",
        type="card",
        customer_id="customer_1",
        brand="visa",
        last4="1111",
        exp_month=4,
        exp_year=2030,
    )
    assert run(provider, mode, "get_payment_method_details", "tok1") == expected
    saved = paywire.SavedPaymentMethod("paypal", "tok1", "customer_1")
    assert run(provider, mode, "get_payment_method_details", saved) == expected


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


def test_detach(fake: FakePayPal, provider: PayPalProvider, mode: str) -> None:
    path = "/v3/vault/payment-tokens/tok1"
    fake.on(
        "DELETE",
        path,
        lambda r: httpx.Response(204),
        lambda r: json_response(404, paypal_error(404, "INVALID_RESOURCE_ID")),
    )
    assert run(provider, mode, "detach_payment_method", "tok1") is None
    assert len(fake.sent("DELETE", path)) == 1
    with pytest.raises(paywire.NotFound):
        run(provider, mode, "detach_payment_method", paywire.SavedPaymentMethod("paypal", "tok1"))
    # Vault v3 answers a DELETE of a token it does not know with a 400.
    gone = {"name": "INVALID_REQUEST", "details": [{"issue": "INVALID_RESOURCE_ID"}]}
    fake.on("DELETE", path, lambda r: json_response(400, gone))
    with pytest.raises(paywire.NotFound):
        run(provider, mode, "detach_payment_method", "tok1")


def test_decimal_strings_are_exact(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _captured(value="1234567890123.45"))
    result = provider.charge_payment_method(METHOD, Money("1234567890123.45", "USD"))
    assert result.amount.amount == Decimal("1234567890123.45")


def test_the_result_is_what_paypal_captured(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", ORDERS, 201, _captured(value="10.00"))
    result = provider.charge_payment_method(METHOD, Money("12.34", "USD"))
    assert result.amount == Money("10.00", "USD")
    fake.answer("POST", ORDERS, 201, _captured(value="12.34"))
    assert provider.charge_payment_method(METHOD, Money("12.34", "USD")).amount == Money(
        "12.34", "USD"
    )
