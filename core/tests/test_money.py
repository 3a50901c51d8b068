"""Money: Decimal only, ISO 4217 exponents, exact minor units, provider rules as data."""

from __future__ import annotations

import decimal
import importlib.util
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from paywire_strategies import CURRENCIES, currencies, money

import paywire
from paywire import (
    ISO_4217_PUBLISHED,
    ISO_RULES,
    CurrencyRules,
    InvalidAmount,
    Money,
    UnknownCurrency,
    currency_exponent,
    known_currencies,
    normalize_currency,
)
from paywire._currency_data import EXPONENTS

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate_currencies.py"

# Rules shaped like Stripe's: zero-decimal currencies, three-decimal ones sent in tens, and ISK
# sent with two decimals in hundreds.
STRIPE_LIKE = CurrencyRules(
    name="stripe-like",
    exponents={"MGA": 0, "ISK": 2, "ugx": 0},
    multiples={"ISK": 100, "BHD": 10, "JOD": 10, "KWD": 10, "OMR": 10, "TND": 10},
)
# Rules shaped like PayPal's: decimal strings, HUF and TWD without decimals, a closed list.
PAYPAL_LIKE = CurrencyRules(
    name="paypal-like",
    exponents={"HUF": 0, "TWD": 0},
    supported={"USD", "EUR", "JPY", "HUF", "TWD", "GBP"},
)


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_currencies", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def generator() -> ModuleType:
    """The generator script, when the iso4217 package at hand has the committed table's date."""
    pytest.importorskip("iso4217", reason="the generator reads the iso4217 package's table")
    script = _load_script()
    published, _ = script.read_table()
    if published != ISO_4217_PUBLISHED:
        pytest.skip(
            f"iso4217 ships the table of {published}, _currency_data.py was generated from the "
            f"one of {ISO_4217_PUBLISHED}: run core/scripts/generate_currencies.py"
        )
    return script


# -- the ISO 4217 table ----------------------------------------------------------------------


def test_generated_table_matches_the_generator(
    generator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = Path(sys.modules["paywire._currency_data"].__file__ or "").read_text("utf-8")
    out = tmp_path / "_currency_data.py"
    monkeypatch.setattr(generator, "OUT", out)
    assert generator.main() == 0
    assert out.read_text("utf-8") == committed


def test_generator_reads_every_active_currency(generator: ModuleType) -> None:
    published, exponents = generator.read_table()
    assert published == ISO_4217_PUBLISHED
    assert exponents == EXPONENTS
    assert list(exponents) == sorted(exponents)


def test_well_known_exponents() -> None:
    expected = {"USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3, "CLF": 4, "ISK": 0}
    for code, exponent in expected.items():
        assert currency_exponent(code) == exponent
        assert currency_exponent(code.lower()) == exponent
    # Funds and metals without a minor unit are not currencies a payment is taken in.
    assert {"XAU", "XDR", "XTS", "XXX"}.isdisjoint(known_currencies())
    assert len(known_currencies()) > 150


@pytest.mark.parametrize("bad", ["usd ", "US", "EURO", "", "XXX", None, 840, b"USD"])
def test_unknown_codes_raise(bad: Any) -> None:
    with pytest.raises(UnknownCurrency):
        normalize_currency(bad)
    with pytest.raises(UnknownCurrency):
        Money(1, bad)


def test_invalid_amount_is_a_value_error_and_unknown_currency_an_invalid_amount() -> None:
    assert issubclass(InvalidAmount, ValueError)
    assert issubclass(UnknownCurrency, InvalidAmount)


# -- Money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        0.5,
        1.0,
        True,
        float("nan"),
        "nan",
        "inf",
        "-inf",
        Decimal("NaN"),
        Decimal("Infinity"),
        "abc",
        "1,50",
        "",
        None,
        [1],
        -1,
        "-0.01",
        Decimal("-5"),
    ],
)
def test_refused_amounts(amount: Any) -> None:
    with pytest.raises(InvalidAmount):
        Money(amount, "USD")


def test_accepted_amount_forms() -> None:
    assert Money("12.50", "usd").amount == Decimal("12.50")
    assert Money(12, "USD").amount == Decimal(12)
    assert Money(Decimal("12.5"), "USD") == Money("12.50", "USD")
    assert Money("1E+2", "JPY") == Money(100, "JPY")
    assert Money("1.2300", "USD") == Money("1.23", "USD")  # trailing zeros are not places


def test_negative_zero_is_zero() -> None:
    zero = Money("-0.00", "USD")
    assert not zero.amount.is_signed()
    assert str(zero) == "0.00 USD"
    assert ISO_RULES.to_decimal_string(zero) == "0.00"


@given(currencies, st.integers(min_value=0, max_value=10**35 - 1), st.integers(1, 6))
def test_amounts_with_too_many_places_always_raise(code: str, whole: int, extra: int) -> None:
    exponent = currency_exponent(code)
    # whole + a non-zero digit in a place past the exponent (built exactly, from a string).
    amount = Decimal(f"{whole}.{'0' * (exponent + extra - 1)}7")
    with pytest.raises(InvalidAmount, match="decimal places"):
        Money(amount, code)


def test_amounts_beyond_28_digits_are_neither_accepted_rounded_nor_crash() -> None:
    # The default decimal context keeps 28 digits; money must not be rounded by it.
    with pytest.raises(InvalidAmount):
        Money(Decimal("12345678901234567890123456.001"), "USD")
    big = Money(Decimal("1E+30"), "USD")
    cent = Money("0.01", "USD")
    assert (big + cent).amount == Decimal("1000000000000000000000000000000.01")
    assert str(big) == "1000000000000000000000000000000.00 USD"
    assert (big + cent - big) == cent
    assert (cent * 10**30).amount == Decimal("1E+28")
    with pytest.raises(InvalidAmount, match="too large"):
        big * 10**6
    assert (big + cent).to_minor_units() == 10**32 + 1
    assert Money.from_minor_units(10**32 + 1, "USD") == big + cent


@pytest.mark.parametrize(
    "amount", ["1E+36", "1E+100000000", "9" * 37, Decimal("1E+999999999"), 10**36]
)
def test_absurdly_large_amounts_are_refused_quickly(amount: Any) -> None:
    with pytest.raises(InvalidAmount, match="too large"):
        Money(amount, "USD")
    with pytest.raises(InvalidAmount, match="too large"):
        ISO_RULES.from_decimal_string(str(amount), "JPY")


def test_largest_amount() -> None:
    largest = Money("9" * 36, "JPY")
    assert largest.to_minor_units() == 10**36 - 1
    assert Money("0E+1000", "USD") == Money(0, "USD")


def test_str_and_repr() -> None:
    assert str(Money("12.5", "USD")) == "12.50 USD"
    assert str(Money(5, "JPY")) == "5 JPY"
    assert str(Money(1, "KWD")) == "1.000 KWD"
    assert repr(Money("12.5", "usd")) == "Money('12.5', 'USD')"


def test_arithmetic() -> None:
    a = Money("10.00", "EUR")
    b = Money("2.50", "EUR")
    assert a + b == Money("12.50", "EUR")
    assert a - b == Money("7.50", "EUR")
    assert b * 3 == 3 * b == Money("7.50", "EUR")
    assert Money.zero("eur") == Money(0, "EUR")
    with pytest.raises(InvalidAmount):
        b - a
    with pytest.raises(InvalidAmount, match="EUR with USD"):
        a + Money(1, "USD")
    with pytest.raises(TypeError):
        a + 1  # type: ignore[operator]
    for bad in [1.5, True, Decimal(2)]:
        with pytest.raises(TypeError):
            a * bad  # type: ignore[operator]


def test_ordering_is_within_one_currency() -> None:
    small, large = Money(1, "USD"), Money(2, "USD")
    assert small < large
    assert small <= large
    assert large > small
    assert large >= small
    assert small <= Money("1.00", "USD")
    assert sorted([large, small]) == [small, large]
    assert Money(1, "USD") != Money(1, "EUR")
    comparisons: list[Callable[[], bool]] = [
        lambda: small < Money(2, "EUR"),
        lambda: small <= Money(2, "EUR"),
        lambda: small > Money(2, "EUR"),
        lambda: small >= Money(2, "EUR"),
    ]
    for compare in comparisons:
        with pytest.raises(InvalidAmount):
            compare()


def test_equal_money_hashes_equal() -> None:
    assert hash(Money("1.5", "USD")) == hash(Money("1.50", "USD"))
    assert len({Money("1.5", "USD"), Money("1.50", "USD"), Money("1.5", "EUR")}) == 2


# -- minor units and decimal strings, over every currency ------------------------------------


@given(currencies, st.integers(min_value=0, max_value=10**30))
def test_minor_units_round_trip_for_every_currency(code: str, minor: int) -> None:
    amount = Money.from_minor_units(minor, code)
    assert amount.to_minor_units() == minor
    with decimal.localcontext(prec=100):  # the check itself must not round
        assert amount.amount * 10 ** currency_exponent(code) == minor


@given(money())
def test_money_to_minor_units_and_back(amount: Money) -> None:
    assert Money.from_minor_units(amount.to_minor_units(), amount.currency) == amount


@given(money())
def test_decimal_strings_round_trip_with_exactly_the_currency_places(amount: Money) -> None:
    text = ISO_RULES.to_decimal_string(amount)
    exponent = currency_exponent(amount.currency)
    whole, _, fraction = text.partition(".")
    assert whole.isdigit()
    assert len(fraction) == exponent
    assert "E" not in text
    assert ISO_RULES.from_decimal_string(text, amount.currency) == amount
    assert ISO_RULES.from_decimal_string(f" {text} ", amount.currency) == amount


@given(currencies, st.integers(min_value=0, max_value=10**12))
def test_decimal_strings_with_too_many_places_raise(code: str, minor: int) -> None:
    places = currency_exponent(code) + 1
    text = f"{Decimal(minor * 10 + 3).scaleb(-places):f}"
    with pytest.raises(InvalidAmount):
        ISO_RULES.from_decimal_string(text, code)


@pytest.mark.parametrize("bad", [1.5, 150, b"1.50", None])
def test_from_decimal_string_wants_a_string(bad: Any) -> None:
    with pytest.raises(InvalidAmount):
        ISO_RULES.from_decimal_string(bad, "USD")


@pytest.mark.parametrize("bad", [1.5, True, "100", Decimal(100), -1])
def test_from_minor_units_wants_a_non_negative_int(bad: Any) -> None:
    with pytest.raises(InvalidAmount):
        Money.from_minor_units(bad, "USD")


# -- provider rules ----------------------------------------------------------------------------


def test_stripe_like_zero_decimal_override() -> None:
    assert STRIPE_LIKE.exponent("mga") == 0
    assert Money(150, "MGA").to_minor_units(STRIPE_LIKE) == 150
    assert Money("1.50", "MGA").to_minor_units() == 150
    with pytest.raises(InvalidAmount, match="stripe-like"):
        Money("1.50", "MGA").to_minor_units(STRIPE_LIKE)
    assert Money.from_minor_units(150, "MGA", STRIPE_LIKE) == Money(150, "MGA")


@pytest.mark.parametrize("code", ["BHD", "JOD", "KWD", "OMR", "TND"])
def test_stripe_like_three_decimal_currencies_end_in_zero(code: str) -> None:
    assert Money("1.230", code).to_minor_units(STRIPE_LIKE) == 1230
    assert Money("1.234", code).to_minor_units() == 1234
    with pytest.raises(InvalidAmount, match="multiple of 10"):
        Money("1.234", code).to_minor_units(STRIPE_LIKE)


def test_stripe_like_isk_two_decimals_in_hundreds() -> None:
    assert Money(5, "ISK").to_minor_units(STRIPE_LIKE) == 500
    assert Money(5, "ISK").to_minor_units() == 5
    assert Money.from_minor_units(500, "ISK", STRIPE_LIKE) == Money(5, "ISK")
    # 5.50 ISK does not exist (ISO exponent 0), so Stripe's 550 cannot be read as money.
    with pytest.raises(InvalidAmount):
        Money.from_minor_units(550, "ISK", STRIPE_LIKE)


@given(currencies, st.integers(min_value=0, max_value=10**12))
def test_rules_round_trip_every_currency_they_can_express(code: str, minor: int) -> None:
    multiple = STRIPE_LIKE.multiples.get(code, 1)
    try:
        amount = Money.from_minor_units(minor * multiple, code, STRIPE_LIKE)
    except InvalidAmount:
        # Only an override with more places than ISO can produce amounts ISO cannot hold.
        assert STRIPE_LIKE.exponent(code) > currency_exponent(code)
        return
    assert amount.to_minor_units(STRIPE_LIKE) == minor * multiple
    text = STRIPE_LIKE.to_decimal_string(amount)
    assert STRIPE_LIKE.from_decimal_string(text, code) == amount


@given(st.sampled_from(sorted(STRIPE_LIKE.multiples)), st.integers(min_value=0, max_value=10**9))
def test_minor_amounts_off_the_multiple_always_raise(code: str, minor: int) -> None:
    multiple = STRIPE_LIKE.multiples[code]
    assume(minor % multiple)
    amount = Money.from_minor_units(minor, code, ISO_RULES)
    exponent_gap = STRIPE_LIKE.exponent(code) - currency_exponent(code)
    assume(exponent_gap == 0)
    with pytest.raises(InvalidAmount):
        amount.to_minor_units(STRIPE_LIKE)


def test_paypal_like_no_decimal_currencies_with_decimal_strings() -> None:
    assert PAYPAL_LIKE.to_decimal_string(Money(100, "HUF")) == "100"
    assert PAYPAL_LIKE.to_decimal_string(Money("100.00", "HUF")) == "100"
    assert ISO_RULES.to_decimal_string(Money(100, "HUF")) == "100.00"
    assert PAYPAL_LIKE.to_decimal_string(Money("12.3", "USD")) == "12.30"
    assert PAYPAL_LIKE.to_decimal_string(Money(7, "JPY")) == "7"
    with pytest.raises(InvalidAmount, match="paypal-like"):
        PAYPAL_LIKE.to_decimal_string(Money("100.50", "HUF"))
    with pytest.raises(InvalidAmount):
        PAYPAL_LIKE.from_decimal_string("100.50", "TWD")
    assert PAYPAL_LIKE.from_decimal_string("100.00", "TWD") == Money(100, "TWD")
    assert PAYPAL_LIKE.from_decimal_string("19.99", "EUR") == Money("19.99", "EUR")


def test_supported_currencies_are_a_closed_list() -> None:
    assert PAYPAL_LIKE.supported == frozenset({"USD", "EUR", "JPY", "HUF", "TWD", "GBP"})
    with pytest.raises(UnknownCurrency, match="paypal-like does not take INR"):
        Money(1, "INR").to_minor_units(PAYPAL_LIKE)
    with pytest.raises(UnknownCurrency):
        PAYPAL_LIKE.from_minor_units(1, "INR")
    with pytest.raises(UnknownCurrency):
        PAYPAL_LIKE.from_decimal_string("1.00", "INR")


def test_rules_are_validated_data() -> None:
    assert STRIPE_LIKE.exponents["UGX"] == 0  # codes are normalized
    with pytest.raises(UnknownCurrency):
        CurrencyRules(name="x", exponents={"ZZZ": 2})
    with pytest.raises(UnknownCurrency):
        CurrencyRules(name="x", supported=["usd", "nope"])
    assert ISO_RULES.supported is None
    bad: Any
    for bad in [2.5, "2", True, -1, None]:
        with pytest.raises(ValueError, match="non-negative int"):
            CurrencyRules(name="x", exponents={"USD": bad})
        with pytest.raises(ValueError, match="non-negative int"):
            CurrencyRules(name="x", multiples={"USD": bad})
    with pytest.raises(ValueError, match="at least 1"):
        CurrencyRules(name="x", multiples={"KWD": 0})
    assert set(CURRENCIES) == set(known_currencies())


def test_money_helpers_are_exported() -> None:
    assert paywire.ISO_RULES is ISO_RULES
    assert paywire.Money is Money
