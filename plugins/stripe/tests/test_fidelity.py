"""The plugin speaks Stripe's API as the stripe SDK (generated from Stripe's OpenAPI description
for the pinned API version) describes it, although it builds requests and reads answers itself:

- the SDK was generated for the version the plugin pins (``Stripe-Version``);
- the plugin's form encoding of each request is the SDK's, byte for byte;
- every field the plugin reads, from every answer and every event, is a field of the SDK's class
  for that object (and one Stripe includes without ``expand``);
- the request checker used by the fake Stripe (:mod:`sdk_shapes`) refuses what the SDK's types
  refuse.
"""

from __future__ import annotations

import copy
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st
from sdk_shapes import (
    ShapeError,
    Tracked,
    check_request,
    endpoint,
    resource,
    unknown_reads,
)
from stripe._error_object import ErrorObject

import paywire
from paywire.plugin import Call, Operation, Reply, encode_form
from paywire_stripe import API_VERSION, StripeConfig, StripeProvider
from paywire_stripe._errors import read_error
from paywire_stripe._requests import (
    attach_params,
    charge_params,
    checkout_params,
    customer_params,
    expand_setup_intent,
    refund_params,
    setup_params,
)
from paywire_stripe._samples import event, objects, webhook_samples
from paywire_stripe._webhooks import EVENT_RULES, normalize_event


def test_the_sdk_was_generated_for_the_pinned_api_version() -> None:
    # Every other check here reads the SDK's types: they must describe the version we send.
    assert stripe.api_version == API_VERSION
    assert StripeConfig().api_version == API_VERSION


# -- encoding: ours is the SDK's ----------------------------------------------------------------


class Capture(stripe.HTTPClient):
    """The SDK's HTTP client interface, keeping what the SDK would send."""

    name = "capture"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, Mapping[str, str], Any]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        self.sent.append((method, url, dict(headers or {}), post_data))
        return '{"id": "obj_1", "object": "customer"}', 200, {}

    def close(self) -> None:
        return


def sdk_body(send: Callable[[stripe.StripeClient], object]) -> list[tuple[str, str]]:
    capture = Capture()
    client = stripe.StripeClient(
        "sk_test_capture", http_client=capture, max_network_retries=0, stripe_version=API_VERSION
    )
    send(client)
    ((method, url, _headers, post_data),) = capture.sent
    body = post_data if method == "post" else urllib.parse.urlsplit(url).query
    return urllib.parse.parse_qsl(body or "", keep_blank_values=True)


def ours(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    return urllib.parse.parse_qsl(
        urllib.parse.urlencode(encode_form(params)), keep_blank_values=True
    )


_text = st.text(min_size=1, max_size=20)
_metadata = st.dictionaries(_text, st.text(max_size=20), max_size=3)
_customers = st.builds(
    paywire.Customer,
    id=_text,
    email=st.none() | st.emails(),
    name=st.none() | _text,
    phone=st.none() | st.just("+14155550100"),
    metadata=_metadata,
)
_lines = st.lists(
    st.builds(
        paywire.LineItem,
        description=_text,
        unit_amount=st.integers(1, 10**6).map(lambda n: paywire.Money(n, "JPY")),
        quantity=st.integers(1, 50),
    ),
    min_size=1,
    max_size=4,
)
_invoices = st.builds(
    paywire.Invoice,
    id=_text,
    currency=st.just("JPY"),
    line_items=_lines,
    description=st.none() | _text,
    metadata=_metadata,
)


@given(customer=_customers)
def test_customer_requests_encode_as_the_sdk_does(customer: paywire.Customer) -> None:
    params = customer_params(customer)
    assert ours(params) == sdk_body(lambda c: c.v1.customers.create(params))


@given(
    invoice=_invoices,
    save=st.booleans(),
    customer_id=st.none() | st.just("cus_1"),
    url=st.sampled_from(
        ["https://e.example/ok?a=1&b=[x]", "https://e.example/{CHECKOUT_SESSION_ID}"]
    ),
)
def test_checkout_requests_encode_as_the_sdk_does(
    invoice: paywire.Invoice, save: bool, customer_id: str | None, url: str
) -> None:
    units = [int(item.unit_amount.amount) for item in invoice.line_items]
    params = checkout_params(
        invoice,
        units,
        success_url=url,
        cancel_url=url,
        save_payment_method=save,
        customer_id=customer_id,
    )
    assert ours(params) == sdk_body(lambda c: c.v1.checkout.sessions.create(params))


@given(customer=_customers, url=st.sampled_from(["https://e.example/ok", "https://e.example/?x=&"]))
def test_setup_requests_encode_as_the_sdk_does(customer: paywire.Customer, url: str) -> None:
    params = setup_params(customer, "cus_1", currency="EUR", success_url=url, cancel_url=url)
    assert ours(params) == sdk_body(lambda c: c.v1.checkout.sessions.create(params))


@given(
    amount=st.integers(1, 99_999_999),
    customer=st.none() | st.just("cus_1"),
    description=st.none() | _text,
    metadata=_metadata,
)
def test_charge_requests_encode_as_the_sdk_does(
    amount: int, customer: str | None, description: str | None, metadata: dict[str, str]
) -> None:
    params = charge_params(
        "pm_1", customer, amount, "usd", description=description, metadata=metadata
    )
    assert ours(params) == sdk_body(lambda c: c.v1.payment_intents.create(params))


@given(
    transaction=st.sampled_from(["pi_1", "ch_1"]),
    amount=st.none() | st.integers(1, 10**6),
    reason=st.none() | st.sampled_from(["duplicate", "fraudulent", "changed my mind"]),
    metadata=_metadata,
)
def test_refund_requests_encode_as_the_sdk_does(
    transaction: str, amount: int | None, reason: str | None, metadata: dict[str, str]
) -> None:
    params = refund_params(transaction, amount, reason=reason, metadata=metadata)
    assert ours(params) == sdk_body(lambda c: c.v1.refunds.create(params))


def test_attach_and_expand_encode_as_the_sdk_does() -> None:
    attach = attach_params("cus_1")
    assert ours(attach) == sdk_body(lambda c: c.v1.payment_methods.attach("pm_1", attach))
    expand = expand_setup_intent()
    assert ours(expand) == sdk_body(lambda c: c.v1.checkout.sessions.retrieve("cs_1", expand))


# -- reads: only fields the SDK's classes have ----------------------------------------------------

SAMPLES = objects()
SETUP_INTENT = SAMPLES["setup_intent"]()
SETUP_SESSION = SAMPLES["checkout.session"](
    mode="setup", status="complete", setup_intent=SETUP_INTENT, payment_intent=None
)
CUSTOMER = {"id": "cus_1", "object": "customer"}
ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "customers"): CUSTOMER,
    ("POST", "checkout/sessions"): SAMPLES["checkout.session"](status="open"),
    ("GET", "checkout/sessions/*"): SETUP_SESSION,
    ("GET", "setup_intents/*"): SETUP_INTENT,
    ("POST", "payment_intents"): SAMPLES["payment_intent"](),
    ("GET", "payment_intents/*"): SAMPLES["payment_intent"](setup_future_usage="off_session"),
    ("GET", "charges/*"): SAMPLES["charge"](),
    ("POST", "refunds"): SAMPLES["refund"](),
    ("GET", "payment_methods/*"): SAMPLES["payment_method"](),
    ("POST", "payment_methods/*/detach"): SAMPLES["payment_method"](customer=None),
}


def drive(operation: Operation[Any], reads: dict[str, set[tuple[str, ...]]]) -> Any:
    """Run ``operation`` without I/O, answering each call with a tracked sample object."""
    reply: Reply | None = None
    while True:
        try:
            call: Call = operation.send(reply)  # type: ignore[arg-type]
        except StopIteration as stop:
            return stop.value
        obj = ANSWERS[endpoint(call.method, call.path)]
        reply = Reply(200, {}, b"", data=Tracked(obj, reads[obj["object"]]))


@pytest.fixture
def bare() -> StripeProvider:
    config = paywire.load_config(StripeConfig, "stripe", environ={}, api_key="sk_test_reads000")
    return StripeProvider.create(config)


def operations(provider: StripeProvider) -> list[Operation[Any]]:
    customer = paywire.Customer(id="u1", email="u1@example.com")
    invoice = paywire.Invoice(
        "INV-1", "USD", [paywire.LineItem("Plan", paywire.Money("25", "USD"))], customer=customer
    )
    method = paywire.SavedPaymentMethod("stripe", "pm_1", "cus_QXg1hqf4jFNsqG")
    usd = paywire.Money("5", "USD")
    setup_event = normalize_event(
        event("checkout.session.completed", {**SETUP_SESSION, "setup_intent": "seti_1"})
    )
    checkout_event = normalize_event(
        event("checkout.session.completed", SAMPLES["checkout.session"]())
    )
    setup = paywire.SetupSession("stripe", "cs_1", "https://x.example/")
    return [
        provider.op_checkout(
            invoice,
            success_url="https://e/ok",
            cancel_url="https://e/no",
            save_payment_method=True,
            key="k",
        ),
        provider.op_setup(customer, success_url="https://e/ok", cancel_url="https://e/no", key="k"),
        provider.op_complete_setup(setup, params={"session_id": "cs_1"}, key="k"),
        provider.op_complete_setup(setup_event, params={}, key="k"),
        provider.op_charge(method, usd, description=None, invoice_id="INV-1", metadata={}, key="k"),
        provider.op_refund("pi_1", usd, reason=None, metadata={}, key="k"),
        provider.op_refund("ch_1", usd, reason=None, metadata={}, key="k"),
        provider.op_method_details(method),
        provider.op_detach(method, key="k"),
        provider.op_follow_up(setup_event),
        provider.op_follow_up(checkout_event),
    ]


def test_operations_read_only_fields_the_sdk_knows(bare: StripeProvider) -> None:
    reads: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for operation in operations(bare):
        drive(operation, reads)
    assert set(reads) == {
        "customer",
        "checkout.session",
        "setup_intent",
        "payment_intent",
        "charge",
        "refund",
        "payment_method",
    }
    bad = {name: unknown_reads(resource(name), paths) for name, paths in reads.items()}
    assert bad == {name: [] for name in reads}


def test_error_reads_are_fields_of_stripes_error_object() -> None:
    reads: set[tuple[str, ...]] = set()
    intent = SAMPLES["payment_intent"](
        next_action={"type": "redirect_to_url", "redirect_to_url": {"url": "https://x/3ds"}}
    )
    body = {
        "error": {
            "type": "card_error",
            "code": "authentication_required",
            "decline_code": "authentication_required",
            "message": "needs you",
            "payment_intent": intent,
        }
    }
    info = read_error(Reply(402, {}, b"", data=Tracked(body, reads)))
    assert (info.transaction_id, info.action_url) == (intent["id"], "https://x/3ds")
    below = {path[1:] for path in reads if path[0] == "error" and len(path) > 1}
    assert below
    assert unknown_reads(ErrorObject, below) == []


@pytest.mark.parametrize(
    "payload", [p for p, _ in webhook_samples()], ids=[p["type"] for p, _ in webhook_samples()]
)
def test_events_read_only_fields_the_sdk_knows(payload: dict[str, Any]) -> None:
    envelope: set[tuple[str, ...]] = set()
    normalize_event(Tracked(copy.deepcopy(payload), envelope))
    inner = {p[2:] for p in envelope if p[:2] == ("data", "object") and len(p) > 2}
    outer = {p for p in envelope if p[:2] != ("data", "object")}
    assert unknown_reads(stripe.Event, outer) == []
    assert unknown_reads(resource(payload["data"]["object"]["object"]), inner) == []
    rule = EVENT_RULES[payload["type"]]
    assert not isinstance(rule.kind, paywire.EventType) or inner  # something was read


def test_the_read_check_catches_fields_stripe_no_longer_sends() -> None:
    # PaymentIntent.charges went away and Charge.refunds stopped being included in 2022-11-15:
    # what the plugin read before issue 13 is refused.
    assert unknown_reads(resource("payment_intent"), {("charges", "data")})
    assert unknown_reads(resource("charge"), {("refunds", "data", "*", "id")})
    assert unknown_reads(resource("charge"), {("amount_refunded",)}) == []
    assert (
        unknown_reads(resource("payment_intent"), {("next_action", "redirect_to_url", "url")}) == []
    )
    assert unknown_reads(resource("payment_intent"), {("next_action", "redirect", "url")})


# -- the request checker refuses what the SDK's types refuse --------------------------------------


def request(method: str, path: str, body: str = "", **headers: str) -> httpx.Request:
    base = {"Stripe-Version": API_VERSION, "Authorization": "Bearer sk_test_x"}
    if method == "POST":
        base |= {"Idempotency-Key": "k", "Content-Type": "application/x-www-form-urlencoded"}
    url = "https://api.stripe.com" + path + (f"?{body}" if method == "GET" and body else "")
    content = body.encode() if method == "POST" else None
    return httpx.Request(method, url, content=content, headers=base | headers)


GOOD = "amount=100&currency=usd&payment_method=pm_1&confirm=true&off_session=true"


def test_the_checker_accepts_a_request_the_sdk_would_send() -> None:
    check_request(request("POST", "/v1/payment_intents", GOOD + "&metadata[a]=b"))
    check_request(request("GET", "/v1/checkout/sessions/cs_1", "expand[0]=setup_intent"))
    check_request(request("POST", "/v1/payment_methods/pm_card_visa/detach"))


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        ("POST", "/v1/payment_intents", GOOD + "&colour=red", {}),  # no such parameter
        ("POST", "/v1/payment_intents", "currency=usd", {}),  # amount is required
        ("POST", "/v1/payment_intents", GOOD.replace("100", "1.5"), {}),  # not an integer
        ("POST", "/v1/payment_intents", GOOD.replace("confirm=true", "confirm=yes"), {}),
        ("POST", "/v1/payment_intents", GOOD + "&capture_method=later", {}),  # not in the enum
        ("POST", "/v1/payment_intents", GOOD + "&idempotency_key=k", {}),  # an option
        ("POST", "/v1/payment_intents", GOOD + "&metadata=x", {}),  # not an object
        ("POST", "/v1/checkout/sessions", "mode=payment&line_items[1][quantity]=1", {}),
        ("POST", "/v1/refunds", "payment_intent=pi_1&reason=goodwill", {}),
        ("POST", "/v1/payment_intents", GOOD, {"Stripe-Version": "2024-06-20"}),
        ("POST", "/v1/payment_intents", GOOD, {"Idempotency-Key": ""}),
        ("POST", "/v1/payment_intents", GOOD, {"Content-Type": "application/json"}),
        ("POST", "/v1/payouts", "amount=1&currency=usd", {}),  # not an endpoint the plugin uses
        ("GET", "/v1/checkout/sessions/cs_1", "expand=setup_intent", {}),  # a list is indexed
    ],
)
def test_the_checker_refuses_what_the_sdk_types_refuse(
    method: str, path: str, body: str, headers: dict[str, str]
) -> None:
    with pytest.raises(ShapeError):
        check_request(request(method, path, body, **headers))
