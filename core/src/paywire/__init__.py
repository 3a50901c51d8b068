"""paywire: take payments through interchangeable providers.

The core holds the normalized types, money, the error hierarchy, the provider interface, the
plugin system and the HTTP policy every provider plugin sends through. Providers come as plugins
(``paywire-stripe`` …), found through the ``paywire`` entry-point group.

The HTTP and conversion pieces (``HttpClient``, ``to_json_dict`` …) are imported on first use, so
that ``import paywire`` stays cheap for apps and CLIs that only need the types.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from paywire._config import ProviderConfig, load_config, secret_field
from paywire._errors import (
    AlreadyRefunded,
    AuthenticationFailed,
    AuthenticationRequired,
    CardDeclined,
    ConfigurationError,
    InvalidAmount,
    InvalidRequest,
    InvalidSignature,
    NotFound,
    OutcomeUnknown,
    PaymentMethodExpired,
    PaywireError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    UnknownCurrency,
    UnknownEvent,
)
from paywire._hookspecs import hookimpl
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
from paywire._provider import Capabilities, Capability, Provider
from paywire._secrets import Secret, redact
from paywire._signing import (
    get_header,
    hmac_sha256_hex,
    sign_timestamped,
    verify_hmac_sha256_hex,
    verify_timestamped,
)
from paywire._types import (
    ChargeResult,
    CheckoutSession,
    Customer,
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
    from paywire._http import (
        HttpClient,
        RetryPolicy,
        error_for_status,
        new_idempotency_key,
        parse_retry_after,
        utc_from_timestamp,
    )

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
    "EventType",
    "HttpClient",
    "InvalidAmount",
    "InvalidRequest",
    "InvalidSignature",
    "Invoice",
    "LineItem",
    "Money",
    "NotFound",
    "OutcomeUnknown",
    "PaymentMethodExpired",
    "PaymentMethodInfo",
    "PaymentStatus",
    "Paywire",
    "PaywireError",
    "Provider",
    "ProviderConfig",
    "ProviderEntry",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "RefundResult",
    "RefundStatus",
    "RetryPolicy",
    "SavedPaymentMethod",
    "Secret",
    "SessionStatus",
    "SetupSession",
    "SkippedPlugin",
    "UnknownCurrency",
    "UnknownEvent",
    "WebhookEvent",
    "currency_exponent",
    "error_for_status",
    "from_json_dict",
    "get_header",
    "hmac_sha256_hex",
    "hookimpl",
    "known_currencies",
    "load_config",
    "make_converter",
    "new_idempotency_key",
    "normalize_currency",
    "parse_retry_after",
    "redact",
    "secret_field",
    "sign_timestamped",
    "to_json_dict",
    "utc_from_timestamp",
    "verify_hmac_sha256_hex",
    "verify_timestamped",
]

_LAZY = {
    "HttpClient": "paywire._http",
    "RetryPolicy": "paywire._http",
    "error_for_status": "paywire._http",
    "new_idempotency_key": "paywire._http",
    "parse_retry_after": "paywire._http",
    "utc_from_timestamp": "paywire._http",
    "from_json_dict": "paywire._convert",
    "make_converter": "paywire._convert",
    "to_json_dict": "paywire._convert",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paywire' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
