"""``Stripe-Signature`` verification and event normalization."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe_fakes import WEBHOOK_SECRET

import paywire
from paywire_stripe import EVENT_TYPES, StripeProvider
from paywire_stripe._samples import INVOICE_ID, event, objects, webhook_samples
from paywire_stripe._webhooks import normalize_event, verify_signature

BODY = json.dumps(event("payment_intent.succeeded", objects()["payment_intent"]())).encode()


def sign(body: bytes, secret: str, timestamp: int, scheme: str = "v1") -> str:
    # Computed here, independently of the plugin and of the core's helper.
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"{scheme}={digest}"


def header(body: bytes = BODY, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},{sign(body, secret, ts)}"


# -- verification -------------------------------------------------------------------------------


def test_a_valid_signature_passes(provider: StripeProvider) -> None:
    provider.verify_webhook_signature(BODY, {"Stripe-Signature": header()})


def test_header_names_are_case_insensitive(provider: StripeProvider) -> None:
    provider.verify_webhook_signature(BODY, {"stripe-signature": header()})


def test_an_explicit_secret_overrides_the_configured_one(provider: StripeProvider) -> None:
    other = "whsec_rotated0000000000000"
    provider.verify_webhook_signature(BODY, {"Stripe-Signature": header(secret=other)}, other)
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, {"Stripe-Signature": header()}, other)


def test_any_of_several_v1_signatures_may_match() -> None:
    ts = int(time.time())
    value = f"t={ts},{sign(BODY, 'whsec_old0000000', ts)},{sign(BODY, WEBHOOK_SECRET, ts)}"
    assert verify_signature(BODY, {"Stripe-Signature": value}, WEBHOOK_SECRET, tolerance=300) == ts


def test_other_schemes_are_ignored() -> None:
    ts = int(time.time())
    value = f"t={ts},{sign(BODY, WEBHOOK_SECRET, ts, scheme='v0')}"
    with pytest.raises(paywire.InvalidSignature):
        verify_signature(BODY, {"Stripe-Signature": value}, WEBHOOK_SECRET, tolerance=300)


@pytest.mark.parametrize(
    "case",
    ["tampered", "wrong_secret", "stale", "future", "missing", "no_secret", "not_bytes"],
)
def test_bad_signatures_are_rejected(provider: StripeProvider, case: str) -> None:
    body: Any = BODY
    headers = {"Stripe-Signature": header()}
    secret: str | None = None
    if case == "tampered":
        body = BODY.replace(b"2000", b"2001")
    elif case == "wrong_secret":
        secret = "whsec_somebodyelse000000"
    elif case == "stale":
        headers = {"Stripe-Signature": header(timestamp=int(time.time()) - 301)}
    elif case == "future":
        headers = {"Stripe-Signature": header(timestamp=int(time.time()) + 301)}
    elif case == "missing":
        headers = {}
    elif case == "no_secret":
        secret = ""
    elif case == "not_bytes":
        body = BODY.decode()
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(body, headers, secret)


def test_tolerance_is_configurable() -> None:
    now = 1_800_000_000
    value = header(timestamp=now - 100)
    verify_signature(BODY, {"Stripe-Signature": value}, WEBHOOK_SECRET, tolerance=300, now=now)
    with pytest.raises(paywire.InvalidSignature):
        verify_signature(BODY, {"Stripe-Signature": value}, WEBHOOK_SECRET, tolerance=60, now=now)


_text = st.text(max_size=80)
_headers = st.one_of(
    st.dictionaries(_text, _text, max_size=3),
    st.builds(lambda v: {"Stripe-Signature": v}, _text),
    st.builds(
        lambda ts, sigs: {"Stripe-Signature": ",".join([f"t={ts}", *(f"v1={s}" for s in sigs)])},
        st.one_of(st.integers(), _text),
        st.lists(_text, max_size=3),
    ),
    st.none(),
    st.integers(),
    st.lists(_text),
    st.dictionaries(_text, st.one_of(st.none(), st.integers(), st.binary()), max_size=2),
)


@settings(max_examples=300)
@given(
    payload=st.one_of(st.binary(max_size=200), st.text(max_size=50), st.none(), st.integers()),
    headers=_headers,
    secret=st.one_of(st.none(), st.text(max_size=30), st.binary(max_size=10), st.integers()),
)
def test_any_garbage_raises_invalid_signature_and_nothing_else(
    payload: Any, headers: Any, secret: Any
) -> None:
    with pytest.raises(paywire.InvalidSignature):
        verify_signature(payload, headers, secret, tolerance=300)


@settings(max_examples=100)
@given(body=st.binary(max_size=300), offset=st.integers(min_value=-300, max_value=300))
def test_whatever_is_signed_correctly_within_tolerance_verifies(body: bytes, offset: int) -> None:
    now = 1_800_000_000
    value = header(body, timestamp=now + offset)
    assert (
        verify_signature(body, {"Stripe-Signature": value}, WEBHOOK_SECRET, tolerance=300, now=now)
        == now + offset
    )


# -- normalization ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    webhook_samples(),
    ids=[f"{p['type']}-{p['id']}" for p, _ in webhook_samples()],
)
def test_every_documented_event_normalizes(
    provider: StripeProvider, payload: dict[str, Any], expected: paywire.EventType
) -> None:
    normalized = provider.handle_webhook_event(payload)
    assert normalized.type is expected
    assert normalized.provider == "stripe"
    assert normalized.id == payload["id"]
    assert normalized.raw_type == payload["type"]
    assert normalized.created_at is not None
    assert normalized.data is payload


def test_samples_cover_every_mapped_type() -> None:
    assert {p["type"] for p, _ in webhook_samples()} == EVENT_TYPES


def test_payment_event_fields() -> None:
    normalized = normalize_event(event("payment_intent.succeeded", objects()["payment_intent"]()))
    assert normalized.invoice_id == INVOICE_ID
    assert normalized.amount == paywire.Money("20.00", "USD")
    assert normalized.transaction_id == "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"
    assert normalized.payment_method_id == "pm_1Pgc75B7WZ01zgkWlHVgdEGJ"
    assert normalized.customer_id == "cus_QXg1hqf4jFNsqG"
    assert normalized.refund_id is None
    assert normalized.session_id is None


def test_checkout_event_takes_the_invoice_from_client_reference_id() -> None:
    session = objects()["checkout.session"](client_reference_id="INV-REF", metadata={})
    normalized = normalize_event(event("checkout.session.completed", session))
    assert normalized.type is paywire.EventType.CHECKOUT_COMPLETED
    assert normalized.invoice_id == "INV-REF"
    assert normalized.session_id == "cs_test_a1b2c3d4e5f6g7h8i9j0"
    assert normalized.transaction_id == "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"
    assert normalized.amount == paywire.Money("25", "USD")


def test_checkout_event_falls_back_to_metadata() -> None:
    session = objects()["checkout.session"](client_reference_id=None)
    assert normalize_event(event("checkout.session.completed", session)).invoice_id == INVOICE_ID


def test_setup_mode_checkout_is_setup_completed() -> None:
    session = objects()["checkout.session"](
        mode="setup", amount_total=None, payment_intent=None, client_reference_id=None
    )
    normalized = normalize_event(event("checkout.session.completed", session))
    assert normalized.type is paywire.EventType.SETUP_COMPLETED
    assert normalized.amount is None
    assert normalized.customer_id == "cus_QXg1hqf4jFNsqG"


def test_refund_events_carry_refund_and_transaction() -> None:
    refund = normalize_event(event("refund.created", objects()["refund"](status="pending")))
    assert refund.type is paywire.EventType.REFUND_CREATED
    assert refund.refund_id == "re_3PgafyB7WZ01zgkW1qPvrRrP"
    assert refund.transaction_id == "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"
    assert refund.amount == paywire.Money("5", "USD")
    charge = objects()["charge"](
        amount_refunded=750, refunds={"data": [{"id": "re_new"}, {"id": "re_old"}]}
    )
    refunded = normalize_event(event("charge.refunded", charge))
    assert refunded.amount == paywire.Money("7.50", "USD")
    assert refunded.refund_id == "re_new"
    assert refunded.transaction_id == "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"


def test_a_charge_without_payment_intent_is_its_own_transaction() -> None:
    charge = objects()["charge"](payment_intent=None)
    assert normalize_event(event("charge.succeeded", charge)).transaction_id == (
        "ch_3PgafyB7WZ01zgkW1XYmPNZs"
    )


def test_expanded_references_give_their_id() -> None:
    intent = objects()["payment_intent"](
        customer={"id": "cus_expanded", "object": "customer"},
        payment_method={"id": "pm_expanded", "object": "payment_method"},
    )
    normalized = normalize_event(event("payment_intent.succeeded", intent))
    assert (normalized.customer_id, normalized.payment_method_id) == ("cus_expanded", "pm_expanded")


@pytest.mark.parametrize(
    ("currency", "minor", "expected"),
    [
        ("jpy", 500, paywire.Money("500", "JPY")),
        ("kwd", 1230, paywire.Money("1.230", "KWD")),
        ("isk", 10_000, paywire.Money("100", "ISK")),
        ("mga", 5000, paywire.Money("5000", "MGA")),
    ],
)
def test_event_amounts_follow_stripes_currency_rules(
    currency: str, minor: int, expected: paywire.Money
) -> None:
    intent = objects()["payment_intent"](currency=currency, amount=minor)
    assert normalize_event(event("payment_intent.succeeded", intent)).amount == expected


def test_an_amount_paywire_cannot_express_is_left_out_not_fatal() -> None:
    intent = objects()["payment_intent"](currency="xyz", amount=100)
    normalized = normalize_event(event("payment_intent.succeeded", intent))
    assert normalized.amount is None
    assert normalized.invoice_id == INVOICE_ID


def test_unknown_types_are_unknown_events(provider: StripeProvider) -> None:
    with pytest.raises(paywire.UnknownEvent) as caught:
        provider.handle_webhook_event(event("customer.created", {"id": "cus_1"}))
    assert caught.value.event_type == "customer.created"
    assert caught.value.provider == "stripe"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("id"),
        lambda e: e.update(id=7),
        lambda e: e.update(data=None),
        lambda e: e["data"].update(object="x"),
        lambda e: e.update(created="yesterday"),
        lambda e: e.update(created=10**20),
        lambda e: e["data"]["object"].update(amount="20.00"),
        lambda e: e["data"]["object"].update(customer=["cus"]),
        lambda e: e.pop("type"),
    ],
)
def test_malformed_events_are_unknown_events(mutate: Any) -> None:
    payload = copy.deepcopy(event("payment_intent.succeeded", objects()["payment_intent"]()))
    mutate(payload)
    with pytest.raises(paywire.UnknownEvent):
        normalize_event(payload)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=15,
)
_object_keys = st.sampled_from(
    [
        "id",
        "amount",
        "amount_total",
        "amount_refunded",
        "currency",
        "customer",
        "payment_intent",
        "payment_method",
        "charge",
        "metadata",
        "client_reference_id",
        "mode",
        "payment_status",
        "status",
        "refunds",
    ]
)


@settings(max_examples=400)
@given(
    event_type=st.sampled_from(sorted(EVENT_TYPES)) | st.text(max_size=20),
    obj=st.dictionaries(_object_keys, _json | st.sampled_from(["usd", "jpy", 0, -5])),
    event_id=_json,
    created=_json,
    extra=st.dictionaries(st.text(max_size=10), _json, max_size=3),
)
def test_any_event_shape_normalizes_or_is_an_unknown_event(
    event_type: str, obj: dict[str, Any], event_id: Any, created: Any, extra: dict[str, Any]
) -> None:
    payload = {**extra, "type": event_type, "id": event_id, "created": created}
    payload["data"] = {"object": obj}
    try:
        normalized = normalize_event(payload)
    except paywire.UnknownEvent:
        return
    assert normalized.raw_type == event_type in EVENT_TYPES
    assert isinstance(normalized.id, str)
    if normalized.amount is not None:
        assert normalized.amount.amount >= Decimal(0)


@given(payload=_json)
def test_non_events_are_unknown_events(payload: Any) -> None:
    with pytest.raises(paywire.UnknownEvent):
        normalize_event(payload)
