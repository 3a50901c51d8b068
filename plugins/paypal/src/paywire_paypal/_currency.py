"""How PayPal writes amounts: decimal strings, in the currencies its REST APIs take."""

from __future__ import annotations

import re
from typing import Final

import paywire
from paywire import plugin

__all__ = [
    "NO_DECIMALS",
    "PAYPAL_CURRENCY_RULES",
    "SUPPORTED_CURRENCIES",
    "money_fields",
    "parse_money",
]

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
PAYPAL_CURRENCY_RULES: Final = plugin.CurrencyRules(
    name="paypal",
    exponents=dict.fromkeys(NO_DECIMALS, 0),
    supported=SUPPORTED_CURRENCIES,
)

# PayPal's Money.value: at most 32 characters.
_MAX_VALUE_LENGTH: Final = 32
# PayPal's pattern for Money.value (no exponents, no sign), for amounts read from PayPal.
_VALUE = re.compile(r"^(?:[0-9]{1,32}|[0-9]{0,32}\.[0-9]{1,8})$")


def money_fields(value: paywire.Money) -> dict[str, str]:
    """``value`` as PayPal's ``Money`` object (``currency_code``, ``value``).

    Raises :class:`paywire.InvalidAmount` for an amount PayPal cannot express: a currency it does
    not take, more places than it uses for the currency, or more than 32 characters.
    """
    text = PAYPAL_CURRENCY_RULES.to_decimal_string(value)
    if len(text) > _MAX_VALUE_LENGTH:
        raise paywire.InvalidAmount(
            f"{value.currency} amount too large for PayPal (its values hold 32 characters)"
        )
    return {"currency_code": value.currency, "value": text}


def parse_money(value: object, currency: object) -> paywire.Money:
    """A PayPal ``Money`` (``value`` string, ``currency_code``) as exact :class:`paywire.Money`.

    Raises :class:`paywire.InvalidAmount` for anything that is not such an amount, or that has
    more decimals than PayPal uses for the currency.
    """
    if not isinstance(value, str) or not isinstance(currency, str) or not _VALUE.match(value):
        raise paywire.InvalidAmount(f"not a PayPal amount: {value!r} {currency!r}")
    return PAYPAL_CURRENCY_RULES.from_decimal_string(value, currency)
