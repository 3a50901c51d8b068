"""Money: ``Decimal`` amounts in ISO 4217 currencies, and exact conversion to provider units.

Nothing here rounds. An amount that a currency — or a provider's rules for that currency — cannot
express raises :class:`~paywire.InvalidAmount`; the caller decides how to round, explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

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


def known_currencies() -> frozenset[str]:
    """Every active ISO 4217 code with a minor unit."""
    return frozenset(EXPONENTS)


def normalize_currency(currency: object) -> str:
    """The upper-case ISO 4217 code; raises :class:`UnknownCurrency` for anything else."""
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


def _places(value: Decimal) -> int:
    """How many decimal places ``value`` really needs (trailing zeros do not count)."""
    if value == 0:
        return 0
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only; checked by _to_decimal
    return max(0, -exponent)


def _converter_amount(value: object) -> Decimal:
    return _to_decimal(value)


@attrs.frozen(repr=False)
class Money:
    """An exact, non-negative amount of one currency.

    ``Money("12.50", "usd")`` normalizes the code to ``"USD"``. The amount must be expressible in
    the currency's ISO 4217 minor units: ``Money("0.001", "USD")`` and ``Money("1.5", "JPY")``
    raise :class:`InvalidAmount`, and so do floats, negative and non-finite amounts.
    """

    amount: Decimal = attrs.field(converter=_converter_amount)
    currency: str = attrs.field(converter=normalize_currency)

    def __attrs_post_init__(self) -> None:
        if self.amount < 0:
            raise InvalidAmount(f"amount must not be negative, got {self.amount}")
        exponent = EXPONENTS[self.currency]
        if _places(self.amount) > exponent:
            raise InvalidAmount(
                f"{self.amount} {self.currency} has more decimal places than {self.currency} "
                f"allows ({exponent})"
            )

    def __repr__(self) -> str:
        return f"Money('{self.amount}', '{self.currency}')"

    def __str__(self) -> str:
        exponent = EXPONENTS[self.currency]
        return f"{self.amount.quantize(Decimal(1).scaleb(-exponent))} {self.currency}"

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise InvalidAmount(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same(other).amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError("Money can only be multiplied by an int quantity")
        return Money(self.amount * quantity, self.currency)

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
    return {normalize_currency(code): int(v) for code, v in value.items()}


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
    multiples: Mapping[str, int] = attrs.field(factory=dict, converter=_code_map)
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
        scaled = money.amount.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(
                f"{money.amount} {money.currency} cannot be sent to {self.name}: it takes "
                f"{money.currency} with {exponent} decimal places"
            )
        minor = int(scaled)
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
        return Money(Decimal(minor).scaleb(-exponent), currency)

    def to_decimal_string(self, money: Money) -> str:
        """``money`` as a decimal string with exactly this provider's places (PayPal's format)."""
        exponent = self.exponent(money.currency)
        self.to_minor_units(money)  # refuses what cannot be expressed
        return f"{money.amount.quantize(Decimal(1).scaleb(-exponent)):f}"

    def from_decimal_string(self, value: str, currency: str) -> Money:
        """Parse a provider's decimal string; more places than the provider uses is an error."""
        if not isinstance(value, str):
            raise InvalidAmount(f"expected a decimal string, got {type(value).__name__}")
        money = Money(_to_decimal(value.strip()), currency)
        self.to_minor_units(money)
        return money


#: Plain ISO 4217: every active currency with its own exponent and no extra constraint.
ISO_RULES = CurrencyRules(name="ISO 4217")
