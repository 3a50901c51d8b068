"""How Razorpay writes amounts: integers in the currency's subunits (paise for INR)."""

from __future__ import annotations

from paywire.plugin import CurrencyRules

__all__ = ["RAZORPAY_CURRENCY_RULES", "THREE_DECIMAL"]

#: ISO 4217's three-decimal currencies: Razorpay takes them ×1000 with the last digit 0.
THREE_DECIMAL = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])

#: Razorpay's rules as data. Zero-decimal currencies (JPY …) go unchanged and two-decimal ones
#: ×100, as ISO 4217 says; the list of currencies an account may take depends on the account,
#: so no ``supported`` list is fixed here: Razorpay refuses the others ("Currency is not
#: supported"), which the plugin raises as :class:`paywire.InvalidRequest`. Recurring card
#: payments are INR only (checked by the charge itself).
RAZORPAY_CURRENCY_RULES = CurrencyRules(
    name="razorpay",
    multiples=dict.fromkeys(THREE_DECIMAL, 10),
)
