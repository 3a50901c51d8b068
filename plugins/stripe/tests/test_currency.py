"""Stripe's minor units: zero-decimal, three-decimal (ending in 0) and ISK (×100)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import paywire
from paywire_stripe import STRIPE_CURRENCY_RULES, THREE_DECIMAL, ZERO_DECIMAL

RULES = STRIPE_CURRENCY_RULES
ISO_CURRENCIES = sorted(paywire.known_currencies())


def test_zero_decimal_currencies_take_whole_units() -> None:
    for code in ZERO_DECIMAL:
        assert RULES.exponent(code) == 0, code
        assert RULES.to_minor_units(paywire.Money("1234", code)) == 1234


def test_mga_is_zero_decimal_on_stripe_although_iso_gives_it_two() -> None:
    assert paywire.currency_exponent("MGA") == 2
    assert RULES.to_minor_units(paywire.Money("5000", "MGA")) == 5000
    with pytest.raises(paywire.InvalidAmount):
        RULES.to_minor_units(paywire.Money("5000.50", "MGA"))


@pytest.mark.parametrize("code", sorted(THREE_DECIMAL))
def test_three_decimal_amounts_must_end_in_zero(code: str) -> None:
    assert RULES.to_minor_units(paywire.Money("1.230", code)) == 1230
    assert RULES.to_minor_units(paywire.Money("12", code)) == 12000
    with pytest.raises(paywire.InvalidAmount, match="multiple of 10"):
        RULES.to_minor_units(paywire.Money("1.235", code))


def test_isk_is_two_decimal_on_the_wire_in_whole_kronur() -> None:
    assert RULES.to_minor_units(paywire.Money("100", "ISK")) == 10_000
    assert RULES.from_minor_units(10_000, "ISK") == paywire.Money("100", "ISK")
    with pytest.raises(paywire.InvalidAmount):
        RULES.from_minor_units(10_050, "ISK")  # half a króna does not exist


def test_two_decimal_currencies_follow_iso() -> None:
    assert RULES.to_minor_units(paywire.Money("10.99", "USD")) == 1099
    assert RULES.to_minor_units(paywire.Money("10.99", "HUF")) == 1099


@given(
    code=st.sampled_from(ISO_CURRENCIES),
    minor=st.integers(min_value=0, max_value=99_999_999),
)
def test_minor_units_round_trip_for_every_currency(code: str, minor: int) -> None:
    multiple = RULES.multiples.get(code, 1)
    minor -= minor % multiple
    try:
        money = RULES.from_minor_units(minor, code)
    except paywire.InvalidAmount:
        # Only where Stripe has more places than ISO (ISK): a fraction ISO cannot hold.
        assert RULES.exponent(code) > paywire.currency_exponent(code)
        return
    assert RULES.to_minor_units(money) == minor
    assert money.currency == code


@given(
    code=st.sampled_from(ISO_CURRENCIES),
    units=st.integers(min_value=0, max_value=10**9),
    places=st.integers(min_value=0, max_value=4),
)
def test_to_minor_units_is_exact_or_refuses(code: str, units: int, places: int) -> None:
    amount = Decimal(units).scaleb(-places)
    try:
        money = paywire.Money(amount, code)
    except paywire.InvalidAmount:
        return  # not even an ISO amount of this currency
    try:
        minor = RULES.to_minor_units(money)
    except paywire.InvalidAmount:
        exponent = RULES.exponent(code)
        scaled = amount.scaleb(exponent)
        multiple = RULES.multiples.get(code, 1)
        assert scaled != scaled.to_integral_value() or int(scaled) % multiple
        return
    # Exact: converting back gives the same value, never a rounded one.
    assert Decimal(minor).scaleb(-RULES.exponent(code)) == amount
    assert minor % RULES.multiples.get(code, 1) == 0
