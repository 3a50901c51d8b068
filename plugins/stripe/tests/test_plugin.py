"""The plugin as paywire finds it: entry point, API version, registration, a cheap import."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import paywire
import paywire_stripe
from paywire_stripe import StripeConfig, StripeProvider


def test_all_is_sorted_and_complete() -> None:
    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions; each alphabetical.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert paywire_stripe.__all__ == sorted(paywire_stripe.__all__, key=kind)
    public = {
        name
        for name, value in vars(paywire_stripe).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)  # submodules, once imported
        and name not in {"annotations", "Callable", "Any", "TYPE_CHECKING", "plugin"}
    }
    # The deprecated names are served (with a warning) by the module's __getattr__.
    assert public | {"StripeHTTPError", "error_from_response"} == set(paywire_stripe.__all__)


def test_declares_the_kernel_plugin_api() -> None:
    assert paywire_stripe.PAYWIRE_API == ">=1.1,<2"
    assert StripeProvider.missing_operations() == []
    assert StripeProvider.native_async


def test_paywire_discovers_and_builds_it_from_settings() -> None:
    settings = {"stripe": {"api_key": "sk_test_discovery000000", "base_url": "http://x/stripe"}}
    with paywire.Paywire(settings=settings, environ={"PAYWIRE_PLUGINS": "stripe"}) as pw:
        entry = pw.entry("stripe")
        assert entry.provider_class is StripeProvider
        assert entry.distribution == "paywire-stripe"
        assert not [s for s in pw.skipped if s.name == "stripe"]
        provider = pw.provider("stripe")
        assert isinstance(provider, StripeProvider)
        assert provider.available()
        assert provider.config.base_url == "http://x/stripe"


def test_settings_come_from_the_environment() -> None:
    config = paywire.load_config(
        StripeConfig,
        "stripe",
        environ={
            "PAYWIRE_STRIPE_API_KEY": "sk_test_fromenv00000000",
            "PAYWIRE_STRIPE_WEBHOOK_SECRET": "whsec_fromenv0000000",
            "PAYWIRE_STRIPE_WEBHOOK_TOLERANCE": "120",
            "PAYWIRE_STRIPE_SETUP_CURRENCY": "eur",
        },
    )
    assert config.api_key is not None
    assert config.api_key.reveal() == "sk_test_fromenv00000000"
    assert config.webhook_tolerance == 120
    assert config.setup_currency == "EUR"
    assert len(config.secrets()) == 2


@pytest.mark.parametrize("tolerance", [0, -5, True])
def test_a_bad_tolerance_is_a_configuration_error(tolerance: object) -> None:
    with pytest.raises(paywire.ConfigurationError):
        paywire.load_config(StripeConfig, "stripe", environ={}, webhook_tolerance=tolerance)


def test_declares_every_capability() -> None:
    assert StripeProvider.capabilities.supported == frozenset(paywire.Capability)
    assert StripeProvider.name == "stripe"
    assert StripeProvider.default_base_url == "https://api.stripe.com"
    assert StripeProvider.request_id_header == "Request-Id"
    assert StripeProvider.currency_rules is paywire_stripe.STRIPE_CURRENCY_RULES


def test_the_plugin_never_imports_the_sdk() -> None:
    # The stripe SDK is a test-time dependency: discovery, operations (sync and async) and
    # webhooks run without it.
    code = (
        "import asyncio, sys, json, httpx, paywire, paywire_stripe\n"
        "def answer(request):\n"
        "    return httpx.Response(200, json={'id': 'pm_1', 'object': 'payment_method',"
        " 'type': 'card', 'customer': 'cus_1'})\n"
        "pw = paywire.Paywire(settings={'stripe': {'api_key': 'sk_test_x00000000'}},"
        " environ={'PAYWIRE_PLUGINS': 'stripe'})\n"
        "p = paywire_stripe.StripeProvider.create(pw.provider('stripe').config,"
        " transport=httpx.MockTransport(answer))\n"
        "assert p.get_payment_method_details('pm_1').customer_id == 'cus_1'\n"
        "asyncio.run(p.get_payment_method_details_async('pm_1'))\n"
        "body = json.dumps({'id': 'evt_1', 'type': 'customer.created', 'data': {'object': {}}})\n"
        "try:\n"
        "    p.parse_webhook(body.encode(), {})\n"
        "except paywire.UnknownEvent:\n"
        "    pass\n"
        "assert 'stripe' not in sys.modules, 'the stripe SDK was imported'\n"
        "pw.close()\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=60)


def test_importing_the_plugin_imports_neither_httpx_nor_the_sdk() -> None:
    # Discovery imports every plugin: it stays as cheap as importing paywire.
    code = (
        "import sys, paywire_stripe\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
        "assert 'stripe' not in sys.modules, 'the stripe SDK imported'\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=60)
