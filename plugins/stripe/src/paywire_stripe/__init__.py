"""paywire-stripe: the Stripe provider for paywire.

Installing the distribution registers the provider through the ``paywire`` entry-point group::

    pw = paywire.Paywire(settings={"stripe": {"api_key": "sk_test_…", "webhook_secret": "whsec_…"}})
    stripe = pw.provider("stripe")

Importing this package does not import the ``stripe`` SDK; the provider does, on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paywire
from paywire_stripe._config import StripeConfig
from paywire_stripe._currency import STRIPE_CURRENCY_RULES, THREE_DECIMAL, ZERO_DECIMAL
from paywire_stripe._errors import StripeHTTPError, error_from_response
from paywire_stripe._provider import StripeProvider
from paywire_stripe._webhooks import EVENT_TYPES, SIGNATURE_HEADER

__version__ = "0.1.0"

#: The core plugin-API versions this plugin was written for.
PAYWIRE_API = ">=1.0,<2"

__all__ = [
    "EVENT_TYPES",
    "PAYWIRE_API",
    "SIGNATURE_HEADER",
    "STRIPE_CURRENCY_RULES",
    "THREE_DECIMAL",
    "ZERO_DECIMAL",
    "StripeConfig",
    "StripeHTTPError",
    "StripeProvider",
    "error_from_response",
    "paywire_register_providers",
]


@paywire.hookimpl
def paywire_register_providers(register: Callable[[type[paywire.Provider[Any]]], None]) -> None:
    """Offer :class:`StripeProvider` to paywire."""
    register(StripeProvider)
