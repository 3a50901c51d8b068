"""No API key or webhook secret in repr, str, logs or errors."""

from __future__ import annotations

import logging

import httpx
import pytest
from stripe_fakes import API_KEY, WEBHOOK_SECRET, FakeStripe, stripe_error, stripe_json

import paywire
from paywire_stripe import StripeConfig, StripeProvider

SECRETS = (API_KEY, WEBHOOK_SECRET)


def test_config_and_provider_reprs_hide_secrets(provider: StripeProvider) -> None:
    config = paywire.load_config(
        StripeConfig, "stripe", environ={}, api_key=API_KEY, webhook_secret=WEBHOOK_SECRET
    )
    for text in (repr(config), str(config), repr(provider), str(provider), repr(provider.http)):
        for secret in SECRETS:
            assert secret not in text


def test_nothing_secret_is_logged_even_at_debug(
    fake: FakeStripe, provider: StripeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.on(
        "POST",
        "/v1/payment_intents",
        stripe_json(
            200,
            {
                "id": "pi_1",
                "object": "payment_intent",
                "amount": 1000,
                "currency": "usd",
                "status": "succeeded",
            },
        ),
    )
    fake.on(
        "GET",
        "/v1/payment_methods/pm_9",
        stripe_error(
            404, type="invalid_request_error", code="resource_missing", message=f"key {API_KEY}"
        ),
    )
    provider.charge_payment_method(
        paywire.SavedPaymentMethod("stripe", "pm_1"), paywire.Money("10", "USD")
    )
    with pytest.raises(paywire.NotFound) as caught:
        provider.get_payment_method_details("pm_9")
    signed = b'{"id": "evt_1"}'
    with pytest.raises(paywire.InvalidSignature) as bad:
        provider.verify_webhook_signature(signed, {"Stripe-Signature": "t=1,v1=00"})
    assert caplog.records, "the operations should have logged something at debug level"
    texts = [caplog.text, str(caught.value), repr(caught.value), str(bad.value)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_the_key_is_sent_only_in_the_authorization_header(
    fake: FakeStripe, provider: StripeProvider
) -> None:
    fake.on(
        "GET",
        "/v1/payment_methods/pm_1",
        stripe_json(
            200, {"id": "pm_1", "object": "payment_method", "type": "card", "customer": "cus_1"}
        ),
    )
    provider.get_payment_method_details("pm_1")
    (request,) = fake.requests
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    others = [v for k, v in request.headers.items() if k.lower() != "authorization"]
    assert not any(API_KEY in v for v in others)
    assert API_KEY not in str(request.url)
    assert isinstance(request, httpx.Request)
