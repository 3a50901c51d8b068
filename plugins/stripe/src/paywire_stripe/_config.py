"""Stripe's settings: ``PAYWIRE_STRIPE_API_KEY``, ``PAYWIRE_STRIPE_WEBHOOK_SECRET`` …"""

from __future__ import annotations

import attrs

import paywire

__all__ = ["DEFAULT_WEBHOOK_TOLERANCE", "StripeConfig"]

#: Seconds a webhook signature's timestamp may differ from now (Stripe's own default).
DEFAULT_WEBHOOK_TOLERANCE = 300


def _tolerance(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen
class StripeConfig(paywire.ProviderConfig):
    """Settings for :class:`~paywire_stripe.StripeProvider`.

    Attributes:
        api_key: the secret key (``sk_test_…`` / ``sk_live_…`` or a restricted ``rk_…`` key).
        webhook_secret: the endpoint's signing secret (``whsec_…``).
        base_url: the API's address; ``None`` is ``https://api.stripe.com``, the sandbox's is
            ``http://127.0.0.1:PORT/stripe``.
        webhook_tolerance: seconds a signature's timestamp may lie before or after now.
        api_version: a ``Stripe-Version`` to pin; ``None`` is the one the SDK was built for.
        setup_currency: the currency of setup sessions. Checkout needs one in setup mode (it
            decides which payment methods are offered); no money moves in it.
    """

    api_key: paywire.Secret | None = paywire.secret_field()  # noqa: RUF009 - attrs field
    webhook_tolerance: int = attrs.field(default=DEFAULT_WEBHOOK_TOLERANCE, validator=_tolerance)
    api_version: str | None = None
    setup_currency: str = attrs.field(default="USD", converter=paywire.normalize_currency)
