"""paywire.plugin: the API for writing a provider plugin.

Apps use :mod:`paywire`; a plugin's author uses this namespace too::

    from paywire import plugin

    PAYWIRE_API = ">=1.1,<2"

    @plugin.hookimpl
    def paywire_register_providers(register):
        from paywire_acme._provider import AcmeProvider
        register(AcmeProvider)

What is here:

- the operation kernel: :class:`KernelProvider` (a provider whose operations are generators of
  :class:`Call`\\ s answered with :class:`Reply`\\ s, run sync and async by the kernel),
  :data:`Operation`, :class:`ErrorRule` / :class:`ErrorInfo` (the error table),
  :class:`UnexpectedAnswer` (an answer without what the provider documents),
  :func:`derived_key`, :func:`encode_form`, :func:`immediately`;
- event normalization tables: :class:`EventRules`, :class:`EventRule`, :class:`EventFields`;
- webhook bodies: :func:`parse_json_body`, :func:`parse_form_body`, :func:`check_text`,
  :func:`valid_text` (bounded, and refusing text no store can hold);
- signatures: :func:`hmac_sha256_hex`, :func:`verify_hmac_sha256_hex`, :func:`sign_timestamped`,
  :func:`verify_timestamped`, :func:`get_header`;
- the HTTP client every plugin sends through: :class:`HttpClient`, :class:`RetryPolicy`,
  :func:`error_for_status`, :func:`parse_retry_after`, :func:`new_idempotency_key`,
  :func:`utc_from_timestamp` (imported on first use: loading a plugin does not import httpx);
- configuration: :class:`ProviderConfig`, :func:`secret_field`, :func:`secrets_field`;
- money rules: :class:`CurrencyRules`;
- :data:`hookimpl`, :data:`CORE_API_VERSION`, :func:`accepts_saved_methods`, :func:`method_id`.

A plugin written against API 1.0 (subclassing :class:`paywire.Provider` directly, with sync
methods) keeps working unchanged.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from paywire._config import ProviderConfig, secret_field, secrets_field
from paywire._event_rules import EventFields, EventRule, EventRules
from paywire._hookspecs import hookimpl
from paywire._kernel import (
    Call,
    ErrorInfo,
    ErrorRule,
    KernelProvider,
    Operation,
    Reply,
    UnexpectedAnswer,
    derived_key,
    encode_form,
    immediately,
)
from paywire._keys import new_idempotency_key
from paywire._money import CurrencyRules
from paywire._plugins import CORE_API_VERSION
from paywire._provider import accepts_saved_methods, method_id
from paywire._signing import (
    get_header,
    hmac_sha256_hex,
    sign_timestamped,
    verify_hmac_sha256_hex,
    verify_timestamped,
)
from paywire._types import utc_from_timestamp
from paywire._webhook_body import (
    MAX_FORM_FIELDS,
    MAX_JSON_DEPTH,
    check_text,
    parse_form_body,
    parse_json_body,
    valid_text,
)

if TYPE_CHECKING:
    from paywire._http import (
        HttpClient,
        RetryPolicy,
        error_for_status,
        parse_retry_after,
    )

__all__ = [
    "CORE_API_VERSION",
    "MAX_FORM_FIELDS",
    "MAX_JSON_DEPTH",
    "Call",
    "CurrencyRules",
    "ErrorInfo",
    "ErrorRule",
    "EventFields",
    "EventRule",
    "EventRules",
    "HttpClient",
    "KernelProvider",
    "Operation",
    "ProviderConfig",
    "Reply",
    "RetryPolicy",
    "UnexpectedAnswer",
    "accepts_saved_methods",
    "check_text",
    "derived_key",
    "encode_form",
    "error_for_status",
    "get_header",
    "hmac_sha256_hex",
    "hookimpl",
    "immediately",
    "method_id",
    "new_idempotency_key",
    "parse_form_body",
    "parse_json_body",
    "parse_retry_after",
    "secret_field",
    "secrets_field",
    "sign_timestamped",
    "utc_from_timestamp",
    "valid_text",
    "verify_hmac_sha256_hex",
    "verify_timestamped",
]

_LAZY = {
    "HttpClient": "paywire._http",
    "RetryPolicy": "paywire._http",
    "error_for_status": "paywire._http",
    "parse_retry_after": "paywire._http",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'paywire.plugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
