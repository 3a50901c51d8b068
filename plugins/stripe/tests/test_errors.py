"""Stripe's error bodies → paywire's hierarchy, through the real SDK and the core transport."""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Any

import httpx
import pytest
from stripe_fakes import API_KEY, FakeStripe, build, stripe_error, stripe_json

import paywire
from paywire_stripe import error_from_response

CHARGE_PATH = "/v1/payment_intents"
REFUND_PATH = "/v1/refunds"


def _charge(fake: FakeStripe, response: httpx.Response, **build_args: Any) -> paywire.PaywireError:
    fake.on("POST", CHARGE_PATH, response)
    provider, _ = build(fake, **build_args)
    with closing(provider), pytest.raises(paywire.PaywireError) as caught:
        provider.charge_payment_method(
            paywire.SavedPaymentMethod("stripe", "pm_1", "cus_1"),
            paywire.Money("10", "USD"),
            idempotency_key="op-key-1",
        )
    return caught.value


RATE = "rate_limit"

# (status, error body, expected class, expected raw_code)
CHARGE_ERRORS: list[tuple[int, dict[str, Any], type[paywire.ProviderError], str | None]] = [
    (
        402,
        {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline"},
        paywire.CardDeclined,
        "generic_decline",
    ),
    (
        402,
        {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
        paywire.CardDeclined,
        "insufficient_funds",
    ),
    (
        402,
        {"type": "card_error", "code": "expired_card", "decline_code": "expired_card"},
        paywire.PaymentMethodExpired,
        "expired_card",
    ),
    (
        402,
        {"type": "card_error", "code": "card_declined", "decline_code": "expired_card"},
        paywire.PaymentMethodExpired,
        "expired_card",
    ),
    (
        402,
        {
            "type": "card_error",
            "code": "authentication_required",
            "decline_code": "authentication_required",
        },
        paywire.AuthenticationRequired,
        "authentication_required",
    ),
    (
        402,
        {"type": "card_error", "code": "card_declined", "decline_code": "authentication_required"},
        paywire.AuthenticationRequired,
        "authentication_required",
    ),
    (
        400,
        {"type": "invalid_request_error", "code": "resource_missing", "param": "payment_method"},
        paywire.NotFound,
        "resource_missing",
    ),
    (404, {"type": "invalid_request_error"}, paywire.NotFound, "invalid_request_error"),
    (
        400,
        {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used"},
        paywire.InvalidRequest,
        "idempotency_error",
    ),
    (
        400,
        {"type": "invalid_request_error", "code": "amount_too_small"},
        paywire.InvalidRequest,
        "amount_too_small",
    ),
    (
        400,
        {"type": "invalid_request_error", "code": "amount_too_large"},
        paywire.InvalidRequest,
        "amount_too_large",
    ),
    (401, {"type": "invalid_request_error"}, paywire.AuthenticationFailed, "invalid_request_error"),
    (403, {"type": "invalid_request_error"}, paywire.AuthenticationFailed, "invalid_request_error"),
    (
        429,
        {"type": "invalid_request_error", "code": "rate_limit"},
        paywire.RateLimited,
        "rate_limit",
    ),
    (
        400,
        {"type": "invalid_request_error", "code": "rate_limit"},
        paywire.RateLimited,
        "rate_limit",
    ),
    (500, {"type": "api_error"}, paywire.OutcomeUnknown, "api_error"),
    (503, {}, paywire.OutcomeUnknown, None),
]


@pytest.mark.parametrize(("status", "error", "expected", "raw_code"), CHARGE_ERRORS)
def test_charge_errors_map_onto_the_hierarchy(
    fake: FakeStripe,
    status: int,
    error: dict[str, Any],
    expected: type[paywire.ProviderError],
    raw_code: str | None,
) -> None:
    error.setdefault("message", "Stripe says no")
    raised = _charge(fake, stripe_error(status, **error), max_attempts=1)
    assert type(raised) is expected
    assert isinstance(raised, paywire.ProviderError)
    assert raised.provider == "stripe"
    assert raised.raw_code == raw_code
    assert raised.http_status == status
    assert raised.request_id == "req_unit123"
    assert raised.message == error["message"]


def test_a_retryable_decline_says_so(fake: FakeStripe) -> None:
    raised = _charge(
        fake,
        stripe_error(
            402,
            type="card_error",
            code="processing_error",
            decline_code="processing_error",
            message="An error occurred while processing your card.",
        ),
    )
    assert isinstance(raised, paywire.CardDeclined)
    assert raised.retryable
    plain = _charge(
        FakeStripe(), stripe_error(402, type="card_error", code="card_declined", message="no")
    )
    assert isinstance(plain, paywire.CardDeclined)
    assert not plain.retryable


def test_server_errors_are_retried_with_the_same_key_then_outcome_unknown(
    fake: FakeStripe,
) -> None:
    fake.on("POST", CHARGE_PATH, stripe_error(500, type="api_error", message="boom"))
    provider, sleeps = build(fake, max_attempts=3)
    with closing(provider), pytest.raises(paywire.OutcomeUnknown) as caught:
        provider.charge_payment_method(
            paywire.SavedPaymentMethod("stripe", "pm_1"),
            paywire.Money("10", "USD"),
            idempotency_key="op-key-1",
        )
    sent = fake.sent("POST", CHARGE_PATH)
    assert len(sent) == 3
    assert {r.headers["Idempotency-Key"] for r in sent} == {"op-key-1"}
    assert len(sleeps) == 2
    assert caught.value.idempotency_key == "op-key-1"
    assert caught.value.retryable


def test_a_get_that_fails_with_5xx_is_provider_unavailable(fake: FakeStripe) -> None:
    fake.on("GET", "/v1/payment_methods/pm_1", stripe_error(502, type="api_error", message="x"))
    provider, sleeps = build(fake, max_attempts=2)
    with closing(provider), pytest.raises(paywire.ProviderUnavailable):
        provider.get_payment_method_details("pm_1")
    assert len(fake.requests) == 2
    assert len(sleeps) == 1


def test_rate_limit_carries_retry_after(fake: FakeStripe) -> None:
    response = stripe_error(429, type="invalid_request_error", code="rate_limit", message="slow")
    response.headers["Retry-After"] = "120"
    raised = _charge(fake, response)
    assert isinstance(raised, paywire.RateLimited)
    assert raised.retry_after == 120.0
    # 120 s is longer than the policy waits, so it was not retried.
    assert len(fake.requests) == 1


def test_a_transport_failure_after_sending_is_outcome_unknown_with_the_operation_key(
    fake: FakeStripe,
) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/customers":
            return stripe_json(200, {"id": "cus_new", "object": "customer"})
        raise httpx.ReadTimeout("timed out", request=request)

    fake.on("POST", "/v1/customers", drop)
    fake.on("POST", "/v1/checkout/sessions", drop)
    provider, _ = build(fake, max_attempts=2)
    invoice = paywire.Invoice(
        id="INV-9",
        currency="USD",
        line_items=[paywire.LineItem("Plan", paywire.Money("5", "USD"))],
        customer=paywire.Customer(id="u1", email="u1@example.com"),
    )
    with closing(provider), pytest.raises(paywire.OutcomeUnknown) as caught:
        provider.create_checkout_session(
            invoice, success_url="https://e/ok", cancel_url="https://e/no", idempotency_key="k-7"
        )
    assert caught.value.idempotency_key == "k-7"
    sessions = fake.sent("POST", "/v1/checkout/sessions")
    assert [r.headers["Idempotency-Key"] for r in sessions] == ["k-7", "k-7"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("charge_already_refunded", paywire.AlreadyRefunded),
        ("amount_too_large", paywire.AlreadyRefunded),
        ("resource_missing", paywire.NotFound),
        ("parameter_invalid_integer", paywire.InvalidRequest),
    ],
)
def test_refund_errors(fake: FakeStripe, code: str, expected: type[paywire.ProviderError]) -> None:
    fake.on(
        "POST",
        REFUND_PATH,
        stripe_error(400, type="invalid_request_error", code=code, message="refund refused"),
    )
    provider, _ = build(fake)
    with closing(provider), pytest.raises(expected) as caught:
        provider.create_refund("pi_1")
    assert caught.value.raw_code == code


def test_an_error_body_that_is_not_json_still_maps_by_status() -> None:
    request = httpx.Request("POST", "https://api.stripe.com/v1/refunds")
    response = httpx.Response(402, content=b"<html>oops</html>", request=request)
    error = error_from_response(response, operation="refund")
    assert isinstance(error, paywire.CardDeclined)
    assert error.raw_code is None
    assert error.message == "Stripe answered HTTP 402"


@pytest.mark.parametrize("body", [b"[1,2]", b'{"error": "x"}', b"\xff\xfe", b"null", b"[" * 5000])
def test_odd_error_bodies_never_crash_the_mapping(body: bytes) -> None:
    request = httpx.Request("GET", "https://api.stripe.com/v1/payment_methods/pm_1")
    error = error_from_response(httpx.Response(400, content=body, request=request))
    assert isinstance(error, paywire.InvalidRequest)


def test_no_secret_in_an_authentication_error(
    fake: FakeStripe, caplog: pytest.LogCaptureFixture
) -> None:
    # Stripe echoes (part of) a bad key; neither it nor the configured key may surface.
    message = f"Invalid API Key provided: {API_KEY}"
    caplog.set_level(logging.DEBUG)
    raised = _charge(
        fake, stripe_error(401, type="invalid_request_error", message=message), max_attempts=1
    )
    assert isinstance(raised, paywire.AuthenticationFailed)
    for text in (str(raised), repr(raised), raised.message, caplog.text):
        assert API_KEY not in text
    assert "[REDACTED]" in raised.message


def test_a_key_with_no_recognisable_shape_is_redacted_too(fake: FakeStripe) -> None:
    odd_key = "plainsecretvalue42"
    raised = _charge(
        fake,
        stripe_error(401, type="invalid_request_error", message=f"bad key {odd_key}"),
        api_key=odd_key,
    )
    assert odd_key not in str(raised)
    assert odd_key not in repr(raised)
