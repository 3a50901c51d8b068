"""What Razorpay documents and refuses, refused here before any request (issue 13).

Sources (Razorpay's docs, ``razorpay/markdown-docs``):
- recurring payments take ``email`` and ``contact`` (both mandatory) and "Currently, only INR is
  allowed" (partners/aggregators/partner-auth/recurring-payments/cards/registration-links/
  create-subsequent-payments.md; the sample request in api/payments/recurring-payments/cards/
  create-subsequent-payments.md carries both);
- a registration link takes ``customer{name, email, contact}``, all mandatory, a ``currency``, a
  ``description`` and ``subscription_registration{method, max_amount (100 to 100000000),
  frequency (weekly, monthly, yearly, as_presented)}`` (api/payments/recurring-payments/cards/
  create-authorization-transaction.md);
- a customer's name is "Alphanumeric, with period (.), apostrophe ('), forward slash (/), at (@)
  and parentheses allowed", 3 to 50 characters; a contact is at most 15 characters with the
  country code and at least 8 digits (api/customers/create.md, edit.md).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from razorpay_helpers import (
    CUSTOMER,
    INR_12_34,
    METHOD,
    call,
    charge_routes,
)

import paywire
from paywire_razorpay import RazorpayConfig, RazorpayProvider

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .'/@()"


def _body(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def _customer(**changes: Any) -> paywire.Customer:
    values: dict[str, Any] = {
        "id": "app-1",
        "email": "asha@example.com",
        "name": "Asha Rao",
        "phone": "+919876543210",
        **changes,
    }
    return paywire.Customer(**values)


def _setup(provider: RazorpayProvider, mode: str, customer: paywire.Customer) -> Any:
    return call(
        provider, mode, "create_setup_session", customer, success_url="https://a/", cancel_url="x"
    )


def _link_route(router: respx.Router) -> respx.Route:
    return router.post("/v1/subscription_registration/auth_links").respond(
        200, json={"id": "inv_R1", "short_url": "https://rzp.io/i/reg", "status": "issued"}
    )


# -- recurring payments carry email and contact ------------------------------------------------


def test_a_recurring_payment_carries_the_customers_email_and_contact(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    routes = charge_routes(router, contact="+91 90000 90000")
    call(provider, mode, "charge_payment_method", METHOD, INR_12_34)
    body = _body(routes["recurring"])
    assert body["email"] == "asha@example.com"
    assert body["contact"] == "+919000090000"


@pytest.mark.parametrize("missing", ["email", "contact"])
def test_a_customer_without_email_or_contact_is_refused_before_any_order(
    router: respx.Router, provider: RazorpayProvider, mode: str, missing: str
) -> None:
    routes = charge_routes(router, **{missing: None})
    with pytest.raises(paywire.InvalidRequest, match=CUSTOMER):
        call(provider, mode, "charge_payment_method", METHOD, INR_12_34)
    assert not routes["order"].called
    assert not routes["recurring"].called


# -- recurring payments are INR only -----------------------------------------------------------


@pytest.mark.parametrize("amount", ["500 JPY", "1.23 KWD", "12.34 USD", "10.00 EUR"])
def test_recurring_outside_inr_is_refused_before_any_request(
    router: respx.Router, provider: RazorpayProvider, mode: str, amount: str
) -> None:
    value, currency = amount.split()
    with pytest.raises(paywire.UnknownCurrency, match="INR only"):
        call(provider, mode, "charge_payment_method", METHOD, paywire.Money(value, currency))
    assert not router.calls


def test_payment_links_still_take_other_currencies(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    route = router.post("/v1/payment_links").respond(
        200,
        json={"id": "plink_1", "short_url": "https://rzp.io/i/x", "amount": 500, "currency": "JPY"},
    )
    invoice = paywire.Invoice("INV-J", "JPY", [paywire.LineItem("Plan", paywire.Money(500, "JPY"))])
    call(
        provider, mode, "create_checkout_session", invoice, success_url="https://a/", cancel_url=""
    )
    assert _body(route)["amount"] == 500


# -- registration links carry the customer object ----------------------------------------------


def test_a_registration_link_carries_name_email_and_contact_not_a_customer_id(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    customers = router.post("/v1/customers")
    route = _link_route(router)
    _setup(provider, mode, _customer(phone="+91-98765-43210"))
    body = _body(route)
    assert body["customer"] == {
        "name": "Asha Rao",
        "email": "asha@example.com",
        "contact": "+919876543210",
    }
    assert "customer_id" not in body
    assert body["currency"] == "INR"
    assert body["description"]
    assert body["subscription_registration"]["frequency"] == "as_presented"
    assert not customers.called


@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({"phone": None}, "phone"),
        ({"email": None}, "email"),
        ({"name": None}, "name"),
        ({"phone": "12345"}, "phone number"),
        ({"phone": "+91987654321098765"}, "phone number"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_a_registration_link_without_what_razorpay_requires_is_refused_before_any_request(
    router: respx.Router,
    provider: RazorpayProvider,
    mode: str,
    changes: dict[str, Any],
    what: str,
) -> None:
    with pytest.raises(paywire.InvalidRequest, match=what):
        _setup(provider, mode, _customer(**changes))
    assert not router.calls


def test_a_known_customer_without_a_phone_anywhere_is_refused_before_the_link(
    router: respx.Router, provider: RazorpayProvider, mode: str
) -> None:
    router.get("/v1/customers/cust_Known").respond(
        200, json={"id": "cust_Known", "name": "Asha Rao", "email": "a@x.in", "contact": None}
    )
    route = _link_route(router)
    with pytest.raises(paywire.InvalidRequest, match="phone"):
        _setup(provider, mode, _customer(phone=None, provider_customer_id="cust_Known"))
    assert not route.called


# -- customer names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["Jo", "x" * 51, "José Müller", "Asha-Rao", "Asha_Rao", "Asha\tRao", "a+b@c.in"]
)
def test_names_razorpay_refuses_are_refused_before_any_request(
    router: respx.Router, provider: RazorpayProvider, mode: str, name: str
) -> None:
    with pytest.raises(paywire.InvalidRequest, match="name"):
        _setup(provider, mode, _customer(name=name))
    assert not router.calls


def test_a_missing_name_is_not_made_up_from_the_email_or_id(
    router: respx.Router, provider: RazorpayProvider
) -> None:
    with pytest.raises(paywire.InvalidRequest, match=r"Customer\.name"):
        _setup(provider, "sync", _customer(name=None))
    assert not router.calls


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(alphabet=_NAME_CHARS, min_size=3, max_size=50))
def test_every_name_razorpay_takes_is_sent_unchanged(
    router: respx.Router, provider: RazorpayProvider, name: str
) -> None:
    route = _link_route(router)
    _setup(provider, "sync", _customer(name=name))
    assert _body(route)["customer"]["name"] == name


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=60))
def test_any_name_is_sent_as_is_or_refused(
    router: respx.Router, provider: RazorpayProvider, name: str
) -> None:
    route = _link_route(router)
    before = route.call_count
    try:
        _setup(provider, "sync", _customer(name=name))
    except paywire.InvalidRequest:
        assert route.call_count == before
        assert not (3 <= len(name) <= 50 and all(c in _NAME_CHARS for c in name))
        return
    assert _body(route)["customer"]["name"] == name


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    digits=st.text(alphabet="0123456789", min_size=8, max_size=14),
    plus=st.booleans(),
    spaced=st.booleans(),
)
def test_phone_numbers_are_sent_as_digits_with_an_optional_plus(
    router: respx.Router, provider: RazorpayProvider, digits: str, plus: bool, spaced: bool
) -> None:
    route = _link_route(router)
    written = ("+" if plus else "") + (
        " ".join(digits[i : i + 3] for i in range(0, 14, 3)) if spaced else digits
    )
    _setup(provider, "sync", _customer(phone=written.strip()))
    assert _body(route)["customer"]["contact"] == ("+" if plus else "") + digits


# -- card mandate settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"mandate_frequency": "quarterly"},
        {"mandate_frequency": "daily"},
        {"mandate_max_amount": 99},
        {"mandate_max_amount": 100_000_001},
        {"setup_amount": 99},
    ],
)
def test_mandate_settings_razorpay_refuses_for_cards_are_configuration_errors(
    values: dict[str, object],
) -> None:
    with pytest.raises(paywire.ConfigurationError):
        paywire.load_config(RazorpayConfig, "razorpay", environ={}, **values)


@pytest.mark.parametrize("frequency", ["weekly", "monthly", "yearly", "as_presented"])
def test_the_documented_card_frequencies_are_sent(
    router: respx.Router, mode: str, frequency: str
) -> None:
    from razorpay_helpers import build_provider

    provider = build_provider(httpx.MockTransport(router.handler), mandate_frequency=frequency)
    route = _link_route(router)
    try:
        _setup(provider, mode, _customer())
    finally:
        provider.close()
    assert _body(route)["subscription_registration"]["frequency"] == frequency
