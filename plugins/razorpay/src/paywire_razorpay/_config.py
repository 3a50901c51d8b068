"""Razorpay's settings: ``PAYWIRE_RAZORPAY_KEY_ID``, ``PAYWIRE_RAZORPAY_KEY_SECRET`` …"""

from __future__ import annotations

import attrs

import paywire

__all__ = ["DEFAULT_MANDATE_MAX_AMOUNT", "DEFAULT_SETUP_AMOUNT", "RazorpayConfig"]

#: The authorization payment a card registration takes, in paise (₹1, Razorpay's card minimum).
DEFAULT_SETUP_AMOUNT = 100
#: The largest single auto-debit a card mandate allows, in paise: ₹15,000, the RBI limit above
#: which every debit needs the customer's extra authentication anyway.
DEFAULT_MANDATE_MAX_AMOUNT = 1_500_000

_FREQUENCIES = frozenset(
    {
        "daily",
        "weekly",
        "fortnightly",
        "monthly",
        "bimonthly",
        "quarterly",
        "half_yearly",
        "yearly",
        "as_presented",
    }
)


def _mask_key_id(value: str | None) -> str:
    # A key id is not the secret, but it is credential-shaped (``rzp_live_…``) and names the
    # account: show its mode only.
    if value is None:
        return "None"
    mode, _, _ = value.rpartition("_")
    return f"'{mode}_…'" if mode else "'…'"


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive number of paise")


def _frequency(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _FREQUENCIES:
        raise ValueError(f"{attribute.name} must be one of {', '.join(sorted(_FREQUENCIES))}")


@attrs.frozen
class RazorpayConfig(paywire.ProviderConfig):
    """Settings for :class:`~paywire_razorpay.RazorpayProvider`.

    Attributes:
        key_id: the API key id (``rzp_test_…`` / ``rzp_live_…``); shown masked in repr.
        key_secret: the API key secret.
        webhook_secret: the secret set for the webhook in the Dashboard (not the key secret).
        base_url: the API's address; ``None`` is ``https://api.razorpay.com``, the sandbox's is
            ``http://127.0.0.1:PORT/razorpay``.
        setup_amount: the authorization payment of a card registration link, in paise.
        mandate_max_amount: the largest single charge the saved card's mandate allows, in paise.
        mandate_frequency: how often the mandate may be debited (``as_presented``: any time).
    """

    key_id: str | None = attrs.field(default=None, repr=_mask_key_id)
    key_secret: paywire.Secret | None = paywire.secret_field()  # noqa: RUF009 - attrs field
    setup_amount: int = attrs.field(default=DEFAULT_SETUP_AMOUNT, validator=_positive)
    mandate_max_amount: int = attrs.field(default=DEFAULT_MANDATE_MAX_AMOUNT, validator=_positive)
    mandate_frequency: str = attrs.field(default="as_presented", validator=_frequency)
