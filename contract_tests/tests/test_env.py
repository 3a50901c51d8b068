"""Pieces of one test's environment: the fault path learned from a request, webhook secrets."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from minipay import MiniFake, MiniHarness

from paywire import Invoice, LineItem, Money
from paywire_contract import ContractEnv, ScenarioContext
from paywire_contract._recording import CountingTransport
from paywire_contract._session import build_env
from paywire_sandbox import run_sandbox
from paywire_sandbox.testing import WebhookReceiver


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


def test_what_the_previous_test_set_off_lands_before_the_next_one_starts() -> None:
    harness = MiniHarness()
    with (
        WebhookReceiver(statuses=[500]) as receiver,
        run_sandbox(
            host="127.0.0.1", port=0, fakes=[MiniFake], webhook_retry_delays=(0.2,)
        ) as sandbox,
    ):
        envs: list[ContractEnv] = []
        try:
            for test_id in ("first", "second"):
                env = build_env(
                    mode="sandbox",
                    harness=harness,
                    test_id=test_id,
                    fixtures=None,
                    sandbox=sandbox,
                    receiver=receiver,
                )
                envs.append(env)
                if test_id == "first":
                    env.register_receiver()
                    session = env.ops.create_checkout_session(
                        Invoice(
                            id="inv_settle",
                            currency="USD",
                            line_items=[LineItem("Plan", Money("10.00", "USD"))],
                        ),
                        success_url="https://shop.example/ok",
                        cancel_url="https://shop.example/cancel",
                    )
                    harness.complete_checkout(env.ctx, session)
            # The first test's three events, one twice (answered 500, then retried), all arrived
            # before the second test began: none is counted as the second's, none was cut off.
            assert len(receiver.requests) == 4
            assert envs[1].received_webhooks() == []
        finally:
            problems = [problem for env in envs for problem in env.finish()]
        assert problems == []
