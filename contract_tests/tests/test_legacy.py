"""minipay is a plugin written the old way (paywire API 1.0): a ``paywire.Provider`` with sync
methods only, ``handle_webhook_event(payload)``, one webhook secret, helpers imported from
``paywire`` — which paywire 1.1 still allows, with a deprecation warning."""

from __future__ import annotations

import importlib.util
import re

import pytest
from legacy import IMPORT_WARNINGS, minipay

import paywire
from paywire.plugin import KernelProvider

MOVED = {"error_for_status", "get_header", "secret_field", "verify_timestamped"}


def _moved(messages: list[str]) -> set[str]:
    found = set()
    for message in messages:
        match = re.match(r"paywire\.(\w+) moved to paywire\.plugin\.\1 ", message)
        assert match, message
        found.add(match.group(1))
    return found


def test_importing_minipay_warned_about_each_old_name_and_nothing_else() -> None:
    assert IMPORT_WARNINGS, "importing minipay raised no warning"
    assert all(w.category is paywire.PaywireDeprecationWarning for w in IMPORT_WARNINGS)
    assert _moved([str(w.message) for w in IMPORT_WARNINGS]) == MOVED


def test_a_fresh_import_warns_and_still_works() -> None:
    spec = importlib.util.spec_from_file_location("minipay_fresh", minipay.__file__)
    assert spec is not None
    assert spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    with pytest.warns(paywire.PaywireDeprecationWarning) as caught:
        spec.loader.exec_module(fresh)
    assert _moved([str(w.message) for w in caught]) == MOVED
    assert fresh.MiniProvider.name == "minipay"


def test_minipay_is_an_api_1_0_provider() -> None:
    provider = minipay.MiniProvider
    assert issubclass(provider, paywire.Provider)
    assert not issubclass(provider, KernelProvider)
    assert provider.native_async is False
    assert provider.webhook_authentication == "signature"
    # It implements only the nine operations of API 1.0; the rest are the core's defaults.
    for name in ("parse_webhook", "complete_setup", "fetch_webhook_event", "verify_webhook"):
        assert name not in vars(provider)
    assert "handle_webhook_event" in vars(provider)
