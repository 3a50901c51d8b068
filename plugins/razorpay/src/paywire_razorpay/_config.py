"""Razorpay's settings: ``PAYWIRE_RAZORPAY_KEY_ID``, ``PAYWIRE_RAZORPAY_KEY_SECRET`` …"""

from __future__ import annotations

from typing import Final

import attrs

from paywire import Secret
from paywire.plugin import ProviderConfig, secret_field

__all__ = [
    "CARD_FREQUENCIES",
    "DEFAULT_MANDATE_MAX_AMOUNT",
    "DEFAULT_SETUP_AMOUNT",
    "RazorpayConfig",
]

#: The authorization payment a card registration takes, in paise (₹1, Razorpay's card minimum).
DEFAULT_SETUP_AMOUNT: Final = 100
#: The largest single auto-debit a card mandate allows, in paise: ₹15,000, the RBI limit above
#: which every debit needs the customer's extra authentication anyway.
DEFAULT_MANDATE_MAX_AMOUNT: Final = 1_500_000
# A card mandate's max_amount: "The minimum value is 100 (₹1) and the maximum value is 100000000
# (₹10,00,000)" (Razorpay: recurring payments, cards, create authorization transaction).
_MANDATE_LIMITS: Final = (100, 100_000_000)
#: How often a card mandate may be debited: the values Razorpay documents for cards (other
#: methods take more, cards do not).
CARD_FREQUENCIES: Final = frozenset({"weekly", "monthly", "yearly", "as_presented"})


def _mask_key_id(value: str | None) -> str:
    # A key id is not the secret, but it is credential-shaped (``rzp_live_…``) and names the
    # account: show its mode only.
    if value is None:
        return "None"
    mode, _, _ = value.rpartition("_")
    return f"'{mode}_…'" if mode else "'…'"


def _paise(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 100:
        raise ValueError(f"{attribute.name} must be at least 100 paise (₹1, the card minimum)")


def _mandate(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    low, high = _MANDATE_LIMITS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{attribute.name} must be between {low} and {high} paise")


def _frequency(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in CARD_FREQUENCIES:
        raise ValueError(f"{attribute.name} must be one of {', '.join(sorted(CARD_FREQUENCIES))}")


@attrs.frozen
class RazorpayConfig(ProviderConfig):
    """Settings for :class:`~paywire_razorpay.RazorpayProvider`.

    Attributes:
        key_id: the API key id (``rzp_test_…`` / ``rzp_live_…``); shown masked in repr.
        key_secret: the API key secret.
        webhook_secret: the secret set for the webhook in the Dashboard (not the key secret);
            ``webhook_secrets`` holds the previous ones while a secret is rotated.
        base_url: the API's address; ``None`` is ``https://api.razorpay.com``, the sandbox's is
            ``http://127.0.0.1:PORT/razorpay``.
        setup_amount: the authorization payment of a card registration link, in paise.
        mandate_max_amount: the largest single charge the saved card's mandate allows, in paise
            (₹1 to ₹10,00,000).
        mandate_frequency: how often the mandate may be debited: ``weekly``, ``monthly``,
            ``yearly`` or ``as_presented`` (any time, the default).
    """

    key_id: str | None = attrs.field(default=None, repr=_mask_key_id)
    key_secret: Secret | None = secret_field()  # noqa: RUF009 - attrs field
    setup_amount: int = attrs.field(default=DEFAULT_SETUP_AMOUNT, validator=_paise)
    mandate_max_amount: int = attrs.field(default=DEFAULT_MANDATE_MAX_AMOUNT, validator=_mandate)
    mandate_frequency: str = attrs.field(default="as_presented", validator=_frequency)
