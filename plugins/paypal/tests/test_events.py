"""PayPal events → normalized WebhookEvents (the plugin's EventRules table)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paywire
from paywire import EventType, Money
from paywire_paypal import EVENT_RULES, EVENT_TYPES, PayPalProvider, normalize_event
from paywire_paypal._samples import SAMPLE_INVOICE, event, webhook_samples

AMOUNT = Money("24.34", "USD")


def _sample(event_type: str) -> dict[str, Any]:
    for payload, _ in webhook_samples():
        if payload["event_type"] == event_type:
            return copy.deepcopy(dict(payload))
    raise KeyError(event_type)


def test_every_mapped_type_has_a_sample() -> None:
    assert {p["event_type"] for p, _ in webhook_samples()} == set(EVENT_TYPES)
    assert EVENT_RULES.types == EVENT_TYPES


def test_bodies_are_parsed_with_the_headers_at_hand(provider: PayPalProvider) -> None:
    payload = _sample("PAYMENT.CAPTURE.COMPLETED")
    parsed = provider.parse_webhook(json.dumps(payload).encode(), {"PAYPAL-TRANSMISSION-ID": "x"})
    assert isinstance(parsed, paywire.WebhookEvent)
    assert parsed == provider.handle_webhook_event(payload)
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(b"{not json", {})
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(b"[" * 100 + b"]" * 100, {})
    with pytest.raises(paywire.UnknownEvent):
        provider.parse_webhook(b"[1, 2]", {})


def test_normalize_event_names_the_provider_it_is_given() -> None:
    payload = _sample("PAYMENT.CAPTURE.COMPLETED")
    assert normalize_event("paypal", payload).provider == "paypal"
    assert normalize_event("paypal-eu", payload).provider == "paypal-eu"


@pytest.mark.parametrize(("payload", "expected"), webhook_samples())
def test_samples_normalize(
    provider: PayPalProvider, payload: dict[str, Any], expected: EventType
) -> None:
    normalized = provider.handle_webhook_event(payload)
    assert normalized.type is expected
    assert normalized.provider == "paypal"
    assert normalized.id == payload["id"]
    assert normalized.raw_type == payload["event_type"]
    assert normalized.created_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert normalized.data == payload


def test_approved_order(provider: PayPalProvider) -> None:
    normalized = provider.handle_webhook_event(_sample("CHECKOUT.ORDER.APPROVED"))
    assert normalized.type is EventType.CHECKOUT_COMPLETED
    assert normalized.invoice_id == SAMPLE_INVOICE
    assert normalized.amount == AMOUNT
    assert normalized.session_id == "5O190127TN364715T"
    assert normalized.transaction_id is None  # nothing captured yet


def test_completed_order_carries_its_capture(provider: PayPalProvider) -> None:
    normalized = provider.handle_webhook_event(_sample("CHECKOUT.ORDER.COMPLETED"))
    assert normalized.transaction_id == "3C679366HH908993F"


def test_order_with_vaulted_wallet(provider: PayPalProvider) -> None:
    payload = _sample("CHECKOUT.ORDER.APPROVED")
    payload["resource"]["payment_source"] = {
        "paypal": {"attributes": {"vault": {"id": "tok9", "customer": {"id": "cust9"}}}}
    }
    normalized = provider.handle_webhook_event(payload)
    assert (normalized.payment_method_id, normalized.customer_id) == ("tok9", "cust9")


def test_order_invoice_falls_back_to_custom_then_reference(provider: PayPalProvider) -> None:
    payload = _sample("CHECKOUT.ORDER.APPROVED")
    unit = payload["resource"]["purchase_units"][0]
    del unit["invoice_id"]
    unit["custom_id"] = "from-custom"
    assert provider.handle_webhook_event(payload).invoice_id == "from-custom"
    del unit["custom_id"]
    assert provider.handle_webhook_event(payload).invoice_id == SAMPLE_INVOICE  # reference_id


def test_capture_completed(provider: PayPalProvider) -> None:
    normalized = provider.handle_webhook_event(_sample("PAYMENT.CAPTURE.COMPLETED"))
    assert normalized.type is EventType.PAYMENT_SUCCEEDED
    assert normalized.invoice_id == SAMPLE_INVOICE
    assert normalized.amount == AMOUNT
    assert normalized.transaction_id == "3C679366HH908993F"
    assert normalized.session_id == "5O190127TN364715T"


def test_capture_invoice_from_custom_id(provider: PayPalProvider) -> None:
    payload = _sample("PAYMENT.CAPTURE.COMPLETED")
    del payload["resource"]["invoice_id"]
    payload["resource"]["custom_id"] = "INV-CUSTOM"
    assert provider.handle_webhook_event(payload).invoice_id == "INV-CUSTOM"


def test_zero_decimal_amount(provider: PayPalProvider) -> None:
    payload = _sample("PAYMENT.CAPTURE.COMPLETED")
    payload["resource"]["amount"] = {"currency_code": "JPY", "value": "500"}
    assert provider.handle_webhook_event(payload).amount == Money("500", "JPY")


def test_refund_is_the_refund(provider: PayPalProvider) -> None:
    normalized = provider.handle_webhook_event(_sample("PAYMENT.CAPTURE.REFUNDED"))
    assert normalized.type is EventType.REFUND_SUCCEEDED
    assert normalized.refund_id == "1JU08902781691411"
    assert normalized.transaction_id == "3C679366HH908993F"
    assert normalized.amount == AMOUNT
    assert normalized.invoice_id == SAMPLE_INVOICE


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("PENDING", EventType.REFUND_CREATED),
        ("FAILED", EventType.REFUND_FAILED),
        ("CANCELLED", EventType.REFUND_FAILED),
    ],
)
def test_refund_status(provider: PayPalProvider, status: str, expected: EventType) -> None:
    payload = _sample("PAYMENT.CAPTURE.REFUNDED")
    payload["resource"]["status"] = status
    assert provider.handle_webhook_event(payload).type is expected


def test_refund_event_carrying_the_capture(provider: PayPalProvider) -> None:
    payload = _sample("PAYMENT.CAPTURE.COMPLETED")
    payload["event_type"] = "PAYMENT.CAPTURE.REFUNDED"
    payload["resource"]["status"] = "REFUNDED"
    normalized = provider.handle_webhook_event(payload)
    assert normalized.type is EventType.REFUND_SUCCEEDED
    assert normalized.transaction_id == "3C679366HH908993F"
    assert normalized.amount is None  # the capture's amount is not what was refunded


def test_reversal_with_signed_amount(provider: PayPalProvider) -> None:
    payload = _sample("PAYMENT.CAPTURE.REVERSED")
    payload["resource"]["amount"] = {"currency_code": "USD", "value": "-24.34"}
    assert provider.handle_webhook_event(payload).amount == AMOUNT


def test_vault_events(provider: PayPalProvider) -> None:
    created = provider.handle_webhook_event(_sample("VAULT.PAYMENT-TOKEN.CREATED"))
    assert created.type is EventType.SETUP_COMPLETED
    assert (created.payment_method_id, created.customer_id) == ("8kk8451t", "customer_4029352050")
    # A SETUP_COMPLETED event carries the saved method, ready to charge.
    assert created.saved_payment_method == paywire.SavedPaymentMethod(
        "paypal", "8kk8451t", "customer_4029352050"
    )
    assert provider.complete_setup(created) == created.saved_payment_method
    deleted = provider.handle_webhook_event(_sample("VAULT.PAYMENT-TOKEN.DELETED"))
    assert deleted.type is EventType.PAYMENT_METHOD_DETACHED
    assert deleted.payment_method_id == "8kk8451t"


def test_dispute(provider: PayPalProvider) -> None:
    opened = provider.handle_webhook_event(_sample("CUSTOMER.DISPUTE.CREATED"))
    assert opened.type is EventType.DISPUTE_OPENED
    assert (opened.transaction_id, opened.invoice_id, opened.amount) == (
        "3C679366HH908993F",
        SAMPLE_INVOICE,
        AMOUNT,
    )
    payload = _sample("CUSTOMER.DISPUTE.UPDATED")
    payload["resource"]["status"] = "RESOLVED"
    assert provider.handle_webhook_event(payload).type is EventType.DISPUTE_CLOSED


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"id": "WH-1"},
        {"id": "WH-1", "event_type": ""},
        {"id": "WH-1", "event_type": 7, "resource": {}},
        event("BILLING.SUBSCRIPTION.CREATED", {"id": "I-1"}, resource_type="subscription"),
        event("PAYMENT.SALE.COMPLETED", {"id": "S-1"}, resource_type="sale"),
    ],
)
def test_unknown_or_not_an_event(provider: PayPalProvider, payload: dict[str, Any]) -> None:
    with pytest.raises(paywire.UnknownEvent):
        provider.handle_webhook_event(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}},
        {"id": "", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}},
        {"id": 7, "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}},
        {"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED"},
        {"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": []},
        {"id": "WH-\x00", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {}},
        {"id": "WH-1", "event_type": "VAULT.PAYMENT-TOKEN.CREATED", "resource": {"id": ""}},
    ],
)
def test_a_mapped_event_that_cannot_be_read_is_malformed(
    provider: PayPalProvider, payload: dict[str, Any]
) -> None:
    with pytest.raises(paywire.MalformedWebhook):
        provider.handle_webhook_event(payload)


@pytest.mark.parametrize(
    "amount",
    [
        {"currency_code": "USD", "value": "12.345"},
        {"currency_code": "HUF", "value": "12.50"},
        {"currency_code": "XXX", "value": "1"},
        {"currency_code": "USD", "value": "twelve"},
        {"currency_code": "USD", "value": 12.34},
        "12.34",
    ],
)
def test_inexact_amounts_are_not_guessed(provider: PayPalProvider, amount: object) -> None:
    payload = _sample("PAYMENT.CAPTURE.COMPLETED")
    payload["resource"]["amount"] = amount
    with pytest.raises(paywire.MalformedWebhook):
        provider.handle_webhook_event(payload)


def test_not_a_mapping(provider: PayPalProvider) -> None:
    with pytest.raises(paywire.UnknownEvent):
        provider.handle_webhook_event([])  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "amount", "value", "currency_code", "links", "status", "rel"])
            | st.text(max_size=8),
            children,
            max_size=4,
        )
    ),
    max_leaves=16,
)
amounts = st.fixed_dictionaries(
    {
        "currency_code": st.sampled_from(["USD", "JPY", "HUF", "KWD", "usd", ""]),
        "value": st.one_of(
            st.from_regex(r"-?[0-9]{0,6}(\.[0-9]{0,4})?", fullmatch=True),
            st.sampled_from(["1e999999999", "NaN", "Infinity", " 1.00", "9" * 40]),
        ),
    }
)
resources = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=10),
        "amount": amounts | json_values,
        "dispute_amount": amounts,
        "status": st.sampled_from(["COMPLETED", "PENDING", "RESOLVED"]) | st.text(max_size=5),
        "purchase_units": st.lists(
            st.fixed_dictionaries({}, optional={"amount": amounts, "invoice_id": json_values}),
            max_size=3,
        ),
        "links": json_values,
        "supplementary_data": json_values,
        "disputed_transactions": json_values,
        "customer": json_values,
        "payment_source": json_values,
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    event_type=st.sampled_from(sorted(EVENT_TYPES)) | st.text(max_size=20),
    event_id=st.text(max_size=10) | st.none(),
    resource=resources | json_values,
    resource_type=st.sampled_from(["capture", "refund", "checkout-order"]) | json_values,
)
def test_any_payload_normalizes_or_is_refused_for_what_it_is(
    provider: PayPalProvider,
    event_type: str,
    event_id: str | None,
    resource: object,
    resource_type: object,
) -> None:
    payload = {
        "id": event_id,
        "event_type": event_type,
        "resource": resource,
        "resource_type": resource_type,
        "create_time": "2026-11-27T10:00:00Z",
    }
    try:
        normalized = provider.handle_webhook_event(payload)
    except paywire.UnknownEvent:
        assert event_type not in EVENT_TYPES
        return
    except paywire.MalformedWebhook:
        assert event_type in EVENT_TYPES
        return
    assert normalized.raw_type == event_type
    assert normalized.id == event_id
    assert normalized.amount is None or normalized.amount.amount >= 0
