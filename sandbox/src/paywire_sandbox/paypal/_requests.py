"""Checks of request bodies, raising PayPal's 400/422 errors with the field PayPal would name.

Fields are written the way PayPal's errors write them: JSON-pointer-like paths, with purchase
units addressed by reference id (``/purchase_units/@reference_id=='default'/amount/value``).
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import attrs

from paywire_sandbox.paypal._errors import OAuthError, PayPalError
from paywire_sandbox.paypal._models import PurchaseUnit
from paywire_sandbox.paypal._money import AmountProblem, check_amount
from paywire_sandbox.paypal._outcomes import card_brand

__all__ = [
    "CARD_NAME_RE",
    "CARD_NUMBER_RE",
    "CUSTOMER_ID_RE",
    "CUSTOMER_TYPES",
    "EXPIRY_RE",
    "LANDING_PAGES",
    "PATCH_PATH_RE",
    "PAYMENT_INITIATORS",
    "PAYMENT_TYPES",
    "SHIPPING_PREFERENCES",
    "USAGES",
    "USAGE_PATTERNS",
    "USAGE_TYPES",
    "USER_ACTIONS",
    "OrderRequest",
    "as_bool",
    "as_enum",
    "as_object",
    "as_string",
    "as_url",
    "basic_client",
    "card_details",
    "check_customer_id",
    "money_field",
    "optional_string",
    "parse_experience",
    "parse_order",
    "parse_stored_credential",
    "parse_units",
    "parse_wallet_attributes",
    "positive_int",
    "require",
    "wallet_preferences",
]

CUSTOMER_ID_RE = re.compile(r"^[0-9a-zA-Z_-]{1,22}$")
CARD_NUMBER_RE = re.compile(r"^[0-9]{13,19}$")
EXPIRY_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
CARD_NAME_RE = re.compile(r"^[A-Za-z ]{2,300}$")
PATCH_PATH_RE = re.compile(
    r"^/purchase_units/@reference_id=='(?P<ref>[^']*)'"
    r"/(?P<key>amount|description|custom_id|invoice_id|soft_descriptor|items)$"
)

USER_ACTIONS = {"CONTINUE", "PAY_NOW"}
SHIPPING_PREFERENCES = {"GET_FROM_FILE", "NO_SHIPPING", "SET_PROVIDED_ADDRESS"}
LANDING_PAGES = {"LOGIN", "GUEST_CHECKOUT", "NO_PREFERENCE"}
USAGE_TYPES = {"MERCHANT", "PLATFORM"}
CUSTOMER_TYPES = {"CONSUMER", "BUSINESS"}
PAYMENT_INITIATORS = {"CUSTOMER", "MERCHANT"}
PAYMENT_TYPES = {"ONE_TIME", "RECURRING", "UNSCHEDULED"}
USAGES = {"FIRST", "SUBSEQUENT", "DERIVED"}
USAGE_PATTERNS = {
    "IMMEDIATE",
    "DEFERRED",
    "RECURRING_PREPAID",
    "RECURRING_POSTPAID",
    "THRESHOLD_PREPAID",
    "THRESHOLD_POSTPAID",
}


def require(obj: dict[str, Any], key: str, field: str, op: str) -> Any:
    """The value of ``obj[key]``; a missing (or null) one is ``MISSING_REQUIRED_PARAMETER``."""
    if key not in obj or obj[key] is None:
        raise PayPalError(400, "MISSING_REQUIRED_PARAMETER", field=field, operation=op)
    return obj[key]


def as_object(value: Any, field: str, op: str) -> dict[str, Any]:
    """``value`` if it is a JSON object, else ``INVALID_PARAMETER_SYNTAX``."""
    if not isinstance(value, dict):
        raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", field=field, value=value, operation=op)
    return value


def as_string(value: Any, field: str, op: str, *, max_len: int, min_len: int = 1) -> str:
    """``value`` if it is a string of an allowed length (``INVALID_STRING_LENGTH`` if not)."""
    if not isinstance(value, str):
        raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", field=field, value=value, operation=op)
    if not min_len <= len(value) <= max_len:
        raise PayPalError(400, "INVALID_STRING_LENGTH", field=field, value=value, operation=op)
    return value


def optional_string(
    obj: dict[str, Any], key: str, field: str, op: str, *, max_len: int
) -> str | None:
    """``obj[key]`` checked as a string, or ``None`` when absent."""
    if obj.get(key) is None:
        return None
    return as_string(obj[key], field, op, max_len=max_len)


def as_enum(value: Any, allowed: set[str], field: str, op: str) -> str:
    """``value`` if it is one of ``allowed``, else ``INVALID_PARAMETER_VALUE``."""
    if not isinstance(value, str) or value not in allowed:
        raise PayPalError(400, "INVALID_PARAMETER_VALUE", field=field, value=value, operation=op)
    return value


def as_url(value: Any, field: str, op: str) -> str:
    """``value`` if it is an absolute http(s) URL."""
    url = as_string(value, field, op, max_len=4000)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", field=field, value=url, operation=op)
    return url


def as_bool(value: Any, field: str, op: str) -> bool:
    """``value`` if it is a JSON boolean."""
    if not isinstance(value, bool):
        raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", field=field, value=value, operation=op)
    return value


def money_field(
    obj: Any, field: str, op: str, *, no_decimals_issue: str = "DECIMAL_PRECISION"
) -> tuple[str, Decimal]:
    """A ``Money`` object at ``field``: its currency and amount, or PayPal's amount error."""
    amount = as_object(obj, field, op)
    currency = require(amount, "currency_code", f"{field}/currency_code", op)
    value = require(amount, "value", f"{field}/value", op)
    try:
        return currency, check_amount(currency, value, no_decimals_issue=no_decimals_issue)
    except AmountProblem as problem:
        where = problem.field
        raise PayPalError(
            problem.status,
            problem.issue,
            field=f"{field}/{where}",
            value=amount.get(where),
            operation=op,
        ) from None


def parse_experience(obj: Any, field: str, op: str) -> dict[str, Any]:
    """The recognised members of an ``experience_context`` (or ``application_context``)."""
    ctx = as_object(obj, field, op)
    out: dict[str, Any] = {}
    for key in ("return_url", "cancel_url"):
        if ctx.get(key) is not None:
            out[key] = as_url(ctx[key], f"{field}/{key}", op)
    if ctx.get("brand_name") is not None:
        out["brand_name"] = as_string(ctx["brand_name"], f"{field}/brand_name", op, max_len=127)
    checks = (
        ("user_action", USER_ACTIONS),
        ("shipping_preference", SHIPPING_PREFERENCES),
        ("landing_page", LANDING_PAGES),
    )
    for key, allowed in checks:
        if ctx.get(key) is not None:
            out[key] = as_enum(ctx[key], allowed, f"{field}/{key}", op)
    return out


@attrs.define
class OrderRequest:
    """What a create-order request asks for, once checked."""

    units: list[PurchaseUnit]
    source_kind: str | None
    experience: dict[str, Any]
    vault_request: dict[str, Any] | None = None
    vault_customer_id: str | None = None
    vault_id: str | None = None
    stored_credential: dict[str, Any] | None = None


def parse_units(raw: Any, op: str) -> list[PurchaseUnit]:
    """The ``purchase_units`` of a create-order request."""
    if not isinstance(raw, list):
        raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", field="/purchase_units", operation=op)
    if not raw:
        raise PayPalError(400, "INVALID_ARRAY_MIN_ITEMS", field="/purchase_units", operation=op)
    if len(raw) > 10:
        raise PayPalError(400, "INVALID_ARRAY_MAX_ITEMS", field="/purchase_units", operation=op)
    units: list[PurchaseUnit] = []
    for index, item in enumerate(raw):
        unit = as_object(item, f"/purchase_units/{index}", op)
        ref = unit.get("reference_id")
        if ref is not None:
            ref = as_string(ref, f"/purchase_units/{index}/reference_id", op, max_len=256)
        elif len(raw) > 1:
            raise PayPalError(
                422, "REFERENCE_ID_REQUIRED", field=f"/purchase_units/{index}", operation=op
            )
        where = f"/purchase_units/@reference_id=='{ref or 'default'}'"
        currency, value = money_field(
            require(unit, "amount", f"{where}/amount", op), f"{where}/amount", op
        )
        description = unit.get("description")
        if description is not None:
            # PayPal's schema: at most 127 characters.
            description = as_string(description, f"{where}/description", op, max_len=127)
        breakdown = unit["amount"].get("breakdown")
        items = unit.get("items")
        units.append(
            PurchaseUnit(
                reference_id=ref or "default",
                currency=currency,
                amount=value,
                invoice_id=optional_string(
                    unit, "invoice_id", f"{where}/invoice_id", op, max_len=127
                ),
                custom_id=optional_string(unit, "custom_id", f"{where}/custom_id", op, max_len=127),
                description=description,
                soft_descriptor=optional_string(
                    unit, "soft_descriptor", f"{where}/soft_descriptor", op, max_len=22
                ),
                breakdown=as_object(breakdown, f"{where}/amount/breakdown", op)
                if breakdown is not None
                else None,
                items=items if isinstance(items, list) else None,
            )
        )
    refs = [u.reference_id for u in units]
    if len(set(refs)) != len(refs):
        raise PayPalError(422, "DUPLICATE_REFERENCE_ID", field="/purchase_units", operation=op)
    if len({u.currency for u in units}) > 1:
        raise PayPalError(422, "MULTI_CURRENCY_ORDER", field="/purchase_units", operation=op)
    return units


def parse_stored_credential(raw: Any, field: str, op: str, kind: str = "card") -> dict[str, Any]:
    """A ``stored_credential`` object (checked, kept as given).

    Cards need ``payment_initiator`` and ``payment_type``; a PayPal wallet's has no
    ``payment_type`` but usage patterns, and needs only ``payment_initiator``.
    """
    stored = as_object(raw, field, op)
    out: dict[str, Any] = {}
    required = ("payment_initiator", "payment_type") if kind == "card" else ("payment_initiator",)
    for key in required:
        require(stored, key, f"{field}/{key}", op)
    checks = (
        ("payment_initiator", PAYMENT_INITIATORS),
        ("payment_type", PAYMENT_TYPES),
        ("usage", USAGES),
        ("usage_pattern", USAGE_PATTERNS),
        ("charge_pattern", USAGE_PATTERNS),
    )
    for key, allowed in checks:
        if stored.get(key) is not None:
            out[key] = as_enum(stored[key], allowed, f"{field}/{key}", op)
    if "previous_network_transaction_reference" in stored:
        out["previous_network_transaction_reference"] = stored[
            "previous_network_transaction_reference"
        ]
    return out


def parse_order(body: dict[str, Any], op: str) -> OrderRequest:
    """Check a create-order request body and return what it asks for."""
    intent = require(body, "intent", "/intent", op)
    if intent == "AUTHORIZE":
        raise PayPalError(400, "NOT_SUPPORTED", field="/intent", value=intent, operation=op)
    as_enum(intent, {"CAPTURE"}, "/intent", op)
    units = parse_units(require(body, "purchase_units", "/purchase_units", op), op)
    request = OrderRequest(units=units, source_kind=None, experience={})
    legacy = body.get("application_context")
    source_raw = body.get("payment_source")
    if source_raw is None:
        if legacy is not None:
            request.experience = parse_experience(legacy, "/application_context", op)
        return request
    source = as_object(source_raw, "/payment_source", op)
    kinds = [k for k in source if source[k] is not None]
    if len(kinds) != 1:
        raise PayPalError(
            422 if kinds else 400,
            "INCOMPATIBLE_PARAMETER_VALUE" if kinds else "MISSING_REQUIRED_PARAMETER",
            field="/payment_source",
            operation=op,
        )
    kind = kinds[0]
    if kind not in {"paypal", "card"}:
        raise PayPalError(400, "NOT_SUPPORTED", field=f"/payment_source/{kind}", operation=op)
    request.source_kind = kind
    detail = as_object(source[kind], f"/payment_source/{kind}", op)
    if detail.get("vault_id") is not None:
        request.vault_id = as_string(
            detail["vault_id"], f"/payment_source/{kind}/vault_id", op, max_len=255
        )
    if detail.get("stored_credential") is not None:
        request.stored_credential = parse_stored_credential(
            detail["stored_credential"], f"/payment_source/{kind}/stored_credential", op, kind
        )
    if kind == "card":
        if request.vault_id is None:
            field = (
                "/payment_source/card/number"
                if "number" in detail
                else "/payment_source/card/vault_id"
            )
            raise PayPalError(
                400,
                "NOT_SUPPORTED" if "number" in detail else "MISSING_REQUIRED_PARAMETER",
                field=field,
                operation=op,
            )
        initiator = (request.stored_credential or {}).get("payment_initiator")
        if detail.get("security_code") is not None and initiator == "MERCHANT":
            raise PayPalError(
                422,
                "MERCHANT_INITIATED_WITH_SECURITY_CODE",
                field="/payment_source/card/security_code",
                operation=op,
            )
        return request
    if detail.get("experience_context") is not None:
        request.experience = parse_experience(
            detail["experience_context"], "/payment_source/paypal/experience_context", op
        )
    if detail.get("attributes") is not None:
        parse_wallet_attributes(detail["attributes"], request, op)
    return request


def parse_wallet_attributes(raw: Any, request: OrderRequest, op: str) -> None:
    """``payment_source.paypal.attributes``: the vault instruction and the vault customer."""
    field = "/payment_source/paypal/attributes"
    attributes = as_object(raw, field, op)
    if attributes.get("customer") is not None:
        customer = as_object(attributes["customer"], f"{field}/customer", op)
        if customer.get("id") is not None:
            request.vault_customer_id = check_customer_id(
                customer["id"], f"{field}/customer/id", op
            )
    if attributes.get("vault") is None:
        return
    vault = as_object(attributes["vault"], f"{field}/vault", op)
    store = require(vault, "store_in_vault", f"{field}/vault/store_in_vault", op)
    out: dict[str, Any] = {
        "store_in_vault": as_enum(store, {"ON_SUCCESS"}, f"{field}/vault/store_in_vault", op)
    }
    require(vault, "usage_type", f"{field}/vault/usage_type", op)  # required by the schema
    out.update(wallet_preferences(vault, f"{field}/vault", op))
    if request.vault_id is not None:
        raise PayPalError(422, "INCOMPATIBLE_PARAMETER_VALUE", field=f"{field}/vault", operation=op)
    request.vault_request = out


def check_customer_id(value: Any, field: str, op: str) -> str:
    """A vault customer id: up to 22 characters of ``[0-9a-zA-Z_-]``."""
    customer_id = as_string(value, field, op, max_len=22)
    if not CUSTOMER_ID_RE.fullmatch(customer_id):
        raise PayPalError(
            400, "INVALID_PARAMETER_SYNTAX", field=field, value=customer_id, operation=op
        )
    return customer_id


def wallet_preferences(obj: dict[str, Any], field: str, op: str) -> dict[str, Any]:
    """usage_type, customer_type, permit_multiple_payment_tokens and description of a wallet."""
    out: dict[str, Any] = {
        "usage_type": as_enum(
            obj.get("usage_type", "MERCHANT"), USAGE_TYPES, f"{field}/usage_type", op
        ),
        "customer_type": as_enum(
            obj.get("customer_type", "CONSUMER"), CUSTOMER_TYPES, f"{field}/customer_type", op
        ),
        "permit_multiple_payment_tokens": as_bool(
            obj.get("permit_multiple_payment_tokens", False),
            f"{field}/permit_multiple_payment_tokens",
            op,
        ),
    }
    description = optional_string(obj, "description", f"{field}/description", op, max_len=128)
    if description is not None:
        out["description"] = description
    return out


def card_details(number: str, expiry: str, name: str | None) -> dict[str, str]:
    """The card fields PayPal shows for a vaulted card."""
    card = {"brand": card_brand(number), "last_digits": number[-4:], "expiry": expiry}
    if name is not None and CARD_NAME_RE.fullmatch(name):
        card["name"] = name
    return card


# ---------------------------------------------------------------------------------------------


def positive_int(raw: str, field: str, op: str) -> int:
    """A query parameter that must be a positive integer (ASCII digits: ``int()`` takes more)."""
    value = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else 0
    if value < 1:
        raise PayPalError(
            400, "INVALID_PARAMETER_VALUE", field=field, value=raw, location="query", operation=op
        )
    return value


def basic_client(header: str) -> str:
    """The client id of a valid HTTP Basic header (any non-empty id and secret)."""
    scheme, _, encoded = header.partition(" ")
    failed = OAuthError(401, "invalid_client", "Client Authentication failed")
    if scheme.lower() != "basic":
        raise failed
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise failed from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        raise failed
    return client_id
