"""The ``/v1`` endpoints: parameter schemas and handlers, keyed by method and path shape.

A handler gets the engine and a :class:`Call` (decoded parameters, the ids in the path, the
base URL for hosted pages) and returns the JSON object to send, or pre-serialised bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from paywire_sandbox.stripe import _params as p
from paywire_sandbox.stripe import _resources as res
from paywire_sandbox.stripe._currency import (
    check_amount,
    check_currency,
    format_amount,
    minimum_amount,
)
from paywire_sandbox.stripe._engine import SessionRecord, StripeEngine
from paywire_sandbox.stripe._errors import (
    StripeError,
    invalid_request,
    param_error,
    resource_missing,
)
from paywire_sandbox.stripe._resources import JSON

__all__ = ["ROUTES", "Call", "Handler", "clean_metadata", "route_key"]


@attrs.frozen
class Call:
    """One API request as a handler sees it."""

    params: dict[str, Any]
    ids: tuple[str, ...]
    #: Absolute URL of the fake's mount, ending in ``/`` (``http://host:port/stripe/``).
    base_url: str


Handler = Callable[[StripeEngine, Call], "JSON | bytes"]


def clean_metadata(raw: dict[str, str | None] | None) -> dict[str, str]:
    """Metadata for a new object: keys sent empty are simply absent."""
    if not raw:
        return {}
    return {k: v for k, v in raw.items() if v is not None}


def _email(raw: Any, name: str) -> str | None:
    value = p.string(max_length=512, nullable=True)(raw, name)
    if value is not None and ("@" not in value or value.startswith("@") or value.endswith("@")):
        raise param_error(f"Invalid email address: {value}", param=name, code="email_invalid")
    result: str | None = value
    return result


def _url(raw: Any, name: str) -> str:
    value = p.string(max_length=5000)(raw, name)
    if not value.startswith(("http://", "https://")):
        raise param_error("Not a valid URL", param=name, code="url_invalid")
    result: str = value
    return result


def _off_session(raw: Any, name: str) -> bool:
    if raw in ("one_off", "recurring"):
        return True
    return p.boolean(raw, name)


_str = p.string()
_nstr = p.string(nullable=True)
_descriptor = p.string(max_length=22, nullable=True)
_sfu = p.enum("on_session", "off_session", nullable=True)
_pagination: dict[str, p.Validator] = {
    "limit": p.integer(minimum=1, maximum=100),
    "starting_after": _str,
    "ending_before": _str,
    "expand": p.expand,
}


def _paginate(items: list[JSON], params: dict[str, Any], url: str, param_kind: str) -> JSON:
    limit = params.get("limit", 10)
    after = params.get("starting_after")
    before = params.get("ending_before")
    ids = [item["id"] for item in items]
    if after is not None:
        if after not in ids:
            raise resource_missing(param_kind, after, param="starting_after")
        window = items[ids.index(after) + 1 :]
        data, has_more = window[:limit], len(window) > limit
    elif before is not None:
        if before not in ids:
            raise resource_missing(param_kind, before, param="ending_before")
        window = items[: ids.index(before)]
        data, has_more = window[-limit:], len(window) > limit
    else:
        data, has_more = items[:limit], len(items) > limit
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _expanded(engine: StripeEngine, obj: JSON, call: Call) -> JSON:
    raw = call.params.get("expand")
    if not raw:
        return obj
    paths: list[str] = p.expand(raw, "expand")
    return engine.expand(obj, paths)


# ---------------------------------------------------------------------- customers

_CUSTOMER_FIELDS: dict[str, p.Validator] = {
    "email": _email,
    "name": p.string(max_length=256, nullable=True),
    "description": p.string(max_length=350, nullable=True),
    "phone": p.string(max_length=20, nullable=True),
    "metadata": p.metadata,
    "invoice_settings": p.obj({"default_payment_method": _nstr}),
    "expand": p.expand,
}
_CUSTOMER_CREATE = {**_CUSTOMER_FIELDS, "payment_method": _str}


def create_customer(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/customers``."""
    params = p.parse(call.params, _CUSTOMER_CREATE)
    pm = engine.payment_method(params["payment_method"]) if "payment_method" in params else None
    if pm is not None:
        # Checked before the customer exists: a refused card must not leave a customer behind.
        engine.check_attachable(pm)
    obj = engine.create_customer(
        email=params.get("email"),
        name=params.get("name"),
        description=params.get("description"),
        phone=params.get("phone"),
        metadata=clean_metadata(params.get("metadata")),
    )
    if pm is not None:
        engine.attach(pm.obj["id"], obj["id"])
    settings = params.get("invoice_settings")
    if settings:
        engine.update_customer(obj["id"], {"invoice_settings": settings})
    return _expanded(engine, obj, call)


def retrieve_customer(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/customers/{id}``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.customer(call.ids[0]), call)


def update_customer(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/customers/{id}``."""
    params = p.parse(call.params, _CUSTOMER_FIELDS)
    params.pop("expand", None)
    return _expanded(engine, engine.update_customer(call.ids[0], params), call)


def list_customer_payment_methods(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/customers/{id}/payment_methods``."""
    params = p.parse(
        call.params,
        {**_pagination, "type": p.enum("card", "us_bank_account", "sepa_debit", "link")},
    )
    cid = call.ids[0]
    items = engine.customer_payment_methods(cid)
    if params.get("type", "card") != "card":
        items = []
    page = _paginate(items, params, f"/v1/customers/{cid}/payment_methods", "payment_method")
    return _expanded(engine, page, call)


def retrieve_customer_payment_method(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/customers/{id}/payment_methods/{pm}``."""
    p.parse(call.params, {"expand": p.expand})
    cid, pmid = call.ids
    engine.customer(cid, param="customer")
    record = engine.payment_methods.get(pmid)
    if record is None or record.obj["customer"] != cid:
        raise StripeError(
            404,
            "invalid_request_error",
            f"Customer {cid} does not have a payment method with the ID {pmid}",
            code="resource_missing",
            param="payment_method",
        )
    return _expanded(engine, record.obj, call)


# ---------------------------------------------------------------------- payment methods


def retrieve_payment_method(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/payment_methods/{id}``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.payment_method(call.ids[0]).obj, call)


def attach_payment_method(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/payment_methods/{id}/attach``."""
    params = p.parse(call.params, {"customer": _str, "expand": p.expand}, required=("customer",))
    return _expanded(engine, engine.attach(call.ids[0], params["customer"]), call)


def detach_payment_method(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/payment_methods/{id}/detach``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.detach(call.ids[0]), call)


# ---------------------------------------------------------------------- payment intents

_CONFIRM_FIELDS: dict[str, p.Validator] = {
    "payment_method": _str,
    "off_session": _off_session,
    "error_on_requires_action": p.boolean,
    "return_url": _url,
    "setup_future_usage": _sfu,
    "receipt_email": _email,
    "allowed_payment_method_types": p.array(p.enum("card")),
    "expand": p.expand,
}

_PI_CREATE: dict[str, p.Validator] = {
    **_CONFIRM_FIELDS,
    "amount": p.integer(),
    "currency": _str,
    "customer": _str,
    "confirm": p.boolean,
    "description": p.string(max_length=1000, nullable=True),
    "metadata": p.metadata,
    "statement_descriptor": _descriptor,
    "statement_descriptor_suffix": _descriptor,
    "automatic_payment_methods": p.obj(
        {"enabled": p.boolean, "allow_redirects": p.enum("always", "never")},
        required=("enabled",),
    ),
    "capture_method": p.enum("automatic", "automatic_async", "manual"),
    "confirmation_method": p.enum("automatic", "manual"),
}


def _confirm_options(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "payment_method": params.get("payment_method"),
        "off_session": params.get("off_session", False),
        "error_on_requires_action": params.get("error_on_requires_action", False),
        "return_url": params.get("return_url"),
        "setup_future_usage": params.get("setup_future_usage"),
        "receipt_email": params.get("receipt_email"),
    }


def create_payment_intent(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/payment_intents`` (optionally confirming at once)."""
    params = p.parse(call.params, _PI_CREATE, required=("amount", "currency"))
    confirm = params.get("confirm", False)
    if not confirm:
        for name in ("off_session", "error_on_requires_action", "return_url"):
            if name in params:
                raise param_error(
                    f"You can only pass `{name}` when `confirm` is set to `true`.", param=name
                )
    if params.get("capture_method") == "manual":
        raise invalid_request(
            "The sandbox does not support capture_method=manual (separate authorization and "
            "capture).",
            param="capture_method",
        )
    currency = check_currency(params["currency"])
    record = engine.create_payment_intent(
        amount=params["amount"],
        currency=currency,
        customer=params.get("customer"),
        payment_method=params.get("payment_method"),
        description=params.get("description"),
        metadata=clean_metadata(params.get("metadata")),
        receipt_email=params.get("receipt_email"),
        setup_future_usage=params.get("setup_future_usage"),
        statement_descriptor=params.get("statement_descriptor"),
        statement_descriptor_suffix=params.get("statement_descriptor_suffix"),
    )
    if confirm:
        options = _confirm_options(params)
        options["payment_method"] = None  # already set on the intent
        engine.confirm(record, **options)
    return _expanded(engine, record.obj, call)


def retrieve_payment_intent(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/payment_intents/{id}``."""
    p.parse(call.params, {"expand": p.expand, "client_secret": _str})
    return _expanded(engine, engine.intent(call.ids[0]).obj, call)


def update_payment_intent(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/payment_intents/{id}``."""
    params = p.parse(
        call.params,
        {
            "description": p.string(max_length=1000, nullable=True),
            "metadata": p.metadata,
            "receipt_email": _email,
            "expand": p.expand,
        },
    )
    params.pop("expand", None)
    return _expanded(engine, engine.update_payment_intent(call.ids[0], params), call)


def confirm_payment_intent(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/payment_intents/{id}/confirm``."""
    params = p.parse(call.params, _CONFIRM_FIELDS)
    record = engine.intent(call.ids[0])
    return _expanded(engine, engine.confirm(record, **_confirm_options(params)), call)


def cancel_payment_intent(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/payment_intents/{id}/cancel``."""
    params = p.parse(
        call.params,
        {
            "cancellation_reason": p.enum(
                "duplicate", "fraudulent", "requested_by_customer", "abandoned"
            ),
            "expand": p.expand,
        },
    )
    obj = engine.cancel_payment_intent(call.ids[0], params.get("cancellation_reason"))
    return _expanded(engine, obj, call)


def retrieve_setup_intent(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/setup_intents/{id}``."""
    p.parse(call.params, {"expand": p.expand, "client_secret": _str})
    return _expanded(engine, engine.setup_intent(call.ids[0]).obj, call)


def retrieve_charge(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/charges/{id}``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.charge(call.ids[0]), call)


# ---------------------------------------------------------------------- refunds

_REFUND_CREATE: dict[str, p.Validator] = {
    "payment_intent": _str,
    "charge": _str,
    "amount": p.integer(),
    "reason": p.enum("duplicate", "fraudulent", "requested_by_customer"),
    "metadata": p.metadata,
    "expand": p.expand,
}


def create_refund(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/refunds``."""
    params = p.parse(call.params, _REFUND_CREATE)
    obj = engine.create_refund(
        payment_intent=params.get("payment_intent"),
        charge=params.get("charge"),
        amount=params.get("amount"),
        reason=params.get("reason"),
        metadata=clean_metadata(params.get("metadata")),
    )
    return _expanded(engine, obj, call)


def retrieve_refund(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/refunds/{id}``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.refund(call.ids[0]), call)


def update_refund(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/refunds/{id}`` (metadata only)."""
    params = p.parse(call.params, {"metadata": p.metadata, "expand": p.expand})
    if "metadata" in params:
        obj = engine.update_refund(call.ids[0], params["metadata"])
    else:
        obj = engine.refund(call.ids[0])
    return _expanded(engine, obj, call)


# ---------------------------------------------------------------------- disputes


def _evidence(raw: Any, name: str) -> dict[str, str | None]:
    checked: dict[str, Any] = p.obj(
        dict.fromkeys(res.EVIDENCE_FIELDS, p.string(max_length=150_000, nullable=True))
    )(raw, name)
    return checked


def retrieve_dispute(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/disputes/{id}``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.dispute(call.ids[0]), call)


def update_dispute(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/disputes/{id}`` (evidence, metadata, submit)."""
    params = p.parse(
        call.params,
        {"evidence": _evidence, "metadata": p.metadata, "submit": p.boolean, "expand": p.expand},
    )
    obj = engine.update_dispute(
        call.ids[0],
        evidence=params.get("evidence", {}),
        metadata=params.get("metadata"),
        submit=params.get("submit", True),
    )
    return _expanded(engine, obj, call)


def close_dispute(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/disputes/{id}/close``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.close_dispute(call.ids[0]), call)


# ---------------------------------------------------------------------- checkout

_LINE_ITEM = p.obj(
    {
        "price": _str,
        "price_data": p.obj(
            {
                "currency": _str,
                "unit_amount": p.integer(minimum=0),
                "product": _str,
                "product_data": p.obj(
                    {
                        "name": p.string(max_length=250),
                        "description": p.string(max_length=5000),
                        "images": p.array(_str, max_items=8),
                        "metadata": p.metadata,
                    },
                    required=("name",),
                ),
                "tax_behavior": p.enum("exclusive", "inclusive", "unspecified"),
            }
        ),
        "quantity": p.integer(minimum=0, maximum=999_999),
    }
)

_SESSION_CREATE: dict[str, p.Validator] = {
    "mode": p.enum("payment", "setup", "subscription"),
    "line_items": p.array(_LINE_ITEM),
    "success_url": _url,
    "cancel_url": _url,
    "customer": _str,
    "customer_creation": p.enum("always", "if_required"),
    "customer_email": _email,
    "client_reference_id": p.string(max_length=200),
    "metadata": p.metadata,
    "currency": _str,
    "expires_at": p.integer(),
    "locale": p.string(max_length=10),
    "submit_type": p.enum("auto", "book", "donate", "pay", "subscribe"),
    "billing_address_collection": p.enum("auto", "required"),
    "ui_mode": p.enum("hosted", "hosted_page"),
    "allowed_payment_method_types": p.array(p.enum("card", "us_bank_account"), max_items=10),
    "payment_intent_data": p.obj(
        {
            "metadata": p.metadata,
            "setup_future_usage": p.enum("on_session", "off_session"),
            "description": p.string(max_length=1000),
            "receipt_email": _email,
            "statement_descriptor": p.string(max_length=22),
            "statement_descriptor_suffix": p.string(max_length=22),
        }
    ),
    "setup_intent_data": p.obj({"metadata": p.metadata, "description": p.string(max_length=1000)}),
    "expand": p.expand,
}


def _exclusive(params: dict[str, Any], *names: str) -> None:
    if all(name in params for name in names):
        raise param_error(
            f"You may only specify one of these parameters: {', '.join(names)}.",
            param=names[-1],
            code="parameters_exclusive",
        )


def _line_items(engine: StripeEngine, items: list[dict[str, Any]]) -> tuple[list[JSON], str, int]:
    built: list[JSON] = []
    currency: str | None = None
    total = 0
    for i, item in enumerate(items):
        name = f"line_items[{i}]"
        if "price" in item:
            raise resource_missing("price", item["price"], param=f"{name}[price]")
        data = item.get("price_data")
        if data is None:
            raise param_error(
                f"You must specify either `price` or `price_data` in `{name}`.",
                param=name,
                code="parameter_missing",
            )
        for field in ("currency", "unit_amount"):
            if field not in data:
                raise param_error(
                    f"Missing required param: {name}[price_data][{field}].",
                    param=f"{name}[price_data][{field}]",
                    code="parameter_missing",
                )
        if "product" in data:
            raise resource_missing("product", data["product"], param=f"{name}[price_data][product]")
        if "product_data" not in data:
            raise param_error(
                f"You must specify either `product` or `product_data` in `{name}[price_data]`.",
                param=f"{name}[price_data]",
                code="parameter_missing",
            )
        if "quantity" not in item:
            raise param_error(
                f"Quantity is required. Add `quantity` to `{name}`",
                param=f"{name}[quantity]",
                code="parameter_missing",
            )
        item_currency = check_currency(data["currency"], f"{name}[price_data][currency]")
        if currency is None:
            currency = item_currency
        elif item_currency != currency:
            raise invalid_request(
                "Checkout does not support multiple currencies: all line items must use "
                f"{currency}.",
                param=f"{name}[price_data][currency]",
            )
        unit = data["unit_amount"]
        quantity = item["quantity"]
        if unit:
            check_amount(unit, currency, f"{name}[price_data][unit_amount]", minimum=False)
        amount = unit * quantity
        total += amount
        product = data["product_data"]
        built.append(
            {
                "id": engine.new_id("li"),
                "object": "item",
                "amount_discount": 0,
                "amount_subtotal": amount,
                "amount_tax": 0,
                "amount_total": amount,
                "currency": currency,
                "description": product["name"],
                "price": {
                    "id": engine.new_id("price"),
                    "object": "price",
                    "active": False,
                    "billing_scheme": "per_unit",
                    "created": engine.now(),
                    "currency": currency,
                    "custom_unit_amount": None,
                    "livemode": False,
                    "lookup_key": None,
                    "metadata": {},
                    "nickname": None,
                    "product": engine.new_id("prod"),
                    "recurring": None,
                    "tax_behavior": data.get("tax_behavior", "unspecified"),
                    "tiers_mode": None,
                    "transform_quantity": None,
                    "type": "one_time",
                    "unit_amount": unit,
                    "unit_amount_decimal": str(unit),
                },
                "quantity": quantity,
            }
        )
    assert currency is not None
    return built, currency, total


def _expires_at(params: dict[str, Any], now: int) -> int:
    expires_at: int = params.get("expires_at", now + 86400)
    if expires_at < now + 1800:
        raise invalid_request(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
            param="expires_at",
        )
    if expires_at > now + 86400:
        raise invalid_request(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return expires_at


def _payment_mode_items(
    engine: StripeEngine, params: dict[str, Any], items: list[dict[str, Any]]
) -> tuple[list[JSON], str, int]:
    if "setup_intent_data" in params:
        raise invalid_request(
            "You can not pass `setup_intent_data` in `payment` mode.", param="setup_intent_data"
        )
    if not items:
        raise param_error(
            "`line_items` is required in `payment` mode.",
            param="line_items",
            code="parameter_missing",
        )
    line_items, currency, amount_total = _line_items(engine, items)
    if "currency" in params and check_currency(params["currency"]) != currency:
        raise invalid_request(
            f"The `currency` ({params['currency']}) must match the line items' currency "
            f"({currency}).",
            param="currency",
        )
    minimum = minimum_amount(currency)
    if amount_total < minimum:
        raise invalid_request(
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)} {currency}",
            param="line_items",
            code="amount_too_small",
        )
    check_amount(amount_total, currency, "line_items")
    return line_items, currency, amount_total


def _check_methods(mode: str, currency: str | None, methods: list[str]) -> None:
    if "us_bank_account" not in methods:
        return
    if mode != "payment":
        raise invalid_request(
            "The sandbox accepts us_bank_account only in `payment` mode.",
            param="allowed_payment_method_types",
        )
    if currency != "usd":
        raise invalid_request(
            f"The currency provided ({currency}) is invalid for one or more payment method types "
            "on this Checkout Session: us_bank_account supports usd only.",
            param="allowed_payment_method_types",
        )


def create_checkout_session(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/checkout/sessions`` in ``payment`` or ``setup`` mode."""
    params = p.parse(call.params, _SESSION_CREATE, required=("mode",))
    mode = params["mode"]
    items = params.get("line_items") or []
    if mode == "subscription":
        raise invalid_request(
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
            param="line_items",
        )
    _exclusive(params, "customer", "customer_email")
    _exclusive(params, "customer", "customer_creation")
    now = engine.now()
    expires_at = _expires_at(params, now)
    customer = params.get("customer")
    if customer is not None:
        engine.customer(customer, param="customer")
    line_items: list[JSON] = []
    amount_total: int | None = None
    currency: str | None = None
    if mode == "payment":
        line_items, currency, amount_total = _payment_mode_items(engine, params, items)
    else:
        if items:
            raise invalid_request(
                "You cannot pass `line_items` in `setup` mode.", param="line_items"
            )
        if "payment_intent_data" in params:
            raise invalid_request(
                "You can not pass `payment_intent_data` in `setup` mode.",
                param="payment_intent_data",
            )
        if "currency" in params:
            currency = check_currency(params["currency"])
        elif "allowed_payment_method_types" not in params:
            raise invalid_request(
                "`currency` is required in `setup` mode when `allowed_payment_method_types` is not "
                "set.",
                param="currency",
                code="parameter_missing",
            )
    csid = engine.new_id("cs_test")
    obj = res.checkout_session(
        csid,
        now,
        mode=mode,
        url=f"{call.base_url}checkout/pay/{csid}",
        expires_at=expires_at,
        amount_total=amount_total,
        currency=currency,
        customer=customer,
        customer_creation=params.get("customer_creation"),
        customer_email=params.get("customer_email"),
        client_reference_id=params.get("client_reference_id"),
        metadata=clean_metadata(params.get("metadata")),
        success_url=params.get("success_url"),
        cancel_url=params.get("cancel_url"),
        locale=params.get("locale"),
        submit_type=params.get("submit_type"),
    )
    methods = params.get("allowed_payment_method_types")
    if methods:
        _check_methods(mode, currency, methods)
        obj["payment_method_types"] = list(dict.fromkeys(methods))
    pi_data = dict(params.get("payment_intent_data") or {})
    pi_data["metadata"] = clean_metadata(pi_data.get("metadata"))
    seti_data = dict(params.get("setup_intent_data") or {})
    seti_data["metadata"] = clean_metadata(seti_data.get("metadata"))
    record = SessionRecord(obj, line_items, pi_data, seti_data)
    engine.add_session(record)
    if mode == "setup":
        seti = engine.create_setup_intent(
            customer=customer,
            description=seti_data.get("description"),
            metadata=seti_data["metadata"],
            session=csid,
        )
        obj["setup_intent"] = seti.obj["id"]
    return _expanded(engine, obj, call)


def retrieve_checkout_session(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/checkout/sessions/{id}``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.session(call.ids[0]).obj, call)


def expire_checkout_session(engine: StripeEngine, call: Call) -> JSON:
    """``POST /v1/checkout/sessions/{id}/expire``."""
    p.parse(call.params, {"expand": p.expand})
    return _expanded(engine, engine.expire_session(call.ids[0]), call)


def list_checkout_line_items(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/checkout/sessions/{id}/line_items``."""
    params = p.parse(call.params, _pagination)
    csid = call.ids[0]
    record = engine.session(csid)
    page = _paginate(
        record.line_items, params, f"/v1/checkout/sessions/{csid}/line_items", "line_item"
    )
    return _expanded(engine, page, call)


# ---------------------------------------------------------------------- events


def _event_matches(types: frozenset[str] | None, event_type: str) -> bool:
    if types is None:
        return True
    if event_type in types:
        return True
    return any(t.endswith("*") and event_type.startswith(t[:-1]) for t in types)


_CREATED_RANGE = p.obj(
    {"gt": p.integer(), "gte": p.integer(), "lt": p.integer(), "lte": p.integer()}
)


def _created_filter(raw: Any, name: str) -> dict[str, int]:
    if isinstance(raw, str):
        value: int = p.integer()(raw, name)
        return {"gte": value, "lte": value}
    result: dict[str, int] = _CREATED_RANGE(raw, name)
    return result


def _in_range(created: int, bounds: dict[str, int] | None) -> bool:
    if not bounds:
        return True
    return (
        created > bounds.get("gt", created - 1)
        and created >= bounds.get("gte", created)
        and created < bounds.get("lt", created + 1)
        and created <= bounds.get("lte", created)
    )


def retrieve_event(engine: StripeEngine, call: Call) -> JSON | bytes:
    """``GET /v1/events/{id}``: the very bytes that were delivered."""
    params = p.parse(call.params, {"expand": p.expand})
    body = engine.event(call.ids[0]).body
    if params.get("expand"):
        obj: JSON = json.loads(body)
        return engine.expand(obj, params["expand"])
    return body


def list_events(engine: StripeEngine, call: Call) -> bytes:
    """``GET /v1/events``, newest first, filtered by ``type``/``types``/``created``."""
    params = p.parse(
        call.params,
        {
            **_pagination,
            "type": _str,
            "types": p.array(_str, max_items=20),
            "created": _created_filter,
            "delivery_success": p.boolean,
        },
    )
    _exclusive(params, "type", "types")
    wanted: frozenset[str] | None = None
    if "type" in params:
        wanted = frozenset([params["type"]])
    elif "types" in params:
        wanted = frozenset(params["types"])
    bounds = params.get("created")
    limit = params.get("limit", 10)
    ids = [
        evid
        for evid in engine.event_ids_newest_first()
        if _event_matches(wanted, engine.events[evid].type)
        and _in_range(engine.events[evid].created, bounds)
    ]
    after = params.get("starting_after")
    before = params.get("ending_before")
    if after is not None:
        if after not in engine.events:
            raise resource_missing("event", after, param="starting_after")
        window = ids[ids.index(after) + 1 :] if after in ids else []
        page, has_more = window[:limit], len(window) > limit
    elif before is not None:
        if before not in engine.events:
            raise resource_missing("event", before, param="ending_before")
        window = ids[: ids.index(before)] if before in ids else []
        page, has_more = window[-limit:], len(window) > limit
    else:
        page, has_more = ids[:limit], len(ids) > limit
    return _list_bytes((engine.events[evid].body for evid in page), has_more, "/v1/events")


def _list_bytes(bodies: Iterable[bytes], has_more: bool, url: str) -> bytes:
    return (
        b'{"object": "list", "data": ['
        + b", ".join(bodies)
        + b'], "has_more": '
        + (b"true" if has_more else b"false")
        + b', "url": '
        + json.dumps(url).encode()
        + b"}"
    )


# ---------------------------------------------------------------------- lists


def _listing(
    engine: StripeEngine,
    call: Call,
    objects: Iterable[JSON],
    filters: dict[str, p.Validator],
    url: str,
    kind: str,
) -> JSON:
    """A ``GET`` list endpoint: newest first, equality filters, ``created`` range, pages."""
    params = p.parse(call.params, {**_pagination, "created": _created_filter, **filters})
    wanted = {k: v for k, v in params.items() if k in filters}
    bounds = params.get("created")
    items = [
        obj
        for obj in reversed(list(objects))
        if all(obj.get(k) == v for k, v in wanted.items()) and _in_range(obj["created"], bounds)
    ]
    return _expanded(engine, _paginate(items, params, url, kind), call)


def list_customers(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/customers`` (``email`` filter)."""
    return _listing(
        engine, call, engine.customers.values(), {"email": _str}, "/v1/customers", "customer"
    )


def list_payment_intents(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/payment_intents`` (``customer`` filter)."""
    objects = (r.obj for r in engine.payment_intents.values())
    return _listing(
        engine, call, objects, {"customer": _str}, "/v1/payment_intents", "payment_intent"
    )


def list_charges(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/charges`` (``customer``, ``payment_intent`` filters)."""
    filters = {"customer": _str, "payment_intent": _str}
    return _listing(engine, call, engine.charges.values(), filters, "/v1/charges", "charge")


def list_refunds(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/refunds`` (``charge``, ``payment_intent`` filters)."""
    filters = {"charge": _str, "payment_intent": _str}
    return _listing(engine, call, engine.refunds.values(), filters, "/v1/refunds", "refund")


def list_payment_methods(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/payment_methods`` (``customer``, ``type`` filters)."""
    objects = (r.obj for r in engine.payment_methods.values())
    filters = {"customer": _str, "type": p.enum("card", "us_bank_account")}
    return _listing(engine, call, objects, filters, "/v1/payment_methods", "payment_method")


def list_disputes(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/disputes`` (``charge``, ``payment_intent`` filters)."""
    filters = {"charge": _str, "payment_intent": _str}
    return _listing(engine, call, engine.disputes.values(), filters, "/v1/disputes", "dispute")


def list_checkout_sessions(engine: StripeEngine, call: Call) -> JSON:
    """``GET /v1/checkout/sessions`` (``payment_intent``, ``customer``, ``status`` filters)."""
    engine.expire_due()
    objects = (r.obj for r in engine.sessions.values())
    filters = {
        "payment_intent": _str,
        "customer": _str,
        "status": p.enum("open", "complete", "expired"),
    }
    return _listing(engine, call, objects, filters, "/v1/checkout/sessions", "checkout.session")


# ---------------------------------------------------------------------- routing

ROUTES: dict[tuple[str, ...], Handler] = {
    ("GET", "customers"): list_customers,
    ("POST", "customers"): create_customer,
    ("GET", "customers", "*"): retrieve_customer,
    ("POST", "customers", "*"): update_customer,
    ("GET", "customers", "*", "payment_methods"): list_customer_payment_methods,
    ("GET", "customers", "*", "payment_methods", "*"): retrieve_customer_payment_method,
    ("GET", "payment_methods"): list_payment_methods,
    ("GET", "payment_methods", "*"): retrieve_payment_method,
    ("POST", "payment_methods", "*", "attach"): attach_payment_method,
    ("POST", "payment_methods", "*", "detach"): detach_payment_method,
    ("GET", "payment_intents"): list_payment_intents,
    ("POST", "payment_intents"): create_payment_intent,
    ("GET", "payment_intents", "*"): retrieve_payment_intent,
    ("POST", "payment_intents", "*"): update_payment_intent,
    ("POST", "payment_intents", "*", "confirm"): confirm_payment_intent,
    ("POST", "payment_intents", "*", "cancel"): cancel_payment_intent,
    ("GET", "setup_intents", "*"): retrieve_setup_intent,
    ("GET", "charges"): list_charges,
    ("GET", "charges", "*"): retrieve_charge,
    ("GET", "refunds"): list_refunds,
    ("POST", "refunds"): create_refund,
    ("GET", "refunds", "*"): retrieve_refund,
    ("POST", "refunds", "*"): update_refund,
    ("GET", "disputes"): list_disputes,
    ("GET", "disputes", "*"): retrieve_dispute,
    ("POST", "disputes", "*"): update_dispute,
    ("POST", "disputes", "*", "close"): close_dispute,
    ("GET", "checkout/sessions"): list_checkout_sessions,
    ("POST", "checkout/sessions"): create_checkout_session,
    ("GET", "checkout/sessions", "*"): retrieve_checkout_session,
    ("POST", "checkout/sessions", "*", "expire"): expire_checkout_session,
    ("GET", "checkout/sessions", "*", "line_items"): list_checkout_line_items,
    ("GET", "events"): list_events,
    ("GET", "events", "*"): retrieve_event,
}


def route_key(method: str, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``("POST", "payment_intents/pi_1/confirm")`` -> (route key, ids in the path)."""
    parts = path.split("/")
    if len(parts) >= 2 and parts[0] == "checkout" and parts[1] == "sessions":
        parts = ["checkout/sessions", *parts[2:]]
    key: list[str] = [method]
    ids: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:
            key.append("*")
            ids.append(part)
        else:
            key.append(part)
    return tuple(key), tuple(ids)
