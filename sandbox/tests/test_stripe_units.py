"""Unit and property tests of the Stripe fake's building blocks: form decoding, parameter
checks, currency rules, test cards, key masking and event serialisation."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paywire_sandbox._cards import luhn_valid
from paywire_sandbox.stripe import _params as p
from paywire_sandbox.stripe._cards import (
    CARDS,
    OUTCOMES,
    PM_TOKENS,
    Behaviour,
    brand_of,
    card_for_number,
    fingerprint,
)
from paywire_sandbox.stripe._currency import (
    MAX_AMOUNT,
    SUPPORTED,
    THREE_DECIMAL,
    ZERO_DECIMAL,
    check_amount,
    check_currency,
    decimals,
    format_amount,
    minimum_amount,
)
from paywire_sandbox.stripe._errors import StripeError, mask_key
from paywire_sandbox.stripe._forms import decode_form
from paywire_sandbox.stripe._resources import event_bytes


def _raised(call: Callable[[], object]) -> StripeError | None:
    """The StripeError ``call`` raises, if any."""
    try:
        call()
    except StripeError as exc:
        return exc
    return None


# ---------------------------------------------------------------------- form decoding

_name = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=8)
_value = st.text(max_size=12)
_tree: st.SearchStrategy[Any] = st.recursive(
    _value,
    lambda children: st.one_of(
        st.dictionaries(_name, children, min_size=1, max_size=3),
        st.lists(children, min_size=1, max_size=3),
    ),
    max_leaves=12,
)


def _encode(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Stripe's bracketed form encoding (indexed arrays, as stripe-python sends them)."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _encode(f"{prefix}[{k}]", v)]
    if isinstance(value, list):
        return [pair for i, v in enumerate(value) for pair in _encode(f"{prefix}[{i}]", v)]
    return [(prefix, value)]


def _indexed(value: Any) -> Any:
    """What the decoder yields: arrays stay hashes keyed by index until a schema reads them."""
    if isinstance(value, dict):
        return {k: _indexed(v) for k, v in value.items()}
    if isinstance(value, list):
        return {str(i): _indexed(v) for i, v in enumerate(value)}
    return value


@given(st.dictionaries(_name, _tree, max_size=4))
def test_decode_inverts_bracketed_encoding(data: dict[str, Any]) -> None:
    pairs = [pair for k, v in data.items() for pair in _encode(k, v)]
    assert decode_form(urlencode(pairs)) == _indexed(data)


def test_decode_examples() -> None:
    body = (
        "line_items[0][price_data][unit_amount]=500&line_items[0][quantity]=1"
        "&metadata[order]=7&expand[]=a&expand[]=b&mode=payment"
    )
    assert decode_form(body) == {
        "line_items": {"0": {"price_data": {"unit_amount": "500"}, "quantity": "1"}},
        "metadata": {"order": "7"},
        "expand": ["a", "b"],
        "mode": "payment",
    }
    assert decode_form(b"a[][x]=1&a[][y]=2&a[][x]=3") == {"a": [{"x": "1", "y": "2"}, {"x": "3"}]}
    assert decode_form(quote("metadata[k]", safe="=") + "=v") == {"metadata": {"k": "v"}}


@pytest.mark.parametrize(
    "body", ["a[b=1", "[a]=1", "a]b[=1", "a=1&a[b]=2", "a[b]=1&a=2", "a[b][c]=1&a[b]=2", "a[x]]=1"]
)
def test_decode_rejects_malformed_names(body: str) -> None:
    with pytest.raises(StripeError) as info:
        decode_form(body)
    assert info.value.status == 400
    assert info.value.type == "invalid_request_error"
    assert info.value.replayable is False


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_decode_never_fails_other_than_with_a_stripe_error(raw: str) -> None:
    error = _raised(lambda: decode_form(raw))
    assert error is None or error.status == 400


# ---------------------------------------------------------------------- parameter checks


@given(st.integers(min_value=-(10**17), max_value=10**17))
def test_integer_round_trips(value: int) -> None:
    assert p.integer()(str(value), "amount") == value


@pytest.mark.parametrize("raw", ["10.99", "1e3", "abc", " 5", "0x10", "١٢"])
def test_integer_rejects_non_integers(raw: str) -> None:
    with pytest.raises(StripeError) as info:
        p.integer()(raw, "amount")
    assert info.value.code == "parameter_invalid_integer"
    assert info.value.param == "amount"


def test_empty_string_for_required_value() -> None:
    with pytest.raises(StripeError) as info:
        p.string()("", "currency")
    assert info.value.code == "parameter_invalid_empty"
    assert p.string(nullable=True)("", "description") is None


def test_booleans_and_enums() -> None:
    assert p.boolean("true", "confirm") is True
    assert p.boolean("false", "confirm") is False
    with pytest.raises(StripeError):
        p.boolean("yes", "confirm")
    check = p.enum("payment", "setup", "subscription")
    assert check("setup", "mode") == "setup"
    with pytest.raises(StripeError) as info:
        check("donate", "mode")
    assert info.value.message == (
        "The sandbox does not implement mode=donate; it implements payment, setup, or subscription."
    )
    assert info.value.code is None  # not parameter_unknown: Stripe's own check comes first


def test_metadata_limits() -> None:
    assert p.metadata({"a": "1", "b": ""}, "metadata") == {"a": "1", "b": None}
    assert p.metadata("", "metadata") == {}
    with pytest.raises(StripeError):
        p.metadata({str(i): "x" for i in range(51)}, "metadata")
    with pytest.raises(StripeError) as long_key:
        p.metadata({"k" * 41: "x"}, "metadata")
    assert long_key.value.param is not None
    with pytest.raises(StripeError):
        p.metadata({"k": "v" * 501}, "metadata")
    with pytest.raises(StripeError):
        p.metadata("flat", "metadata")


def test_nested_schema_reports_paths() -> None:
    schema = {"items": p.array(p.obj({"qty": p.integer()}, required=("qty",)))}
    assert p.parse({"items": {"1": {"qty": "2"}, "0": {"qty": "1"}}}, schema) == {
        "items": [{"qty": 1}, {"qty": 2}]
    }
    with pytest.raises(StripeError) as unknown:
        p.parse({"items": {"0": {"qty": "1", "size": "L"}}}, schema)
    assert unknown.value.param == "items[0][size]"
    assert unknown.value.code is None  # the official check owns parameter_unknown
    assert "sandbox does not implement" in unknown.value.message
    with pytest.raises(StripeError) as missing:
        p.parse({"items": {"0": {}}}, schema)
    assert missing.value.param == "items[0][qty]"
    with pytest.raises(StripeError) as not_array:
        p.parse({"items": {"x": {"qty": "1"}}}, schema)
    assert not_array.value.param == "items"


# ---------------------------------------------------------------------- currencies


def test_currency_tables() -> None:
    assert len(ZERO_DECIMAL) == 16
    assert {"bhd", "jod", "kwd", "omr", "tnd"} == THREE_DECIMAL
    assert ZERO_DECIMAL <= SUPPORTED
    assert THREE_DECIMAL <= SUPPORTED
    assert [decimals(c) for c in ("jpy", "usd", "kwd", "isk")] == [0, 2, 3, 2]
    assert check_currency("USD") == "usd"
    with pytest.raises(StripeError) as info:
        check_currency("xyz")
    assert info.value.param == "currency"


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (50, "usd", "$0.50"),
        (50, "jpy", "¥50"),
        (1230, "kwd", "1.230"),
        (99_999_999, "usd", "$999,999.99"),
        (-5, "eur", "-€0.05"),
    ],
)
def test_format_amount(amount: int, currency: str, text: str) -> None:
    assert format_amount(amount, currency) == text


def _oracle(amount: int, currency: str) -> str | None:
    """The documented rules, restated independently of the implementation."""
    if amount < minimum_amount(currency):
        return "amount_too_small"
    if amount > 99_999_999:
        return "amount_too_large"
    if currency in {"bhd", "jod", "kwd", "omr", "tnd"} and amount % 10 != 0:
        return "invalid_charge_amount"
    if currency == "isk" and amount % 100 != 0:
        return "invalid_charge_amount_no_decimal_compatible"
    return None


@settings(max_examples=400)
@given(
    currency=st.sampled_from(sorted(SUPPORTED)),
    amount=st.integers(min_value=-5, max_value=MAX_AMOUNT + 1000),
)
def test_charge_amount_rules(currency: str, amount: int) -> None:
    expected = _oracle(amount, currency)
    error = _raised(lambda: check_amount(amount, currency))
    if expected is None:
        assert error is None
    else:
        assert error is not None
        assert (error.code, error.param, error.status) == (expected, "amount", 400)


@given(currency=st.sampled_from(sorted(SUPPORTED)), amount=st.integers(1, 10**6))
def test_refund_amounts_skip_the_minimum_but_keep_the_rounding(currency: str, amount: int) -> None:
    error = _raised(lambda: check_amount(amount, currency, minimum=False))
    expected = None
    if currency in {"bhd", "jod", "kwd", "omr", "tnd"} and amount % 10 != 0:
        expected = "invalid_charge_amount"
    elif currency == "isk" and amount % 100 != 0:
        expected = "invalid_charge_amount_no_decimal_compatible"
    assert (error.code if error is not None else None) == expected


# ---------------------------------------------------------------------- cards


def test_every_test_card_passes_luhn_and_matches_its_brand() -> None:
    for number, spec in CARDS.items():
        assert luhn_valid(number), number
        assert brand_of(number) == spec.brand, number
    for token, number in PM_TOKENS.items():
        assert number in CARDS, token
    for outcome, number in OUTCOMES.items():
        assert number in CARDS, outcome


def test_unknown_real_cards_decline_as_live_cards() -> None:
    spec = card_for_number("4111111111111111")
    assert spec.behaviour is Behaviour.DECLINE
    assert spec.decline is not None
    assert spec.decline.decline_code == "test_mode_live_card"


def test_fingerprints_are_stable_and_distinct() -> None:
    assert fingerprint("4242424242424242") == fingerprint("4242424242424242")
    assert len({fingerprint(n) for n in CARDS}) == len(CARDS)


# ---------------------------------------------------------------------- secrets and events


@given(st.text(alphabet=string.ascii_letters + string.digits + "_", min_size=0, max_size=80))
def test_masked_keys_show_at_most_four_secret_characters(key: str) -> None:
    masked = mask_key(key)
    assert len(masked) == len(key)
    visible = sum(1 for ch in masked if ch != "*")
    assert visible <= min(8, len(key)) + 4
    if len(key) > 12:
        assert key not in masked


@given(
    obj=st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=10), st.integers())),
    previous=st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=10))),
    key=st.one_of(st.none(), st.text(max_size=30)),
)
def test_event_bytes_are_valid_json_around_the_object(
    obj: dict[str, Any], previous: dict[str, Any] | None, key: str | None
) -> None:
    body = event_bytes(
        "evt_1",
        1_700_000_000,
        "customer.updated",
        json.dumps(obj),
        previous_attributes=previous,
        pending_webhooks=2,
        request_id="req_1",
        idempotency_key=key,
    )
    event = json.loads(body)
    assert event["data"]["object"] == obj
    assert event["data"].get("previous_attributes") == previous
    assert event["request"] == {"id": "req_1", "idempotency_key": key}
    assert (event["id"], event["type"], event["pending_webhooks"]) == (
        "evt_1",
        "customer.updated",
        2,
    )
    assert event["livemode"] is False
