"""The contract harness's own pieces: its shape declarations, its signing certificate and token
layer, and its settings."""

from __future__ import annotations

import json
import time

import httpx
import pytest

import paywire
from paywire_paypal import PayPalProvider
from paywire_paypal.contract import (
    HARNESS_CERT_URL,
    PREVIOUS_WEBHOOK_ID,
    REPLAY_ACCESS_TOKEN,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_WEBHOOK_ID,
    PayPalHarness,
)

BODY = json.dumps({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED"}).encode()


@pytest.fixture(scope="module")
def harness() -> PayPalHarness:
    return PayPalHarness()


def _build(harness: PayPalHarness, sent: list[httpx.Request]) -> PayPalProvider:
    def network(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(599)

    settings = harness.sandbox_settings("http://sandbox.paywire.invalid")
    return harness.build_provider(settings, transport=httpx.MockTransport(network))


def test_shape_declarations() -> None:
    assert PayPalHarness.checkout_events == "separate"
    assert PayPalHarness.charge_settlement == "immediate"
    assert PayPalHarness.refund_settlement == "immediate"
    assert PayPalHarness.error_codes is True
    # PayPal signs a transmission time, but its retries keep it for three days.
    assert PayPalHarness.signature_timestamp is False


def test_settings(harness: PayPalHarness) -> None:
    settings = harness.sandbox_settings("http://127.0.0.1:9/")
    assert settings["base_url"] == "http://127.0.0.1:9/paypal"
    assert settings["webhook_id"] == SANDBOX_WEBHOOK_ID
    assert harness.secrets(settings) == [SANDBOX_CLIENT_SECRET]
    assert harness.secrets({"client_secret": paywire.Secret("abcd")}) == ["abcd"]
    rotated = harness.rotation_settings(settings, harness.previous_webhook_secret())
    provider = harness.build_provider(rotated)
    assert provider.webhook_secrets() == [SANDBOX_WEBHOOK_ID, PREVIOUS_WEBHOOK_ID]
    provider.close()


def test_harness_signatures_verify_without_the_network(harness: PayPalHarness) -> None:
    sent: list[httpx.Request] = []
    provider = _build(harness, sent)
    now = int(time.time())
    headers = harness.sign_webhook(BODY, "", timestamp=now)
    assert headers["paypal-cert-url"] == HARNESS_CERT_URL
    provider.verify_webhook_signature(BODY, headers)
    provider.verify_webhook_signature(
        BODY, harness.sign_webhook(BODY, "OTHER1", timestamp=now), "OTHER1"
    )
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, harness.sign_webhook(BODY, "OTHER1", timestamp=now))
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(
            BODY, harness.sign_webhook(BODY, "", timestamp=now - 5 * 24 * 3600)
        )
    assert not sent  # the certificate came from the harness layer, not the suite's transport
    assert harness.sign_webhook(BODY, "", timestamp=now) == harness.sign_webhook(
        BODY, "", timestamp=now
    )  # deterministic, so replays are stable
    provider.close()


def test_other_paths_under_the_harness_prefix_are_404(harness: PayPalHarness) -> None:
    sent: list[httpx.Request] = []
    provider = _build(harness, sent)
    now = int(time.time())
    headers = harness.sign_webhook(BODY, "", timestamp=now)
    headers["paypal-cert-url"] = HARNESS_CERT_URL + "x"
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, headers)
    assert not sent
    provider.close()


def test_api_calls_go_to_the_suite_transport(harness: PayPalHarness) -> None:
    sent: list[httpx.Request] = []
    provider = _build(harness, sent)
    with pytest.raises(paywire.ProviderError):
        provider.get_payment_method_details("tok1")
    # The token request never reaches the suite's recorder: in replay the harness answers it.
    assert [r.url.path for r in sent] == ["/paypal/v3/vault/payment-tokens/tok1"]
    assert sent[0].headers["Authorization"] == f"Bearer {REPLAY_ACCESS_TOKEN}"
    provider.close()


def test_sandbox_tokens_bypass_the_recorder_and_count_as_secrets() -> None:
    harness = PayPalHarness()
    issued = "A21AAfromthesandbox000000000000000000000001"

    def sandbox(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": issued, "expires_in": 32400})

    recorded: list[httpx.Request] = []

    def suite(request: httpx.Request) -> httpx.Response:
        recorded.append(request)
        return httpx.Response(200, json={"id": "tok1", "payment_source": {"paypal": {}}})

    settings = harness.sandbox_settings("http://127.0.0.1:9")
    provider = harness.build_provider(settings, transport=httpx.MockTransport(suite))
    provider.http._sync_transport._direct = httpx.MockTransport(sandbox)  # type: ignore[union-attr]
    provider.get_payment_method_details("tok1")
    assert [r.url.path for r in recorded] == ["/paypal/v3/vault/payment-tokens/tok1"]
    assert recorded[0].headers["Authorization"] == f"Bearer {issued}"
    assert issued in harness.secrets(settings)
    provider.close()


def test_unknown_event_is_unknown(harness: PayPalHarness) -> None:
    sent: list[httpx.Request] = []
    provider = _build(harness, sent)
    with pytest.raises(paywire.UnknownEvent):
        provider.handle_webhook_event(harness.unknown_event())
    provider.close()
