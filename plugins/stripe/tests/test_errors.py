"""Stripe's error answers → paywire's hierarchy (the plugin's error table, run by the kernel), and
Stripe's own retry advice (``Stripe-Should-Retry``)."""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Any

import httpx
import pytest
from stripe_fakes import API_KEY, FakeStripe, Runner, build, stripe_error, stripe_json

import paywire

CHARGE_PATH = "/v1/payment_intents"
REFUND_PATH = "/v1/refunds"
METHOD = paywire.SavedPaymentMethod("stripe", "pm_1", "cus_1")


def _charge(
    fake: FakeStripe, response: httpx.Response, run: Runner | None = None, **build_args: Any
) -> paywire.PaywireError:
    fake.on("POST", CHARGE_PATH, response)
    provider, _ = build(fake, **build_args)
    runner = run or Runner("sync")
    with closing(provider), pytest.raises(paywire.PaywireError) as caught:
        runner(
            provider,
            "charge_payment_method",
            METHOD,
            paywire.Money("10", "USD"),
            idempotency_key="op-key-1",
        )
    return caught.value


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
    (400, {"type": "card_error", "code": "incorrect_cvc"}, paywire.CardDeclined, "incorrect_cvc"),
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
    (404, {"type": "card_error", "code": "card_declined"}, paywire.NotFound, "card_declined"),
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
    (
        401,
        {"type": "invalid_request_error", "code": "resource_missing"},
        paywire.AuthenticationFailed,
        "resource_missing",
    ),
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
    run: Runner,
    status: int,
    error: dict[str, Any],
    expected: type[paywire.ProviderError],
    raw_code: str | None,
) -> None:
    error = {"message": "Stripe says no", **error}
    raised = _charge(fake, stripe_error(status, **error), run, max_attempts=1)
    assert type(raised) is expected
    assert isinstance(raised, paywire.ProviderError)
    assert raised.provider == "stripe"
    assert raised.raw_code == raw_code
    assert raised.http_status == status
    assert raised.request_id == "req_unit123"
    assert raised.message == error["message"]


def test_authentication_required_names_the_payment_intent(fake: FakeStripe, run: Runner) -> None:
    # Issue 13: the PaymentIntent in Stripe's error body was dropped. An off-session decline
    # offers no page (the intent waits for a new payment method): action_url stays None.
    intent = {
        "id": "pi_3Needsauth",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "next_action": None,
    }
    raised = _charge(
        fake,
        stripe_error(
            402,
            type="card_error",
            code="authentication_required",
            decline_code="authentication_required",
            message="This payment requires authentication.",
            payment_intent=intent,
            charge="ch_3Needsauth",
        ),
        run,
    )
    assert isinstance(raised, paywire.AuthenticationRequired)
    assert raised.transaction_id == "pi_3Needsauth"
    assert raised.action_url is None


def test_authentication_required_carries_the_page_stripe_gives(fake: FakeStripe) -> None:
    page = "https://hooks.stripe.com/redirect/authenticate/src_1"
    intent = {
        "id": "pi_3Redirect",
        "object": "payment_intent",
        "status": "requires_action",
        "next_action": {"type": "redirect_to_url", "redirect_to_url": {"url": page}},
    }
    raised = _charge(
        fake,
        stripe_error(402, type="card_error", code="authentication_required", payment_intent=intent),
    )
    assert isinstance(raised, paywire.AuthenticationRequired)
    assert (raised.transaction_id, raised.action_url) == ("pi_3Redirect", page)


def test_a_stripe_sdk_challenge_is_no_page() -> None:
    from paywire.plugin import Reply
    from paywire_stripe._errors import read_error

    # Stripe.js runs that challenge in the app's own page: there is nowhere to send the customer.
    challenge = {
        "type": "stripe_3ds2_fingerprint",
        "stripe_js": "https://hooks.stripe.com/3d_secure_2/fingerprint/acct_1/pi_1",
    }
    intent = {"id": "pi_1", "next_action": {"type": "use_stripe_sdk", "use_stripe_sdk": challenge}}
    info = read_error(Reply(402, {}, b"", data={"error": {"payment_intent": intent}}))
    assert (info.transaction_id, info.action_url) == ("pi_1", None)
    info = read_error(Reply(402, {}, b"", data={"error": {"setup_intent": "seti_1"}}))
    assert (info.transaction_id, info.action_url) == ("seti_1", None)


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
    fake: FakeStripe, run: Runner
) -> None:
    fake.on("POST", CHARGE_PATH, stripe_error(500, type="api_error", message="boom"))
    provider, sleeps = build(fake, max_attempts=3)
    with closing(provider), pytest.raises(paywire.OutcomeUnknown) as caught:
        run(
            provider,
            "charge_payment_method",
            METHOD,
            paywire.Money("10", "USD"),
            idempotency_key="op-key-1",
        )
    sent = fake.sent("POST", CHARGE_PATH)
    assert len(sent) == 3
    assert {r.headers["Idempotency-Key"] for r in sent} == {"op-key-1"}
    assert len(sleeps) == 2
    assert caught.value.idempotency_key == "op-key-1"
    assert caught.value.retryable


def test_stripe_should_retry_false_stops_the_retries(fake: FakeStripe, run: Runner) -> None:
    fake.on(
        "POST",
        CHARGE_PATH,
        stripe_error(500, {"Stripe-Should-Retry": "false"}, type="api_error", message="no"),
    )
    provider, sleeps = build(fake, max_attempts=3)
    with closing(provider), pytest.raises(paywire.OutcomeUnknown):
        run(provider, "charge_payment_method", METHOD, paywire.Money("10", "USD"))
    assert len(fake.sent("POST", CHARGE_PATH)) == 1
    assert sleeps == []


def test_stripe_should_retry_true_retries_what_the_policy_would_not(
    fake: FakeStripe, run: Runner
) -> None:
    answers = [
        stripe_error(
            400, {"Stripe-Should-Retry": "true"}, type="invalid_request_error", message="lock"
        ),
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
    ]
    fake.on("POST", CHARGE_PATH, lambda _request: answers.pop(0))
    provider, sleeps = build(fake, max_attempts=3)
    with closing(provider):
        result = run(
            provider,
            "charge_payment_method",
            METHOD,
            paywire.Money("10", "USD"),
            idempotency_key="k-lock",
        )
    assert result.status is paywire.PaymentStatus.SUCCEEDED
    assert [r.headers["Idempotency-Key"] for r in fake.requests] == ["k-lock", "k-lock"]
    assert len(sleeps) == 1


def test_a_409_for_a_key_still_in_use_is_retried(fake: FakeStripe) -> None:
    fake.on(
        "POST",
        CHARGE_PATH,
        stripe_error(
            409,
            type="idempotency_error",
            code="idempotency_key_in_use",
            message="There is currently another in-progress request using this Idempotent Key.",
        ),
    )
    provider, sleeps = build(fake, max_attempts=2)
    with closing(provider), pytest.raises(paywire.InvalidRequest) as caught:
        provider.charge_payment_method(METHOD, paywire.Money("10", "USD"))
    assert len(fake.requests) == 2  # retried once, as Stripe advises for 409
    assert len(sleeps) == 1
    assert caught.value.raw_code == "idempotency_key_in_use"


@pytest.mark.parametrize(
    ("headers", "status", "advice"),
    [
        ({"Stripe-Should-Retry": "true"}, 400, True),
        ({"Stripe-Should-Retry": "false"}, 503, False),
        ({"Stripe-Should-Retry": "False"}, 409, False),
        ({}, 409, True),
        ({}, 500, None),
        ({}, 402, None),
    ],
)
def test_retry_advice(headers: dict[str, str], status: int, advice: bool | None) -> None:
    from paywire_stripe import StripeProvider

    assert StripeProvider.retry_advice(httpx.Response(status, headers=headers)) is advice


def test_a_get_that_fails_with_5xx_is_provider_unavailable(fake: FakeStripe, run: Runner) -> None:
    fake.on("GET", "/v1/payment_methods/pm_1", stripe_error(502, type="api_error", message="x"))
    provider, sleeps = build(fake, max_attempts=2)
    with closing(provider), pytest.raises(paywire.ProviderUnavailable):
        run(provider, "get_payment_method_details", "pm_1")
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
    fake: FakeStripe, run: Runner
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
        run(
            provider,
            "create_checkout_session",
            invoice,
            success_url="https://e/ok",
            cancel_url="https://e/no",
            idempotency_key="k-7",
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
def test_refund_errors(
    fake: FakeStripe, run: Runner, code: str, expected: type[paywire.ProviderError]
) -> None:
    fake.on(
        "POST",
        REFUND_PATH,
        stripe_error(400, type="invalid_request_error", code=code, message="refund refused"),
    )
    provider, _ = build(fake)
    with closing(provider), pytest.raises(expected) as caught:
        run(provider, "create_refund", "pi_1")
    assert caught.value.raw_code == code


@pytest.mark.parametrize("body", [b"[1,2]", b'{"error": "x"}', b"\xff\xfe", b"null", b"[" * 5000])
def test_odd_error_bodies_map_by_status(fake: FakeStripe, body: bytes) -> None:
    fake.on("POST", CHARGE_PATH, httpx.Response(402, content=body))
    fake.on("GET", "/v1/payment_methods/pm_1", httpx.Response(400, content=body))
    provider, _ = build(fake)
    with closing(provider):
        with pytest.raises(paywire.CardDeclined) as declined:
            provider.charge_payment_method(METHOD, paywire.Money("1", "USD"))
        with pytest.raises(paywire.InvalidRequest):
            provider.get_payment_method_details("pm_1")
    assert declined.value.raw_code is None
    assert declined.value.message == "stripe answered HTTP 402"


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


# -- the names of paywire-stripe 0.1 ------------------------------------------------------------


def test_error_from_response_still_maps_with_a_deprecation_warning() -> None:
    with pytest.warns(paywire.PaywireDeprecationWarning, match="error_from_response"):
        from paywire_stripe import error_from_response
    request = httpx.Request("POST", "https://api.stripe.com/v1/refunds")
    secret = "sk_test_" + "s3cr3t" * 4
    response = httpx.Response(
        400,
        json={
            "error": {
                "type": "invalid_request_error",
                "code": "amount_too_large",
                "message": f"too much for {secret}",
            }
        },
        headers={"Request-Id": "req_old"},
        request=request,
    )
    error = error_from_response(response, operation="refund", secrets=[secret])
    assert isinstance(error, paywire.AlreadyRefunded)
    assert (error.raw_code, error.request_id) == ("amount_too_large", "req_old")
    assert secret not in error.message
    other = error_from_response(response)  # not a refund: too large is a plain invalid request
    assert type(other) is paywire.InvalidRequest
    html = httpx.Response(402, content=b"<html>oops</html>", request=request)
    assert isinstance(error_from_response(html), paywire.CardDeclined)


def test_stripe_http_error_is_still_importable_with_a_deprecation_warning() -> None:
    with pytest.warns(paywire.PaywireDeprecationWarning, match="StripeHTTPError"):
        from paywire_stripe import StripeHTTPError
    response = httpx.Response(502, request=httpx.Request("GET", "https://api.stripe.com/v1/x"))
    assert str(StripeHTTPError(response, None)) == "Stripe answered HTTP 502"
