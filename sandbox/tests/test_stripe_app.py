"""The Stripe fake over raw HTTP, in-process: one Starlette app, a fixed clock, a list sink.

These tests pin down the wire details the SDK hides (headers, error bodies, form encoding,
idempotency bookkeeping, hosted pages); ``test_stripe_sdk.py`` drives the same fake with the
official SDK through a served sandbox.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount

with warnings.catch_warnings():
    # Starlette 1.x prefers the ``httpx2`` package for its TestClient and warns when it finds
    # only httpx (an error under -W error); httpx is what this workspace ships, and works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from paywire_sandbox import SandboxContext, WebhookEndpoint
from paywire_sandbox.stripe import StripeFake
from paywire_sandbox.stripe import _account as stripe_account
from paywire_sandbox.stripe import _fake as stripe_fake
from paywire_sandbox.stripe._api import ROUTES

KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
AUTH = {"Authorization": f"Bearer {KEY}"}
START = 1_800_000_000.0  # 2027-01-15


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.value = START

    def now(self) -> float:
        return self.value


class ListSink:
    """Collects emitted events; one endpoint is registered so pending_webhooks is 1."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, bytes]] = []
        self.endpoint = WebhookEndpoint("we_1", "stripe", "http://127.0.0.1:9/hook", "whsec_x")

    def emit(self, provider: str, event_id: str, event_type: str, body: bytes) -> None:
        self.events.append((provider, event_id, event_type, body))

    def endpoints(self, provider: str) -> Sequence[WebhookEndpoint]:
        return [self.endpoint] if provider == "stripe" else []

    def types(self) -> list[str]:
        return [event_type for _, _, event_type, _ in self.events]

    def objects(self, event_type: str) -> list[dict[str, Any]]:
        return [
            json.loads(body)["data"]["object"]
            for _, _, kind, body in self.events
            if kind == event_type
        ]


class Harness:
    """The fake mounted as the framework mounts it, with a TestClient."""

    def __init__(self) -> None:
        self.clock = FixedClock()
        self.sink = ListSink()
        self.fake = StripeFake(SandboxContext(clock=self.clock, webhooks=self.sink))
        app = Starlette(
            routes=[
                Mount("/stripe", routes=list(self.fake.routes())),
                Mount("/_sandbox/stripe", routes=list(self.fake.control_routes())),
            ]
        )
        self.client = TestClient(app, base_url="http://testserver", follow_redirects=False)

    def post(self, path: str, data: Any = None, headers: dict[str, str] | None = None) -> Any:
        body = urlencode(data or [])
        return self.client.post(
            "/stripe/v1/" + path,
            content=body,
            headers={
                **AUTH,
                "Content-Type": "application/x-www-form-urlencoded",
                **(headers or {}),
            },
        )

    def get(self, path: str, params: Any = None) -> Any:
        return self.client.get("/stripe/v1/" + path, params=params, headers=AUTH)

    def ok(self, response: Any) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def control(self, path: str, body: Any = None) -> Any:
        return self.client.post("/_sandbox/stripe/" + path, json=body or {})


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    with harness.client:
        yield harness


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def _payment_session(h: Harness, **extra: Any) -> dict[str, Any]:
    data = {
        "mode": "payment",
        "success_url": "https://shop.example/ok?cs={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cancel",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1500",
        "line_items[0][price_data][product_data][name]": "Invoice INV-1",
        "line_items[0][quantity]": "2",
        "client_reference_id": "INV-1",
        "metadata[invoice]": "INV-1",
        "payment_intent_data[metadata][invoice]": "INV-1",
        **extra,
    }
    return h.ok(h.post("checkout/sessions", data))


# ---------------------------------------------------------------------- transport


def test_missing_key_is_401_with_stripe_message(h: Harness) -> None:
    response = h.client.get("/stripe/v1/customers/cus_x")
    assert response.status_code == 401
    error = _error(response)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")
    assert response.headers["request-id"].startswith("req_")


@pytest.mark.parametrize(
    "key", ["sk_" + "live_51H8abcdefghijklmnopqrstuvwxyz", "rk_test_secretsecretsecret", "nonsense"]
)
def test_invalid_key_is_401_and_never_echoed(h: Harness, key: str) -> None:
    response = h.client.get("/stripe/v1/events", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401
    message = _error(response)["message"]
    assert message.startswith("Invalid API Key provided: ")
    assert key not in response.text
    assert "*" in message


def test_basic_auth_with_secret_key_is_accepted(h: Harness) -> None:
    token = base64.b64encode(f"{KEY}:".encode()).decode()
    response = h.client.get("/stripe/v1/events", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 200
    assert response.json()["object"] == "list"


def test_response_headers(h: Harness) -> None:
    response = h.get("events")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["stripe-version"] == "2026-10-28.endive"
    # Pinning the version the fake speaks is answered in it (another one is refused: below).
    pinned = h.client.get(
        "/stripe/v1/events", headers={**AUTH, "Stripe-Version": "2026-10-28.endive"}
    )
    assert pinned.status_code == 200
    assert pinned.headers["stripe-version"] == "2026-10-28.endive"
    assert pinned.headers["request-id"] != response.headers["request-id"]


def test_unknown_url_is_stripe_404(h: Harness) -> None:
    response = h.post("widgets")
    assert response.status_code == 404
    assert _error(response)["message"].startswith("Unrecognized request URL (POST: /v1/widgets)")


def test_unknown_parameter_names_the_bracketed_param(h: Harness) -> None:
    response = h.post(
        "checkout/sessions",
        {"mode": "payment", "line_items[0][price_data][colour]": "red"},
    )
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "parameter_unknown"
    assert error["param"] == "line_items[0][price_data][colour]"
    assert error["message"] == "Received unknown parameter: line_items[0][price_data][colour]"


def test_invalid_integer_and_missing_param(h: Harness) -> None:
    bad = h.post("payment_intents", {"amount": "10.99", "currency": "usd"})
    assert bad.status_code == 400
    assert _error(bad)["code"] == "parameter_invalid_integer"
    assert _error(bad)["param"] == "amount"
    missing = h.post("payment_intents", {"currency": "usd"})
    assert _error(missing)["code"] == "parameter_missing"
    assert _error(missing)["param"] == "amount"


def test_unknown_id_is_resource_missing(h: Harness) -> None:
    response = h.get("payment_intents/pi_nope")
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "resource_missing"
    assert error["message"] == "No such payment_intent: 'pi_nope'"
    assert error["param"] == "intent"


def test_json_body_is_rejected_not_crashed(h: Harness) -> None:
    response = h.client.post("/stripe/v1/customers", json={"email": "a@b.example"}, headers=AUTH)
    assert response.status_code == 400
    assert _error(response)["type"] == "invalid_request_error"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        [
            "customers",
            "payment_intents",
            "refunds",
            "checkout/sessions",
            "payment_intents/x/confirm",
        ]
    ),
    pairs=st.lists(
        st.tuples(
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz_[]0123456789", min_size=1, max_size=30),
            st.text(max_size=20),
        ),
        max_size=6,
    ),
)
def test_garbage_forms_get_stripe_errors_never_500(
    h: Harness, path: str, pairs: list[tuple[str, str]]
) -> None:
    response = h.post(path, pairs)
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        error = _error(response)
        assert error["type"] in ("invalid_request_error", "card_error")
        assert isinstance(error["message"], str)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(
        [
            "events",
            "customers",
            "charges",
            "refunds",
            "disputes",
            "checkout/sessions",
            "payment_methods",
            "events/evt_x",
            "payment_intents/pi_x",
        ]
    ),
    pairs=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "limit",
                    "starting_after",
                    "ending_before",
                    "created",
                    "created[gte]",
                    "type",
                    "types[]",
                    "expand[]",
                    "expand[0]",
                    "customer",
                    "status",
                    "x[y]",
                ]
            ),
            st.text(max_size=12),
        ),
        max_size=5,
    ),
)
def test_garbage_queries_get_stripe_errors_never_500(
    h: Harness, path: str, pairs: list[tuple[str, str]]
) -> None:
    response = h.get(path, pairs)
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        assert _error(response)["type"] == "invalid_request_error"


# ---------------------------------------------------------------------- idempotency


def test_idempotent_replay_returns_first_response(h: Harness) -> None:
    data = {
        "amount": "2000",
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "confirm": "true",
    }
    first = h.post("payment_intents", data, {"Idempotency-Key": "k1"})
    again = h.post("payment_intents", data, {"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["original-request"] == first.headers["request-id"]
    assert len(h.fake.engine.payment_intents) == 1


def test_idempotent_replay_of_a_decline_keeps_the_402(h: Harness) -> None:
    data = {
        "amount": "2000",
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": "true",
    }
    first = h.post("payment_intents", data, {"Idempotency-Key": "k2"})
    again = h.post("payment_intents", data, {"Idempotency-Key": "k2"})
    assert first.status_code == again.status_code == 402
    assert again.content == first.content
    assert h.sink.types().count("charge.failed") == 1


def test_same_key_different_params_is_idempotency_error(h: Harness) -> None:
    h.ok(h.post("customers", {"email": "a@x.example"}, {"Idempotency-Key": "k3"}))
    response = h.post("customers", {"email": "b@x.example"}, {"Idempotency-Key": "k3"})
    assert response.status_code == 400
    assert _error(response)["type"] == "idempotency_error"
    other_endpoint = h.post(
        "payment_intents", {"amount": "100", "currency": "usd"}, {"Idempotency-Key": "k3"}
    )
    assert _error(other_endpoint)["type"] == "idempotency_error"


def test_validation_failures_are_not_saved_under_the_key(h: Harness) -> None:
    bad = h.post("customers", {"emial": "a@x.example"}, {"Idempotency-Key": "k4"})
    assert bad.status_code == 400
    fixed = h.post("customers", {"email": "a@x.example"}, {"Idempotency-Key": "k4"})
    assert fixed.status_code == 200
    assert "idempotent-replayed" not in fixed.headers


def test_idempotency_keys_expire_after_24_hours(h: Harness) -> None:
    h.ok(h.post("customers", {"email": "a@x.example"}, {"Idempotency-Key": "k5"}))
    h.clock.value += 24 * 3600 + 1
    fresh = h.post("customers", {"email": "other@x.example"}, {"Idempotency-Key": "k5"})
    assert fresh.status_code == 200
    assert fresh.json()["email"] == "other@x.example"


def test_sandbox_bug_is_a_replayable_500_not_a_decline(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(engine: Any, call: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setitem(ROUTES, ("POST", "customers"), broken)
    first = h.post("customers", {"email": "a@x.example"}, {"Idempotency-Key": "bug-1"})
    assert first.status_code == 500
    error = _error(first)
    assert error["type"] == "api_error"
    assert "sandbox internal error" in error["message"]
    assert "decline_code" not in error
    again = h.post("customers", {"email": "a@x.example"}, {"Idempotency-Key": "bug-1"})
    assert (again.status_code, again.content) == (500, first.content)
    assert again.headers["idempotent-replayed"] == "true"


def test_customer_with_refused_card_is_not_created(h: Harness) -> None:
    response = h.post(
        "customers", {"email": "z@x.example", "payment_method": "pm_card_chargeDeclined"}
    )
    assert response.status_code == 402
    assert "customer.created" not in h.sink.types()
    ok = h.ok(h.post("customers", {"payment_method": "pm_card_visa"}))
    listed = h.ok(h.get(f"customers/{ok['id']}/payment_methods"))
    assert len(listed["data"]) == 1


# ---------------------------------------------------------------------- resources over the wire


def test_pm_card_ids_make_fresh_payment_methods(h: Harness) -> None:
    one = h.ok(
        h.post(
            "payment_intents",
            {
                "amount": "500",
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": "true",
            },
        )
    )
    two = h.ok(
        h.post(
            "payment_intents",
            {
                "amount": "500",
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": "true",
            },
        )
    )
    assert one["payment_method"] != two["payment_method"]
    assert one["status"] == two["status"] == "succeeded"


def test_decline_body_carries_payment_intent_and_charge(h: Harness) -> None:
    response = h.post(
        "payment_intents",
        {
            "amount": "700",
            "currency": "eur",
            "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
            "confirm": "true",
        },
    )
    assert response.status_code == 402
    error = _error(response)
    assert error["type"] == "card_error"
    assert error["code"] == "card_declined"
    assert error["decline_code"] == "insufficient_funds"
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/card-declined"
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert error["payment_intent"]["last_payment_error"]["decline_code"] == "insufficient_funds"
    charge = h.ok(h.get(f"charges/{error['charge']}"))
    assert charge["status"] == "failed"
    assert charge["failure_code"] == "card_declined"
    assert h.sink.types()[-2:] == ["charge.failed", "payment_intent.payment_failed"]


def test_responses_match_the_stored_objects(h: Harness) -> None:
    created = h.post(
        "payment_intents",
        {"amount": "900", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true"},
    )
    fetched = h.get(f"payment_intents/{created.json()['id']}")
    assert created.content == fetched.content
    customer = h.post("customers", {"email": "m@x.example", "metadata[a]": "1"})
    updated = h.post(f"customers/{customer.json()['id']}", {"metadata[a]": "2"})
    assert updated.json()["metadata"] == {"a": "2"}
    assert h.get(f"customers/{customer.json()['id']}").content == updated.content


def test_expand_replaces_ids_with_objects(h: Harness) -> None:
    pi = h.ok(
        h.post(
            "payment_intents",
            {
                "amount": "500",
                "currency": "usd",
                "payment_method": "pm_card_visa",
                "confirm": "true",
                "expand[]": "latest_charge",
            },
        )
    )
    assert pi["latest_charge"]["object"] == "charge"
    got = h.ok(h.get(f"payment_intents/{pi['id']}", {"expand[0]": "payment_method"}))
    assert got["payment_method"]["card"]["last4"] == "4242"
    assert isinstance(got["latest_charge"], str)
    bad = h.get(f"payment_intents/{pi['id']}", {"expand[0]": "amount"})
    assert bad.status_code == 400


def test_events_are_served_as_delivered(h: Harness) -> None:
    h.ok(h.post("customers", {"email": "e@x.example"}))
    provider, event_id, event_type, body = h.sink.events[-1]
    assert (provider, event_type) == ("stripe", "customer.created")
    response = h.get(f"events/{event_id}")
    assert response.content == body
    event = response.json()
    assert event["object"] == "event"
    assert event["pending_webhooks"] == 1
    assert event["request"]["id"].startswith("req_")
    listed = h.ok(h.get("events", {"type": "customer.*"}))
    assert [e["id"] for e in listed["data"]] == [event_id]


def test_event_list_pagination(h: Harness) -> None:
    for i in range(5):
        h.ok(h.post("customers", {"email": f"c{i}@x.example"}))
    page1 = h.ok(h.get("events", {"limit": "2"}))
    assert page1["has_more"] is True
    page2 = h.ok(h.get("events", {"limit": "2", "starting_after": page1["data"][-1]["id"]}))
    page3 = h.ok(h.get("events", {"limit": "2", "starting_after": page2["data"][-1]["id"]}))
    emails = [e["data"]["object"]["email"] for p in (page1, page2, page3) for e in p["data"]]
    assert emails == [f"c{i}@x.example" for i in (4, 3, 2, 1, 0)]
    assert page3["has_more"] is False


def test_event_and_idempotency_stores_are_bounded(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe_account, "MAX_EVENTS", 3)
    monkeypatch.setattr(stripe_fake, "MAX_IDEMPOTENCY_KEYS", 2)
    ids = [
        h.ok(h.post("customers", {"email": f"b{i}@x.example"}, {"Idempotency-Key": f"b{i}"}))["id"]
        for i in range(5)
    ]
    listed = h.ok(h.get("events", {"limit": "10"}))
    assert [e["data"]["object"]["email"] for e in listed["data"]] == [
        "b4@x.example",
        "b3@x.example",
        "b2@x.example",
    ]
    oldest = h.sink.events[0][1]
    assert h.get(f"events/{oldest}").status_code == 404
    # b0's saved result was dropped: the key now runs a new request (a new customer).
    again = h.ok(h.post("customers", {"email": "b0@x.example"}, {"Idempotency-Key": "b0"}))
    assert again["id"] not in ids
    replay = h.post("customers", {"email": "b4@x.example"}, {"Idempotency-Key": "b4"})
    assert replay.headers["idempotent-replayed"] == "true"


# ---------------------------------------------------------------------- hosted checkout


def test_session_url_and_success_redirect_template(h: Harness) -> None:
    session = _payment_session(h)
    assert session["url"] == f"http://testserver/stripe/checkout/pay/{session['id']}"
    assert session["amount_total"] == 3000
    assert session["payment_intent"] is None
    page = h.client.get(session["url"])
    assert page.status_code == 200
    for element in (
        'id="card-number"',
        'id="card-expiry"',
        'id="card-cvc"',
        'id="pay"',
        'id="cancel"',
    ):
        assert element in page.text
    paid = h.client.post(
        session["url"],
        data={
            "card_number": "4242 4242 4242 4242",
            "card_expiry": "12/34",
            "card_cvc": "123",
            "email": "buyer@x.example",
        },
    )
    assert paid.status_code == 303
    assert paid.headers["location"] == f"https://shop.example/ok?cs={session['id']}"
    done = h.ok(h.get(f"checkout/sessions/{session['id']}"))
    assert done["status"] == "complete"
    assert done["payment_status"] == "paid"
    assert done["customer_details"]["email"] == "buyer@x.example"
    pi = h.ok(h.get(f"payment_intents/{done['payment_intent']}"))
    assert pi["metadata"] == {"invoice": "INV-1"}
    assert pi["amount"] == 3000
    assert h.sink.types()[-3:] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]


def test_declined_card_rerenders_the_form(h: Harness) -> None:
    session = _payment_session(h)
    response = h.client.post(
        session["url"],
        data={"card_number": "4000000000000002", "card_expiry": "12/34", "card_cvc": "123"},
    )
    assert response.status_code == 402
    assert "Your card was declined." in response.text
    assert 'id="card-number"' in response.text
    assert h.ok(h.get(f"checkout/sessions/{session['id']}"))["status"] == "open"


@pytest.mark.parametrize(
    ("number", "expiry", "cvc", "message"),
    [
        ("4242424242424241", "12/34", "123", "Your card number is invalid."),
        ("4242424242424242", "13/34", "123", "Your card's expiration month is invalid."),
        ("4242424242424242", "01/20", "123", "Your card's expiration date is in the past."),
        ("378282246310005", "12/34", "123", "Your card's security code is invalid."),
    ],
)
def test_card_form_validation(h: Harness, number: str, expiry: str, cvc: str, message: str) -> None:
    session = _payment_session(h)
    response = h.client.post(
        session["url"], data={"card_number": number, "card_expiry": expiry, "card_cvc": cvc}
    )
    assert message.replace("'", "&#x27;") in response.text
    assert h.fake.engine.sessions[session["id"]].obj["payment_intent"] is None


def test_three_ds_challenge_on_the_page(h: Harness) -> None:
    session = _payment_session(h)
    response = h.client.post(
        session["url"],
        data={"card_number": "4000002760003184", "card_expiry": "12/34", "card_cvc": "123"},
    )
    assert response.status_code == 303
    challenge_url = response.headers["location"]
    page = h.client.get(challenge_url)
    assert 'id="authorize-3ds"' in page.text
    assert "payment_intent.requires_action" in h.sink.types()
    done = h.client.post(challenge_url, data={"result": "complete"})
    assert done.status_code == 303
    assert done.headers["location"].startswith("https://shop.example/ok")
    charge = h.sink.objects("charge.succeeded")[-1]
    assert charge["payment_method_details"]["card"]["three_d_secure"]["result"] == "authenticated"


def test_cancel_button_redirects_and_keeps_session_open(h: Harness) -> None:
    session = _payment_session(h)
    response = h.client.post(f"{session['url']}/cancel")
    assert response.status_code == 303
    assert response.headers["location"] == "https://shop.example/cancel"
    assert h.ok(h.get(f"checkout/sessions/{session['id']}"))["status"] == "open"


def test_control_complete_with_outcomes(h: Harness) -> None:
    session = _payment_session(h)
    declined = h.control(f"checkout/{session['id']}/complete", {"outcome": "insufficient_funds"})
    assert declined.status_code == 200
    assert declined.json()["status"] == "open"
    assert declined.json()["error"]["decline_code"] == "insufficient_funds"
    ok = h.control(f"checkout/{session['id']}/complete", {"outcome": "success"}).json()
    assert ok["status"] == "complete"
    assert ok["redirect_url"] == f"https://shop.example/ok?cs={session['id']}"
    # The failed attempt and the success share one PaymentIntent, as in Checkout.
    assert ok["payment_intent"] == declined.json()["payment_intent"]
    again = h.control(f"checkout/{session['id']}/complete", {"outcome": "success"})
    assert again.status_code == 400


def test_control_authentication_required_outcome_fails_3ds(h: Harness) -> None:
    session = _payment_session(h)
    result = h.control(
        f"checkout/{session['id']}/complete", {"outcome": "authentication_required"}
    ).json()
    assert result["status"] == "open"
    assert result["error"]["code"] == "payment_intent_authentication_failure"
    pi = h.ok(h.get(f"payment_intents/{result['payment_intent']}"))
    assert pi["status"] == "requires_payment_method"
    assert "payment_intent.requires_action" in h.sink.types()
    assert h.sink.types()[-1] == "payment_intent.payment_failed"


def test_control_bad_bodies(h: Harness) -> None:
    session = _payment_session(h)
    assert h.control(f"checkout/{session['id']}/complete", {}).status_code == 400
    assert h.control(f"checkout/{session['id']}/complete", {"outcome": "maybe"}).status_code == 400
    assert h.control("checkout/cs_test_nope/complete", {"outcome": "success"}).status_code == 404
    raw = h.client.post(f"/_sandbox/stripe/checkout/{session['id']}/complete", content=b"[1,")
    assert raw.status_code == 400


def test_session_expires_by_clock_when_observed(h: Harness) -> None:
    session = _payment_session(h, expires_at=str(int(START) + 1800))
    h.clock.value += 1801
    assert "checkout.session.expired" not in h.sink.types()
    got = h.ok(h.get(f"checkout/sessions/{session['id']}"))
    assert got["status"] == "expired"
    assert got["url"] is None
    assert h.sink.types().count("checkout.session.expired") == 1
    assert h.client.get(session["url"]).status_code == 410


def test_expire_due_control_route(h: Harness) -> None:
    session = _payment_session(h, expires_at=str(int(START) + 3600))
    assert h.control("expire_due").json() == {"expired": []}
    h.clock.value += 3600
    assert h.control("expire_due").json() == {"expired": [session["id"]]}


def test_save_card_control_route(h: Harness) -> None:
    customer = h.ok(h.post("customers", {"email": "s@x.example"}))
    pm = h.control(f"customers/{customer['id']}/payment_methods", {"card": "5555555555554444"})
    assert pm.status_code == 200
    assert pm.json()["customer"] == customer["id"]
    assert pm.json()["card"]["brand"] == "mastercard"
    declined = h.control(
        f"customers/{customer['id']}/payment_methods", {"card": "4000000000000002"}
    )
    assert declined.status_code == 402
    assert declined.json()["error"]["code"] == "card_declined"
    listed = h.ok(h.get(f"customers/{customer['id']}/payment_methods"))
    assert [p["id"] for p in listed["data"]] == [pm.json()["id"]]


def test_webhook_signature_matches_independent_hmac(h: Harness) -> None:
    import hashlib
    import hmac

    body = b'{"id": "evt_1"}'
    headers = h.fake.sign_webhook(body, h.sink.endpoint, 1_700_000_000)
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers == {"Stripe-Signature": f"t=1700000000,v1={expected}"}


def test_reset_forgets_everything(h: Harness) -> None:
    customer = h.ok(h.post("customers", {"email": "r@x.example"}, {"Idempotency-Key": "r1"}))
    h.fake.reset()
    assert h.get(f"customers/{customer['id']}").status_code == 404
    again = h.ok(h.post("customers", {"email": "r@x.example"}, {"Idempotency-Key": "r1"}))
    assert again["id"] != customer["id"]


def _setup_session(h: Harness, customer: str) -> dict[str, Any]:
    data = {
        "mode": "setup",
        "currency": "usd",
        "customer": customer,
        "success_url": "https://shop.example/saved",
        "expires_at": str(int(START) + 7200),
    }
    return h.ok(h.post("checkout/sessions", data))


def test_setup_mode_page_with_3ds_then_expiry_of_another(h: Harness) -> None:
    customer = h.ok(h.post("customers", {"email": "p@x.example"}))["id"]
    session = _setup_session(h, customer)
    page = h.client.get(session["url"])
    assert "Save card" in page.text
    assert 'value="p@x.example"' in page.text
    challenge = h.client.post(
        session["url"],
        data={"card_number": "4000002760003184", "card_expiry": "12/34", "card_cvc": "123"},
    )
    assert challenge.status_code == 303
    assert "for future payments" in h.client.get(challenge.headers["location"]).text
    assert "setup_intent.requires_action" in h.sink.types()
    failed = h.client.post(challenge.headers["location"], data={"result": "fail"})
    assert failed.status_code == 303
    assert failed.headers["location"] == session["url"]
    retry_page = h.client.get(session["url"])
    assert "unable to authenticate" in retry_page.text
    seti = h.ok(h.get(f"setup_intents/{session['setup_intent']}"))
    assert seti["status"] == "requires_payment_method"
    assert seti["last_setup_error"]["code"] == "payment_intent_authentication_failure"
    # Another setup session left open expires with its SetupIntent.
    other = _setup_session(h, customer)
    h.clock.value += 7200
    assert h.ok(h.get(f"checkout/sessions/{other['id']}"))["status"] == "expired"
    assert h.ok(h.get(f"setup_intents/{other['setup_intent']}"))["status"] == "canceled"
    assert "setup_intent.canceled" in h.sink.types()


def test_customer_default_payment_method(h: Harness) -> None:
    customer = h.ok(h.post("customers", {"email": "d@x.example"}))["id"]
    pm = h.ok(h.post("payment_methods/pm_card_visa/attach", {"customer": customer}))["id"]
    updated = h.ok(
        h.post(f"customers/{customer}", {"invoice_settings[default_payment_method]": pm})
    )
    assert updated["invoice_settings"]["default_payment_method"] == pm
    event = json.loads(h.sink.events[-1][3])
    assert event["type"] == "customer.updated"
    assert event["data"]["previous_attributes"] == {
        "invoice_settings": {"default_payment_method": None}
    }
    stranger = h.ok(h.post("payment_methods/pm_card_visa/attach", {"customer": customer}))["id"]
    h.ok(h.post(f"payment_methods/{stranger}/detach"))
    refused = h.post(
        f"customers/{customer}", {"invoice_settings[default_payment_method]": stranger}
    )
    assert refused.status_code == 400
    h.ok(h.post(f"payment_methods/{pm}/detach"))
    after = h.ok(h.get(f"customers/{customer}"))
    assert after["invoice_settings"]["default_payment_method"] is None


def test_expand_through_lists_and_limits(h: Harness) -> None:
    customer = h.ok(h.post("customers", {"email": "x@x.example"}))["id"]
    h.ok(h.post("payment_methods/pm_card_visa/attach", {"customer": customer}))
    listed = h.ok(h.get(f"customers/{customer}/payment_methods", {"expand[0]": "data.customer"}))
    assert listed["data"][0]["customer"]["email"] == "x@x.example"
    too_deep = h.get(f"customers/{customer}", {"expand[0]": "a.b.c.d.e"})
    assert too_deep.status_code == 400
    assert _error(too_deep)["param"] == "expand"


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("banana", "Invalid Stripe API version: banana"),
        ("2020-08-27", "answers in Stripe API version"),
    ],
)
def test_a_stripe_version_the_fake_does_not_speak_is_refused(
    h: Harness, version: str, message: str
) -> None:
    """Stripe refuses a malformed Stripe-Version; another real version would be answered in that
    version's shapes, which the fake does not have — so it refuses instead of answering wrong."""
    answer = h.client.get("/stripe/v1/customers", headers={**AUTH, "Stripe-Version": version})
    assert answer.status_code == 400
    assert _error(answer)["type"] == "invalid_request_error"
    assert message in _error(answer)["message"]
    assert h.get("customers").status_code == 200  # no version: the fake's own
