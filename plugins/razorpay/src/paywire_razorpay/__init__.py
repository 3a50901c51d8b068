"""paywire-razorpay: the Razorpay provider for paywire.

Installing the distribution registers the provider through the ``paywire`` entry-point group::

    pw = paywire.Paywire(settings={"razorpay": {"key_id": "rzp_test_…", "key_secret": "…",
                                                "webhook_secret": "…"}})
    razorpay = pw.provider("razorpay")

Saved cards are Razorpay tokens, which live under a customer:
``SavedPaymentMethod(id="token_…", customer_id="cust_…")``. Old ``"cust_…/token_…"`` ids are
still accepted; :func:`method_id` and :func:`split_method_id`, which built and read them, are
deprecated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paywire
from paywire import plugin
from paywire_razorpay._config import RazorpayConfig
from paywire_razorpay._currency import RAZORPAY_CURRENCY_RULES, THREE_DECIMAL
from paywire_razorpay._errors import ERROR_RULES, error_from_payment
from paywire_razorpay._ids import method_id, split_method_id
from paywire_razorpay._provider import CAPABILITY_NOTES, REFUND_KEY_HEADER, RazorpayProvider
from paywire_razorpay._webhooks import (
    EVENT_ID_HEADER,
    EVENT_TYPES,
    EVENTS,
    SIGNATURE_HEADER,
    event_id,
)

__version__ = "0.2.0"

#: The core plugin-API versions this plugin was written for.
PAYWIRE_API = ">=1.1,<2"

__all__ = [
    "CAPABILITY_NOTES",
    "ERROR_RULES",
    "EVENTS",
    "EVENT_ID_HEADER",
    "EVENT_TYPES",
    "PAYWIRE_API",
    "RAZORPAY_CURRENCY_RULES",
    "REFUND_KEY_HEADER",
    "SIGNATURE_HEADER",
    "THREE_DECIMAL",
    "RazorpayConfig",
    "RazorpayProvider",
    "error_from_payment",
    "event_id",
    "method_id",
    "paywire_register_providers",
    "split_method_id",
]


@plugin.hookimpl
def paywire_register_providers(register: Callable[[type[paywire.Provider[Any]]], None]) -> None:
    """Offer :class:`RazorpayProvider` to paywire."""
    register(RazorpayProvider)
