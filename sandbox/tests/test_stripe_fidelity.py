"""Fidelity of the Stripe fake against the official stripe SDK (generated from Stripe's OpenAPI).

- Requests: every route the fake serves is an endpoint of the SDK; what the SDK's parameter
  types do not document is ``parameter_unknown``, what they require is ``parameter_missing``,
  ``Literal`` enums are enforced — all shaped as Stripe shapes them.
- Responses: every object the fake returns, nested objects included, has only fields that the
  SDK's resource class for the claimed API version declares, every field that class declares
  as always present (not ``Optional``), and values of the declared types and enums.
- Plugins: every request recorded in ``plugins/*/tests/fixtures/contract/*.json`` for Stripe
  passes the same request check (see :func:`test_recorded_plugin_requests_are_documented`).
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ForwardRef, Literal, Union
from urllib.parse import urlencode

import pytest
import stripe
import typing_extensions as te
from hypothesis import given
from hypothesis import strategies as st
from stripe._object_classes import get_object_class
from stripe._stripe_object import StripeObject

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # see test_stripe_app: TestClient's httpx2 preference
    from starlette.testclient import TestClient

from paywire_sandbox import build_app
from paywire_sandbox.stripe import StripeFake
from paywire_sandbox.stripe._api import ROUTES, route_key
from paywire_sandbox.stripe._errors import StripeError
from paywire_sandbox.stripe._forms import MAX_DEPTH, decode_form
from paywire_sandbox.stripe._official import (
    SDK_API_VERSION,
    AnyOf,
    Array,
    Map,
    Node,
    Obj,
    check_request,
    official_schemas,
    route_key_for,
    sdk_endpoints,
)
from paywire_sandbox.stripe._resources import API_VERSION

KEY = "sk_test_fidelity00000000000000"
FORM = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/x-www-form-urlencoded"}
REPO = Path(__file__).resolve().parents[2]
SCHEMAS = official_schemas(frozenset(ROUTES))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(build_app([StripeFake]), base_url="http://testserver") as test_client:
        yield test_client


def post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    return client.post("/stripe/v1/" + path, content=urlencode(data), headers=FORM)


# ---------------------------------------------------------------------- requests


def test_the_fake_claims_the_sdks_api_version() -> None:
    assert API_VERSION == SDK_API_VERSION == stripe.api_version


def test_every_route_is_an_sdk_endpoint_with_its_params_type() -> None:
    endpoints = sdk_endpoints()
    assert set(ROUTES) <= set(endpoints)
    assert endpoints[("POST", "payment_intents", "*", "confirm")][1] == (
        "PaymentIntentConfirmParams"
    )
    assert endpoints[("GET", "checkout/sessions", "*", "line_items")][1] == (
        "SessionLineItemListParams"
    )
    assert route_key_for("post", "/v1/customers/{customer}") == ("POST", "customers", "*")


def _depth(node: Node, seen: frozenset[int] = frozenset()) -> int:
    if id(node) in seen:
        return 0
    inner = seen | {id(node)}
    if isinstance(node, Obj):
        return 1 + max((_depth(n, inner) for n in node.fields.values()), default=0)
    if isinstance(node, Array | Map):
        child = node.item if isinstance(node, Array) else node.value
        return 1 + _depth(child, inner)
    if isinstance(node, AnyOf):
        return max((_depth(n, inner) for n in node.options), default=0)
    return 0


def test_the_form_depth_limit_fits_every_documented_parameter() -> None:
    deepest = max(_depth(schema) for schema in SCHEMAS.values())
    assert 3 <= deepest <= MAX_DEPTH


@pytest.mark.parametrize(
    ("path", "data", "param", "code"),
    [
        # Undocumented at the top, and deep inside a hash the handlers never read.
        ("payment_intents", {"amount": "100", "currency": "usd", "colour": "red"}, "colour", None),
        (
            "payment_intents",
            {"amount": "100", "currency": "usd", "payment_method_options[card][colour]": "x"},
            "payment_method_options[card][colour]",
            None,
        ),
        # Under this API version Checkout takes allowed_payment_method_types instead.
        (
            "checkout/sessions",
            {"mode": "setup", "currency": "usd", "payment_method_types[0]": "card"},
            "payment_method_types",
            None,
        ),
    ],
)
def test_undocumented_parameters_are_parameter_unknown(
    client: TestClient, path: str, data: dict[str, str], param: str, code: None
) -> None:
    response = post(client, path, data)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == {
        "code": "parameter_unknown",
        "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
        "message": f"Received unknown parameter: {param}",
        "param": param,
        "type": "invalid_request_error",
    }


def test_documented_but_unimplemented_is_not_called_unknown(client: TestClient) -> None:
    data = {"amount": "100", "currency": "usd", "payment_method_options[card][network]": "visa"}
    error = post(client, "payment_intents", data).json()["error"]
    assert "code" not in error
    assert error["param"] == "payment_method_options"
    assert "sandbox does not implement" in error["message"]


def test_required_and_enum_come_from_the_sdk(client: TestClient) -> None:
    missing = post(client, "payment_intents", {"currency": "usd"}).json()["error"]
    assert (missing["code"], missing["param"]) == ("parameter_missing", "amount")
    bad = post(
        client, "payment_intents", {"amount": "100", "currency": "usd", "capture_method": "later"}
    ).json()["error"]
    assert bad["param"] == "capture_method"
    assert bad["message"] == (
        "Invalid capture_method: must be one of automatic, automatic_async, or manual"
    )
    nested = post(
        client,
        "checkout/sessions",
        {"mode": "payment", "automatic_tax[liability][account]": "acct_1"},
    ).json()["error"]
    # automatic_tax.enabled and automatic_tax.liability.type are Required in the SDK's types.
    assert nested["code"] == "parameter_missing"
    assert nested["param"] in ("automatic_tax[enabled]", "automatic_tax[liability][type]")


@given(
    route=st.sampled_from(sorted(SCHEMAS)),
    name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
)
def test_any_name_the_sdk_does_not_list_is_unknown(route: tuple[str, ...], name: str) -> None:
    schema = SCHEMAS[route]
    params: dict[str, Any] = dict.fromkeys(schema.required, "1")
    params[name] = "x"
    if name in schema.fields:
        return  # a documented name: its value may or may not fit, never "unknown"
    with pytest.raises(StripeError) as caught:
        check_request(schema, params)
    assert (caught.value.code, caught.value.param) == ("parameter_unknown", name)


@given(route=st.sampled_from(sorted(r for r, s in SCHEMAS.items() if s.required)))
def test_each_required_parameter_left_out_is_missing(route: tuple[str, ...]) -> None:
    schema = SCHEMAS[route]
    for left_out in sorted(schema.required):
        params = {key: "1" for key in schema.required if key != left_out}
        with pytest.raises(StripeError) as caught:
            check_request(schema, params)
        if caught.value.code == "parameter_missing":
            assert caught.value.param == left_out


# ---------------------------------------------------------------------- responses


def _resolve(annotation: Any, cls: type) -> Any:
    """An SDK annotation made concrete: strings and forward references evaluated."""
    if isinstance(annotation, ForwardRef):
        annotation = annotation.__forward_arg__
    if isinstance(annotation, str):
        namespace = {**vars(sys.modules[cls.__module__]), **vars(cls)}
        for outer in cls.__qualname__.split(".")[:-1]:
            namespace.update(vars(getattr(sys.modules[cls.__module__], outer, object)))
        try:
            return eval(annotation, namespace)  # noqa: S307 - the SDK's own annotation
        except NameError:
            return _object_class(annotation) or Any
    return annotation


def _object_class(name: str) -> type | None:
    """A resource class referenced by name only (imported under TYPE_CHECKING in the SDK)."""
    for module in list(sys.modules.values()):
        if (module.__name__ or "").startswith("stripe."):
            found = getattr(module, name, None)
            if isinstance(found, type) and issubclass(found, StripeObject):
                return found
    return None


def _fields(cls: type) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for key, annotation in getattr(klass, "__annotations__", {}).items():
            private = key.startswith("_")
            if not private and "ClassVar" not in str(annotation):
                fields[key] = annotation
    return fields


def _optional(annotation: Any, cls: type) -> bool:
    tp = _resolve(annotation, cls)
    return (te.get_origin(tp) is Union or type(tp).__name__ == "UnionType") and type(
        None
    ) in te.get_args(tp)


def _problems(value: Any, annotation: Any, cls: type, where: str) -> list[str]:
    tp = _resolve(annotation, cls)
    origin = te.get_origin(tp)
    args = te.get_args(tp)
    if tp is Any:
        return []
    if origin is Union or type(tp).__name__ == "UnionType":
        if value is None:
            return [] if type(None) in args else [f"{where}: null, not {tp}"]
        found = [_problems(value, a, cls, where) for a in args if a is not type(None)]
        return [] if any(not f for f in found) else min(found, key=len)
    if origin in (Literal, te.Literal):
        return [] if value in args else [f"{where}: {value!r} not one of {args}"]
    if isinstance(tp, type) and issubclass(tp, StripeObject):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a {tp.__name__} object"]
        return object_problems(value, tp, where)
    if origin is list or tp is list:
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        item = args[0] if args else Any
        return [p for i, v in enumerate(value) for p in _problems(v, item, cls, f"{where}[{i}]")]
    if origin is dict or (isinstance(origin, type) and issubclass(origin, StripeObject)):
        return [] if isinstance(value, dict) else [f"{where}: not a hash"]
    expected: dict[Any, tuple[type, ...]] = {
        int: (int,),
        str: (str,),
        bool: (bool,),
        float: (int, float),
    }
    if tp in expected:
        ok = isinstance(value, expected[tp]) and (tp is bool or not isinstance(value, bool))
        return [] if ok else [f"{where}: {value!r} is not {tp.__name__}"]
    return []


def object_problems(obj: dict[str, Any], cls: type, where: str) -> list[str]:
    """How ``obj`` differs from the SDK class ``cls``: unknown, absent or mistyped fields."""
    fields = _fields(cls)
    problems = [
        f"{where}.{key}: not a field of {cls.__qualname__}" for key in obj if key not in fields
    ]
    for key, annotation in fields.items():
        if key not in obj:
            if not _optional(annotation, cls):
                problems.append(f"{where}.{key}: always present in {cls.__qualname__}, missing")
            continue
        problems.extend(_problems(obj[key], annotation, cls, f"{where}.{key}"))
    return problems


def resource_problems(obj: dict[str, Any], where: str = "") -> list[str]:
    """Check a top-level API object by its ``object`` name (lists: each item)."""
    name = obj.get("object")
    if name == "list":
        return [p for i, o in enumerate(obj["data"]) for p in resource_problems(o, f"{where}[{i}]")]
    cls = get_object_class("V1", str(name))
    if cls is StripeObject:
        return [f"{where}: the SDK has no class for object {name!r}"]
    return object_problems(obj, cls, where or str(name))


def _every_kind_of_response(client: TestClient) -> list[dict[str, Any]]:
    """One of each object the fake returns, in each state a plugin meets."""
    got: list[dict[str, Any]] = []

    def keep(response: Any) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        got.append(body.get("error", body))
        return body

    cus = keep(post(client, "customers", {"email": "f@example.com", "metadata[k]": "v"}))["id"]
    keep(post(client, "payment_methods/pm_card_visa/attach", {"customer": cus}))
    pays = {"amount": "2000", "currency": "usd", "confirm": "true"}
    ok = keep(post(client, "payment_intents", {**pays, "payment_method": "pm_card_visa"}))
    keep(post(client, "payment_intents", {**pays, "payment_method": "pm_card_chargeDeclined"}))
    keep(
        post(
            client,
            "payment_intents",
            {
                **pays,
                "payment_method": "pm_card_authenticationRequired",
                "return_url": "https://shop.example/back",
            },
        )
    )
    keep(post(client, "payment_intents", {**pays, "payment_method": "pm_card_createDispute"}))
    keep(post(client, "refunds", {"payment_intent": ok["id"], "amount": "500"}))
    session = keep(
        post(
            client,
            "checkout/sessions",
            {
                "mode": "payment",
                "success_url": "https://shop.example/ok",
                "line_items[0][price_data][currency]": "usd",
                "line_items[0][price_data][unit_amount]": "1500",
                "line_items[0][price_data][product_data][name]": "Invoice",
                "line_items[0][quantity]": "1",
            },
        )
    )
    client.post(f"/_sandbox/stripe/checkout/{session['id']}/complete", json={"outcome": "success"})
    setup = keep(
        post(
            client,
            "checkout/sessions",
            {"mode": "setup", "currency": "usd", "success_url": "https://shop.example/ok"},
        )
    )
    client.post(f"/_sandbox/stripe/checkout/{setup['id']}/complete", json={"outcome": "success"})
    setup_intent = keep(client.get("/stripe/v1/checkout/sessions/" + setup["id"], headers=FORM))[
        "setup_intent"
    ]
    for path in (
        "customers",
        "payment_methods?customer=" + cus,
        "payment_intents",
        "charges",
        "refunds",
        "disputes",
        "checkout/sessions",
        f"checkout/sessions/{session['id']}/line_items",
        f"setup_intents/{setup_intent}",
        "events?limit=100",
    ):
        keep(client.get("/stripe/v1/" + path, headers=FORM))
    got.extend(event["data"]["object"] for event in got[-1]["data"])
    return got


def test_every_response_object_matches_the_sdks_classes(client: TestClient) -> None:
    responses = _every_kind_of_response(client)
    kinds = {r.get("object") for r in responses} | {
        item.get("object") for r in responses if r.get("object") == "list" for item in r["data"]
    }
    assert {"customer", "payment_method", "payment_intent", "charge", "refund", "dispute"} <= kinds
    assert {"checkout.session", "setup_intent", "event", "item"} <= kinds
    problems = [p for r in responses if "object" in r for p in resource_problems(r)]
    assert problems == []


def test_the_response_check_catches_a_dropped_and_a_missing_field(client: TestClient) -> None:
    charge = client.get("/stripe/v1/charges?limit=1", headers=FORM).json()["data"][0]
    assert resource_problems(charge) == []
    dropped = {**charge, "destination": None}  # gone from Charge since API 2019-02-19
    assert resource_problems(dropped) == ["charge.destination: not a field of Charge"]
    missing = {k: v for k, v in charge.items() if k != "amount"}
    assert resource_problems(missing) == ["charge.amount: always present in Charge, missing"]
    wrong_type = {**charge, "amount": "2000"}
    assert resource_problems(wrong_type) == ["charge.amount: '2000' is not int"]
    wrong_enum = {**charge, "status": "paid"}
    assert resource_problems(wrong_enum) == []  # Charge.status is typed str in the SDK
    bad_outcome = {**charge, "outcome": {**charge["outcome"], "colour": "red"}}
    assert resource_problems(bad_outcome) == [
        "charge.outcome.colour: not a field of Charge.Outcome"
    ]


def test_refunds_carry_the_fields_the_current_api_added(client: TestClient) -> None:
    refund = client.get("/stripe/v1/refunds?limit=1", headers=FORM).json()["data"][0]
    assert refund["customer"] is None or refund["customer"].startswith("cus_")
    assert refund["payment_method"].startswith("pm_")
    charge = client.get("/stripe/v1/charges/" + refund["charge"], headers=FORM).json()
    assert refund["payment_method"] == charge["payment_method"]
    assert "destination" not in charge
    assert "dispute" not in charge


# ---------------------------------------------------------------------- recorded plugin requests


def _recorded_stripe_requests() -> list[tuple[str, str, str, str]]:
    """(fixture, method, path, encoded params) of every recorded Stripe API request."""
    found: list[tuple[str, str, str, str]] = []
    for fixture in sorted(REPO.glob("plugins/*/tests/fixtures/contract/*.json")):
        data = json.loads(fixture.read_text(encoding="utf-8"))
        if data.get("provider") != "stripe":
            continue
        for interaction in data["interactions"]:
            if interaction.get("channel") != "provider":
                continue
            request = interaction["request"]
            encoded = request.get("body") or request.get("query") or ""
            name = f"{fixture.parent.parent.parent.parent.name}/{fixture.name}"
            found.append((name, request["method"], request["path"], encoded))
    return found


def documentation_problems(method: str, path: str, encoded: str) -> str | None:
    """Why a recorded request breaks the SDK's parameter types (``None``: it does not)."""
    route = route_key(method, path.partition("?")[0].removeprefix("/v1/"))[0]
    if route not in SCHEMAS:
        schema = official_schemas(frozenset([route])).get(route)
        if schema is None:
            return f"{method} {path}: no such endpoint in the SDK"
    else:
        schema = SCHEMAS[route]
    try:
        check_request(schema, decode_form(encoded))
    except StripeError as exc:
        return f"{method} {path}: {exc.code or 'invalid'} {exc.param}: {exc.message}"
    except KeyError:
        return f"{method} {path}: no such endpoint in the SDK"
    return None


def test_the_fixture_check_fails_on_an_undocumented_parameter() -> None:
    planted = "amount=100&currency=usd&payment_method=pm_x&confirm=true&colour=red"
    assert documentation_problems("POST", "/v1/payment_intents", planted) == (
        "POST /v1/payment_intents: parameter_unknown colour: Received unknown parameter: colour"
    )
    assert documentation_problems("POST", "/v1/payment_intents", "amount=1&currency=usd") is None
    nested = "metadata[a]=1&payment_method_options[card][colour]=x"
    assert "parameter_unknown" in str(documentation_problems("POST", "/v1/customers", nested))


STRIPE_FIXTURES = _recorded_stripe_requests()


@pytest.mark.skipif(not STRIPE_FIXTURES, reason="no recorded Stripe fixtures in this checkout")
def test_recorded_plugin_requests_are_documented() -> None:
    """Every request a plugin recorded against Stripe passes the SDK's parameter types.

    Fails while a fixture carries a parameter Stripe does not document for the SDK's API
    version; the fixtures are the plugins' (re-record them after fixing the plugin).
    """
    problems = sorted(
        {
            f"{name}: {problem}"
            for name, method, path, encoded in STRIPE_FIXTURES
            if (problem := documentation_problems(method, path, encoded)) is not None
        }
    )
    assert problems == []
