"""Razorpay's error answers mapped onto paywire's hierarchy, raw codes kept."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import paywire
from paywire_razorpay import error_from_payment, error_from_response


def _response(status: int, body: Any, method: str = "POST", **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = httpx.Request(method, "https://api.razorpay.com/v1/payments/create/recurring")
    response = httpx.Response(status, content=content, headers=headers, request=request)
    response.read()
    return response


def _error(
    code: str = "BAD_REQUEST_ERROR",
    description: str = "Something went wrong",
    reason: str = "NA",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "description": description,
            "source": extra.pop("source", "NA"),
            "step": extra.pop("step", "NA"),
            "reason": reason,
            "metadata": extra.pop("metadata", {}),
            **extra,
        }
    }


@pytest.mark.parametrize(
    ("status", "body", "operation", "expected", "raw_code"),
    [
        (401, _error(description="The api key provided is invalid"), "other",
         paywire.AuthenticationFailed, "BAD_REQUEST_ERROR"),
        (429, _error(description="Too many requests"), "charge", paywire.RateLimited,
         "BAD_REQUEST_ERROR"),
        (400, _error(description="The id provided does not exist"), "token", paywire.NotFound,
         "BAD_REQUEST_ERROR"),
        (400, _error(description="Your payment has been declined", reason="card_declined",
                     source="bank", step="payment_authorization"), "charge",
         paywire.CardDeclined, "card_declined"),
        (400, _error(description="insufficient balance", reason="insufficient_funds"), "charge",
         paywire.CardDeclined, "insufficient_funds"),
        (400, _error(description="card has expired", reason="card_expired"), "charge",
         paywire.PaymentMethodExpired, "card_expired"),
        (400, _error(description="Card mandate is not active, it is expired"), "charge",
         paywire.PaymentMethodExpired, "BAD_REQUEST_ERROR"),
        (400, _error(description="could not be authenticated", reason="authentication_failed",
                     step="payment_authentication"), "charge",
         paywire.AuthenticationRequired, "authentication_failed"),
        (400, _error(description="The payment has been fully refunded already"), "refund",
         paywire.AlreadyRefunded, "BAD_REQUEST_ERROR"),
        (400, _error(description="The total refund amount is greater than the refund payment "
                     "amount", field="amount"), "refund", paywire.AlreadyRefunded,
         "BAD_REQUEST_ERROR"),
        (400, _error(description="The amount must be at least INR 1.00.", field="amount"),
         "charge", paywire.InvalidRequest, "BAD_REQUEST_ERROR"),
        (409, _error(description="Different request with the same idempotency key has already "
                     "been processed."), "refund", paywire.InvalidRequest, "BAD_REQUEST_ERROR"),
        (502, _error(code="GATEWAY_ERROR", description="Payment processing failed",
                     reason="gateway_technical_error", source="gateway"), "charge",
         paywire.CardDeclined, "gateway_technical_error"),
        (500, _error(code="SERVER_ERROR", description="We are facing some trouble"), "charge",
         paywire.OutcomeUnknown, "SERVER_ERROR"),
    ],
)  # fmt: skip
def test_mapping(
    status: int,
    body: dict[str, Any],
    operation: Any,
    expected: type[paywire.ProviderError],
    raw_code: str,
) -> None:
    error = error_from_response(_response(status, body), operation=operation)
    assert type(error) is expected
    assert error.raw_code == raw_code
    assert error.provider == "razorpay"
    assert error.http_status == status
    assert error.message == body["error"]["description"]


def test_a_server_error_on_a_read_is_unavailable_not_unknown() -> None:
    response = _response(503, _error(code="SERVER_ERROR"), method="GET")
    assert type(error_from_response(response)) is paywire.ProviderUnavailable


def test_a_5xx_on_a_write_carries_the_operation_key() -> None:
    error = error_from_response(
        _response(500, b"<html>oops</html>"), operation="charge", idempotency_key="key-123456"
    )
    assert isinstance(error, paywire.OutcomeUnknown)
    assert error.idempotency_key == "key-123456"
    assert error.retryable


def test_rate_limit_reads_retry_after() -> None:
    error = error_from_response(_response(429, _error(), **{"Retry-After": "7"}))
    assert isinstance(error, paywire.RateLimited)
    assert error.retry_after == 7.0


def test_declines_that_may_pass_later_are_retryable() -> None:
    timed_out = error_from_response(_response(400, _error(reason="payment_timed_out")))
    declined = error_from_response(_response(400, _error(reason="card_declined")))
    assert timed_out.retryable
    assert not declined.retryable


def test_idempotency_key_in_use_is_retryable_but_a_different_body_is_not() -> None:
    busy = error_from_response(_response(409, _error(description="Request is being processed")))
    reused = error_from_response(
        _response(409, _error(description="Different request with the same idempotency key"))
    )
    assert busy.retryable
    assert not reused.retryable


def test_messages_are_redacted() -> None:
    secret = "a-secret-value-1234"
    live_key = "rzp_" + "live_AbCdEf123456"  # built at run time: scanners flag the literal
    body = _error(description=f"bad key {live_key} and {secret}")
    error = error_from_response(_response(400, body), secrets=[paywire.Secret(secret)])
    assert secret not in str(error)
    assert live_key not in repr(error)


def test_failed_payment_entity_maps_like_an_error_answer() -> None:
    error = error_from_payment(
        {
            "status": "failed",
            "error_code": "BAD_REQUEST_ERROR",
            "error_reason": "card_expired",
            "error_description": "Your card has expired",
        }
    )
    assert type(error) is paywire.PaymentMethodExpired
    assert error.raw_code == "card_expired"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(
    status=st.integers(400, 599),
    body=st.one_of(
        st.binary(max_size=200),
        _json_values.map(lambda value: json.dumps(value).encode()),
        st.dictionaries(
            st.sampled_from(["code", "description", "reason", "source", "step", "field"]),
            _json_values,
        ).map(lambda error: json.dumps({"error": error}).encode()),
    ),
    operation=st.sampled_from(["checkout", "setup", "customer", "charge", "refund", "token"]),
)
def test_any_error_answer_maps_to_a_provider_error(
    status: int, body: bytes, operation: Any
) -> None:
    error = error_from_response(_response(status, body), operation=operation)
    assert isinstance(error, paywire.ProviderError)
    assert error.provider == "razorpay"
    assert error.http_status == status
    assert error.message
