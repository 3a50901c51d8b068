"""Test helpers: a provider whose HTTP goes to a respx router (no network, no sandbox).

A module of its own (not ``conftest``) so that test modules can import it by a name no other
distribution's tests use.
"""

from __future__ import annotations

import httpx
import respx

import paywire
from paywire_razorpay import RazorpayConfig, RazorpayProvider

KEY_ID = "rzp_test_UnitTestKey0001"
KEY_SECRET = "unit-test-key-secret-0001"
WEBHOOK_SECRET = "unit-test-webhook-secret-01"
BASE_URL = "https://api.razorpay.com"


def build_provider(router: respx.Router, **settings: object) -> RazorpayProvider:
    """A provider over ``router`` whose retries do not sleep."""
    values: dict[str, object] = {
        "key_id": KEY_ID,
        "key_secret": KEY_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        **settings,
    }
    config = paywire.load_config(RazorpayConfig, "razorpay", environ={}, **values)
    http = paywire.HttpClient(
        provider="razorpay",
        base_url=config.base_url or RazorpayProvider.default_base_url,
        transport=httpx.MockTransport(router.handler),
        secrets=config.secrets(),
        sleep=lambda _seconds: None,
    )
    return RazorpayProvider(config, http)
