"""The public surface: a curated, sorted ``__all__``, the harness ABC and the scenario context."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from minipay import API_KEY, MiniHarness, MiniProvider

import paywire_contract
from paywire_contract import Harness, SandboxUnavailable, ScenarioContext


def test_all_is_sorted_and_complete() -> None:
    public = {
        name
        for name, value in vars(paywire_contract).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith("paywire_contract")
    }

    def order(name: str) -> tuple[int, str]:  # constants, classes, functions (ruff's RUF022)
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert paywire_contract.__all__ == sorted(paywire_contract.__all__, key=order)
    assert public <= set(paywire_contract.__all__)
    for name in paywire_contract.__all__:
        assert hasattr(paywire_contract, name)


def test_harness_is_abstract_with_optional_defaults() -> None:
    assert Harness.__abstractmethods__ == {
        "sandbox_settings",
        "build_provider",
        "secrets",
        "customer",
        "saved_method",
        "charge_currency",
        "complete_checkout",
        "complete_setup",
        "register_webhook",
        "sign_webhook",
        "webhook_samples",
        "unknown_event",
    }
    harness = MiniHarness()
    assert Harness.live_settings(harness, {"ANY": "x"}) is None
    assert Harness.zero_decimal_currency(harness) is None
    assert Harness.three_decimal_currency(harness) is None


def _provider() -> MiniProvider:
    harness = MiniHarness()
    return harness.build_provider(
        harness.sandbox_settings("http://x"),
        transport=httpx.MockTransport(lambda request: httpx.Response(500)),
    )


def test_context_without_sandbox_control_says_so() -> None:
    provider = _provider()
    try:
        ctx = ScenarioContext("live", provider, None, {"api_key": API_KEY})
        with pytest.raises(SandboxUnavailable, match="POST /_sandbox/minipay/methods needs"):
            ctx.control("POST", "minipay/methods", {"kind": "succeeds"})
        assert ctx.name == "minipay"
        assert API_KEY not in repr(ctx)
    finally:
        provider.close()


def test_context_control_passes_calls_through() -> None:
    seen: list[tuple[str, str, Any]] = []

    def control(method: str, path: str, json: Any = None) -> httpx.Response:
        seen.append((method, path, json))
        return httpx.Response(200, json={"ok": True})

    provider = _provider()
    try:
        ctx = ScenarioContext("sandbox", provider, None, {}, control=control)
        assert ctx.control("GET", "faults").json() == {"ok": True}
    finally:
        provider.close()
    assert seen == [("GET", "/faults", None)]


def test_env_and_context_reprs_hide_settings(pytester: pytest.Pytester) -> None:
    """The suite's own objects never show the settings (they hold the keys)."""
    from _inner import prepare, run

    prepare(pytester)
    pytester.makepyfile(
        test_repr="""
from minipay import API_KEY, MiniHarness
from paywire_contract import ProviderContractSuite


class TestMini(ProviderContractSuite):
    harness = MiniHarness()

    def test_reprs(self, paywire_env, paywire_ctx, paywire_provider):
        assert paywire_ctx is paywire_env.ctx
        assert paywire_provider is paywire_env.provider
        for obj in (paywire_env, paywire_ctx, paywire_provider):
            assert API_KEY not in repr(obj)
"""
    )
    run(pytester, "-k", "test_reprs").assert_outcomes(passed=1)
