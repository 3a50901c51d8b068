"""Razorpay's error answers mapped onto paywire's hierarchy by the plugin's error table (run by
the kernel), raw codes kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from razorpay_helpers import METHOD, build_provider, call, charge_routes

import paywire
from paywire.plugin import Reply
from paywire_razorpay import ERROR_RULES, RazorpayProvider, error_from_payment

_TOKEN_PATH = "/v1/customers/cust_Abc123/tokens/token_Def456"


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


def _answer(
    router: respx.Router, operation: str, response: httpx.Response
) -> Callable[[RazorpayProvider, str], Any]:
    """Route ``operation``'s request to ``response``; return how to make that request."""
    if operation == "refund":
        router.post("/v1/payments/pay_P1/refund").mock(return_value=response)
        return lambda provider, mode: call(provider, mode, "create_refund", "pay_P1")
    if operation == "token":
        router.get(_TOKEN_PATH).mock(return_value=response)
        return lambda provider, mode: call(provider, mode, "get_payment_method_details", METHOD)
    charge_routes(router)["recurring"].mock(return_value=response)
    router.get("/v1/orders/order_O1/payments").respond(200, json={"items": []})
    amount = paywire.Money("12.34", "INR")
    return lambda provider, mode: call(provider, mode, "charge_payment_method", METHOD, amount)


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
        (400, _error(description="The id provided does not exist"), "refund", paywire.NotFound,
         "BAD_REQUEST_ERROR"),
        (403, _error(description="Access forbidden for this key"), "token",
         paywire.AuthenticationFailed, "BAD_REQUEST_ERROR"),
    ],
)  # fmt: skip
def test_mapping(
    router: respx.Router,
    provider: RazorpayProvider,
    mode: str,
    status: int,
    body: dict[str, Any],
    operation: str,
    expected: type[paywire.ProviderError],
    raw_code: str,
) -> None:
    make = _answer(router, operation, httpx.Response(status, json=body))
    with pytest.raises(paywire.ProviderError) as caught:
        make(provider, mode)
    error = caught.value
    assert type(error) is expected
    assert error.raw_code == raw_code
    assert error.provider == "razorpay"
    assert error.http_status == status
    assert error.message == body["error"]["description"]


def test_an_authentication_failure_names_the_payment(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    body = _error(
        description="could not be authenticated",
        reason="authentication_failed",
        metadata={"payment_id": "pay_A1", "order_id": "order_O1"},
    )
    make = _answer(router, "charge", httpx.Response(400, json=body))
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        make(provider, mode)
    assert caught.value.transaction_id == "pay_A1"
    assert caught.value.action_url is None


def test_a_server_error_on_a_read_is_unavailable_not_unknown(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    make = _answer(router, "token", httpx.Response(503, json=_error(code="SERVER_ERROR")))
    with pytest.raises(paywire.ProviderUnavailable):
        make(provider, mode)


def test_a_5xx_on_a_write_carries_the_operations_key(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.post("/v1/payments/pay_P1/refund").respond(500, content=b"<html>oops</html>")
    with pytest.raises(paywire.OutcomeUnknown) as caught:
        call(provider, mode, "create_refund", "pay_P1", idempotency_key="key-123456")
    assert caught.value.idempotency_key == "key-123456"
    assert caught.value.retryable


def test_rate_limit_reads_retry_after(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    limited = httpx.Response(429, json=_error(), headers={"Retry-After": "70"})
    make = _answer(router, "token", limited)
    with pytest.raises(paywire.RateLimited) as caught:
        make(provider, mode)
    assert caught.value.retry_after == 70.0


@pytest.mark.parametrize(
    ("reason", "retryable"), [("payment_timed_out", True), ("card_declined", False)]
)
def test_declines_that_may_pass_later_are_retryable(
    router: respx.Router, provider: RazorpayProvider, mode: str, reason: str, retryable: bool
) -> None:
    make = _answer(router, "charge", httpx.Response(400, json=_error(reason=reason)))
    with pytest.raises(paywire.CardDeclined) as caught:
        make(provider, mode)
    assert caught.value.retryable is retryable


@pytest.mark.parametrize(
    ("description", "retryable"),
    [
        ("Request is being processed", True),
        ("Different request with the same idempotency key has already been processed.", False),
    ],
)
def test_idempotency_key_in_use_is_retryable_but_a_different_body_is_not(
    router: respx.Router,
    provider: RazorpayProvider,
    mode: str,
    description: str,
    retryable: bool,
) -> None:
    make = _answer(router, "refund", httpx.Response(409, json=_error(description=description)))
    with pytest.raises(paywire.InvalidRequest) as caught:
        make(provider, mode)
    assert caught.value.retryable is retryable


def test_messages_are_redacted(router: respx.Router) -> None:
    secret = "a-secret-value-1234"
    live_key = "rzp_" + "live_AbCdEf123456"  # built at run time: scanners flag the literal
    provider = build_provider(httpx.MockTransport(router.handler), key_secret=secret)
    body = _error(description=f"bad key {live_key} and {secret}")
    make = _answer(router, "refund", httpx.Response(400, json=body))
    try:
        with pytest.raises(paywire.InvalidRequest) as caught:
            make(provider, "sync")
    finally:
        provider.close()
    assert secret not in str(caught.value)
    assert live_key not in repr(caught.value)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("card_expired", paywire.PaymentMethodExpired),
        ("authentication_failed", paywire.AuthenticationRequired),
        ("insufficient_funds", paywire.CardDeclined),
        ("something_new", paywire.CardDeclined),
        (None, paywire.CardDeclined),
    ],
)
def test_failed_payment_entity_maps_like_an_error_answer(
    reason: str | None, expected: type[paywire.ProviderError]
) -> None:
    error = error_from_payment(
        {
            "id": "pay_F1",
            "status": "failed",
            "error_code": "BAD_REQUEST_ERROR",
            "error_reason": reason,
            "error_description": "Your card has expired",
        }
    )
    assert type(error) is expected
    assert error.raw_code == (reason or "BAD_REQUEST_ERROR")
    if isinstance(error, paywire.AuthenticationRequired):
        assert error.transaction_id == "pay_F1"


def test_the_table_reads_reasons_before_wording() -> None:
    """A decline whose wording also says "does not exist" is still a decline."""
    provider = build_provider()
    try:
        body = _error(description="The card does not exist", reason="card_declined")
        info = provider.read_error(Reply(400, {}, json.dumps(body).encode(), data=body))
    finally:
        provider.close()
    first = next(rule for rule in ERROR_RULES if rule.matches(info, 400, "charge"))
    assert first.error is paywire.CardDeclined


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    status=st.integers(400, 599).filter(lambda s: s != 429),
    body=st.one_of(
        st.binary(max_size=200),
        _json_values.map(lambda value: json.dumps(value).encode()),
        st.dictionaries(
            st.sampled_from(["code", "description", "reason", "source", "step", "metadata"]),
            _json_values,
        ).map(lambda error: json.dumps({"error": error}).encode()),
    ),
    operation=st.sampled_from(["charge", "refund", "token"]),
)
def test_any_error_answer_maps_to_a_provider_error(
    status: int, body: bytes, operation: str
) -> None:
    router = respx.Router(base_url="https://api.razorpay.com", assert_all_called=False)
    provider = build_provider(httpx.MockTransport(router.handler), max_attempts=1)
    make = _answer(router, operation, httpx.Response(status, content=body))
    try:
        with pytest.raises(paywire.ProviderError) as caught:
            make(provider, "sync")
    finally:
        provider.close()
    error = caught.value
    assert error.provider == "razorpay"
    assert error.message
