"""Stripe's settings: ``PAYWIRE_STRIPE_API_KEY``, ``PAYWIRE_STRIPE_WEBHOOK_SECRET`` …"""

from __future__ import annotations

import re

import attrs

import paywire
from paywire.plugin import ProviderConfig, secret_field

__all__ = ["API_VERSION", "DEFAULT_WEBHOOK_TOLERANCE", "StripeConfig"]

#: The Stripe API version this plugin speaks (sent as ``Stripe-Version`` on every request).
#: Every field it reads is checked, in its tests, against the stripe SDK built for this version.
API_VERSION = "2026-10-28.endive"

#: Seconds a webhook signature's timestamp may differ from now (Stripe's own default).
DEFAULT_WEBHOOK_TOLERANCE = 300

_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")


def _tolerance(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


def _version(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise ValueError(f"{attribute.name} must be a Stripe API version such as {API_VERSION!r}")


@attrs.frozen
class StripeConfig(ProviderConfig):
    """Settings for :class:`~paywire_stripe.StripeProvider`.

    Attributes:
        api_key: the secret key (``sk_test_…`` / ``sk_live_…`` or a restricted ``rk_…`` key).
        webhook_secret: the endpoint's signing secret (``whsec_…``); ``webhook_secrets`` the
            previous ones while a secret is rotated.
        base_url: the API's address; ``None`` is ``https://api.stripe.com``, the sandbox's is
            ``http://127.0.0.1:PORT/stripe``.
        webhook_tolerance: seconds a signature's timestamp may lie before or after now.
        api_version: the ``Stripe-Version`` sent with every request. The default,
            :data:`~paywire_stripe.API_VERSION`, is the version every field the plugin reads is
            checked against; another one is the app's own responsibility.
        setup_currency: the currency of setup sessions. Checkout needs one in setup mode (it
            decides which payment methods are offered); no money moves in it.
    """

    api_key: paywire.Secret | None = secret_field()  # noqa: RUF009 - attrs field
    webhook_tolerance: int = attrs.field(default=DEFAULT_WEBHOOK_TOLERANCE, validator=_tolerance)
    api_version: str = attrs.field(default=API_VERSION, validator=_version)
    setup_currency: str = attrs.field(default="USD", converter=paywire.normalize_currency)
