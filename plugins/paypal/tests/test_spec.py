"""Every request body the plugin builds is one PayPal's published OpenAPI documents describe:
no member they do not declare, no string longer than they allow or outside their patterns and
enums. (PayPal ignores some undeclared members, refuses others; the sandbox refuses them all.)

The documents lag PayPal's current API in three places, which PayPal's guides and server SDK
show (see the sandbox's FIDELITY notes): a wallet's ``stored_credential`` in Orders v2, a vault
customer's ``merchant_customer_id``, and ``"SETUP_TOKEN"`` as a token type.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from paypal_fakes import FakePayPal, body_of, build, json_response

import paywire
from paywire import Money

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "paypal"
if not REFERENCE.is_dir():
    REFERENCE = Path(__file__).resolve().parents[4] / "shared" / "reference" / "paypal"

pytestmark = pytest.mark.skipif(
    not (REFERENCE / "checkout_orders_v2.json").exists(), reason="PayPal's documents not laid out"
)

# (document, path in it, member name) that PayPal's current API has and the documents lack.
ERRATA: dict[str, frozenset[str]] = {
    "checkout_orders_v2.json": frozenset({"/payment_source/paypal/stored_credential"}),
    "vault_payment_tokens_v3.json": frozenset({"/customer/merchant_customer_id"}),
}
ENUM_ERRATA = {"/payment_source/token/type": "SETUP_TOKEN"}
ORDER = {
    "id": "5O190127TN364715T",
    "status": "PAYER_ACTION_REQUIRED",
    "links": [{"href": "https://www.paypal.com/checkoutnow?token=5O1", "rel": "payer-action"}],
}
CAPTURED = {
    "id": "O2",
    "status": "COMPLETED",
    "purchase_units": [
        {
            "payments": {
                "captures": [
                    {
                        "id": "C1",
                        "status": "COMPLETED",
                        "amount": {"currency_code": "USD", "value": "1.00"},
                    }
                ]
            }
        }
    ],
}


def _doc(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REFERENCE / name).read_text(encoding="utf-8"))
    return loaded


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _members(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(doc, schema)
    found = dict(schema.get("properties", {}))
    for part in (*schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())):
        found.update(_members(doc, part))
    return found


def problems(name: str, method: str, path: str, body: Any) -> list[str]:
    """How ``body`` strays from the request schema of ``method path`` in document ``name``."""
    doc = _doc(name)
    content = doc["paths"][path][method.lower()]["requestBody"]["content"]
    schema = next(iter(content.values()))["schema"]
    errata = ERRATA.get(name, frozenset())
    found: list[str] = []

    def check(value: Any, schema: dict[str, Any], where: str) -> None:
        schema = _resolve(doc, schema)
        if isinstance(value, dict):
            members = _members(doc, schema)
            for key, item in value.items():
                if key in members:
                    check(item, members[key], f"{where}/{key}")
                elif f"{where}/{key}" not in errata:
                    found.append(f"{where}/{key} is not declared")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                check(item, schema.get("items", {}), f"{where}/{index}")
        elif isinstance(value, str):
            if len(value) > schema.get("maxLength", len(value)):
                found.append(f"{where} is longer than {schema['maxLength']}")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                found.append(f"{where} does not match {schema['pattern']}")
            enum = schema.get("enum")
            if enum is not None and value not in enum and ENUM_ERRATA.get(where) != value:
                found.append(f"{where} is not one of {enum}")

    check(body, schema, "")
    return found


def test_the_checker_finds_what_paypal_does_not_describe() -> None:
    good = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "1.00"}}],
    }
    assert problems("checkout_orders_v2.json", "POST", "/v2/checkout/orders", good) == []
    bad = {
        "intent": "SALE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "1,00"}, "extra": 1}],
        "payment_source": {"paypal": {"experience_context": {"user_action": "LATER"}}},
    }
    assert len(problems("checkout_orders_v2.json", "POST", "/v2/checkout/orders", bad)) == 4


def _requests(fake: FakePayPal) -> list[tuple[str, str, Any]]:
    return [
        (r.method, r.url.path, body_of(r))
        for r in fake.requests
        if r.content and r.headers.get("Content-Type") == "application/json"
    ]


def test_every_body_the_plugin_sends_is_described() -> None:
    fake = FakePayPal()
    provider = build(fake, brand_name="B" * 300)
    fake.answer("POST", "/v2/checkout/orders", 201, ORDER)
    customer = paywire.Customer(id="user-42", provider_customer_id="cust_42")
    invoice = paywire.Invoice(
        id="INV-1",
        currency="USD",
        line_items=[
            paywire.LineItem("L" * 300, Money("10.00", "USD")),
            paywire.LineItem("Seat", Money("1.17", "USD"), quantity=2),
        ],
        customer=customer,
        description="D" * 300,
    )
    for save in (False, True):
        provider.create_checkout_session(
            invoice,
            success_url="https://s.example/ok",
            cancel_url="https://s.example/no",
            save_payment_method=save,
        )
    fake.answer(
        "POST",
        "/v3/vault/setup-tokens",
        201,
        {"id": "ST1", "links": [{"href": "https://pp/approve", "rel": "approve"}]},
    )
    provider.create_setup_session(
        customer, success_url="https://s.example/ok", cancel_url="https://s.example/no"
    )
    fake.answer("POST", "/v3/vault/payment-tokens", 201, {"id": "tok1"})
    provider.complete_setup("ST1")
    method = paywire.SavedPaymentMethod("paypal", "tok1")
    fake.on(
        "POST",
        "/v2/checkout/orders",
        lambda r: json_response(
            422, {"details": [{"issue": "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE"}]}
        ),
        lambda r: json_response(201, CAPTURED),
    )
    provider.charge_payment_method(
        method, Money("1", "USD"), description="R" * 300, invoice_id="INV-2"
    )
    fake.answer("POST", "/v2/payments/captures/C1/refund", 201, {"id": "R1", "status": "COMPLETED"})
    provider.create_refund(
        "C1", Money("1", "USD"), reason="N" * 300, metadata={"invoice_id": "INV-2"}
    )
    documents = {
        "/v2/checkout/orders": "checkout_orders_v2.json",
        "/v3/vault/setup-tokens": "vault_payment_tokens_v3.json",
        "/v3/vault/payment-tokens": "vault_payment_tokens_v3.json",
        "/v2/payments/captures/C1/refund": "payments_payment_v2.json",
    }
    templates = {"/v2/payments/captures/C1/refund": "/v2/payments/captures/{capture_id}/refund"}
    sent = [(m, p, b) for m, p, b in _requests(fake) if p in documents]
    assert len(sent) == 7
    for method_, path, body in sent:
        assert problems(documents[path], method_, templates.get(path, path), body) == [], path
    provider.close()
