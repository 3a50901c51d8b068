"""The contract harness's own decisions (the suite itself runs in test_contract.py)."""

from __future__ import annotations

import hashlib
import hmac

import paywire
from paywire_stripe.contract import StripeHarness

harness = StripeHarness()


def test_live_mode_needs_a_test_key() -> None:
    assert harness.live_settings({}) is None
    assert (
        harness.live_settings({"PAYWIRE_STRIPE_TEST_API_KEY": "sk_" + "live_realmoney000"}) is None
    )
    settings = harness.live_settings(
        {
            "PAYWIRE_STRIPE_TEST_API_KEY": "sk_test_abc000000000",
            "PAYWIRE_STRIPE_TEST_WEBHOOK_SECRET": "whsec_abc00000000",
        }
    )
    assert settings == {"api_key": "sk_test_abc000000000", "webhook_secret": "whsec_abc00000000"}


def test_secrets_are_found_plain_or_wrapped() -> None:
    settings = harness.sandbox_settings("http://127.0.0.1:1")
    assert settings["base_url"] == "http://127.0.0.1:1/stripe"
    assert sorted(harness.secrets(settings)) == sorted(
        [settings["api_key"], settings["webhook_secret"]]
    )
    wrapped = {"api_key": paywire.Secret("sk_test_wrapped000"), "webhook_secret": None}
    assert harness.secrets(wrapped) == ["sk_test_wrapped000"]


def test_signatures_verify_with_the_provider() -> None:
    settings = harness.sandbox_settings("http://127.0.0.1:1")
    provider = harness.build_provider(settings)
    try:
        body = b'{"id": "evt_1"}'
        timestamp = 1_800_000_000
        headers = harness.sign_webhook(body, settings["webhook_secret"], timestamp=timestamp)
        expected = hmac.new(
            settings["webhook_secret"].encode(), b"1800000000." + body, hashlib.sha256
        ).hexdigest()
        assert headers == {"Stripe-Signature": f"t={timestamp},v1={expected}"}
    finally:
        provider.close()


def test_the_unknown_event_is_well_formed_and_unmapped() -> None:
    payload = harness.unknown_event()
    assert payload["object"] == "event"
    assert payload["data"]["object"]["id"].startswith("cus_")
