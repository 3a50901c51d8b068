"""PayPal error bodies → paywire's error hierarchy."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paypal_fakes import paypal_error

import paywire
from paywire_paypal import error_from_response


def _response(status: int, body: object, method: str = "POST") -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(
        status,
        content=content,
        headers={"Paypal-Debug-Id": "header-debug-id"},
        request=httpx.Request(method, "https://api-m.paypal.com/v2/checkout/orders"),
    )


def _map(status: int, body: object, method: str = "POST") -> paywire.ProviderError:
    return error_from_response(
        _response(status, body, method),
        provider="paypal",
        request_id_header="Paypal-Debug-Id",
        idempotency_key="key-1",
    )


@pytest.mark.parametrize(
    ("status", "issue", "expected"),
    [
        (422, "INSTRUMENT_DECLINED", paywire.CardDeclined),
        (422, "TRANSACTION_REFUSED", paywire.CardDeclined),
        (422, "CARD_EXPIRED", paywire.PaymentMethodExpired),
        (422, "AGREEMENT_ALREADY_CANCELLED", paywire.PaymentMethodExpired),
        (422, "PAYER_ACTION_REQUIRED", paywire.AuthenticationRequired),
        (422, "CAPTURE_FULLY_REFUNDED", paywire.AlreadyRefunded),
        (422, "REFUND_AMOUNT_EXCEEDED", paywire.AlreadyRefunded),
        (422, "REFUND_TIME_LIMIT_EXCEEDED", paywire.InvalidRequest),
        (422, "DUPLICATE_INVOICE_ID", paywire.InvalidRequest),
        (400, "INVALID_PARAMETER_VALUE", paywire.InvalidRequest),
        (404, "INVALID_RESOURCE_ID", paywire.NotFound),
        (401, None, paywire.AuthenticationFailed),
        (403, "PERMISSION_DENIED", paywire.AuthenticationFailed),
        (409, "PREVIOUS_REQUEST_IN_PROGRESS", paywire.OutcomeUnknown),
        (429, None, paywire.RateLimited),
        (500, "INTERNAL_SERVICE_ERROR", paywire.OutcomeUnknown),
        (503, None, paywire.OutcomeUnknown),
    ],
)
def test_issue_and_status_decide_the_class(
    status: int, issue: str | None, expected: type[paywire.ProviderError]
) -> None:
    error = _map(status, paypal_error(status, issue, name="SOME_NAME"))
    assert type(error) is expected
    assert error.raw_code == (issue or "SOME_NAME")
    assert error.request_id == "f00dfeed1234"  # the body's debug_id wins over the header
    assert error.http_status == status
    assert error.provider == "paypal"


def test_5xx_on_a_safe_request_is_unavailable() -> None:
    assert type(_map(500, paypal_error(500, None), method="GET")) is paywire.ProviderUnavailable


def test_outcome_unknown_carries_the_key() -> None:
    error = _map(409, paypal_error(409, "PREVIOUS_REQUEST_IN_PROGRESS"))
    assert isinstance(error, paywire.OutcomeUnknown)
    assert error.idempotency_key == "key-1"
    assert error.retryable


def test_rate_limit_reads_retry_after() -> None:
    response = httpx.Response(
        429,
        json={"name": "RATE_LIMIT_REACHED", "message": "Too many requests"},
        headers={"Retry-After": "7"},
        request=httpx.Request("POST", "https://api-m.paypal.com/v2/checkout/orders"),
    )
    error = error_from_response(response, provider="paypal", request_id_header="Paypal-Debug-Id")
    assert isinstance(error, paywire.RateLimited)
    assert error.retry_after == 7.0
    assert error.raw_code == "RATE_LIMIT_REACHED"


def test_message_keeps_paypal_words_and_issue_description() -> None:
    error = _map(422, paypal_error(422, "INSTRUMENT_DECLINED"))
    assert "could not be performed" in error.message
    assert "INSTRUMENT_DECLINED happened" in error.message


def test_header_debug_id_when_body_has_none() -> None:
    error = _map(404, b"not json at all")
    assert isinstance(error, paywire.NotFound)
    assert error.request_id == "header-debug-id"
    assert error.raw_code is None


def test_secrets_in_paypal_message_are_redacted() -> None:
    body = {"name": "INVALID_REQUEST", "message": "bad secret top-secret-value-123 given"}
    error = error_from_response(
        _response(400, body),
        provider="paypal",
        request_id_header="Paypal-Debug-Id",
        secrets=[paywire.Secret("top-secret-value-123")],
    )
    assert "top-secret-value-123" not in str(error) + repr(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


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
    error = _map(status, body)
    assert isinstance(error, paywire.ProviderError)
    assert error.http_status == status
    assert error.raw_code is None or isinstance(error.raw_code, str)
