"""PayPal error bodies → paywire's error hierarchy, through the kernel: :func:`read_error`
reads the body, ``ERROR_RULES`` pick the class, the kernel handles statuses and keys."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paypal_fakes import FakePayPal, build, paypal_error

import paywire
from paywire import plugin
from paywire_paypal._errors import read_error, retry_advice

ORDERS = "/v2/checkout/orders"
METHOD = paywire.SavedPaymentMethod("paypal", "tok1")


def _charge_error(fake: FakePayPal, status: int, body: object, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    fake.on(
        "POST",
        ORDERS,
        lambda r: httpx.Response(
            status, content=content, headers={"Paypal-Debug-Id": "header-debug-id", **headers}
        ),
    )
    provider = build(fake)
    try:
        with pytest.raises(paywire.ProviderError) as caught:
            provider.charge_payment_method(METHOD, paywire.Money("1", "USD"), idempotency_key="k1")
    finally:
        provider.close()
    return caught.value


@pytest.mark.parametrize(
    ("status", "issue", "expected"),
    [
        (422, "INSTRUMENT_DECLINED", paywire.CardDeclined),
        (422, "TRANSACTION_REFUSED", paywire.CardDeclined),
        (422, "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR", paywire.CardDeclined),
        (422, "CARD_EXPIRED", paywire.PaymentMethodExpired),
        (422, "AGREEMENT_ALREADY_CANCELLED", paywire.PaymentMethodExpired),
        (422, "PAYER_ACTION_REQUIRED", paywire.AuthenticationRequired),
        (422, "CAPTURE_FULLY_REFUNDED", paywire.AlreadyRefunded),
        (422, "REFUND_AMOUNT_EXCEEDED", paywire.AlreadyRefunded),
        (422, "REFUND_TIME_LIMIT_EXCEEDED", paywire.InvalidRequest),
        (422, "DUPLICATE_INVOICE_ID", paywire.InvalidRequest),
        (400, "INVALID_PARAMETER_VALUE", paywire.InvalidRequest),
        (404, "INVALID_RESOURCE_ID", paywire.NotFound),
        (400, "INVALID_RESOURCE_ID", paywire.NotFound),
        (401, None, paywire.AuthenticationFailed),
        (403, "PERMISSION_DENIED", paywire.AuthenticationFailed),
        (429, None, paywire.RateLimited),
        (500, "INTERNAL_SERVICE_ERROR", paywire.OutcomeUnknown),
        (503, None, paywire.OutcomeUnknown),
    ],
)
def test_issue_and_status_decide_the_class(
    fake: FakePayPal, status: int, issue: str | None, expected: type[paywire.ProviderError]
) -> None:
    error = _charge_error(fake, status, paypal_error(status, issue, name="SOME_NAME"))
    assert type(error) is expected
    assert error.raw_code == (issue or "SOME_NAME")
    assert error.request_id == "header-debug-id"
    assert error.http_status == status
    assert error.provider == "paypal"
    if isinstance(error, paywire.OutcomeUnknown):
        assert error.idempotency_key == "k1"


def test_the_issue_outranks_the_name(fake: FakePayPal) -> None:
    # A decline is a decline whatever PayPal calls the error as a whole.
    body = paypal_error(422, "INSTRUMENT_DECLINED", name="CAPTURE_FULLY_REFUNDED")
    assert type(_charge_error(fake, 422, body)) is paywire.CardDeclined


def test_5xx_on_a_safe_request_is_unavailable(fake: FakePayPal) -> None:
    fake.answer("GET", "/v3/vault/payment-tokens/tok1", 500, paypal_error(500, None))
    provider = build(fake)
    with pytest.raises(paywire.ProviderUnavailable):
        provider.get_payment_method_details("tok1")


def test_rate_limit_reads_retry_after(fake: FakePayPal) -> None:
    body = {"name": "RATE_LIMIT_REACHED", "message": "Too many requests"}
    error = _charge_error(fake, 429, body, **{"Retry-After": "7"})
    assert isinstance(error, paywire.RateLimited)
    assert error.retry_after == 7.0
    assert error.raw_code == "RATE_LIMIT_REACHED"


def test_message_keeps_paypal_words_and_issue_description(fake: FakePayPal) -> None:
    error = _charge_error(fake, 422, paypal_error(422, "INSTRUMENT_DECLINED"))
    assert "could not be performed" in error.message
    assert "INSTRUMENT_DECLINED: INSTRUMENT_DECLINED happened" in error.message


def test_unreadable_error_body(fake: FakePayPal) -> None:
    error = _charge_error(fake, 404, b"not json at all")
    assert type(error) is paywire.NotFound
    assert error.request_id == "header-debug-id"
    assert error.raw_code is None


def test_secrets_in_paypal_message_are_redacted(fake: FakePayPal) -> None:
    from paypal_fakes import CLIENT_SECRET

    body = {"name": "INVALID_REQUEST", "message": f"bad secret {CLIENT_SECRET} given"}
    error = _charge_error(fake, 400, body)
    assert CLIENT_SECRET not in str(error) + repr(error) + error.message


def _reply(body: object, status: int = 422) -> plugin.Reply:
    return plugin.Reply(status=status, headers={}, content=b"", data=body)


def test_read_error_of_paypal_and_oauth_bodies() -> None:
    info = read_error(
        _reply(
            {
                "name": "UNPROCESSABLE_ENTITY",
                "message": "The requested action could not be performed.",
                "details": [
                    {"field": "/x"},
                    {"issue": "PAYER_ACTION_REQUIRED", "description": "Bring the payer."},
                    {"issue": "OTHER"},
                ],
                "links": [
                    {"href": "https://developer.paypal.com/#errors", "rel": "information_link"},
                    {"href": "https://www.paypal.com/checkoutnow?token=O1", "rel": "payer-action"},
                ],
            }
        )
    )
    assert info.code == "PAYER_ACTION_REQUIRED"
    assert info.all_codes() == {"PAYER_ACTION_REQUIRED"}  # the first issue decides
    assert info.message == (
        "The requested action could not be performed. PAYER_ACTION_REQUIRED: Bring the payer."
    )
    assert info.action_url == "https://www.paypal.com/checkoutnow?token=O1"
    oauth = read_error(_reply({"error": "invalid_token", "error_description": "expired"}, 401))
    assert (oauth.code, oauth.message) == ("invalid_token", "expired")
    assert read_error(_reply(None)) == plugin.ErrorInfo()
    assert read_error(_reply([1, 2])) == plugin.ErrorInfo()


def _response(status: int, body: bytes) -> httpx.Response:
    return httpx.Response(status, content=body)


def test_retry_advice_only_for_a_request_still_in_progress() -> None:
    busy = json.dumps(paypal_error(409, "PREVIOUS_REQUEST_IN_PROGRESS")).encode()
    assert retry_advice(_response(409, busy)) is True
    other = json.dumps(paypal_error(409, "RESOURCE_CONFLICT")).encode()
    assert retry_advice(_response(409, other)) is None
    assert retry_advice(_response(409, b"{not json")) is None
    assert retry_advice(_response(422, busy)) is None
    assert retry_advice(_response(201, b"{}")) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    status=st.integers(400, 599),
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"name": json_values, "message": json_values, "details": json_values}
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_any_error_body_maps_to_a_provider_error(status: int, body: bytes) -> None:
    error = _charge_error(FakePayPal(), status, body)
    assert isinstance(error, paywire.ProviderError)
    assert error.http_status == status
    assert error.raw_code is None or isinstance(error.raw_code, str)
    assert isinstance(error.message, str)
    assert error.message


@given(body=json_values)
def test_read_error_never_raises(body: object) -> None:
    info = read_error(_reply(body))
    assert info.code is None or info.code in info.all_codes()
