"""How Stripe writes amounts: integer minor units, with its own exceptions to ISO 4217."""

from __future__ import annotations

import paywire

__all__ = ["STRIPE_CURRENCY_RULES", "THREE_DECIMAL", "ZERO_DECIMAL"]

#: Currencies Stripe takes in whole units (its "zero-decimal" list).
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)

#: Currencies Stripe takes in thousandths whose last digit must be 0.
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])

#: Stripe's rules as data. Only MGA of the zero-decimal list has another exponent in ISO 4217
#: (2); ISK is zero-decimal in ISO but two-decimal on Stripe's wire, in whole krónur (×100).
STRIPE_CURRENCY_RULES = paywire.CurrencyRules(
    name="stripe",
    exponents={"MGA": 0, "ISK": 2},
    multiples={**dict.fromkeys(THREE_DECIMAL, 10), "ISK": 100},
)
