"""Test helpers: providers over a respx router or the served sandbox, retries without waiting,
and one way to run an operation on the sync or the async path.

A module of its own (not ``conftest``) so that test modules can import it by a name no other
distribution's tests use.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from typing import Any, Final

import httpx

import paywire
from paywire.plugin import HttpClient
from paywire_razorpay import RazorpayConfig, RazorpayProvider

KEY_ID: Final = "rzp_test_UnitTestKey0001"
KEY_SECRET: Final = "unit-test-key-secret-0001"
WEBHOOK_SECRET: Final = "unit-test-webhook-secret-01"
BASE_URL: Final = "https://api.razorpay.com"
#: Every operation is tested on both paths: the sync methods and their ``_async`` twins.
MODES: Final = ("sync", "async")

_numbers = itertools.count(1)


async def _no_wait(_seconds: float) -> None:
    return None


def build_provider(
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    **settings: object,
) -> RazorpayProvider:
    """A provider over ``transport`` (or the network at ``base_url``) whose retries do not
    sleep."""
    values: dict[str, object] = {
        "key_id": KEY_ID,
        "key_secret": KEY_SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        **settings,
    }
    config = paywire.load_config(RazorpayConfig, "razorpay", environ={}, **values)
    http = HttpClient(
        provider="razorpay",
        base_url=config.base_url or RazorpayProvider.default_base_url,
        retry=None,
        transport=transport,
        secrets=config.secrets(),
        sleep=lambda _seconds: None,
        async_sleep=_no_wait,
    )
    return RazorpayProvider(config, http)


def call(
    provider: paywire.Provider[Any], mode: str, operation: str, *args: Any, **kwargs: Any
) -> Any:
    """``provider.<operation>(…)`` on the sync path, or its ``_async`` twin on a fresh event
    loop (whose connections are closed before it ends)."""
    if mode == "sync":
        return getattr(provider, operation)(*args, **kwargs)

    async def run() -> Any:
        try:
            return await getattr(provider, f"{operation}_async")(*args, **kwargs)
        finally:
            await provider.aclose()

    return asyncio.run(run())


def unique(prefix: str) -> str:
    """A name no other test in this run uses."""
    return f"{prefix}{next(_numbers):04d}"


def saved_card(
    sandbox: Any, card: str = "4111111111111111", **customer: str
) -> paywire.SavedPaymentMethod:
    """A new sandbox customer (with an email and a phone unless given otherwise) and a confirmed
    recurring token for ``card``, as a completed registration leaves them."""
    number = next(_numbers)
    details: Mapping[str, str] = {
        "name": "Asha Rao",
        "email": f"asha-{number}@example.com",
        "contact": f"+9198{number:08d}",
        **customer,
    }
    made = sandbox.control(
        "POST", "/razorpay/tokens", json={"card": card, "customer": details}
    ).json()
    return paywire.SavedPaymentMethod("razorpay", made["token"]["id"], made["customer"]["id"])


def payments_of(sandbox: Any, customer_id: str) -> list[dict[str, Any]]:
    """Every payment the sandbox made for ``customer_id``, failed ones included."""
    found: list[dict[str, Any]] = []
    with httpx.Client(base_url=sandbox.url + "/razorpay", auth=(KEY_ID, KEY_SECRET)) as client:
        skip = 0
        while True:
            page = client.get("/v1/payments", params={"count": 100, "skip": skip}).json()
            found += [p for p in page["items"] if p.get("customer_id") == customer_id]
            if len(page["items"]) < 100:
                return found
            skip += 100


# -- a respx stand-in for Razorpay's charge path ----------------------------------------------

CUSTOMER: Final = "cust_Abc123"
TOKEN: Final = "token_Def456"
METHOD: Final = paywire.SavedPaymentMethod("razorpay", TOKEN, CUSTOMER)
INR_12_34: Final = paywire.Money("12.34", "INR")


def error_body(
    description: str, *, reason: str = "NA", code: str = "BAD_REQUEST_ERROR", **extra: Any
) -> dict[str, Any]:
    """Razorpay's error answer."""
    return {
        "error": {
            "code": code,
            "description": description,
            "source": extra.pop("source", "NA"),
            "step": extra.pop("step", "NA"),
            "reason": reason,
            "metadata": extra.pop("metadata", {}),
            **extra,
        }
    }


def payment(**changes: Any) -> dict[str, Any]:
    """A recurring payment entity."""
    entity: dict[str, Any] = {
        "id": "pay_P1",
        "entity": "payment",
        "amount": 1234,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_O1",
        "customer_id": CUSTOMER,
        "token_id": TOKEN,
        "notes": {"invoice_id": "INV-9"},
        "created_at": 1_700_000_000,
    }
    entity.update(changes)
    return entity


def charge_routes(
    router: Any, paid: dict[str, Any] | None = None, **customer: Any
) -> dict[str, Any]:
    """Routes for one charge: no earlier order, the customer, the order, the recurring payment
    and its status (``paid``)."""
    record = {"id": CUSTOMER, "email": "asha@example.com", "contact": "+919000090000", **customer}
    return {
        "lookup": router.get("/v1/orders").respond(
            200, json={"entity": "collection", "count": 0, "items": []}
        ),
        "customer": router.get(f"/v1/customers/{CUSTOMER}").respond(200, json=record),
        "order": router.post("/v1/orders").respond(
            200, json={"id": "order_O1", "amount": 1234, "currency": "INR", "receipt": "r"}
        ),
        "recurring": router.post("/v1/payments/create/recurring").respond(
            200,
            json={
                "razorpay_payment_id": "pay_P1",
                "razorpay_order_id": "order_O1",
                "razorpay_signature": "ab",
            },
        ),
        "payment": router.get("/v1/payments/pay_P1").respond(200, json=paid or payment()),
    }
