"""The one cattrs converter: every type round-trips through JSON-safe dicts, without floats."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paywire_strategies import ALL_TYPES, webhook_events

import paywire
from paywire import (
    CheckoutSession,
    Customer,
    EventType,
    InvalidAmount,
    Invoice,
    LineItem,
    Money,
    PaymentMethodInfo,
    SessionStatus,
    UnknownCurrency,
    WebhookEvent,
    from_json_dict,
    make_converter,
    to_json_dict,
)


def _assert_json_safe(value: Any) -> None:
    """Only dicts with str keys, lists, str, int, bool and None; never a float or a tuple."""
    if isinstance(value, dict):
        assert all(isinstance(key, str) for key in value)
        for item in value.values():
            _assert_json_safe(item)
    elif isinstance(value, list):
        for item in value:
            _assert_json_safe(item)
    else:
        assert value is None or isinstance(value, str | int), f"{value!r} is not JSON-safe"
        assert not isinstance(value, float)


@pytest.mark.parametrize("cls", list(ALL_TYPES), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_every_type_round_trips_through_json(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(ALL_TYPES[cls])
    plain = to_json_dict(value)
    _assert_json_safe(plain)
    wire = json.loads(json.dumps(plain, allow_nan=False))
    back = from_json_dict(wire, cls)
    assert back == value
    assert type(back) is cls
    # Not only equal: written the same way (Decimal "1.50" stays "1.50", offsets are kept).
    assert to_json_dict(back) == plain


def test_shape_of_a_checkout_session() -> None:
    session = CheckoutSession(
        provider="stripe",
        id="cs_1",
        url="https://pay.example/cs_1",
        invoice_id="INV-1",
        amount=Money("12.50", "eur"),
        status=SessionStatus.COMPLETE,
        expires_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    )
    assert to_json_dict(session) == {
        "provider": "stripe",
        "id": "cs_1",
        "url": "https://pay.example/cs_1",
        "invoice_id": "INV-1",
        "amount": {"amount": "12.50", "currency": "EUR"},
        "status": "complete",
        "customer_id": None,
        "expires_at": "2030-01-02T03:04:05+02:00",
    }


def test_line_items_travel_as_a_list() -> None:
    invoice = Invoice(id="I", currency="JPY", line_items=[LineItem("a", Money(5, "JPY"), 2)])
    plain = to_json_dict(invoice)
    assert isinstance(plain["line_items"], list)
    assert plain["line_items"] == [
        {"description": "a", "unit_amount": {"amount": "5", "currency": "JPY"}, "quantity": 2}
    ]


def test_event_enum_travels_as_its_value() -> None:
    event = WebhookEvent(provider="p", id="e", type=EventType.REFUND_SUCCEEDED, raw_type="x")
    assert to_json_dict(event)["type"] == "refund.succeeded"
    wrong = {**to_json_dict(event), "type": "refund.exploded"}
    with pytest.raises(cattrs.ClassValidationError):
        from_json_dict(wrong, WebhookEvent)


@pytest.mark.parametrize("amount", [1.5, True, None, ["1"]])
def test_money_amount_must_not_be_a_float_or_other_non_decimal(amount: object) -> None:
    with pytest.raises(InvalidAmount):
        from_json_dict({"amount": amount, "currency": "USD"}, Money)


def test_money_amount_may_be_an_int_or_string() -> None:
    assert from_json_dict({"amount": 7, "currency": "usd"}, Money) == Money(7, "USD")
    assert from_json_dict({"amount": "7.25", "currency": "USD"}, Money) == Money("7.25", "USD")


def test_money_is_revalidated_when_structured() -> None:
    with pytest.raises(InvalidAmount):
        from_json_dict({"amount": "1.5", "currency": "JPY"}, Money)
    with pytest.raises(UnknownCurrency):
        from_json_dict({"amount": "1", "currency": "XXX"}, Money)


@pytest.mark.parametrize(
    "data",
    [{"amount": "1"}, {"amount": "1", "currency": "USD", "extra": "x"}, "1 USD", None],
)
def test_money_needs_exactly_amount_and_currency(data: object) -> None:
    with pytest.raises((TypeError, KeyError, ValueError)):
        from_json_dict(data, Money)


def test_extra_keys_are_refused() -> None:
    with pytest.raises(cattrs.ClassValidationError):
        from_json_dict({"id": "c", "surprise": 1}, Customer)


def test_naive_or_malformed_datetimes_are_refused() -> None:
    plain = to_json_dict(
        CheckoutSession(
            provider="p",
            id="s",
            url="u",
            invoice_id="i",
            amount=Money(1, "USD"),
            expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        )
    )
    for bad in ["2030-01-01T00:00:00", 1893456000, "next tuesday"]:
        with pytest.raises(cattrs.ClassValidationError):
            from_json_dict({**plain, "expires_at": bad}, CheckoutSession)


def test_event_data_must_be_an_object() -> None:
    plain = to_json_dict(
        WebhookEvent(provider="p", id="e", type=EventType.DISPUTE_OPENED, raw_type="x")
    )
    with pytest.raises(cattrs.ClassValidationError):
        from_json_dict({**plain, "data": ["not", "an", "object"]}, WebhookEvent)
    back = from_json_dict({**plain, "data": {"nested": {"n": 1}}}, WebhookEvent)
    assert back.data == {"nested": {"n": 1}}


def test_make_converter_returns_independent_converters() -> None:
    first = make_converter()
    second = make_converter()
    assert first is not second
    first.register_unstructure_hook(Decimal, lambda _: "changed")
    money = Money("1.00", "USD")
    assert first.unstructure(money.amount) == "changed"
    assert second.unstructure(money) == {"amount": "1.00", "currency": "USD"}
    assert to_json_dict(money) == {"amount": "1.00", "currency": "USD"}


def test_lazy_names_are_the_converter_functions() -> None:
    assert paywire.to_json_dict is to_json_dict
    assert paywire.from_json_dict is from_json_dict


@pytest.mark.parametrize(
    ("cls", "field", "bad"),
    [
        (LineItem, "quantity", 2.7),
        (LineItem, "quantity", "3"),
        (LineItem, "quantity", True),
        (LineItem, "description", 5),
        (Customer, "id", 5),
        (Customer, "email", ["a@b"]),
        (Customer, "metadata", {"plan": 1}),
        (PaymentMethodInfo, "exp_month", "12"),
    ],
)
def test_scalars_are_not_coerced(cls: type[Any], field: str, bad: object) -> None:
    samples: dict[type[Any], Any] = {
        LineItem: LineItem("Plan", Money("9.90", "EUR"), 3),
        Customer: Customer("c", email="a@b.example", metadata={"plan": "pro"}),
        PaymentMethodInfo: PaymentMethodInfo("p", "pm", "card", exp_month=12, exp_year=2030),
    }
    plain = to_json_dict(samples[cls])
    assert from_json_dict(plain, cls) == samples[cls]
    with pytest.raises(cattrs.ClassValidationError):
        from_json_dict({**plain, field: bad}, cls)


def test_booleans_are_not_coerced() -> None:
    converter = make_converter()
    assert converter.structure(True, bool) is True
    with pytest.raises(TypeError):
        converter.structure("false", bool)
    with pytest.raises(TypeError):
        converter.structure(0, bool)


@given(webhook_events, st.booleans())
def test_the_webhook_stores_event_json_is_the_converters(event: WebhookEvent, raw: bool) -> None:
    """The processor writes each stored event's JSON by hand, for speed: it must say exactly
    what the converter says, less the fields left at their defaults (None; ``method_saved``
    False) — the payload marked rather than repeated when it is the raw body."""
    from paywire.webhooks._processor import _to_json

    payload = event.data if raw else {"something": "else", "not": ["the", "event data"]}
    written = json.loads(_to_json(event, payload))
    expected = {
        k: v
        for k, v in paywire.to_json_dict(event).items()
        if v is not None and not (k == "method_saved" and v is False)
    }
    if raw or event.data == payload:
        expected["data"] = "$raw_body"
    assert written == expected
    assert paywire.from_json_dict({**written, "data": event.data}, WebhookEvent) == event
