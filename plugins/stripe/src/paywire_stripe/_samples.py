"""Stripe event payloads shaped as Stripe sends them, for the contract harness and the tests.

Objects carry the fields paywire reads plus the usual surrounding ones, in the shape of the API
version the plugin speaks (a Charge does not embed its refunds), so that a payload is about the
size of a real one (a ``payment_intent.succeeded`` event is ~1.8 KB as indented JSON).
"""

from __future__ import annotations

from typing import Any

from paywire import EventType
from paywire_stripe._config import API_VERSION

__all__ = ["INVOICE_ID", "event", "objects", "webhook_samples"]

INVOICE_ID = "INV-2024-0001"
_CREATED = 1_721_948_530
_CUSTOMER = "cus_QXg1hqf4jFNsqG"
_METHOD = "pm_1Pgc75B7WZ01zgkWlHVgdEGJ"
_INTENT = "pi_3PgafyB7WZ01zgkW1Sjxs0Jo"
_CHARGE = "ch_3PgafyB7WZ01zgkW1XYmPNZs"
_SESSION = "cs_test_a1b2c3d4e5f6g7h8i9j0"


def event(event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """A Stripe Event envelope around ``obj``."""
    return {
        "id": event_id or "evt_" + event_type.replace(".", "_")[:20] + "0001",
        "object": "event",
        "api_version": API_VERSION,
        "created": _CREATED + 1,
        "data": {"object": obj, "previous_attributes": None},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_e2mXxQ5Fv0Qb1n", "idempotency_key": None},
        "type": event_type,
    }


def _session(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": _SESSION,
        "object": "checkout.session",
        "amount_subtotal": 2500,
        "amount_total": 2500,
        "cancel_url": "https://shop.example.com/cancel",
        "client_reference_id": INVOICE_ID,
        "created": _CREATED,
        "currency": "usd",
        "customer": _CUSTOMER,
        "customer_creation": None,
        "customer_email": None,
        "expires_at": _CREATED + 86_400,
        "livemode": False,
        "metadata": {"invoice_id": INVOICE_ID},
        "mode": "payment",
        "payment_intent": _INTENT,
        "payment_status": "paid",
        "setup_intent": None,
        "status": "complete",
        "success_url": "https://shop.example.com/paid?session={CHECKOUT_SESSION_ID}",
        "url": None,
    }
    obj.update(changes)
    return obj


def _payment_intent(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": _INTENT,
        "object": "payment_intent",
        "amount": 2000,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 2000,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": _INTENT + "_secret_Dm43xiq1k0ywrRRjDoi8y1gkM",
        "confirmation_method": "automatic",
        "created": _CREATED,
        "currency": "usd",
        "customer": _CUSTOMER,
        "description": "Renewal of INV-2024-0001",
        "last_payment_error": None,
        "latest_charge": _CHARGE,
        "livemode": False,
        "metadata": {"invoice_id": INVOICE_ID},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": _METHOD,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": "buyer@example.com",
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    obj.update(changes)
    return obj


def _charge(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": _CHARGE,
        "object": "charge",
        "amount": 2000,
        "amount_captured": 2000,
        "amount_refunded": 0,
        "captured": True,
        "created": _CREATED,
        "currency": "usd",
        "customer": _CUSTOMER,
        "description": "Renewal of INV-2024-0001",
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": {"invoice_id": INVOICE_ID},
        "outcome": {"network_status": "approved_by_network", "type": "authorized"},
        "paid": True,
        "payment_intent": _INTENT,
        "payment_method": _METHOD,
        "refunded": False,
        "status": "succeeded",
    }
    obj.update(changes)
    return obj


def _refund(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "re_3PgafyB7WZ01zgkW1qPvrRrP",
        "object": "refund",
        "amount": 500,
        "charge": _CHARGE,
        "created": _CREATED,
        "currency": "usd",
        "metadata": {"invoice_id": INVOICE_ID},
        "payment_intent": _INTENT,
        "reason": "requested_by_customer",
        "status": "succeeded",
    }
    obj.update(changes)
    return obj


def _setup_intent(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "seti_1Pgag7B7WZ01zgkWSgwGdb8Z",
        "object": "setup_intent",
        "created": _CREATED,
        "customer": _CUSTOMER,
        "last_setup_error": None,
        "livemode": False,
        "metadata": {"customer_id": "user-42"},
        "payment_method": _METHOD,
        "payment_method_types": ["card"],
        "status": "succeeded",
        "usage": "off_session",
    }
    obj.update(changes)
    return obj


def _payment_method(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": _METHOD,
        "object": "payment_method",
        "billing_details": {"email": "buyer@example.com", "name": "Jenny Rosen"},
        "card": {
            "brand": "visa",
            "country": "US",
            "exp_month": 8,
            "exp_year": 2030,
            "funding": "credit",
            "last4": "4242",
        },
        "created": _CREATED,
        "customer": _CUSTOMER,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }
    obj.update(changes)
    return obj


def _dispute(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "dp_1Pgc71B7WZ01zgkWMevJiAUx",
        "object": "dispute",
        "amount": 2000,
        "charge": _CHARGE,
        "created": _CREATED,
        "currency": "usd",
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": _INTENT,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    obj.update(changes)
    return obj


def objects() -> dict[str, Any]:
    """Builders for each kind of object, keyed by Stripe's ``object`` name (for tests)."""
    return {
        "checkout.session": _session,
        "payment_intent": _payment_intent,
        "charge": _charge,
        "refund": _refund,
        "setup_intent": _setup_intent,
        "payment_method": _payment_method,
        "dispute": _dispute,
    }


def webhook_samples() -> list[tuple[dict[str, Any], EventType]]:
    """One event per Stripe type paywire maps (and per status that changes the mapping)."""
    failed_intent = _payment_intent(
        status="requires_payment_method",
        amount_received=0,
        last_payment_error={"code": "card_declined", "decline_code": "generic_decline"},
    )
    return [
        (event("checkout.session.completed", _session()), EventType.CHECKOUT_COMPLETED),
        (
            event(
                "checkout.session.completed",
                _session(payment_status="unpaid"),
                event_id="evt_session_unpaid0001",
            ),
            EventType.PAYMENT_PENDING,
        ),
        (
            event(
                "checkout.session.completed",
                _session(
                    mode="setup",
                    amount_total=None,
                    amount_subtotal=None,
                    currency="usd",
                    payment_intent=None,
                    payment_status="no_payment_required",
                    setup_intent="seti_1Pgag7B7WZ01zgkWSgwGdb8Z",
                    client_reference_id=None,
                    metadata={"customer_id": "user-42"},
                ),
                event_id="evt_session_setup0001",
            ),
            EventType.SETUP_COMPLETED,
        ),
        (
            event(
                "checkout.session.expired",
                _session(status="expired", payment_status="unpaid", payment_intent=None),
            ),
            EventType.CHECKOUT_EXPIRED,
        ),
        (
            event("checkout.session.async_payment_succeeded", _session()),
            EventType.PAYMENT_SUCCEEDED,
        ),
        (
            event("checkout.session.async_payment_failed", _session(payment_status="unpaid")),
            EventType.PAYMENT_FAILED,
        ),
        (event("payment_intent.succeeded", _payment_intent()), EventType.PAYMENT_SUCCEEDED),
        (event("payment_intent.payment_failed", failed_intent), EventType.PAYMENT_FAILED),
        (
            event(
                "payment_intent.requires_action",
                _payment_intent(status="requires_action", amount_received=0),
            ),
            EventType.PAYMENT_REQUIRES_ACTION,
        ),
        (
            event("payment_intent.processing", _payment_intent(status="processing")),
            EventType.PAYMENT_PENDING,
        ),
        (
            event("payment_intent.canceled", _payment_intent(status="canceled")),
            EventType.PAYMENT_FAILED,
        ),
        (event("charge.succeeded", _charge()), EventType.PAYMENT_SUCCEEDED),
        (
            event("charge.failed", _charge(status="failed", paid=False, captured=False)),
            EventType.PAYMENT_FAILED,
        ),
        (event("charge.pending", _charge(status="pending")), EventType.PAYMENT_PENDING),
        (event("charge.refund.updated", _refund()), EventType.REFUND_SUCCEEDED),
        (event("refund.created", _refund(status="pending")), EventType.REFUND_CREATED),
        (
            event("refund.created", _refund(), event_id="evt_refund_created_ok01"),
            EventType.REFUND_SUCCEEDED,
        ),
        (event("refund.updated", _refund()), EventType.REFUND_SUCCEEDED),
        (
            event("refund.updated", _refund(status="failed"), event_id="evt_refund_upd_failed01"),
            EventType.REFUND_FAILED,
        ),
        (
            event("refund.failed", _refund(status="failed", failure_reason="declined")),
            EventType.REFUND_FAILED,
        ),
        (event("setup_intent.succeeded", _setup_intent()), EventType.SETUP_COMPLETED),
        (
            event(
                "setup_intent.setup_failed",
                _setup_intent(
                    status="requires_payment_method",
                    payment_method=None,
                    last_setup_error={"code": "card_declined"},
                ),
            ),
            EventType.SETUP_FAILED,
        ),
        (
            event("payment_method.attached", _payment_method()),
            EventType.PAYMENT_METHOD_ATTACHED,
        ),
        (
            event("payment_method.detached", _payment_method(customer=None)),
            EventType.PAYMENT_METHOD_DETACHED,
        ),
        (event("payment_method.updated", _payment_method()), EventType.PAYMENT_METHOD_UPDATED),
        (
            event("payment_method.automatically_updated", _payment_method()),
            EventType.PAYMENT_METHOD_UPDATED,
        ),
        (event("charge.dispute.created", _dispute()), EventType.DISPUTE_OPENED),
        (
            event("charge.dispute.updated", _dispute(status="under_review")),
            EventType.DISPUTE_OPENED,
        ),
        (
            event(
                "charge.dispute.updated",
                _dispute(status="won"),
                event_id="evt_dispute_upd_won0001",
            ),
            EventType.DISPUTE_CLOSED,
        ),
        (event("charge.dispute.funds_withdrawn", _dispute()), EventType.DISPUTE_OPENED),
        (event("charge.dispute.closed", _dispute(status="lost")), EventType.DISPUTE_CLOSED),
        (
            event("charge.dispute.funds_reinstated", _dispute(status="won")),
            EventType.DISPUTE_CLOSED,
        ),
    ]
