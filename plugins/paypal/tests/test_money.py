"""PayPal's money: decimal strings with the currency's places, exact both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paypal_fakes import FakePayPal, body_of, json_response

import paywire
from paywire import Money
from paywire_paypal import NO_DECIMALS, PAYPAL_CURRENCY_RULES, SUPPORTED_CURRENCIES, PayPalProvider
from paywire_paypal._currency import money_fields, parse_money

currencies = st.sampled_from(sorted(SUPPORTED_CURRENCIES))


def test_no_decimal_currencies() -> None:
    for code in ("HUF", "JPY", "TWD"):
        assert PAYPAL_CURRENCY_RULES.exponent(code) == 0
        assert PAYPAL_CURRENCY_RULES.to_decimal_string(Money("1500", code)) == "1500"
    for code in ("HUF", "TWD"):  # two decimals in ISO 4217, none at PayPal
        with pytest.raises(paywire.InvalidAmount):
            PAYPAL_CURRENCY_RULES.to_decimal_string(Money("1.5", code))
    assert {"HUF", "JPY", "TWD"} == NO_DECIMALS


def test_two_decimal_strings() -> None:
    assert PAYPAL_CURRENCY_RULES.to_decimal_string(Money("12.5", "USD")) == "12.50"
    assert PAYPAL_CURRENCY_RULES.to_decimal_string(Money("7", "EUR")) == "7.00"


@pytest.mark.parametrize("code", ["KWD", "BHD", "INR", "ZAR", "ISK"])
def test_unsupported_currencies(code: str) -> None:
    with pytest.raises(paywire.UnknownCurrency):
        PAYPAL_CURRENCY_RULES.to_decimal_string(Money("1", code))


@given(currency=currencies, minor=st.integers(0, 10**15))
def test_decimal_strings_round_trip(currency: str, minor: int) -> None:
    money = PAYPAL_CURRENCY_RULES.from_minor_units(minor, currency)
    text = PAYPAL_CURRENCY_RULES.to_decimal_string(money)
    places = PAYPAL_CURRENCY_RULES.exponent(currency)
    assert len(text.partition(".")[2]) == places
    assert PAYPAL_CURRENCY_RULES.from_decimal_string(text, currency) == money
    assert Decimal(text) == money.amount


@given(currency=currencies, minor=st.integers(1, 10**9), extra=st.integers(1, 9))
def test_more_places_than_paypal_takes_are_refused(currency: str, minor: int, extra: int) -> None:
    places = PAYPAL_CURRENCY_RULES.exponent(currency)
    value = Decimal(minor).scaleb(-places) + Decimal(extra).scaleb(-places - 1)
    try:
        money = Money(value, currency)
    except paywire.InvalidAmount:
        return  # not even ISO 4217 allows it
    with pytest.raises(paywire.InvalidAmount):
        PAYPAL_CURRENCY_RULES.to_decimal_string(money)


lines = st.lists(
    st.tuples(st.integers(0, 10**7), st.integers(1, 50)), min_size=1, max_size=6
).filter(lambda items: any(minor for minor, _ in items))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(currency=currencies, items=lines)
def test_checkout_items_add_up_to_the_amount(
    fake: FakePayPal, provider: PayPalProvider, currency: str, items: list[tuple[int, int]]
) -> None:
    fake.requests.clear()
    fake.on(
        "POST",
        "/v2/checkout/orders",
        lambda r: json_response(
            201, {"id": "O1", "links": [{"rel": "payer-action", "href": "https://pp/x"}]}
        ),
    )
    invoice = paywire.Invoice(
        id="INV-H",
        currency=currency,
        line_items=[
            paywire.LineItem(f"line {i}", PAYPAL_CURRENCY_RULES.from_minor_units(m, currency), q)
            for i, (m, q) in enumerate(items)
        ],
    )
    session = provider.create_checkout_session(
        invoice, success_url="https://s", cancel_url="https://c"
    )
    assert session.amount == invoice.total
    unit = body_of(fake.sent("POST", "/v2/checkout/orders")[-1])["purchase_units"][0]
    total = Decimal(unit["amount"]["value"])
    assert total == invoice.total.amount
    assert Decimal(unit["amount"]["breakdown"]["item_total"]["value"]) == total
    summed = sum(
        (Decimal(i["unit_amount"]["value"]) * int(i["quantity"]) for i in unit["items"]),
        Decimal(0),
    )
    assert summed == total
    assert {i["unit_amount"]["currency_code"] for i in unit["items"]} == {currency}


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        ("1e3", "USD"),
        ("NaN", "USD"),
        ("-1.00", "USD"),
        (" 1.00", "USD"),
        ("9" * 40, "USD"),
        ("1.001", "USD"),
        ("1.5", "JPY"),
        (1, "USD"),
        ("1.00", None),
        ("1.00", "KWD"),
    ],
)
def test_parse_money_refuses_what_is_not_a_paypal_amount(value: object, currency: object) -> None:
    with pytest.raises(paywire.InvalidAmount):
        parse_money(value, currency)


def test_parse_money() -> None:
    assert parse_money("12.30", "USD") == Money("12.3", "USD")
    assert parse_money(".5", "EUR") == Money("0.50", "EUR")
    assert parse_money("1500", "HUF") == Money("1500", "HUF")


def test_money_fields_hold_at_most_32_characters() -> None:
    widest = Money("9" * 29 + ".99", "USD")
    assert money_fields(widest) == {"currency_code": "USD", "value": "9" * 29 + ".99"}
    with pytest.raises(paywire.InvalidAmount):
        money_fields(Money("9" * 30 + ".99", "USD"))
    assert money_fields(Money("9" * 32, "JPY"))["value"] == "9" * 32
    with pytest.raises(paywire.InvalidAmount):
        money_fields(Money("1" + "0" * 32, "JPY"))
