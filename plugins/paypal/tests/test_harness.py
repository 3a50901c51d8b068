"""The contract harness's own pieces: its signing certificate layer and its settings."""

from __future__ import annotations

import json
import time

import httpx
import pytest

import paywire
from paywire_paypal import PayPalProvider
from paywire_paypal.contract import (
    HARNESS_CERT_URL,
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


def test_settings(harness: PayPalHarness) -> None:
    settings = harness.sandbox_settings("http://127.0.0.1:9/")
    assert settings["base_url"] == "http://127.0.0.1:9/paypal"
    assert settings["webhook_id"] == SANDBOX_WEBHOOK_ID
    assert harness.secrets(settings) == [SANDBOX_CLIENT_SECRET]
    assert harness.secrets({"client_secret": paywire.Secret("abcd")}) == ["abcd"]


def test_harness_signatures_verify_without_the_network(harness: PayPalHarness) -> None:
    sent: list[httpx.Request] = []
    provider = _build(harness, sent)
    now = int(time.time())
    headers = harness.sign_webhook(BODY, "", timestamp=now)
    assert headers["paypal-cert-url"] == HARNESS_CERT_URL
    provider.verify_webhook_signature(BODY, headers)
    provider.verify_webhook_signature(
        BODY, harness.sign_webhook(BODY, "WH-X", timestamp=now), "WH-X"
    )
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, harness.sign_webhook(BODY, "WH-X", timestamp=now))
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(
            BODY, harness.sign_webhook(BODY, "", timestamp=now - 3600)
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
    assert [r.url.path for r in sent] == ["/paypal/v1/oauth2/token"]
    provider.close()


def test_unknown_event_is_unknown(harness: PayPalHarness) -> None:
    sent: list[httpx.Request] = []
    provider = _build(harness, sent)
    with pytest.raises(paywire.UnknownEvent):
        provider.handle_webhook_event(harness.unknown_event())
    provider.close()
