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
``VAULT.PAYMENT-TOKEN.CREATED``          ``SETUP_COMPLETED`` (the saved method)
``VAULT.PAYMENT-TOKEN.DELETED``          ``PAYMENT_METHOD_DETACHED``
``VAULT.PAYMENT-TOKEN.DELETION-INITIATED``  ``PAYMENT_METHOD_DETACHED``
``CUSTOMER.DISPUTE.CREATED`` / ``UPDATED``  ``DISPUTE_OPENED`` (``DISPUTE_CLOSED`` once resolved)
``CUSTOMER.DISPUTE.RESOLVED``            ``DISPUTE_CLOSED``
=======================================  ======================================================

The invoice id is the one the order was created with: a capture's or refund's ``invoice_id``
(else ``custom_id``), an order's first purchase unit's ``invoice_id`` / ``custom_id`` /
``reference_id``, a dispute's ``invoice_number``. Amounts are read exactly with PayPal's currency
rules. A mapped event whose resource cannot be read exactly (no resource, an amount that is not
PayPal's) is :class:`~paywire.MalformedWebhook`, never a guess; an event type not in the table
is :class:`~paywire.UnknownEvent`.

PayPal sends no event when a buyer approves a Vault v3 setup token: the saved method comes from
``complete_setup`` on the return path, and ``VAULT.PAYMENT-TOKEN.CREATED`` follows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

import paywire
from paywire import EventType
from paywire.plugin import EventFields, EventRule, EventRules
from paywire_paypal._currency import parse_money
from paywire_paypal._fields import as_list, as_mapping, aware_time, str_or_none

__all__ = ["EVENT_RULES", "EVENT_TYPES", "normalize_event"]

_REFUND_STATUS: Final = {
    "COMPLETED": EventType.REFUND_SUCCEEDED,
    "PENDING": EventType.REFUND_CREATED,
    "FAILED": EventType.REFUND_FAILED,
    "CANCELLED": EventType.REFUND_FAILED,
}
_DISPUTE_CLOSED_STATUSES: Final = frozenset({"RESOLVED", "CLOSED"})


# Each reader is handed the whole event (the envelope): some decisions need its resource_type.
def _resource(event: Mapping[str, Any]) -> Mapping[str, Any]:
    resource = event["resource"]
    if not isinstance(resource, Mapping):
        raise TypeError("the event's resource is not an object")
    return resource


def _money(value: object) -> paywire.Money | None:
    """A PayPal ``Money`` object, exactly; ``None`` when absent. Raises ``ValueError`` or
    :class:`~paywire.InvalidAmount` for anything else."""
    if value is None:
        return None
    money = as_mapping(value)
    currency, amount = money.get("currency_code"), money.get("value")
    if not isinstance(currency, str) or not isinstance(amount, str):
        raise ValueError("amount without currency_code and value strings")
    # Reversals may carry the amount signed; the event type already says which way it went.
    amount = amount.strip()
    if amount.startswith("-"):
        amount = amount[1:]
    return parse_money(amount, currency)


def _link_id(resource: Mapping[str, Any], rel: str, marker: str) -> str | None:
    """The last path segment of the ``rel`` link whose href contains ``marker``."""
    for link in as_list(resource.get("links")):
        item = as_mapping(link)
        href = str_or_none(item.get("href"))
        if item.get("rel") == rel and href and marker in href:
            return href.rstrip("/").rsplit("/", 1)[-1] or None
    return None


def _order(event: Mapping[str, Any]) -> EventFields:
    resource = _resource(event)
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


def _capture_of(resource: Mapping[str, Any]) -> EventFields:
    related = as_mapping(as_mapping(resource.get("supplementary_data")).get("related_ids"))
    return {
        "invoice_id": str_or_none(resource.get("invoice_id"))
        or str_or_none(resource.get("custom_id")),
        "amount": _money(resource.get("amount")),
        "transaction_id": str_or_none(resource.get("id")),
        "session_id": str_or_none(related.get("order_id")) or _link_id(resource, "up", "/orders/"),
    }


def _capture(event: Mapping[str, Any]) -> EventFields:
    return _capture_of(_resource(event))


def _sends_the_capture(event: Mapping[str, Any]) -> bool:
    return str(event.get("resource_type") or "").lower() == "capture"


def _refund(event: Mapping[str, Any]) -> EventFields:
    resource = _resource(event)
    if _sends_the_capture(event):
        # Should PayPal send the capture rather than the refund, the refunded amount is unknown.
        fields = _capture_of(resource)
        fields["amount"] = None
        return fields
    return {
        "invoice_id": str_or_none(resource.get("invoice_id"))
        or str_or_none(resource.get("custom_id")),
        "amount": _money(resource.get("amount")),
        "refund_id": str_or_none(resource.get("id")),
        "transaction_id": _link_id(resource, "up", "/captures/"),
    }


def _refund_kind(event: Mapping[str, Any]) -> EventType:
    status = str_or_none(_resource(event).get("status"))
    if _sends_the_capture(event) or status is None:
        return EventType.REFUND_SUCCEEDED
    return _REFUND_STATUS.get(status, EventType.REFUND_SUCCEEDED)


def _token(event: Mapping[str, Any]) -> EventFields:
    resource = _resource(event)
    metadata = as_mapping(resource.get("metadata"))
    return {
        "payment_method_id": str_or_none(resource.get("id")),
        "customer_id": str_or_none(as_mapping(resource.get("customer")).get("id")),
        "session_id": str_or_none(metadata.get("order_id")),
    }


def _saved_token(event: Mapping[str, Any]) -> EventFields:
    fields = _token(event)
    if fields.get("payment_method_id") is None:
        # A SETUP_COMPLETED event exists to carry the saved method.
        raise ValueError("VAULT.PAYMENT-TOKEN.CREATED without the token's id")
    return fields


def _dispute(event: Mapping[str, Any]) -> EventFields:
    resource = _resource(event)
    transactions = as_list(resource.get("disputed_transactions"))
    first = as_mapping(transactions[0]) if transactions else {}
    return {
        "invoice_id": str_or_none(first.get("invoice_number")) or str_or_none(first.get("custom")),
        "amount": _money(resource.get("dispute_amount")),
        "transaction_id": str_or_none(first.get("seller_transaction_id")),
    }


def _dispute_kind(event: Mapping[str, Any]) -> EventType:
    if str_or_none(_resource(event).get("status")) in _DISPUTE_CLOSED_STATUSES:
        return EventType.DISPUTE_CLOSED
    return EventType.DISPUTE_OPENED


#: PayPal's event table: ``event_type`` → how it is normalized (see the module docstring).
EVENT_RULES: Final = EventRules(
    "paypal",
    {
        "CHECKOUT.ORDER.APPROVED": EventRule(EventType.CHECKOUT_COMPLETED, _order),
        "CHECKOUT.ORDER.COMPLETED": EventRule(EventType.CHECKOUT_COMPLETED, _order),
        "PAYMENT.CAPTURE.COMPLETED": EventRule(EventType.PAYMENT_SUCCEEDED, _capture),
        "PAYMENT.CAPTURE.PENDING": EventRule(EventType.PAYMENT_PENDING, _capture),
        "PAYMENT.CAPTURE.DENIED": EventRule(EventType.PAYMENT_FAILED, _capture),
        "PAYMENT.CAPTURE.DECLINED": EventRule(EventType.PAYMENT_FAILED, _capture),
        "CHECKOUT.PAYMENT-APPROVAL.REVERSED": EventRule(EventType.PAYMENT_FAILED, _order),
        "PAYMENT.CAPTURE.REFUNDED": EventRule(_refund_kind, _refund),
        "PAYMENT.CAPTURE.REVERSED": EventRule(EventType.REFUND_SUCCEEDED, _refund),
        "VAULT.PAYMENT-TOKEN.CREATED": EventRule(EventType.SETUP_COMPLETED, _saved_token),
        "VAULT.PAYMENT-TOKEN.DELETED": EventRule(EventType.PAYMENT_METHOD_DETACHED, _token),
        "VAULT.PAYMENT-TOKEN.DELETION-INITIATED": EventRule(
            EventType.PAYMENT_METHOD_DETACHED, _token
        ),
        "CUSTOMER.DISPUTE.CREATED": EventRule(_dispute_kind, _dispute),
        "CUSTOMER.DISPUTE.UPDATED": EventRule(_dispute_kind, _dispute),
        "CUSTOMER.DISPUTE.RESOLVED": EventRule(EventType.DISPUTE_CLOSED, _dispute),
    },
)

#: Every PayPal event type the plugin normalizes.
EVENT_TYPES: Final = EVENT_RULES.types


def normalize_event(provider: str, payload: Mapping[str, Any]) -> paywire.WebhookEvent:
    """The normalized event for a verified, parsed PayPal webhook body.

    Raises :class:`~paywire.UnknownEvent` for something that is not a PayPal event or whose type
    is not normalized, and :class:`~paywire.MalformedWebhook` for a normalized type whose event
    cannot be read (no id, no resource, an amount that is not exact).
    """
    if not isinstance(payload, Mapping):
        raise paywire.UnknownEvent("not a PayPal event", provider=provider, event_type=None)
    raw_type = payload.get("event_type")
    if not isinstance(raw_type, str) or not raw_type:
        raise paywire.UnknownEvent(
            "not a PayPal event (no event_type)", provider=provider, event_type=None
        )
    event_id = payload.get("id")
    event = EVENT_RULES.normalize(
        raw_type,
        payload,
        event_id=event_id if isinstance(event_id, str) else "",
        created_at=aware_time(payload.get("create_time")),
        data=payload,
    )
    return event if provider == EVENT_RULES.provider else attrs.evolve(event, provider=provider)
