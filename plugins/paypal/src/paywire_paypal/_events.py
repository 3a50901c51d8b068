"""PayPal webhook events → paywire's normalized :class:`~paywire.WebhookEvent`.

=======================================  ======================================================
PayPal ``event_type``                    normalized
=======================================  ======================================================
``CHECKOUT.ORDER.APPROVED``              ``CHECKOUT_COMPLETED`` (approved: *capture next*)
``CHECKOUT.ORDER.COMPLETED``             ``CHECKOUT_COMPLETED``
``PAYMENT.CAPTURE.COMPLETED``            ``PAYMENT_SUCCEEDED``
``PAYMENT.CAPTURE.PENDING``              ``PAYMENT_PENDING``
``PAYMENT.CAPTURE.DENIED`` / ``DECLINED``  ``PAYMENT_FAILED``
``CHECKOUT.PAYMENT-APPROVAL.REVERSED``   ``PAYMENT_FAILED``
``PAYMENT.CAPTURE.REFUNDED``             ``REFUND_SUCCEEDED`` (``REFUND_CREATED`` while the refund
                                         is pending, ``REFUND_FAILED`` if it failed)
``PAYMENT.CAPTURE.REVERSED``             ``REFUND_SUCCEEDED`` (PayPal returned the money)
``VAULT.PAYMENT-TOKEN.CREATED``          ``SETUP_COMPLETED``
``VAULT.PAYMENT-TOKEN.DELETED``          ``PAYMENT_METHOD_DETACHED``
``VAULT.PAYMENT-TOKEN.DELETION-INITIATED``  ``PAYMENT_METHOD_DETACHED``
``CUSTOMER.DISPUTE.CREATED`` / ``UPDATED``  ``DISPUTE_OPENED`` (``DISPUTE_CLOSED`` once resolved)
``CUSTOMER.DISPUTE.RESOLVED``            ``DISPUTE_CLOSED``
=======================================  ======================================================

The invoice id is the one the order was created with: a capture's or refund's ``invoice_id``
(else ``custom_id``), an order's first purchase unit's ``invoice_id`` / ``custom_id`` /
``reference_id``, a dispute's ``invoice_number``. Amounts are read exactly with PayPal's currency
rules; a malformed amount makes the event :class:`~paywire.UnknownEvent` rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import paywire
from paywire import EventType
from paywire_paypal._currency import parse_money
from paywire_paypal._fields import as_list, as_mapping, aware_time, str_or_none

__all__ = ["EVENT_TYPES", "normalize_event"]

#: Every PayPal event type the plugin maps, with the normalized type it maps to by default.
EVENT_TYPES: Final[Mapping[str, EventType]] = {
    "CHECKOUT.ORDER.APPROVED": EventType.CHECKOUT_COMPLETED,
    "CHECKOUT.ORDER.COMPLETED": EventType.CHECKOUT_COMPLETED,
    "PAYMENT.CAPTURE.COMPLETED": EventType.PAYMENT_SUCCEEDED,
    "PAYMENT.CAPTURE.PENDING": EventType.PAYMENT_PENDING,
    "PAYMENT.CAPTURE.DENIED": EventType.PAYMENT_FAILED,
    "PAYMENT.CAPTURE.DECLINED": EventType.PAYMENT_FAILED,
    "CHECKOUT.PAYMENT-APPROVAL.REVERSED": EventType.PAYMENT_FAILED,
    "PAYMENT.CAPTURE.REFUNDED": EventType.REFUND_SUCCEEDED,
    "PAYMENT.CAPTURE.REVERSED": EventType.REFUND_SUCCEEDED,
    "VAULT.PAYMENT-TOKEN.CREATED": EventType.SETUP_COMPLETED,
    "VAULT.PAYMENT-TOKEN.DELETED": EventType.PAYMENT_METHOD_DETACHED,
    "VAULT.PAYMENT-TOKEN.DELETION-INITIATED": EventType.PAYMENT_METHOD_DETACHED,
    "CUSTOMER.DISPUTE.CREATED": EventType.DISPUTE_OPENED,
    "CUSTOMER.DISPUTE.UPDATED": EventType.DISPUTE_OPENED,
    "CUSTOMER.DISPUTE.RESOLVED": EventType.DISPUTE_CLOSED,
}

_REFUND_STATUS: Final = {
    "COMPLETED": EventType.REFUND_SUCCEEDED,
    "PENDING": EventType.REFUND_CREATED,
    "FAILED": EventType.REFUND_FAILED,
    "CANCELLED": EventType.REFUND_FAILED,
}
_DISPUTE_CLOSED_STATUSES: Final = frozenset({"RESOLVED", "CLOSED"})


class _Malformed(Exception):
    """The event's resource cannot be read exactly."""


def _money(value: object) -> paywire.Money | None:
    """A PayPal ``Money`` object, exactly; ``None`` when absent."""
    if value is None:
        return None
    money = as_mapping(value)
    currency, amount = money.get("currency_code"), money.get("value")
    if not isinstance(currency, str) or not isinstance(amount, str):
        raise _Malformed("amount without currency_code and value strings")
    # Reversals may carry the amount signed; the event type already says which way it went.
    amount = amount.strip()
    if amount.startswith("-"):
        amount = amount[1:]
    try:
        return parse_money(amount, currency)
    except paywire.InvalidAmount as exc:
        raise _Malformed(str(exc)) from None


def _link_id(resource: Mapping[str, Any], rel: str, marker: str) -> str | None:
    """The last path segment of the ``rel`` link whose href contains ``marker``."""
    for link in as_list(resource.get("links")):
        item = as_mapping(link)
        href = str_or_none(item.get("href"))
        if item.get("rel") == rel and href and marker in href:
            return href.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _order_fields(resource: Mapping[str, Any]) -> dict[str, Any]:
    units = [as_mapping(u) for u in as_list(resource.get("purchase_units"))]
    first = units[0] if units else {}
    total: paywire.Money | None = None
    for unit in units:
        amount = _money(unit.get("amount"))
        if amount is not None:
            total = amount if total is None else total + amount
    captures = as_list(as_mapping(first.get("payments")).get("captures"))
    capture = as_mapping(captures[0]) if captures else {}
    wallet = as_mapping(as_mapping(resource.get("payment_source")).get("paypal"))
    vault = as_mapping(as_mapping(wallet.get("attributes")).get("vault"))
    return {
        "invoice_id": str_or_none(first.get("invoice_id"))
        or str_or_none(first.get("custom_id"))
        or str_or_none(first.get("reference_id")),
        "amount": total,
        "session_id": str_or_none(resource.get("id")) or str_or_none(resource.get("order_id")),
        "transaction_id": str_or_none(capture.get("id")),
        "payment_method_id": str_or_none(vault.get("id")),
        "customer_id": str_or_none(as_mapping(vault.get("customer")).get("id")),
    }


def _capture_fields(resource: Mapping[str, Any]) -> dict[str, Any]:
    related = as_mapping(as_mapping(resource.get("supplementary_data")).get("related_ids"))
    return {
        "invoice_id": str_or_none(resource.get("invoice_id"))
        or str_or_none(resource.get("custom_id")),
        "amount": _money(resource.get("amount")),
        "transaction_id": str_or_none(resource.get("id")),
        "session_id": str_or_none(related.get("order_id")) or _link_id(resource, "up", "/orders/"),
    }


def _refund_fields(resource: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    if resource_type == "capture":
        # Should PayPal send the capture rather than the refund, the refunded amount is unknown.
        fields = _capture_fields(resource)
        fields["amount"] = None
        return fields
    return {
        "invoice_id": str_or_none(resource.get("invoice_id"))
        or str_or_none(resource.get("custom_id")),
        "amount": _money(resource.get("amount")),
        "refund_id": str_or_none(resource.get("id")),
        "transaction_id": _link_id(resource, "up", "/captures/"),
    }


def _token_fields(resource: Mapping[str, Any]) -> dict[str, Any]:
    metadata = as_mapping(resource.get("metadata"))
    return {
        "payment_method_id": str_or_none(resource.get("id")),
        "customer_id": str_or_none(as_mapping(resource.get("customer")).get("id")),
        "session_id": str_or_none(metadata.get("order_id")),
    }


def _dispute_fields(resource: Mapping[str, Any]) -> dict[str, Any]:
    transactions = as_list(resource.get("disputed_transactions"))
    first = as_mapping(transactions[0]) if transactions else {}
    return {
        "invoice_id": str_or_none(first.get("invoice_number")) or str_or_none(first.get("custom")),
        "amount": _money(resource.get("dispute_amount")),
        "transaction_id": str_or_none(first.get("seller_transaction_id")),
    }


def normalize_event(provider: str, payload: Mapping[str, Any]) -> paywire.WebhookEvent:
    """The normalized event for a verified, parsed PayPal webhook body."""
    if not isinstance(payload, Mapping):
        raise paywire.UnknownEvent("not a PayPal event", provider=provider, event_type=None)
    raw_type = payload.get("event_type")
    event_id = payload.get("id")
    if not isinstance(raw_type, str) or not raw_type:
        raise paywire.UnknownEvent(
            "not a PayPal event (no event_type)", provider=provider, event_type=None
        )
    mapped = EVENT_TYPES.get(raw_type)
    if mapped is None:
        raise paywire.UnknownEvent(
            f"PayPal event type {raw_type} is not normalized",
            provider=provider,
            event_type=raw_type,
        )
    resource = payload.get("resource")
    if not isinstance(event_id, str) or not event_id or not isinstance(resource, Mapping):
        raise paywire.UnknownEvent(
            f"{raw_type} event without an id or a resource", provider=provider, event_type=raw_type
        )
    resource_type = str(payload.get("resource_type") or "").lower()
    event_type = mapped
    try:
        if raw_type.startswith("CHECKOUT."):
            fields = _order_fields(resource)
        elif raw_type in ("PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"):
            fields = _refund_fields(resource, resource_type)
            status = str_or_none(resource.get("status"))
            if raw_type == "PAYMENT.CAPTURE.REFUNDED" and resource_type != "capture" and status:
                event_type = _REFUND_STATUS.get(status, mapped)
        elif raw_type.startswith("PAYMENT.CAPTURE."):
            fields = _capture_fields(resource)
        elif raw_type.startswith("VAULT."):
            fields = _token_fields(resource)
        else:
            fields = _dispute_fields(resource)
            if str_or_none(resource.get("status")) in _DISPUTE_CLOSED_STATUSES:
                event_type = EventType.DISPUTE_CLOSED
    except (_Malformed, paywire.InvalidAmount) as exc:
        raise paywire.UnknownEvent(
            f"{raw_type} event {event_id} cannot be read exactly: {exc}",
            provider=provider,
            event_type=raw_type,
        ) from None
    return paywire.WebhookEvent(
        provider=provider,
        id=event_id,
        type=event_type,
        raw_type=raw_type,
        created_at=aware_time(payload.get("create_time")),
        data=dict(payload),
        **fields,
    )
