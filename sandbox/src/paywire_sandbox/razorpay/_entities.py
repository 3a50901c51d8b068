"""Razorpay's JSON entities as the fake serves them: plain dicts, built in one place.

Field names and nesting follow Razorpay's entity pages and webhook samples. The fake keeps these
dicts as its state and mutates them as resources change; webhook payloads are deep copies.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs

from paywire_sandbox.razorpay._cards import TestCard
from paywire_sandbox.razorpay._ids import new_id

__all__ = [
    "Entity",
    "LinkOptions",
    "Registration",
    "customer",
    "invoice",
    "notes_out",
    "order",
    "payment",
    "payment_link",
    "refund",
    "token",
]

Entity = dict[str, Any]


@attrs.define
class Registration:
    """The card mandate an order registers when it is paid (``token{...}`` on the order)."""

    customer_id: str
    max_amount: int
    expire_at: int
    frequency: str
    notes: dict[str, object]
    invoice_id: str | None = None


@attrs.frozen
class LinkOptions:
    """A payment link's validated request fields."""

    amount: int
    currency: str
    accept_partial: bool
    first_min_partial_amount: int | None
    expire_by: int | None
    reference_id: str | None
    description: str | None
    customer: Mapping[str, str]
    notify: Mapping[str, bool]
    reminder_enable: bool
    notes: Mapping[str, object]
    callback_url: str | None
    callback_method: str | None


def notes_out(notes: Mapping[str, object] | None) -> object:
    """``notes`` as Razorpay serialises them: an empty JSON array when there are none (PHP)."""
    return dict(notes) if notes else []


def customer(
    name: str | None,
    email: str | None,
    contact: str | None,
    *,
    gstin: str | None,
    notes: Mapping[str, object] | None,
    now: int,
) -> Entity:
    """A ``customer`` entity."""
    return {
        "id": new_id("cust"),
        "entity": "customer",
        "name": name or "",
        "email": email or "",
        "contact": contact or "",
        "gstin": gstin,
        "notes": notes_out(notes),
        "created_at": now,
    }


def _card(card: TestCard, name: str) -> Entity:
    return {
        "entity": "card",
        "name": name,
        "last4": card.last4,
        "network": card.network,
        "type": card.type,
        "issuer": card.issuer,
        "international": False,
        "emi": card.type == "credit",
        "sub_type": "consumer",
    }


def token(
    card: TestCard,
    *,
    max_amount: int,
    expire_at: int,
    frequency: str,
    name: str,
    expiry: tuple[int, int] | None,
    now: int,
) -> Entity:
    """A confirmed recurring card ``token``.

    Without ``expiry`` the card expires in December eight years after ``now``'s year, or last
    year for the expired-card test card.
    """
    if expiry is None:
        year = time.gmtime(now).tm_year
        expired = card.failure is not None and card.failure.reason == "card_expired"
        expiry = (12, year - 1) if expired else (12, year + 8)
    return {
        "id": new_id("token"),
        "entity": "token",
        "token": new_id(""),
        "bank": None,
        "wallet": None,
        "method": "card",
        "card": {
            **_card(card, name),
            "token_iin": card.number[:9],
            "expiry_month": f"{expiry[0]:02d}",
            "expiry_year": str(expiry[1]),
            "flows": {"otp": True, "recurring": True},
            "cobranding_partner": None,
        },
        "recurring": True,
        "recurring_details": {"status": "confirmed", "failure_reason": None},
        "auth_type": None,
        "mrn": None,
        "used_at": now,
        "created_at": now,
        "expired_at": expire_at,
        "status": "active",
        "notes": [],
        "error_code": None,
        "error_description": None,
        "dcc_enabled": False,
        "max_amount": max_amount,
        "frequency": frequency,
        "compliant_with_tokenisation_guidelines": True,
    }


def order(
    amount: int,
    currency: str,
    *,
    receipt: str | None,
    notes: Mapping[str, object] | None,
    partial: bool,
    first_min: int | None,
    registration: Registration | None,
    now: int,
) -> Entity:
    """An ``order``; one that registers a mandate carries Razorpay's ``token`` object."""
    entity: Entity = {
        "id": new_id("order"),
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": receipt,
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        "notes": notes_out(notes),
        "created_at": now,
    }
    if partial:
        entity["partial_payment"] = True
        entity["first_payment_min_amount"] = first_min
    if registration is not None:
        entity["token"] = {
            "method": "card",
            "notes": notes_out(registration.notes),
            "recurring_status": None,
            "failure_reason": None,
            "currency": currency,
            "max_amount": registration.max_amount,
            "auth_type": None,
            "expire_at": registration.expire_at,
            "frequency": registration.frequency,
            "first_payment_amount": amount,
        }
    return entity


def payment(
    order_entity: Entity,
    card: TestCard,
    amount: int,
    *,
    description: str | None,
    email: str | None,
    contact: str | None,
    notes: Mapping[str, object] | None,
    customer_id: str | None,
    token_id: str | None,
    invoice_id: str | None,
    recurring: bool,
    now: int,
) -> Entity:
    """A card ``payment`` in status ``created``, for ``order_entity``."""
    card_id = new_id("card")
    return {
        "id": new_id("pay"),
        "entity": "payment",
        "amount": amount,
        "currency": order_entity["currency"],
        "status": "created",
        "order_id": order_entity["id"],
        "invoice_id": invoice_id,
        "international": False,
        "method": "card",
        "amount_refunded": 0,
        "refund_status": None,
        "captured": False,
        "description": description,
        "card_id": card_id,
        # Razorpay's webhooks show the card; its GET shows it with ``expand[]=card``.
        "card": {"id": card_id, **_card(card, "")},
        "bank": None,
        "wallet": None,
        "vpa": None,
        "email": email or "",
        "contact": contact or "",
        "customer_id": customer_id,
        "token_id": token_id,
        "recurring": recurring,
        "notes": notes_out(notes),
        "fee": None,
        "tax": None,
        "error_code": None,
        "error_description": None,
        "error_source": None,
        "error_step": None,
        "error_reason": None,
        "acquirer_data": {},
        "created_at": now,
    }


def refund(
    payment_entity: Entity,
    amount: int,
    *,
    speed: str,
    notes: Mapping[str, object],
    receipt: str | None,
    now: int,
) -> Entity:
    """A ``refund`` in status ``pending`` (the fake processes it at once)."""
    return {
        "id": new_id("rfnd"),
        "entity": "refund",
        "amount": amount,
        "currency": payment_entity["currency"],
        "payment_id": payment_entity["id"],
        "notes": notes_out(notes),
        "receipt": receipt,
        "acquirer_data": {"arn": None},
        "created_at": now,
        "batch_id": None,
        "status": "pending",
        "speed_processed": "normal",
        "speed_requested": speed,
    }


def payment_link(
    options: LinkOptions, *, link_id: str, order_id: str, short_url: str, now: int
) -> Entity:
    """A standard ``payment_link`` in status ``created``."""
    return {
        "accept_partial": options.accept_partial,
        "amount": options.amount,
        "amount_paid": 0,
        "callback_method": options.callback_method or "",
        "callback_url": options.callback_url or "",
        "cancelled_at": 0,
        "created_at": now,
        "currency": options.currency,
        "customer": dict(options.customer),
        "description": options.description or "",
        "expire_by": options.expire_by or 0,
        "expired_at": 0,
        "first_min_partial_amount": options.first_min_partial_amount or 0,
        "id": link_id,
        "notes": dict(options.notes) if options.notes else None,
        "notify": dict(options.notify),
        "order_id": order_id,
        "payments": None,
        "reference_id": options.reference_id or "",
        "reminder_enable": options.reminder_enable,
        "reminders": [],
        "short_url": short_url,
        "status": "created",
        "updated_at": now,
        "upi_link": False,
        "user_id": "",
        "whatsapp_link": False,
    }


def invoice(
    customer_entity: Entity,
    order_entity: Entity,
    *,
    invoice_id: str,
    short_url: str,
    description: str | None,
    expire_by: int | None,
    sms_notify: bool | None,
    email_notify: bool | None,
    notes: Mapping[str, object],
    now: int,
) -> Entity:
    """The ``invoice`` entity a registration link is, in status ``issued``."""
    amount = order_entity["amount"]
    return {
        "id": invoice_id,
        "entity": "invoice",
        "receipt": order_entity["receipt"],
        "invoice_number": order_entity["receipt"],
        "customer_id": customer_entity["id"],
        "customer_details": {
            "id": customer_entity["id"],
            "name": customer_entity["name"],
            "email": customer_entity["email"],
            "contact": customer_entity["contact"],
            "gstin": None,
            "billing_address": None,
            "shipping_address": None,
            "customer_name": customer_entity["name"],
            "customer_email": customer_entity["email"],
            "customer_contact": customer_entity["contact"],
        },
        "order_id": order_entity["id"],
        "line_items": [],
        "payment_id": None,
        "status": "issued",
        "expire_by": expire_by,
        "issued_at": now,
        "paid_at": None,
        "cancelled_at": None,
        "expired_at": None,
        "sms_status": "pending" if sms_notify else None,
        "email_status": "pending" if email_notify else None,
        "date": now,
        "terms": None,
        "partial_payment": False,
        "gross_amount": amount,
        "tax_amount": 0,
        "taxable_amount": 0,
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": order_entity["currency"],
        "currency_symbol": "₹",
        "description": description,
        "notes": notes_out(notes),
        "comment": None,
        "short_url": short_url,
        "view_less": True,
        "billing_start": None,
        "billing_end": None,
        "type": "link",
        "group_taxes_discounts": False,
        "created_at": now,
        "idempotency_key": None,
    }
