"""The Razorpay fake driven in-process through Starlette's TestClient (no server, no SDK).

A tiny context stands in for the framework: a clock the test moves by hand and a sink that
collects emitted webhook events in order.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount

with warnings.catch_warnings():
    # Starlette 1.x prefers the ``httpx2`` package for its TestClient and warns (an error under
    # ``-W error``) when it falls back to ``httpx``, which is what this environment has.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from paywire_sandbox._fake import SandboxContext, WebhookEndpoint
from paywire_sandbox.razorpay import ACCOUNT_ID, RazorpayFake, card_for_number
from paywire_sandbox.razorpay._timing import RECURRING_DEBIT_DELAY, SETTLE_ALL

KEY_ID = "rzp_test_UnitKey0000001"
KEY_SECRET = "unit-secret-value"
START = 1_800_000_000.0


class FixedClock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: float = START) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


@attrs.frozen
class Emitted:
    provider: str
    event_id: str
    event_type: str
    body: bytes

    @property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


class ListSink:
    """Collects events instead of delivering them."""

    def __init__(self) -> None:
        self.events: list[Emitted] = []

    def emit(self, provider: str, event_id: str, event_type: str, body: bytes) -> None:
        self.events.append(Emitted(provider, event_id, event_type, body))

    def endpoints(self, provider: str) -> Sequence[WebhookEndpoint]:
        return []

    def types(self) -> list[str]:
        return [event.event_type for event in self.events]


@attrs.define
class Env:
    client: TestClient
    clock: FixedClock
    sink: ListSink
    fake: RazorpayFake

    def api(self, method: str, path: str, body: object = None, **kwargs: Any) -> Any:
        return self.client.request(
            method, "/razorpay" + path, json=body, auth=(KEY_ID, KEY_SECRET), **kwargs
        )

    def ok(self, method: str, path: str, body: object = None, **kwargs: Any) -> Any:
        response = self.api(method, path, body, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def control(self, path: str, body: object) -> Any:
        return self.client.post("/_sandbox/razorpay" + path, json=body)

    def advance(self, seconds: float = SETTLE_ALL) -> None:
        """Move the clock as ``POST /_sandbox/clock/advance`` does (which calls the hook)."""
        self.clock.value += seconds
        self.fake.on_clock_advanced()


@pytest.fixture
def env() -> Iterator[Env]:
    clock = FixedClock()
    sink = ListSink()
    fake = RazorpayFake(SandboxContext(clock=clock, webhooks=sink))
    app = Starlette(
        routes=[
            Mount("/razorpay", routes=list(fake.routes())),
            Mount("/_sandbox/razorpay", routes=list(fake.control_routes())),
        ]
    )
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        yield Env(client, clock, sink, fake)


def assert_error(
    response: Any, status: int, description: str, code: str = "BAD_REQUEST_ERROR"
) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["description"] == description
    assert {"source", "step", "reason", "metadata"} <= set(error)


def link_body(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "amount": 50000,
        "currency": "INR",
        "description": "Invoice INV-1",
        "reference_id": "INV-1",
        "customer": {"name": "Asha", "email": "asha@example.com", "contact": "+919876543210"},
        "callback_url": "https://merchant.example/return?x=1",
        "callback_method": "get",
        "notes": {"invoice_id": "INV-1"},
    }
    body.update(extra)
    return body


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- authentication


def test_missing_auth_is_401_in_razorpays_shape(env: Env) -> None:
    response = env.client.get("/razorpay/v1/payments/pay_X")
    assert_error(response, 401, "Please provide your api key for authentication purposes.")


@pytest.mark.parametrize(
    ("key_id", "secret"),
    [
        ("rzp_live_abc", "s3cret"),
        ("rzp_test_abc", ""),
        ("stripe_key", "s3cret"),
        ("rzp_test_", "x"),
    ],
)
def test_invalid_keys_are_refused(env: Env, key_id: str, secret: str) -> None:
    response = env.client.get("/razorpay/v1/payments/pay_X", auth=(key_id, secret))
    assert_error(response, 401, "The api key provided is invalid")
    if secret:
        assert secret not in response.text


def test_garbage_authorization_header_is_refused(env: Env) -> None:
    for header in (
        "Bearer abc",
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"nocolon").decode(),
    ):
        response = env.client.get("/razorpay/v1/orders/order_X", headers={"Authorization": header})
        assert_error(response, 401, "The api key provided is invalid")


def test_pinned_key_accepts_only_its_secret(env: Env) -> None:
    assert env.control("/keys", {"key_id": KEY_ID, "key_secret": KEY_SECRET}).status_code == 200
    wrong = env.client.get("/razorpay/v1/orders/order_X", auth=(KEY_ID, "wrong-secret-value"))
    assert_error(wrong, 401, "Authentication failed")
    assert "wrong-secret-value" not in wrong.text
    right = env.api("GET", "/v1/orders/order_X")
    assert_error(right, 400, "The id provided does not exist")


# ---------------------------------------------------------------- generic errors


def test_unknown_ids_and_paths(env: Env) -> None:
    for path in (
        "/v1/payments/pay_nope",
        "/v1/orders/order_nope",
        "/v1/refunds/rfnd_nope",
        "/v1/payment_links/plink_nope",
        "/v1/customers/cust_nope",
        "/v1/customers/cust_nope/tokens",
        "/v1/invoices/inv_nope",
    ):
        assert_error(env.api("GET", path), 400, "The id provided does not exist")
    assert_error(
        env.api("GET", "/v1/nothing/here"), 400, "The requested URL was not found on the server."
    )
    # A POST-only API called with GET is an unknown URL for Razorpay.
    assert_error(
        env.api("GET", "/v1/payments/create/recurring"),
        400,
        "The requested URL was not found on the server.",
    )


def test_malformed_json_and_extra_fields(env: Env) -> None:
    response = env.client.post(
        "/razorpay/v1/orders",
        content=b"{not json",
        auth=(KEY_ID, KEY_SECRET),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "The request body is not valid JSON.")
    response = env.api("POST", "/v1/orders", [1, 2])
    assert_error(response, 400, "The request body must be a JSON object.")
    response = env.api("POST", "/v1/orders", {"amount": 100, "currency": "INR", "colour": "red"})
    assert_error(response, 400, "colour is/are not required and should not be sent")


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"currency": "INR"}, "The amount field is required."),
        ({"amount": 100}, "The currency field is required."),
        ({"amount": 10.5, "currency": "INR"}, "The amount must be an integer."),
        ({"amount": True, "currency": "INR"}, "The amount must be an integer."),
        ({"amount": "100", "currency": "INR"}, "The amount must be an integer."),
        ({"amount": 99, "currency": "INR"}, "The amount must be at least INR 1.00."),
        ({"amount": 100, "currency": "XYZ"}, "Currency is not supported"),
        ({"amount": 1005, "currency": "KWD"}, "The amount is invalid"),
        (
            {"amount": 100, "currency": "INR", "receipt": "r" * 41},
            "The receipt may not be greater than 40 characters.",
        ),
        (
            {"amount": 100, "currency": "INR", "notes": {f"k{i}": "v" for i in range(16)}},
            "Number of fields in notes should be less than or equal to 15",
        ),
        (
            {"amount": 100, "currency": "INR", "notes": {"k": "v" * 257}},
            "Notes value cannot be greater 256 characters",
        ),
        (
            {"amount": 100, "currency": "INR", "notes": "text"},
            "Notes should be provided as a dictionary",
        ),
    ],
)
def test_order_validation(env: Env, body: dict[str, object], description: str) -> None:
    assert_error(env.api("POST", "/v1/orders", body), 400, description)


def test_amount_rules_per_currency(env: Env) -> None:
    assert env.ok("POST", "/v1/orders", {"amount": 1, "currency": "JPY"})["amount"] == 1
    assert env.ok("POST", "/v1/orders", {"amount": 1000, "currency": "KWD"})["currency"] == "KWD"
    assert_error(
        env.api("POST", "/v1/orders", {"amount": 990, "currency": "KWD"}),
        400,
        "The amount must be at least KWD 1.000.",
    )


def test_unexpected_exception_is_a_server_error_not_a_decline(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(env.fake, "_new_order", boom)
    response = env.api("POST", "/v1/orders", {"amount": 100, "currency": "INR"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "SERVER_ERROR"
    assert error["description"].startswith("sandbox internal error")
    assert error["reason"] == "NA"


def test_error_body_hook_for_framework_faults(env: Env) -> None:
    content, ctype = env.fake.error_body(503, "sandbox fault: injected server error")
    assert ctype == "application/json"
    assert json.loads(content)["error"]["code"] == "SERVER_ERROR"
    content, _ = env.fake.error_body(429, "rate limited")
    assert json.loads(content)["error"]["code"] == "BAD_REQUEST_ERROR"


# ---------------------------------------------------------------- payment links


def test_payment_link_create_get_and_hosted_url(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    assert link["id"].startswith("plink_")
    assert link["status"] == "created"
    assert link["amount"] == 50000
    assert link["amount_paid"] == 0
    assert link["reference_id"] == "INV-1"
    assert link["order_id"].startswith("order_")
    assert link["payments"] is None
    assert link["short_url"] == f"http://testserver/razorpay/pay/{link['id']}"
    assert env.ok("GET", f"/v1/payment_links/{link['id']}") == link
    assert env.ok("GET", "/v1/payment_links")["payment_links"] == [link]
    page = env.client.get(urlsplit(link["short_url"]).path)
    assert page.status_code == 200
    assert "id=card-number" in page.text
    assert "id=pay " in page.text
    assert "INR 500.00" in page.text
    # A person clicking through is told which test cards do what.
    assert "4111 1111 1111 1111 pays; 4000 0000 0000 0002 is declined" in page.text


@pytest.mark.parametrize(
    ("extra", "description"),
    [
        ({"callback_method": "post"}, "The selected callback method is invalid."),
        (
            {"callback_method": None},
            "The callback method field is required when callback url is present.",
        ),
        ({"callback_url": "not a url"}, "The callback url format is invalid."),
        ({"reference_id": "x" * 41}, "The reference_id may not be greater than 40 characters."),
        ({"expire_by": int(START) + 60}, "timestamp must be atleast 15 minutes in future"),
        (
            {"upi_link": True},
            "UPI Payment Links is not supported in Test Mode. "
            "Please experience the product in Live Mode.",
        ),
        (
            {"customer": {"name": "A", "age": 3}},
            "customer.age is/are not required and should not be sent",
        ),
    ],
)
def test_payment_link_validation(env: Env, extra: dict[str, object], description: str) -> None:
    assert_error(env.api("POST", "/v1/payment_links", link_body(**extra)), 400, description)


def test_reference_id_is_unique(env: Env) -> None:
    env.ok("POST", "/v1/payment_links", link_body())
    response = env.api("POST", "/v1/payment_links", link_body())
    assert_error(response, 400, "payment link creation with reference ID already attempted")
    assert response.json()["error"]["field"] == "reference_id"


def test_paying_a_link_redirects_with_a_valid_signature_and_fires_events(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    result = env.control(f"/checkout/{link['id']}/complete", {"card": "4111 1111 1111 1111"}).json()
    assert result["status"] == "paid"
    url = urlsplit(result["redirect_url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "merchant.example", "/return")
    params = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    assert params["x"] == "1"
    assert params["razorpay_payment_link_id"] == link["id"]
    assert params["razorpay_payment_link_reference_id"] == "INV-1"
    assert params["razorpay_payment_link_status"] == "paid"
    payment_id = params["razorpay_payment_id"]
    message = f"{link['id']}|INV-1|paid|{payment_id}".encode()
    assert params["razorpay_signature"] == hmac_hex(KEY_SECRET, message)

    payment = env.ok("GET", f"/v1/payments/{payment_id}")
    assert payment["status"] == "captured"
    assert payment["captured"] is True
    assert payment["order_id"] == link["order_id"]
    assert payment["method"] == "card"
    assert payment["amount"] == 50000
    assert (payment["card"]["last4"], payment["card"]["network"]) == ("1111", "Visa")
    assert payment["card_id"] == payment["card"]["id"]
    fetched = env.ok("GET", f"/v1/payment_links/{link['id']}")
    assert fetched["status"] == "paid"
    assert fetched["amount_paid"] == 50000
    assert [p["payment_id"] for p in fetched["payments"]] == [payment_id]
    order = env.ok("GET", f"/v1/orders/{link['order_id']}")
    assert (order["status"], order["amount_paid"], order["amount_due"]) == ("paid", 50000, 0)

    assert env.sink.types() == [
        "payment.authorized",
        "payment.captured",
        "order.paid",
        "payment_link.paid",
    ]
    paid = env.sink.events[-1].data
    assert paid["entity"] == "event"
    assert paid["account_id"] == ACCOUNT_ID
    assert paid["contains"] == ["payment_link", "order", "payment"]
    assert paid["payload"]["payment_link"]["entity"]["status"] == "paid"
    assert paid["payload"]["payment"]["entity"]["id"] == payment_id
    assert paid["created_at"] == int(START)
    # The snapshot in an earlier event is not changed by what happened later.
    assert env.sink.events[0].data["payload"]["payment"]["entity"]["status"] == "authorized"
    assert len({event.event_id for event in env.sink.events}) == 4

    again = env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"})
    assert_error(again, 400, "This payment link is paid and cannot be paid")


@pytest.mark.parametrize(
    ("outcome", "reason", "code", "status"),
    [
        ("decline", "card_declined", "BAD_REQUEST_ERROR", 400),
        ("insufficient_funds", "insufficient_funds", "BAD_REQUEST_ERROR", 400),
        ("expired", "card_expired", "BAD_REQUEST_ERROR", 400),
        ("incorrect_cvc", "incorrect_cvv", "BAD_REQUEST_ERROR", 400),
        ("processing_error", "gateway_technical_error", "GATEWAY_ERROR", 502),
        ("authentication_required", "authentication_failed", "BAD_REQUEST_ERROR", 400),
    ],
)
def test_declined_link_payment_keeps_the_link_open(
    env: Env, outcome: str, reason: str, code: str, status: int
) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    result = env.control(f"/checkout/{link['id']}/complete", {"outcome": outcome}).json()
    assert result["status"] == "failed"
    assert result["redirect_url"] is None
    assert result["error"]["reason"] == reason
    assert result["error"]["code"] == code
    payment = env.ok("GET", f"/v1/payments/{result['payment_id']}")
    assert payment["status"] == "failed"
    assert payment["error_reason"] == reason
    assert payment["error_code"] == code
    assert env.sink.types() == ["payment.failed"]
    assert env.ok("GET", f"/v1/payment_links/{link['id']}")["status"] == "created"
    retry = env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"}).json()
    assert retry["status"] == "paid"


def test_hosted_form_post_redirects_or_shows_the_failure(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    path = urlsplit(link["short_url"]).path
    declined = env.client.post(path, data={"card_number": "4000000000000002"})
    assert declined.status_code == 200
    assert "id=error" in declined.text
    assert "declined" in declined.text
    invalid = env.client.post(path, data={"card_number": "1234"})
    assert "Invalid card number" in invalid.text
    paid = env.client.post(path, data={"card_number": "4242424242424242"})
    assert paid.status_code == 303
    assert paid.headers["location"].startswith("https://merchant.example/return?")
    closed = env.client.get(path)
    assert 'data-status="paid"' in closed.text
    assert "id=card-number" not in closed.text
    assert env.client.get("/razorpay/pay/plink_missing").status_code == 404


def test_link_without_callback_shows_a_receipt(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body(callback_url=None, callback_method=None))
    result = env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"}).json()
    assert result["redirect_url"] is None
    assert result["status"] == "paid"


def test_cancel_link(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    cancelled = env.ok("POST", f"/v1/payment_links/{link['id']}/cancel", {})
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelled_at"] == int(START)
    assert env.sink.types() == ["payment_link.cancelled"]
    assert_error(
        env.api("POST", f"/v1/payment_links/{link['id']}/cancel", {}),
        400,
        "cannot cancel or expire an expired link",
    )
    assert_error(
        env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"}),
        400,
        "This payment link is cancelled and cannot be paid",
    )
    other = env.ok("POST", "/v1/payment_links", link_body(reference_id="INV-2"))
    assert env.control(f"/checkout/{other['id']}/cancel", {}).json() == {
        "redirect_url": None,
        "status": "cancelled",
    }
    paid = env.ok("POST", "/v1/payment_links", link_body(reference_id="INV-3"))
    env.control(f"/checkout/{paid['id']}/complete", {"outcome": "success"})
    assert_error(
        env.api("POST", f"/v1/payment_links/{paid['id']}/cancel", {}),
        400,
        "cannot cancel or expire an already paid/partially paid link",
    )


def test_link_expires_on_the_sandbox_clock(env: Env) -> None:
    expire_by = int(START) + 3600
    link = env.ok("POST", "/v1/payment_links", link_body(expire_by=expire_by))
    env.clock.value += 3599
    assert env.ok("GET", f"/v1/payment_links/{link['id']}")["status"] == "created"
    env.clock.value += 1
    expired = env.ok("GET", f"/v1/payment_links/{link['id']}")
    assert (expired["status"], expired["expired_at"]) == ("expired", expire_by)
    env.ok("GET", f"/v1/payment_links/{link['id']}")
    assert env.sink.types() == ["payment_link.expired"]  # fired once
    assert_error(
        env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"}),
        400,
        "This payment link is expired and cannot be paid",
    )


def test_partial_payments(env: Env) -> None:
    link = env.ok(
        "POST", "/v1/payment_links", link_body(accept_partial=True, first_min_partial_amount=10000)
    )
    too_small = env.control(
        f"/checkout/{link['id']}/complete", {"outcome": "success", "amount": 5000}
    )
    assert_error(too_small, 400, "The amount must be at least the first minimum partial amount")
    first = env.control(f"/checkout/{link['id']}/complete", {"outcome": "success", "amount": 20000})
    assert first.json()["status"] == "partially_paid"
    assert "razorpay_payment_link_status=partially_paid" in first.json()["redirect_url"]
    rest = env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"}).json()
    assert rest["status"] == "paid"
    fetched = env.ok("GET", f"/v1/payment_links/{link['id']}")
    assert [p["amount"] for p in fetched["payments"]] == [20000, 30000]
    assert "payment_link.partially_paid" in env.sink.types()
    assert env.sink.types().count("order.paid") == 1


# ---------------------------------------------------------------- refunds


def paid_payment(env: Env, amount: int = 50000, reference: str = "INV-R") -> str:
    link = env.ok("POST", "/v1/payment_links", link_body(amount=amount, reference_id=reference))
    result = env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"}).json()
    env.sink.events.clear()
    payment_id: str = result["payment_id"]
    return payment_id


def test_full_refund_when_amount_is_missing(env: Env) -> None:
    payment_id = paid_payment(env)
    refund = env.ok("POST", f"/v1/payments/{payment_id}/refund", {})
    assert refund["id"].startswith("rfnd_")
    # Refunds are pending at first and processed later, as on Razorpay.
    assert (refund["amount"], refund["status"], refund["payment_id"]) == (
        50000,
        "pending",
        payment_id,
    )
    payment = env.ok("GET", f"/v1/payments/{payment_id}")
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == (
        "refunded",
        50000,
        "full",
    )
    assert env.sink.types() == ["refund.created"]
    assert env.sink.events[0].data["contains"] == ["refund", "payment"]
    assert env.ok("GET", f"/v1/refunds/{refund['id']}") == refund
    env.advance()
    processed = env.ok("GET", f"/v1/payments/{payment_id}/refunds/{refund['id']}")
    assert (processed["status"], processed["speed_processed"]) == ("processed", "normal")
    assert env.sink.types() == ["refund.created", "refund.processed"]
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/refund", {"amount": 100}),
        400,
        "The payment has been fully refunded already",
    )


def test_partial_refunds_up_to_the_total(env: Env) -> None:
    payment_id = paid_payment(env)
    env.ok("POST", f"/v1/payments/{payment_id}/refund", {"amount": 20000, "speed": "optimum"})
    payment = env.ok("GET", f"/v1/payments/{payment_id}")
    assert (payment["status"], payment["refund_status"]) == ("captured", "partial")
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/refund", {"amount": 60000}),
        400,
        "The refund amount provided is greater than amount captured",
    )
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/refund", {"amount": 30001}),
        400,
        "The total refund amount is greater than the refund payment amount",
    )
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/refund", {"amount": 50}),
        400,
        "The amount must be at least INR 1.00.",
    )
    last = env.ok("POST", f"/v1/payments/{payment_id}/refund", {"amount": 30000})
    assert last["speed_requested"] == "normal"
    env.advance()
    listed = env.ok("GET", f"/v1/payments/{payment_id}/refunds")
    assert [r["amount"] for r in listed["items"]] == [30000, 20000]  # newest first
    assert listed["items"][1]["speed_processed"] == "instant"


def test_refund_idempotency_header(env: Env) -> None:
    payment_id = paid_payment(env)
    headers = {"X-Refund-Idempotency": "refund-key_0001"}
    first = env.api("POST", f"/v1/payments/{payment_id}/refund", {"amount": 1000}, headers=headers)
    again = env.api("POST", f"/v1/payments/{payment_id}/refund", {"amount": 1000}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert env.ok("GET", f"/v1/payments/{payment_id}")["amount_refunded"] == 1000
    different = env.api(
        "POST", f"/v1/payments/{payment_id}/refund", {"amount": 2000}, headers=headers
    )
    assert_error(
        different,
        409,
        "Different request with the same idempotency key has already been processed.",
    )
    assert_error(
        env.api(
            "POST",
            f"/v1/payments/{payment_id}/refund",
            {},
            headers={"X-Refund-Idempotency": "short"},
        ),
        400,
        "The idempotency key must be at least 10 characters long.",
    )
    assert_error(
        env.api(
            "POST",
            f"/v1/payments/{payment_id}/refund",
            {},
            headers={"X-Refund-Idempotency": "has spaces in it"},
        ),
        400,
        "The idempotency key must only contain alphanumeric characters, underscores, and hyphens",
    )


def test_refund_receipt_is_unique_per_payment(env: Env) -> None:
    payment_id = paid_payment(env)
    env.ok("POST", f"/v1/payments/{payment_id}/refund", {"amount": 1000, "receipt": "R-1"})
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/refund", {"amount": 1000, "receipt": "R-1"}),
        400,
        "Duplicate receipt found for this refund request.",
    )


def test_failed_payment_cannot_be_refunded(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    failed = env.control(f"/checkout/{link['id']}/complete", {"outcome": "decline"}).json()
    assert_error(
        env.api("POST", f"/v1/payments/{failed['payment_id']}/refund", {}),
        400,
        "The payment status should be captured for action to be taken",
    )


# ---------------------------------------------------------------- registration and recurring


def registration(env: Env, card: str = "4111111111111111") -> tuple[str, str, dict[str, Any]]:
    invoice = env.ok(
        "POST",
        "/v1/subscription_registration/auth_links",
        {
            "customer": {"name": "Ravi", "email": "ravi@example.com", "contact": 9123456780},
            "type": "link",
            "amount": 100,
            "currency": "INR",
            "description": "Card mandate",
            "subscription_registration": {
                "method": "card",
                "max_amount": 500000,
                "expire_at": int(START) + 86400 * 365,
                "frequency": "monthly",
            },
            "receipt": "REG-1",
            "notes": {"plan": "gold"},
        },
    )
    assert invoice["entity"] == "invoice"
    assert invoice["status"] == "issued"
    assert invoice["short_url"] == f"http://testserver/razorpay/pay/{invoice['id']}"
    result = env.control(f"/checkout/{invoice['id']}/complete", {"card": card}).json()
    return invoice["id"], invoice["customer_id"], result


def test_registration_link_creates_a_confirmed_token(env: Env) -> None:
    invoice_id, customer_id, result = registration(env)
    assert result["status"] == "paid"
    assert result["customer_id"] == customer_id
    token_id = result["token_id"]
    token = env.ok("GET", f"/v1/customers/{customer_id}/tokens/{token_id}")
    assert token["recurring"] is True
    assert token["recurring_details"] == {"status": "confirmed", "failure_reason": None}
    assert token["method"] == "card"
    assert token["card"]["last4"] == "1111"
    assert token["card"]["network"] == "Visa"
    assert token["max_amount"] == 500000
    tokens = env.ok("GET", f"/v1/customers/{customer_id}/tokens")
    assert tokens["entity"] == "collection"
    assert [t["id"] for t in tokens["items"]] == [token_id]
    payment = env.ok("GET", f"/v1/payments/{result['payment_id']}")
    assert (payment["status"], payment["token_id"], payment["invoice_id"]) == (
        "captured",
        token_id,
        invoice_id,
    )
    invoice = env.ok("GET", f"/v1/invoices/{invoice_id}")
    assert (invoice["status"], invoice["payment_id"]) == ("paid", payment["id"])
    assert env.sink.types() == [
        "payment.authorized",
        "payment.captured",
        "order.paid",
        "token.confirmed",
        "invoice.paid",
    ]
    assert env.sink.events[-1].data["contains"] == ["payment", "order", "invoice"]
    assert env.sink.events[0].data["payload"]["payment"]["entity"]["token_id"] == token_id


def test_registration_with_a_declining_card_creates_no_token(env: Env) -> None:
    _, customer_id, result = registration(env, card="4000000000000002")
    assert result["status"] == "failed"
    assert env.ok("GET", f"/v1/customers/{customer_id}/tokens")["count"] == 0
    assert env.sink.types() == ["payment.failed"]


def recurring_body(order: dict[str, Any], customer_id: str, token_id: str) -> dict[str, object]:
    return {
        "email": "ravi@example.com",
        "contact": "9123456780",
        "amount": order["amount"],
        "currency": "INR",
        "order_id": order["id"],
        "customer_id": customer_id,
        "token": token_id,
        "recurring": "1",
        "description": "Renewal",
        "notes": {"invoice_id": "INV-9"},
    }


def test_recurring_charge_success(env: Env) -> None:
    _, customer_id, result = registration(env)
    env.sink.events.clear()
    order = env.ok(
        "POST",
        "/v1/orders",
        {"amount": 29900, "currency": "INR", "receipt": "INV-9", "payment_capture": True},
    )
    charged = env.ok(
        "POST",
        "/v1/payments/create/recurring",
        recurring_body(order, customer_id, result["token_id"]),
    )
    assert charged["razorpay_order_id"] == order["id"]
    expected = hmac_hex(KEY_SECRET, f"{order['id']}|{charged['razorpay_payment_id']}".encode())
    assert charged["razorpay_signature"] == expected
    # The debit is asynchronous: created now, debited 36 h 5 min later (pre-debit notice).
    payment = env.ok("GET", f"/v1/payments/{charged['razorpay_payment_id']}")
    assert (payment["status"], payment["token_id"], payment["customer_id"]) == (
        "created",
        result["token_id"],
        customer_id,
    )
    assert env.ok("GET", f"/v1/orders/{order['id']}")["status"] == "attempted"
    assert env.sink.types() == []
    assert_error(
        env.api(
            "POST",
            "/v1/payments/create/recurring",
            recurring_body(order, customer_id, result["token_id"]),
        ),
        400,
        "A payment for this order is already being processed",
    )
    env.advance(RECURRING_DEBIT_DELAY - 1)
    assert env.ok("GET", f"/v1/payments/{payment['id']}")["status"] == "created"
    env.advance(1)
    payment = env.ok("GET", f"/v1/payments/{payment['id']}")
    assert (payment["status"], payment["captured"]) == ("captured", True)
    assert env.ok("GET", f"/v1/orders/{order['id']}")["status"] == "paid"
    assert env.sink.types() == ["payment.authorized", "payment.captured", "order.paid"]
    assert_error(
        env.api(
            "POST",
            "/v1/payments/create/recurring",
            recurring_body(order, customer_id, result["token_id"]),
        ),
        400,
        "Your payment has been declined as the order is already paid. "
        "Please initiate the payment with a new order.",
    )


@pytest.mark.parametrize(
    ("card", "reason"),
    [
        ("4000000000009995", "insufficient_funds"),
        ("4000000000000069", "card_expired"),
        ("4000000000000002", "card_declined"),
        ("4000000000000119", "gateway_technical_error"),
    ],
)
def test_recurring_charge_failure_uses_the_tokens_card(env: Env, card: str, reason: str) -> None:
    made = env.control("/tokens", {"card": card, "customer": {"email": "d@example.com"}}).json()
    customer_id, token_id = made["customer"]["id"], made["token"]["id"]
    assert made["token"]["recurring_details"]["status"] == "confirmed"
    order = env.ok("POST", "/v1/orders", {"amount": 10000, "currency": "INR"})
    # The request is accepted; the bank refuses the debit later and payment.failed says why.
    charged = env.ok(
        "POST", "/v1/payments/create/recurring", recurring_body(order, customer_id, token_id)
    )
    payment_id = charged["razorpay_payment_id"]
    assert env.ok("GET", f"/v1/payments/{payment_id}")["status"] == "created"
    env.advance()
    payment = env.ok("GET", f"/v1/payments/{payment_id}")
    assert (payment["status"], payment["error_reason"]) == ("failed", reason)
    assert payment["error_source"] in {"bank", "customer", "gateway"}
    assert payment["error_step"] == "payment_authorization"
    assert env.sink.types() == ["payment.failed"]
    assert env.ok("GET", f"/v1/orders/{order['id']}")["status"] == "attempted"


def test_recurring_charge_checks(env: Env) -> None:
    made = env.control(
        "/tokens", {"card": "4111111111111111", "max_amount": 10000, "expire_at": int(START) + 3600}
    ).json()
    customer_id, token_id = made["customer"]["id"], made["token"]["id"]
    order = env.ok("POST", "/v1/orders", {"amount": 20000, "currency": "INR"})
    body = recurring_body(order, customer_id, token_id)
    assert_error(
        env.api("POST", "/v1/payments/create/recurring", body),
        400,
        "Payment amount is greater than card mandate's max amount",
    )
    assert_error(
        env.api("POST", "/v1/payments/create/recurring", {**body, "amount": 100}),
        400,
        "The amount does not match with order amount",
    )
    assert_error(
        env.api("POST", "/v1/payments/create/recurring", {**body, "recurring": False}),
        400,
        "The selected recurring is invalid.",
    )
    assert_error(
        env.api("POST", "/v1/payments/create/recurring", {**body, "token": "token_nope"}),
        400,
        "The id provided does not exist",
    )
    small = env.ok("POST", "/v1/orders", {"amount": 5000, "currency": "INR"})
    env.clock.value += 3600
    assert_error(
        env.api(
            "POST", "/v1/payments/create/recurring", recurring_body(small, customer_id, token_id)
        ),
        400,
        "Card mandate is not active, it is expired",
    )


def test_delete_token(env: Env) -> None:
    made = env.control("/tokens", {"card": "5555555555554444"}).json()
    customer_id, token_id = made["customer"]["id"], made["token"]["id"]
    assert made["token"]["card"]["network"] == "MasterCard"
    assert env.ok("DELETE", f"/v1/customers/{customer_id}/tokens/{token_id}") == {"deleted": True}
    assert env.sink.types() == ["token.cancelled"]
    assert (
        env.sink.events[0].data["payload"]["token"]["entity"]["recurring_details"]["status"]
        == "cancelled"
    )
    assert_error(
        env.api("GET", f"/v1/customers/{customer_id}/tokens/{token_id}"),
        400,
        "The id provided does not exist",
    )
    assert_error(
        env.api("DELETE", f"/v1/customers/{customer_id}/tokens/{token_id}"),
        400,
        "The id provided does not exist",
    )


def test_order_with_token_registers_a_mandate_on_the_hosted_page(env: Env) -> None:
    customer = env.ok("POST", "/v1/customers", {"name": "Meera", "email": "meera@example.com"})
    order = env.ok(
        "POST",
        "/v1/orders",
        {
            "amount": 100,
            "currency": "INR",
            "customer_id": customer["id"],
            "method": "card",
            "token": {
                "max_amount": 100000,
                "expire_at": int(START) + 86400,
                "frequency": "monthly",
            },
        },
    )
    assert order["token"]["max_amount"] == 100000
    page = env.client.post(f"/razorpay/pay/{order['id']}", data={"card_number": "4111111111111111"})
    assert page.status_code == 200
    assert 'data-status="paid"' in page.text
    tokens = env.ok("GET", f"/v1/customers/{customer['id']}/tokens")
    assert tokens["count"] == 1
    assert "token.confirmed" in env.sink.types()
    assert "invoice.paid" not in env.sink.types()


def test_customers(env: Env) -> None:
    customer = env.ok(
        "POST",
        "/v1/customers",
        {"name": "Gaurav", "email": "g@example.com", "contact": "9000090000", "notes": {}},
    )
    assert customer["id"].startswith("cust_")
    assert customer["notes"] == []
    assert env.ok("GET", f"/v1/customers/{customer['id']}") == customer
    assert_error(
        env.api("POST", "/v1/customers", {"email": "g@example.com"}),
        400,
        "Customer already exists for the merchant",
    )
    same = env.ok("POST", "/v1/customers", {"email": "g@example.com", "fail_existing": "0"})
    assert same == customer
    assert_error(
        env.api("POST", "/v1/customers", {"name": "n" * 51}),
        400,
        "The name may not be greater than 50 characters.",
    )


# ---------------------------------------------------------------- webhook signing


def test_sign_webhook_is_hex_hmac_of_the_body_with_a_stable_event_id(env: Env) -> None:
    endpoint = WebhookEndpoint(id="we_1", provider="razorpay", url="http://x", secret="whsec-razor")
    body = b'{"entity":"event","event":"payment.captured"}'
    headers = env.fake.sign_webhook(body, endpoint, 0)
    assert headers["X-Razorpay-Signature"] == hmac_hex("whsec-razor", body)
    assert (
        headers["X-Razorpay-Event-Id"]
        == env.fake.sign_webhook(body, endpoint, 99)["X-Razorpay-Event-Id"]
    )
    other = env.fake.sign_webhook(body + b" ", endpoint, 0)
    assert other["X-Razorpay-Event-Id"] != headers["X-Razorpay-Event-Id"]
    assert "whsec-razor" not in repr(endpoint)


def test_reset_forgets_everything(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    env.fake.reset()
    assert_error(
        env.api("GET", f"/v1/payment_links/{link['id']}"), 400, "The id provided does not exist"
    )
    env.ok("POST", "/v1/payment_links", link_body())  # the reference id is free again


# ---------------------------------------------------------------- junk input never breaks the fake

_FIELD_NAMES = [
    "amount",
    "currency",
    "receipt",
    "notes",
    "customer",
    "customer_id",
    "token",
    "order_id",
    "reference_id",
    "callback_url",
    "callback_method",
    "expire_by",
    "accept_partial",
    "first_min_partial_amount",
    "subscription_registration",
    "method",
    "type",
    "recurring",
    "speed",
    "fail_existing",
    "email",
    "contact",
    "name",
    "card",
    "outcome",
    "max_amount",
    "frequency",
    "expire_at",
]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["INR", "KWD", "JPY", "get", "card", "link", "0", "1", "monthly"])
)
_json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(_FIELD_NAMES) | st.text(max_size=10), children, max_size=5
        )
    ),
    max_leaves=12,
)
_bodies = st.dictionaries(st.sampled_from(_FIELD_NAMES), _json_values, max_size=8) | _json_values


def _assert_razorpay_shaped(response: Any) -> None:
    assert response.status_code < 500 or response.status_code == 502, response.text
    if response.status_code >= 300:
        error = response.json()["error"]
        assert error["code"] in {"BAD_REQUEST_ERROR", "GATEWAY_ERROR"}
        assert isinstance(error["description"], str)
        assert error["description"]
        assert "sandbox internal error" not in error["description"]


def test_junk_json_bodies_always_get_razorpay_errors(env: Env) -> None:
    paid = paid_payment(env)
    link = env.ok("POST", "/v1/payment_links", link_body(reference_id="JUNK"))
    targets = [
        ("POST", "/v1/payment_links"),
        ("POST", "/v1/orders"),
        ("POST", "/v1/customers"),
        ("POST", "/v1/payments/create/recurring"),
        ("POST", "/v1/subscription_registration/auth_links"),
        ("POST", f"/v1/payments/{paid}/refund"),
        ("POST", f"/v1/payments/{paid}/capture"),
        ("POST", f"/v1/payment_links/{link['id']}/cancel"),
        ("PATCH", f"/v1/payment_links/{link['id']}"),
        ("DELETE", "/v1/customers/cust_x/tokens/token_y"),
    ]

    @given(target=st.sampled_from(targets), body=_bodies)
    @settings(max_examples=300, deadline=None)
    def check(target: tuple[str, str], body: object) -> None:
        method, path = target
        _assert_razorpay_shaped(env.api(method, path, body))

    check()


def test_junk_control_bodies_always_get_razorpay_errors(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body(reference_id="JUNK-CTL"))
    paths = [f"/checkout/{link['id']}/complete", "/tokens", "/keys", "/checkout/plink_nope/cancel"]

    @given(path=st.sampled_from(paths), body=_bodies)
    @settings(max_examples=150, deadline=None)
    def check(path: str, body: object) -> None:
        response = env.control(path, body)
        _assert_razorpay_shaped(response)

    check()


def test_junk_query_strings_on_lists(env: Env) -> None:
    @given(
        path=st.sampled_from(["/v1/orders", "/v1/payments", "/v1/refunds", "/v1/customers"]),
        params=st.dictionaries(
            st.sampled_from(["count", "skip", "from", "to", "x"]), st.text(max_size=8), max_size=4
        ),
    )
    @settings(max_examples=100, deadline=None)
    def check(path: str, params: dict[str, str]) -> None:
        _assert_razorpay_shaped(env.api("GET", path, params=params))

    check()


def test_raw_byte_bodies_and_idempotency_headers(env: Env) -> None:
    paid = paid_payment(env)

    @given(
        raw=st.binary(max_size=64),
        key=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20),
    )
    @settings(max_examples=150, deadline=None)
    def check(raw: bytes, key: str) -> None:
        response = env.client.post(
            f"/razorpay/v1/payments/{paid}/refund",
            content=raw,
            auth=(KEY_ID, KEY_SECRET),
            headers={"Content-Type": "application/json", "X-Refund-Idempotency": key},
        )
        _assert_razorpay_shaped(response)

    check()


# ---------------------------------------------------------------- smaller endpoints


def test_collections_are_newest_first_and_paged(env: Env) -> None:
    ids = []
    for n in range(3):
        ids.append(env.ok("POST", "/v1/orders", {"amount": 100 + n, "currency": "INR"})["id"])
        env.clock.value += 10
    listed = env.ok("GET", "/v1/orders")
    assert listed["entity"] == "collection"
    assert [o["id"] for o in listed["items"]] == ids[::-1]
    page = env.ok("GET", "/v1/orders", params={"count": "1", "skip": "1"})
    assert [o["id"] for o in page["items"]] == [ids[1]]
    window = env.ok("GET", "/v1/orders", params={"from": str(int(START) + 5)})
    assert [o["id"] for o in window["items"]] == ids[:0:-1]
    assert_error(
        env.api("GET", "/v1/orders", params={"count": "101"}),
        400,
        "The count may not be greater than 100.",
    )
    assert_error(
        env.api("GET", "/v1/payments", params={"count": "x"}), 400, "The count must be an integer."
    )
    assert_error(
        env.api("GET", "/v1/refunds", params={"colour": "red"}),
        400,
        "colour is/are not required and should not be sent",
    )
    assert env.ok("GET", "/v1/customers")["count"] == 0


def test_trailing_slash_paths_work(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links/", link_body())
    assert env.ok("GET", f"/v1/payment_links/{link['id']}/")["id"] == link["id"]


def test_update_and_notify_link(env: Env) -> None:
    link = env.ok("POST", "/v1/payment_links", link_body())
    other = env.ok("POST", "/v1/payment_links", link_body(reference_id="INV-OTHER"))
    updated = env.ok(
        "PATCH",
        f"/v1/payment_links/{link['id']}",
        {"reference_id": "INV-NEW", "expire_by": int(START) + 7200, "notes": {"a": "b"}},
    )
    assert (updated["reference_id"], updated["expire_by"], updated["notes"]) == (
        "INV-NEW",
        int(START) + 7200,
        {"a": "b"},
    )
    assert_error(
        env.api("PATCH", f"/v1/payment_links/{other['id']}", {"reference_id": "INV-NEW"}),
        400,
        "payment link creation with reference ID already attempted",
    )
    # The old reference is free again.
    env.ok("POST", "/v1/payment_links", link_body(reference_id="INV-1"))
    assert env.ok("POST", f"/v1/payment_links/{link['id']}/notify_by/sms", {}) == {"success": True}
    assert_error(
        env.api("POST", f"/v1/payment_links/{link['id']}/notify_by/fax", {}),
        400,
        "The requested URL was not found on the server.",
    )
    env.control(f"/checkout/{link['id']}/complete", {"outcome": "success"})
    assert_error(
        env.api("PATCH", f"/v1/payment_links/{link['id']}", {"reminder_enable": False}),
        400,
        "update can only be made in created or partially paid state",
    )


def test_manual_capture_order(env: Env) -> None:
    made = env.control("/tokens", {"outcome": "success"}).json()
    customer_id, token_id = made["customer"]["id"], made["token"]["id"]
    order = env.ok("POST", "/v1/orders", {"amount": 5000, "currency": "INR", "payment_capture": 0})
    charged = env.ok(
        "POST", "/v1/payments/create/recurring", recurring_body(order, customer_id, token_id)
    )
    payment_id = charged["razorpay_payment_id"]
    env.advance()
    assert env.ok("GET", f"/v1/payments/{payment_id}")["status"] == "authorized"
    assert env.sink.types() == ["payment.authorized"]
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/refund", {}),
        400,
        "The payment status should be captured for action to be taken",
    )
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/capture", {"amount": 5000}),
        400,
        "The currency field is required.",  # mandatory in Razorpay's capture reference
    )
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/capture", {"amount": 4000, "currency": "INR"}),
        400,
        "Capture amount must be equal to the amount authorized",
    )
    captured = env.ok(
        "POST", f"/v1/payments/{payment_id}/capture", {"amount": 5000, "currency": "INR"}
    )
    assert (captured["status"], captured["captured"]) == ("captured", True)
    assert env.sink.types() == ["payment.authorized", "payment.captured", "order.paid"]
    assert_error(
        env.api("POST", f"/v1/payments/{payment_id}/capture", {"amount": 5000, "currency": "INR"}),
        400,
        "Only payments which have been authorized and not yet captured can be captured",
    )


def test_registration_link_page_expiry_and_cancel(env: Env) -> None:
    body = {
        "customer": {"name": "Ravi", "email": "ravi@example.com", "contact": "+919123456780"},
        "type": "link",
        "amount": 100,
        "currency": "INR",
        "description": "Card mandate",
        "subscription_registration": {
            "method": "card",
            "max_amount": 100000,
            "frequency": "as_presented",
        },
        "expire_by": int(START) + 600,
    }
    invoice = env.ok("POST", "/v1/subscription_registration/auth_links", body)
    page = env.client.get(urlsplit(invoice["short_url"]).path)
    assert "id=card-number" in page.text
    assert "Registration link" in page.text
    env.clock.value += 600
    assert env.ok("GET", f"/v1/invoices/{invoice['id']}")["status"] == "expired"
    assert env.sink.types() == ["invoice.expired"]
    closed = env.client.get(urlsplit(invoice["short_url"]).path)
    assert 'data-status="expired"' in closed.text
    assert_error(
        env.control(f"/checkout/{invoice['id']}/complete", {"outcome": "success"}),
        400,
        "This registration link is expired",
    )
    second = env.ok("POST", "/v1/subscription_registration/auth_links", {**body, "expire_by": None})
    assert second["customer_id"] == invoice["customer_id"]  # the customer is reused
    assert env.control(f"/checkout/{second['id']}/cancel", {}).json()["status"] == "cancelled"
    assert env.ok("GET", f"/v1/invoices/{second['id']}")["status"] == "cancelled"


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"type": "invoice"}, "The selected type is invalid."),
        ({"currency": "USD"}, "Currency is not supported"),
        (
            {"subscription_registration": {"method": "emandate", "max_amount": 100}},
            "The selected subscription_registration.method is invalid.",
        ),
        ({"subscription_registration": None}, "The subscription_registration field is required."),
        ({"customer": None}, "The customer field is required."),
        ({"amount": 0}, "The amount must be at least INR 1.00."),
        # Razorpay documents customer{name, email, contact} (all mandatory), never customer_id.
        (
            {"customer": None, "customer_id": "cust_Ozq9cLhvD1xd8M"},
            "customer_id is/are not required and should not be sent",
        ),
        (
            {"customer": {"name": "Ravi", "email": "ravi@example.com"}},
            "The customer.contact field is required.",
        ),
        (
            {"customer": {"name": "Ravi", "contact": "+919123456780"}},
            "The customer.email field is required.",
        ),
        (
            {"customer": {"email": "ravi@example.com", "contact": "+919123456780"}},
            "The customer.name field is required.",
        ),
        ({"description": None}, "The description field is required."),
        ({"currency": None}, "The currency field is required."),
        (
            {"subscription_registration": {"method": "card", "max_amount": 100}},
            "The subscription_registration.frequency field is required.",
        ),
    ],
)
def test_registration_link_validation(
    env: Env, change: dict[str, object], description: str
) -> None:
    body: dict[str, object] = {
        "customer": {"name": "Ravi", "email": "ravi@example.com", "contact": "+919123456780"},
        "type": "link",
        "amount": 100,
        "currency": "INR",
        "description": "Card mandate",
        "subscription_registration": {
            "method": "card",
            "max_amount": 100000,
            "frequency": "monthly",
        },
    }
    body.update(change)
    assert_error(
        env.api("POST", "/v1/subscription_registration/auth_links", body), 400, description
    )


def test_token_card_expiry(env: Env) -> None:
    year = time.gmtime(START).tm_year
    expired = env.control("/tokens", {"outcome": "expired"}).json()["token"]["card"]
    assert (expired["expiry_month"], expired["expiry_year"]) == ("12", str(year - 1))
    fine = env.control("/tokens", {"outcome": "success"}).json()["token"]["card"]
    assert int(fine["expiry_year"]) > year
    given_expiry = env.control(
        "/tokens", {"card": "4242424242424242", "expiry_month": 3, "expiry_year": 2031}
    ).json()["token"]["card"]
    assert (given_expiry["expiry_month"], given_expiry["expiry_year"]) == ("03", "2031")
    assert given_expiry["last4"] == "4242"
    assert_error(
        env.control(
            "/tokens", {"card": "4242424242424242", "expiry_month": 13, "expiry_year": 2031}
        ),
        400,
        "The expiry_month may not be greater than 12.",
    )
    assert_error(env.control("/tokens", {"card": "1234"}), 400, "Invalid card number")
    assert_error(env.control("/tokens", {}), 400, "The card field is required.")


def test_registers_through_the_hook_like_a_third_party_fake() -> None:
    import paywire_sandbox.razorpay as package
    from paywire_sandbox import load_fakes

    registry = load_fakes([package], entry_points=False)
    assert registry.failures == []
    assert registry.fakes == {"razorpay": RazorpayFake}
    # ``__all__`` is kept in ruff's (isort-style) order, so check completeness, not sorting.
    assert len(set(package.__all__)) == len(package.__all__)
    assert all(hasattr(package, name) for name in package.__all__)
    assert "RazorpayFake" in package.__all__


def _luhn_check_digit(payload: str) -> str:
    """An independent Luhn computation: the digit that makes ``payload + digit`` valid."""
    digits = [int(c) for c in payload]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return str((10 - total % 10) % 10)


@given(payload=st.text(alphabet="0123456789", min_size=11, max_size=18))
def test_any_luhn_valid_number_is_a_succeeding_card(payload: str) -> None:
    number = payload + _luhn_check_digit(payload)
    card = card_for_number(number)
    assert card is not None
    assert card.last4 == number[-4:]
    wrong = payload + str((int(_luhn_check_digit(payload)) + 1) % 10)
    assert card_for_number(wrong) is None


def test_card_networks_and_formatting() -> None:
    amex = card_for_number("3782 822463 10005")
    assert amex is not None
    assert (amex.network, amex.failure) == ("American Express", None)
    assert card_for_number("5105-1051-0510-5100") is not None
    assert card_for_number("") is None
    assert card_for_number("4111 1111 1111 111x") is None
    declined = card_for_number("4000 0000 0000 0002")
    assert declined is not None
    assert declined.failure is not None
    assert declined.failure.reason == "card_declined"


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (
            {"amount": 100, "currency": "INR", "method": "card", "token": {"max_amount": 500}},
            "The customer_id field is required.",
        ),
        (
            {"amount": 100, "currency": "INR", "method": "upi"},
            "The selected method is invalid.",
        ),
        (
            {"amount": 100, "currency": "INR", "token": {"max_amount": 500, "bogus": 1}},
            "token.bogus is/are not required and should not be sent",
        ),
    ],
)
def test_registration_order_validation(env: Env, body: dict[str, object], description: str) -> None:
    assert_error(env.api("POST", "/v1/orders", body), 400, description)


def test_registration_order_needs_method_and_a_future_expiry(env: Env) -> None:
    customer = env.ok("POST", "/v1/customers", {"name": "Zoya Khan"})
    base = {"amount": 100, "currency": "INR", "customer_id": customer["id"]}
    assert_error(
        env.api("POST", "/v1/orders", {**base, "token": {"max_amount": 500}}),
        400,
        "The method field is required.",
    )
    past = {"max_amount": 500, "expire_at": int(START) - 1}
    assert_error(
        env.api("POST", "/v1/orders", {**base, "method": "card", "token": past}),
        400,
        "expire_at should be a future timestamp",
    )


def test_more_link_rules(env: Env) -> None:
    assert_error(
        env.api("POST", "/v1/payment_links", link_body(expire_by=int(START) + 200 * 86400)),
        400,
        "expire_by cannot exceed six months from the date of creation",
    )
    assert_error(
        env.api("POST", "/v1/payment_links", link_body(first_min_partial_amount=100)),
        400,
        "first_min_partial_amount is/are not required and should not be sent",
    )
    link = env.ok("POST", "/v1/payment_links", link_body())
    assert_error(
        env.control(f"/checkout/{link['id']}/complete", {"outcome": "success", "amount": 100}),
        400,
        "Partial payment is not allowed for this payment link",
    )
    assert_error(
        env.control(f"/checkout/{link['id']}/complete", {"outcome": "nope"}),
        400,
        "The selected outcome is invalid.",
    )
    assert_error(
        env.control("/checkout/order_nope/cancel", {}), 400, "The id provided does not exist"
    )


def test_recurring_currency_must_match_the_order(env: Env) -> None:
    made = env.control("/tokens", {"outcome": "success"}).json()
    order = env.ok("POST", "/v1/orders", {"amount": 1000, "currency": "USD"})
    body = recurring_body(order, made["customer"]["id"], made["token"]["id"])
    assert_error(
        env.api("POST", "/v1/payments/create/recurring", body),
        400,
        "Currency should be same as order currency",
    )


def test_orders_can_be_listed_by_receipt(env: Env) -> None:
    """Razorpay's documented ``receipt`` filter: an exact match, in newest-first order."""
    first = env.ok("POST", "/v1/orders", {"amount": 5000, "currency": "INR", "receipt": "r-1"})
    env.ok("POST", "/v1/orders", {"amount": 7000, "currency": "INR", "receipt": "r-2"})
    found = env.ok("GET", "/v1/orders?receipt=r-1")
    assert found["entity"] == "collection"
    assert [order["id"] for order in found["items"]] == [first["id"]]
    assert env.ok("GET", "/v1/orders?receipt=r-")["items"] == []
