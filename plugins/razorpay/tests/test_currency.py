"""Amounts in Razorpay's subunits: exact both ways, refused rather than rounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import paywire
from paywire_razorpay import RAZORPAY_CURRENCY_RULES, THREE_DECIMAL

RULES = RAZORPAY_CURRENCY_RULES


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.34", "INR", 1234),
        ("1", "INR", 100),
        ("0.01", "USD", 1),
        ("500", "JPY", 500),
        ("1.23", "KWD", 1230),
        ("0.01", "BHD", 10),
    ],
)
def test_known_amounts(amount: str, currency: str, minor: int) -> None:
    money = paywire.Money(amount, currency)
    assert RULES.to_minor_units(money) == minor
    assert RULES.from_minor_units(minor, currency) == money


@pytest.mark.parametrize("currency", sorted(THREE_DECIMAL))
def test_three_decimal_amounts_must_end_in_zero(currency: str) -> None:
    with pytest.raises(paywire.InvalidAmount):
        RULES.to_minor_units(paywire.Money("1.001", currency))


@given(minor=st.integers(0, 10**15), currency=st.sampled_from(["INR", "USD", "EUR", "JPY"]))
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    money = RULES.from_minor_units(minor, currency)
    assert RULES.to_minor_units(money) == minor


@given(tens=st.integers(0, 10**14), currency=st.sampled_from(["KWD", "BHD", "OMR"]))
def test_three_decimal_round_trip(tens: int, currency: str) -> None:
    minor = tens * 10
    assert RULES.to_minor_units(RULES.from_minor_units(minor, currency)) == minor


@given(
    amount=st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False),
    currency=st.sampled_from(["INR", "USD", "JPY", "KWD", "OMR"]),
)
def test_amounts_are_refused_never_rounded(amount: Decimal, currency: str) -> None:
    try:
        money = paywire.Money(amount, currency)
        minor = RULES.to_minor_units(money)
    except paywire.InvalidAmount:
        return
    assert RULES.from_minor_units(minor, currency).amount == amount
