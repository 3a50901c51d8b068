"""paywire-stripe: the Stripe provider for paywire.

Installing the distribution registers the provider through the ``paywire`` entry-point group::

    pw = paywire.Paywire(settings={"stripe": {"api_key": "sk_test_…", "webhook_secret": "whsec_…"}})
    stripe = pw.provider("stripe")

The plugin speaks Stripe's HTTP API directly on paywire's operation kernel (sync and async from
one code); the ``stripe`` SDK is a test-time dependency that checks the requests' shapes.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import paywire
from paywire import plugin
from paywire_stripe._config import API_VERSION, StripeConfig
from paywire_stripe._currency import STRIPE_CURRENCY_RULES, THREE_DECIMAL, ZERO_DECIMAL
from paywire_stripe._provider import StripeProvider
from paywire_stripe._webhooks import EVENT_TYPES, SIGNATURE_HEADER

if TYPE_CHECKING:
    from paywire_stripe._deprecated import StripeHTTPError, error_from_response

__version__ = "0.2.0"

#: The core plugin-API versions this plugin was written for.
PAYWIRE_API = ">=1.1,<2"

__all__ = [
    "API_VERSION",
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

_DEPRECATED = frozenset({"StripeHTTPError", "error_from_response"})


def __getattr__(name: str) -> Any:
    if name not in _DEPRECATED:
        raise AttributeError(f"module 'paywire_stripe' has no attribute {name!r}")
    warnings.warn(
        f"paywire_stripe.{name} is deprecated: the operations raise paywire's errors themselves "
        "(it goes away in paywire-stripe 1.0)",
        paywire.PaywireDeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module("paywire_stripe._deprecated"), name)


@plugin.hookimpl
def paywire_register_providers(register: Callable[[type[paywire.Provider[Any]]], None]) -> None:
    """Offer :class:`StripeProvider` to paywire."""
    register(StripeProvider)
