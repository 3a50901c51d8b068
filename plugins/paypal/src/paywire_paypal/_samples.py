"""Sample PayPal webhook events, shaped as PayPal sends them (for the contract harness and tests).

Every event type :data:`paywire_paypal.EVENT_TYPES` maps has one sample, with the normalized type
it must become. The invoice id ``INV-SAMPLE-1`` and the amount ``USD 24.34`` run through them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from paywire import EventType

__all__ = ["SAMPLE_AMOUNT", "SAMPLE_INVOICE", "event", "webhook_samples"]

SAMPLE_INVOICE: Final = "INV-SAMPLE-1"
SAMPLE_AMOUNT: Final = {"currency_code": "USD", "value": "24.34"}
_API: Final = "https://api-m.sandbox.paypal.com"
_ORDER: Final = "5O190127TN364715T"
_CAPTURE: Final = "3C679366HH908993F"
_REFUND: Final = "1JU08902781691411"
_TOKEN: Final = "8kk8451t"  # noqa: S105 - a payment token id, not a credential
_CUSTOMER: Final = "customer_4029352050"


def event(
    event_type: str,
    resource: Mapping[str, Any],
    *,
    resource_type: str,
    resource_version: str = "2.0",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A webhook envelope around ``resource``."""
    digest = hashlib.sha256(event_type.encode()).hexdigest().upper()
    ident = event_id or f"WH-{digest[:19]}-{digest[19:36]}"
    return {
        "id": ident,
        "event_version": "1.0",
        "create_time": "2026-11-27T10:00:00.000Z",
        "resource_type": resource_type,
        "resource_version": resource_version,
        "event_type": event_type,
        "summary": f"{event_type} sample",
        "resource": dict(resource),
        "links": [
            {"href": f"{_API}/v1/notifications/webhooks-events/{ident}", "rel": "self"},
        ],
    }


def _order(status: str, *, captured: bool = False) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "reference_id": SAMPLE_INVOICE,
        "amount": dict(SAMPLE_AMOUNT),
        "invoice_id": SAMPLE_INVOICE,
        "custom_id": SAMPLE_INVOICE,
    }
    if captured:
        unit["payments"] = {"captures": [_capture("COMPLETED")]}
    return {
        "id": _ORDER,
        "intent": "CAPTURE",
        "status": status,
        "purchase_units": [unit],
        "payer": {"payer_id": "QYR5Z8XDVJNXQ", "email_address": "buyer@example.com"},
        "links": [{"href": f"{_API}/v2/checkout/orders/{_ORDER}", "rel": "self"}],
    }


def _capture(status: str) -> dict[str, Any]:
    capture: dict[str, Any] = {
        "id": _CAPTURE,
        "status": status,
        "amount": dict(SAMPLE_AMOUNT),
        "final_capture": True,
        "invoice_id": SAMPLE_INVOICE,
        "custom_id": SAMPLE_INVOICE,
        "supplementary_data": {"related_ids": {"order_id": _ORDER}},
        "links": [
            {"href": f"{_API}/v2/payments/captures/{_CAPTURE}", "rel": "self"},
            {"href": f"{_API}/v2/checkout/orders/{_ORDER}", "rel": "up"},
        ],
    }
    if status == "PENDING":
        capture["status_details"] = {"reason": "PENDING_REVIEW"}
    return capture


def _refund(status: str = "COMPLETED") -> dict[str, Any]:
    return {
        "id": _REFUND,
        "amount": dict(SAMPLE_AMOUNT),
        "invoice_id": SAMPLE_INVOICE,
        "status": status,
        "links": [
            {"href": f"{_API}/v2/payments/refunds/{_REFUND}", "rel": "self"},
            {"href": f"{_API}/v2/payments/captures/{_CAPTURE}", "rel": "up"},
        ],
    }


def _token() -> dict[str, Any]:
    return {
        "id": _TOKEN,
        "customer": {"id": _CUSTOMER},
        "payment_source": {
            "paypal": {"email_address": "buyer@example.com", "usage_type": "MERCHANT"}
        },
        "links": [{"href": f"{_API}/v3/vault/payment-tokens/{_TOKEN}", "rel": "self"}],
    }


def _dispute(status: str) -> dict[str, Any]:
    return {
        "dispute_id": "PP-D-27803",
        "status": status,
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "dispute_amount": dict(SAMPLE_AMOUNT),
        "disputed_transactions": [
            {"seller_transaction_id": _CAPTURE, "invoice_number": SAMPLE_INVOICE}
        ],
    }


def webhook_samples() -> Sequence[tuple[Mapping[str, Any], EventType]]:
    """One event per mapped PayPal event type, with the normalized type it must map to."""
    return [
        (event("CHECKOUT.ORDER.APPROVED", _order("APPROVED"), resource_type="checkout-order"),
         EventType.CHECKOUT_COMPLETED),
        (event("CHECKOUT.ORDER.COMPLETED", _order("COMPLETED", captured=True),
               resource_type="checkout-order"),
         EventType.CHECKOUT_COMPLETED),
        (event("PAYMENT.CAPTURE.COMPLETED", _capture("COMPLETED"), resource_type="capture"),
         EventType.PAYMENT_SUCCEEDED),
        (event("PAYMENT.CAPTURE.PENDING", _capture("PENDING"), resource_type="capture"),
         EventType.PAYMENT_PENDING),
        (event("PAYMENT.CAPTURE.DENIED", _capture("DECLINED"), resource_type="capture"),
         EventType.PAYMENT_FAILED),
        (event("PAYMENT.CAPTURE.DECLINED", _capture("DECLINED"), resource_type="capture"),
         EventType.PAYMENT_FAILED),
        (event("CHECKOUT.PAYMENT-APPROVAL.REVERSED", _order("APPROVED"),
               resource_type="checkout-order"),
         EventType.PAYMENT_FAILED),
        (event("PAYMENT.CAPTURE.REFUNDED", _refund(), resource_type="refund"),
         EventType.REFUND_SUCCEEDED),
        (event("PAYMENT.CAPTURE.REVERSED", _refund(), resource_type="refund"),
         EventType.REFUND_SUCCEEDED),
        (event("VAULT.PAYMENT-TOKEN.CREATED", _token(), resource_type="payment_token",
               resource_version="3.0"),
         EventType.SETUP_COMPLETED),
        (event("VAULT.PAYMENT-TOKEN.DELETED", _token(), resource_type="payment_token",
               resource_version="3.0"),
         EventType.PAYMENT_METHOD_DETACHED),
        (event("VAULT.PAYMENT-TOKEN.DELETION-INITIATED", _token(), resource_type="payment_token",
               resource_version="3.0"),
         EventType.PAYMENT_METHOD_DETACHED),
        (event("CUSTOMER.DISPUTE.CREATED", _dispute("OPEN"), resource_type="dispute"),
         EventType.DISPUTE_OPENED),
        (event("CUSTOMER.DISPUTE.UPDATED", _dispute("UNDER_REVIEW"), resource_type="dispute"),
         EventType.DISPUTE_OPENED),
        (event("CUSTOMER.DISPUTE.RESOLVED", _dispute("RESOLVED"), resource_type="dispute"),
         EventType.DISPUTE_CLOSED),
    ]  # fmt: skip
