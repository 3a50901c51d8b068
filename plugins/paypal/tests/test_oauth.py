"""The access token: fetched once, cached until shortly before expiry, replaced when refused."""

from __future__ import annotations

import base64
import threading
from urllib.parse import parse_qs

import httpx
import pytest
from paypal_fakes import CLIENT_ID, CLIENT_SECRET, FakePayPal, build, json_response

import paywire
from paywire_paypal import PayPalProvider
from paywire_paypal._oauth import TokenCache

TOKEN = "/v1/oauth2/token"
DETAILS = "/v3/vault/payment-tokens/tok1"
WALLET = {"id": "tok1", "payment_source": {"paypal": {"email_address": "a@example.com"}}}


def _with_clock(provider: PayPalProvider, now: list[float]) -> None:
    provider._tokens = TokenCache(
        provider.http, provider.config, provider="paypal", clock=lambda: now[0]
    )


def test_token_request_is_basic_auth_client_credentials(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)
    provider.get_payment_method_details("tok1")
    (request,) = fake.sent("POST", TOKEN)
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"]}
    (call,) = fake.sent("GET", DETAILS)
    assert call.headers["Authorization"] == "Bearer A21AAtoken0001"


def test_token_is_cached_until_shortly_before_expiry(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.token_lifetime = 3600
    now = [1000.0]
    _with_clock(provider, now)
    fake.answer("GET", DETAILS, 200, WALLET)
    provider.get_payment_method_details("tok1")
    now[0] += 3600 - 301  # still before the refresh margin (300 s)
    provider.get_payment_method_details("tok1")
    assert fake.tokens_issued == 1
    now[0] += 2  # inside the margin: refreshed before PayPal would refuse it
    provider.get_payment_method_details("tok1")
    assert fake.tokens_issued == 2
    last = fake.sent("GET", DETAILS)[-1]
    assert last.headers["Authorization"] == "Bearer A21AAtoken0002"


def test_short_lived_token_refreshes_at_half_life(fake: FakePayPal) -> None:
    fake.token_lifetime = 100
    provider = build(fake)
    now = [0.0]
    _with_clock(provider, now)
    fake.answer("GET", DETAILS, 200, WALLET)
    provider.get_payment_method_details("tok1")
    now[0] = 49
    provider.get_payment_method_details("tok1")
    now[0] = 51
    provider.get_payment_method_details("tok1")
    assert fake.tokens_issued == 2
    provider.close()


def test_invalid_token_is_replaced_once(fake: FakePayPal, provider: PayPalProvider) -> None:
    refused = json_response(401, {"error": "invalid_token", "error_description": "expired"})
    fake.on("GET", DETAILS, lambda r: refused, lambda r: json_response(200, WALLET))
    info = provider.get_payment_method_details("tok1")
    assert info.email == "a@example.com"
    assert fake.tokens_issued == 2
    tokens = [r.headers["Authorization"] for r in fake.sent("GET", DETAILS)]
    assert tokens == ["Bearer A21AAtoken0001", "Bearer A21AAtoken0002"]


def test_invalid_token_twice_is_authentication_failed(
    fake: FakePayPal, provider: PayPalProvider
) -> None:
    fake.answer("GET", DETAILS, 401, {"error": "invalid_token", "error_description": "nope"})
    with pytest.raises(paywire.AuthenticationFailed) as caught:
        provider.get_payment_method_details("tok1")
    assert caught.value.raw_code == "invalid_token"
    assert len(fake.sent("GET", DETAILS)) == 2  # one refresh, no loop


def test_other_401_is_not_retried(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "GET",
        DETAILS,
        401,
        {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed", "debug_id": "d1"},
    )
    with pytest.raises(paywire.AuthenticationFailed) as caught:
        provider.get_payment_method_details("tok1")
    assert caught.value.raw_code == "AUTHENTICATION_FAILURE"
    assert caught.value.request_id == "d1"
    assert fake.tokens_issued == 1


def test_rejected_credentials(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "POST", TOKEN, 401, {"error": "invalid_client", "error_description": "Client Auth failed"}
    )
    with pytest.raises(paywire.AuthenticationFailed) as caught:
        provider.get_payment_method_details("tok1")
    assert caught.value.raw_code == "invalid_client"
    assert CLIENT_SECRET not in str(caught.value) + repr(caught.value)
    assert not fake.sent("GET", DETAILS)


def test_missing_credentials_are_a_configuration_error(fake: FakePayPal) -> None:
    provider = build(fake, client_secret=None)
    assert provider.available() is False
    with pytest.raises(paywire.ConfigurationError):
        provider.get_payment_method_details("tok1")
    assert not fake.requests
    provider.close()


def test_unreadable_token_response(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.on("POST", TOKEN, lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(paywire.ProviderUnavailable):
        provider.get_payment_method_details("tok1")


def test_threads_share_one_token(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            provider.get_payment_method_details("tok1")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert fake.tokens_issued == 1
    assert len(fake.sent("GET", DETAILS)) == 8


def test_token_never_in_repr(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)
    provider.get_payment_method_details("tok1")
    assert "A21AAtoken" not in repr(provider._tokens)
    assert "A21AAtoken" not in repr(provider)


def test_token_endpoint_down_is_unavailable(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("POST", TOKEN, 503, {"name": "SERVICE_UNAVAILABLE", "message": "down"})
    with pytest.raises(paywire.ProviderUnavailable) as caught:
        provider.get_payment_method_details("tok1")
    assert not isinstance(caught.value, paywire.OutcomeUnknown)
    assert caught.value.retryable
