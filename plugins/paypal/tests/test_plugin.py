"""The plugin as paywire loads it: entry points, API version, public surface."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types

import paywire
import paywire_paypal
from paywire import Capability
from paywire_paypal import PayPalProvider


def test_registered_through_the_entry_point() -> None:
    pw = paywire.Paywire(allow=["paypal"], environ={})
    assert not [s for s in pw.skipped if s.name == "paypal"]
    entry = pw.entry("paypal")
    assert entry.provider_class is PayPalProvider
    assert entry.distribution == "paywire-paypal"


def test_built_from_settings_and_environment() -> None:
    environ = {"PAYWIRE_PAYPAL_CLIENT_ID": "cid", "PAYWIRE_PAYPAL_CLIENT_SECRET": "secret-value"}
    with paywire.Paywire(allow=["paypal"], environ=environ) as pw:
        provider = pw.provider("paypal")
        assert isinstance(provider, PayPalProvider)
        assert provider.available()
        assert str(provider.http.client.base_url).rstrip("/") == "https://api-m.paypal.com"


def test_not_available_without_credentials_or_when_disabled() -> None:
    with paywire.Paywire(allow=["paypal"], environ={}) as pw:
        assert pw.provider("paypal").available() is False
    for incomplete in (
        {"client_id": "c", "client_secret": "s", "enabled": False},
        {"client_id": "c", "client_secret": ""},
        {"client_id": "", "client_secret": "s"},
    ):
        with paywire.Paywire(allow=["paypal"], environ={}, settings={"paypal": incomplete}) as pw:
            assert pw.provider("paypal").available() is False


def test_api_version_and_contract_entry_point() -> None:
    assert paywire_paypal.PAYWIRE_API == ">=1.1,<2"
    harnesses = {
        ep.name: ep.value for ep in importlib.metadata.entry_points(group="paywire_contract")
    }
    assert harnesses["paypal"] == "paywire_paypal.contract:PayPalHarness"


def test_all_is_complete() -> None:
    # Its order is ruff's (RUF022: constants, classes, functions), checked by the lint session.
    assert len(set(paywire_paypal.__all__)) == len(paywire_paypal.__all__)
    public = {
        name
        for name, value in vars(paywire_paypal).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - {"annotations", "Any", "Callable"}
    assert set(paywire_paypal.__all__) == public


def test_capabilities_are_declared_with_notes() -> None:
    caps = PayPalProvider.capabilities
    for capability in Capability:
        assert capability in caps
    for capability in (Capability.CHECKOUT, Capability.SETUP, Capability.WEBHOOKS):
        assert caps.notes[capability]
    assert "capture_order" in caps.notes[Capability.CHECKOUT]
    assert "complete_setup" in caps.notes[Capability.SETUP]


def test_built_on_the_kernel() -> None:
    from paywire.plugin import KernelProvider

    assert issubclass(PayPalProvider, KernelProvider)
    assert PayPalProvider.native_async
    assert PayPalProvider.missing_operations() == []
    assert PayPalProvider.idempotency_header == "PayPal-Request-Id"
    # The public operations are the kernel's, never redefined by the plugin.
    for name in vars(KernelProvider):
        if not name.startswith("_") and name in vars(PayPalProvider):
            assert name.startswith("op_") or name in {
                "authorize",
                "credentials_expired",
                "forget_credentials",
                "read_error",
                "parse_webhook",
                "webhook_secrets",
                "error_rules",
                "idempotency_header",
                "capabilities",
                "name",
                "config_class",
                "currency_rules",
                "default_base_url",
                "request_id_header",
                "retry_advice",
                "available",
            }, name


def test_the_documented_public_names_stay_importable() -> None:
    # Everything the previous release exported, but error_from_response (removed: the kernel
    # maps PayPal's errors now; see the README).
    for name in (
        "AUTH_ALGO",
        "DEFAULT_CERT_HOSTS",
        "EVENT_TYPES",
        "HEADERS",
        "LIVE_BASE_URL",
        "NO_DECIMALS",
        "PAYPAL_CURRENCY_RULES",
        "REQUEST_ID_HEADER",
        "SANDBOX_BASE_URL",
        "SUPPORTED_CURRENCIES",
        "PayPalConfig",
        "PayPalProvider",
        "crc32_decimal",
        "normalize_event",
        "paywire_register_providers",
        "signed_message",
    ):
        assert name in paywire_paypal.__all__
        assert hasattr(paywire_paypal, name)
    assert "CHECKOUT.ORDER.APPROVED" in paywire_paypal.EVENT_TYPES


def test_importing_the_plugin_warns_of_nothing_deprecated() -> None:
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "import paywire_paypal, paywire_paypal._provider, paywire_paypal.contract\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_loading_the_plugin_imports_neither_httpx_nor_cryptography() -> None:
    """Every `Paywire()` loads the plugin: its heavy imports wait until the provider is used
    (core/benchmarks/bench_import.py measures the whole discovery)."""
    code = (
        "import sys, paywire\n"
        "pw = paywire.Paywire(allow=['paypal'])\n"
        "assert 'paypal' in pw.providers, pw.skipped\n"
        "heavy = [m for m in ('httpx', 'cryptography') if m in sys.modules]\n"
        "assert not heavy, f'imported by discovery: {heavy}'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
