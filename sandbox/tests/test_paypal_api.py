"""The PayPal fake driven over HTTP (httpx) through the served sandbox.

Every response the fake gives to a call PayPal's OpenAPI specs describe is validated against the
matching response schema (picked by path, method and status, ``$ref``s resolved within the spec)
by an httpx response hook, so each test below also checks the shape of what it receives.
The specs are read from ``$PAYWIRE_PAYPAL_SPECS``, else from ``shared/reference/paypal`` beside the
repository (where CI lays it). Missing specs skip the validation on a developer's machine and fail
it under CI, where the validation is part of what is certified.
"""

from __future__ import annotations

import base64
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from paywire_sandbox import RunningSandbox

_REPO = Path(__file__).resolve().parents[2]
SPEC_DIR = Path(
    os.environ.get("PAYWIRE_PAYPAL_SPECS", _REPO.parent / "shared" / "reference" / "paypal")
)
SPEC_FILES = (
    "checkout_orders_v2.json",
    "payments_payment_v2.json",
    "vault_payment_tokens_v3.json",
    "notifications_webhooks_v1.json",
)
#: Statuses any PayPal call may answer (authentication, rate limits, outages).
GLOBAL_STATUSES = frozenset({401, 429, 503})
RETURN_URL = "https://merchant.example.com/paypal/return"
CANCEL_URL = "https://merchant.example.com/paypal/cancel"


# ---------------------------------------------------------------------------------------------
# Schema validation


class PayPalSchemas:
    """Response schemas of PayPal's published OpenAPI documents, looked up per call."""

    def __init__(self, directory: Path) -> None:
        self.operations: list[tuple[re.Pattern[str], str, str, str, dict[str, Any]]] = []
        resources = []
        for name in SPEC_FILES:
            document = json.loads((directory / name).read_text())
            uri = f"urn:paypal:{name}"
            resources.append((uri, Resource.from_contents(document, default_specification=DRAFT4)))
            for template, operations in document["paths"].items():
                pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
                for method, operation in operations.items():
                    if isinstance(operation, dict) and "responses" in operation:
                        self.operations.append((pattern, method.upper(), uri, template, operation))
        self.registry: Registry[Any] = Registry().with_resources(resources)
        #: (method, path template, status) of every response validated so far.
        self.seen: set[tuple[str, str, int]] = set()

    def schema_for(self, method: str, path: str, status: int) -> tuple[dict[str, Any] | None, str]:
        """The response schema (a ``$ref`` into its spec); ``None`` for a documented empty body."""
        for pattern, op_method, uri, template, operation in self.operations:
            if op_method != method or not pattern.match(path):
                continue
            responses = operation["responses"]
            key = str(status) if str(status) in responses else "default"
            if key not in responses:
                # Only the statuses PayPal's REST reference gives every call may be missing from
                # an operation's list (the vault spec lists no 401); any other is a fake's bug.
                assert status in GLOBAL_STATUSES, f"{method} {template} never answers {status}"
                return {"$ref": f"{uri}#/components/schemas/error"}, template
            response = responses[key]
            if "$ref" in response:
                pointer = response["$ref"].lstrip("#")
            elif "content" in response:
                escaped = template.replace("~", "~0").replace("/", "~1")
                pointer = f"/paths/{escaped}/{method.lower()}/responses/{key}"
            else:
                return None, template
            return {"$ref": f"{uri}#{pointer}/content/application~1json/schema"}, template
        raise AssertionError(f"no PayPal operation documents {method} {path}")

    def documents(self, method: str, path: str) -> bool:
        """Whether a spec describes ``method path``."""
        return any(m == method and p.match(path) for p, m, _u, _t, _o in self.operations)

    def validate(self, method: str, path: str, status: int, body: bytes) -> None:
        """Fail unless ``body`` matches the documented response of ``method path`` at ``status``."""
        schema, template = self.schema_for(method, path, status)
        self.seen.add((method, template, status))
        if schema is None:
            assert body == b"", f"{method} {path} {status} must have no body"
            return
        validator = OAS30Validator(schema, registry=self.registry)
        errors = list(validator.iter_errors(json.loads(body)))
        assert not errors, f"{method} {path} {status}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:5]
        )


# ---------------------------------------------------------------------------------------------
# Client helpers and fixtures


class PayPalClient:
    """A merchant talking to the fake over HTTP; every documented response is schema-checked."""

    def __init__(
        self, sandbox: RunningSandbox, schemas: PayPalSchemas, client_id: str = "merchant-a"
    ) -> None:
        self.sandbox = sandbox
        self.schemas = schemas
        self.client_id = client_id
        self.base = sandbox.url + "/paypal"
        self.http = httpx.Client(
            base_url=self.base,
            event_hooks={"response": [self._check]},
            trust_env=False,
            timeout=10.0,
        )
        self._token: str | None = None

    def _check(self, response: httpx.Response) -> None:
        response.read()
        path = response.request.url.path.removeprefix("/paypal")
        method = response.request.method
        if path.startswith("/v"):
            assert response.headers.get("paypal-debug-id"), f"{method} {path}: no Paypal-Debug-Id"
        if self.schemas.documents(method, path):
            self.schemas.validate(method, path, response.status_code, response.content)

    def close(self) -> None:
        self.http.close()

    def fetch_token(
        self,
        client_id: str | None = None,
        secret: str = "s3cret",  # noqa: S107 - a sandbox credential
    ) -> httpx.Response:
        return self.http.post(
            "/v1/oauth2/token",
            auth=(client_id or self.client_id, secret),
            data={"grant_type": "client_credentials"},
        )

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.fetch_token()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def headers(
        self, *, request_id: str | None = None, prefer: str | None = None, mock: str | None = None
    ) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if request_id is not None:
            headers["PayPal-Request-Id"] = request_id
        if prefer is not None:
            headers["Prefer"] = f"return={prefer}"
        if mock is not None:
            headers["PayPal-Mock-Response"] = json.dumps({"mock_application_codes": mock})
        return headers

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(**kw))

    def post(self, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = self.headers(**kw)
        if body is None:
            return self.http.post(path, headers={**headers, "Content-Type": "application/json"})
        return self.http.post(path, json=body, headers=headers)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.http.delete(path, headers=self.headers(**kw))

    # -- flows --------------------------------------------------------------------------------

    def create_order(
        self,
        value: str = "10.00",
        currency: str = "USD",
        *,
        invoice_id: str | None = None,
        vault: bool = False,
        **kw: Any,
    ) -> dict[str, Any]:
        response = self.post(
            "/v2/checkout/orders", order_body(value, currency, invoice_id, vault), **kw
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def approve(self, resource_id: str, outcome: str = "success") -> dict[str, Any]:
        response = self.sandbox.control(
            "POST", f"/paypal/checkout/{resource_id}/complete", json={"outcome": outcome}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def paid_capture(
        self, value: str = "10.00", currency: str = "USD", **kw: Any
    ) -> dict[str, Any]:
        order = self.create_order(value, currency, **kw)
        self.approve(order["id"])
        response = self.post(f"/v2/checkout/orders/{order['id']}/capture")
        assert response.status_code == 201, response.text
        capture: dict[str, Any] = response.json()["purchase_units"][0]["payments"]["captures"][0]
        return capture

    def vault_token(self, outcome: str | None = None, card: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"merchant": self.client_id}
        if outcome is not None:
            body["outcome"] = outcome
        if card is not None:
            body["card"] = card
        response = self.sandbox.control("POST", "/paypal/payment-tokens", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def charge(self, vault_id: str, kind: str = "paypal", **kw: Any) -> httpx.Response:
        source: dict[str, Any] = {"vault_id": vault_id}
        # A card's stored_credential needs payment_type; a PayPal wallet's has none.
        source["stored_credential"] = {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT"}
        if kind == "card":
            source["stored_credential"]["payment_type"] = "RECURRING"
        body = {
            "intent": "CAPTURE",
            "purchase_units": [{"amount": {"currency_code": "USD", "value": "25.00"}}],
            "payment_source": {kind: source},
        }
        kw.setdefault("request_id", f"charge-{uuid.uuid4()}")
        return self.post("/v2/checkout/orders", body, **kw)


def order_body(
    value: str = "10.00", currency: str = "USD", invoice_id: str | None = None, vault: bool = False
) -> dict[str, Any]:
    unit: dict[str, Any] = {
        "reference_id": "INV-REF",
        "amount": {"currency_code": currency, "value": value},
        "custom_id": "cust-42",
        "description": "Invoice payment",
    }
    if invoice_id is not None:
        unit["invoice_id"] = invoice_id
    paypal: dict[str, Any] = {
        "experience_context": {
            "return_url": RETURN_URL,
            "cancel_url": CANCEL_URL,
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
            "brand_name": "Paywire Test Shop",
        }
    }
    if vault:
        paypal["attributes"] = {
            "vault": {"store_in_vault": "ON_SUCCESS", "usage_type": "MERCHANT"},
            "customer": {"id": "custAbc123"},
        }
    return {"intent": "CAPTURE", "purchase_units": [unit], "payment_source": {"paypal": paypal}}


def link_of(resource: dict[str, Any], rel: str) -> str:
    for entry in resource["links"]:
        if entry["rel"] == rel:
            href: str = entry["href"]
            return href
    raise AssertionError(f"no {rel!r} link in {resource['links']}")


def issue_of(response: httpx.Response) -> str:
    issue: str = response.json()["details"][0]["issue"]
    return issue


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def load_schemas() -> PayPalSchemas:
    """PayPal's response schemas, or skip when the specs are not available."""
    if not SPEC_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"PayPal OpenAPI specs not found in {SPEC_DIR} (set PAYWIRE_PAYPAL_SPECS)")
        pytest.skip(f"PayPal OpenAPI specs not found in {SPEC_DIR} (set PAYWIRE_PAYPAL_SPECS)")
    return PayPalSchemas(SPEC_DIR)


def write_schema_report(found: PayPalSchemas) -> None:
    """Append what was validated to ``$PAYWIRE_PAYPAL_SCHEMA_REPORT``, if set (for coverage)."""
    report = os.environ.get("PAYWIRE_PAYPAL_SCHEMA_REPORT")
    if report:
        with open(report, "a") as handle:
            for method, template, status in sorted(found.seen):
                handle.write(f"{method} {template} {status}\n")


@pytest.fixture(scope="module")
def schemas() -> Iterator[PayPalSchemas]:
    found = load_schemas()
    yield found
    write_schema_report(found)


@pytest.fixture
def paypal(clean_sandbox: RunningSandbox, schemas: PayPalSchemas) -> Iterator[PayPalClient]:
    client = PayPalClient(clean_sandbox, schemas)
    yield client
    client.close()


@pytest.fixture
def receiver(clean_sandbox: RunningSandbox) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Registers a webhook receiver; calling the fixture returns the events delivered so far."""
    from paywire_sandbox.testing import WebhookReceiver

    with WebhookReceiver() as rx:
        clean_sandbox.register_webhook("paypal", rx.url, "unused-secret")

        def events() -> list[dict[str, Any]]:
            clean_sandbox.wait_for_webhooks()
            return [json.loads(body) for _headers, body in rx.requests]

        yield events


def of_type(events: list[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event_type"] == event_type]


# ---------------------------------------------------------------------------------------------
# OAuth2


def test_token_is_issued_for_any_non_empty_credentials(paypal: PayPalClient) -> None:
    response = paypal.fetch_token("some-client", "some-secret")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 32400
    assert body["access_token"].startswith("A21AA")
    assert body["app_id"].startswith("APP-")
    assert body["nonce"]
    assert "payments" in body["scope"]
    usable = paypal.http.get(
        "/v3/vault/payment-tokens",
        params={"customer_id": "nobody1"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert usable.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"client-only:").decode(),
        "Basic " + base64.b64encode(b":secret-only").decode(),
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic !!!not-base64!!!",
        "Bearer abc",
    ],
)
def test_token_refuses_bad_client_credentials(
    paypal: PayPalClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = paypal.http.post(
        "/v1/oauth2/token", data={"grant_type": "client_credentials"}, headers=headers
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client Authentication failed",
    }


@pytest.mark.parametrize(
    ("data", "description"), [({}, "Grant Type is NULL"), ({"grant_type": "password"}, "password")]
)
def test_token_refuses_other_grants(
    paypal: PayPalClient, data: dict[str, str], description: str
) -> None:
    response = paypal.http.post("/v1/oauth2/token", data=data, auth=("id", "secret"))
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert description in response.json()["error_description"]


def test_token_expires_by_the_sandbox_clock(paypal: PayPalClient) -> None:
    assert paypal.get("/v2/checkout/orders/UNKNOWN0000000000").status_code == 404
    paypal.sandbox.advance_clock(32399)
    assert paypal.get("/v2/checkout/orders/UNKNOWN0000000000").status_code == 404
    paypal.sandbox.advance_clock(2)
    expired = paypal.get("/v2/checkout/orders/UNKNOWN0000000000")
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"
    fresh = paypal.fetch_token().json()["access_token"]
    again = paypal.http.get(
        "/v2/checkout/orders/UNKNOWN0000000000", headers={"Authorization": f"Bearer {fresh}"}
    )
    assert again.status_code == 404


def test_unknown_and_missing_bearer_tokens(paypal: PayPalClient) -> None:
    unknown = paypal.http.get(
        "/v2/checkout/orders/X", headers={"Authorization": "Bearer A21AAnot-a-real-token"}
    )
    assert unknown.status_code == 401
    assert unknown.json() == {
        "error": "invalid_token",
        "error_description": "Token signature verification failed",
    }
    missing = paypal.http.post("/v2/checkout/orders", json=order_body())
    assert missing.status_code == 401
    body = missing.json()
    assert body["name"] == "AUTHENTICATION_FAILURE"
    assert body["debug_id"] == missing.headers["paypal-debug-id"]


# ---------------------------------------------------------------------------------------------
# Orders


def test_order_with_experience_context_needs_payer_action(paypal: PayPalClient) -> None:
    order = paypal.create_order(invoice_id="INV-1001")
    assert order["status"] == "PAYER_ACTION_REQUIRED"
    assert set(order) == {"id", "status", "payment_source", "links"}
    assert re.fullmatch(r"[0-9A-Z]{17}", order["id"])
    page = paypal.http.get(link_of(order, "payer-action"))
    assert page.status_code == 200
    assert 'id="approve"' in page.text.replace("'", '"')
    assert 'id="cancel"' in page.text.replace("'", '"')
    assert "10.00 USD" in page.text
    for outcome in ("success", "decline", "insufficient_funds", "pending"):
        assert f"id='outcome-{outcome}'" in page.text
    full = paypal.get(f"/v2/checkout/orders/{order['id']}").json()
    unit = full["purchase_units"][0]
    assert unit["invoice_id"] == "INV-1001"
    assert unit["custom_id"] == "cust-42"
    assert unit["amount"] == {"currency_code": "USD", "value": "10.00"}
    assert full["intent"] == "CAPTURE"


def test_order_without_payment_source_is_created_with_approve_link(paypal: PayPalClient) -> None:
    body = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "EUR", "value": "5"}}],
        "application_context": {"return_url": RETURN_URL, "cancel_url": CANCEL_URL},
    }
    response = paypal.post("/v2/checkout/orders", body, prefer="representation")
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "CREATED"
    assert order["purchase_units"][0]["amount"]["value"] == "5.00"
    assert order["purchase_units"][0]["reference_id"] == "default"
    assert "approve" in {entry["rel"] for entry in order["links"]}
    approved = paypal.approve(order["id"])
    assert approved["status"] == "APPROVED"
    assert approved["redirect_url"].startswith(RETURN_URL + "?")
    assert query_of(approved["redirect_url"])["token"] == order["id"]


def test_hosted_page_approves_and_redirects_with_token_and_payer_id(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    order = paypal.create_order()
    page_url = link_of(order, "payer-action")
    response = paypal.http.post(page_url, data={"action": "approve", "outcome": "success"})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(RETURN_URL)
    params = query_of(location)
    assert params["token"] == order["id"]
    full = paypal.get(f"/v2/checkout/orders/{order['id']}").json()
    assert full["status"] == "APPROVED"
    assert full["payer"]["payer_id"] == params["PayerID"]
    assert "capture" in {entry["rel"] for entry in full["links"]}
    approvals = of_type(receiver(), "CHECKOUT.ORDER.APPROVED")
    assert [e["resource"]["id"] for e in approvals] == [order["id"]]
    assert approvals[0]["resource_type"] == "checkout-order"
    assert approvals[0]["resource"]["status"] == "APPROVED"


def test_hosted_page_cancel_returns_to_cancel_url(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    response = paypal.http.post(link_of(order, "payer-action"), data={"action": "cancel"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{CANCEL_URL}?token={order['id']}"
    status = paypal.get(f"/v2/checkout/orders/{order['id']}").json()["status"]
    assert status == "PAYER_ACTION_REQUIRED"
    control = paypal.sandbox.control("POST", f"/paypal/checkout/{order['id']}/cancel")
    assert control.json() == {"redirect_url": f"{CANCEL_URL}?token={order['id']}"}


def test_capture_completes_with_capture_details_and_webhook(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    order = paypal.create_order("10.00", invoice_id="INV-2001")
    paypal.approve(order["id"])
    response = paypal.post(f"/v2/checkout/orders/{order['id']}/capture", request_id="cap-2001")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "COMPLETED"
    capture = body["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "COMPLETED"
    assert capture["amount"] == {"currency_code": "USD", "value": "10.00"}
    assert capture["final_capture"] is True
    assert capture["invoice_id"] == "INV-2001"
    breakdown = capture["seller_receivable_breakdown"]
    assert breakdown["gross_amount"]["value"] == "10.00"
    gross, fee, net = (
        Decimal(breakdown[k]["value"]) for k in ("gross_amount", "paypal_fee", "net_amount")
    )
    assert fee > 0
    assert net == gross - fee
    assert link_of(capture, "up").endswith(f"/v2/checkout/orders/{order['id']}")
    assert capture["supplementary_data"]["related_ids"]["order_id"] == order["id"]
    fetched = paypal.get(f"/v2/payments/captures/{capture['id']}").json()
    assert fetched["status"] == "COMPLETED"
    assert fetched["id"] == capture["id"]
    completed = of_type(receiver(), "PAYMENT.CAPTURE.COMPLETED")
    assert [e["resource"]["id"] for e in completed] == [capture["id"]]
    assert completed[0]["resource"]["supplementary_data"]["related_ids"]["order_id"] == order["id"]
    assert completed[0]["resource_type"] == "capture"


def test_capture_requires_approval_and_happens_once(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    not_approved = paypal.post(f"/v2/checkout/orders/{order['id']}/capture")
    assert not_approved.status_code == 422
    assert issue_of(not_approved) == "ORDER_NOT_APPROVED"
    paypal.approve(order["id"])
    assert paypal.post(f"/v2/checkout/orders/{order['id']}/capture").status_code == 201
    twice = paypal.post(f"/v2/checkout/orders/{order['id']}/capture")
    assert twice.status_code == 422
    assert issue_of(twice) == "ORDER_ALREADY_CAPTURED"
    missing = paypal.post("/v2/checkout/orders/0000000000000000X/capture")
    assert missing.status_code == 404
    assert issue_of(missing) == "INVALID_RESOURCE_ID"


def test_capture_retry_with_same_request_id_returns_the_same_capture(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    paypal.approve(order["id"])
    first = paypal.post(f"/v2/checkout/orders/{order['id']}/capture", request_id="cap-once")
    again = paypal.post(f"/v2/checkout/orders/{order['id']}/capture", request_id="cap-once")
    assert (first.status_code, again.status_code) == (201, 200)
    ids = [r.json()["purchase_units"][0]["payments"]["captures"][0]["id"] for r in (first, again)]
    assert ids[0] == ids[1]
    full = paypal.get(f"/v2/checkout/orders/{order['id']}").json()
    assert len(full["purchase_units"][0]["payments"]["captures"]) == 1


def test_create_retry_with_same_request_id_returns_latest_state(paypal: PayPalClient) -> None:
    first = paypal.create_order(request_id="create-1")
    paypal.approve(first["id"])
    retry = paypal.post("/v2/checkout/orders", order_body(), request_id="create-1")
    assert retry.status_code == 200
    assert retry.json()["id"] == first["id"]
    assert retry.json()["status"] == "APPROVED"
    other = paypal.create_order(request_id="create-2")
    assert other["id"] != first["id"]


def test_prefer_header_chooses_minimal_or_full_capture_response(paypal: PayPalClient) -> None:
    minimal_order = paypal.create_order()
    paypal.approve(minimal_order["id"])
    minimal = paypal.post(f"/v2/checkout/orders/{minimal_order['id']}/capture").json()
    assert set(minimal) == {"id", "status", "payment_source", "purchase_units", "payer", "links"}
    assert set(minimal["purchase_units"][0]) == {"reference_id", "payments"}
    full_order = paypal.create_order()
    paypal.approve(full_order["id"])
    full = paypal.post(
        f"/v2/checkout/orders/{full_order['id']}/capture", prefer="representation"
    ).json()
    assert {"intent", "create_time", "update_time"} <= set(full)
    assert full["purchase_units"][0]["amount"]["value"] == "10.00"


def test_vault_during_purchase_saves_the_wallet(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    order = paypal.create_order(vault=True)
    paypal.approve(order["id"])
    captured = paypal.post(f"/v2/checkout/orders/{order['id']}/capture").json()
    vault = captured["payment_source"]["paypal"]["attributes"]["vault"]
    assert vault["status"] == "VAULTED"
    assert vault["customer"]["id"] == "custAbc123"
    token = paypal.get(f"/v3/vault/payment-tokens/{vault['id']}")
    assert token.status_code == 200
    assert token.json()["customer"]["id"] == "custAbc123"
    assert token.json()["payment_source"]["paypal"]["email_address"]
    created = of_type(receiver(), "VAULT.PAYMENT-TOKEN.CREATED")
    assert [e["resource"]["id"] for e in created] == [vault["id"]]
    assert created[0]["resource"]["metadata"]["order_id"] == order["id"]


@pytest.mark.parametrize(
    ("outcome", "issue"),
    [
        ("decline", "INSTRUMENT_DECLINED"),
        ("processing_error", "TRANSACTION_REFUSED"),
        ("authentication_required", "PAYER_ACTION_REQUIRED"),
    ],
)
def test_refused_funding_fails_capture_and_leaves_order_approved(
    paypal: PayPalClient, outcome: str, issue: str
) -> None:
    order = paypal.create_order()
    paypal.approve(order["id"], outcome)
    response = paypal.post(f"/v2/checkout/orders/{order['id']}/capture")
    assert response.status_code == 422
    assert issue_of(response) == issue
    assert paypal.get(f"/v2/checkout/orders/{order['id']}").json()["status"] == "APPROVED"


def test_hosted_page_funding_choice_that_declines(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    paypal.http.post(
        link_of(order, "payer-action"), data={"action": "approve", "outcome": "decline"}
    )
    response = paypal.post(f"/v2/checkout/orders/{order['id']}/capture")
    assert issue_of(response) == "INSTRUMENT_DECLINED"


def test_denied_and_pending_captures_fire_their_webhooks(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    denied_order = paypal.create_order()
    paypal.approve(denied_order["id"], "denied")
    denied = paypal.post(f"/v2/checkout/orders/{denied_order['id']}/capture").json()
    denied_capture = denied["purchase_units"][0]["payments"]["captures"][0]
    assert denied_capture["status"] == "DECLINED"
    assert "refund" not in {entry["rel"] for entry in denied_capture["links"]}
    refund_denied = paypal.post(f"/v2/payments/captures/{denied_capture['id']}/refund")
    assert issue_of(refund_denied) == "REFUND_NOT_ALLOWED"

    pending_order = paypal.create_order()
    paypal.approve(pending_order["id"], "pending")
    pending = paypal.post(f"/v2/checkout/orders/{pending_order['id']}/capture").json()
    pending_capture = pending["purchase_units"][0]["payments"]["captures"][0]
    assert pending_capture["status"] == "PENDING"
    assert pending_capture["status_details"] == {"reason": "PENDING_REVIEW"}
    refund_pending = paypal.post(f"/v2/payments/captures/{pending_capture['id']}/refund")
    assert issue_of(refund_pending) == "PENDING_CAPTURE"
    settled = paypal.sandbox.control(
        "POST", f"/paypal/captures/{pending_capture['id']}/settle", json={"status": "COMPLETED"}
    )
    assert settled.json()["status"] == "COMPLETED"

    events = receiver()
    assert [e["resource"]["id"] for e in of_type(events, "PAYMENT.CAPTURE.DENIED")] == [
        denied_capture["id"]
    ]
    assert [e["resource"]["id"] for e in of_type(events, "PAYMENT.CAPTURE.PENDING")] == [
        pending_capture["id"]
    ]
    assert [e["resource"]["id"] for e in of_type(events, "PAYMENT.CAPTURE.COMPLETED")] == [
        pending_capture["id"]
    ]


def test_invoice_id_is_unique_once_paid(paypal: PayPalClient) -> None:
    abandoned = paypal.create_order(invoice_id="INV-3001")
    paypal.paid_capture(invoice_id="INV-3001")
    again = paypal.post("/v2/checkout/orders", order_body(invoice_id="INV-3001"))
    assert again.status_code == 422
    assert issue_of(again) == "DUPLICATE_INVOICE_ID"
    paypal.approve(abandoned["id"])
    late = paypal.post(f"/v2/checkout/orders/{abandoned['id']}/capture")
    assert late.status_code == 422
    assert issue_of(late) == "DUPLICATE_INVOICE_ID"
    assert paypal.create_order(invoice_id="INV-3002")["status"] == "PAYER_ACTION_REQUIRED"


def test_orders_belong_to_the_merchant_that_made_them(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    other = PayPalClient(paypal.sandbox, paypal.schemas, client_id="merchant-b")
    try:
        assert other.get(f"/v2/checkout/orders/{order['id']}").status_code == 404
    finally:
        other.close()
    assert paypal.get(f"/v2/checkout/orders/{order['id']}").status_code == 200


def test_approval_window_closes_after_three_hours(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    paypal.sandbox.advance_clock(3 * 3600 + 1)
    response = paypal.sandbox.control("POST", f"/paypal/checkout/{order['id']}/complete")
    assert response.status_code == 409


# ---------------------------------------------------------------------------------------------
# Amounts and request shapes


@pytest.mark.parametrize(
    ("currency", "value", "status", "issue_or_value"),
    [
        ("USD", "10", 201, "10.00"),
        ("USD", "10.5", 201, "10.50"),
        ("JPY", "1500", 201, "1500"),
        ("HUF", "990", 201, "990"),
        ("TWD", "30", 201, "30"),
        ("JPY", "1500.50", 422, "DECIMAL_PRECISION"),
        ("HUF", "1.0", 422, "DECIMAL_PRECISION"),
        ("USD", "10.123", 422, "DECIMAL_PRECISION"),
        ("XYZ", "10.00", 422, "INVALID_CURRENCY_CODE"),
        ("USD", "0.00", 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        ("USD", "-1.00", 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        ("USD", "1000000000000000.00", 422, "MAX_VALUE_EXCEEDED"),
        ("USD", "ten", 400, "INVALID_PARAMETER_SYNTAX"),
        ("USD", "1e3", 400, "INVALID_PARAMETER_SYNTAX"),
        ("usd", "10.00", 400, "INVALID_PARAMETER_SYNTAX"),
    ],
)
def test_amount_rules_per_currency(
    paypal: PayPalClient, currency: str, value: str, status: int, issue_or_value: str
) -> None:
    response = paypal.post(
        "/v2/checkout/orders", order_body(value, currency), prefer="representation"
    )
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["purchase_units"][0]["amount"]["value"] == issue_or_value
    else:
        assert issue_of(response) == issue_or_value
        assert response.json()["details"][0]["field"].endswith(
            "currency_code" if "CURRENCY" in issue_or_value or currency == "usd" else "value"
        )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    currency=st.sampled_from(["USD", "EUR", "JPY", "HUF", "GBP", "TWD"]),
    whole=st.integers(min_value=0, max_value=10**6),
    decimals=st.text(alphabet="0123456789", max_size=4),
)
def test_amounts_accepted_exactly_when_the_currency_allows(
    paypal: PayPalClient, currency: str, whole: int, decimals: str
) -> None:
    value = f"{whole}.{decimals}" if decimals else str(whole)
    places = 0 if currency in {"JPY", "HUF", "TWD"} else 2
    response = paypal.post(
        "/v2/checkout/orders", order_body(value, currency), prefer="representation"
    )
    if len(decimals) > places:
        assert (response.status_code, issue_of(response)) == (422, "DECIMAL_PRECISION")
    elif Decimal(value) == 0:
        assert (response.status_code, issue_of(response)) == (422, "CANNOT_BE_ZERO_OR_NEGATIVE")
    else:
        assert response.status_code == 201
        echoed = response.json()["purchase_units"][0]["amount"]["value"]
        assert Decimal(echoed) == Decimal(value)
        assert len(echoed.partition(".")[2]) == places


def _bad(body: Any) -> Any:
    return body


@pytest.mark.parametrize(
    ("body", "status", "issue"),
    [
        (
            {"purchase_units": [{"amount": {"currency_code": "USD", "value": "1.00"}}]},
            400,
            "MISSING_REQUIRED_PARAMETER",
        ),
        ({"intent": "SALE", "purchase_units": []}, 400, "INVALID_PARAMETER_VALUE"),
        (
            {
                "intent": "AUTHORIZE",
                "purchase_units": [{"amount": {"currency_code": "USD", "value": "1.00"}}],
            },
            400,
            "NOT_SUPPORTED",
        ),
        ({"intent": "CAPTURE"}, 400, "MISSING_REQUIRED_PARAMETER"),
        ({"intent": "CAPTURE", "purchase_units": {"amount": "1"}}, 400, "INVALID_PARAMETER_SYNTAX"),
        ({"intent": "CAPTURE", "purchase_units": []}, 400, "INVALID_ARRAY_MIN_ITEMS"),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {"reference_id": str(i), "amount": {"currency_code": "USD", "value": "1"}}
                    for i in range(11)
                ],
            },
            400,
            "INVALID_ARRAY_MAX_ITEMS",
        ),
        ({"intent": "CAPTURE", "purchase_units": [{}]}, 400, "MISSING_REQUIRED_PARAMETER"),
        (
            {"intent": "CAPTURE", "purchase_units": [{"amount": {"value": "1.00"}}]},
            400,
            "MISSING_REQUIRED_PARAMETER",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [{"amount": {"currency_code": "USD", "value": 10}}],
            },
            400,
            "INVALID_PARAMETER_SYNTAX",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {"amount": {"currency_code": "USD", "value": "1"}},
                    {"amount": {"currency_code": "USD", "value": "2"}},
                ],
            },
            422,
            "REFERENCE_ID_REQUIRED",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {"reference_id": "a", "amount": {"currency_code": "USD", "value": "1"}},
                    {"reference_id": "a", "amount": {"currency_code": "USD", "value": "2"}},
                ],
            },
            422,
            "DUPLICATE_REFERENCE_ID",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {"reference_id": "a", "amount": {"currency_code": "USD", "value": "1"}},
                    {"reference_id": "b", "amount": {"currency_code": "EUR", "value": "2"}},
                ],
            },
            422,
            "MULTI_CURRENCY_ORDER",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [
                    {"invoice_id": "x" * 128, "amount": {"currency_code": "USD", "value": "1"}}
                ],
            },
            400,
            "INVALID_STRING_LENGTH",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [{"amount": {"currency_code": "USD", "value": "1"}}],
                "payment_source": {"paypal": {"experience_context": {"return_url": "not a url"}}},
            },
            400,
            "INVALID_PARAMETER_SYNTAX",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [{"amount": {"currency_code": "USD", "value": "1"}}],
                "payment_source": {"paypal": {"experience_context": {"user_action": "NOW"}}},
            },
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [{"amount": {"currency_code": "USD", "value": "1"}}],
                "payment_source": {"venmo": {}},
            },
            400,
            "NOT_SUPPORTED",
        ),
        (
            {
                "intent": "CAPTURE",
                "purchase_units": [{"amount": {"currency_code": "USD", "value": "1"}}],
                "payment_source": {
                    "paypal": {"attributes": {"vault": {"store_in_vault": "ALWAYS"}}}
                },
            },
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        ([1, 2, 3], 400, "MALFORMED_REQUEST_JSON"),
    ],
)
def test_bad_order_requests_get_paypal_errors(
    paypal: PayPalClient, body: Any, status: int, issue: str
) -> None:
    response = paypal.post("/v2/checkout/orders", body)
    assert response.status_code == status, response.text
    assert issue_of(response) == issue
    expected_name = {400: "INVALID_REQUEST", 422: "UNPROCESSABLE_ENTITY"}[status]
    assert response.json()["name"] == expected_name


def test_malformed_json_and_unknown_fields(paypal: PayPalClient) -> None:
    headers = {**paypal.headers(), "Content-Type": "application/json"}
    broken = paypal.http.post("/v2/checkout/orders", content=b'{"intent": "CAP', headers=headers)
    assert broken.status_code == 400
    assert issue_of(broken) == "MALFORMED_REQUEST_JSON"
    # A member PayPal's request schema does not declare is refused, naming it (specs loaded).
    unknown = paypal.post("/v2/checkout/orders", {**order_body(), "not_a_paypal_field": {"x": 1}})
    assert unknown.status_code == 400
    assert unknown.json()["details"][0]["field"] == "/not_a_paypal_field"
    assert issue_of(unknown) == "NOT_SUPPORTED"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "intent",
                    "purchase_units",
                    "amount",
                    "value",
                    "currency_code",
                    "payment_source",
                    "paypal",
                    "reference_id",
                    "customer",
                    "id",
                    "token",
                    "type",
                    "webhook_event",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(
        [
            "/v2/checkout/orders",
            "/v3/vault/setup-tokens",
            "/v3/vault/payment-tokens",
            "/v1/notifications/verify-webhook-signature",
        ]
    ),
    body=json_values,
)
def test_arbitrary_bodies_never_crash_the_fake(paypal: PayPalClient, path: str, body: Any) -> None:
    response = paypal.post(path, body)
    assert response.status_code in {200, 201, 400, 404, 422}
    if response.status_code >= 400:
        error = response.json()
        assert {"name", "message", "debug_id", "details", "links"} <= set(error)


def test_unknown_paths_and_methods_get_paypal_404(paypal: PayPalClient) -> None:
    for response in (
        paypal.get("/v2/nothing/here"),
        paypal.http.put("/v2/checkout/orders", headers=paypal.headers()),
    ):
        assert response.status_code == 404
        assert response.json()["name"] == "RESOURCE_NOT_FOUND"
        assert response.json()["debug_id"] == response.headers["paypal-debug-id"]


# ---------------------------------------------------------------------------------------------
# Negative testing


@pytest.mark.parametrize(
    ("path_kind", "code", "status"),
    [
        ("capture", "INSTRUMENT_DECLINED", 422),
        ("capture", "TRANSACTION_REFUSED", 422),
        ("capture", "PAYER_ACTION_REQUIRED", 422),
        ("capture", "INVALID_RESOURCE_ID", 404),
        ("capture", "INTERNAL_SERVER_ERROR", 500),
        ("create", "CARD_EXPIRED", 422),
        ("create", "DUPLICATE_INVOICE_ID", 422),
        ("refund", "REFUND_AMOUNT_EXCEEDED", 422),
    ],
)
def test_mock_response_header_forces_paypal_errors(
    paypal: PayPalClient, path_kind: str, code: str, status: int
) -> None:
    order = paypal.create_order()
    paypal.approve(order["id"])
    if path_kind == "create":
        response = paypal.post("/v2/checkout/orders", order_body(), mock=code)
    elif path_kind == "capture":
        response = paypal.post(f"/v2/checkout/orders/{order['id']}/capture", mock=code)
    else:
        capture = paypal.paid_capture()
        response = paypal.post(f"/v2/payments/captures/{capture['id']}/refund", mock=code)
    assert response.status_code == status
    assert issue_of(response) == code
    # Nothing changed: the approved order still captures normally.
    assert paypal.get(f"/v2/checkout/orders/{order['id']}").json()["status"] == "APPROVED"
    assert paypal.post(f"/v2/checkout/orders/{order['id']}/capture").status_code == 201


def test_malformed_mock_header_is_a_bad_request(paypal: PayPalClient) -> None:
    headers = {**paypal.headers(), "PayPal-Mock-Response": "{not json"}
    response = paypal.http.get("/v2/checkout/orders/ABC", headers=headers)
    assert response.status_code == 400
    assert issue_of(response) == "INVALID_PARAMETER_VALUE"


def test_injected_faults_have_paypal_shape_and_debug_id(paypal: PayPalClient) -> None:
    # Through the checking client: fault answers carry Paypal-Debug-Id and match the schemas.
    paypal.sandbox.add_fault(
        provider="paypal", method="POST", path="/v2/checkout/orders", kind="server_error"
    )
    response = paypal.post("/v2/checkout/orders", order_body())
    assert response.status_code == 500
    assert response.json()["name"] == "INTERNAL_SERVER_ERROR"
    assert response.json()["debug_id"]
    assert response.json()["debug_id"] == response.headers["paypal-debug-id"]
    paypal.sandbox.add_fault(
        provider="paypal", method="POST", path="/v2/checkout/orders", kind="rate_limit"
    )
    # Sent outside the checking client: PayPal's OpenAPI specs describe no 429 body.
    with httpx.Client(base_url=paypal.base, trust_env=False) as raw:
        limited = raw.post("/v2/checkout/orders", json=order_body(), headers=paypal.headers())
    assert limited.status_code == 429
    assert limited.json()["name"] == "RATE_LIMIT_REACHED"
    assert limited.json()["debug_id"] == limited.headers["paypal-debug-id"]
    assert limited.headers["retry-after"] == "1"
    assert paypal.post("/v2/checkout/orders", order_body()).status_code == 201


# ---------------------------------------------------------------------------------------------
# Refunds


def test_full_refund_with_empty_body(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    capture = paypal.paid_capture("20.00")
    response = paypal.post(f"/v2/payments/captures/{capture['id']}/refund", prefer="representation")
    assert response.status_code == 201
    refund = response.json()
    assert refund["status"] == "COMPLETED"
    assert refund["amount"] == {"currency_code": "USD", "value": "20.00"}
    assert link_of(refund, "up").endswith(f"/v2/payments/captures/{capture['id']}")
    assert paypal.get(f"/v2/payments/captures/{capture['id']}").json()["status"] == "REFUNDED"
    again = paypal.post(f"/v2/payments/captures/{capture['id']}/refund")
    assert (again.status_code, issue_of(again)) == (422, "CAPTURE_FULLY_REFUNDED")
    refunded = of_type(receiver(), "PAYMENT.CAPTURE.REFUNDED")
    assert [e["resource"]["id"] for e in refunded] == [refund["id"]]
    assert refunded[0]["resource_type"] == "refund"


def test_partial_refunds_up_to_the_capture(paypal: PayPalClient) -> None:
    capture = paypal.paid_capture("10.00")
    path = f"/v2/payments/captures/{capture['id']}/refund"
    first = paypal.post(
        path, {"amount": {"currency_code": "USD", "value": "3.00"}, "note_to_payer": "sorry"}
    )
    assert first.status_code == 201
    assert set(first.json()) == {"id", "status", "links"}
    assert (
        paypal.get(f"/v2/payments/captures/{capture['id']}").json()["status"]
        == "PARTIALLY_REFUNDED"
    )
    assert (
        paypal.post(path, {"amount": {"currency_code": "USD", "value": "4.00"}}).status_code == 201
    )
    over = paypal.post(path, {"amount": {"currency_code": "USD", "value": "3.01"}})
    assert (over.status_code, issue_of(over)) == (422, "REFUND_AMOUNT_EXCEEDED")
    last = paypal.post(path, {"amount": {"currency_code": "USD", "value": "3.00"}})
    assert last.status_code == 201
    detail = paypal.get(f"/v2/payments/refunds/{last.json()['id']}").json()
    assert detail["seller_payable_breakdown"]["total_refunded_amount"]["value"] == "10.00"
    assert paypal.get(f"/v2/payments/captures/{capture['id']}").json()["status"] == "REFUNDED"
    note = paypal.get(f"/v2/payments/refunds/{first.json()['id']}").json()
    assert note["note_to_payer"] == "sorry"
    assert note["amount"]["value"] == "3.00"


@pytest.mark.parametrize(
    ("amount", "issue"),
    [
        ({"currency_code": "EUR", "value": "1.00"}, "REFUND_CAPTURE_CURRENCY_MISMATCH"),
        ({"currency_code": "USD", "value": "1.001"}, "DECIMAL_PRECISION"),
        ({"currency_code": "USD", "value": "0"}, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        ({"currency_code": "USD", "value": "abc"}, "INVALID_PARAMETER_SYNTAX"),
        ({"currency_code": "USD"}, "MISSING_REQUIRED_PARAMETER"),
    ],
)
def test_bad_refund_amounts(paypal: PayPalClient, amount: dict[str, str], issue: str) -> None:
    capture = paypal.paid_capture()
    response = paypal.post(f"/v2/payments/captures/{capture['id']}/refund", {"amount": amount})
    assert response.status_code in {400, 422}
    assert issue_of(response) == issue


def test_refund_in_currency_without_decimals(paypal: PayPalClient) -> None:
    capture = paypal.paid_capture("1000", "JPY")
    path = f"/v2/payments/captures/{capture['id']}/refund"
    bad = paypal.post(path, {"amount": {"currency_code": "JPY", "value": "10.5"}})
    assert (bad.status_code, issue_of(bad)) == (422, "DECIMALS_NOT_SUPPORTED")
    good = paypal.post(
        path, {"amount": {"currency_code": "JPY", "value": "400"}}, prefer="representation"
    )
    assert good.json()["amount"] == {"currency_code": "JPY", "value": "400"}


def test_refund_retry_with_same_request_id_refunds_once(paypal: PayPalClient) -> None:
    capture = paypal.paid_capture("10.00")
    path = f"/v2/payments/captures/{capture['id']}/refund"
    body = {"amount": {"currency_code": "USD", "value": "6.00"}}
    first = paypal.post(path, body, request_id="refund-1")
    second = paypal.post(path, body, request_id="refund-1")
    assert first.json()["id"] == second.json()["id"]
    status = paypal.get(f"/v2/payments/captures/{capture['id']}").json()["status"]
    assert status == "PARTIALLY_REFUNDED"
    missing = paypal.post("/v2/payments/captures/NOPE0000000000000/refund")
    assert (missing.status_code, issue_of(missing)) == (404, "INVALID_RESOURCE_ID")
    assert paypal.get("/v2/payments/refunds/NOPE0000000000000").status_code == 404


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cents=st.lists(st.integers(min_value=1, max_value=600), min_size=1, max_size=5))
def test_partial_refund_sequences_match_a_model(paypal: PayPalClient, cents: list[int]) -> None:
    capture = paypal.paid_capture("10.00")
    path = f"/v2/payments/captures/{capture['id']}/refund"
    refunded = 0
    for amount in cents:
        value = f"{amount // 100}.{amount % 100:02d}"
        response = paypal.post(path, {"amount": {"currency_code": "USD", "value": value}})
        if refunded == 1000:
            assert issue_of(response) == "CAPTURE_FULLY_REFUNDED"
        elif refunded + amount > 1000:
            assert issue_of(response) == "REFUND_AMOUNT_EXCEEDED"
        else:
            assert response.status_code == 201
            refunded += amount
    status = paypal.get(f"/v2/payments/captures/{capture['id']}").json()["status"]
    expected = {0: "COMPLETED", 1000: "REFUNDED"}.get(refunded, "PARTIALLY_REFUNDED")
    assert status == expected


# ---------------------------------------------------------------------------------------------
# Vault v3


def _setup_body(**context: str) -> dict[str, Any]:
    return {
        "customer": {"id": "custVault01"},
        "payment_source": {
            "paypal": {
                "usage_type": "MERCHANT",
                "description": "Monthly subscription",
                "experience_context": {
                    "return_url": RETURN_URL,
                    "cancel_url": CANCEL_URL,
                    **context,
                },
            }
        },
    }


def test_setup_token_approval_and_payment_token_lifecycle(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    created = paypal.post("/v3/vault/setup-tokens", _setup_body(), request_id="setup-1")
    assert created.status_code == 201
    setup = created.json()
    assert setup["status"] == "PAYER_ACTION_REQUIRED"
    assert setup["customer"]["id"] == "custVault01"
    approve_url = link_of(setup, "approve")
    early = paypal.post(
        "/v3/vault/payment-tokens",
        {"payment_source": {"token": {"id": setup["id"], "type": "SETUP_TOKEN"}}},
    )
    assert (early.status_code, issue_of(early)) == (422, "PAYER_ACTION_REQUIRED")
    page = paypal.http.post(approve_url, data={"action": "approve"})
    assert page.status_code == 303
    params = query_of(page.headers["location"])
    assert params == {"approval_token_id": setup["id"], "approval_session_id": setup["id"]}
    assert paypal.get(f"/v3/vault/setup-tokens/{setup['id']}").json()["status"] == "APPROVED"

    body = {"payment_source": {"token": {"id": setup["id"], "type": "SETUP_TOKEN"}}}
    token_response = paypal.post("/v3/vault/payment-tokens", body, request_id="pt-1")
    assert token_response.status_code == 201
    token = token_response.json()
    assert token["customer"]["id"] == "custVault01"
    assert token["payment_source"]["paypal"]["description"] == "Monthly subscription"
    reused = paypal.post("/v3/vault/payment-tokens", body, request_id="pt-2")
    assert (reused.status_code, issue_of(reused)) == (422, "SETUP_TOKEN_ALREADY_TOKENIZED")
    replay = paypal.post("/v3/vault/payment-tokens", body, request_id="pt-1")
    assert (replay.status_code, replay.json()["id"]) == (200, token["id"])

    listed = paypal.get(
        "/v3/vault/payment-tokens?customer_id=custVault01&total_required=true"
    ).json()
    assert [t["id"] for t in listed["payment_tokens"]] == [token["id"]]
    assert listed["total_items"] == 1

    assert paypal.delete(f"/v3/vault/payment-tokens/{token['id']}").status_code == 204
    assert paypal.get(f"/v3/vault/payment-tokens/{token['id']}").status_code == 404
    # The spec lists 204/400/403/500 for DELETE (no 404): a second delete is a 400; the
    # schema check above fails any status the operation does not list.
    again = paypal.delete(f"/v3/vault/payment-tokens/{token['id']}")
    assert (again.status_code, again.json()["name"]) == (400, "INVALID_REQUEST")
    assert issue_of(again) == "INVALID_RESOURCE_ID"
    events = receiver()
    assert [e["resource"]["id"] for e in of_type(events, "VAULT.PAYMENT-TOKEN.CREATED")] == [
        token["id"]
    ]
    assert [e["resource"]["id"] for e in of_type(events, "VAULT.PAYMENT-TOKEN.DELETED")] == [
        token["id"]
    ]


def test_setup_token_cancel_and_unknown_ids(paypal: PayPalClient) -> None:
    setup = paypal.post("/v3/vault/setup-tokens", _setup_body()).json()
    cancelled = paypal.http.post(link_of(setup, "approve"), data={"action": "cancel"})
    assert cancelled.headers["location"] == f"{CANCEL_URL}?approval_token_id={setup['id']}"
    assert paypal.get("/v3/vault/setup-tokens/NOSUCHTOKEN00000").status_code == 404
    unknown = paypal.post(
        "/v3/vault/payment-tokens",
        {"payment_source": {"token": {"id": "NOSUCHTOKEN00000", "type": "SETUP_TOKEN"}}},
    )
    assert unknown.status_code == 404


def test_card_setup_token_is_approved_at_once(paypal: PayPalClient) -> None:
    body = {
        "payment_source": {
            "card": {"number": "4111111111111111", "expiry": "2031-04", "name": "Ada Lovelace"}
        }
    }
    setup = paypal.post("/v3/vault/setup-tokens", body).json()
    assert setup["status"] == "APPROVED"
    token = paypal.post(
        "/v3/vault/payment-tokens",
        {"payment_source": {"token": {"id": setup["id"], "type": "SETUP_TOKEN"}}},
    ).json()
    card = token["payment_source"]["card"]
    assert card == {
        "brand": "VISA",
        "last_digits": "1111",
        "expiry": "2031-04",
        "name": "Ada Lovelace",
    }
    expired = paypal.post(
        "/v3/vault/setup-tokens",
        {"payment_source": {"card": {"number": "4111111111111111", "expiry": "2001-01"}}},
    )
    assert (expired.status_code, issue_of(expired)) == (422, "CARD_EXPIRED")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"payment_source": "paypal"},
        {"payment_source": {"venmo": {}}},
        {"payment_source": {"paypal": {"usage_type": "SOMEONE"}}},
        {"customer": {"id": "has spaces"}, "payment_source": {"paypal": {}}},
        {"payment_source": {"card": {"number": "12", "expiry": "2030-01"}}},
    ],
)
def test_bad_setup_token_requests(paypal: PayPalClient, body: dict[str, Any]) -> None:
    response = paypal.post("/v3/vault/setup-tokens", body)
    assert response.status_code == 400
    assert response.json()["name"] == "INVALID_REQUEST"


def test_payment_token_list_pages(paypal: PayPalClient) -> None:
    ids = []
    for _ in range(3):
        setup = paypal.post("/v3/vault/setup-tokens", _setup_body()).json()
        paypal.approve(setup["id"])
        token = paypal.post(
            "/v3/vault/payment-tokens",
            {"payment_source": {"token": {"id": setup["id"], "type": "SETUP_TOKEN"}}},
        )
        ids.append(token.json()["id"])
    page1 = paypal.get("/v3/vault/payment-tokens?customer_id=custVault01&page_size=2&page=1").json()
    page2 = paypal.get("/v3/vault/payment-tokens?customer_id=custVault01&page_size=2&page=2").json()
    assert [t["id"] for t in page1["payment_tokens"] + page2["payment_tokens"]] == ids
    assert "total_items" not in page1
    assert "next" in {entry["rel"] for entry in page1["links"]}
    missing = paypal.get("/v3/vault/payment-tokens")
    assert (missing.status_code, issue_of(missing)) == (400, "MISSING_REQUIRED_PARAMETER")
    bad_page = paypal.get("/v3/vault/payment-tokens?customer_id=custVault01&page=0")
    assert bad_page.status_code == 400


# ---------------------------------------------------------------------------------------------
# Charging a vaulted token in one step


def test_one_step_charge_of_a_paypal_token(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    token = paypal.vault_token()
    response = paypal.charge(token["id"], request_id="renewal-1")
    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "COMPLETED"
    capture = order["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "COMPLETED"
    retry = paypal.charge(token["id"], request_id="renewal-1")
    assert retry.status_code == 200
    assert retry.json()["id"] == order["id"]
    completed = of_type(receiver(), "PAYMENT.CAPTURE.COMPLETED")
    assert [e["resource"]["id"] for e in completed] == [capture["id"]]


def test_one_step_charge_requires_request_id(paypal: PayPalClient) -> None:
    token = paypal.vault_token()
    body = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "5.00"}}],
        "payment_source": {"paypal": {"vault_id": token["id"]}},
    }
    response = paypal.post("/v2/checkout/orders", body)
    assert (response.status_code, issue_of(response)) == (400, "PAYPAL_REQUEST_ID_REQUIRED")


def test_one_step_charge_of_a_card_token(paypal: PayPalClient) -> None:
    token = paypal.vault_token(card="5555555555554444")
    assert token["payment_source"]["card"]["brand"] == "MASTERCARD"
    response = paypal.charge(token["id"], kind="card", prefer="representation")
    assert response.status_code == 201
    order = response.json()
    assert order["payment_source"]["card"]["last_digits"] == "4444"
    assert order["purchase_units"][0]["payments"]["captures"][0]["status"] == "COMPLETED"
    mismatch = paypal.charge(token["id"], kind="paypal")
    assert issue_of(mismatch) == "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE"
    with_cvv = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "5.00"}}],
        "payment_source": {
            "card": {
                "vault_id": token["id"],
                "security_code": "123",
                "stored_credential": {"payment_initiator": "MERCHANT", "payment_type": "RECURRING"},
            }
        },
    }
    cvv = paypal.post("/v2/checkout/orders", with_cvv, request_id="cvv-1")
    assert issue_of(cvv) == "MERCHANT_INITIATED_WITH_SECURITY_CODE"


@pytest.mark.parametrize(
    ("outcome", "card", "issue"),
    [
        ("decline", None, "INSTRUMENT_DECLINED"),
        ("expired", None, "CARD_EXPIRED"),
        ("processing_error", None, "TRANSACTION_REFUSED"),
        (None, "4000000000000002", "INSTRUMENT_DECLINED"),
        (None, "4000000000000069", "CARD_EXPIRED"),
    ],
)
def test_tokens_that_refuse_charges(
    paypal: PayPalClient, outcome: str | None, card: str | None, issue: str
) -> None:
    token = paypal.vault_token(outcome, card)
    response = paypal.charge(token["id"], kind="card" if card else "paypal")
    assert (response.status_code, issue_of(response)) == (422, issue)


def test_token_with_insufficient_funds_declines_the_capture(
    paypal: PayPalClient, receiver: Callable[[], list[dict[str, Any]]]
) -> None:
    token = paypal.vault_token(card="4000000000009995")
    order = paypal.charge(token["id"], kind="card").json()
    assert order["status"] == "COMPLETED"
    capture = order["purchase_units"][0]["payments"]["captures"][0]
    assert capture["status"] == "DECLINED"
    assert capture["processor_response"]["response_code"] == "5120"
    assert [e["resource"]["id"] for e in of_type(receiver(), "PAYMENT.CAPTURE.DENIED")] == [
        capture["id"]
    ]


def test_token_needing_the_payer_returns_payer_action(paypal: PayPalClient) -> None:
    token = paypal.vault_token("authentication_required")
    order = paypal.charge(token["id"]).json()
    assert order["status"] == "PAYER_ACTION_REQUIRED"
    paypal.approve(order["id"])
    captured = paypal.post(f"/v2/checkout/orders/{order['id']}/capture").json()
    assert captured["purchase_units"][0]["payments"]["captures"][0]["status"] == "COMPLETED"


def test_token_from_a_declining_approval_declines_later(paypal: PayPalClient) -> None:
    setup = paypal.post("/v3/vault/setup-tokens", _setup_body()).json()
    paypal.http.post(link_of(setup, "approve"), data={"action": "approve", "outcome": "decline"})
    body = {"payment_source": {"token": {"id": setup["id"], "type": "SETUP_TOKEN"}}}
    token = paypal.post("/v3/vault/payment-tokens", body).json()
    assert issue_of(paypal.charge(token["id"])) == "INSTRUMENT_DECLINED"
    unknown = paypal.charge("nosuchtk")
    assert issue_of(unknown) == "PAYMENT_SOURCE_CANNOT_BE_USED"
    deleted = paypal.vault_token()
    paypal.delete(f"/v3/vault/payment-tokens/{deleted['id']}")
    assert issue_of(paypal.charge(deleted["id"])) == "PAYMENT_SOURCE_CANNOT_BE_USED"


# ---------------------------------------------------------------------------------------------
# Control routes


def test_control_routes_reject_bad_input(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    control = paypal.sandbox.control
    assert control("POST", "/paypal/checkout/NOPE/complete").status_code == 404
    assert control("POST", "/paypal/checkout/NOPE/cancel").status_code == 404
    bad = control("POST", f"/paypal/checkout/{order['id']}/complete", json={"outcome": "maybe"})
    assert bad.status_code == 400
    by_card = control(
        "POST", f"/paypal/checkout/{order['id']}/complete", json={"card": "4000000000000002"}
    )
    assert by_card.json()["status"] == "APPROVED"
    assert (
        issue_of(paypal.post(f"/v2/checkout/orders/{order['id']}/capture")) == "INSTRUMENT_DECLINED"
    )
    assert control("POST", "/paypal/payment-tokens", json={"card": "12"}).status_code == 400
    assert (
        control("POST", "/paypal/captures/NOPE/settle", json={"status": "COMPLETED"}).status_code
        == 404
    )


def test_more_bad_inputs_and_replays(paypal: PayPalClient) -> None:
    capture = paypal.paid_capture()
    assert paypal.get(f"/v2/payments/captures/{capture['id']}").status_code == 200
    assert paypal.get("/v2/payments/captures/NOPE0000000000000").status_code == 404
    order = paypal.create_order()
    paypal.approve(order["id"])
    headers = {**paypal.headers(), "Content-Type": "application/json"}
    broken = paypal.http.post(
        f"/v2/checkout/orders/{order['id']}/capture", content=b"{oops", headers=headers
    )
    assert (broken.status_code, issue_of(broken)) == (400, "MALFORMED_REQUEST_JSON")
    refund_broken = paypal.http.post(
        f"/v2/payments/captures/{capture['id']}/refund", content=b"[", headers=headers
    )
    assert (refund_broken.status_code, issue_of(refund_broken)) == (400, "INVALID_PARAMETER_SYNTAX")
    first = paypal.post("/v3/vault/setup-tokens", _setup_body(), request_id="setup-replay")
    again = paypal.post("/v3/vault/setup-tokens", _setup_body(), request_id="setup-replay")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    for body in (
        {},
        {"payment_source": {"token": {"id": first.json()["id"], "type": "BILLING_AGREEMENT"}}},
        {"payment_source": {"card": {"number": "4111111111111111"}}},
        {"payment_source": {"token": {"type": "SETUP_TOKEN"}}},
    ):
        response = paypal.post("/v3/vault/payment-tokens", body)
        assert response.status_code == 400, body
    long_id = paypal.post("/v2/checkout/orders", order_body(), request_id="x" * 109)
    assert (long_id.status_code, issue_of(long_id)) == (400, "INVALID_STRING_LENGTH")


def test_patch_updates_an_unpaid_order(paypal: PayPalClient) -> None:
    order = paypal.create_order(invoice_id="INV-4001")
    path = f"/v2/checkout/orders/{order['id']}"
    unit = "/purchase_units/@reference_id=='INV-REF'"
    patch = [
        {
            "op": "replace",
            "path": f"{unit}/amount",
            "value": {"currency_code": "USD", "value": "12.50"},
        },
        {"op": "replace", "path": f"{unit}/invoice_id", "value": "INV-4002"},
        {"op": "add", "path": f"{unit}/soft_descriptor", "value": "PAYWIRE"},
        {"op": "remove", "path": f"{unit}/custom_id"},
    ]
    response = paypal.http.patch(path, json=patch, headers=paypal.headers())
    assert response.status_code == 204
    assert response.content == b""
    patched = paypal.get(path).json()["purchase_units"][0]
    assert patched["amount"]["value"] == "12.50"
    assert patched["invoice_id"] == "INV-4002"
    assert patched["soft_descriptor"] == "PAYWIRE"
    assert "custom_id" not in patched


@pytest.mark.parametrize(
    ("entry", "status", "issue"),
    [
        ({"op": "replace", "path": "/intent", "value": "AUTHORIZE"}, 422, "NOT_PATCHABLE"),
        (
            {"op": "replace", "path": "purchase_units", "value": "x"},
            422,
            "INVALID_JSON_POINTER_FORMAT",
        ),
        ({"op": "replace", "value": "x"}, 422, "PATCH_PATH_REQUIRED"),
        (
            {"op": "replace", "path": "/purchase_units/@reference_id=='INV-REF'/description"},
            422,
            "PATCH_VALUE_REQUIRED",
        ),
        (
            {
                "op": "replace",
                "path": "/purchase_units/@reference_id=='nope'/description",
                "value": "x",
            },
            422,
            "REFERENCE_ID_NOT_FOUND",
        ),
        (
            {
                "op": "add",
                "path": "/purchase_units/@reference_id=='INV-REF'/description",
                "value": "x",
            },
            400,
            "INVALID_PATCH_OPERATION",
        ),
        (
            {
                "op": "move",
                "path": "/purchase_units/@reference_id=='INV-REF'/description",
                "value": "x",
            },
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            {
                "op": "replace",
                "path": "/purchase_units/@reference_id=='INV-REF'/amount",
                "value": {"currency_code": "JPY", "value": "1.5"},
            },
            422,
            "DECIMAL_PRECISION",
        ),
    ],
)
def test_bad_patches(paypal: PayPalClient, entry: dict[str, Any], status: int, issue: str) -> None:
    order = paypal.create_order()
    response = paypal.http.patch(
        f"/v2/checkout/orders/{order['id']}", json=[entry], headers=paypal.headers()
    )
    assert (response.status_code, issue_of(response)) == (status, issue)


def test_patch_after_approval_and_completion(paypal: PayPalClient) -> None:
    order = paypal.create_order()
    path = f"/v2/checkout/orders/{order['id']}"
    amount = "/purchase_units/@reference_id=='INV-REF'/amount"
    paypal.approve(order["id"])
    changed = [
        {"op": "replace", "path": amount, "value": {"currency_code": "USD", "value": "99.00"}}
    ]
    refused = paypal.http.patch(path, json=changed, headers=paypal.headers())
    assert (refused.status_code, issue_of(refused)) == (422, "AMOUNT_CHANGE_NOT_ALLOWED")
    paypal.post(f"{path}/capture")
    done = paypal.http.patch(path, json=changed, headers=paypal.headers())
    assert (done.status_code, issue_of(done)) == (422, "ORDER_ALREADY_COMPLETED")
    garbage = paypal.http.patch(path, content=b"{}", headers=paypal.headers())
    assert (garbage.status_code, issue_of(garbage)) == (400, "MALFORMED_REQUEST_JSON")
