"""The normalized types: frozen, validated, with enums whose values are the wire names."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paywire_strategies import ALL_TYPES, currencies, invoices, line_items

from paywire import (
    ChargeResult,
    CheckoutSession,
    Customer,
    EventType,
    InvalidAmount,
    Invoice,
    LineItem,
    Money,
    PaymentStatus,
    RefundStatus,
    SavedPaymentMethod,
    SessionStatus,
    SetupSession,
    UnknownCurrency,
    WebhookEvent,
)

NAIVE = datetime(2030, 1, 1)


@pytest.mark.parametrize("cls", list(ALL_TYPES), ids=lambda cls: cls.__name__)
@given(data=st.data())
def test_every_type_is_frozen(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(ALL_TYPES[cls])
    field = attrs.fields(cls)[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(value, field, getattr(value, field))
    assert value == attrs.evolve(value)


@pytest.mark.parametrize(
    "enum_class", [PaymentStatus, RefundStatus, SessionStatus, EventType], ids=lambda e: e.__name__
)
def test_enum_values_are_unique_lower_case_wire_names(enum_class: type[enum.Enum]) -> None:
    values = [member.value for member in enum_class]
    assert len(set(values)) == len(values)
    for member in enum_class:
        assert member.value == member.value.lower()
        assert enum_class(member.value) is member


def test_event_types_cover_the_five_kinds_of_things_a_provider_does() -> None:
    kinds = {member.value.split(".")[0] for member in EventType}
    assert {"checkout", "payment", "refund", "setup", "payment_method"} <= kinds


def test_customer_metadata_must_be_strings() -> None:
    assert Customer("c", metadata=None).metadata == {}
    assert Customer("c", metadata={"plan": "pro"}).metadata == {"plan": "pro"}
    with pytest.raises(TypeError):
        Customer("c", metadata={"n": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        Customer("c", metadata={1: "n"})  # type: ignore[dict-item]


def test_metadata_is_copied_not_shared() -> None:
    source = {"a": "1"}
    customer = Customer("c", metadata=source)
    source["a"] = "2"
    assert customer.metadata == {"a": "1"}


@pytest.mark.parametrize("bad", ["", None, 5])
def test_ids_must_be_non_empty_strings(bad: Any) -> None:
    with pytest.raises(ValueError, match="id"):
        Customer(bad)
    with pytest.raises(ValueError, match="id"):
        SavedPaymentMethod(provider="p", id=bad)
    with pytest.raises(ValueError, match="provider"):
        SavedPaymentMethod(provider=bad, id="pm")
    with pytest.raises(ValueError, match="description"):
        LineItem(bad, Money(1, "USD"))


@pytest.mark.parametrize("quantity", [0, -1, True, 1.0, "2"])
def test_line_item_quantity_is_a_positive_int(quantity: Any) -> None:
    with pytest.raises(ValueError, match="quantity"):
        LineItem("x", Money(1, "USD"), quantity)


@given(currencies.flatmap(line_items))
def test_line_item_total_is_unit_times_quantity(item: LineItem) -> None:
    assert item.total.amount == item.unit_amount.amount * item.quantity
    assert item.total.currency == item.unit_amount.currency


@given(invoices())
def test_invoice_total_is_the_sum_of_its_lines(invoice: Invoice) -> None:
    assert invoice.total.amount == sum(item.total.amount for item in invoice.line_items)
    assert invoice.total.currency == invoice.currency
    assert invoice.currency == invoice.currency.upper()
    assert isinstance(invoice.line_items, tuple)


def test_invoice_rules() -> None:
    line = LineItem("Plan", Money("9.90", "EUR"))
    assert Invoice("I", "eur", [line]).currency == "EUR"
    with pytest.raises(ValueError, match="at least one"):
        Invoice("I", "EUR", [])
    with pytest.raises(InvalidAmount, match="EUR"):
        Invoice("I", "EUR", [line, LineItem("Other", Money(1, "USD"))])
    with pytest.raises(InvalidAmount, match="more than zero"):
        Invoice("I", "EUR", [LineItem("Free", Money(0, "EUR"))])
    with pytest.raises(UnknownCurrency):
        Invoice("I", "EURO", [line])
    free_and_paid = Invoice("I", "EUR", [LineItem("Free", Money(0, "EUR")), line])
    assert free_and_paid.total == Money("9.90", "EUR")


def test_datetimes_must_be_aware() -> None:
    amount = Money(1, "USD")
    with pytest.raises(ValueError, match="expires_at"):
        CheckoutSession("p", "s", "u", "i", amount, expires_at=NAIVE)
    with pytest.raises(ValueError, match="expires_at"):
        SetupSession("p", "s", "u", expires_at=NAIVE)
    with pytest.raises(ValueError, match="created_at"):
        ChargeResult("p", "t", amount, PaymentStatus.SUCCEEDED, "succeeded", created_at=NAIVE)
    with pytest.raises(ValueError, match="created_at"):
        WebhookEvent("p", "e", EventType.PAYMENT_SUCCEEDED, "x", created_at=NAIVE)
    aware = NAIVE.replace(tzinfo=UTC)
    assert CheckoutSession("p", "s", "u", "i", amount, expires_at=aware).expires_at == aware


def test_defaults() -> None:
    session = CheckoutSession("p", "s", "u", "i", Money(1, "USD"))
    assert session.status is SessionStatus.OPEN
    assert SetupSession("p", "s", "u").status is SessionStatus.OPEN
    event = WebhookEvent("p", "e", EventType.CHECKOUT_COMPLETED, "checkout.session.completed")
    assert event.data == {}
    assert event.invoice_id is None
