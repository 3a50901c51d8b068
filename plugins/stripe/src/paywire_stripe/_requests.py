"""What the plugin sends Stripe: the parameters of each request, as plain dicts.

They are sent form-encoded with brackets (``line_items[0][quantity]=2``) by the kernel, as
stripe-python encodes them. No SDK code runs here: building the dicts directly is several times
cheaper than the SDK's request building (see ``benchmarks/bench_sdk_vs_direct.py``). Their shapes
stay Stripe's by construction: each builder is typed with the stripe SDK's own parameter
``TypedDict`` for its endpoint (imported for type checking only), and the tests check every
request the plugin sends against those types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from stripe.params import (
        CustomerCreateParams,
        PaymentIntentCreateParams,
        PaymentMethodAttachParams,
        RefundCreateParams,
    )
    from stripe.params.checkout import SessionCreateParams, SessionRetrieveParams

    from paywire import Customer, Invoice

__all__ = [
    "REFUND_REASONS",
    "attach_params",
    "charge_params",
    "checkout_params",
    "customer_params",
    "expand_setup_intent",
    "refund_params",
    "setup_params",
    "with_session_id",
]

#: Stripe's own refund reasons; any other reason travels in the refund's metadata.
REFUND_REASONS: Final = frozenset({"duplicate", "fraudulent", "requested_by_customer"})

#: The template Checkout replaces with the session's id in ``success_url``.
SESSION_TEMPLATE: Final = "{CHECKOUT_SESSION_ID}"


def customer_params(customer: Customer) -> CustomerCreateParams:
    """``POST /v1/customers`` for the app's ``customer`` (its own id in ``metadata[app_id]``)."""
    params: CustomerCreateParams = {"metadata": {**customer.metadata, "app_id": customer.id}}
    if customer.email:
        params["email"] = customer.email
    if customer.name:
        params["name"] = customer.name
    if customer.phone:
        params["phone"] = customer.phone
    return params


def checkout_params(
    invoice: Invoice,
    unit_amounts: list[int],
    *,
    success_url: str,
    cancel_url: str,
    save_payment_method: bool,
    customer_id: str | None,
) -> SessionCreateParams:
    """``POST /v1/checkout/sessions`` in payment mode: one ``price_data`` line per invoice line
    (``unit_amounts`` in minor units); the invoice id in ``client_reference_id`` and in the
    session's and the PaymentIntent's ``metadata[invoice_id]``."""
    currency = invoice.currency.lower()
    metadata = {**invoice.metadata, "invoice_id": invoice.id}
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": unit,
                    "product_data": {"name": item.description},
                },
                "quantity": item.quantity,
            }
            for item, unit in zip(invoice.line_items, unit_amounts, strict=True)
        ],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": invoice.id,
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
    }
    if invoice.description:
        params["payment_intent_data"]["description"] = invoice.description
    if save_payment_method:
        params["payment_intent_data"]["setup_future_usage"] = "off_session"
    if customer_id is not None:
        params["customer"] = customer_id
    elif save_payment_method:
        # Without a customer the saved card would be attached to nobody.
        params["customer_creation"] = "always"
    return params


def with_session_id(url: str) -> str:
    """``url`` with ``session_id={CHECKOUT_SESSION_ID}`` in its query, unless it already has
    the template: Checkout fills it in, so the page the customer returns to names the session."""
    if SESSION_TEMPLATE in url:
        return url
    base, hash_, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    if base.endswith(("?", "&")):
        separator = ""
    return f"{base}{separator}session_id={SESSION_TEMPLATE}{hash_}{fragment}"


def setup_params(
    customer: Customer,
    customer_id: str,
    *,
    currency: str,
    success_url: str,
    cancel_url: str,
) -> SessionCreateParams:
    """``POST /v1/checkout/sessions`` in setup mode for the Stripe customer ``customer_id``.

    Stripe wants a ``currency`` in setup mode unless payment method types are listed.
    """
    return {
        "mode": "setup",
        "customer": customer_id,
        "currency": currency.lower(),
        "success_url": with_session_id(success_url),
        "cancel_url": cancel_url,
        "metadata": {"customer_id": customer.id},
        "setup_intent_data": {"metadata": {"customer_id": customer.id}},
    }


def expand_setup_intent() -> SessionRetrieveParams:
    """``GET /v1/checkout/sessions/{id}`` with its SetupIntent in the answer."""
    return {"expand": ["setup_intent"]}


def charge_params(
    method_id: str,
    customer_id: str | None,
    amount: int,
    currency: str,
    *,
    description: str | None,
    metadata: Mapping[str, str],
) -> PaymentIntentCreateParams:
    """``POST /v1/payment_intents``: confirmed at once, off-session, on the saved method."""
    params: PaymentIntentCreateParams = {
        "amount": amount,
        "currency": currency.lower(),
        "payment_method": method_id,
        "confirm": True,
        "off_session": True,
    }
    if customer_id:
        params["customer"] = customer_id
    if description:
        params["description"] = description
    if metadata:
        params["metadata"] = dict(metadata)
    return params


def refund_params(
    transaction_id: str,
    amount: int | None,
    *,
    reason: str | None,
    metadata: Mapping[str, str],
) -> RefundCreateParams:
    """``POST /v1/refunds`` of a PaymentIntent (``pi_…``) or a charge (``ch_…``)."""
    params: RefundCreateParams = {}
    if transaction_id.startswith(("ch_", "py_")):
        params["charge"] = transaction_id
    else:
        params["payment_intent"] = transaction_id
    if amount is not None:
        params["amount"] = amount
    extra = dict(metadata)
    if reason in REFUND_REASONS:
        params["reason"] = reason
    elif reason:
        extra["reason"] = reason
    if extra:
        params["metadata"] = extra
    return params


def attach_params(customer_id: str) -> PaymentMethodAttachParams:
    """``POST /v1/payment_methods/{id}/attach`` to the Stripe customer ``customer_id``."""
    return {"customer": customer_id}
