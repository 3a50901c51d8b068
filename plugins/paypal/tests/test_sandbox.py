"""Integration: the provider against the sandbox's PayPal fake, over real HTTP.

The fake is an independent implementation of PayPal's API (its own money and signing code), so
these tests catch what a fake written alongside the plugin would agree with by mistake. The
headline flow is the one apps run: checkout → approval webhook → the ready-made capture handler
→ payment-succeeded webhook, all through paywire's webhook processor.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import paywire
from paywire import EventType, Money, WebhookEvent
from paywire.webhooks import InMemoryEventStore, WebhookProcessor
from paywire_paypal import PayPalConfig, PayPalProvider

paywire_sandbox = pytest.importorskip("paywire_sandbox")
from paywire_sandbox.testing import WebhookReceiver  # noqa: E402

CLIENT_ID = "sandbox-integration-client"
CLIENT_SECRET = "sandbox-integration-secret-000"
WEBHOOK_ID = "WH-SANDBOXINTEGRATION01-SANDBOXINTEGRATI"
SUCCESS = "https://shop.example.com/paid"
CANCEL = "https://shop.example.com/cart"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    with paywire_sandbox.run_sandbox(webhook_retry_delays=(0.05, 0.1)) as running:
        yield running


@pytest.fixture
def provider(sandbox: Any) -> Iterator[PayPalProvider]:
    sandbox.reset()
    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_id=WEBHOOK_ID,
        base_url=sandbox.url + "/paypal",
        cert_hosts="127.0.0.1",
    )
    built = PayPalProvider.create(config)
    yield built
    built.close()


@pytest.fixture
def receiver(sandbox: Any) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        sandbox.register_webhook("paypal", running.url, "unused", webhook_id=WEBHOOK_ID)
        yield running


def _control(sandbox: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = sandbox.control("POST", path, json=body)
    assert response.status_code < 300, response.text
    result: dict[str, Any] = response.json()
    return result


def _invoice(invoice_id: str) -> paywire.Invoice:
    return paywire.Invoice(
        id=invoice_id,
        currency="USD",
        line_items=[
            paywire.LineItem("Plan", Money("10.00", "USD")),
            paywire.LineItem("Seat", Money("1.17", "USD"), quantity=2),
        ],
        customer=paywire.Customer(id="user-1"),
    )


def _deliver(
    sandbox: Any, receiver: WebhookReceiver, processor: WebhookProcessor, start: int
) -> tuple[int, list[WebhookEvent]]:
    sandbox.wait_for_webhooks(timeout=10)
    events = []
    for headers, body in receiver.requests[start:]:
        result = processor.process("paypal", body, headers)
        assert result.outcome == "processed", result
        assert result.event is not None
        events.append(result.event)
    return len(receiver.requests), events


def test_checkout_is_paid_through_the_processors_follow_up(
    sandbox: Any, provider: PayPalProvider, receiver: WebhookReceiver
) -> None:
    paid: list[WebhookEvent] = []
    with WebhookProcessor({"paypal": provider}, InMemoryEventStore()) as processor:
        processor.on(EventType.PAYMENT_SUCCEEDED)(paid.append)
        invoice = _invoice("INV-SBX-1")
        session = provider.create_checkout_session(invoice, success_url=SUCCESS, cancel_url=CANCEL)
        approved = _control(
            sandbox, f"/paypal/checkout/{session.id}/complete", {"outcome": "success"}
        )
        assert approved["redirect_url"].startswith(SUCCESS + "?token=" + session.id)
        seen, first = _deliver(sandbox, receiver, processor, 0)
        assert [e.raw_type for e in first] == ["CHECKOUT.ORDER.APPROVED"]
        assert first[0].invoice_id == "INV-SBX-1"
        assert first[0].amount == invoice.total
        # The processor's follow-up captured the order (no app code); the capture's webhook
        # says the invoice is paid.
        _, second = _deliver(sandbox, receiver, processor, seen)
    assert [e.raw_type for e in second] == ["PAYMENT.CAPTURE.COMPLETED"]
    assert len(paid) == 1
    assert paid[0].invoice_id == "INV-SBX-1"
    assert paid[0].amount == Money("12.34", "USD")
    # Capturing again (the return page after the webhook) is harmless and returns the capture.
    again = provider.capture_order(session.id)
    assert again.id == paid[0].transaction_id


def test_setup_then_charge_then_refund(
    sandbox: Any, provider: PayPalProvider, receiver: WebhookReceiver
) -> None:
    customer = paywire.Customer(id="user-2")
    session = provider.create_setup_session(customer, success_url=SUCCESS, cancel_url=CANCEL)
    approved = _control(sandbox, f"/paypal/checkout/{session.id}/complete", {"outcome": "success"})
    assert f"approval_token_id={session.id}" in approved["redirect_url"]
    saved = provider.complete_setup(session.id)
    assert saved == provider.complete_setup(session.id)  # idempotent
    info = provider.get_payment_method_details(saved.id)
    assert info.type == "paypal"
    assert info.email
    charge = provider.charge_payment_method(saved, Money("25.00", "USD"), invoice_id="INV-SBX-2")
    assert charge.amount == Money("25.00", "USD")
    refund = provider.create_refund(charge.id, Money("5.00", "USD"))
    assert refund.amount == Money("5.00", "USD")
    with WebhookProcessor({"paypal": provider}, InMemoryEventStore()) as processor:
        _, events = _deliver(sandbox, receiver, processor, 0)
    types = [(e.raw_type, e.type) for e in events]
    assert ("VAULT.PAYMENT-TOKEN.CREATED", EventType.SETUP_COMPLETED) in types
    refunded = [e for e in events if e.type is EventType.REFUND_SUCCEEDED]
    assert refunded[0].transaction_id == charge.id
    assert refunded[0].amount == Money("5.00", "USD")
    assert refunded[0].invoice_id == "INV-SBX-2"


def test_pending_capture_settles(sandbox: Any, provider: PayPalProvider) -> None:
    token = _control(
        sandbox, "/paypal/payment-tokens", {"outcome": "pending", "merchant": CLIENT_ID}
    )
    method = paywire.SavedPaymentMethod("paypal", token["id"])
    charge = provider.charge_payment_method(method, Money("3.00", "USD"))
    assert charge.status is paywire.PaymentStatus.PENDING
    settled = _control(sandbox, f"/paypal/captures/{charge.id}/settle", {"status": "COMPLETED"})
    assert settled["status"] == "COMPLETED"


def test_postback_verification_against_the_sandbox(
    sandbox: Any, provider: PayPalProvider, receiver: WebhookReceiver
) -> None:
    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_id=WEBHOOK_ID,
        base_url=sandbox.url + "/paypal",
        cert_hosts="127.0.0.1",
        webhook_verification="postback",
    )
    postback = PayPalProvider.create(config)
    _control(sandbox, "/paypal/payment-tokens", {"merchant": CLIENT_ID})
    sandbox.wait_for_webhooks(timeout=10)
    ((headers, body),) = receiver.requests
    postback.verify_webhook_signature(body, headers)
    with pytest.raises(paywire.InvalidSignature):
        postback.verify_webhook_signature(body + b" ", headers, "WH-OTHER")
    provider.verify_webhook_signature(body, headers)  # and offline, with the sandbox's cert
    postback.close()
