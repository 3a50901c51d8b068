"""The access token: fetched once, cached until shortly before expiry, shared by threads and
coroutines, replaced once when PayPal calls it invalid."""

from __future__ import annotations

import asyncio
import base64
import threading
from urllib.parse import parse_qs

import httpx
import pytest
from paypal_fakes import CLIENT_ID, CLIENT_SECRET, FakePayPal, build, json_response, run

import paywire
from paywire_paypal import PayPalProvider
from paywire_paypal._oauth import TokenCache

TOKEN = "/v1/oauth2/token"
DETAILS = "/v3/vault/payment-tokens/tok1"
WALLET = {"id": "tok1", "payment_source": {"paypal": {"email_address": "a@example.com"}}}
INVALID_TOKEN = {"error": "invalid_token", "error_description": "Token signature verification"}


def _with_clock(provider: PayPalProvider, now: list[float]) -> None:
    provider._tokens = TokenCache(clock=lambda: now[0])


def test_token_request_is_basic_auth_client_credentials(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)
    run(provider, mode, "get_payment_method_details", "tok1")
    (request,) = fake.sent("POST", TOKEN)
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {"grant_type": ["client_credentials"]}
    assert "PayPal-Request-Id" not in request.headers  # the token endpoint honours none
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
    now[0] = 49.0
    provider.get_payment_method_details("tok1")
    assert fake.tokens_issued == 1
    now[0] = 51.0
    provider.get_payment_method_details("tok1")
    assert fake.tokens_issued == 2


def test_invalid_token_is_replaced_once(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.on(
        "POST",
        "/v2/payments/captures/CAP1/refund",
        lambda r: json_response(401, INVALID_TOKEN),
        lambda r: json_response(201, {"id": "R", "status": "COMPLETED"}),
    )
    run(provider, mode, "create_refund", "CAP1", paywire.Money("1", "USD"), idempotency_key="r9")
    assert fake.tokens_issued == 2
    first, second = fake.sent("POST", "/v2/payments/captures/CAP1/refund")
    assert first.headers["Authorization"] == "Bearer A21AAtoken0001"
    assert second.headers["Authorization"] == "Bearer A21AAtoken0002"
    # The same request, sent once more: the same PayPal-Request-Id.
    assert first.headers["PayPal-Request-Id"] == second.headers["PayPal-Request-Id"] == "r9"


def test_invalid_token_twice_is_authentication_failed(
    fake: FakePayPal, provider: PayPalProvider, mode: str
) -> None:
    fake.answer("GET", DETAILS, 401, INVALID_TOKEN)
    with pytest.raises(paywire.AuthenticationFailed) as caught:
        run(provider, mode, "get_payment_method_details", "tok1")
    assert caught.value.raw_code == "invalid_token"
    assert fake.tokens_issued == 2
    assert len(fake.sent("GET", DETAILS)) == 2


def test_other_401_is_not_retried(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer(
        "GET",
        DETAILS,
        401,
        {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed"},
    )
    with pytest.raises(paywire.AuthenticationFailed) as caught:
        provider.get_payment_method_details("tok1")
    assert caught.value.raw_code == "AUTHENTICATION_FAILURE"
    assert fake.tokens_issued == 1
    assert len(fake.sent("GET", DETAILS)) == 1


@pytest.mark.parametrize("status", [400, 401, 403])
def test_rejected_credentials(fake: FakePayPal, provider: PayPalProvider, status: int) -> None:
    fake.answer(
        "POST",
        TOKEN,
        status,
        {"error": "invalid_client", "error_description": "Client Authentication failed"},
    )
    with pytest.raises(paywire.AuthenticationFailed) as caught:
        provider.get_payment_method_details("tok1")
    assert caught.value.raw_code == "invalid_client"
    assert "Client Authentication failed" in caught.value.message
    assert CLIENT_SECRET not in str(caught.value)
    assert not fake.sent("GET", DETAILS)


def test_missing_credentials_are_a_configuration_error(fake: FakePayPal, mode: str) -> None:
    provider = build(fake, client_secret=None)
    with pytest.raises(paywire.ConfigurationError):
        run(provider, mode, "get_payment_method_details", "tok1")
    assert not fake.requests


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (200, b"not json"),
        (200, b'{"token_type": "Bearer"}'),
        (200, b'{"access_token": "A21AAx", "expires_in": "soon"}'),
        (200, b'{"access_token": "A21AAx", "expires_in": 0}'),
        (503, b'{"name": "SERVICE_UNAVAILABLE"}'),
    ],
    ids=["not-json", "no-token", "no-lifetime", "zero-lifetime", "down"],
)
def test_no_usable_token_is_unavailable(
    fake: FakePayPal, provider: PayPalProvider, mode: str, status: int, content: bytes
) -> None:
    # Nothing changes at PayPal when a token is handed out: never OutcomeUnknown, even for a
    # charge (whose own request was never sent).
    fake.on("POST", TOKEN, lambda r: httpx.Response(status, content=content))
    with pytest.raises(paywire.ProviderUnavailable) as caught:
        run(
            provider,
            mode,
            "charge_payment_method",
            paywire.SavedPaymentMethod("paypal", "tok1"),
            paywire.Money("1", "USD"),
        )
    assert type(caught.value) is paywire.ProviderUnavailable
    assert not fake.sent("POST", "/v2/checkout/orders")


def test_token_endpoint_unreachable_is_unavailable(fake: FakePayPal, mode: str) -> None:
    provider = build(fake, max_attempts=2)

    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    fake.on("POST", TOKEN, lost)
    with pytest.raises(paywire.ProviderUnavailable):
        run(provider, mode, "get_payment_method_details", "tok1")


def test_threads_share_one_token(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)
    provider.get_payment_method_details("tok1")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
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
    assert len(fake.sent("GET", DETAILS)) == 41


def test_coroutines_share_one_token(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)

    async def main() -> None:
        await provider.get_payment_method_details_async("tok1")
        await asyncio.gather(
            *(provider.get_payment_method_details_async("tok1") for _ in range(20))
        )
        # A token cached by the async path serves the sync path too.
        await asyncio.to_thread(provider.get_payment_method_details, "tok1")

    asyncio.run(main())
    assert fake.tokens_issued == 1
    assert len(fake.sent("GET", DETAILS)) == 22


def test_a_cold_start_under_concurrency_works(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)

    async def main() -> None:
        await asyncio.gather(
            *(provider.get_payment_method_details_async("tok1") for _ in range(10))
        )

    asyncio.run(main())
    # Callers that found no token each asked for one (harmless); later ones reuse the last.
    assert 1 <= fake.tokens_issued <= 10
    provider.get_payment_method_details("tok1")
    assert fake.tokens_issued <= 10
    last = fake.sent("GET", DETAILS)[-1].headers["Authorization"]
    assert last.startswith("Bearer A21AAtoken")


def test_token_never_in_repr(fake: FakePayPal, provider: PayPalProvider) -> None:
    fake.answer("GET", DETAILS, 200, WALLET)
    provider.get_payment_method_details("tok1")
    assert "A21AAtoken" not in repr(provider._tokens)
    assert "A21AAtoken" not in repr(provider)
    assert repr(provider._tokens) == "<TokenCache cached=True>"
