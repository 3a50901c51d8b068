"""The provider interface: ten operations, capabilities, and create() wiring the HTTP client."""

from __future__ import annotations

import asyncio
import inspect
import json
import pickle
import threading
from typing import Any

import httpx
import pytest
from paywire_fakes import ToyConfig, ToyProvider, toy_api

from paywire import (
    AuthenticationFailed,
    AuthenticationRequired,
    Capabilities,
    Capability,
    ConfigurationError,
    Customer,
    EventReference,
    EventType,
    InvalidSignature,
    Invoice,
    LineItem,
    MalformedWebhook,
    Money,
    NotFound,
    OutcomeUnknown,
    PaymentStatus,
    Provider,
    RefundStatus,
    SavedPaymentMethod,
    Secret,
    UnknownEvent,
    WebhookEvent,
)
from paywire.plugin import (
    HttpClient,
    hmac_sha256_hex,
)

OPERATIONS = {
    "available",
    "create_checkout_session",
    "create_setup_session",
    "charge_payment_method",
    "create_refund",
    "get_payment_method_details",
    "detach_payment_method",
    "verify_webhook_signature",
    "handle_webhook_event",
}


def _toy(requests: list[httpx.Request] | None = None, **settings: Any) -> ToyProvider:
    config = ToyConfig(api_key=Secret("sk_test_toykey123"), **settings)
    return ToyProvider.create(config, transport=httpx.MockTransport(toy_api(requests)))


def test_the_interface_is_abstract_with_the_documented_operations() -> None:
    # ten operations: the nine abstract methods above and the ``name`` class attribute.
    assert Provider.__abstractmethods__ == OPERATIONS
    assert "name" in Provider.__annotations__
    with pytest.raises(TypeError):
        Provider(ToyConfig(), HttpClient(provider="x"))  # type: ignore[abstract]


def test_operation_signatures_are_keyword_only_where_documented() -> None:
    def keyword_only(method: str) -> set[str]:
        params = inspect.signature(getattr(Provider, method)).parameters.values()
        return {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}

    assert keyword_only("create_checkout_session") == {
        "success_url",
        "cancel_url",
        "save_payment_method",
        "idempotency_key",
    }
    assert keyword_only("charge_payment_method") == {
        "description",
        "invoice_id",
        "metadata",
        "idempotency_key",
    }
    assert keyword_only("create_refund") == {"reason", "metadata", "idempotency_key"}
    assert keyword_only("create_setup_session") == {"success_url", "cancel_url"}


def test_capabilities() -> None:
    caps = ToyProvider.capabilities
    assert Capability.CHARGE in caps
    assert Capability.SAVE_ON_CHECKOUT not in caps
    assert "charge" not in caps  # members, not their values
    assert caps.as_dict() == {
        "supported": sorted(c.value for c in Capability if c is not Capability.SAVE_ON_CHECKOUT),
        "notes": {"setup": "saving a card takes a 1.00 authorization"},
    }
    json.dumps(caps.as_dict())
    assert Capabilities(supported=[Capability.REFUND]).supported == frozenset({Capability.REFUND})
    assert len({c.value for c in Capability}) == len(Capability)


def test_create_builds_the_http_client_from_config() -> None:
    provider = _toy(timeout=4.0, max_attempts=5, webhook_secret="whsec_toysecret1")
    try:
        http = provider.http
        assert isinstance(http, HttpClient)
        assert http.provider == "toy"
        assert http.retry.max_attempts == 5
        assert str(http.client.base_url) == "https://api.toy.invalid/v1/"
        assert http.client.timeout.read == 4.0
        assert http.client.timeout.connect == 4.0
        assert http.request_id_header == "X-Request-Id"
        assert provider.config.webhook_secret == Secret("whsec_toysecret1")
    finally:
        provider.close()
    assert provider.http.client.is_closed


def test_base_url_from_config_wins() -> None:
    provider = ToyProvider.create(ToyConfig(base_url="http://127.0.0.1:1/toy/"))
    with provider.http:
        assert str(provider.http.client.base_url) == "http://127.0.0.1:1/toy/"


def test_repr_shows_no_config() -> None:
    provider = _toy(webhook_secret="whsec_toysecret1")
    with provider.http:
        assert repr(provider) == "<ToyProvider 'toy'>"
        assert "toykey" not in repr(provider.http)


def test_operations_through_the_injected_transport() -> None:
    requests: list[httpx.Request] = []
    provider = _toy(requests)
    with provider.http:
        assert provider.available()
        invoice = Invoice("INV-1", "HUF", [LineItem("Plan", Money(1500, "HUF"))])
        session = provider.create_checkout_session(
            invoice, success_url="https://s/ok", cancel_url="https://s/no", idempotency_key="k1"
        )
        assert session.invoice_id == "INV-1"
        assert session.amount == Money(1500, "HUF")
        assert json.loads(requests[-1].content) == {
            "amount": 1500,
            "currency": "HUF",
            "invoice": "INV-1",
        }
        assert requests[-1].headers["Idempotency-Key"] == "k1"
        setup = provider.create_setup_session(Customer("c1"), success_url="a", cancel_url="b")
        assert setup.customer_id == "c1"
        method = SavedPaymentMethod("toy", "pm_1")
        charge = provider.charge_payment_method(method, Money("10.50", "EUR"), invoice_id="INV-1")
        assert (charge.status, charge.amount, charge.invoice_id) == (
            PaymentStatus.SUCCEEDED,
            Money("10.50", "EUR"),
            "INV-1",
        )
        declined = provider.charge_payment_method(
            SavedPaymentMethod("toy", "pm_declined"), Money(1, "EUR")
        )
        assert declined.status is PaymentStatus.FAILED
        refund = provider.create_refund(charge.id)
        assert (refund.amount, refund.status) == (Money(1500, "HUF"), RefundStatus.SUCCEEDED)
        assert provider.get_payment_method_details("pm_1").last4 == "4242"
        provider.detach_payment_method("pm_1")
        assert requests[-1].method == "DELETE"
        with pytest.raises(NotFound) as caught:
            provider.get_payment_method_details("pm_gone")
        assert caught.value.request_id == "req_toy_1"
        assert caught.value.http_status == 404


def test_wrong_key_is_authentication_failed_and_never_shown() -> None:
    config = ToyConfig(api_key=Secret("sk_test_wrongkey999"))
    provider = ToyProvider.create(config, transport=httpx.MockTransport(toy_api()))
    with provider.http, pytest.raises(AuthenticationFailed) as caught:
        provider.detach_payment_method("pm_1")
    assert "wrongkey" not in str(caught.value) + repr(caught.value)


def test_available_follows_config() -> None:
    assert not ToyProvider(ToyConfig(), HttpClient(provider="toy")).available()
    disabled = ToyConfig(api_key=Secret("k" * 8), enabled=False)
    assert not ToyProvider(disabled, HttpClient(provider="toy")).available()


def test_webhook_operations() -> None:
    provider = _toy(webhook_secret="whsec_toysecret1")
    with provider.http:
        body = b'{"id": "evt_1", "type": "charge.paid", "invoice": "INV-1"}'
        signature = hmac_sha256_hex("whsec_toysecret1", body)
        provider.verify_webhook_signature(body, {"x-toy-signature": signature})
        with pytest.raises(InvalidSignature):
            provider.verify_webhook_signature(body + b" ", {"X-Toy-Signature": signature})
        event = provider.handle_webhook_event(json.loads(body))
        assert (event.type, event.invoice_id) == (EventType.PAYMENT_SUCCEEDED, "INV-1")
        with pytest.raises(UnknownEvent) as caught:
            provider.handle_webhook_event({"type": "charge.weird"})
        assert caught.value.event_type == "charge.weird"


# -- what an API 1.0 provider gets for free -----------------------------------------------------
# ToyProvider is written the old way: sync methods, handle_webhook_event(payload), one secret,
# get/detach taking an id. Everything API 1.1 added reaches it through the core's defaults.


def test_every_configured_secret_verifies_through_the_old_method() -> None:
    provider = _toy(webhook_secret="whsec_toynew0001", webhook_secrets=("whsec_toyold0001",))
    with provider.http:
        body = b'{"id": "evt_1", "type": "charge.paid"}'
        for secret in ("whsec_toynew0001", "whsec_toyold0001"):
            headers = {"X-Toy-Signature": hmac_sha256_hex(secret, body)}
            provider.verify_webhook(body, headers)
            asyncio.run(provider.verify_webhook_async(body, headers))
        with pytest.raises(InvalidSignature):
            provider.verify_webhook(body, {"X-Toy-Signature": hmac_sha256_hex("other1234", body)})
    bare = _toy()
    with bare.http, pytest.raises(InvalidSignature, match="no webhook secret"):
        bare.verify_webhook(b"{}", {})


def test_parse_webhook_reads_json_bodies_for_old_providers() -> None:
    provider = _toy()
    with provider.http:
        event = provider.parse_webhook(b'{"id": "evt_2", "type": "charge.paid"}', {})
        assert isinstance(event, WebhookEvent)
        assert event.id == "evt_2"
        with pytest.raises(UnknownEvent, match="not a JSON object"):
            provider.parse_webhook(b"[1, 2]", {})
        with pytest.raises(MalformedWebhook, match="not JSON"):
            provider.parse_webhook(b"id=evt_3&type=charge.paid", {})
        deep = b"[" * 2000 + b"]" * 2000
        with pytest.raises(MalformedWebhook, match="deep"):
            provider.parse_webhook(deep, {})
        with pytest.raises(MalformedWebhook, match="deeper than 64"):
            provider.parse_webhook(b'{"a":' * 65 + b"1" + b"}" * 65, {})
        with pytest.raises(ConfigurationError, match="cannot fetch"):
            provider.fetch_webhook_event(EventReference("toy", "ch_1"))


def test_old_get_and_detach_are_handed_the_id_of_a_saved_method() -> None:
    requests: list[httpx.Request] = []
    provider = _toy(requests)
    with provider.http:
        method = SavedPaymentMethod("toy", "pm_1", "cus_1")
        # ToyProvider's own signature says str (API 1.0); the core's wrapper takes the object.
        assert provider.get_payment_method_details(method).id == "pm_1"  # type: ignore[arg-type]
        provider.detach_payment_method(method)  # type: ignore[arg-type]
        assert [r.url.path for r in requests] == ["/v1/methods/pm_1"] * 2
        with pytest.raises(TypeError, match="SavedPaymentMethod or its id"):
            provider.get_payment_method_details(42)  # type: ignore[arg-type]


def test_old_providers_run_their_coroutines_in_a_worker_thread() -> None:
    threads: list[str] = []
    handler = toy_api()

    def note(request: httpx.Request) -> httpx.Response:
        threads.append(threading.current_thread().name)
        return handler(request)

    provider = ToyProvider.create(
        ToyConfig(api_key=Secret("sk_test_toykey123")), transport=httpx.MockTransport(note)
    )
    assert ToyProvider.native_async is False

    async def flow() -> None:
        method = SavedPaymentMethod("toy", "pm_1")
        charge = await provider.charge_payment_method_async(method, Money("1.00", "EUR"))
        assert charge.status is PaymentStatus.SUCCEEDED
        refund = await provider.create_refund_async(charge.id)
        assert refund.status is RefundStatus.SUCCEEDED
        assert (await provider.get_payment_method_details_async(method)).last4 == "4242"
        await provider.detach_payment_method_async(method)
        invoice = Invoice("INV-2", "HUF", [LineItem("Plan", Money(1500, "HUF"))])
        session = await provider.create_checkout_session_async(
            invoice, success_url="https://s/ok", cancel_url="https://s/no"
        )
        assert session.id == "cs_1"
        setup = await provider.create_setup_session_async(
            Customer("c1"), success_url="a", cancel_url="b"
        )
        assert setup.id == "st_1"
        event = WebhookEvent("toy", "e1", EventType.PAYMENT_SUCCEEDED, "charge.paid")
        assert await provider.follow_up_async(event) is None

    with provider.http:
        asyncio.run(flow())
    main = threading.current_thread().name
    assert threads
    assert main not in threads


def test_complete_setup_default_answers_from_the_event() -> None:
    provider = _toy()
    with provider.http:
        event = WebhookEvent(
            "toy",
            "e1",
            EventType.SETUP_COMPLETED,
            "setup.done",
            payment_method_id="pm_1",
            customer_id="cus_1",
        )
        saved = SavedPaymentMethod("toy", "pm_1", "cus_1")
        assert provider.complete_setup(event) == saved
        assert asyncio.run(provider.complete_setup_async(event)) == saved
        with pytest.raises(ConfigurationError, match="does not complete setups"):
            provider.complete_setup("st_1")


def test_authentication_required_keeps_where_to_send_the_customer() -> None:
    error = AuthenticationRequired(
        "needs the customer", provider="toy", transaction_id="pi_1", action_url="https://a/3ds"
    )
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, round-tripped
    assert (again.transaction_id, again.action_url) == ("pi_1", "https://a/3ds")
    assert AuthenticationRequired("x", provider="toy").transaction_id is None


def test_old_providers_always_get_a_key_and_outcome_unknown_carries_it() -> None:
    """Issue 10 item 1 for every provider, old ones included: a charge the caller sends without
    an idempotency key gets one before its first attempt, and the OutcomeUnknown the plugin
    raises (here its own, keyless) carries it — so the documented retry is one charge."""
    requests: list[httpx.Request] = []
    handler = toy_api(requests)

    def lost(request: httpx.Request) -> httpx.Response:
        handler(request)
        raise httpx.ReadError("the answer was lost after the charge was made")

    provider = ToyProvider.create(
        ToyConfig(api_key=Secret("sk_test_toykey123"), max_attempts=1),
        transport=httpx.MockTransport(lost),
    )
    method = SavedPaymentMethod("toy", "pm_1")
    with provider.http, pytest.raises(OutcomeUnknown) as caught:
        provider.charge_payment_method(method, Money("1.00", "EUR"))
    key = caught.value.idempotency_key
    assert key
    assert requests[-1].headers["Idempotency-Key"] == key  # sent on the first attempt
    ok = _toy(requests)
    with ok.http:
        ok.charge_payment_method(method, Money("1.00", "EUR"))
        ok.create_refund("ch_1")
        invoice = Invoice("INV-3", "HUF", [LineItem("Plan", Money(1500, "HUF"))])
        ok.create_checkout_session(invoice, success_url="https://s/ok", cancel_url="https://s/no")
    assert all(r.headers.get("Idempotency-Key") for r in requests[-3:])
    given = _toy(requests)
    with given.http:
        given.charge_payment_method(method, Money("1.00", "EUR"), idempotency_key="mine")
    assert requests[-1].headers["Idempotency-Key"] == "mine"
