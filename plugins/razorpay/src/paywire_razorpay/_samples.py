"""Razorpay event payloads shaped as Razorpay sends them, for the contract harness and the tests.

Entities carry the fields paywire reads and the usual surrounding ones, after the samples on
Razorpay's webhook pages (payment links, payments, orders, refunds, tokens, disputes). A card
token carries no ``customer_id``, as on Razorpay's recurring-payments webhooks page.
"""

from __future__ import annotations

from typing import Any

from paywire import EventType

__all__ = [
    "CUSTOMER_ID",
    "INVOICE_ID",
    "PAYMENT_ID",
    "TOKEN_ID",
    "event",
    "webhook_samples",
]

INVOICE_ID = "INV-2024-0001"
CUSTOMER_ID = "cust_Ozq9cLhvD1xd8M"
TOKEN_ID = "token_Ozq9kJ2nN1yZ7H"  # noqa: S105 - a card token id, not a credential
PAYMENT_ID = "pay_Ozr1aB3cD4eF5g"
_ORDER_ID = "order_Ozr0xY9wV8uT7s"
_LINK_ID = "plink_Ozr0pQ1rS2tU3v"
_REFUND_ID = "rfnd_Ozs2hI3jK4lM5n"
_DISPUTE_ID = "disp_Ozt3oP4qR5sT6u"
_REGISTRATION_ID = "inv_Ozq9eF6gH7iJ8k"
_ACCOUNT = "acc_BFQ7uQEaa7j2z7"
_CREATED = 1_721_948_530


def event(
    name: str, entities: dict[str, dict[str, Any]], *, created_at: int = _CREATED
) -> dict[str, Any]:
    """A Razorpay event envelope around ``entities`` (``{"payment": {...}, ...}``)."""
    return {
        "entity": "event",
        "account_id": _ACCOUNT,
        "event": name,
        "contains": list(entities),
        "payload": {key: {"entity": value} for key, value in entities.items()},
        "created_at": created_at,
    }


def _payment(**changes: Any) -> dict[str, Any]:
    payment: dict[str, Any] = {
        "id": PAYMENT_ID,
        "entity": "payment",
        "amount": 123400,
        "currency": "INR",
        "status": "captured",
        "order_id": _ORDER_ID,
        "invoice_id": None,
        "international": False,
        "method": "card",
        "amount_refunded": 0,
        "refund_status": None,
        "captured": True,
        "description": "Invoice INV-2024-0001",
        "card_id": "card_Ozr1bC2dE3fG4h",
        "card": {
            "id": "card_Ozr1bC2dE3fG4h",
            "entity": "card",
            "name": "",
            "last4": "1111",
            "network": "Visa",
            "type": "credit",
            "issuer": "HDFC",
            "international": False,
            "emi": True,
            "sub_type": "consumer",
        },
        "bank": None,
        "wallet": None,
        "vpa": None,
        "email": "buyer@example.com",
        "contact": "+919000090000",
        "customer_id": None,
        "token_id": None,
        "notes": {"invoice_id": INVOICE_ID},
        "fee": 2912,
        "tax": 444,
        "error_code": None,
        "error_description": None,
        "error_source": None,
        "error_step": None,
        "error_reason": None,
        "acquirer_data": {"auth_code": "828553"},
        "created_at": _CREATED - 20,
    }
    payment.update(changes)
    return payment


def _failed_payment(**changes: Any) -> dict[str, Any]:
    return _payment(
        **{
            "status": "failed",
            "captured": False,
            "fee": None,
            "tax": None,
            "acquirer_data": {},
            "error_code": "BAD_REQUEST_ERROR",
            "error_description": "Your payment has been declined by your bank. Try another card.",
            "error_source": "bank",
            "error_step": "payment_authorization",
            "error_reason": "card_declined",
            **changes,
        }
    )


def _order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": _ORDER_ID,
        "entity": "order",
        "amount": 123400,
        "amount_paid": 123400,
        "amount_due": 0,
        "currency": "INR",
        "receipt": None,
        "offer_id": None,
        "status": "paid",
        "attempts": 1,
        "notes": {"invoice_id": INVOICE_ID},
        "created_at": _CREATED - 60,
    }
    order.update(changes)
    return order


def _link(**changes: Any) -> dict[str, Any]:
    link: dict[str, Any] = {
        "accept_partial": False,
        "amount": 123400,
        "amount_paid": 123400,
        "callback_method": "get",
        "callback_url": "https://shop.example.com/paid",
        "cancelled_at": 0,
        "created_at": _CREATED - 60,
        "currency": "INR",
        "customer": {"email": "buyer@example.com", "name": "Asha Rao"},
        "description": "Invoice INV-2024-0001",
        "expire_by": 0,
        "expired_at": 0,
        "first_min_partial_amount": 0,
        "id": _LINK_ID,
        "notes": {"invoice_id": INVOICE_ID},
        "notify": {"email": False, "sms": False, "whatsapp": False},
        "order_id": _ORDER_ID,
        "payments": [
            {
                "amount": 123400,
                "created_at": _CREATED - 20,
                "method": "card",
                "payment_id": PAYMENT_ID,
                "plink_id": _LINK_ID,
                "status": "captured",
                "updated_at": _CREATED - 20,
            }
        ],
        "reference_id": INVOICE_ID,
        "reminder_enable": False,
        "reminders": [],
        "short_url": "https://rzp.io/i/nxrHnLJ",
        "status": "paid",
        "updated_at": _CREATED - 20,
        "upi_link": False,
        "user_id": "",
        "whatsapp_link": False,
    }
    link.update(changes)
    return link


def _refund(**changes: Any) -> dict[str, Any]:
    refund: dict[str, Any] = {
        "id": _REFUND_ID,
        "entity": "refund",
        "amount": 50000,
        "currency": "INR",
        "payment_id": PAYMENT_ID,
        "notes": {"invoice_id": INVOICE_ID},
        "receipt": None,
        "acquirer_data": {"arn": None},
        "created_at": _CREATED,
        "batch_id": None,
        "status": "pending",
        "speed_processed": "normal",
        "speed_requested": "normal",
    }
    refund.update(changes)
    return refund


def _token(status: str = "confirmed", failure_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": TOKEN_ID,
        "entity": "token",
        "token": "EhYXHrLsJdwRhM",
        "bank": None,
        "wallet": None,
        "method": "card",
        "card": {
            "entity": "card",
            "name": "Asha Rao",
            "last4": "1111",
            "network": "Visa",
            "type": "credit",
            "issuer": "HDFC",
            "international": False,
            "emi": True,
            "sub_type": "consumer",
            "expiry_month": "12",
            "expiry_year": "2032",
        },
        "recurring": True,
        "recurring_details": {"status": status, "failure_reason": failure_reason},
        "auth_type": None,
        "mrn": None,
        "used_at": _CREATED,
        "created_at": _CREATED - 30,
        "expired_at": _CREATED + 315_360_000,
        "status": "active" if status == "confirmed" else status,
        "notes": [],
        "max_amount": 1_500_000,
        "frequency": "as_presented",
    }


def _registration_invoice(**changes: Any) -> dict[str, Any]:
    invoice: dict[str, Any] = {
        "id": _REGISTRATION_ID,
        "entity": "invoice",
        "receipt": None,
        "customer_id": CUSTOMER_ID,
        "order_id": _ORDER_ID,
        "payment_id": PAYMENT_ID,
        "status": "paid",
        "amount": 100,
        "amount_paid": 100,
        "amount_due": 0,
        "currency": "INR",
        "description": "Save a card for later payments",
        "short_url": "https://rzp.io/i/RllVOmA",
        "type": "link",
        "notes": [],
        "created_at": _CREATED - 600,
    }
    invoice.update(changes)
    return invoice


def _dispute(status: str) -> dict[str, Any]:
    return {
        "id": _DISPUTE_ID,
        "entity": "dispute",
        "payment_id": PAYMENT_ID,
        "amount": 123400,
        "currency": "INR",
        "amount_deducted": 0,
        "reason_code": "chargeback",
        "respond_by": _CREATED + 604_800,
        "status": status,
        "phase": "chargeback",
        "created_at": _CREATED,
    }


def webhook_samples() -> list[tuple[dict[str, Any], EventType]]:
    """One payload per Razorpay event the plugin maps, with the type it must normalize to."""
    recurring = _payment(
        id="pay_Ozr9rEcUrR1nG0",
        order_id="order_Ozr9oRdErR1nG0",
        customer_id=CUSTOMER_ID,
        token_id=TOKEN_ID,
        description="Renewal",
        recurring=True,
    )
    registration_payment = _payment(
        amount=100,
        customer_id=CUSTOMER_ID,
        token_id=TOKEN_ID,
        invoice_id=_REGISTRATION_ID,
        notes=[],
    )
    return [
        (
            event(
                "payment_link.paid",
                {"payment_link": _link(), "order": _order(), "payment": _payment()},
            ),
            EventType.CHECKOUT_COMPLETED,
        ),
        (
            event(
                "payment_link.partially_paid",
                {
                    "payment_link": _link(
                        accept_partial=True, amount_paid=50000, status="partially_paid"
                    ),
                    "order": _order(amount_paid=50000, amount_due=73400, status="attempted"),
                    "payment": _payment(amount=50000),
                },
            ),
            EventType.PAYMENT_PENDING,
        ),
        (
            event(
                "payment_link.expired",
                {"payment_link": _link(amount_paid=0, payments=None, status="expired")},
            ),
            EventType.CHECKOUT_EXPIRED,
        ),
        (
            event(
                "payment_link.cancelled",
                {"payment_link": _link(amount_paid=0, payments=None, status="cancelled")},
            ),
            EventType.CHECKOUT_EXPIRED,
        ),
        (
            event("payment.authorized", {"payment": _payment(status="authorized", captured=False)}),
            EventType.PAYMENT_PENDING,
        ),
        (event("payment.captured", {"payment": _payment()}), EventType.PAYMENT_SUCCEEDED),
        (event("payment.captured", {"payment": recurring}), EventType.PAYMENT_SUCCEEDED),
        (event("payment.failed", {"payment": _failed_payment()}), EventType.PAYMENT_FAILED),
        # A recurring debit that fails after the pre-debit notification.
        (
            event(
                "payment.failed",
                {
                    "payment": _failed_payment(
                        id=recurring["id"],
                        order_id=recurring["order_id"],
                        customer_id=CUSTOMER_ID,
                        token_id=TOKEN_ID,
                        recurring=True,
                        error_reason="insufficient_funds",
                    )
                },
            ),
            EventType.PAYMENT_FAILED,
        ),
        (
            event(
                "payment.pending",
                {"payment": _payment(status="pending", method="cod", captured=False)},
            ),
            EventType.PAYMENT_PENDING,
        ),
        (
            event("order.paid", {"payment": _payment(), "order": _order()}),
            EventType.PAYMENT_SUCCEEDED,
        ),
        (
            event("refund.created", {"refund": _refund(), "payment": _payment()}),
            EventType.REFUND_CREATED,
        ),
        (
            event(
                "refund.processed",
                {"refund": _refund(status="processed"), "payment": _payment(amount_refunded=50000)},
            ),
            EventType.REFUND_SUCCEEDED,
        ),
        (
            event("refund.failed", {"refund": _refund(status="failed"), "payment": _payment()}),
            EventType.REFUND_FAILED,
        ),
        (
            event(
                "refund.speed_changed",
                {"refund": _refund(speed_requested="optimum"), "payment": _payment()},
            ),
            EventType.REFUND_CREATED,
        ),
        (event("token.confirmed", {"token": _token()}), EventType.SETUP_COMPLETED),
        (
            event("token.rejected", {"token": _token("rejected", "card_not_enrolled")}),
            EventType.SETUP_FAILED,
        ),
        (
            event("token.cancelled", {"token": _token("cancelled")}),
            EventType.PAYMENT_METHOD_DETACHED,
        ),
        (event("token.paused", {"token": _token("paused")}), EventType.PAYMENT_METHOD_UPDATED),
        (
            event(
                "invoice.paid",
                {
                    "payment": registration_payment,
                    "order": _order(amount=100, amount_paid=100, notes=[]),
                    "invoice": _registration_invoice(),
                },
            ),
            EventType.SETUP_COMPLETED,
        ),
        (
            event(
                "invoice.expired",
                {
                    "invoice": _registration_invoice(
                        status="expired", payment_id=None, amount_paid=0
                    )
                },
            ),
            EventType.CHECKOUT_EXPIRED,
        ),
        *(
            (
                event(
                    f"payment.dispute.{stage}",
                    {"payment": _payment(), "dispute": _dispute(status)},
                ),
                kind,
            )
            for stage, status, kind in (
                ("created", "open", EventType.DISPUTE_OPENED),
                ("under_review", "under_review", EventType.DISPUTE_OPENED),
                ("action_required", "open", EventType.DISPUTE_OPENED),
                ("won", "won", EventType.DISPUTE_CLOSED),
                ("lost", "lost", EventType.DISPUTE_CLOSED),
                ("closed", "closed", EventType.DISPUTE_CLOSED),
            )
        ),
    ]
