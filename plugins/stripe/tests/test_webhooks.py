"""``Stripe-Signature`` verification (every configured secret) and event normalization, through
the public path: ``verify_webhook`` then ``parse_webhook``."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stripe_fakes import WEBHOOK_SECRET, FakeStripe, build

import paywire
from paywire_stripe import EVENT_TYPES, StripeProvider
from paywire_stripe._samples import INVOICE_ID, event, objects, webhook_samples
from paywire_stripe._webhooks import EVENT_RULES, verify_signature

BODY = json.dumps(event("payment_intent.succeeded", objects()["payment_intent"]())).encode()
OLD_SECRET = "whsec_previous00000000000000"


def sign(body: bytes, secret: str, timestamp: int, scheme: str = "v1") -> str:
    # Computed here, independently of the plugin and of the core's helper.
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"{scheme}={digest}"


def header(body: bytes = BODY, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},{sign(body, secret, ts)}"


def parse(provider: StripeProvider, payload: Any) -> paywire.WebhookEvent:
    found = provider.parse_webhook(json.dumps(payload).encode(), {})
    assert isinstance(found, paywire.WebhookEvent)
    return found


# -- verification -------------------------------------------------------------------------------


def test_a_valid_signature_passes(provider: StripeProvider) -> None:
    provider.verify_webhook(BODY, {"Stripe-Signature": header()})
    provider.verify_webhook_signature(BODY, {"Stripe-Signature": header()})
    asyncio.run(provider.verify_webhook_async(BODY, {"Stripe-Signature": header()}))


def test_header_names_are_case_insensitive(provider: StripeProvider) -> None:
    provider.verify_webhook(BODY, {"stripe-signature": header()})
    provider.verify_webhook(BODY, {"STRIPE-SIGNATURE": header()})


def test_an_explicit_secret_overrides_the_configured_one(provider: StripeProvider) -> None:
    other = "whsec_rotated0000000000000"
    provider.verify_webhook_signature(BODY, {"Stripe-Signature": header(secret=other)}, other)
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, {"Stripe-Signature": header()}, other)


def test_every_configured_secret_verifies_while_one_is_rotated(fake: FakeStripe) -> None:
    provider, _ = build(fake, webhook_secrets=[OLD_SECRET])
    with closing(provider):
        for secret in (WEBHOOK_SECRET, OLD_SECRET):
            provider.verify_webhook(BODY, {"Stripe-Signature": header(secret=secret)})
            asyncio.run(
                provider.verify_webhook_async(BODY, {"Stripe-Signature": header(secret=secret)})
            )
        with pytest.raises(paywire.InvalidSignature):
            provider.verify_webhook(
                BODY, {"Stripe-Signature": header(secret="whsec_neither000000000")}
            )
    alone, _ = build(fake)
    with closing(alone), pytest.raises(paywire.InvalidSignature):
        alone.verify_webhook(BODY, {"Stripe-Signature": header(secret=OLD_SECRET)})


def test_any_of_several_v1_signatures_may_match(provider: StripeProvider) -> None:
    # Stripe signs with each of an endpoint's secrets while one is rolled.
    ts = int(time.time())
    value = f"t={ts},{sign(BODY, 'whsec_old0000000', ts)},{sign(BODY, WEBHOOK_SECRET, ts)}"
    provider.verify_webhook(BODY, {"Stripe-Signature": value})
    assert verify_signature(BODY, {"Stripe-Signature": value}, WEBHOOK_SECRET, tolerance=300) == ts


def test_other_schemes_are_ignored(provider: StripeProvider) -> None:
    ts = int(time.time())
    value = f"t={ts},{sign(BODY, WEBHOOK_SECRET, ts, scheme='v0')}"
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook(BODY, {"Stripe-Signature": value})


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
    if secret is None:
        with pytest.raises(paywire.InvalidSignature):
            provider.verify_webhook(body, headers)


def test_no_configured_secret_verifies_nothing(fake: FakeStripe) -> None:
    provider, _ = build(fake, webhook_secret=None)
    with closing(provider), pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook(BODY, {"Stripe-Signature": header()})


def test_tolerance_is_configurable_and_applies_both_ways(fake: FakeStripe) -> None:
    now = 1_800_000_000
    for offset in (-100, 100):
        value = {"Stripe-Signature": header(timestamp=now + offset)}
        verify_signature(BODY, value, WEBHOOK_SECRET, tolerance=300, now=now)
        with pytest.raises(paywire.InvalidSignature):
            verify_signature(BODY, value, WEBHOOK_SECRET, tolerance=60, now=now)
    strict, _ = build(fake, webhook_tolerance=60)
    with closing(strict), pytest.raises(paywire.InvalidSignature):
        strict.verify_webhook(BODY, {"Stripe-Signature": header(timestamp=int(time.time()) - 100)})


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
    normalized = parse(provider, payload)
    assert normalized.type is expected
    assert normalized.provider == "stripe"
    assert normalized.id == payload["id"]
    assert normalized.raw_type == payload["type"]
    assert normalized.created_at is not None
    assert normalized.data == payload
    assert provider.handle_webhook_event(payload) == normalized  # the API 1.0 entry point


def test_samples_cover_every_mapped_type() -> None:
    assert {p["type"] for p, _ in webhook_samples()} == EVENT_TYPES


def test_event_types_is_the_tables_set_of_names() -> None:
    assert isinstance(EVENT_TYPES, frozenset)
    assert frozenset(EVENT_RULES) == EVENT_TYPES


def test_payment_event_fields(provider: StripeProvider) -> None:
    normalized = parse(provider, event("payment_intent.succeeded", objects()["payment_intent"]()))
    assert normalized.invoice_id == INVOICE_ID
    assert normalized.amount == paywire.Money("20.00", "USD")
    assert normalized.transaction_id == "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"
    assert normalized.payment_method_id == "pm_1Pgc75B7WZ01zgkWlHVgdEGJ"
    assert normalized.customer_id == "cus_QXg1hqf4jFNsqG"
    # A one-off payment names the card it used; it did not keep it.
    assert normalized.saved_payment_method is None
    keeping = objects()["payment_intent"](setup_future_usage="off_session")
    kept = parse(provider, event("payment_intent.succeeded", keeping))
    assert kept.saved_payment_method == paywire.SavedPaymentMethod(
        "stripe", "pm_1Pgc75B7WZ01zgkWlHVgdEGJ", "cus_QXg1hqf4jFNsqG"
    )
    assert normalized.refund_id is None
    assert normalized.session_id is None


def test_checkout_event_takes_the_invoice_from_client_reference_id(
    provider: StripeProvider,
) -> None:
    session = objects()["checkout.session"](client_reference_id="INV-REF", metadata={})
    normalized = parse(provider, event("checkout.session.completed", session))
    assert normalized.type is paywire.EventType.CHECKOUT_COMPLETED
    assert normalized.invoice_id == "INV-REF"
    assert normalized.session_id == "cs_test_a1b2c3d4e5f6g7h8i9j0"
    assert normalized.transaction_id == "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"
    assert normalized.amount == paywire.Money("25", "USD")


def test_checkout_event_falls_back_to_metadata(provider: StripeProvider) -> None:
    session = objects()["checkout.session"](client_reference_id=None)
    assert parse(provider, event("checkout.session.completed", session)).invoice_id == INVOICE_ID


def test_setup_mode_checkout_is_setup_completed(provider: StripeProvider) -> None:
    session = objects()["checkout.session"](
        mode="setup", amount_total=None, payment_intent=None, client_reference_id=None
    )
    normalized = parse(provider, event("checkout.session.completed", session))
    assert normalized.type is paywire.EventType.SETUP_COMPLETED
    assert normalized.amount is None
    assert normalized.customer_id == "cus_QXg1hqf4jFNsqG"
    assert normalized.payment_method_id is None  # the follow-up reads it from the SetupIntent


# -- refunds (issue 13) -------------------------------------------------------------------------


def test_a_refund_event_carries_that_refunds_own_id_and_amount(provider: StripeProvider) -> None:
    # The second partial refund of a 20.00 charge: 2.50, after 5.00 before.
    refund = objects()["refund"](id="re_second", amount=250, status="succeeded")
    normalized = parse(provider, event("refund.created", refund))
    assert normalized.type is paywire.EventType.REFUND_SUCCEEDED
    assert normalized.refund_id == "re_second"
    assert normalized.amount == paywire.Money("2.50", "USD")
    assert normalized.transaction_id == "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"


@pytest.mark.parametrize(
    ("raw_type", "status", "expected"),
    [
        ("refund.created", "pending", paywire.EventType.REFUND_CREATED),
        ("refund.created", "succeeded", paywire.EventType.REFUND_SUCCEEDED),
        ("refund.created", "failed", paywire.EventType.REFUND_FAILED),
        ("refund.updated", "requires_action", paywire.EventType.REFUND_CREATED),
        ("refund.updated", "succeeded", paywire.EventType.REFUND_SUCCEEDED),
        ("refund.updated", "canceled", paywire.EventType.REFUND_FAILED),
        ("charge.refund.updated", "failed", paywire.EventType.REFUND_FAILED),
        ("refund.failed", "failed", paywire.EventType.REFUND_FAILED),
    ],
)
def test_refund_events_follow_the_refunds_status(
    provider: StripeProvider, raw_type: str, status: str, expected: paywire.EventType
) -> None:
    refund = objects()["refund"](status=status)
    normalized = parse(provider, event(raw_type, refund))
    assert normalized.type is expected
    assert normalized.refund_id == refund["id"]


def test_charge_refunded_does_not_pretend_to_be_one_refund(provider: StripeProvider) -> None:
    # Since 2022-11-15 a Charge does not embed its refunds, and amount_refunded is the total of
    # every refund so far: the event cannot say which refund happened or for how much. Before
    # issue 13 it was normalized as a refund with an empty id and the cumulative amount.
    charge = objects()["charge"](amount_refunded=750, refunded=False)
    payload = event("charge.refunded", charge)
    with pytest.raises(paywire.UnknownEvent) as caught:
        provider.parse_webhook(json.dumps(payload).encode(), {})
    assert caught.value.event_type == "charge.refunded"
    assert "charge.refunded" not in EVENT_TYPES


# -- what is not an event -----------------------------------------------------------------------


def test_a_charge_without_payment_intent_is_its_own_transaction(provider: StripeProvider) -> None:
    charge = objects()["charge"](payment_intent=None)
    assert parse(provider, event("charge.succeeded", charge)).transaction_id == (
        "ch_3PgafyB7WZ01zgkW1XYmPNZs"
    )


def test_expanded_references_give_their_id(provider: StripeProvider) -> None:
    intent = objects()["payment_intent"](
        customer={"id": "cus_expanded", "object": "customer"},
        payment_method={"id": "pm_expanded", "object": "payment_method"},
    )
    normalized = parse(provider, event("payment_intent.succeeded", intent))
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
    provider: StripeProvider, currency: str, minor: int, expected: paywire.Money
) -> None:
    intent = objects()["payment_intent"](currency=currency, amount=minor)
    assert parse(provider, event("payment_intent.succeeded", intent)).amount == expected


def test_an_amount_paywire_cannot_express_is_left_out_not_fatal(provider: StripeProvider) -> None:
    intent = objects()["payment_intent"](currency="xyz", amount=100)
    normalized = parse(provider, event("payment_intent.succeeded", intent))
    assert normalized.amount is None
    assert normalized.invoice_id == INVOICE_ID


def test_unknown_types_are_unknown_events(provider: StripeProvider) -> None:
    with pytest.raises(paywire.UnknownEvent) as caught:
        provider.parse_webhook(json.dumps(event("customer.created", {"id": "cus_1"})).encode(), {})
    assert caught.value.event_type == "customer.created"
    assert caught.value.provider == "stripe"


@pytest.mark.parametrize("body", [b"{}", b"[]", b'"evt"', b'{"type": 7}', b"null"])
def test_what_is_no_event_is_an_unknown_event(provider: StripeProvider, body: bytes) -> None:
    with pytest.raises(paywire.UnknownEvent):
        provider.parse_webhook(body, {})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda e: e.pop("id"),
        lambda e: e.update(id=7),
        lambda e: e.update(id=""),
        lambda e: e.update(id="evt_\x00"),
        lambda e: e.update(data=None),
        lambda e: e["data"].update(object="x"),
        lambda e: e.update(created="yesterday"),
        lambda e: e.update(created=10**20),
        lambda e: e["data"]["object"].update(amount="20.00"),
        lambda e: e["data"]["object"].update(amount=-5),
        lambda e: e["data"]["object"].update(customer=["cus"]),
        lambda e: e["data"]["object"].update(customer="cus_\ud800"),
    ],
)
def test_malformed_events_are_malformed_webhooks(provider: StripeProvider, mutate: Any) -> None:
    payload = copy.deepcopy(event("payment_intent.succeeded", objects()["payment_intent"]()))
    mutate(payload)
    body = json.dumps(payload).encode("utf-8", "surrogatepass")
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(body, {})


@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b'{"type": "charge.succeeded", ' * 1])
def test_unreadable_bodies_are_malformed_webhooks(provider: StripeProvider, body: bytes) -> None:
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(body, {})


def test_deeply_nested_bodies_are_refused(provider: StripeProvider) -> None:
    payload = event("payment_intent.succeeded", objects()["payment_intent"]())
    deep: Any = "x"
    for _ in range(200):
        deep = {"d": deep}
    payload["data"]["object"]["metadata"] = {"deep": deep}
    with pytest.raises(paywire.MalformedWebhook):
        provider.parse_webhook(json.dumps(payload).encode(), {})


@pytest.fixture(scope="module")
def parser() -> Iterator[StripeProvider]:
    """A provider for the property tests (parsing keeps no state)."""
    provider, _ = build(FakeStripe())
    with closing(provider):
        yield provider


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=15,
)
_object_keys = st.sampled_from(
    [
        "id",
        "object",
        "amount",
        "amount_total",
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
        "setup_intent",
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
def test_any_event_shape_normalizes_or_is_refused(
    parser: StripeProvider,
    event_type: str,
    obj: dict[str, Any],
    event_id: Any,
    created: Any,
    extra: dict[str, Any],
) -> None:
    payload = {**extra, "type": event_type, "id": event_id, "created": created}
    payload["data"] = {"object": obj}
    try:
        normalized = parse(parser, payload)
    except paywire.UnknownEvent as exc:
        refused: str | None = exc.event_type
        assert refused is None or refused not in EVENT_TYPES
        return
    except paywire.MalformedWebhook:
        assert event_type in EVENT_TYPES
        return
    assert normalized.raw_type == event_type
    assert event_type in EVENT_TYPES
    assert isinstance(normalized.id, str)
    assert normalized.id
    if normalized.amount is not None:
        assert normalized.amount.amount >= Decimal(0)


@given(payload=_json)
def test_non_events_are_refused_as_unknown_or_malformed(
    parser: StripeProvider, payload: Any
) -> None:
    with pytest.raises((paywire.UnknownEvent, paywire.MalformedWebhook)):
        parser.parse_webhook(json.dumps(payload).encode(), {})
