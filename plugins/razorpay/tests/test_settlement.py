"""Charges and refunds that Razorpay settles later, and the webhooks that settle them.

Razorpay debits a recurring payment after its pre-debit notification (36 h 5 min by default) and
processes refunds later; the sandbox's contract is that advancing its clock by 48 hours settles
every pending recurring payment and refund. These tests hold whether the sandbox settles at once
or only then: a charge is succeeded or pending, and after the clock moves a webhook names the
invoice and the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from razorpay_helpers import WEBHOOK_SECRET, call, saved_card, unique

import paywire
from paywire import EventType, PaymentStatus, RefundStatus
from paywire_razorpay import RazorpayProvider

AMOUNT = paywire.Money("12.34", "INR")
SETTLE_ALL = 48 * 3600
DECLINING_CARD = "4000000000000002"


@pytest.fixture
def receiver(sandbox: Any) -> Iterator[Any]:
    """A webhook endpoint registered with the sandbox for this test only."""
    from paywire_sandbox.testing import WebhookReceiver

    with WebhookReceiver() as running:
        endpoint = sandbox.register_webhook("razorpay", running.url, WEBHOOK_SECRET)
        try:
            yield running
        finally:
            sandbox.remove_webhook(endpoint["id"])


def _settled_events(sandbox: Any, provider: RazorpayProvider, receiver: Any) -> list[Any]:
    """Advance the sandbox clock, wait for deliveries, and read them as the app would."""
    sandbox.advance_clock(SETTLE_ALL)
    sandbox.wait_for_webhooks(timeout=10)
    events = []
    for headers, body in receiver.requests:
        provider.verify_webhook(body, headers)
        try:
            events.append(provider.parse_webhook(body, headers))
        except paywire.UnknownEvent:
            continue
    return events


def test_a_charge_is_settled_by_a_webhook_naming_invoice_and_transaction(
    sandbox: Any, served: RazorpayProvider, receiver: Any, mode: str
) -> None:
    method = saved_card(sandbox)
    invoice_id = unique("INV-S-")
    result = call(served, mode, "charge_payment_method", method, AMOUNT, invoice_id=invoice_id)
    assert result.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING)
    assert result.invoice_id == invoice_id
    succeeded = [
        e
        for e in _settled_events(sandbox, served, receiver)
        if e.type is EventType.PAYMENT_SUCCEEDED and e.transaction_id == result.id
    ]
    assert {e.raw_type for e in succeeded} == {"payment.captured", "order.paid"}
    for event in succeeded:
        assert event.invoice_id == invoice_id
        assert event.amount == AMOUNT
        assert event.saved_payment_method == method


def test_a_failing_card_ends_in_a_decline_or_a_payment_failed_webhook(
    sandbox: Any, served: RazorpayProvider, receiver: Any, mode: str
) -> None:
    method = saved_card(sandbox, DECLINING_CARD)
    invoice_id = unique("INV-F-")
    declined: paywire.CardDeclined | None = None
    try:
        result = call(served, mode, "charge_payment_method", method, AMOUNT, invoice_id=invoice_id)
    except paywire.CardDeclined as exc:  # a sandbox that debits at once
        declined, transaction = exc, None
    else:
        assert result.status is PaymentStatus.PENDING
        transaction = result.id
    if declined is not None:
        assert declined.raw_code == "card_declined"
    failed = [
        e for e in _settled_events(sandbox, served, receiver) if e.type is EventType.PAYMENT_FAILED
    ]
    assert [e.invoice_id for e in failed] == [invoice_id]
    if transaction is not None:
        assert failed[0].transaction_id == transaction


def test_a_refund_is_settled_by_a_webhook_naming_the_transaction(
    sandbox: Any, served: RazorpayProvider, receiver: Any, mode: str
) -> None:
    method = saved_card(sandbox)
    invoice_id = unique("INV-R-")
    charge = call(served, mode, "charge_payment_method", method, AMOUNT, invoice_id=invoice_id)
    _settled_events(sandbox, served, receiver)  # the debit, where it comes later
    refund = call(served, mode, "create_refund", charge.id, paywire.Money("5", "INR"))
    assert refund.status in (RefundStatus.SUCCEEDED, RefundStatus.PENDING)
    assert refund.transaction_id == charge.id
    processed = [
        e
        for e in _settled_events(sandbox, served, receiver)
        if e.type is EventType.REFUND_SUCCEEDED and e.refund_id == refund.id
    ]
    assert len(processed) == 1
    assert processed[0].transaction_id == charge.id
    assert processed[0].amount == paywire.Money("5", "INR")
    assert processed[0].invoice_id == invoice_id


def test_every_delivery_is_identified_by_razorpays_event_id_header(
    sandbox: Any, served: RazorpayProvider, receiver: Any
) -> None:
    call(served, "sync", "charge_payment_method", saved_card(sandbox), AMOUNT)
    sandbox.advance_clock(SETTLE_ALL)
    sandbox.wait_for_webhooks(timeout=10)
    assert receiver.requests
    for headers, body in receiver.requests:
        try:
            event = served.parse_webhook(body, headers)
        except paywire.UnknownEvent:
            continue
        assert event.id == headers["X-Razorpay-Event-Id"]
