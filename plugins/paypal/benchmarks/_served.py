"""What the PayPal benchmarks share: a provider pointed at the sandbox (served in its own
process by ``paywire_sandbox.testing.sandbox_process``), and a vaulted wallet to charge."""

from __future__ import annotations

from typing import Any

import httpx

import paywire
from paywire_paypal import PayPalConfig, PayPalProvider

CLIENT_ID = "paywire-bench-client"
CLIENT_SECRET = "paywire-bench-secret-000000"  # noqa: S105 - a local sandbox only


def provider(root: str, **settings: Any) -> PayPalProvider:
    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url=root + "/paypal",
        **settings,
    )
    return PayPalProvider.create(config)


def vaulted_wallet(root: str) -> paywire.SavedPaymentMethod:
    """A PayPal wallet the sandbox vaulted for the bench merchant; its charges succeed."""
    answer = httpx.post(
        root + "/_sandbox/paypal/payment-tokens",
        json={"outcome": "success", "merchant": CLIENT_ID},
        timeout=30,
    )
    answer.raise_for_status()
    return paywire.SavedPaymentMethod("paypal", answer.json()["id"])


def access_token(root: str) -> str:
    """A bearer token for raw calls, fetched as the provider fetches its own."""
    answer = httpx.post(
        root + "/paypal/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=30,
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token
