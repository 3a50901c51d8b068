"""The operation kernel: one plugin's operations run sync and async, with keys, retries, error
tables, expiring credentials and unreadable answers handled once, in the core."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import httpx
import pytest

from paywire import (
    AuthenticationFailed,
    AuthenticationRequired,
    Capabilities,
    Capability,
    CardDeclined,
    ChargeResult,
    ConfigurationError,
    EventReference,
    EventType,
    InvalidRequest,
    InvalidSignature,
    MalformedWebhook,
    Money,
    NotFound,
    OutcomeUnknown,
    PaymentMethodInfo,
    PaymentStatus,
    Paywire,
    ProviderConfig,
    ProviderUnavailable,
    RateLimited,
    SavedPaymentMethod,
    Secret,
    UnknownEvent,
    WebhookEvent,
)
from paywire.plugin import (
    Call,
    CurrencyRules,
    ErrorInfo,
    ErrorRule,
    EventRule,
    EventRules,
    KernelProvider,
    Operation,
    Reply,
    UnexpectedAnswer,
    derived_key,
    encode_form,
    hmac_sha256_hex,
    hookimpl,
    immediately,
    parse_json_body,
    secret_field,
    verify_hmac_sha256_hex,
)

Handler = Callable[[httpx.Request], httpx.Response]


@attrs.frozen
class KConfig(ProviderConfig):
    """Settings of the kernel toy."""

    api_key: Secret | None = secret_field()  # noqa: RUF009 - attrs field


RULES = CurrencyRules(name="ktoy")

EVENTS = EventRules(
    "ktoy",
    {
        "paid": EventRule(
            EventType.PAYMENT_SUCCEEDED,
            lambda obj: {
                "invoice_id": obj.get("invoice"),
                "amount": Money.from_minor_units(obj["amount"], obj["currency"], RULES),
                "transaction_id": obj["id"],
            },
        ),
        "saved": EventRule(
            EventType.SETUP_COMPLETED,
            lambda obj: {"payment_method_id": obj.get("method"), "session_id": obj["session"]},
        ),
    },
)


class KToy(KernelProvider[KConfig]):
    """Every kernel feature, over a tiny JSON API."""

    name: ClassVar[str] = "ktoy"
    capabilities: ClassVar[Capabilities] = Capabilities(
        {
            Capability.CHARGE,
            Capability.REFUND,
            Capability.PAYMENT_METHOD_DETAILS,
            Capability.DETACH,
            Capability.WEBHOOKS,
            Capability.SETUP,
        }
    )
    config_class: ClassVar[type[ProviderConfig]] = KConfig
    currency_rules: ClassVar[CurrencyRules] = RULES
    default_base_url: ClassVar[str] = "https://api.ktoy.invalid"
    request_id_header: ClassVar[str | None] = "X-Request-Id"
    error_rules: ClassVar[tuple[ErrorRule, ...]] = (
        ErrorRule(AuthenticationRequired, codes=frozenset({"needs_3ds"})),
        ErrorRule(CardDeclined, codes=frozenset({"declined", "stolen"}), statuses=frozenset({402})),
        ErrorRule(CardDeclined, message=r"card (was )?refused"),  # a provider without codes
        ErrorRule(NotFound, codes=frozenset({"missing"})),
    )

    tokens_issued = 0

    def __init__(self, config: KConfig, http: Any) -> None:
        super().__init__(config, http)
        self._token: str | None = None

    def available(self) -> bool:
        return bool(self.config.api_key)

    @staticmethod
    def retry_advice(response: httpx.Response) -> bool | None:
        value = response.headers.get("Should-Retry")
        return None if value is None else value == "true"

    def authorize(self, call: Call) -> Operation[Mapping[str, str]]:
        if self._token is None:
            reply = yield Call.post(
                "/token", authenticate=False, operation="token", repeatable=True
            )
            self._token = str(reply.data["token"])
        return {"Authorization": f"Bearer {self._token}"}

    def credentials_expired(self, reply: Reply) -> bool:
        return self.read_error(reply).code == "token_expired"

    def forget_credentials(self) -> None:
        self._token = None

    def read_error(self, reply: Reply) -> ErrorInfo:
        info = super().read_error(reply)
        error = reply.data.get("error", {}) if isinstance(reply.data, dict) else {}
        return attrs.evolve(
            info,
            transaction_id=error.get("transaction"),
            action_url=error.get("url"),
        )

    def op_charge(
        self,
        method: SavedPaymentMethod,
        amount: Money,
        *,
        description: str | None,
        invoice_id: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[ChargeResult]:
        body = {"method": method.id, "amount": amount.to_minor_units(RULES), "invoice": invoice_id}
        try:
            reply = yield Call.post("/charges", json=body, key=key, operation="charge")
        except InvalidRequest as exc:
            if exc.raw_code != "use_order":
                raise
            # A second step of the same operation: its own key, derived from the operation's.
            order = yield Call.post(
                "/orders", json=body, key=derived_key(key, "order"), operation="charge"
            )
            reply = yield Call.get(f"/orders/{order.data['id']}/charge", operation="charge")
        data = reply.data
        return ChargeResult(
            provider=self.name,
            id=data["id"],
            amount=Money.from_minor_units(data["amount"], amount.currency, RULES),
            status=PaymentStatus(data["status"]),
            raw_status=data["status"],
            invoice_id=invoice_id,
        )

    def op_refund(
        self,
        transaction_id: str,
        amount: Money | None,
        *,
        reason: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[Any]:
        reply = yield Call.post(
            "/refunds", form={"charge": transaction_id, "meta": dict(metadata)}, key=key
        )
        return reply.data

    def op_method_details(self, method: SavedPaymentMethod) -> Operation[PaymentMethodInfo]:
        reply = yield Call.get(f"/methods/{method.id}", params={"customer": method.customer_id})
        return PaymentMethodInfo(self.name, reply.data["id"], "card", method.customer_id)

    def op_detach(self, method: SavedPaymentMethod, *, key: str) -> Operation[None]:
        yield Call.delete(f"/methods/{method.id}", expect="empty", accept=frozenset({410}))

    def op_setup(self, customer: Any, *, success_url: str, cancel_url: str, key: str) -> Any:
        reply = yield Call.post("/setups", json={}, key=key)
        return reply.data

    def op_complete_setup(
        self, source: Any, *, params: Mapping[str, str], key: str
    ) -> Operation[SavedPaymentMethod]:
        if isinstance(source, WebhookEvent) and source.saved_payment_method is not None:
            return source.saved_payment_method
        reply = yield Call.post("/setups/complete", json={"id": str(source)}, key=key)
        return SavedPaymentMethod(self.name, reply.data["method"])

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        verify_hmac_sha256_hex(body, headers.get("sig"), secret)
        return immediately(None)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Any:
        payload = parse_json_body(body, provider=self.name)
        if "ref" in payload:
            return EventReference(self.name, payload["ref"], kind="charge")
        return EVENTS.normalize(
            payload["type"], payload["object"], event_id=headers.get("event-id") or payload["id"]
        )

    def op_fetch_event(self, reference: EventReference) -> Operation[WebhookEvent]:
        reply = yield Call.get(f"/charges/{reference.resource_id}")
        obj = reply.data
        return EVENTS.normalize("paid", obj, event_id=f"{obj['id']}:{obj['status']}")

    def op_follow_up(self, event: WebhookEvent) -> Operation[WebhookEvent | None]:
        if event.type is not EventType.SETUP_COMPLETED or event.payment_method_id:
            return None
        reply = yield Call.get(f"/setups/{event.session_id}")
        return attrs.evolve(event, payment_method_id=reply.data["method"])


class Api:
    """A scripted ``MockTransport`` handler: answers by (method, path), remembers requests."""

    def __init__(self, routes: Mapping[tuple[str, str], list[httpx.Response | Exception]]) -> None:
        self.routes = {k: list(v) for k, v in routes.items()}
        self.requests: list[httpx.Request] = []
        self.threads: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.threads.add(threading.current_thread().name)
        key = (request.method, request.url.path)
        if key == ("POST", "/token") and key not in self.routes:
            KToy.tokens_issued += 1
            return httpx.Response(200, json={"token": f"tok{KToy.tokens_issued}"})
        answers = self.routes.get(key)
        if not answers:
            return httpx.Response(404, json={"error": {"code": "missing", "message": "no route"}})
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        # A fresh copy each time: a response object, once sent, belongs to its client.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    def sent(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def _ktoy(api: Api, *, attempts: int = 3, **settings: Any) -> KToy:
    config = KConfig(api_key=Secret("sk_test_ktoy0000"), max_attempts=attempts, **settings)
    provider = KToy.create(config, transport=httpx.MockTransport(api))
    provider.http._sleep = lambda _: None

    async def no_wait(_: float) -> None:
        return None

    provider.http._async_sleep = no_wait
    return provider


def _ok(**data: Any) -> httpx.Response:
    return httpx.Response(200, json=data)


CHARGED = _ok(id="ch_1", amount=1234, status="succeeded")
METHOD = SavedPaymentMethod("ktoy", "pm_1", "cus_1")
AMOUNT = Money("12.34", "USD")


def _charge(provider: KToy, mode: str, **kwargs: Any) -> ChargeResult:
    if mode == "sync":
        return provider.charge_payment_method(METHOD, AMOUNT, **kwargs)
    return asyncio.run(provider.charge_payment_method_async(METHOD, AMOUNT, **kwargs))


MODES = ["sync", "async"]


@pytest.mark.parametrize("mode", MODES)
def test_one_operation_runs_sync_and_async(mode: str) -> None:
    api = Api({("POST", "/charges"): [CHARGED]})
    provider = _ktoy(api)
    result = _charge(provider, mode, invoice_id="inv_1", idempotency_key="key-1")
    assert result == ChargeResult(
        "ktoy", "ch_1", AMOUNT, PaymentStatus.SUCCEEDED, "succeeded", invoice_id="inv_1"
    )
    (charge,) = api.sent("/charges")
    assert charge.headers["Idempotency-Key"] == "key-1"
    assert charge.headers["Authorization"].startswith("Bearer tok")
    assert json.loads(charge.content) == {"method": "pm_1", "amount": 1234, "invoice": "inv_1"}
    if mode == "async":
        # Native: no worker thread carried the request.
        assert api.threads == {threading.current_thread().name}


@pytest.mark.parametrize("mode", MODES)
def test_a_key_is_made_before_the_first_attempt_and_reused(mode: str) -> None:
    api = Api({("POST", "/charges"): [httpx.Response(503), CHARGED]})
    _charge(_ktoy(api), mode)
    first, second = api.sent("/charges")
    key = first.headers["Idempotency-Key"]
    assert key
    assert second.headers["Idempotency-Key"] == key


@pytest.mark.parametrize("mode", MODES)
def test_outcome_unknown_always_carries_the_operations_key(mode: str) -> None:
    lost = httpx.ReadError("connection reset after the request was sent")
    api = Api({("POST", "/charges"): [lost]})
    with pytest.raises(OutcomeUnknown) as caught:
        _charge(_ktoy(api), mode)
    key = api.sent("/charges")[0].headers["Idempotency-Key"]
    assert caught.value.idempotency_key == key
    assert len(api.sent("/charges")) == 3  # keyed: retried, with the same key


@pytest.mark.parametrize("mode", MODES)
def test_a_later_step_failing_in_transit_names_the_operations_key(mode: str) -> None:
    refuse = httpx.Response(400, json={"error": {"code": "use_order", "message": "order first"}})
    api = Api(
        {
            ("POST", "/charges"): [refuse],
            ("POST", "/orders"): [_ok(id="ord_1")],
            ("GET", "/orders/ord_1/charge"): [httpx.ReadTimeout("lost")],
        }
    )
    with pytest.raises(ProviderUnavailable):
        _charge(_ktoy(api), mode, idempotency_key="op-key")
    (order,) = api.sent("/orders")
    assert order.headers["Idempotency-Key"] == "op-key:order"

    api = Api(
        {
            ("POST", "/charges"): [refuse],
            ("POST", "/orders"): [httpx.ReadError("lost")],
        }
    )
    with pytest.raises(OutcomeUnknown) as caught:
        _charge(_ktoy(api), mode, idempotency_key="op-key")
    assert caught.value.idempotency_key == "op-key"  # not the step's "op-key:order"


@pytest.mark.parametrize("mode", MODES)
def test_errors_are_thrown_into_the_operation(mode: str) -> None:
    refuse = httpx.Response(400, json={"error": {"code": "use_order", "message": "order first"}})
    api = Api(
        {
            ("POST", "/charges"): [refuse],
            ("POST", "/orders"): [_ok(id="ord_1")],
            ("GET", "/orders/ord_1/charge"): [CHARGED],
        }
    )
    assert _charge(_ktoy(api), mode).id == "ch_1"


@pytest.mark.parametrize(
    ("status", "body", "expected", "raw_code"),
    [
        (402, {"error": {"code": "declined", "message": "no"}}, CardDeclined, "declined"),
        (400, {"error": {"code": "stolen", "message": "no"}}, InvalidRequest, "stolen"),
        (400, {"error": {"message": "Your card was refused"}}, CardDeclined, None),
        (404, {"error": {"code": "missing", "message": "gone"}}, NotFound, "missing"),
        (404, {}, NotFound, None),
        (401, {"error": {"code": "bad_key"}}, AuthenticationFailed, "bad_key"),
        (403, {}, AuthenticationFailed, None),
        (429, {}, RateLimited, None),
        (422, {"error": {"code": "other"}}, InvalidRequest, "other"),
    ],
)
def test_the_error_table(
    status: int, body: dict[str, Any], expected: type[Exception], raw_code: str | None
) -> None:
    api = Api({("POST", "/charges"): [httpx.Response(status, json=body)]})
    provider = _ktoy(api, attempts=1)
    with pytest.raises(expected) as caught:
        _charge(provider, "sync")
    assert type(caught.value) is expected
    assert getattr(caught.value, "raw_code", None) == raw_code
    assert getattr(caught.value, "provider", None) == "ktoy"


def test_authentication_required_says_how_to_bring_the_customer_back() -> None:
    body = {"error": {"code": "needs_3ds", "transaction": "pi_9", "url": "https://pay/3ds"}}
    api = Api({("POST", "/charges"): [httpx.Response(402, json=body)]})
    with pytest.raises(AuthenticationRequired) as caught:
        _charge(_ktoy(api), "sync")
    assert caught.value.transaction_id == "pi_9"
    assert caught.value.action_url == "https://pay/3ds"


@pytest.mark.parametrize("mode", MODES)
def test_5xx_after_a_post_is_outcome_unknown_and_after_a_get_unavailable(mode: str) -> None:
    api = Api({("POST", "/charges"): [httpx.Response(500, headers={"X-Request-Id": "req_1"})]})
    with pytest.raises(OutcomeUnknown) as caught:
        _charge(_ktoy(api, attempts=1), mode, idempotency_key="k5")
    assert caught.value.idempotency_key == "k5"
    assert caught.value.request_id == "req_1"
    api = Api({("GET", "/methods/pm_1"): [httpx.Response(503)]})
    with pytest.raises(ProviderUnavailable):
        _ktoy(api, attempts=1).get_payment_method_details(METHOD)


@pytest.mark.parametrize("mode", MODES)
def test_unreadable_success_bodies(mode: str) -> None:
    api = Api({("POST", "/charges"): [httpx.Response(200, content=b"<html>oops")]})
    with pytest.raises(OutcomeUnknown) as caught:
        _charge(_ktoy(api), mode, idempotency_key="ku")
    assert caught.value.idempotency_key == "ku"
    api = Api({("GET", "/methods/pm_1"): [httpx.Response(200, json=["not", "an", "object"])]})
    provider = _ktoy(api)

    def details() -> object:
        if mode == "sync":
            return provider.get_payment_method_details(METHOD)
        return asyncio.run(provider.get_payment_method_details_async(METHOD))

    with pytest.raises(ProviderUnavailable):
        details()


def test_accepted_statuses_come_back_as_replies() -> None:
    api = Api({("DELETE", "/methods/pm_1"): [httpx.Response(410)]})
    assert _ktoy(api).detach_payment_method(METHOD) is None


@pytest.mark.parametrize("mode", MODES)
def test_an_expired_credential_is_renewed_once(mode: str) -> None:
    expired = httpx.Response(401, json={"error": {"code": "token_expired"}})
    api = Api({("POST", "/charges"): [expired, CHARGED]})
    provider = _ktoy(api)
    assert _charge(provider, mode).id == "ch_1"
    first, second = api.sent("/charges")
    assert first.headers["Authorization"] != second.headers["Authorization"]
    api = Api({("POST", "/charges"): [expired]})
    with pytest.raises(AuthenticationFailed):
        _charge(_ktoy(api), mode)
    assert len(api.sent("/charges")) == 2  # renewed once, then given up


def test_the_providers_retry_advice_flows_into_the_policy() -> None:
    # A veto: a 503 the provider says not to retry is not retried, keyed or not.
    api = Api({("POST", "/charges"): [httpx.Response(503, headers={"Should-Retry": "false"})]})
    with pytest.raises(OutcomeUnknown):
        _charge(_ktoy(api), "sync")
    assert len(api.sent("/charges")) == 1
    # Advice to retry a status the policy would not: a 409 lock, retried with the same key.
    conflict = httpx.Response(409, headers={"Should-Retry": "true"})
    api = Api({("POST", "/charges"): [conflict, CHARGED]})
    assert _charge(_ktoy(api), "sync").id == "ch_1"
    assert len(api.sent("/charges")) == 2


def test_form_bodies_are_written_with_brackets() -> None:
    api = Api({("POST", "/refunds"): [_ok(id="re_1")]})
    _ktoy(api).create_refund("ch_1", metadata={"why": "asked"})
    (refund,) = api.sent("/refunds")
    assert refund.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert refund.content == b"charge=ch_1&meta%5Bwhy%5D=asked"
    assert encode_form({"a": {"b": [1, True, None, "x"]}, "n": None}) == [
        ("a[b][0]", "1"),
        ("a[b][1]", "true"),
        ("a[b][3]", "x"),
    ]
    with pytest.raises(TypeError, match="float"):
        encode_form({"amount": 1.5})


def test_derived_keys_stay_within_the_providers_limit() -> None:
    assert derived_key("k", "step") == "k:step"
    long = derived_key("k" * 300, "order", max_length=40)
    assert len(long) <= 40
    assert long.endswith(":order")
    assert long == derived_key("k" * 300, "order", max_length=40)
    assert long != derived_key("k" * 299 + "j", "order", max_length=40)


def test_methods_are_taken_as_objects_or_ids() -> None:
    api = Api({("GET", "/methods/pm_1"): [_ok(id="pm_1")]})
    provider = _ktoy(api)
    assert provider.get_payment_method_details(METHOD).customer_id == "cus_1"
    assert provider.get_payment_method_details("pm_1").id == "pm_1"
    assert api.requests[-2].url.params["customer"] == "cus_1"
    with pytest.raises(NotFound):
        provider.get_payment_method_details("")


def _signed(body: dict[str, Any], secret: str, **headers: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"sig": hmac_sha256_hex(secret, raw), **headers}


@pytest.mark.parametrize("mode", MODES)
def test_any_configured_webhook_secret_verifies(mode: str) -> None:
    provider = _ktoy(Api({}), webhook_secret="new-secret", webhook_secrets=("old-secret",))

    def verify(body: bytes, headers: dict[str, str]) -> None:
        if mode == "sync":
            provider.verify_webhook(body, headers)
        else:
            asyncio.run(provider.verify_webhook_async(body, headers))

    for secret in ("new-secret", "old-secret"):
        verify(*_signed({"id": "e"}, secret))
    with pytest.raises(InvalidSignature):
        verify(*_signed({"id": "e"}, "someone-else"))
    with pytest.raises(InvalidSignature):
        verify(b"{}", {"sig": 123})  # type: ignore[dict-item]  # odd types: still only this
    unconfigured = _ktoy(Api({}))
    with pytest.raises(InvalidSignature, match="no webhook secret"):
        unconfigured.verify_webhook(*_signed({"id": "e"}, "x"))


def test_parse_fetch_and_follow_up() -> None:
    paid = {"id": "ch_7", "amount": 500, "currency": "USD", "status": "succeeded", "invoice": "i7"}
    api = Api(
        {("GET", "/charges/ch_7"): [_ok(**paid)], ("GET", "/setups/ss_1"): [_ok(method="pm_9")]}
    )
    provider = _ktoy(api)
    reference = provider.parse_webhook(b'{"ref": "ch_7"}', {})
    assert reference == EventReference("ktoy", "ch_7", kind="charge")
    assert isinstance(reference, EventReference)
    fetched = provider.fetch_webhook_event(reference)
    assert (fetched.id, fetched.type, fetched.invoice_id) == (
        "ch_7:succeeded",
        EventType.PAYMENT_SUCCEEDED,
        "i7",
    )
    assert asyncio.run(provider.fetch_webhook_event_async(reference)) == fetched
    body = json.dumps({"id": "e1", "type": "saved", "object": {"session": "ss_1"}}).encode()
    event = provider.parse_webhook(body, {"event-id": "from-header"})
    assert isinstance(event, WebhookEvent)
    assert event.id == "from-header"
    assert event.saved_payment_method is None
    completed = provider.follow_up(event)
    assert completed is not None
    assert completed.saved_payment_method == SavedPaymentMethod("ktoy", "pm_9")
    assert provider.complete_setup(completed) == SavedPaymentMethod("ktoy", "pm_9")
    assert provider.follow_up(completed) is None  # nothing left to complete


def test_complete_setup_keys_come_from_the_session() -> None:
    api = Api({("POST", "/setups/complete"): [_ok(method="pm_3")]})
    provider = _ktoy(api)
    assert provider.complete_setup("ss_4") == SavedPaymentMethod("ktoy", "pm_3")
    assert asyncio.run(provider.complete_setup_async("ss_4")).id == "pm_3"
    first, second = api.sent("/setups/complete")
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["Idempotency-Key"] == "paywire-setup-ss_4"


def test_handle_webhook_event_goes_through_parse_webhook() -> None:
    provider = _ktoy(Api({}))
    event = provider.handle_webhook_event(
        {"id": "e2", "type": "paid", "object": {"id": "c", "amount": 1, "currency": "USD"}}
    )
    assert event.type is EventType.PAYMENT_SUCCEEDED
    with pytest.raises(UnknownEvent):
        provider.handle_webhook_event({"ref": "ch_7"})  # only a reference: fetch it instead
    with pytest.raises(UnknownEvent):
        provider.handle_webhook_event({"id": "e3", "type": "other", "object": {}})


def test_event_rules_refuse_what_they_cannot_read() -> None:
    with pytest.raises(MalformedWebhook):
        EVENTS.normalize("paid", {"amount": "x", "currency": "USD"}, event_id="e")
    with pytest.raises(MalformedWebhook, match="NUL"):
        EVENTS.normalize("saved", {"session": "s\x00"}, event_id="e")
    with pytest.raises(MalformedWebhook, match="surrogate"):
        EVENTS.normalize("saved", {"session": "s"}, event_id="\ud800")
    with pytest.raises(MalformedWebhook):
        EVENTS.normalize("saved", {"session": 5}, event_id="e")
    assert EVENTS.types == {"paid", "saved"}
    assert len(EVENTS) == 2
    assert "paid" in EVENTS


def test_the_async_client_belongs_to_its_event_loop() -> None:
    api = Api({("POST", "/charges"): [CHARGED]})
    provider = _ktoy(api)
    for _ in range(3):  # three loops, one after another: each gets a client of its own
        assert _charge(provider, "async").id == "ch_1"
    assert len(provider.http._async_clients) <= 1  # closed loops' clients are forgotten

    async def twice() -> None:
        await provider.charge_payment_method_async(METHOD, AMOUNT)
        await provider.aclose()

    asyncio.run(twice())


def test_missing_operations_are_found_at_registration() -> None:
    class Incomplete(KToy):
        capabilities: ClassVar[Capabilities] = Capabilities({Capability.CHECKOUT})

    assert Incomplete.missing_operations() == ["op_checkout"]
    assert KToy.missing_operations() == []

    @hookimpl
    def paywire_register_providers(register: Callable[[type[Any]], None]) -> None:
        register(Incomplete)

    plugin = type(
        "P",
        (),
        {
            "PAYWIRE_API": ">=1.1,<2",
            "paywire_register_providers": staticmethod(paywire_register_providers),
        },
    )
    with Paywire(plugins=[("incomplete", plugin)], load_entry_points=False) as pw:
        assert pw.providers == {}
        (skipped,) = pw.skipped
        assert "op_checkout" in skipped.reason


def test_an_undeclared_capability_is_refused_without_http() -> None:
    api = Api({})
    provider = _ktoy(api)
    with pytest.raises(InvalidRequest, match="does not support 'checkout'"):
        provider.create_checkout_session(
            None,
            success_url="https://x",
            cancel_url="https://y",
        )
    assert api.requests == []


def test_an_async_only_transport_refuses_the_sync_path() -> None:
    class AsyncOnly(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/token":
                return httpx.Response(200, json={"token": "tok"})
            return httpx.Response(200, json={"id": "ch_1", "amount": 1234, "status": "succeeded"})

    provider = KToy.create(KConfig(api_key=Secret("k")), transport=AsyncOnly())
    assert asyncio.run(provider.charge_payment_method_async(METHOD, AMOUNT)).id == "ch_1"
    with pytest.raises(ConfigurationError, match="async-only"):
        provider.charge_payment_method(METHOD, AMOUNT)


@pytest.mark.parametrize("mode", MODES)
def test_a_repeatable_post_is_retried_and_never_outcome_unknown(mode: str) -> None:
    # The token request changes nothing however often it is sent: a lost answer is retried,
    # and giving up means nothing happened — not that a charge may have been made.
    lost = httpx.ReadError("lost after sending")
    api = Api({("POST", "/token"): [lost]})
    with pytest.raises(ProviderUnavailable):
        _charge(_ktoy(api), mode)
    assert len(api.sent("/token")) == 3
    assert api.sent("/charges") == []
    api = Api({("POST", "/token"): [httpx.Response(502)]})
    with pytest.raises(ProviderUnavailable):
        _charge(_ktoy(api), mode)


def test_errors_reported_inside_a_successful_answer_use_the_same_table() -> None:
    # A provider that answers 200 with a failed payment object: the op builds the error from
    # the table, as the kernel does for an error status.
    provider = _ktoy(Api({}))
    declined = provider.error_from(ErrorInfo(code="declined", message="no"), status=402)
    assert type(declined) is CardDeclined
    assert (declined.raw_code, declined.http_status) == ("declined", 402)
    needs = provider.error_from(
        ErrorInfo(code="needs_3ds", transaction_id="pi_2", action_url="https://a"),
        operation="charge",
    )
    assert isinstance(needs, AuthenticationRequired)
    assert (needs.transaction_id, needs.action_url) == ("pi_2", "https://a")
    assert type(provider.error_from(ErrorInfo(message="odd"))) is InvalidRequest
    refused = provider.error_from(ErrorInfo(message="The card was refused by sk_test_abcdefgh"))
    assert type(refused) is CardDeclined
    assert "sk_test_abcdefgh" not in str(refused)


class Strict(KToy):
    """Operations that read answers the way real plugins do."""

    error_rules: ClassVar[tuple[ErrorRule, ...]] = (
        *KToy.error_rules,
        ErrorRule(OutcomeUnknown, codes=frozenset({"in_progress"})),
    )

    def op_refund(
        self,
        transaction_id: str,
        amount: Money | None,
        *,
        reason: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[Any]:
        if transaction_id == "bug":
            raise KeyError("the plugin's own mistake, before any request")
        reply = yield Call.post("/refunds", json={"charge": transaction_id}, key=key)
        if "status" not in reply.data:
            raise UnexpectedAnswer("the refund has no status")
        return reply.data["id"]  # a KeyError when the answer lacks it

    def op_method_details(self, method: SavedPaymentMethod) -> Operation[PaymentMethodInfo]:
        reply = yield Call.get("/methods", params={"id": method.id, "expand": ["card", "customer"]})
        return PaymentMethodInfo(self.name, reply.data["card"]["id"], "card")

    def op_detach(self, method: SavedPaymentMethod, *, key: str) -> Operation[None]:
        yield Call.delete(f"/methods/{method.id}", expect="empty")

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        # A check that fetches something first (PayPal's certificate): it goes through a driver.
        reply = yield Call.get("/keys", authenticate=False)
        if reply.data.get("secret") != secret:
            raise InvalidSignature("not signed with that key")


def _strict(api: Api, **settings: Any) -> Strict:
    provider = Strict.create(
        KConfig(api_key=Secret("sk_test_ktoy0000"), **settings),
        transport=httpx.MockTransport(api),
    )
    provider.http._sleep = lambda _: None
    return provider


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_ok(id="re_1"), OutcomeUnknown),  # no status: UnexpectedAnswer after a POST
        (_ok(status="pending"), OutcomeUnknown),  # no id: a KeyError reading it
    ],
)
def test_an_answer_without_what_the_provider_documents(
    answer: httpx.Response, expected: type[Exception]
) -> None:
    provider = _strict(Api({("POST", "/refunds"): [answer]}))
    with pytest.raises(expected) as caught:
        provider.create_refund("ch_1", idempotency_key="rk")
    assert caught.value.idempotency_key == "rk"  # type: ignore[attr-defined]
    assert "unexpected answer from ktoy to POST /refunds" in str(caught.value)
    with pytest.raises(KeyError, match="own mistake"):  # nothing read yet: not the answer's
        provider.create_refund("bug")
    reads = _strict(Api({("GET", "/methods"): [_ok(card={"no": "id"})]}))
    with pytest.raises(ProviderUnavailable, match="GET /methods"):
        reads.get_payment_method_details(METHOD)


def test_nested_query_parameters_are_written_with_brackets() -> None:
    api = Api({("GET", "/methods"): [_ok(card={"id": "pm_1"})]})
    _strict(api).get_payment_method_details(METHOD)
    assert api.requests[-1].url.query == b"id=pm_1&expand%5B0%5D=card&expand%5B1%5D=customer"


def test_error_bodies_are_read_even_when_no_body_was_expected() -> None:
    gone = httpx.Response(400, json={"error": {"code": "missing", "message": "no such method"}})
    with pytest.raises(NotFound) as caught:
        _strict(Api({("DELETE", "/methods/pm_1"): [gone]})).detach_payment_method(METHOD)
    assert caught.value.raw_code == "missing"


def test_an_in_progress_rule_is_outcome_unknown_with_the_key() -> None:
    busy = httpx.Response(409, json={"error": {"code": "in_progress", "message": "still going"}})
    with pytest.raises(OutcomeUnknown) as caught:
        _strict(Api({("POST", "/refunds"): [busy]})).create_refund("ch_1", idempotency_key="k9")
    assert caught.value.idempotency_key == "k9"
    assert caught.value.raw_code == "in_progress"


def test_a_request_id_named_in_the_body_is_kept() -> None:
    class BodyIds(Strict):
        def read_error(self, reply: Reply) -> ErrorInfo:
            return attrs.evolve(super().read_error(reply), request_id="dbg_7")

    provider = BodyIds.create(
        KConfig(api_key=Secret("k")),
        transport=httpx.MockTransport(Api({("POST", "/refunds"): [httpx.Response(422)]})),
    )
    with pytest.raises(InvalidRequest) as caught:
        provider.create_refund("ch_1")
    assert caught.value.request_id == "dbg_7"


@pytest.mark.parametrize("mode", MODES)
def test_a_verification_that_fetches_goes_through_the_driver(mode: str) -> None:
    api = Api({("GET", "/keys"): [_ok(secret="s1")]})
    provider = _strict(api, webhook_secret="s0", webhook_secrets=("s1",))

    def verify() -> None:
        if mode == "sync":
            provider.verify_webhook(b"{}", {})
        else:
            asyncio.run(provider.verify_webhook_async(b"{}", {}))

    verify()  # the second configured secret is the one the fetched key names
    assert len(api.sent("/keys")) == 2
    failing = _strict(Api({("GET", "/keys"): [httpx.Response(503)]}), webhook_secret="s0")
    with pytest.raises(InvalidSignature, match="could not be verified"):
        failing.verify_webhook(b"{}", {})


@pytest.mark.parametrize("mode", MODES)
def test_a_check_that_errors_with_one_secret_goes_on_to_the_next(mode: str) -> None:
    # The first check's key fetch is refused (not a retryable failure): the second secret's
    # check still runs, on both paths, and verifies the delivery.
    api = Api({("GET", "/keys"): [httpx.Response(400), _ok(secret="s1")]})
    provider = _strict(api, webhook_secret="s0", webhook_secrets=("s1",))
    if mode == "sync":
        provider.verify_webhook(b"{}", {})
    else:
        asyncio.run(provider.verify_webhook_async(b"{}", {}))
    assert len(api.sent("/keys")) == 2


def test_only_saved_methods_are_saved_payment_methods() -> None:
    used = WebhookEvent("ktoy", "e", EventType.PAYMENT_SUCCEEDED, "paid", payment_method_id="pm_1")
    assert used.saved_payment_method is None  # a one-off payment names the method it used
    saved = attrs.evolve(used, method_saved=True, customer_id="cus_1")
    assert saved.saved_payment_method == SavedPaymentMethod("ktoy", "pm_1", "cus_1")
    for kind in (EventType.SETUP_COMPLETED, EventType.PAYMENT_METHOD_ATTACHED):
        assert attrs.evolve(used, type=kind).saved_payment_method is not None
