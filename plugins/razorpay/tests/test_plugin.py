"""The distribution as paywire sees it: entry points, registration, capabilities, public API."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types

import pytest

import paywire
import paywire_razorpay
from paywire import Capability
from paywire_razorpay import RazorpayProvider


def test_found_through_the_entry_point() -> None:
    with paywire.Paywire(environ={}, allow=["razorpay"]) as pw:
        entry = pw.entry("razorpay")
        assert entry.provider_class is RazorpayProvider
        assert entry.distribution == "paywire-razorpay"
        assert not [s for s in pw.skipped if s.name == "razorpay"]
        provider = pw.provider("razorpay")
        assert isinstance(provider, RazorpayProvider)
        assert not provider.available()  # no keys in this environment


def test_contract_harness_entry_point() -> None:
    points = importlib.metadata.entry_points(group="paywire_contract", name="razorpay")
    (point,) = points
    assert point.value == "paywire_razorpay.contract:RazorpayHarness"


def test_declared_api_is_compatible() -> None:
    from paywire._plugins import api_compatible

    assert api_compatible(paywire_razorpay.PAYWIRE_API)


def test_capabilities_are_honest() -> None:
    capabilities = RazorpayProvider.capabilities
    assert Capability.SAVE_ON_CHECKOUT not in capabilities
    for capability in (
        Capability.CHECKOUT,
        Capability.SETUP,
        Capability.CHARGE,
        Capability.IDEMPOTENCY,
    ):
        assert capability in capabilities
        assert capabilities.notes[capability]
    assert "authorization" in capabilities.notes[Capability.SETUP]
    assert "phone" in capabilities.notes[Capability.SETUP]
    assert "cancel" in capabilities.notes[Capability.CHECKOUT]
    assert "INR only" in capabilities.notes[Capability.CHARGE]
    assert "customer_id" in capabilities.notes[Capability.PAYMENT_METHOD_DETAILS]


def test_built_on_the_kernel() -> None:
    from paywire.plugin import KernelProvider

    assert issubclass(RazorpayProvider, KernelProvider)
    assert RazorpayProvider.native_async
    assert RazorpayProvider.idempotency_header is None
    assert RazorpayProvider.missing_operations() == []


def test_the_old_id_helpers_still_work_and_say_they_are_deprecated() -> None:
    with pytest.warns(paywire.PaywireDeprecationWarning):
        assert paywire_razorpay.method_id("cust_A1", "token_B2") == "cust_A1/token_B2"
    with pytest.warns(paywire.PaywireDeprecationWarning):
        assert paywire_razorpay.split_method_id("cust_A1/token_B2") == ("cust_A1", "token_B2")
    with pytest.warns(paywire.PaywireDeprecationWarning), pytest.raises(paywire.InvalidRequest):
        paywire_razorpay.split_method_id("token_B2")


def test_public_api_is_sorted_and_complete() -> None:
    names = paywire_razorpay.__all__

    def isort_style(name: str) -> tuple[int, str]:
        # Constants, then classes, then functions, each alphabetically (ruff's RUF022 order).
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert list(names) == sorted(names, key=isort_style)
    for name in names:
        assert hasattr(paywire_razorpay, name)
    public = {
        name
        for name, value in vars(paywire_razorpay).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    imported = {"annotations", "Callable", "Any", "plugin"}
    assert public - set(names) - imported == set()


def test_loading_the_plugin_does_not_import_httpx() -> None:
    """Discovery loads every plugin; the HTTP stack loads on the first request."""
    code = "import sys, paywire_razorpay; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
