"""Money: ``Decimal`` amounts in ISO 4217 currencies, and exact conversion to provider units.

Nothing here rounds. An amount that a currency — or a provider's rules for that currency — cannot
express raises :class:`~paywire.InvalidAmount`; the caller decides how to round, explicitly.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from paywire._currency_data import EXPONENTS, PUBLISHED
from paywire._errors import InvalidAmount, UnknownCurrency

__all__ = [
    "ISO_4217_PUBLISHED",
    "ISO_RULES",
    "CurrencyRules",
    "Money",
    "currency_exponent",
    "known_currencies",
    "normalize_currency",
]

#: Publication date of the ISO 4217 table the exponents were generated from.
ISO_4217_PUBLISHED = PUBLISHED

# The default decimal context keeps 28 digits and rounds past that without a word; money
# arithmetic runs in an unbounded context instead, where a rounded result would be a bug.
_EXACT = decimal.Context(
    prec=decimal.MAX_PREC,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.InvalidOperation, decimal.Inexact, decimal.Overflow, decimal.DivisionByZero],
)


def known_currencies() -> frozenset[str]:
    """Every active ISO 4217 code with a minor unit."""
    return frozenset(EXPONENTS)


def normalize_currency(currency: object) -> str:
    """The upper-case ISO 4217 code; raises :class:`UnknownCurrency` for anything else."""
    if isinstance(currency, str) and currency in EXPONENTS:  # the common case, kept cheap
        return currency
    if not isinstance(currency, str):
        raise UnknownCurrency(
            f"currency must be a str ISO 4217 code, got {type(currency).__name__}"
        )
    code = currency.upper()
    if code not in EXPONENTS:
        raise UnknownCurrency(f"unknown currency code {currency!r} (not an active ISO 4217 code)")
    return code


def currency_exponent(currency: str) -> int:
    """The ISO 4217 minor-unit exponent of ``currency`` (2 for USD, 0 for JPY, 3 for KWD)."""
    return EXPONENTS[normalize_currency(currency)]


def _to_decimal(amount: object) -> Decimal:
    # float is refused outright: 0.1 + 0.2 is how money goes missing.
    if isinstance(amount, bool | float):
        raise InvalidAmount(f"amounts are Decimal, int or str, never {type(amount).__name__}")
    if isinstance(amount, Decimal):
        value = amount
    elif isinstance(amount, int | str):
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise InvalidAmount(f"not a decimal amount: {amount!r}") from None
    else:
        raise InvalidAmount(f"amounts are Decimal, int or str, not {type(amount).__name__}")
    if not value.is_finite():
        raise InvalidAmount(f"amount must be finite, got {value}")
    return value


#: Whole-unit digits an amount may have: 36 is far beyond any real payment, and keeps a short
#: string such as "1E+100000000" from becoming a hundred-million-digit number.
_MAX_DIGITS = 36


def _places(value: Decimal) -> int:
    """How many decimal places ``value`` really needs (trailing zeros do not count)."""
    if value.is_zero():
        return 0
    # Read the digits rather than normalize(): normalize rounds to the context's precision.
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values only; checked by _to_decimal
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


def _quantized(value: Decimal, exponent: int) -> Decimal:
    """``value`` written with exactly ``exponent`` decimal places (callers checked it fits)."""
    return _EXACT.quantize(value, Decimal(1).scaleb(-exponent))


def _converter_amount(value: object) -> Decimal:
    amount = _to_decimal(value)
    # -0 is zero: keep the sign out of strings sent to providers ("-0.00").
    return amount.copy_abs() if amount.is_zero() else amount


@attrs.frozen(repr=False)
class Money:
    """An exact, non-negative amount of one currency.

    ``Money("12.50", "usd")`` normalizes the code to ``"USD"``. The amount must be expressible in
    the currency's ISO 4217 minor units: ``Money("0.001", "USD")`` and ``Money("1.5", "JPY")``
    raise :class:`InvalidAmount`, and so do floats, negative and non-finite amounts, and
    amounts of 10**36 or more (far beyond any real payment).
    """

    amount: Decimal = attrs.field(converter=_converter_amount)
    currency: str = attrs.field(converter=normalize_currency)

    def __attrs_post_init__(self) -> None:
        amount = self.amount
        if amount < 0:
            raise InvalidAmount(f"amount must not be negative, got {amount}")
        if amount.adjusted() >= _MAX_DIGITS and not amount.is_zero():
            # "1E+100000000" is a short string, but writing it out in minor units is not.
            raise InvalidAmount(f"amount {amount} is too large to be money")
        exponent = EXPONENTS[self.currency]
        # Fast path: written with no more places than allowed. Only otherwise count the places
        # that trailing zeros do not fill ("19.990" is fine in USD).
        written = amount.as_tuple().exponent
        assert isinstance(written, int)  # finite: checked by the converter
        if -written > exponent and _places(amount) > exponent:
            raise InvalidAmount(
                f"{self.amount} {self.currency} has more decimal places than {self.currency} "
                f"allows ({exponent})"
            )

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def __str__(self) -> str:
        exponent = EXPONENTS[self.currency]
        return f"{_quantized(self.amount, exponent)} {self.currency}"

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidAmount(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(_EXACT.add(self.amount, self._same(other).amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(_EXACT.subtract(self.amount, self._same(other).amount), self.currency)

    def __mul__(self, quantity: int) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError("Money can only be multiplied by an int quantity")
        return Money(_EXACT.multiply(self.amount, Decimal(quantity)), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other).amount

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Nothing, in ``currency``."""
        return cls(Decimal(0), currency)

    def to_minor_units(self, rules: CurrencyRules | None = None) -> int:
        """The integer amount in the smallest unit, by ISO 4217 or by a provider's ``rules``."""
        return (rules or ISO_RULES).to_minor_units(self)

    @classmethod
    def from_minor_units(
        cls, minor: int, currency: str, rules: CurrencyRules | None = None
    ) -> Money:
        """The amount that ``minor`` smallest units of ``currency`` stand for."""
        return (rules or ISO_RULES).from_minor_units(minor, currency)


def _code_map(value: Mapping[str, int]) -> Mapping[str, int]:
    out: dict[str, int] = {}
    for code, number in value.items():
        # int() would quietly turn 2.5 into 2; rules are data and must say exactly what they mean.
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{code}: expected a non-negative int, got {number!r}")
        out[normalize_currency(code)] = number
    return out


def _positive(_: object, attribute: attrs.Attribute[Mapping[str, int]], value: Any) -> None:
    for code, number in value.items():
        if number < 1:
            raise ValueError(f"{attribute.name}[{code}] must be at least 1, got {number}")


def _code_set(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(normalize_currency(c) for c in value)


@attrs.frozen
class CurrencyRules:
    """How one provider writes amounts, as data: exponent overrides on top of ISO 4217.

    Attributes:
        name: whose rules these are, for error messages (``"stripe"``).
        exponents: currencies the provider counts with another exponent than ISO (Stripe
            treats ``ISK`` as two-decimal and ``MGA`` as zero-decimal; PayPal takes ``HUF`` and
            ``TWD`` with no decimals).
        multiples: the minor amount must be a multiple of this (Stripe: 10 for three-decimal
            currencies, 100 for ISK).
        supported: when set, the only currencies the provider takes.
    """

    name: str
    exponents: Mapping[str, int] = attrs.field(factory=dict, converter=_code_map)
    multiples: Mapping[str, int] = attrs.field(
        factory=dict, converter=_code_map, validator=_positive
    )
    supported: frozenset[str] | None = attrs.field(default=None, converter=_code_set)

    def exponent(self, currency: str) -> int:
        """The exponent this provider uses for ``currency``."""
        code = self._check_supported(currency)
        return self.exponents.get(code, EXPONENTS[code])

    def _check_supported(self, currency: str) -> str:
        code = normalize_currency(currency)
        if self.supported is not None and code not in self.supported:
            raise UnknownCurrency(f"{self.name} does not take {code}")
        return code

    def to_minor_units(self, money: Money) -> int:
        """``money`` as this provider's integer minor units; raises rather than round."""
        exponent = self.exponent(money.currency)
        if _places(money.amount) > exponent:
            raise InvalidAmount(
                f"{money.amount} {money.currency} cannot be sent to {self.name}: it takes "
                f"{money.currency} with {exponent} decimal places"
            )
        minor = int(_EXACT.scaleb(money.amount, exponent))
        multiple = self.multiples.get(money.currency, 1)
        if minor % multiple:
            raise InvalidAmount(
                f"{money.amount} {money.currency} cannot be sent to {self.name}: the amount in "
                f"minor units must be a multiple of {multiple}"
            )
        return minor

    def from_minor_units(self, minor: int, currency: str) -> Money:
        """The :class:`Money` that ``minor`` of this provider's units of ``currency`` stand for."""
        if isinstance(minor, bool) or not isinstance(minor, int):
            raise InvalidAmount(f"minor units are an int, got {type(minor).__name__}")
        exponent = self.exponent(currency)
        return Money(_EXACT.scaleb(Decimal(minor), -exponent), currency)

    def to_decimal_string(self, money: Money) -> str:
        """``money`` as a decimal string with exactly this provider's places (PayPal's format)."""
        exponent = self.exponent(money.currency)
        self.to_minor_units(money)  # refuses what cannot be expressed
        return f"{_quantized(money.amount, exponent):f}"

    def from_decimal_string(self, value: str, currency: str) -> Money:
        """Parse a provider's decimal string; more places than the provider uses is an error."""
        if not isinstance(value, str):
            raise InvalidAmount(f"expected a decimal string, got {type(value).__name__}")
        money = Money(_to_decimal(value.strip()), currency)
        self.to_minor_units(money)
        return money


#: Plain ISO 4217: every active currency with its own exponent and no extra constraint.
ISO_RULES = CurrencyRules(name="ISO 4217")
