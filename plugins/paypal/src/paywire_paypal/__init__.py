"""paywire-paypal: the PayPal provider for paywire (REST APIs on paywire's operation kernel).

Installing the distribution registers the provider through the ``paywire`` entry-point group::

    pw = paywire.Paywire(settings={"paypal": {"client_id": "…", "client_secret": "…",
                                               "webhook_id": "8PT597110X687430LKGECATA"}})
    paypal = pw.provider("paypal")

Every operation has an awaitable twin (``charge_payment_method_async`` …), native on
``httpx.AsyncClient``. PayPal checkouts are captured after the buyer approves them: the webhook
processor does it (:meth:`PayPalProvider.follow_up`), or the app calls
:meth:`PayPalProvider.capture_order` on the return page. Approved setup tokens become saved
methods with :meth:`PayPalProvider.complete_setup`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import paywire
from paywire import plugin
from paywire_paypal._config import (
    DEFAULT_CERT_HOSTS,
    LIVE_BASE_URL,
    SANDBOX_BASE_URL,
    PayPalConfig,
)
from paywire_paypal._currency import NO_DECIMALS, PAYPAL_CURRENCY_RULES, SUPPORTED_CURRENCIES
from paywire_paypal._events import EVENT_RULES, EVENT_TYPES, normalize_event
from paywire_paypal._provider import REQUEST_ID_HEADER, PayPalProvider
from paywire_paypal._signature import AUTH_ALGO, HEADERS, crc32_decimal, signed_message

__version__ = "0.1.0"

#: The core plugin-API versions this plugin was written for.
PAYWIRE_API = ">=1.1,<2"

__all__ = [
    "AUTH_ALGO",
    "DEFAULT_CERT_HOSTS",
    "EVENT_RULES",
    "EVENT_TYPES",
    "HEADERS",
    "LIVE_BASE_URL",
    "NO_DECIMALS",
    "PAYPAL_CURRENCY_RULES",
    "PAYWIRE_API",
    "REQUEST_ID_HEADER",
    "SANDBOX_BASE_URL",
    "SUPPORTED_CURRENCIES",
    "PayPalConfig",
    "PayPalProvider",
    "crc32_decimal",
    "normalize_event",
    "paywire_register_providers",
    "signed_message",
]


@plugin.hookimpl
def paywire_register_providers(register: Callable[[type[paywire.Provider[Any]]], None]) -> None:
    """Offer :class:`PayPalProvider` to paywire."""
    register(PayPalProvider)
