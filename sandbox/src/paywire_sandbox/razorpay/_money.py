"""Razorpay's amount rules: integer subunits, per-currency exponent and minimum.

The sandbox keeps its own small table rather than reusing the core's money helpers, so that a
mistake on one side cannot hide behind the same mistake on the other.
"""

from __future__ import annotations

from paywire_sandbox.razorpay._errors import RazorpayError

__all__ = ["CURRENCY_EXPONENTS", "check_amount", "check_currency", "minimum_amount"]

#: Currencies the fake accepts and their number of decimal places. Razorpay takes ~100
#: currencies; this is a representative subset including its zero- and three-decimal cases.
CURRENCY_EXPONENTS: dict[str, int] = {
    "INR": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "AED": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "HKD": 2,
    "MYR": 2,
    "NZD": 2,
    "SAR": 2,
    "SEK": 2,
    "ZAR": 2,
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
}


def check_currency(value: object, *, field: str = "currency") -> str:
    """Return ``value`` if it names a supported currency, else raise Razorpay's error."""
    if not isinstance(value, str):
        raise RazorpayError(f"The {field} must be a string.", field=field)
    if value not in CURRENCY_EXPONENTS:
        raise RazorpayError("Currency is not supported", field=field)
    return value


def minimum_amount(currency: str) -> int:
    """One unit of ``currency`` in subunits, Razorpay's minimum for a payment or refund."""
    return int(10 ** CURRENCY_EXPONENTS[currency])


def _minimum_text(currency: str) -> str:
    exponent = CURRENCY_EXPONENTS[currency]
    return f"{currency} 1" if exponent == 0 else f"{currency} 1.{'0' * exponent}"


def check_amount(
    value: object, currency: str, *, field: str = "amount", minimum: bool = True
) -> int:
    """Validate an amount in subunits of ``currency`` and return it.

    Integers only (JSON ``true`` is not one), at least one unit of the currency when ``minimum``,
    and for three-decimal currencies the last digit must be 0.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise RazorpayError(f"The {field} must be an integer.", field=field)
    if minimum and value < minimum_amount(currency):
        raise RazorpayError(f"The {field} must be at least {_minimum_text(currency)}.", field=field)
    if value < 0:
        raise RazorpayError(f"The {field} must be at least 0.", field=field)
    if CURRENCY_EXPONENTS[currency] == 3 and value % 10 != 0:
        raise RazorpayError(f"The {field} is invalid", field=field)
    return value
