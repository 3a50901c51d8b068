"""Pieces of one test's environment: the fault path learned from a request, webhook secrets."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from minipay import MiniHarness

from paywire_contract import ContractEnv, ScenarioContext
from paywire_contract._recording import CountingTransport


@pytest.fixture
def env() -> Iterator[ContractEnv]:
    harness = MiniHarness()
    settings = harness.sandbox_settings("http://127.0.0.1:5000")
    counting = CountingTransport(httpx.MockTransport(lambda request: httpx.Response(500)))
    provider = harness.build_provider(settings, transport=counting)
    ctx = ScenarioContext("sandbox", provider, None, settings)
    environment = ContractEnv(
        mode="sandbox",
        harness=harness,
        settings=settings,
        provider=provider,
        http=counting,
        ctx=ctx,
        against="sandbox",
    )
    yield environment
    provider.close()


@pytest.mark.parametrize(
    ("path", "glob"),
    [
        ("/minipay/v1/charges", "/v1/charges"),
        ("/minipay/v1/payment_intents/pi_3NxAbc12/confirm", "/v1/payment_intents/*/confirm"),
        ("/minipay/v2/checkout/orders/5O190127TN364715T/capture", "/v2/checkout/orders/*/capture"),
        ("/elsewhere/v1/refunds", "/elsewhere/v1/refunds"),
    ],
)
def test_fault_path_is_relative_with_ids_globbed(env: ContractEnv, path: str, glob: str) -> None:
    request = httpx.Request("POST", f"http://127.0.0.1:5000{path}")
    assert env.fault_path(request) == glob


def test_webhook_secret_and_receiver(env: ContractEnv) -> None:
    assert env.webhook_secret == "whsec_minipaycontract000000"
    assert env.receives_webhooks is False  # no sandbox, no receiver
    assert env.receiver_url == "http://receiver.paywire.invalid/webhooks"
    assert env.finish() == []
