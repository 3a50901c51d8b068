"""The normalized types every provider speaks: frozen attrs classes and status enums."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from paywire._errors import InvalidAmount
from paywire._money import Money, normalize_currency

__all__ = [
    "ChargeResult",
    "CheckoutSession",
    "Customer",
    "EventReference",
    "EventType",
    "Invoice",
    "LineItem",
    "PaymentMethodInfo",
    "PaymentStatus",
    "RefundResult",
    "RefundStatus",
    "SavedPaymentMethod",
    "SessionStatus",
    "SetupSession",
    "WebhookEvent",
    "utc_from_timestamp",
]


class PaymentStatus(enum.Enum):
    """Where a payment stands."""

    SUCCEEDED = "succeeded"
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"
    CANCELED = "canceled"


class RefundStatus(enum.Enum):
    """Where a refund stands."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class SessionStatus(enum.Enum):
    """A hosted checkout or setup session's state."""

    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class EventType(enum.Enum):
    """Normalized webhook event types; each provider maps its own event names onto these."""

    CHECKOUT_COMPLETED = "checkout.completed"
    CHECKOUT_EXPIRED = "checkout.expired"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_PENDING = "payment.pending"
    PAYMENT_REQUIRES_ACTION = "payment.requires_action"
    REFUND_CREATED = "refund.created"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    SETUP_COMPLETED = "setup.completed"
    SETUP_FAILED = "setup.failed"
    PAYMENT_METHOD_ATTACHED = "payment_method.attached"
    PAYMENT_METHOD_DETACHED = "payment_method.detached"
    PAYMENT_METHOD_UPDATED = "payment_method.updated"
    DISPUTE_OPENED = "dispute.opened"
    DISPUTE_CLOSED = "dispute.closed"


def _aware(_: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be a timezone-aware datetime")


def _str_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError("metadata keys and values must be str")
        out[key] = item
    return out


def _non_empty(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty str")


@attrs.frozen
class Customer:
    """The person or business paying, as the app knows them.

    ``id`` is the app's own id; ``provider_customer_id`` is the provider's, once one exists.
    ``phone`` is a phone number in international form (``+919876543210``): some providers require
    one to save or charge a method (Razorpay's recurring payments).
    """

    id: str = attrs.field(validator=_non_empty)
    email: str | None = None
    name: str | None = None
    provider_customer_id: str | None = None
    phone: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict, converter=_str_map)


@attrs.frozen
class LineItem:
    """One line of an invoice: ``quantity`` × ``unit_amount``."""

    description: str = attrs.field(validator=_non_empty)
    unit_amount: Money
    quantity: int = attrs.field(default=1)

    @quantity.validator
    def _check_quantity(self, _: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("quantity must be a positive int")

    @property
    def total(self) -> Money:
        """``unit_amount * quantity``."""
        return self.unit_amount * self.quantity


def _line_items(items: Iterable[LineItem]) -> tuple[LineItem, ...]:
    return tuple(items)


@attrs.frozen
class Invoice:
    """What the app asks to be paid: its own id, the lines, and who pays.

    All lines share the invoice's currency and the total must be positive.
    """

    id: str = attrs.field(validator=_non_empty)
    currency: str = attrs.field(converter=normalize_currency)
    line_items: tuple[LineItem, ...] = attrs.field(converter=_line_items)
    customer: Customer | None = None
    description: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict, converter=_str_map)

    def __attrs_post_init__(self) -> None:
        if not self.line_items:
            raise ValueError("an invoice needs at least one line item")
        if any(item.unit_amount.currency != self.currency for item in self.line_items):
            raise InvalidAmount(f"every line item of invoice {self.id} must be in {self.currency}")
        if self.total.amount <= 0:
            raise InvalidAmount(f"invoice {self.id} must total more than zero")

    @property
    def total(self) -> Money:
        """The sum of the lines."""
        total = Money.zero(self.currency)
        for item in self.line_items:
            total = total + item.total
        return total


@attrs.frozen
class SavedPaymentMethod:
    """A payment method the provider keeps for later charges.

    ``id`` is the provider's id (Stripe ``pm_…``, PayPal vault id, Razorpay ``token_…``);
    ``customer_id`` is the provider's customer it belongs to, where the provider has one.
    """

    provider: str = attrs.field(validator=_non_empty)
    id: str = attrs.field(validator=_non_empty)
    customer_id: str | None = None


@attrs.frozen
class CheckoutSession:
    """A hosted payment page for one invoice. Send the customer to ``url``."""

    provider: str
    id: str
    url: str
    invoice_id: str
    amount: Money
    status: SessionStatus = SessionStatus.OPEN
    customer_id: str | None = None
    expires_at: datetime | None = attrs.field(default=None, validator=_aware)


@attrs.frozen
class SetupSession:
    """A hosted page that saves a payment method without charging (or, where the provider needs
    one, with a small authorization payment)."""

    provider: str
    id: str
    url: str
    customer_id: str | None = None
    status: SessionStatus = SessionStatus.OPEN
    expires_at: datetime | None = attrs.field(default=None, validator=_aware)


@attrs.frozen
class ChargeResult:
    """The outcome of charging a saved payment method. ``id`` is the transaction to refund."""

    provider: str
    id: str
    amount: Money
    status: PaymentStatus
    raw_status: str
    payment_method_id: str | None = None
    invoice_id: str | None = None
    created_at: datetime | None = attrs.field(default=None, validator=_aware)


@attrs.frozen
class RefundResult:
    """A refund of (part of) a transaction."""

    provider: str
    id: str
    transaction_id: str
    amount: Money
    status: RefundStatus
    raw_status: str


@attrs.frozen
class PaymentMethodInfo:
    """What can be shown about a saved payment method (never the full number)."""

    provider: str
    id: str
    type: str
    customer_id: str | None = None
    brand: str | None = None
    last4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    email: str | None = None


@attrs.frozen
class WebhookEvent:
    """A provider's webhook event, normalized.

    ``id`` is the provider's event id (the deduplication key with ``provider``); ``raw_type`` is
    the provider's own event name and ``data`` the provider's event object, JSON-safe.
    ``method_saved`` says that ``payment_method_id`` was saved for later charges (a checkout
    with ``save_payment_method``); setup and attach events say so by their type.
    """

    provider: str
    id: str
    type: EventType
    raw_type: str
    created_at: datetime | None = attrs.field(default=None, validator=_aware)
    invoice_id: str | None = None
    amount: Money | None = None
    transaction_id: str | None = None
    refund_id: str | None = None
    payment_method_id: str | None = None
    customer_id: str | None = None
    session_id: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)
    method_saved: bool = False

    @property
    def saved_payment_method(self) -> SavedPaymentMethod | None:
        """The method this event says was saved for later charges, ready for
        ``charge_payment_method``: a ``SETUP_COMPLETED`` or ``PAYMENT_METHOD_ATTACHED`` event's
        method, or one a checkout saved (the provider sets ``method_saved``). ``None`` otherwise
        — a one-off payment names the method it used, which was not saved."""
        if not self.payment_method_id:
            return None
        if not (self.method_saved or self.type in _SAVING):
            return None
        return SavedPaymentMethod(self.provider, self.payment_method_id, self.customer_id)


_SAVING = frozenset({EventType.SETUP_COMPLETED, EventType.PAYMENT_METHOD_ATTACHED})


@attrs.frozen
class EventReference:
    """A notification that only names a resource (``id=tr_123``) instead of describing what
    happened. The provider fetches the resource (``Provider.fetch_webhook_event``) and the event
    comes from its answer; nothing in the notification itself is trusted.

    ``resource_id`` is the provider's id of the resource; ``kind`` the provider's word for what
    it is (``"payment"``, ``"refund"``, ``"mandate"``) when the notification says; ``data`` what
    else the notification carried (untrusted: never act on it).
    """

    provider: str
    resource_id: str = attrs.field(validator=_non_empty)
    kind: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)


def utc_from_timestamp(value: float) -> datetime:
    """An aware UTC datetime from a Unix timestamp (providers send seconds)."""
    return datetime.fromtimestamp(value, tz=UTC)
