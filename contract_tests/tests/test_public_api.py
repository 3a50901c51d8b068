"""The public surface: a curated, sorted ``__all__``, the harness ABC and the scenario context."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from minipay import API_KEY, MiniHarness, MiniProvider
from shapes.single import SingleHarness

import paywire
import paywire_contract
from paywire_contract import DECLARATIONS, Harness, SandboxUnavailable, ScenarioContext


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
        "saved_method",
        "charge_currency",
        "sign_webhook",
        "webhook_samples",
        "unknown_event",
    }
    harness = MiniHarness()
    assert Harness.live_settings(harness, {"ANY": "x"}) is None
    assert Harness.zero_decimal_currency(harness) is None
    assert Harness.three_decimal_currency(harness) is None
    customer = Harness.customer(harness)
    assert customer.id
    assert customer.email
    assert customer.provider_customer_id is None  # new to the provider: it creates the customer


def test_the_default_secrets_are_the_configs_secret_fields_revealed() -> None:
    harness = MiniHarness()
    settings = harness.sandbox_settings("http://x")
    revealed = Harness.secrets(harness, settings)
    assert sorted(revealed) == sorted(str(settings[n]) for n in ("api_key", "webhook_secret"))
    assert Harness.secrets(harness, {**settings, "webhook_secret": None}) == [
        str(settings["api_key"])
    ]


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


def _recording_context(
    answer: httpx.Response,
) -> tuple[ScenarioContext, MiniProvider, list[tuple[str, str, Any]]]:
    seen: list[tuple[str, str, Any]] = []

    def control(method: str, path: str, json: Any = None) -> httpx.Response:
        seen.append((method, path, json))
        return answer

    provider = _provider()
    return ScenarioContext("sandbox", provider, None, {}, control=control), provider, seen


def test_control_json_returns_the_object_or_says_what_failed() -> None:
    ctx, provider, seen = _recording_context(httpx.Response(200, json={"id": "x"}))
    try:
        assert ctx.control_json("POST", "minipay/methods", {"kind": "succeeds"}) == {"id": "x"}
    finally:
        provider.close()
    assert seen == [("POST", "/minipay/methods", {"kind": "succeeds"})]

    for answer, message in [
        (httpx.Response(404, text="no such session"), r"POST /m/x answered 404: no such session"),
        (httpx.Response(200, json=["not", "an", "object"]), r"POST /m/x did not answer a JSON"),
    ]:
        ctx, provider, _ = _recording_context(answer)
        try:
            with pytest.raises(AssertionError, match=message):
                ctx.control_json("POST", "/m/x")
        finally:
            provider.close()


def test_default_sandbox_plumbing_calls_the_control_api() -> None:
    """The defaults for hosted pages and webhook registration, as every provider's sandbox fake
    offers them."""
    harness = MiniHarness()
    redirect = {"redirect_url": "https://shop.example/ok"}
    ctx, provider, seen = _recording_context(httpx.Response(200, json=redirect))
    session = paywire.CheckoutSession(
        "minipay", "cs_1", "https://pay.example/1", "inv_1", paywire.Money("5.00", "USD")
    )
    try:
        assert (
            Harness.complete_checkout(harness, ctx, session, "decline") == redirect["redirect_url"]
        )
        assert harness.complete_hosted_page(ctx, "ss_2") == redirect
        Harness.register_webhook(harness, ctx, "http://127.0.0.1:9/hook", "whsec_x")
    finally:
        provider.close()
    assert seen == [
        ("POST", "/minipay/checkout/cs_1/complete", {"outcome": "decline"}),
        ("POST", "/minipay/checkout/ss_2/complete", {"outcome": "success"}),
        (
            "POST",
            "/webhooks/endpoints",
            {
                "provider": "minipay",
                "url": "http://127.0.0.1:9/hook",
                "secret": "whsec_x",
                "extra": {},
            },
        ),
    ]
    # No redirect named (a failed payment leaves the page payable): an empty URL.
    ctx, provider, _ = _recording_context(httpx.Response(200, json={"status": "failed"}))
    try:
        assert Harness.complete_checkout(harness, ctx, session, "decline") == ""
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
    run(pytester, "-k", "test_reprs").assert_outcomes(passed=2)


def test_default_complete_setup_goes_through_the_public_interface() -> None:
    """The customer completes the page, comes back, and the app asks the provider."""
    sent: list[tuple[str, str]] = []

    def api(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path))
        return httpx.Response(
            200, json={"id": "ss_1", "status": "complete", "method": "pm_9", "customer": "cus_9"}
        )

    harness = SingleHarness()
    provider = harness.build_provider(
        harness.sandbox_settings("http://x"), transport=httpx.MockTransport(api)
    )
    seen: list[tuple[str, str, Any]] = []

    def control(method: str, path: str, json: Any = None) -> httpx.Response:
        seen.append((method, path, json))
        return httpx.Response(
            200, json={"redirect_url": "https://shop.example/ok?setup_session=ss_1"}
        )

    ctx = ScenarioContext("sandbox", provider, None, {}, control=control)
    session = paywire.SetupSession("singleevent", "ss_1", "http://x/setup/1", "cus_9")
    try:
        saved = Harness.complete_setup(harness, ctx, session)
        Harness.settle(harness, ctx)
    finally:
        provider.close()
    assert saved == paywire.SavedPaymentMethod("singleevent", "pm_9", "cus_9")
    assert sent == [("GET", "/singleevent/v1/setup/ss_1")]
    assert seen == [
        ("POST", "/singleevent/checkout/ss_1/complete", {"outcome": "success"}),
        ("POST", "/clock/advance", {"seconds": 172_800}),
    ]


def test_shape_declarations_and_rotation_defaults() -> None:
    harness = MiniHarness()
    assert harness.declarations(MiniProvider) == {
        "checkout_events": "separate",
        "charge_settlement": "immediate",
        "refund_settlement": "immediate",
        "signature_timestamp": True,
        "error_codes": True,
        "webhook_authentication": "signature",
    }
    assert set(harness.declarations(MiniProvider)) == set(DECLARATIONS)
    assert harness.declared_exceptions == {}
    assert harness.charges_made(ScenarioContext("sandbox", _provider(), None, {}), None) is None  # type: ignore[arg-type]
    previous = harness.previous_webhook_secret()
    settings = {"webhook_secret": "now", "webhook_secrets": ["older"]}
    assert harness.rotation_settings(settings, previous) == {
        "webhook_secret": "now",
        "webhook_secrets": ["older", previous],
    }
    assert settings == {"webhook_secret": "now", "webhook_secrets": ["older"]}  # not changed
