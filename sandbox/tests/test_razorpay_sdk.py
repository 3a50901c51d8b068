"""The official ``razorpay`` SDK, unmodified, against the served sandbox.

Every call goes over HTTP to ``run_sandbox``'s server (the ``clean_sandbox`` fixture); hosted
checkouts are completed through the control API, webhooks are received by a local receiver and
checked with the SDK's own verifier as well as an independent HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import razorpay
import requests
from razorpay.errors import BadRequestError, ServerError, SignatureVerificationError

from paywire_sandbox import RunningSandbox
from paywire_sandbox.razorpay._timing import SETTLE_ALL
from paywire_sandbox.testing import WebhookReceiver

KEY_ID = "rzp_test_SdkKey00000001"
KEY_SECRET = "sdk-secret-0123456789"
WEBHOOK_SECRET = "razorpay-webhook-secret"


@pytest.fixture
def client(clean_sandbox: RunningSandbox) -> Iterator[razorpay.Client]:
    session = requests.Session()
    try:
        yield razorpay.Client(
            session=session, auth=(KEY_ID, KEY_SECRET), base_url=clean_sandbox.url + "/razorpay"
        )
    finally:
        session.close()


def complete(sb: RunningSandbox, target_id: str, **body: object) -> dict[str, Any]:
    response = sb.control("POST", f"/razorpay/checkout/{target_id}/complete", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def new_link(client: razorpay.Client, **extra: object) -> dict[str, Any]:
    body: dict[str, object] = {
        "amount": 129900,
        "currency": "INR",
        "description": "Invoice INV-42",
        "reference_id": f"INV-{uuid.uuid4().hex[:12]}",
        "customer": {"name": "Asha", "email": "asha@example.com", "contact": "+919876543210"},
        "notify": {"sms": False, "email": False},
        "notes": {"invoice_id": "INV-42"},
        "callback_url": "https://merchant.example/paid",
        "callback_method": "get",
    }
    body.update(extra)
    link: dict[str, Any] = client.payment_link.create(body)
    return link


def test_payment_link_round_trip_and_callback_signature(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    link = new_link(client)
    assert link["status"] == "created"
    assert link["short_url"].startswith(clean_sandbox.url + "/razorpay/pay/plink_")
    assert client.payment_link.fetch(link["id"])["reference_id"] == link["reference_id"]

    result = complete(clean_sandbox, link["id"], card="4111111111111111")
    query = parse_qs(urlsplit(result["redirect_url"]).query)
    params = {key: values[0] for key, values in query.items()}
    assert params["razorpay_payment_link_status"] == "paid"

    # The SDK's own checker, fed the callback's parameters as its docs describe.
    sdk_params = {
        "payment_link_id": params["razorpay_payment_link_id"],
        "payment_link_reference_id": params["razorpay_payment_link_reference_id"],
        "payment_link_status": params["razorpay_payment_link_status"],
        "razorpay_payment_id": params["razorpay_payment_id"],
        "razorpay_signature": params["razorpay_signature"],
    }
    assert client.utility.verify_payment_link_signature(sdk_params) is True
    message = "|".join(
        [link["id"], link["reference_id"], "paid", params["razorpay_payment_id"]]
    ).encode()
    assert params["razorpay_signature"] == hmac_hex(KEY_SECRET, message)
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_payment_link_signature(
            {**sdk_params, "razorpay_payment_id": "pay_Forged000000000"}
        )
    with pytest.raises(SignatureVerificationError):
        client.utility.verify_payment_link_signature({**sdk_params, "secret": "another-secret"})

    assert client.payment_link.fetch(link["id"])["status"] == "paid"
    payment = client.payment.fetch(params["razorpay_payment_id"])
    assert (payment["status"], payment["amount"], payment["order_id"]) == (
        "captured",
        129900,
        link["order_id"],
    )
    assert client.order.fetch(link["order_id"])["status"] == "paid"


def test_hosted_page_works_over_http(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    link = new_link(client)
    with httpx.Client(follow_redirects=False, trust_env=False) as browser:
        page = browser.get(link["short_url"])
        assert page.status_code == 200
        assert "id=card-number" in page.text
        declined = browser.post(link["short_url"], data={"card_number": "4000000000009995"})
        assert "insufficient account balance" in declined.text
        action = re.search(r'<form id=payment-form method=post action="([^"]+)"', page.text)
        assert action is not None
        assert action.group(1) == urlsplit(link["short_url"]).path
        paid = browser.post(
            clean_sandbox.url + action.group(1), data={"card_number": "4111111111111111"}
        )
    assert paid.status_code == 303
    assert paid.headers["location"].startswith("https://merchant.example/paid?")
    assert "razorpay_signature=" in paid.headers["location"]


def test_cancel_and_errors_through_the_sdk(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    link = new_link(client)
    assert client.payment_link.cancel(link["id"])["status"] == "cancelled"
    with pytest.raises(BadRequestError, match="cannot cancel or expire an expired link"):
        client.payment_link.cancel(link["id"])
    with pytest.raises(BadRequestError, match="The id provided does not exist"):
        client.payment.fetch("pay_DoesNotExist00")
    reused = new_link(client)
    with pytest.raises(BadRequestError, match="payment link creation with reference ID"):
        new_link(client, reference_id=reused["reference_id"])
    with pytest.raises(BadRequestError, match="The selected callback method is invalid"):
        new_link(client, callback_method="post")

    session = requests.Session()
    try:
        stranger = razorpay.Client(
            session=session, auth=("rzp_live_nope", "x"), base_url=clean_sandbox.url + "/razorpay"
        )
        with pytest.raises(BadRequestError, match="The api key provided is invalid"):
            stranger.order.fetch("order_X")
    finally:
        session.close()


def test_expiry_follows_the_sandbox_clock(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    expire_by = int(clean_sandbox.now()) + 1800
    link = new_link(client, expire_by=expire_by)
    clean_sandbox.advance_clock(1801)
    fetched = client.payment_link.fetch(link["id"])
    assert (fetched["status"], fetched["expired_at"]) == ("expired", expire_by)


def test_customers_with_fail_existing(client: razorpay.Client) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    customer = client.customer.create({"name": "Gaurav", "email": email, "contact": "9123456780"})
    assert client.customer.fetch(customer["id"])["email"] == email
    with pytest.raises(BadRequestError, match="Customer already exists for the merchant"):
        client.customer.create({"name": "Gaurav", "email": email})
    assert client.customer.create({"email": email, "fail_existing": "0"})["id"] == customer["id"]


def test_registration_recurring_refund_and_token_delete(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    invoice = client.registration_link.create(
        {
            "customer": {"name": "Ravi", "email": "ravi@example.com", "contact": "9123456780"},
            "type": "link",
            "amount": 100,
            "currency": "INR",
            "description": "Card mandate for the Gold plan",
            "subscription_registration": {
                "method": "card",
                "max_amount": 500000,
                "expire_at": int(clean_sandbox.now()) + 86400 * 365,
                "frequency": "monthly",
            },
            "receipt": "REG-7",
            "sms_notify": 0,
            "email_notify": 0,
            "notes": {"plan": "gold"},
        }
    )
    assert invoice["status"] == "issued"
    registered = complete(clean_sandbox, invoice["id"], outcome="success")
    customer_id, token_id = registered["customer_id"], registered["token_id"]

    tokens = client.token.all(customer_id)
    assert [t["id"] for t in tokens["items"]] == [token_id]
    token = client.token.fetch(customer_id, token_id)
    assert token["recurring_details"]["status"] == "confirmed"
    assert (token["card"]["last4"], token["card"]["network"]) == ("1111", "Visa")
    assert client.payment.fetch(registered["payment_id"])["token_id"] == token_id

    order = client.order.create(
        {"amount": 49900, "currency": "INR", "receipt": "INV-77", "payment_capture": True}
    )
    charged = client.payment.createRecurring(
        {
            "email": "ravi@example.com",
            "contact": "9123456780",
            "amount": 49900,
            "currency": "INR",
            "order_id": order["id"],
            "customer_id": customer_id,
            "token": token_id,
            "recurring": "1",
            "description": "Gold plan renewal",
            "notes": {"invoice_id": "INV-77"},
        }
    )
    assert client.utility.verify_payment_signature(charged) is True
    payment_id = charged["razorpay_payment_id"]
    # Debited asynchronously (after the pre-debit notice); 48 h settles it, as documented.
    assert client.payment.fetch(payment_id)["status"] == "created"
    clean_sandbox.advance_clock(SETTLE_ALL)
    assert client.payment.fetch(payment_id)["status"] == "captured"

    key = {"X-Refund-Idempotency": f"refund-{uuid.uuid4().hex}"}
    refund = client.payment.refund(
        payment_id, {"amount": 10000, "notes": {"why": "goodwill"}}, headers=key
    )
    replay = client.payment.refund(
        payment_id, {"amount": 10000, "notes": {"why": "goodwill"}}, headers=key
    )
    assert replay == refund
    with pytest.raises(BadRequestError, match="Different request with the same idempotency key"):
        client.payment.refund(payment_id, {"amount": 20000}, headers=key)
    rest = client.payment.refund(payment_id, {})
    assert rest["amount"] == 39900
    with pytest.raises(BadRequestError, match="The payment has been fully refunded already"):
        client.payment.refund(payment_id, {"amount": 100})
    refunds = client.payment.fetch_multiple_refund(payment_id)
    assert sorted(r["amount"] for r in refunds["items"]) == [10000, 39900]
    assert client.refund.fetch(refund["id"])["status"] == "pending"
    clean_sandbox.advance_clock(SETTLE_ALL)
    assert client.refund.fetch(refund["id"])["status"] == "processed"
    assert client.payment.fetch_refund_id(payment_id, rest["id"])["amount"] == 39900
    assert client.payment.fetch(payment_id)["status"] == "refunded"

    assert client.token.delete(customer_id, token_id) == {"deleted": True}
    with pytest.raises(BadRequestError, match="The id provided does not exist"):
        client.token.fetch(customer_id, token_id)


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ("insufficient_funds", "insufficient_funds"),
        ("decline", "card_declined"),
        ("expired", "card_expired"),
        ("processing_error", "gateway_technical_error"),
    ],
)
def test_recurring_failures_arrive_after_the_debit(
    clean_sandbox: RunningSandbox, client: razorpay.Client, outcome: str, reason: str
) -> None:
    made = clean_sandbox.control("POST", "/razorpay/tokens", json={"outcome": outcome}).json()
    order = client.order.create({"amount": 10000, "currency": "INR"})
    body = {
        "email": "renewals@example.com",
        "contact": "+919123456780",
        "amount": 10000,
        "currency": "INR",
        "order_id": order["id"],
        "customer_id": made["customer"]["id"],
        "token": made["token"]["id"],
        "recurring": "1",
    }
    charged = client.payment.createRecurring(body)
    assert client.payment.fetch(charged["razorpay_payment_id"])["status"] == "created"
    clean_sandbox.advance_clock(SETTLE_ALL)
    payments = client.order.payments(order["id"])["items"]
    assert [(p["status"], p["error_reason"]) for p in payments] == [("failed", reason)]


def test_recurring_charge_needs_email_and_contact(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    made = clean_sandbox.control("POST", "/razorpay/tokens", json={"outcome": "success"}).json()
    order = client.order.create({"amount": 10000, "currency": "INR"})
    body = {
        "email": "renewals@example.com",
        "contact": "+919123456780",
        "amount": 10000,
        "currency": "INR",
        "order_id": order["id"],
        "customer_id": made["customer"]["id"],
        "token": made["token"]["id"],
        "recurring": "1",
    }
    for missing in ("email", "contact"):
        partial = {k: v for k, v in body.items() if k != missing}
        with pytest.raises(BadRequestError, match=f"The {missing} field is required."):
            client.payment.createRecurring(partial)


def test_injected_server_error_is_razorpay_shaped(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    clean_sandbox.add_fault(
        provider="razorpay", method="POST", path="/v1/orders", kind="server_error"
    )
    with pytest.raises(ServerError):
        client.order.create({"amount": 100, "currency": "INR"})
    order = client.order.create({"amount": 100, "currency": "INR"})  # the fault was used up
    assert order["status"] == "created"
    clean_sandbox.add_fault(
        provider="razorpay", method="GET", path="/v1/orders/*", kind="server_error"
    )
    raw = httpx.get(
        f"{clean_sandbox.url}/razorpay/v1/orders/{order['id']}", auth=(KEY_ID, KEY_SECRET)
    )
    assert raw.status_code == 500
    assert raw.json()["error"]["code"] == "SERVER_ERROR"
    clean_sandbox.add_fault(
        provider="razorpay", method="POST", path="/v1/orders", kind="rate_limit", retry_after=2
    )
    limited = httpx.post(
        f"{clean_sandbox.url}/razorpay/v1/orders",
        json={"amount": 100, "currency": "INR"},
        auth=(KEY_ID, KEY_SECRET),
    )
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "2")
    assert limited.json()["error"]["description"] == "Request failed. Please try after sometime."


def test_webhooks_are_signed_and_verifiable_with_the_sdk(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    with WebhookReceiver() as receiver:
        clean_sandbox.register_webhook("razorpay", receiver.url, WEBHOOK_SECRET)
        link = new_link(client)
        complete(clean_sandbox, link["id"], outcome="success")
        received = receiver.wait_for(4)
        clean_sandbox.wait_for_webhooks()
    events = {}
    for headers, body in received:
        signature = headers["X-Razorpay-Signature"]
        assert client.utility.verify_webhook_signature(body.decode(), signature, WEBHOOK_SECRET)
        assert signature == hmac_hex(WEBHOOK_SECRET, body)
        with pytest.raises(SignatureVerificationError):
            client.utility.verify_webhook_signature(body.decode() + " ", signature, WEBHOOK_SECRET)
        with pytest.raises(SignatureVerificationError):
            client.utility.verify_webhook_signature(body.decode(), signature, "wrong-secret")
        event = json.loads(body)
        events[event["event"]] = (headers["X-Razorpay-Event-Id"], event)
    assert set(events) == {
        "payment.authorized",
        "payment.captured",
        "order.paid",
        "payment_link.paid",
    }
    assert len({event_id for event_id, _ in events.values()}) == 4
    paid = events["payment_link.paid"][1]
    assert paid["payload"]["payment_link"]["entity"]["id"] == link["id"]
    assert paid["payload"]["payment_link"]["entity"]["reference_id"] == link["reference_id"]
    assert paid["account_id"].startswith("acc_")


def test_a_retried_webhook_keeps_its_event_id(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    with WebhookReceiver(statuses=[500]) as receiver:
        clean_sandbox.register_webhook("razorpay", receiver.url, WEBHOOK_SECRET)
        made = clean_sandbox.control("POST", "/razorpay/tokens", json={"outcome": "success"}).json()
        client.token.delete(made["customer"]["id"], made["token"]["id"])  # token.cancelled
        first, retry = receiver.wait_for(2)
        clean_sandbox.wait_for_webhooks()
    assert first[1] == retry[1]
    assert first[0]["X-Razorpay-Event-Id"] == retry[0]["X-Razorpay-Event-Id"]
    assert json.loads(first[1])["event"] == "token.cancelled"
    deliveries = clean_sandbox.deliveries("razorpay")
    assert [d["status"] for d in deliveries] == [500, 200]
    assert deliveries[0]["event_id"] == first[0]["X-Razorpay-Event-Id"]


def test_registration_webhooks(clean_sandbox: RunningSandbox, client: razorpay.Client) -> None:
    with WebhookReceiver() as receiver:
        clean_sandbox.register_webhook("razorpay", receiver.url, WEBHOOK_SECRET)
        customer = client.customer.create({"name": "Meera", "email": f"{time.time_ns()}@ex.com"})
        order = client.order.create(
            {
                "amount": 100,
                "currency": "INR",
                "customer_id": customer["id"],
                "method": "card",
                "token": {
                    "max_amount": 150000,
                    "expire_at": int(clean_sandbox.now()) + 86400,
                    "frequency": "as_presented",
                },
            }
        )
        result = complete(clean_sandbox, order["id"], card="5267318187975449")
        received = receiver.wait_for(4)
        clean_sandbox.wait_for_webhooks()
    names = [json.loads(body)["event"] for _, body in received]
    assert sorted(names) == [
        "order.paid",
        "payment.authorized",
        "payment.captured",
        "token.confirmed",
    ]
    confirmed = next(
        json.loads(b) for _, b in received if json.loads(b)["event"] == "token.confirmed"
    )
    token = confirmed["payload"]["token"]["entity"]
    assert token["id"] == result["token_id"]
    assert token["recurring_details"]["status"] == "confirmed"
    assert token["card"]["network"] == "MasterCard"
    assert client.utility.verify_payment_signature(
        {
            "razorpay_order_id": result["razorpay_order_id"],
            "razorpay_payment_id": result["payment_id"],
            "razorpay_signature": result["razorpay_signature"],
        }
    )


def test_refund_retry_after_a_lost_response_does_not_refund_twice(
    clean_sandbox: RunningSandbox, client: razorpay.Client
) -> None:
    link = new_link(client, amount=10000)
    payment_id = complete(clean_sandbox, link["id"], outcome="success")["payment_id"]
    clean_sandbox.add_fault(
        provider="razorpay", method="POST", path="/v1/payments/*/refund", kind="drop_after_commit"
    )
    url = f"{clean_sandbox.url}/razorpay/v1/payments/{payment_id}/refund"
    headers = {"X-Refund-Idempotency": "lost-response-0001"}
    with httpx.Client(auth=(KEY_ID, KEY_SECRET), trust_env=False) as http:
        with pytest.raises(httpx.TransportError):
            http.post(url, json={"amount": 4000}, headers=headers)
        retried = http.post(url, json={"amount": 4000}, headers=headers)
    assert retried.status_code == 200
    refunds = client.payment.fetch_multiple_refund(payment_id)["items"]
    assert [r["id"] for r in refunds] == [retried.json()["id"]]
    assert client.payment.fetch(payment_id)["amount_refunded"] == 4000
