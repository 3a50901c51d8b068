"""paywire: take payments through interchangeable providers.

The core holds the normalized types, money, the error hierarchy, the provider interface, the
plugin system and the HTTP policy every provider plugin sends through. Providers come as plugins
(``paywire-stripe`` …), found through the ``paywire`` entry-point group.

This is the app's API. What a provider plugin's author needs besides — the operation kernel, the
HTTP client, signature and body helpers, ``hookimpl`` — is in :mod:`paywire.plugin`.

The conversion pieces (``to_json_dict`` …) are imported on first use, so that ``import paywire``
stays cheap for apps and CLIs that only need the types.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from paywire._config import ProviderConfig, load_config
from paywire._errors import (
    AlreadyRefunded,
    AuthenticationFailed,
    AuthenticationRequired,
    CardDeclined,
    ConfigurationError,
    InvalidAmount,
    InvalidRequest,
    InvalidSignature,
    MalformedWebhook,
    NotFound,
    OutcomeUnknown,
    PaymentMethodExpired,
    PaywireDeprecationWarning,
    PaywireError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    UnknownCurrency,
    UnknownEvent,
)
from paywire._money import (
    ISO_4217_PUBLISHED,
    ISO_RULES,
    CurrencyRules,
    Money,
    currency_exponent,
    known_currencies,
    normalize_currency,
)
from paywire._plugins import CORE_API_VERSION, Paywire, ProviderEntry, SkippedPlugin
from paywire._provider import Capabilities, Capability, Provider, WebhookAuthentication
from paywire._secrets import Secret, redact
from paywire._types import (
    ChargeResult,
    CheckoutSession,
    Customer,
    EventReference,
    EventType,
    Invoice,
    LineItem,
    PaymentMethodInfo,
    PaymentStatus,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    SessionStatus,
    SetupSession,
    WebhookEvent,
)

if TYPE_CHECKING:
    from paywire._convert import from_json_dict, make_converter, to_json_dict
    from paywire._keys import new_idempotency_key

__version__ = "0.1.0"

__all__ = [
    "CORE_API_VERSION",
    "ISO_4217_PUBLISHED",
    "ISO_RULES",
    "AlreadyRefunded",
    "AuthenticationFailed",
    "AuthenticationRequired",
    "Capabilities",
    "Capability",
    "CardDeclined",
    "ChargeResult",
    "CheckoutSession",
    "ConfigurationError",
    "CurrencyRules",
    "Customer",
    "EventReference",
    "EventType",
    "InvalidAmount",
    "InvalidRequest",
    "InvalidSignature",
    "Invoice",
    "LineItem",
    "MalformedWebhook",
    "Money",
    "NotFound",
    "OutcomeUnknown",
    "PaymentMethodExpired",
    "PaymentMethodInfo",
    "PaymentStatus",
    "Paywire",
    "PaywireDeprecationWarning",
    "PaywireError",
    "Provider",
    "ProviderConfig",
    "ProviderEntry",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "RefundResult",
    "RefundStatus",
    "SavedPaymentMethod",
    "Secret",
    "SessionStatus",
    "SetupSession",
    "SkippedPlugin",
    "UnknownCurrency",
    "UnknownEvent",
    "WebhookAuthentication",
    "WebhookEvent",
    "currency_exponent",
    "from_json_dict",
    "known_currencies",
    "load_config",
    "make_converter",
    "new_idempotency_key",
    "normalize_currency",
    "redact",
    "to_json_dict",
]

_LAZY = {
    "new_idempotency_key": "paywire._keys",
    "from_json_dict": "paywire._convert",
    "make_converter": "paywire._convert",
    "to_json_dict": "paywire._convert",
}

#: Names of the plugin author's API that ``paywire`` exported before ``paywire.plugin`` existed:
#: still importable from here, with a DeprecationWarning (plugins written against API 1.0 use
#: them).
_MOVED = {
    "HttpClient": "paywire._http",
    "RetryPolicy": "paywire._http",
    "error_for_status": "paywire._http",
    "parse_retry_after": "paywire._http",
    "utc_from_timestamp": "paywire._types",
    "get_header": "paywire._signing",
    "hmac_sha256_hex": "paywire._signing",
    "sign_timestamped": "paywire._signing",
    "verify_hmac_sha256_hex": "paywire._signing",
    "verify_timestamped": "paywire._signing",
    "hookimpl": "paywire._hookspecs",
    "secret_field": "paywire._config",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    moved = _MOVED.get(name)
    if moved is None:
        raise AttributeError(f"module 'paywire' has no attribute {name!r}")
    # Not cached: every use from the old place says where the name lives now.
    warnings.warn(
        f"paywire.{name} moved to paywire.plugin.{name} (the plugin author's API); "
        "the old name will be removed in paywire 2",
        PaywireDeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(moved), name)


def __dir__() -> list[str]:
    return sorted(__all__)
