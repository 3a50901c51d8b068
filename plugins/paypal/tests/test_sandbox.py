"""Integration: the provider against the sandbox's PayPal fake, over real HTTP, on both paths.

The fake is an independent implementation of PayPal's API (its own money and signing code), so
these tests catch what a fake written alongside the plugin would agree with by mistake. The
headline flow is the one apps run: checkout → approval webhook → the provider's follow-up
captures → payment-succeeded webhook, all through paywire's webhook processor.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from paypal_fakes import run

import paywire
from paywire import EventType, Money, WebhookEvent
from paywire.webhooks import InMemoryEventStore, WebhookProcessor
from paywire_paypal import PayPalConfig, PayPalProvider

paywire_sandbox = pytest.importorskip("paywire_sandbox")
from paywire_sandbox.testing import WebhookReceiver  # noqa: E402

CLIENT_ID = "sandbox-integration-client"
CLIENT_SECRET = "sandbox-integration-secret-000"
WEBHOOK_ID = "5GP02839XM6105843"
SUCCESS = "https://shop.example.com/paid"
CANCEL = "https://shop.example.com/cart"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    with paywire_sandbox.run_sandbox(webhook_retry_delays=(0.05, 0.1)) as running:
        yield running


def _provider(sandbox: Any, **settings: Any) -> PayPalProvider:
    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        webhook_id=WEBHOOK_ID,
        base_url=sandbox.url + "/paypal",
        cert_hosts=("127.0.0.1",),
        **settings,
    )
    return PayPalProvider.create(config)


@pytest.fixture
def provider(sandbox: Any) -> Iterator[PayPalProvider]:
    sandbox.reset()
    built = _provider(sandbox)
    yield built
    built.close()


@pytest.fixture
def receiver(sandbox: Any, provider: PayPalProvider) -> Iterator[WebhookReceiver]:
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
    # Taken before processing: a webhook the follow-up causes may arrive meanwhile.
    arrived = receiver.requests[start:]
    events = []
    for headers, body in arrived:
        result = processor.process("paypal", body, headers)
        assert result.outcome == "processed", result
        assert result.event is not None
        events.append(result.event)
    return start + len(arrived), events


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


def test_the_async_path_pays_a_checkout_too(
    sandbox: Any, provider: PayPalProvider, receiver: WebhookReceiver
) -> None:
    async def flow() -> list[WebhookEvent]:
        invoice = _invoice("INV-SBX-ASYNC")
        session = await provider.create_checkout_session_async(
            invoice, success_url=SUCCESS, cancel_url=CANCEL
        )
        await asyncio.to_thread(
            _control, sandbox, f"/paypal/checkout/{session.id}/complete", {"outcome": "success"}
        )
        events: list[WebhookEvent] = []
        handled = 0
        for _ in range(2):  # the approval, then what its follow-up caused
            await asyncio.to_thread(sandbox.wait_for_webhooks, 10)
            # Taken before the follow-ups: a webhook one causes may arrive during them.
            arrived = receiver.requests[handled:]
            handled += len(arrived)
            for headers, body in arrived:
                await provider.verify_webhook_async(body, headers)
                event = provider.parse_webhook(body, headers)
                assert isinstance(event, WebhookEvent)
                events.append(await provider.follow_up_async(event) or event)
        await provider.aclose()
        return events

    events = asyncio.run(flow())
    assert [e.raw_type for e in events] == ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"]
    # The follow-up completed the approval with the capture it made; the capture's own event
    # names the same one.
    assert events[0].transaction_id == events[1].transaction_id
    assert events[1].invoice_id == "INV-SBX-ASYNC"
    assert events[1].amount == Money("12.34", "USD")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_setup_then_charge_then_refund(
    sandbox: Any, provider: PayPalProvider, receiver: WebhookReceiver, mode: str
) -> None:
    customer = paywire.Customer(id="user-2")
    session = run(
        provider, mode, "create_setup_session", customer, success_url=SUCCESS, cancel_url=CANCEL
    )
    approved = _control(sandbox, f"/paypal/checkout/{session.id}/complete", {"outcome": "success"})
    sandbox.wait_for_webhooks(timeout=10)
    assert not receiver.requests  # PayPal sends no webhook when a setup token is approved
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(approved["redirect_url"]).query))
    assert params["approval_token_id"] == session.id
    saved = run(provider, mode, "complete_setup", session, params=params)
    assert saved == run(provider, mode, "complete_setup", session.id)  # idempotent, old style too
    info = run(provider, mode, "get_payment_method_details", saved)
    assert info.type == "paypal"
    assert info.email
    charge = run(
        provider,
        mode,
        "charge_payment_method",
        saved,
        Money("25.00", "USD"),
        invoice_id=f"INV-SBX-2-{mode}",
    )
    assert charge.amount == Money("25.00", "USD")
    refund = run(provider, mode, "create_refund", charge.id, Money("5.00", "USD"))
    assert refund.amount == Money("5.00", "USD")
    with WebhookProcessor({"paypal": provider}, InMemoryEventStore()) as processor:
        _, events = _deliver(sandbox, receiver, processor, 0)
    (created,) = [e for e in events if e.raw_type == "VAULT.PAYMENT-TOKEN.CREATED"]
    assert created.type is EventType.SETUP_COMPLETED
    assert created.saved_payment_method == saved
    assert run(provider, mode, "complete_setup", created) == saved
    refunded = [e for e in events if e.type is EventType.REFUND_SUCCEEDED]
    assert refunded[0].transaction_id == charge.id
    assert refunded[0].amount == Money("5.00", "USD")
    assert refunded[0].invoice_id == f"INV-SBX-2-{mode}"


def test_a_charge_that_needs_the_payer_says_where_to_send_them(
    sandbox: Any, provider: PayPalProvider
) -> None:
    token = _control(
        sandbox,
        "/paypal/payment-tokens",
        {"outcome": "authentication_required", "merchant": CLIENT_ID},
    )
    method = paywire.SavedPaymentMethod("paypal", token["id"])
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        provider.charge_payment_method(method, Money("3.00", "USD"))
    assert caught.value.transaction_id
    assert caught.value.action_url
    assert caught.value.action_url.startswith(sandbox.url + "/paypal/")


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
    postback = _provider(sandbox, webhook_verification="postback")
    _control(sandbox, "/paypal/payment-tokens", {"merchant": CLIENT_ID})
    sandbox.wait_for_webhooks(timeout=10)
    ((headers, body),) = receiver.requests
    postback.verify_webhook_signature(body, headers)
    run(postback, "async", "verify_webhook", body, headers)
    with pytest.raises(paywire.InvalidSignature):
        postback.verify_webhook_signature(body + b" ", headers, "OTHERLISTENER1")
    provider.verify_webhook_signature(body, headers)  # and offline, with the sandbox's cert
    postback.close()
