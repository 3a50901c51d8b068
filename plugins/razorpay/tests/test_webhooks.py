"""Webhook signatures (hex HMAC-SHA256 of the body) and event normalization."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from razorpay_helpers import WEBHOOK_SECRET, build_provider

import paywire
from paywire import EventType
from paywire_razorpay import EVENT_ID_HEADER, EVENT_TYPES, EVENTS, RazorpayProvider, event_id
from paywire_razorpay._samples import (
    CUSTOMER_ID,
    INVOICE_ID,
    PAYMENT_ID,
    TOKEN_ID,
    event,
    webhook_samples,
)

BODY = json.dumps(webhook_samples()[0][0]).encode()


def _sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _sample(name: str) -> dict[str, Any]:
    return next(payload for payload, _ in webhook_samples() if payload["event"] == name)


# -- signatures ------------------------------------------------------------------------------


def test_valid_signature_verifies_in_any_header_case(provider: RazorpayProvider) -> None:
    signature = _sign(BODY)
    provider.verify_webhook_signature(BODY, {"X-Razorpay-Signature": signature})
    provider.verify_webhook_signature(BODY, {"x-razorpay-signature": signature})
    provider.verify_webhook_signature(BODY, {"X-RAZORPAY-SIGNATURE": signature})


def test_explicit_secret_wins_over_the_configured_one(provider: RazorpayProvider) -> None:
    other = "a-rotated-webhook-secret"
    headers = {"X-Razorpay-Signature": _sign(BODY, other)}
    provider.verify_webhook_signature(BODY, headers, other)
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Razorpay-Signature": ""},
        {"X-Razorpay-Signature": "00" * 32},
        {"X-Razorpay-Signature": _sign(BODY, "wrong-secret")},
        {"X-Razorpay-Event-Id": "Ozr1aB3cD4eF5g"},
    ],
)
def test_bad_signatures_are_refused(provider: RazorpayProvider, headers: dict[str, str]) -> None:
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, headers)


def test_a_tampered_body_is_refused(provider: RazorpayProvider) -> None:
    headers = {"X-Razorpay-Signature": _sign(BODY)}
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY.replace(b"123400", b"100"), headers)


def test_no_configured_secret_refuses_everything() -> None:
    bare = build_provider(webhook_secret=None)
    try:
        with pytest.raises(paywire.InvalidSignature):
            bare.verify_webhook_signature(BODY, {"X-Razorpay-Signature": _sign(BODY)})
        with pytest.raises(paywire.InvalidSignature):
            bare.verify_webhook(BODY, {"X-Razorpay-Signature": _sign(BODY)})
    finally:
        bare.close()


def test_any_configured_secret_verifies_while_one_is_rotated() -> None:
    rotating = build_provider(webhook_secrets=["the-previous-webhook-secret"])
    try:
        for secret in (WEBHOOK_SECRET, "the-previous-webhook-secret"):
            rotating.verify_webhook(BODY, {"X-Razorpay-Signature": _sign(BODY, secret)})
        with pytest.raises(paywire.InvalidSignature):
            rotating.verify_webhook(BODY, {"X-Razorpay-Signature": _sign(BODY, "neither")})
    finally:
        rotating.close()


def test_verify_webhook_async_checks_the_same_way(provider: RazorpayProvider) -> None:
    import asyncio

    asyncio.run(provider.verify_webhook_async(BODY, {"X-Razorpay-Signature": _sign(BODY)}))
    with pytest.raises(paywire.InvalidSignature):
        asyncio.run(provider.verify_webhook_async(BODY, {"X-Razorpay-Signature": "00"}))


# The provider holds no state these calls change, so one per test is fine.
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(st.binary(max_size=200), st.just(BODY)),
    headers=st.one_of(
        st.dictionaries(st.text(max_size=25), st.text(max_size=80), max_size=5),
        st.dictionaries(
            st.sampled_from(["X-Razorpay-Signature", "x-razorpay-signature"]),
            st.one_of(st.text(max_size=80), st.binary(max_size=80), st.none(), st.integers()),
            max_size=2,
        ),
        st.none(),
        st.integers(),
        st.lists(st.text()),
    ),
    secret=st.one_of(st.none(), st.text(max_size=40)),
)
def test_garbage_raises_only_invalid_signature(
    provider: RazorpayProvider, body: bytes, headers: Any, secret: str | None
) -> None:
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(body, headers, secret)


# -- normalization -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    webhook_samples(),
    ids=[f"{p['event']}-{i}" for i, (p, _) in enumerate(webhook_samples())],
)
def test_every_sample_normalizes(
    provider: RazorpayProvider, payload: dict[str, Any], expected: EventType
) -> None:
    normalized = provider.handle_webhook_event(payload)
    assert normalized.type is expected
    assert normalized.provider == "razorpay"
    assert normalized.raw_type == payload["event"]
    assert normalized.id == event_id(payload)
    assert normalized.created_at is not None
    assert normalized.data == payload


def test_every_mapped_event_has_a_sample() -> None:
    assert {payload["event"] for payload, _ in webhook_samples()} == EVENT_TYPES


def test_payment_link_paid_carries_invoice_amount_and_payment(provider: RazorpayProvider) -> None:
    normalized = provider.handle_webhook_event(_sample("payment_link.paid"))
    assert normalized.invoice_id == INVOICE_ID
    assert normalized.amount == paywire.Money("1234", "INR")
    assert normalized.transaction_id == PAYMENT_ID
    assert normalized.session_id == "plink_Ozr0pQ1rS2tU3v"


def test_reference_id_names_the_invoice_even_without_notes(provider: RazorpayProvider) -> None:
    payload = copy.deepcopy(_sample("payment_link.paid"))
    for entity in payload["payload"].values():
        entity["entity"]["notes"] = []
    assert provider.handle_webhook_event(payload).invoice_id == INVOICE_ID


@pytest.mark.parametrize("name", ["payment.captured", "order.paid", "payment.failed"])
def test_payment_events_carry_the_invoice_id_from_notes(
    provider: RazorpayProvider, name: str
) -> None:
    normalized = provider.handle_webhook_event(_sample(name))
    assert normalized.invoice_id == INVOICE_ID
    assert normalized.transaction_id == PAYMENT_ID
    assert normalized.amount == paywire.Money("1234", "INR")


def test_invoice_id_falls_back_to_the_order_notes(provider: RazorpayProvider) -> None:
    payload = copy.deepcopy(_sample("order.paid"))
    payload["payload"]["payment"]["entity"]["notes"] = []
    assert provider.handle_webhook_event(payload).invoice_id == INVOICE_ID


def test_recurring_payment_names_the_saved_method(provider: RazorpayProvider) -> None:
    recurring = [
        p
        for p, _ in webhook_samples()
        if p["event"] == "payment.captured" and p["payload"]["payment"]["entity"]["token_id"]
    ]
    normalized = provider.handle_webhook_event(recurring[0])
    assert normalized.payment_method_id == TOKEN_ID
    assert normalized.customer_id == CUSTOMER_ID
    assert normalized.saved_payment_method == paywire.SavedPaymentMethod(
        "razorpay", TOKEN_ID, CUSTOMER_ID
    )


def test_a_failed_recurring_debit_names_invoice_transaction_and_method(
    provider: RazorpayProvider,
) -> None:
    failed = [
        p
        for p, _ in webhook_samples()
        if p["event"] == "payment.failed" and p["payload"]["payment"]["entity"]["token_id"]
    ]
    normalized = provider.handle_webhook_event(failed[0])
    assert normalized.type is EventType.PAYMENT_FAILED
    assert normalized.invoice_id == INVOICE_ID
    assert normalized.transaction_id == failed[0]["payload"]["payment"]["entity"]["id"]
    assert normalized.payment_method_id == TOKEN_ID


def test_invoice_paid_names_the_saved_card_and_its_link(provider: RazorpayProvider) -> None:
    normalized = provider.handle_webhook_event(_sample("invoice.paid"))
    assert normalized.type is EventType.SETUP_COMPLETED
    assert normalized.saved_payment_method == paywire.SavedPaymentMethod(
        "razorpay", TOKEN_ID, CUSTOMER_ID
    )
    assert normalized.session_id == "inv_Ozq9eF6gH7iJ8k"
    assert provider.complete_setup(normalized) == normalized.saved_payment_method


def test_token_confirmed_names_the_token_without_a_customer(provider: RazorpayProvider) -> None:
    """Razorpay's card token entity carries no customer_id (its recurring webhooks page)."""
    normalized = provider.handle_webhook_event(_sample("token.confirmed"))
    assert normalized.type is EventType.SETUP_COMPLETED
    assert normalized.payment_method_id == TOKEN_ID
    assert normalized.customer_id is None
    with pytest.raises(paywire.InvalidRequest, match=r"invoice\.paid"):
        provider.complete_setup(normalized)


def test_a_token_entity_with_its_customer_names_both(provider: RazorpayProvider) -> None:
    payload = copy.deepcopy(_sample("token.confirmed"))
    payload["payload"]["token"]["entity"]["customer_id"] = CUSTOMER_ID
    normalized = provider.handle_webhook_event(payload)
    assert normalized.saved_payment_method == paywire.SavedPaymentMethod(
        "razorpay", TOKEN_ID, CUSTOMER_ID
    )


def test_refund_events(provider: RazorpayProvider) -> None:
    normalized = provider.handle_webhook_event(_sample("refund.processed"))
    assert normalized.type is EventType.REFUND_SUCCEEDED
    assert normalized.refund_id == "rfnd_Ozs2hI3jK4lM5n"
    assert normalized.transaction_id == PAYMENT_ID
    assert normalized.amount == paywire.Money("500", "INR")


def test_invoice_paid_without_a_token_is_not_paywires(provider: RazorpayProvider) -> None:
    payload = copy.deepcopy(_sample("invoice.paid"))
    payload["payload"]["payment"]["entity"]["token_id"] = None
    with pytest.raises(paywire.UnknownEvent):
        provider.handle_webhook_event(payload)


def test_event_ids_are_stable_and_distinct() -> None:
    ids = [event_id(payload) for payload, _ in webhook_samples()]
    assert len(set(ids)) == len(ids)
    payload = _sample("payment.captured")
    assert event_id(copy.deepcopy(payload)) == event_id(payload)
    assert event_id(payload) == f"payment.captured:payment={PAYMENT_ID}:{payload['created_at']}"
    later = {**payload, "created_at": payload["created_at"] + 1}
    assert event_id(later) != event_id(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"entity": "event"},
        {"entity": "event", "event": 12, "payload": {}},
        {"entity": "collection", "event": "payment.captured", "payload": {}},
        event("virtual_account.created", {"virtual_account": {"id": "va_1"}}),
    ],
)
def test_what_is_not_a_mapped_event_is_unknown(
    provider: RazorpayProvider, payload: dict[str, Any]
) -> None:
    with pytest.raises(paywire.UnknownEvent):
        provider.handle_webhook_event(payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"entity": "event", "event": "payment.captured", "payload": []},
        {"entity": "event", "event": "payment.captured", "payload": {"payment": {"entity": 5}}},
        {"entity": "event", "event": "payment.captured", "payload": {"payment": {}}},
        {
            "entity": "event",
            "event": "payment.captured",
            "payload": {"payment": {"entity": {"id": 5}}},
            "created_at": 1,
        },
        {**event("payment.captured", {"payment": {"id": "pay_1"}}), "created_at": "yesterday"},
        {**event("payment.captured", {"payment": {"id": "pay_1"}}), "created_at": 10**20},
        event("refund.processed", {"refund": {"id": "rfnd_1", "amount": "5", "currency": "INR"}}),
    ],
)
def test_a_mapped_event_that_cannot_be_read_is_malformed(
    provider: RazorpayProvider, payload: dict[str, Any]
) -> None:
    with pytest.raises(paywire.MalformedWebhook):
        provider.handle_webhook_event(payload)


def test_the_event_id_is_razorpays_header_when_it_is_there(provider: RazorpayProvider) -> None:
    payload = _sample("payment.captured")
    body = json.dumps(payload).encode()
    with_header = provider.parse_webhook(body, {"x-razorpay-event-id": "Ozr1aB3cD4eF5g"})
    without = provider.parse_webhook(body, {})
    assert with_header.id == "Ozr1aB3cD4eF5g"
    assert without.id == event_id(payload)
    assert with_header.type is without.type is EventType.PAYMENT_SUCCEEDED


@pytest.mark.parametrize("value", ["x" * 201, "evt\x00id"])
def test_an_unusable_event_id_header_is_malformed(provider: RazorpayProvider, value: str) -> None:
    body = json.dumps(_sample("payment.captured")).encode()
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(body, {EVENT_ID_HEADER: value})


def test_a_body_that_is_not_json_is_malformed(provider: RazorpayProvider) -> None:
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(b"<xml/>", {})
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(b"[" * 200 + b"]" * 200, {})


def test_a_redelivered_event_is_processed_once() -> None:
    """Razorpay signs no timestamp: a replayed body is caught by its event id."""
    from paywire.webhooks import InMemoryEventStore, WebhookProcessor

    body = json.dumps(_sample("payment.captured")).encode()
    headers = {"X-Razorpay-Signature": _sign(body), EVENT_ID_HEADER: "Ozr1aB3cD4eF5g"}
    seen: list[paywire.WebhookEvent] = []
    provider = build_provider()
    try:
        processor = WebhookProcessor({"razorpay": provider}, InMemoryEventStore())
        processor.on(EventType.PAYMENT_SUCCEEDED)(seen.append)
        first = processor.process("razorpay", body, headers)
        again = processor.process("razorpay", body, headers)
    finally:
        provider.close()
    assert len(seen) == 1
    assert (first.outcome, again.outcome) == ("processed", "duplicate")


def test_the_table_is_the_plugins_event_list() -> None:
    assert EVENTS.types == EVENT_TYPES
    assert "payment.captured" in EVENTS


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(sorted(EVENT_TYPES)),
    entities=st.dictionaries(
        st.sampled_from(["payment", "order", "refund", "payment_link", "token", "dispute"]),
        st.dictionaries(
            st.sampled_from(
                ["id", "amount", "currency", "notes", "reference_id", "status", "token_id"]
            ),
            st.one_of(st.none(), st.integers(-5, 10**6), st.text(max_size=8), st.just({})),
        ),
        max_size=3,
    ),
    header=st.one_of(st.none(), st.text(max_size=30)),
)
def test_odd_payloads_normalize_or_raise_unknown_or_malformed(
    provider: RazorpayProvider,
    name: str,
    entities: dict[str, dict[str, Any]],
    header: str | None,
) -> None:
    body = json.dumps(event(name, entities)).encode()
    headers = {} if header is None else {EVENT_ID_HEADER: header}
    try:
        normalized = provider.parse_webhook(body, headers)
    except (paywire.UnknownEvent, paywire.MalformedWebhook):
        return
    assert normalized.raw_type == name
    assert normalized.id
