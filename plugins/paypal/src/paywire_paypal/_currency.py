"""How PayPal writes amounts: decimal strings, in the currencies its REST APIs take."""

from __future__ import annotations

import re
from typing import Final

import paywire

__all__ = ["NO_DECIMALS", "PAYPAL_CURRENCY_RULES", "SUPPORTED_CURRENCIES", "parse_money"]

#: The currencies PayPal's REST APIs accept (PayPal's "currency codes" reference table).
SUPPORTED_CURRENCIES: Final = frozenset(
    {
        "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS",
        "JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "SGD", "THB", "TWD", "USD",
    }
)  # fmt: skip

#: Currencies PayPal takes without decimals. JPY has none in ISO 4217 either; HUF and TWD have
#: two there, but PayPal refuses decimals in them.
NO_DECIMALS: Final = frozenset({"HUF", "JPY", "TWD"})

#: PayPal's money rules: ``Money.value`` is a decimal string with the currency's places, and an
#: amount PayPal cannot take (``HUF 1.50``, any ``KWD``) is refused before any HTTP.
PAYPAL_CURRENCY_RULES: Final = paywire.CurrencyRules(
    name="paypal",
    exponents=dict.fromkeys(NO_DECIMALS, 0),
    supported=SUPPORTED_CURRENCIES,
)

# PayPal's pattern for ``Money.value`` (no exponents, no sign), and a sane length: amounts come
# from PayPal, but an absurd one must not turn into a huge integer.
_VALUE = re.compile(r"^(?:[0-9]{1,32}|[0-9]{0,32}\.[0-9]{1,8})$")


def parse_money(value: object, currency: object) -> paywire.Money:
    """A PayPal ``Money`` (``value`` string, ``currency_code``) as exact :class:`paywire.Money`.

    Raises :class:`paywire.InvalidAmount` for anything that is not such an amount, or that has
    more decimals than PayPal uses for the currency.
    """
    if not isinstance(value, str) or not isinstance(currency, str) or not _VALUE.match(value):
        raise paywire.InvalidAmount(f"not a PayPal amount: {value!r} {currency!r}")
    return PAYPAL_CURRENCY_RULES.from_decimal_string(value, currency)
