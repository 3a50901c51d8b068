"""PayPal webhooks from the fake: envelope, delivery, and the signature checked independently.

The signature check below is written from PayPal's documented algorithm, not from the fake's code:
fetch the PEM at ``PAYPAL-CERT-URL``, compute CRC-32 of the raw body as an unsigned decimal, and
verify ``base64(PAYPAL-TRANSMISSION-SIG)`` over ``"{id}|{time}|{webhook_id}|{crc}"`` with
RSA PKCS#1 v1.5 / SHA-256.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from test_paypal_api import (
    PayPalClient,
    PayPalSchemas,
    link_of,
    load_schemas,
    write_schema_report,
)

from paywire_sandbox import RunningSandbox
from paywire_sandbox.testing import Headers, WebhookReceiver

WEBHOOK_ID = "8PT597110X687430LKGECATA"


def verify_paypal_signature(headers: Headers, body: bytes, webhook_id: str) -> bool:
    """PayPal's offline webhook check, done from scratch."""
    certificate = x509.load_pem_x509_certificate(httpx.get(headers["PAYPAL-CERT-URL"]).content)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert headers["PAYPAL-AUTH-ALGO"] == "SHA256withRSA"
    crc = zlib.crc32(body) & 0xFFFFFFFF
    message = (
        f"{headers['PAYPAL-TRANSMISSION-ID']}|{headers['PAYPAL-TRANSMISSION-TIME']}|"
        f"{webhook_id}|{crc}"
    ).encode()
    try:
        public_key.verify(
            base64.b64decode(headers["PAYPAL-TRANSMISSION-SIG"]),
            message,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        return False
    return True


class Delivered:
    """The webhooks a receiver got, with helpers to trigger events through the API."""

    def __init__(self, paypal: PayPalClient, receiver: WebhookReceiver) -> None:
        self.paypal = paypal
        self.receiver = receiver

    def requests(self) -> list[tuple[Headers, bytes]]:
        self.paypal.sandbox.wait_for_webhooks()
        return list(self.receiver.requests)

    def approve_and_capture(self) -> tuple[dict[str, Any], str]:
        order = self.paypal.create_order()
        self.paypal.approve(order["id"])
        captured = self.paypal.post(f"/v2/checkout/orders/{order['id']}/capture").json()
        return order, captured["purchase_units"][0]["payments"]["captures"][0]["id"]


@pytest.fixture(scope="module")
def schemas() -> Iterator[PayPalSchemas]:
    found = load_schemas()
    yield found
    write_schema_report(found)


@pytest.fixture
def delivered(clean_sandbox: RunningSandbox, schemas: PayPalSchemas) -> Iterator[Delivered]:
    paypal = PayPalClient(clean_sandbox, schemas)
    with WebhookReceiver() as rx:
        clean_sandbox.register_webhook("paypal", rx.url, "unused", webhook_id=WEBHOOK_ID)
        yield Delivered(paypal, rx)
    paypal.close()


def test_delivered_webhooks_verify_and_tampering_fails(delivered: Delivered) -> None:
    delivered.approve_and_capture()
    requests = delivered.requests()
    assert [json.loads(body)["event_type"] for _h, body in requests] == [
        "CHECKOUT.ORDER.APPROVED",
        "PAYMENT.CAPTURE.COMPLETED",
    ]
    for headers, body in requests:
        assert verify_paypal_signature(headers, body, WEBHOOK_ID)
        tampered = body.replace(b'"1.0"', b'"1.1"', 1)
        assert tampered != body
        assert not verify_paypal_signature(headers, tampered, WEBHOOK_ID)
        assert not verify_paypal_signature(headers, body, "SOMEOTHERWEBHOOKID")


def test_signature_headers_look_like_paypals(delivered: Delivered) -> None:
    delivered.approve_and_capture()
    headers, _body = delivered.requests()[0]
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["PAYPAL-TRANSMISSION-ID"])
    sent = dt.datetime.strptime(headers["PAYPAL-TRANSMISSION-TIME"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(sent.replace(tzinfo=dt.UTC).timestamp() - delivered.paypal.sandbox.now()) < 60
    cert_url = headers["PAYPAL-CERT-URL"]
    assert cert_url.startswith(delivered.paypal.base + "/v1/notifications/certs/CERT-")
    pem = httpx.get(cert_url)
    assert pem.status_code == 200
    assert pem.content.startswith(b"-----BEGIN CERTIFICATE-----")
    wrong = httpx.get(cert_url.rsplit("/", 1)[0] + "/CERT-00000000-00000000-00000000")
    assert wrong.status_code == 404


def test_event_envelope(delivered: Delivered) -> None:
    order, capture_id = delivered.approve_and_capture()
    events = [json.loads(body) for _h, body in delivered.requests()]
    for event in events:
        assert re.fullmatch(r"WH-[0-9A-Z]{17}-[0-9A-Z]{17}", event["id"])
        assert event["event_version"] == "1.0"
        assert event["resource_version"] == "2.0"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["create_time"])
        assert event["summary"]
        assert link_of(event, "self").endswith(f"/v1/notifications/webhooks-events/{event['id']}")
        fetched = delivered.paypal.get(f"/v1/notifications/webhooks-events/{event['id']}")
        assert fetched.json() == event
    approved, completed = events
    assert approved["resource"]["id"] == order["id"]
    assert completed["resource"]["id"] == capture_id
    assert completed["summary"] == "Payment completed for 10.00 USD"


def test_redelivery_is_signed_again(delivered: Delivered) -> None:
    delivered.approve_and_capture()
    delivered.requests()
    first = delivered.paypal.sandbox.deliveries("paypal")[0]
    delivered.paypal.sandbox.redeliver(first["id"])
    requests = delivered.requests()
    assert len(requests) == 3
    original, again = requests[0], requests[2]
    assert original[1] == again[1]
    assert original[0]["PAYPAL-TRANSMISSION-ID"] != again[0]["PAYPAL-TRANSMISSION-ID"]
    assert verify_paypal_signature(again[0], again[1], WEBHOOK_ID)


def _postback(headers: Headers, body: bytes, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "auth_algo": headers["PAYPAL-AUTH-ALGO"],
        "cert_url": headers["PAYPAL-CERT-URL"],
        "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
        "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
        "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
        "webhook_id": WEBHOOK_ID,
        "webhook_event": json.loads(body),
    }
    payload.update(overrides)
    return payload


def test_verify_webhook_signature_postback(delivered: Delivered) -> None:
    delivered.approve_and_capture()
    headers, body = delivered.requests()[1]
    path = "/v1/notifications/verify-webhook-signature"

    def status(payload: dict[str, Any]) -> str:
        response = delivered.paypal.post(path, payload)
        assert response.status_code == 200
        result: str = response.json()["verification_status"]
        return result

    assert status(_postback(headers, body)) == "SUCCESS"
    event = json.loads(body)
    event["resource"]["amount"]["value"] = "0.01"
    assert status(_postback(headers, body, webhook_event=event)) == "FAILURE"
    assert status(_postback(headers, body, webhook_id="ANOTHERWEBHOOK1")) == "FAILURE"
    assert status(_postback(headers, body, auth_algo="SHA1withRSA")) == "FAILURE"
    other_cert = headers["PAYPAL-CERT-URL"].rsplit("/", 1)[0] + "/CERT-1-2-3"
    assert status(_postback(headers, body, cert_url=other_cert)) == "FAILURE"
    assert status(_postback(headers, body, transmission_sig="bm90IGEgc2lnbmF0dXJl")) == "FAILURE"
    assert status(_postback(headers, body, transmission_sig="***")) == "FAILURE"
    incomplete = _postback(headers, body)
    del incomplete["webhook_id"]
    response = delivered.paypal.post(path, incomplete)
    assert response.status_code == 400


def test_vault_token_events(delivered: Delivered) -> None:
    token = delivered.paypal.vault_token()
    delivered.paypal.delete(f"/v3/vault/payment-tokens/{token['id']}")
    events = [json.loads(body) for _h, body in delivered.requests()]
    assert [e["event_type"] for e in events] == [
        "VAULT.PAYMENT-TOKEN.CREATED",
        "VAULT.PAYMENT-TOKEN.DELETED",
    ]
    assert all(e["resource_type"] == "payment_token" for e in events)
    assert events[0]["resource"]["customer"]["id"] == token["customer"]["id"]
    assert events[1]["resource"]["id"] == token["id"]


def test_refund_event_resource_is_the_refund(delivered: Delivered) -> None:
    _order, capture_id = delivered.approve_and_capture()
    refund = delivered.paypal.post(
        f"/v2/payments/captures/{capture_id}/refund",
        {"amount": {"currency_code": "USD", "value": "1.00"}},
    ).json()
    event = json.loads(delivered.requests()[-1][1])
    assert event["event_type"] == "PAYMENT.CAPTURE.REFUNDED"
    assert event["resource"]["id"] == refund["id"]
    assert link_of(event["resource"], "up").endswith(f"/v2/payments/captures/{capture_id}")
    assert event["summary"] == "A 1.00 USD capture payment was refunded"
