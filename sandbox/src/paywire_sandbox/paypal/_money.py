"""PayPal money rules: which currencies an order may use and how many decimals each takes.

The sandbox keeps its own table (it never borrows the core's money helpers): PayPal's REST
currency list, where HUF, JPY and TWD take no decimals and every other supported currency two.
A ``Money.value`` is a decimal *string*; an amount with more decimals than its currency allows is
refused, never rounded.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "MAX_VALUE",
    "SUPPORTED_CURRENCIES",
    "AmountProblem",
    "check_amount",
    "decimals_of",
    "fee_for",
    "format_value",
    "parse_value",
    "refund_fee",
]

#: currency code -> number of decimals PayPal accepts in ``Money.value``.
SUPPORTED_CURRENCIES: dict[str, int] = {
    "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2, "EUR": 2,
    "GBP": 2, "HKD": 2, "HUF": 0, "ILS": 2, "JPY": 0, "MXN": 2, "MYR": 2, "NOK": 2,
    "NZD": 2, "PHP": 2, "PLN": 2, "SEK": 2, "SGD": 2, "THB": 2, "TWD": 0, "USD": 2,
}  # fmt: skip

#: The largest value PayPal's Orders API documents for an amount.
MAX_VALUE = Decimal("999999999999999.99")

# PayPal's own pattern for Money.value (from the Orders v2 schema).
_VALUE_RE = re.compile(r"^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$")
_CODE_RE = re.compile(r"^[A-Z]{3}$")

# A made-up but stable fee schedule, so seller_receivable_breakdown adds up:
# 3.49 % plus a fixed fee of 0.49 (49 in currencies without decimals).
_FEE_RATE = Decimal("0.0349")


class AmountProblem(Exception):
    """Why an amount was refused: PayPal's ``issue`` name and the HTTP status it comes with."""

    def __init__(self, status: int, issue: str, field: str = "value") -> None:
        super().__init__(issue)
        self.status = status
        self.issue = issue
        #: The ``Money`` member at fault: ``"value"`` or ``"currency_code"``.
        self.field = field


def decimals_of(currency: str) -> int:
    """How many decimals ``currency`` takes (it must be supported)."""
    return SUPPORTED_CURRENCIES[currency]


def parse_value(value: object) -> Decimal:
    """Parse a ``Money.value`` string, or raise :class:`AmountProblem` (400) if it is not one."""
    if not isinstance(value, str) or len(value) > 32 or not _VALUE_RE.fullmatch(value):
        raise AmountProblem(400, "INVALID_PARAMETER_SYNTAX")
    return Decimal(value)


def check_amount(
    currency: object, value: object, *, no_decimals_issue: str = "DECIMAL_PRECISION"
) -> Decimal:
    """Validate a ``Money`` pair and return the amount.

    Raises :class:`AmountProblem` with PayPal's issue: a malformed code or value is a 400
    (``INVALID_PARAMETER_SYNTAX``); an unsupported currency, too many decimals, zero/negative or
    too large an amount is a 422. ``no_decimals_issue`` names the issue used when a currency without
    decimals gets some (Orders say ``DECIMAL_PRECISION``; refunds ``DECIMALS_NOT_SUPPORTED``).
    """
    if not isinstance(currency, str) or not _CODE_RE.fullmatch(currency):
        raise AmountProblem(400, "INVALID_PARAMETER_SYNTAX", "currency_code")
    amount = parse_value(value)
    if currency not in SUPPORTED_CURRENCIES:
        raise AmountProblem(422, "INVALID_CURRENCY_CODE", "currency_code")
    allowed = SUPPORTED_CURRENCIES[currency]
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN/Infinity cannot pass the pattern; keep mypy honest
        raise AmountProblem(400, "INVALID_PARAMETER_SYNTAX")
    if -exponent > allowed:
        raise AmountProblem(422, no_decimals_issue if allowed == 0 else "DECIMAL_PRECISION")
    if amount <= 0:
        raise AmountProblem(422, "CANNOT_BE_ZERO_OR_NEGATIVE")
    if amount > MAX_VALUE:
        raise AmountProblem(422, "MAX_VALUE_EXCEEDED")
    return amount


def format_value(amount: Decimal, currency: str) -> str:
    """``amount`` as PayPal writes it back: exactly the currency's number of decimals."""
    places = SUPPORTED_CURRENCIES[currency]
    quantum = Decimal(1).scaleb(-places)
    return str(amount.quantize(quantum, rounding=ROUND_HALF_UP))


def fee_for(amount: Decimal, currency: str) -> Decimal:
    """The sandbox's PayPal fee on a capture of ``amount`` (never more than the amount)."""
    places = SUPPORTED_CURRENCIES[currency]
    fixed = Decimal("0.49") if places else Decimal(49)
    quantum = Decimal(1).scaleb(-places)
    fee = (amount * _FEE_RATE).quantize(quantum, rounding=ROUND_HALF_UP) + fixed
    return min(fee, amount)


def refund_fee(amount: Decimal, currency: str) -> Decimal:
    """The part of the percentage fee PayPal returns to the seller on a refund of ``amount``."""
    quantum = Decimal(1).scaleb(-SUPPORTED_CURRENCIES[currency])
    return min((amount * _FEE_RATE).quantize(quantum, rounding=ROUND_HALF_UP), amount)
