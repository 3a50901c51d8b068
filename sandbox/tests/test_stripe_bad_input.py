"""Bad input never makes the Stripe fake answer 5xx: every route family gets Stripe's own 4xx.

One property test per route family of the API (customers, payment methods, payment intents,
setup intents, charges, refunds, disputes, checkout sessions, events), one for the hosted pages
and one for the fake's control routes. Each generates arbitrary form or JSON input — bracketed
keys nested at any depth, hashes where strings belong, oversized and non-ASCII values, too many
fields — and asserts the answer is below 500 and, for an error, shaped as Stripe shapes it. The
``@example`` cases are the minimal inputs that once produced ``sandbox internal error``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # see test_stripe_app: TestClient's httpx2 preference
    from starlette.testclient import TestClient

from paywire_sandbox import build_app
from paywire_sandbox.stripe import StripeFake
from paywire_sandbox.stripe._api import ROUTES

KEY = "sk_test_badinput0000000000000"
AUTH = {"Authorization": f"Bearer {KEY}"}
FORM = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}

#: Every API route, by family, with ``{…}`` placeholders for ids made in :class:`World`.
FAMILIES: dict[str, list[tuple[str, str]]] = {
    "customers": [
        ("GET", "customers"),
        ("POST", "customers"),
        ("GET", "customers/{cus}"),
        ("POST", "customers/{cus}"),
        ("GET", "customers/{cus}/payment_methods"),
        ("GET", "customers/{cus}/payment_methods/{pm}"),
    ],
    "payment_methods": [
        ("GET", "payment_methods"),
        ("GET", "payment_methods/{pm}"),
        ("POST", "payment_methods/{pm}/attach"),
        ("POST", "payment_methods/{pm}/detach"),
    ],
    "payment_intents": [
        ("GET", "payment_intents"),
        ("POST", "payment_intents"),
        ("GET", "payment_intents/{pi}"),
        ("POST", "payment_intents/{pi}"),
        ("POST", "payment_intents/{pi}/confirm"),
        ("POST", "payment_intents/{pi}/cancel"),
    ],
    "setup_intents": [("GET", "setup_intents/{seti}")],
    "charges": [("GET", "charges"), ("GET", "charges/{ch}")],
    "refunds": [
        ("GET", "refunds"),
        ("POST", "refunds"),
        ("GET", "refunds/{re}"),
        ("POST", "refunds/{re}"),
    ],
    "disputes": [
        ("GET", "disputes"),
        ("GET", "disputes/{dp}"),
        ("POST", "disputes/{dp}"),
        ("POST", "disputes/{dp}/close"),
    ],
    "checkout_sessions": [
        ("GET", "checkout/sessions"),
        ("POST", "checkout/sessions"),
        ("GET", "checkout/sessions/{cs}"),
        ("POST", "checkout/sessions/{cs}/expire"),
        ("GET", "checkout/sessions/{cs}/line_items"),
    ],
    "events": [("GET", "events"), ("GET", "events/{evt}")],
}

#: Parameter names the fake knows, so generated keys often reach real validators.
NAMES = [
    "amount", "currency", "customer", "payment_method", "payment_intent", "charge", "confirm",
    "off_session", "metadata", "expand", "line_items", "price_data", "product_data", "name",
    "unit_amount", "quantity", "mode", "success_url", "cancel_url", "email", "limit",
    "starting_after", "ending_before", "created", "gte", "type", "types", "evidence", "submit",
    "reason", "allowed_payment_method_types", "invoice_settings", "automatic_payment_methods",
    "enabled", "return_url", "expires_at", "payment_intent_data", "setup_intent_data",
    "setup_future_usage", "receipt_email", "cancellation_reason", "client_secret", "x", "0", "",
]  # fmt: skip

VALUES = [
    "", "true", "false", "usd", "jpy", "pm_card_visa", "pm_card_chargeDeclined", "1000", "-1",
    "0", "10.5", "https://shop.example/ok", "a@b.example", "payment", "setup", "card",
    "4242424242424242", "٣", "\x00", "9" * 30,
]  # fmt: skip


class World:
    """The Stripe fake as the framework mounts it (guard included), and one of each object."""

    def __init__(self) -> None:
        app = build_app([StripeFake])
        self.client = TestClient(app, base_url="http://testserver", follow_redirects=False)
        self.ids: dict[str, str] = {}

    def seed(self) -> None:
        """Create a customer, a saved card, a disputed payment, a refund and sessions."""
        cus = self.ok("POST", "customers", {"email": "w@example.com"})["id"]
        pm = self.ok("POST", "payment_methods/pm_card_visa/attach", {"customer": cus})["id"]
        pays = {"amount": "2000", "currency": "usd", "confirm": "true"}
        self.ok("POST", "payment_intents", {**pays, "payment_method": "pm_card_createDispute"})
        pi = self.ok("POST", "payment_intents", {**pays, "payment_method": "pm_card_visa"})
        refund = self.ok("POST", "refunds", {"payment_intent": pi["id"], "amount": "100"})
        session = self.ok("POST", "checkout/sessions", _session_form())
        setup = self.ok(
            "POST",
            "checkout/sessions",
            {"mode": "setup", "currency": "usd", "success_url": "https://shop.example/ok"},
        )
        disputes = self.ok("GET", "disputes", {})["data"]
        events = self.ok("GET", "events", {})["data"]
        self.ids = {
            "cus": cus,
            "pm": pm,
            "pi": pi["id"],
            "ch": pi["latest_charge"],
            "re": refund["id"],
            "cs": session["id"],
            "seti": setup["setup_intent"],
            "dp": disputes[0]["id"],
            "evt": events[0]["id"],
        }

    def request(self, method: str, path: str, body: bytes | str) -> Any:
        url = "/stripe/v1/" + path
        if method == "POST":
            return self.client.post(url, content=body, headers=FORM)
        query = quote(body, safe="=&[]%+") if isinstance(body, bytes) else body
        return self.client.request(method, f"{url}?{query}" if query else url, headers=AUTH)

    def ok(self, method: str, path: str, data: dict[str, str]) -> dict[str, Any]:
        response = self.request(method, path, urlencode(data))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def _session_form() -> dict[str, str]:
    return {
        "mode": "payment",
        "success_url": "https://shop.example/ok",
        "cancel_url": "https://shop.example/cancel",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1500",
        "line_items[0][price_data][product_data][name]": "Invoice",
        "line_items[0][quantity]": "1",
    }


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    with w.client:
        w.seed()
        yield w


def assert_stripe_error_or_ok(response: Any) -> None:
    """Below 500; an error is Stripe's ``{"error": {type, message, code?, param?}}``."""
    assert response.status_code < 500, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if response.status_code == 200:
        return
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "sandbox internal error" not in error["message"]
    for field in ("code", "param", "decline_code", "doc_url"):
        assert field not in error or isinstance(error[field], str), error
    if response.status_code == 402:
        assert error["type"] == "card_error", error
    elif response.status_code == 400 and error["type"] != "idempotency_error":
        assert error["type"] == "invalid_request_error", error
    else:
        assert error["type"] == "invalid_request_error", error


# ---------------------------------------------------------------------- input strategies

segments = st.one_of(st.sampled_from(NAMES), st.integers(0, 150).map(str), st.text(max_size=6))
keys = st.builds(
    lambda head, segs, empty: head + "".join(f"[{s}]" for s in segs) + ("[]" if empty else ""),
    st.one_of(st.sampled_from(NAMES), st.text(max_size=8)),
    st.lists(segments, max_size=5),
    st.booleans(),
)
values = st.one_of(st.sampled_from(VALUES), st.text(max_size=40), st.integers().map(str))
forms = st.one_of(
    st.lists(st.tuples(keys, values), max_size=8).map(urlencode),
    st.binary(max_size=200),
    st.integers(10, 3000).map(
        lambda n: big(f"metadata[a]*{n}=1", lambda: "metadata" + "[a]" * n + "=1")
    ),
    st.integers(1, 6000).map(lambda n: big(f"limit=7*{n}", lambda: "limit=" + "7" * n)),
    st.integers(1001, 20_000).map(lambda n: big(f"{n} fields", lambda: "&".join(["f=1"] * n))),
    st.integers(1, 3_000_000).map(
        lambda n: big(f"metadata[k]=x*{n}", lambda: "metadata[k]=" + "x" * n)
    ),
)


class Big:
    """A generated body too big to print: built on demand, shown by its recipe."""

    def __init__(self, recipe: str, build: Any) -> None:
        self.recipe = recipe
        self.build = build

    def __repr__(self) -> str:
        return f"Big({self.recipe!r})"


def _materialise(body: str | bytes | Big) -> str | bytes:
    if isinstance(body, Big):
        built: str | bytes = body.build()
        return built
    return body


def big(recipe: str, build: Any) -> Big:
    """A lazily built body, described as ``recipe`` (``{n}`` filled in) in failure reports."""
    return Big(recipe, build)


def _junk_id(junk: str) -> str:
    """Generated text as one path segment (an id never holds a slash, which routing decodes)."""
    segment = quote(junk.replace("/", ""), safe="")
    return segment if segment.strip(".") else "x"  # the client collapses "." and ".."


def _fill(world: World, template: str, use_real: bool, junk: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return world.ids[match.group(1)] if use_real else _junk_id(junk)

    return re.sub(r"\{(\w+)\}", replace, template)


def test_every_api_route_is_in_a_family() -> None:
    covered = set()
    for routes in FAMILIES.values():
        for method, template in routes:
            parts = template.split("/")
            if parts[:2] == ["checkout", "sessions"]:
                parts = ["checkout/sessions", *parts[2:]]
            covered.add((method, *("*" if p.startswith("{") else p for p in parts)))
    assert covered == set(ROUTES)


api_settings = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_api_answers_arbitrary_input_with_stripe_errors_never_5xx(
    world: World, family: str
) -> None:
    routes = FAMILIES[family]

    @api_settings
    @given(
        route=st.sampled_from(routes),
        use_real=st.booleans(),
        junk=st.text(max_size=12),
        form=forms,
    )
    @example(
        route=routes[0],
        use_real=True,
        junk="",
        form=big("metadata[a]*2000=1", lambda: "metadata" + "[a]" * 2000 + "=1"),
    )
    @example(
        route=routes[-1],
        use_real=True,
        junk="",
        form=big("expand[]*1500=1", lambda: "expand" + "[]" * 1500 + "=1"),
    )
    @example(
        route=routes[0],
        use_real=True,
        junk="",
        form=big("limit=7*5000", lambda: "limit=" + "7" * 5000),
    )
    def check(route: tuple[str, str], use_real: bool, junk: str, form: str | bytes | Big) -> None:
        method, template = route
        body = _materialise(form)
        assume(method == "POST" or len(body) < 60_000)  # longer URLs never leave the client
        response = world.request(method, _fill(world, template, use_real, junk), body)
        assert_stripe_error_or_ok(response)

    check()


# ---------------------------------------------------------------------- hosted pages

PAGE_FIELDS = ["card_number", "card_expiry", "card_cvc", "email", "name", "result", "x"]
page_values = st.one_of(
    st.sampled_from(
        ["4242424242424242", "4000000000000002", "12/34", "1234", "123", "", "complete", "fail"]
    ),
    st.text(max_size=30),
)
page_forms = st.one_of(
    st.lists(st.tuples(st.sampled_from(PAGE_FIELDS), page_values), max_size=8).map(urlencode),
    st.binary(max_size=200),
    st.integers(1, 6000).map(lambda n: big(f"card_number=1*{n}", lambda: "card_number=" + "1" * n)),
    st.integers(1, 6000).map(
        lambda n: big(
            f"card_expiry=1*{n}/34",
            lambda: "card_number=4242424242424242&card_cvc=123&card_expiry=" + "1" * n + "/34",
        )
    ),
    st.integers(50, 20_000).map(
        lambda n: big(f"{n} fields", lambda: "&".join(f"card_number{i}=4" for i in range(n)))
    ),
    st.integers(1, 3_000_000).map(lambda n: big(f"name=x*{n}", lambda: "name=" + "x" * n)),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    page=st.sampled_from(["checkout", "cancel", "3ds"]),
    method=st.sampled_from(["GET", "POST"]),
    use_real=st.booleans(),
    junk=st.text(max_size=10),
    form=page_forms,
)
@example(page="checkout", method="POST", use_real=True, junk="", form="card_number=abcd")
@example(
    page="checkout",
    method="POST",
    use_real=True,
    junk="",
    form=big(
        "card_expiry=1*5000/34",
        lambda: "card_number=4242424242424242&card_cvc=123&card_expiry=" + "1" * 5000 + "/34",
    ),
)
@example(
    page="checkout",
    method="POST",
    use_real=True,
    junk="",
    form=big("20000 fields", lambda: "&".join(f"f{i}=1" for i in range(20_000))),
)
@example(
    page="checkout",
    method="POST",
    use_real=True,
    junk="",
    form=big("name=x*2000000", lambda: "name=" + "x" * 2_000_000),
)
def test_hosted_pages_never_5xx(
    world: World, page: str, method: str, use_real: bool, junk: str, form: str | bytes | Big
) -> None:
    session = world.ok("POST", "checkout/sessions", _session_form())
    if page == "3ds":
        pi = world.ok(
            "POST",
            "payment_intents",
            {
                "amount": "500",
                "currency": "usd",
                "payment_method": "pm_card_authenticationRequired",
                "confirm": "true",
                "return_url": "https://shop.example/back",
            },
        )
        target = pi["id"] if use_real else _junk_id(junk)
        url = f"/stripe/3ds/{target}"
    else:
        target = session["id"] if use_real else _junk_id(junk)
        url = f"/stripe/checkout/pay/{target}" + ("/cancel" if page == "cancel" else "")
    if method == "GET" and page == "cancel":
        method = "POST"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = world.client.request(method, url, content=_materialise(form), headers=headers)
    assert response.status_code < 500, response.text[:300]
    assert response.status_code in (200, 303, 400, 402, 404, 410, 413), response.status_code
    if response.headers.get("content-type") == "application/json":
        # A path no route matches (a newline in the id): the framework's 404 in Stripe's shape.
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "invalid_request_error"
    elif response.status_code != 303:
        assert response.headers["content-type"].startswith("text/html")


# ---------------------------------------------------------------------- control routes

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
CONTROL_FIELDS = [
    "card", "outcome", "expiry", "cvc", "email", "name", "three_d_secure", "payment_method",
    "result",
]  # fmt: skip
CONTROL_VALUES = [
    "4242424242424242", "abcd", "4000002760003184", "success", "decline", "async_success",
    "authentication_required", "12/34", "1" * 5000, "complete", "fail", "pending",
    "pm_card_visa",
]  # fmt: skip
control_bodies = st.one_of(
    st.dictionaries(
        st.sampled_from(CONTROL_FIELDS),
        st.one_of(json_values, st.sampled_from(CONTROL_VALUES)),
        max_size=5,
    ).map(json.dumps),
    json_values.map(json.dumps),
    st.integers(1, 100_000).map(lambda n: big(f"[*{n} ]*{n}", lambda: "[" * n + "]" * n)),
    st.binary(max_size=50),
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(
        [
            "checkout/{cs}/complete",
            "checkout/{cs}/cancel",
            "customers/{cus}/payment_methods",
            "intents/{pi}/authenticate",
            "expire_due",
        ]
    ),
    use_real=st.booleans(),
    junk=st.text(max_size=10),
    body=control_bodies,
)
@example(route="checkout/{cs}/complete", use_real=True, junk="", body='{"card": "abcd"}')
@example(route="checkout/{cs}/complete", use_real=False, junk="", body='{"card": "abcd"}')
@example(route="customers/{cus}/payment_methods", use_real=True, junk="", body='{"card": "x1"}')
@example(
    route="customers/{cus}/payment_methods", use_real=True, junk="", body='{"payment_method": {}}'
)
@example(route="checkout/{cs}/complete", use_real=True, junk="", body='{"card": {}}')
@example(route="checkout/{cs}/complete", use_real=True, junk="", body='{"outcome": []}')
@example(
    route="expire_due",
    use_real=True,
    junk="",
    body=big("[*100000 ]*100000", lambda: "[" * 100_000 + "]" * 100_000),
)
@example(
    route="customers/{cus}/payment_methods",
    use_real=True,
    junk="",
    body=big(
        "expiry=1*5000", lambda: json.dumps({"card": "4242424242424242", "expiry": "1" * 5000})
    ),
)
def test_control_routes_never_5xx(
    world: World, route: str, use_real: bool, junk: str, body: str | bytes | Big
) -> None:
    world.ids["cs"] = world.ok("POST", "checkout/sessions", _session_form())["id"]
    path = _fill(world, route, use_real, junk)
    response = world.client.post(
        f"/_sandbox/stripe/{path}",
        content=_materialise(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code < 500, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["message"], str)
        expected = {"card_error"} if response.status_code == 402 else {"invalid_request_error"}
        if response.status_code == 404:  # a path no route matched: the control API's shape
            expected.add("not_found")
        assert error["type"] in expected, error
