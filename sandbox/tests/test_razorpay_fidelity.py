"""The Razorpay fake refuses what Razorpay documents it refuses, and settles as Razorpay does.

* Requests: the documented-parameter table (``razorpay/_params.py``, written from Razorpay's API
  reference and razorpay-python's request fixtures) is what the fake enforces: an undocumented
  member anywhere is refused with Razorpay's wording; recurring charges need ``email`` and
  ``contact`` and are INR only; customer names follow the 3-50 character rule.
* Settlement: recurring charges start ``created`` and are debited 36 h 5 min later, refunds
  start ``pending``; **advancing the sandbox clock by 48 hours settles every one of them**, with
  Razorpay's webhooks (a stable contract the contract suite relies on).
* Every request the Razorpay plugin sent in its recorded contract fixtures must be documented
  (the plugin rebuilt on the kernel sends contact, the customer object and INR only); a planted
  undocumented parameter proves the check can fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paywire_sandbox import RunningSandbox
from paywire_sandbox.razorpay._params import DOCUMENTED, problems
from paywire_sandbox.razorpay._timing import (
    NORMAL_REFUND_DELAY,
    OPTIMUM_REFUND_DELAY,
    RECURRING_DEBIT_DELAY,
    REFUND_WINDOW,
    SETTLE_ALL,
)
from paywire_sandbox.testing import WebhookReceiver

AUTH = ("rzp_test_FidelityKey0001", "fidelity-secret")
REPO = Path(__file__).resolve().parents[2]
FIXTURES = sorted(
    (REPO / "plugins" / "razorpay" / "tests" / "fixtures" / "contract").glob("*.json")
)


@pytest.fixture
def rzp(clean_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=clean_sandbox.url + "/razorpay", auth=AUTH, trust_env=False, timeout=10.0
    ) as client:
        yield client


def error_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "BAD_REQUEST_ERROR"
    return error


def token_for(sandbox: RunningSandbox, outcome: str = "success") -> tuple[str, str]:
    made = sandbox.control("POST", "/razorpay/tokens", json={"outcome": outcome}).json()
    return made["customer"]["id"], made["token"]["id"]


def recurring(
    rzp: httpx.Client, customer_id: str, token_id: str, amount: int = 5000, **extra: object
) -> httpx.Response:
    order = rzp.post("/v1/orders", json={"amount": amount, "currency": "INR"}).json()
    body: dict[str, object] = {
        "email": "renewals@example.com",
        "contact": "+919123456780",
        "amount": amount,
        "currency": "INR",
        "order_id": order["id"],
        "customer_id": customer_id,
        "token": token_id,
        "recurring": True,
        **extra,
    }
    return rzp.post("/v1/payments/create/recurring", json=body)


# ---------------------------------------------------------------------------------------------
# Requests


@pytest.mark.parametrize("missing", ["email", "contact"])
def test_recurring_charge_needs_email_and_contact(
    rzp: httpx.Client, clean_sandbox: RunningSandbox, missing: str
) -> None:
    customer_id, token_id = token_for(clean_sandbox)
    extra: dict[str, object] = {missing: None}
    response = recurring(rzp, customer_id, token_id, 5000, **extra)
    error = error_of(response)
    assert (error["field"], error["description"]) == (missing, f"The {missing} field is required.")


def test_recurring_charges_are_inr_only(rzp: httpx.Client, clean_sandbox: RunningSandbox) -> None:
    """Razorpay: "Currently, only INR is supported" for card mandates and their debits."""
    customer_id, token_id = token_for(clean_sandbox)
    order = rzp.post("/v1/orders", json={"amount": 5000, "currency": "USD"}).json()
    body = {
        "email": "renewals@example.com",
        "contact": "+919123456780",
        "amount": 5000,
        "currency": "USD",
        "order_id": order["id"],
        "customer_id": customer_id,
        "token": token_id,
        "recurring": True,
    }
    assert error_of(rzp.post("/v1/payments/create/recurring", json=body))["field"] == "currency"
    mandate = {
        "amount": 100,
        "currency": "USD",
        "customer_id": customer_id,
        "method": "card",
        "token": {"max_amount": 100000, "frequency": "monthly"},
    }
    assert error_of(rzp.post("/v1/orders", json=mandate))["field"] == "currency"


_NAME_CHARS = st.sampled_from([*"AZaz09 .'/@()", "-", "_", ",", "!", "é", "名", "\n"])


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(_NAME_CHARS, max_size=55))
def test_customer_names_follow_razorpays_rule(rzp: httpx.Client, name: str) -> None:
    """ "Alphanumeric … period, apostrophe, forward slash, at and parentheses … 3-50 characters"
    (spaces as in its examples). Each name is unique by its email, so no duplicates collide."""
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .'/@()")
    valid = 3 <= len(name) <= 50 and set(name) <= allowed
    email = f"n{abs(hash(name))}@example.com"
    response = rzp.post("/v1/customers", json={"name": name, "email": email, "fail_existing": "0"})
    if valid:
        assert response.status_code == 200, response.text
        assert response.json()["name"] == name
    else:
        assert error_of(response)["field"] == "name"


@pytest.mark.parametrize(
    ("contact", "ok"),
    [("+919123456780", True), ("9123456780", True), (9123456780, True), ("1234567", False)],
)
def test_contacts_need_eight_digits(rzp: httpx.Client, contact: object, ok: bool) -> None:
    response = rzp.post("/v1/customers", json={"name": "Asha Rao", "contact": contact})
    if ok:
        assert response.status_code == 200, response.text
    else:
        assert error_of(response)["description"] == (
            "Contact number should be at least 8 digits, including country code"
        )


def _ids_for(rzp: httpx.Client, sandbox: RunningSandbox) -> dict[str, str]:
    link = rzp.post("/v1/payment_links", json={"amount": 50000}).json()
    paid = sandbox.control(
        "POST", f"/razorpay/checkout/{link['id']}/complete", json={"outcome": "success"}
    ).json()
    fresh = rzp.post("/v1/payment_links", json={"amount": 700}).json()
    return {"payment": paid["payment_id"], "link": fresh["id"]}


def _valid_body(template: str, sandbox: RunningSandbox, rzp: httpx.Client) -> dict[str, Any]:
    """A body the fake accepts up to its member check, for each documented endpoint."""
    customer_id, _ = token_for(sandbox)
    bodies: dict[str, dict[str, Any]] = {
        "/v1/customers": {"name": "Asha Rao"},
        "/v1/orders": {"amount": 100, "currency": "INR", "customer_id": customer_id},
        "/v1/payments/create/recurring": {},
        "/v1/payments/{id}/capture": {"amount": 100, "currency": "INR"},
        "/v1/payments/{id}/refund": {},
        "/v1/payment_links": {"amount": 100},
        "/v1/payment_links/{id}": {},
        "/v1/payment_links/{id}/cancel": {},
        "/v1/subscription_registration/auth_links": {
            "type": "link",
            "amount": 100,
            "currency": "INR",
            "description": "Mandate",
            "customer": {"name": "Asha Rao", "email": "a@example.com", "contact": "+9191234567"},
            "subscription_registration": {
                "method": "card",
                "max_amount": 100,
                "frequency": "monthly",
            },
        },
    }
    return bodies[template]


def test_the_fake_refuses_every_member_razorpay_does_not_document(
    rzp: httpx.Client, clean_sandbox: RunningSandbox
) -> None:
    ids = _ids_for(rzp, clean_sandbox)
    for (method, template), documented in DOCUMENTED.items():
        path = template.replace(
            "{id}", ids["link"] if "payment_links" in template else ids["payment"]
        )
        body = _valid_body(template, clean_sandbox, rzp)
        planted = {**body, "undocumented_parameter": 1}
        error = error_of(rzp.request(method, path, json=planted))
        assert error["description"] == (
            "undocumented_parameter is/are not required and should not be sent"
        ), (method, template)
        for name in documented.nested:
            inner = {**body.get(name, {}), "undocumented_parameter": 1}
            if name == "notification":
                continue  # needs a token id; checked by test_order_notification_is_recorded
            error = error_of(rzp.request(method, path, json={**body, name: inner}))
            assert error["description"] == (
                f"{name}.undocumented_parameter is/are not required and should not be sent"
            ), (method, template, name)


def test_order_notification_is_recorded(rzp: httpx.Client, clean_sandbox: RunningSandbox) -> None:
    """The pre-debit ``notification`` object Razorpay documents on orders is accepted."""
    _, token_id = token_for(clean_sandbox)
    order = rzp.post(
        "/v1/orders",
        json={"amount": 5000, "currency": "INR", "notification": {"token_id": token_id}},
    ).json()
    assert order["notification"]["token_id"] == token_id
    assert order["notification"]["id"].startswith("notification_")
    assert order["notification"]["payment_after"] == order["created_at"] + RECURRING_DEBIT_DELAY
    unknown = rzp.post(
        "/v1/orders",
        json={"amount": 5000, "currency": "INR", "notification": {"token_id": "token_nope"}},
    )
    assert error_of(unknown)["description"] == "The id provided does not exist"


# ---------------------------------------------------------------------------------------------
# Settlement


def test_delays_fit_the_48_hour_contract() -> None:
    assert max(RECURRING_DEBIT_DELAY, NORMAL_REFUND_DELAY, OPTIMUM_REFUND_DELAY) <= SETTLE_ALL
    assert SETTLE_ALL == 172_800
    assert RECURRING_DEBIT_DELAY == 36 * 3600 + 5 * 60  # Razorpay's default debit time


def test_advancing_48_hours_settles_every_recurring_payment_and_refund(
    rzp: httpx.Client, clean_sandbox: RunningSandbox
) -> None:
    with WebhookReceiver() as receiver:
        clean_sandbox.register_webhook("razorpay", receiver.url, "whsec-fidelity")
        good_customer, good_token = token_for(clean_sandbox)
        bad_customer, bad_token = token_for(clean_sandbox, "decline")
        charged = recurring(rzp, good_customer, good_token).json()["razorpay_payment_id"]
        declined = recurring(rzp, bad_customer, bad_token).json()["razorpay_payment_id"]
        link = rzp.post("/v1/payment_links", json={"amount": 90000}).json()
        paid = clean_sandbox.control(
            "POST", f"/razorpay/checkout/{link['id']}/complete", json={"outcome": "success"}
        ).json()["payment_id"]
        normal = rzp.post(f"/v1/payments/{paid}/refund", json={"amount": 10000}).json()
        fast = rzp.post(
            f"/v1/payments/{paid}/refund", json={"amount": 20000, "speed": "optimum"}
        ).json()
        assert [rzp.get(f"/v1/payments/{p}").json()["status"] for p in (charged, declined)] == [
            "created",
            "created",
        ]
        assert (normal["status"], fast["status"]) == ("pending", "pending")
        clean_sandbox.wait_for_webhooks()
        before = [json.loads(body) for _, body in receiver.requests]
        assert not [e for e in before if e["event"] in {"payment.failed", "refund.processed"}]
        captured = [
            e["payload"]["payment"]["entity"]["id"] for e in before if "payment" in e["payload"]
        ]
        assert charged not in captured

        clean_sandbox.advance_clock(SETTLE_ALL)

        assert rzp.get(f"/v1/payments/{charged}").json()["status"] == "captured"
        failed = rzp.get(f"/v1/payments/{declined}").json()
        assert (failed["status"], failed["error_reason"]) == ("failed", "card_declined")
        refunds = {r["id"]: r for r in rzp.get("/v1/refunds").json()["items"]}
        assert refunds[normal["id"]]["status"] == "processed"
        assert refunds[fast["id"]]["speed_processed"] == "instant"
        clean_sandbox.wait_for_webhooks()
        events = [json.loads(body) for _, body in receiver.requests]

    def of(kind: str) -> list[str]:
        return [
            e["payload"][kind.partition(".")[0]]["entity"]["id"]
            for e in events
            if e["event"] == kind
        ]

    assert charged in of("payment.authorized")
    assert charged in of("payment.captured")
    assert declined in of("payment.failed")
    assert sorted(of("refund.processed")) == sorted([normal["id"], fast["id"]])
    assert any(e["event"] == "order.paid" for e in events)


def test_a_normal_refund_of_an_old_payment_fails(
    rzp: httpx.Client, clean_sandbox: RunningSandbox
) -> None:
    """Razorpay: "Normal refund is not possible for a payment which is more than 6 months old"."""
    link = rzp.post("/v1/payment_links", json={"amount": 5000}).json()
    paid = clean_sandbox.control(
        "POST", f"/razorpay/checkout/{link['id']}/complete", json={"outcome": "success"}
    ).json()["payment_id"]
    clean_sandbox.advance_clock(REFUND_WINDOW + 60)
    refund = rzp.post(f"/v1/payments/{paid}/refund", json={}).json()
    assert rzp.get(f"/v1/payments/{paid}").json()["amount_refunded"] == 5000
    clean_sandbox.advance_clock(SETTLE_ALL)
    assert rzp.get(f"/v1/refunds/{refund['id']}").json()["status"] == "failed"
    payment = rzp.get(f"/v1/payments/{paid}").json()
    assert (payment["status"], payment["amount_refunded"], payment["refund_status"]) == (
        "captured",
        0,
        None,
    )


# ---------------------------------------------------------------------------------------------
# The plugin's recorded requests

def recorded_problems(document: dict[str, Any]) -> list[str]:
    found = []
    for interaction in document["interactions"]:
        if interaction["channel"] != "provider":
            continue
        request = interaction["request"]
        path, _, raw_query = request["path"].partition("?")
        body = request.get("body")
        payload = body.get("json") if isinstance(body, dict) else None
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        found += [
            f"{request['method']} {path}: {p}"
            for p in problems(request["method"], path, payload, query)
        ]
    return found


def test_fixtures_were_found() -> None:
    assert FIXTURES, "no Razorpay contract fixtures found"


@pytest.mark.parametrize("fixture", [pytest.param(f, id=f.stem) for f in FIXTURES])
def test_recorded_requests_are_documented(fixture: Path) -> None:
    assert recorded_problems(json.loads(fixture.read_text())) == []


@pytest.mark.parametrize("fixture", [pytest.param(f, id=f.stem) for f in FIXTURES])
def test_a_planted_undocumented_parameter_is_caught(fixture: Path) -> None:
    document = json.loads(fixture.read_text())
    planted = 0
    for interaction in document["interactions"]:
        body = interaction["request"].get("body")
        provider = interaction["channel"] == "provider"
        writes = interaction["request"]["method"] in {"POST", "PATCH"}
        if provider and writes and isinstance(body, dict) and isinstance(body.get("json"), dict):
            body["json"]["undocumented_parameter"] = "x"
            planted += 1
    if not planted:
        pytest.skip("this fixture sends no JSON object to Razorpay")
    found = recorded_problems(document)
    assert sum("undocumented_parameter: not documented" in p for p in found) == planted


def test_the_settle_route_settles_what_is_pending_without_moving_the_clock(
    rzp: httpx.Client, clean_sandbox: RunningSandbox
) -> None:
    """``POST /_sandbox/razorpay/settle`` debits pending recurring payments and settles pending
    refunds at once; the shared clock stays where it was (other fakes sign with it)."""
    customer_id, token_id = token_for(clean_sandbox)
    charged = recurring(rzp, customer_id, token_id).json()["razorpay_payment_id"]
    link = rzp.post("/v1/payment_links", json={"amount": 90000}).json()
    paid = clean_sandbox.control(
        "POST", f"/razorpay/checkout/{link['id']}/complete", json={"outcome": "success"}
    ).json()["payment_id"]
    refund = rzp.post(f"/v1/payments/{paid}/refund", json={"amount": 10000}).json()
    before = clean_sandbox.control("GET", "/clock").json()["now"]
    assert rzp.get(f"/v1/payments/{charged}").json()["status"] == "created"
    answer = clean_sandbox.control("POST", "/razorpay/settle")
    assert answer.status_code == 200
    assert answer.json() == {"debited": 1, "refunds_settled": 1}
    assert rzp.get(f"/v1/payments/{charged}").json()["status"] == "captured"
    refunds = {r["id"]: r for r in rzp.get("/v1/refunds").json()["items"]}
    assert refunds[refund["id"]]["status"] == "processed"
    assert clean_sandbox.control("GET", "/clock").json()["now"] - before < 60
