"""Hypothesis strategies for every paywire type (shared by the core's tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

import paywire
from paywire import (
    ChargeResult,
    CheckoutSession,
    Customer,
    EventType,
    Invoice,
    LineItem,
    Money,
    PaymentMethodInfo,
    PaymentStatus,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    SessionStatus,
    SetupSession,
    WebhookEvent,
)

# Every property test module imports this one, so the profile applies to all of them. CI machines
# are shared and slow at times: a property is judged on its examples, not on one example's time.
# (A conftest.py would do it too, but two of them in one tree trip mypy's module names.)
settings.register_profile("paywire-core", deadline=None)
settings.load_profile("paywire-core")

CURRENCIES = sorted(paywire.known_currencies())

currencies = st.sampled_from(CURRENCIES)
ids = st.text(min_size=1, max_size=24)
optional_text = st.none() | st.text(max_size=24)
metadata = st.dictionaries(st.text(max_size=12), st.text(max_size=24), max_size=4)

# Whole minutes: every real UTC offset is, and isoformat() writes them without seconds.
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.builds(
    lambda naive, tz: naive.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    offsets | st.just(UTC),
)


@st.composite
def money(
    draw: st.DrawFn,
    currency: str | st.SearchStrategy[str] = currencies,
    *,
    min_minor: int = 0,
    max_minor: int = 10**15,
) -> Money:
    """Any amount ``currency`` can express, written with or without trailing zeros."""
    code = currency if isinstance(currency, str) else draw(currency)
    exponent = paywire.currency_exponent(code)
    minor = draw(st.integers(min_value=min_minor, max_value=max_minor))
    amount = Decimal(minor).scaleb(-exponent)
    if draw(st.booleans()):
        amount = amount.normalize() if amount else Decimal(0)
    return Money(amount, code)


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """JSON documents without floats, as a provider's event object would be after parsing."""
    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


customers = st.builds(
    Customer,
    id=ids,
    email=optional_text,
    name=optional_text,
    provider_customer_id=optional_text,
    phone=optional_text,
    metadata=metadata,
)


@st.composite
def line_items(draw: st.DrawFn, currency: str, *, min_minor: int = 0) -> LineItem:
    """A line in ``currency``."""
    return LineItem(
        description=draw(ids),
        unit_amount=draw(money(currency, min_minor=min_minor, max_minor=10**9)),
        quantity=draw(st.integers(min_value=1, max_value=1000)),
    )


@st.composite
def invoices(draw: st.DrawFn) -> Invoice:
    """A valid invoice: one currency, a positive total."""
    currency = draw(currencies)
    first = draw(line_items(currency, min_minor=1))
    rest = draw(st.lists(line_items(currency), max_size=3))
    return Invoice(
        id=draw(ids),
        currency=currency.lower() if draw(st.booleans()) else currency,
        line_items=[first, *rest],
        customer=draw(st.none() | customers),
        description=draw(optional_text),
        metadata=draw(metadata),
    )


saved_payment_methods = st.builds(
    SavedPaymentMethod, provider=ids, id=ids, customer_id=optional_text
)
checkout_sessions = st.builds(
    CheckoutSession,
    provider=ids,
    id=ids,
    url=ids,
    invoice_id=ids,
    amount=money(),
    status=st.sampled_from(SessionStatus),
    customer_id=optional_text,
    expires_at=st.none() | aware_datetimes,
)
setup_sessions = st.builds(
    SetupSession,
    provider=ids,
    id=ids,
    url=ids,
    customer_id=optional_text,
    status=st.sampled_from(SessionStatus),
    expires_at=st.none() | aware_datetimes,
)
charge_results = st.builds(
    ChargeResult,
    provider=ids,
    id=ids,
    amount=money(),
    status=st.sampled_from(PaymentStatus),
    raw_status=ids,
    payment_method_id=optional_text,
    invoice_id=optional_text,
    created_at=st.none() | aware_datetimes,
)
refund_results = st.builds(
    RefundResult,
    provider=ids,
    id=ids,
    transaction_id=ids,
    amount=money(),
    status=st.sampled_from(RefundStatus),
    raw_status=ids,
)
payment_method_infos = st.builds(
    PaymentMethodInfo,
    provider=ids,
    id=ids,
    type=ids,
    customer_id=optional_text,
    brand=optional_text,
    last4=st.none() | st.from_regex(r"\A[0-9]{4}\Z"),
    exp_month=st.none() | st.integers(min_value=1, max_value=12),
    exp_year=st.none() | st.integers(min_value=2000, max_value=2100),
    email=optional_text,
)
webhook_events = st.builds(
    WebhookEvent,
    provider=ids,
    id=ids,
    type=st.sampled_from(EventType),
    raw_type=ids,
    created_at=st.none() | aware_datetimes,
    invoice_id=optional_text,
    amount=st.none() | money(),
    transaction_id=optional_text,
    refund_id=optional_text,
    payment_method_id=optional_text,
    customer_id=optional_text,
    session_id=optional_text,
    data=st.dictionaries(st.text(max_size=8), json_values(), max_size=4),
    method_saved=st.booleans(),
)

#: Every normalized type with a strategy for it.
ALL_TYPES: dict[type[Any], st.SearchStrategy[Any]] = {
    Money: money(),
    Customer: customers,
    LineItem: currencies.flatmap(line_items),
    Invoice: invoices(),
    SavedPaymentMethod: saved_payment_methods,
    CheckoutSession: checkout_sessions,
    SetupSession: setup_sessions,
    ChargeResult: charge_results,
    RefundResult: refund_results,
    PaymentMethodInfo: payment_method_infos,
    WebhookEvent: webhook_events,
}
