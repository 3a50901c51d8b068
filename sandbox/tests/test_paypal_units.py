"""Unit tests of the PayPal fake's parts, without a served sandbox.

Requests here go through ``httpx.ASGITransport`` to a Starlette app that mounts the fake's
routes with a tiny context (a settable clock, a list-collecting webhook sink).
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount

import paywire_sandbox.paypal
from paywire_sandbox import SandboxContext, WebhookEndpoint, load_fakes
from paywire_sandbox.paypal import PayPalFake
from paywire_sandbox.paypal import _ids as ids
from paywire_sandbox.paypal._errors import PayPalError, describe, status_for_issue
from paywire_sandbox.paypal._money import (
    SUPPORTED_CURRENCIES,
    AmountProblem,
    check_amount,
    fee_for,
    format_value,
)
from paywire_sandbox.paypal._outcomes import OUTCOMES, card_brand, outcome_for_card
from paywire_sandbox.paypal._signing import SigningKey, signed_message


@attrs.define
class SetClock:
    at: float = 1_800_000_000.0

    def now(self) -> float:
        return self.at


@attrs.define
class ListSink:
    emitted: list[tuple[str, str, str, bytes]] = attrs.field(factory=list)

    def emit(self, provider: str, event_id: str, event_type: str, body: bytes) -> None:
        self.emitted.append((provider, event_id, event_type, body))

    def endpoints(self, provider: str) -> Sequence[WebhookEndpoint]:
        return []


def make_fake() -> tuple[PayPalFake, SetClock, ListSink, Starlette]:
    clock, sink = SetClock(), ListSink()
    fake = PayPalFake(SandboxContext(clock=clock, webhooks=sink))
    app = Starlette(
        routes=[
            Mount("/paypal", routes=list(fake.routes())),
            Mount("/_sandbox/paypal", routes=list(fake.control_routes())),
        ]
    )
    return fake, clock, sink, app


async def _calls(
    app: Starlette, calls: list[tuple[str, str, dict[str, Any]]]
) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        return [await client.request(method, url, **kw) for method, url, kw in calls]


def call(app: Starlette, *calls: tuple[str, str, dict[str, Any]]) -> list[httpx.Response]:
    return asyncio.run(_calls(app, list(calls)))


def token_call() -> tuple[str, str, dict[str, Any]]:
    return (
        "POST",
        "/paypal/v1/oauth2/token",
        {"auth": ("id", "secret"), "data": {"grant_type": "client_credentials"}},
    )


# ---------------------------------------------------------------------------------------------
# Money


@given(
    currency=st.sampled_from(sorted(SUPPORTED_CURRENCIES)),
    cents=st.integers(min_value=1, max_value=10**12),
    extra=st.integers(min_value=0, max_value=3),
)
def test_check_amount_follows_the_currency_table(currency: str, cents: int, extra: int) -> None:
    places = SUPPORTED_CURRENCIES[currency]
    digits = places + extra
    value = f"{cents // 10**digits}.{cents % 10**digits:0{digits}d}" if digits else str(cents)
    if extra:
        with pytest.raises(AmountProblem) as problem:
            check_amount(currency, value)
        assert (problem.value.status, problem.value.issue) == (422, "DECIMAL_PRECISION")
    else:
        amount = check_amount(currency, value)
        assert amount == Decimal(value)
        assert format_value(amount, currency) == value


@pytest.mark.parametrize(
    ("currency", "value", "status", "issue", "field"),
    [
        ("JPY", "1.5", 422, "DECIMALS_NOT_SUPPORTED", "value"),
        ("EUR", "1.555", 422, "DECIMAL_PRECISION", "value"),
        ("ABC", "1", 422, "INVALID_CURRENCY_CODE", "currency_code"),
        (None, "1", 400, "INVALID_PARAMETER_SYNTAX", "currency_code"),
        ("USD", 1, 400, "INVALID_PARAMETER_SYNTAX", "value"),
        ("USD", "1" * 40, 400, "INVALID_PARAMETER_SYNTAX", "value"),
    ],
)
def test_amount_problems(
    currency: object, value: object, status: int, issue: str, field: str
) -> None:
    with pytest.raises(AmountProblem) as problem:
        check_amount(currency, value, no_decimals_issue="DECIMALS_NOT_SUPPORTED")
    assert (problem.value.status, problem.value.issue, problem.value.field) == (
        status,
        issue,
        field,
    )


@given(
    currency=st.sampled_from(sorted(SUPPORTED_CURRENCIES)),
    units=st.integers(min_value=1, max_value=10**9),
)
def test_fee_never_exceeds_the_amount(currency: str, units: int) -> None:
    amount = Decimal(units).scaleb(-SUPPORTED_CURRENCIES[currency])
    fee = fee_for(amount, currency)
    assert Decimal(0) <= fee <= amount
    assert -fee.as_tuple().exponent <= SUPPORTED_CURRENCIES[currency]  # type: ignore[operator]


# ---------------------------------------------------------------------------------------------
# Signing and ids


def test_signing_key_is_made_lazily_and_verifies_its_own_signatures() -> None:
    fake, _clock, _sink, _app = make_fake()
    assert fake._key._material is None  # constructing the fake does not generate a key
    key = SigningKey(not_before=1_800_000_000.0)
    message = signed_message("tid", "2027-01-15T08:00:00Z", "WHID", b'{"a": 1}')
    crc = int(message.rsplit(b"|", 1)[1])
    assert message.startswith(b"tid|2027-01-15T08:00:00Z|WHID|")
    assert 0 <= crc < 2**32
    signature = key.sign(message)
    assert key.verify(message, signature)
    assert not key.verify(message + b"x", signature)
    assert not key.verify(message, "not base64!")
    assert not key.verify(message, base64.b64encode(b"short").decode())
    cert = x509.load_pem_x509_certificate(key.certificate_pem)
    assert cert.issuer == cert.subject
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert names[0].value == "messageverificationcerts.sandbox.paypal.com"


def test_sign_webhook_falls_back_to_the_endpoint_id() -> None:
    fake, _clock, _sink, _app = make_fake()
    with_id = WebhookEndpoint("we_1", "paypal", "http://x", "s", {"webhook_id": "WHID"})
    without = WebhookEndpoint("we_2", "paypal", "http://x", "s")
    body = b'{"id": "WH-1"}'
    for endpoint, webhook_id in ((with_id, "WHID"), (without, "we_2")):
        headers = fake.sign_webhook(body, endpoint, 1_800_000_000)
        assert headers["PAYPAL-TRANSMISSION-TIME"] == "2027-01-15T08:00:00Z"
        message = signed_message(
            headers["PAYPAL-TRANSMISSION-ID"], headers["PAYPAL-TRANSMISSION-TIME"], webhook_id, body
        )
        assert fake._key.verify(message, headers["PAYPAL-TRANSMISSION-SIG"])


def test_listeners_get_a_webhook_id_in_paypals_format() -> None:
    """The verify-webhook-signature schema takes ``^[a-zA-Z0-9]+$``; a given id is kept."""
    fake, _clock, _sink, _app = make_fake()
    assigned = fake.endpoint_extra({})
    assert re.fullmatch(r"[0-9A-Z]{24}", assigned["webhook_id"])
    assert fake.endpoint_extra({"webhook_id": "MINE"}) == {"webhook_id": "MINE"}


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (ids.resource_id, r"[0-9A-Z]{17}"),
        (ids.payment_token_id, r"[0-9a-z]{8}"),
        (ids.customer_id, r"[0-9a-zA-Z]{10}"),
        (ids.payer_id, r"[2-9A-HJ-NP-Z]{13}"),
        (ids.debug_id, r"[0-9a-f]{13}"),
        (ids.event_id, r"WH-[0-9A-Z]{17}-[0-9A-Z]{17}"),
        (ids.cert_id, r"CERT-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}"),
        (ids.app_id, r"APP-[0-9A-Z]{17}"),
        (ids.access_token, r"A21AA[A-Za-z0-9_-]{80,}"),
    ],
)
def test_ids_have_paypal_shapes(make: Any, pattern: str) -> None:
    values = {make() for _ in range(20)}
    assert len(values) == 20
    assert all(re.fullmatch(pattern, v) for v in values)


# ---------------------------------------------------------------------------------------------
# Errors and outcomes


def test_error_body_shape_and_descriptions() -> None:
    error = PayPalError(422, "ORDER_NOT_APPROVED", operation="orders.capture")
    body = error.body("abc123", "https://developer.paypal.com/docs/api/orders/v2/")
    assert body["name"] == "UNPROCESSABLE_ENTITY"
    assert body["debug_id"] == "abc123"
    assert body["details"] == [
        {
            "issue": "ORDER_NOT_APPROVED",
            "description": describe("ORDER_NOT_APPROVED", "orders.capture"),
        }
    ]
    assert describe("ORDER_NOT_APPROVED", "orders.capture") != describe("ORDER_NOT_APPROVED")
    assert body["links"][0]["href"].endswith("#error-ORDER_NOT_APPROVED")
    detailed = PayPalError(400, "INVALID_PARAMETER_SYNTAX", field="/a", value={"b": 1})
    assert detailed.details[0] == {
        "field": "/a",
        "value": '{"b": 1}',
        "location": "body",
        "issue": "INVALID_PARAMETER_SYNTAX",
        "description": describe("INVALID_PARAMETER_SYNTAX"),
    }
    assert [
        status_for_issue(i)
        for i in ("INVALID_RESOURCE_ID", "INSTRUMENT_DECLINED", "MALFORMED_REQUEST_JSON")
    ] == [404, 422, 400]


def test_outcomes_and_cards() -> None:
    assert outcome_for_card("4111111111111111") == "success"
    assert outcome_for_card("4000000000000002") == "decline"
    assert all(name == o.name for name, o in OUTCOMES.items())
    assert all(
        (o.capture_status is None) == (o.capture_issue is not None) for o in OUTCOMES.values()
    )
    assert [card_brand(n) for n in ("4111", "5555", "2221", "3782", "6011", "3530", "5018")] == [
        "VISA",
        "MASTERCARD",
        "MASTERCARD",
        "AMEX",
        "DISCOVER",
        "JCB",
        "MAESTRO",
    ]


# ---------------------------------------------------------------------------------------------
# The fake through ASGI


def test_registration_hook_registers_the_fake() -> None:
    registry = load_fakes([paywire_sandbox.paypal], entry_points=False)
    assert registry.fakes == {"paypal": PayPalFake}
    assert registry.failures == []


def test_handler_bug_is_a_sandbox_internal_error_not_a_decline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, _clock, _sink, app = make_fake()

    async def broken(call: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(fake, "_get_order", broken)
    app = Starlette(routes=[Mount("/paypal", routes=list(fake.routes()))])
    (token,) = call(app, token_call())
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    (response,) = call(app, ("GET", "/paypal/v2/checkout/orders/ABC", {"headers": bearer}))
    assert response.status_code == 500
    body = response.json()
    assert body["name"] == "INTERNAL_SERVER_ERROR"
    assert body["details"][0]["description"] == "sandbox internal error"
    assert body["details"][0]["issue"] not in {"INSTRUMENT_DECLINED", "CARD_EXPIRED"}


def test_reset_forgets_resources_but_keeps_the_certificate() -> None:
    fake, _clock, sink, app = make_fake()
    (token,) = call(app, token_call())
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    (control,) = call(
        app, ("POST", "/_sandbox/paypal/payment-tokens", {"json": {"merchant": "id"}})
    )
    assert control.status_code == 201
    assert [e[2] for e in sink.emitted] == ["VAULT.PAYMENT-TOKEN.CREATED"]
    cert_id = fake._key.cert_id
    fake.reset()
    assert fake._key.cert_id == cert_id
    (gone,) = call(
        app, ("GET", f"/paypal/v3/vault/payment-tokens/{control.json()['id']}", {"headers": bearer})
    )
    assert gone.status_code == 401  # the token was forgotten too


def test_pages_escape_merchant_text() -> None:
    _fake, _clock, _sink, app = make_fake()
    (token,) = call(app, token_call())
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    body = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "1.00"}}],
        "payment_source": {"paypal": {"experience_context": {"brand_name": "<script>x</script>"}}},
    }
    (created,) = call(
        app, ("POST", "/paypal/v2/checkout/orders", {"headers": bearer, "json": body})
    )
    order_id = created.json()["id"]
    page, missing, approved = call(
        app,
        ("GET", f"/paypal/checkoutnow?token={order_id}", {}),
        ("GET", "/paypal/checkoutnow?token=NOPE", {}),
        ("POST", f"/paypal/checkoutnow?token={order_id}", {"data": {"action": "approve"}}),
    )
    assert "<script>x" not in page.text
    assert "&lt;script&gt;" in page.text
    assert missing.status_code == 404
    # No return_url: the buyer sees a confirmation page instead of a redirect.
    assert approved.status_code == 200
    assert "Approved" in approved.text


@pytest.mark.parametrize(
    "module_name",
    [
        "paywire_sandbox.paypal",
        "paywire_sandbox.paypal._base",
        "paywire_sandbox.paypal._errors",
        "paywire_sandbox.paypal._ids",
        "paywire_sandbox.paypal._models",
        "paywire_sandbox.paypal._money",
        "paywire_sandbox.paypal._outcomes",
        "paywire_sandbox.paypal._pages",
        "paywire_sandbox.paypal._requests",
        "paywire_sandbox.paypal._schemas",
        "paywire_sandbox.paypal._signing",
    ],
)
def test_all_is_sorted_and_complete(module_name: str) -> None:
    import importlib
    import inspect

    module = importlib.import_module(module_name)
    exported = list(module.__all__)

    def isort_style(name: str) -> tuple[int, str]:  # the order ruff's RUF022 keeps
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert exported == sorted(exported, key=isort_style)
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == module_name
    }
    assert defined <= set(exported)
    assert all(hasattr(module, name) for name in exported)


@settings(max_examples=40, deadline=None)
@given(
    authorization=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    path=st.sampled_from(["/paypal/v1/oauth2/token", "/paypal/v2/checkout/orders"]),
)
def test_garbage_authorization_is_always_a_401(authorization: str, path: str) -> None:
    _fake, _clock, _sink, app = make_fake()
    (response,) = call(
        app,
        (
            "POST",
            path,
            {
                "headers": {"Authorization": authorization},
                "data": {"grant_type": "client_credentials"},
            },
        ),
    )
    if path.endswith("token") and _decodes_to_credentials(authorization):
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert response.json().get("error") in {"invalid_client", "invalid_token", None}


def _decodes_to_credentials(header: str) -> bool:
    scheme, _, value = header.partition(" ")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError:
        return False
    client, sep, secret = decoded.partition(":")
    return scheme.lower() == "basic" and bool(sep and client and secret)
