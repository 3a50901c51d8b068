"""The shapes' common ground: a small payment API (its sandbox fake), a kernel provider for it,
written as a third party would today (``paywire.plugin``), and its contract harness.

Each shape module changes only what makes it that shape. The fake is the independent party: it
signs and converts amounts its own way (``hmac``, integers), never with the provider's helpers.

The API: ``POST /v1/checkout`` and ``/v1/setup`` (hosted pages), ``GET /v1/setup/{id}``,
``POST /v1/charges`` and ``/v1/refunds`` (``Idempotency-Key``), ``GET /v1/charges/{id}``,
``GET /v1/refunds/{id}``, and saved methods at ``/v1/methods/{id}`` (``GET``, ``DELETE``). Errors
are ``{"error": {"code", "message"}}``. Control routes (``/_sandbox/{name}``):
``POST /checkout/{id}/complete`` (a checkout or a setup session), ``POST /methods`` (``{"kind"}``)
and ``GET /charges?method=`` (how many charges a method has had).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

import attrs
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

import paywire
from paywire import (
    AlreadyRefunded,
    AuthenticationRequired,
    Capabilities,
    Capability,
    CardDeclined,
    ChargeResult,
    CheckoutSession,
    EventReference,
    EventType,
    Money,
    NotFound,
    PaymentMethodExpired,
    PaymentMethodInfo,
    PaymentStatus,
    ProviderConfig,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    Secret,
    SetupSession,
    UnknownEvent,
    WebhookEvent,
)
from paywire.plugin import (
    Call,
    CurrencyRules,
    ErrorRule,
    EventFields,
    EventRule,
    EventRules,
    KernelProvider,
    Operation,
    derived_key,
    get_header,
    immediately,
    new_idempotency_key,
    parse_json_body,
    secret_field,
    utc_from_timestamp,
    verify_timestamped,
)
from paywire_contract import Harness, MethodKind, ScenarioContext, WebhookSample
from paywire_sandbox import Fake, WebhookEndpoint

__all__ = ["ShapeConfig", "ShapeFake", "ShapeHarness", "ShapeProvider", "charge_events"]

_DECLINES: Final = {
    "declines": (402, "card_declined", "Your card was declined."),
    "expired": (402, "expired_card", "Your card has expired."),
    "needs_authentication": (
        402,
        "authentication_required",
        "This payment needs the customer to authenticate.",
    ),
}
_STATUSES: Final = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "pending": PaymentStatus.PENDING,
    "failed": PaymentStatus.FAILED,
}
_REFUND_STATUSES: Final = {
    "succeeded": RefundStatus.SUCCEEDED,
    "pending": RefundStatus.PENDING,
    "failed": RefundStatus.FAILED,
}


def hmac_hex(secret: str, message: bytes) -> str:
    """The hex HMAC-SHA256 of ``message``, computed here (not with the provider's helpers)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# -- the fake ---------------------------------------------------------------------------------


class ShapeFake(Fake):
    """The provider's side of a shape. Class attributes switch the shape's behaviour."""

    name: ClassVar[str]
    #: Charges and refunds stay pending until the clock moves (then they settle by webhook).
    settles_later: ClassVar[bool] = False
    #: Saved methods live under their customer (``/v1/customers/{c}/mandates/{m}``).
    mandates: ClassVar[bool] = False
    #: Errors carry a machine-readable code.
    error_codes: ClassVar[bool] = True

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self.counter = 0
        self.sessions: dict[str, dict[str, Any]] = {}
        self.methods: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.answers: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:06d}"

    # -- what differs per shape ------------------------------------------------------------

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        """``Shape-Signature: t=…,v1=…`` over ``{t}.{body}``."""
        digest = hmac_hex(endpoint.secret, f"{timestamp}.".encode() + body)
        return {"Shape-Signature": f"t={timestamp},v1={digest}"}

    def notify(self, event_type: str, obj: Mapping[str, Any]) -> None:
        """Send a webhook about ``obj``: ``{"id", "type", "created", "data"}``."""
        event_id = self._id("evt")
        body = json.dumps(
            {"id": event_id, "type": event_type, "created": int(self.ctx.clock.now()), "data": obj}
        ).encode()
        self.ctx.webhooks.emit(self.name, event_id, event_type, body)

    def checkout_paid(self, session: Mapping[str, Any], charge: Mapping[str, Any]) -> None:
        """The webhooks of a completed checkout: checkout-completed, then payment-succeeded."""
        self.notify("checkout.completed", {**session, "charge": charge["id"]})
        self.notify("payment.succeeded", charge)
        self.notify("customer.touched", {"customer": charge.get("customer")})

    # -- routes ----------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """The provider's API."""
        methods = "/v1/customers/{customer}/mandates/{id}" if self.mandates else "/v1/methods/{id}"
        return [
            Route("/v1/checkout", self.create_checkout, methods=["POST"]),
            Route("/v1/setup", self.create_setup, methods=["POST"]),
            Route("/v1/setup/{id}", self.get_setup, methods=["GET"]),
            Route("/v1/charges", self.create_charge, methods=["POST"]),
            Route("/v1/charges/{id}", self.get_charge, methods=["GET"]),
            Route("/v1/refunds", self.create_refund, methods=["POST"]),
            Route("/v1/refunds/{id}", self.get_refund, methods=["GET"]),
            Route(methods, self.method, methods=["GET", "DELETE"]),
        ]

    def control_routes(self) -> Sequence[BaseRoute]:
        """Complete a hosted page, make a saved method, count a method's charges."""
        return [
            Route("/checkout/{id}/complete", self.complete, methods=["POST"]),
            Route("/methods", self.new_method, methods=["POST"]),
            Route("/charges", self.count_charges, methods=["GET"]),
        ]

    def error(self, status: int, code: str, message: str) -> JSONResponse:
        """An error answer, with or without a code as the shape has them."""
        return JSONResponse(self._error_body(code, message), status_code=status)

    def _base(self, request: Request) -> str:
        return f"{str(request.base_url).rstrip('/')}/{self.name}"

    async def create_checkout(self, request: Request) -> JSONResponse:
        body = await request.json()
        session = {
            "id": self._id("cs"),
            "kind": "checkout",
            "invoice_id": body["invoice_id"],
            "amount": int(body["amount"]),
            "currency": body["currency"],
            "success_url": body["success_url"],
            "save_method": bool(body.get("save_method")),
            "status": "open",
        }
        session["url"] = f"{self._base(request)}/pay/{session['id']}"
        self.sessions[session["id"]] = session
        return JSONResponse(session)

    async def create_setup(self, request: Request) -> JSONResponse:
        body = await request.json()
        session = {
            "id": self._id("ss"),
            "kind": "setup",
            "customer": self._id("cus"),
            "reference": body.get("customer"),
            "success_url": body["success_url"],
            "status": "open",
            "method": None,
        }
        session["url"] = f"{self._base(request)}/setup/{session['id']}"
        self.sessions[session["id"]] = session
        return JSONResponse(session)

    async def get_setup(self, request: Request) -> JSONResponse:
        session = self.sessions.get(request.path_params["id"])
        setup = session if session is not None and session["kind"] == "setup" else None
        return self._found(setup, "setup session")

    def _new_method(self, kind: str, customer: str | None = None) -> dict[str, Any]:
        prefix = "mdt" if self.mandates else "pm"
        method = {"id": self._id(prefix), "kind": kind, "customer": customer or self._id("cus")}
        self.methods[method["id"]] = method
        return method

    async def new_method(self, request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(self._new_method(str(body["kind"])))

    async def count_charges(self, request: Request) -> JSONResponse:
        method = request.query_params.get("method")
        count = sum(1 for c in self.charges.values() if c["method"] == method)
        return JSONResponse({"method": method, "count": count})

    async def complete(self, request: Request) -> JSONResponse:
        session = self.sessions.get(request.path_params["id"])
        if session is None:
            return self.error(404, "not_found", "No such session.")
        session["status"] = "complete"
        if session["kind"] == "setup":
            session["method"] = self._new_method("succeeds", session["customer"])["id"]
            return JSONResponse(
                {"redirect_url": f"{session['success_url']}?setup_session={session['id']}"}
            )
        method = self._new_method("succeeds") if session["save_method"] else None
        charge = self._charge(
            session["amount"],
            session["currency"],
            session["invoice_id"],
            method["id"] if method else None,
            method["customer"] if method else None,
            "succeeded",
        )
        self.checkout_paid(
            {**session, "method": charge["method"], "customer": charge["customer"]}, charge
        )
        return JSONResponse(
            {"redirect_url": f"{session['success_url']}?session={session['id']}", "status": "ok"}
        )

    def _charge(
        self,
        amount: int,
        currency: str,
        invoice_id: str | None,
        method: str | None,
        customer: str | None,
        status: str,
    ) -> dict[str, Any]:
        charge: dict[str, Any] = {
            "id": self._id("ch"),
            "amount": amount,
            "currency": currency,
            "invoice_id": invoice_id,
            "method": method,
            "customer": customer,
            "status": status,
            "refunded": 0,
        }
        self.charges[charge["id"]] = charge
        return charge

    def _method_of(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        if self.mandates:
            method = self.methods.get(str(body.get("mandate")))
            return method if method and method["customer"] == body.get("customer") else None
        return self.methods.get(str(body.get("method")))

    async def _idempotent(self, request: Request, handler: Any) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        if key is not None and (request.url.path, key) in self.answers:
            status, cached = self.answers[(request.url.path, key)]
            return JSONResponse(cached, status_code=status)
        status, body = handler(await request.json())
        if key is not None:
            self.answers[(request.url.path, key)] = (status, body)
        return JSONResponse(body, status_code=status)

    def _error_body(self, code: str, message: str) -> dict[str, Any]:
        error = {"code": code, "message": message} if self.error_codes else {"message": message}
        return {"error": error}

    async def create_charge(self, request: Request) -> JSONResponse:
        return await self._idempotent(request, self._charge_answer)

    def _charge_answer(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        method = self._method_of(body)
        if method is None:
            return 404, self._error_body("not_found", "No such payment method.")
        kind = method["kind"]
        later = self.settles_later and kind in ("succeeds", "declines")
        if kind != "succeeds" and not later:
            status, code, message = _DECLINES[kind]
            return status, self._error_body(code, message)
        state = "pending" if later else "succeeded"
        charge = self._charge(
            int(body["amount"]),
            str(body["currency"]),
            body.get("invoice_id"),
            method["id"],
            method["customer"],
            state,
        )
        return 200, charge

    def _found(self, resource: dict[str, Any] | None, what: str) -> JSONResponse:
        if resource is None:
            return self.error(404, "not_found", f"No such {what}.")
        return JSONResponse(resource)

    async def get_charge(self, request: Request) -> JSONResponse:
        return self._found(self.charges.get(request.path_params["id"]), "charge")

    async def create_refund(self, request: Request) -> JSONResponse:
        return await self._idempotent(request, self._refund_answer)

    def _refund_answer(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        charge = self.charges.get(str(body.get("charge")))
        if charge is None:
            return 404, self._error_body("not_found", "No such charge.")
        if charge["status"] != "succeeded":
            return 400, self._error_body("charge_not_settled", "The charge has not settled.")
        left = charge["amount"] - charge["refunded"]
        amount = int(body.get("amount") or left)
        if left == 0:
            return 400, self._error_body(
                "charge_already_refunded", "The charge has already been refunded."
            )
        if amount > left:
            return 400, self._error_body(
                "amount_too_large", "The refund exceeds what is left of the charge."
            )
        charge["refunded"] += amount
        refund = {
            "id": self._id("re"),
            "charge": charge["id"],
            "amount": amount,
            "currency": charge["currency"],
            "status": "pending" if self.settles_later else "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    async def get_refund(self, request: Request) -> JSONResponse:
        return self._found(self.refunds.get(request.path_params["id"]), "refund")

    async def method(self, request: Request) -> JSONResponse:
        method = self.methods.get(request.path_params["id"])
        customer = request.path_params.get("customer")
        if method is None or (self.mandates and method["customer"] != customer):
            return self.error(404, "not_found", "No such payment method.")
        if request.method == "DELETE":
            del self.methods[method["id"]]
            return JSONResponse({"id": method["id"], "deleted": True})
        return JSONResponse(
            {**method, "type": "card", "brand": "visa", "last4": "4242", "exp_year": 2040}
        )

    def on_clock_advanced(self) -> None:
        """Settle what is pending (a shape whose charges and refunds settle later)."""
        if not self.settles_later:
            return
        for charge in self.charges.values():
            if charge["status"] != "pending":
                continue
            method = self.methods.get(charge["method"] or "")
            failed = method is not None and method["kind"] != "succeeds"
            charge["status"] = "failed" if failed else "succeeded"
            self.notify("payment.failed" if failed else "payment.succeeded", charge)
        for refund in self.refunds.values():
            if refund["status"] == "pending":
                refund["status"] = "succeeded"
                self.notify("refund.succeeded", refund)


# -- the provider -----------------------------------------------------------------------------


@attrs.frozen
class ShapeConfig(ProviderConfig):
    """A shape provider's settings."""

    api_key: Secret | None = secret_field()  # noqa: RUF009 - attrs field


def _amount(obj: Mapping[str, Any], rules: CurrencyRules) -> Money:
    return Money.from_minor_units(int(obj["amount"]), str(obj["currency"]), rules)


def charge_events(rules: CurrencyRules) -> dict[str, EventRule]:
    """The event rules of the JSON shapes: checkout-completed, payment-succeeded and -failed,
    refund-succeeded."""

    def paid(obj: Mapping[str, Any], transaction: Any) -> EventFields:
        return {
            "transaction_id": transaction,
            "invoice_id": obj.get("invoice_id"),
            "amount": _amount(obj, rules),
            "payment_method_id": obj.get("method"),
            "customer_id": obj.get("customer"),
            # The fakes name a method only when the checkout kept it.
            "method_saved": obj.get("method") is not None,
        }

    def charge(obj: Mapping[str, Any]) -> EventFields:
        return paid(obj, obj["id"])

    def session(obj: Mapping[str, Any]) -> EventFields:
        return {**paid(obj, obj.get("charge")), "session_id": obj["id"]}

    def refund(obj: Mapping[str, Any]) -> EventFields:
        return {
            "refund_id": obj["id"],
            "transaction_id": obj["charge"],
            "amount": _amount(obj, rules),
        }

    return {
        "checkout.completed": EventRule(EventType.CHECKOUT_COMPLETED, session),
        "payment.succeeded": EventRule(EventType.PAYMENT_SUCCEEDED, charge),
        "payment.failed": EventRule(EventType.PAYMENT_FAILED, charge),
        "refund.succeeded": EventRule(EventType.REFUND_SUCCEEDED, refund),
    }


class ShapeProvider(KernelProvider[ShapeConfig]):
    """The kernel provider of a shape. ``bugs`` switches on deliberate mistakes."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities(frozenset(Capability))
    config_class: ClassVar[type[ProviderConfig]] = ShapeConfig
    currency_rules: ClassVar[CurrencyRules]
    default_base_url: ClassVar[str] = "https://api.shapes.invalid"
    error_rules: ClassVar[Sequence[ErrorRule]] = (
        ErrorRule(CardDeclined, codes=frozenset({"card_declined"})),
        ErrorRule(PaymentMethodExpired, codes=frozenset({"expired_card"})),
        ErrorRule(AuthenticationRequired, codes=frozenset({"authentication_required"})),
        ErrorRule(
            AlreadyRefunded, codes=frozenset({"charge_already_refunded", "amount_too_large"})
        ),
        ErrorRule(NotFound, codes=frozenset({"not_found"})),
    )
    #: The shape's event table.
    events: ClassVar[EventRules]
    bugs: frozenset[str] = frozenset()

    def available(self) -> bool:
        return self.config.enabled and bool(self.config.api_key)

    def auth_headers(self) -> Mapping[str, str]:
        key = self.config.api_key.reveal() if self.config.api_key else ""
        return {"Authorization": f"Bearer {key}"}

    @property
    def rules(self) -> CurrencyRules:
        """The shape's currency rules."""
        return type(self).currency_rules

    def _money(self, obj: Mapping[str, Any]) -> Money:
        return _amount(obj, self.rules)

    # -- operations ------------------------------------------------------------------------

    def op_checkout(
        self,
        invoice: paywire.Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool,
        key: str,
    ) -> Operation[CheckoutSession]:
        total = invoice.total
        body = {
            "invoice_id": invoice.id,
            "amount": total.to_minor_units(self.rules),
            "currency": total.currency,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "save_method": save_payment_method and "checkout_forgets_method" not in self.bugs,
        }
        reply = yield Call.post("/v1/checkout", json=body, key=key, operation="checkout")
        data = reply.data
        return CheckoutSession(
            provider=self.name,
            id=data["id"],
            url=data["url"],
            invoice_id=data["invoice_id"],
            amount=self._money(data),
        )

    def op_setup(
        self, customer: paywire.Customer, *, success_url: str, cancel_url: str, key: str
    ) -> Operation[SetupSession]:
        body = {"customer": customer.id, "success_url": success_url, "cancel_url": cancel_url}
        reply = yield Call.post("/v1/setup", json=body, key=key, operation="setup")
        data = reply.data
        return SetupSession(
            provider=self.name, id=data["id"], url=data["url"], customer_id=data["customer"]
        )

    def op_complete_setup(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str],
        key: str,
    ) -> Operation[SavedPaymentMethod]:
        if isinstance(source, WebhookEvent):
            ident = source.session_id or ""
        elif isinstance(source, SetupSession):
            ident = source.id
        else:
            ident = params.get("setup_session") or source
        reply = yield Call.get(f"/v1/setup/{ident}", operation="setup")
        data = reply.data
        if data.get("status") != "complete" or not data.get("method"):
            raise AuthenticationRequired(
                "the customer has not finished the setup", provider=self.name
            )
        customer = None if "setup_drops_customer" in self.bugs else data.get("customer")
        return SavedPaymentMethod(self.name, data["method"], customer)

    def charge_body(self, method: SavedPaymentMethod) -> dict[str, Any]:
        """What names the method in a charge."""
        return {"method": method.id}

    def method_path(self, method: SavedPaymentMethod) -> str:
        """Where a saved method lives."""
        return f"/v1/methods/{method.id}"

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
        body = {
            **self.charge_body(method),
            "amount": amount.to_minor_units(self.rules),
            "currency": amount.currency,
            "invoice_id": invoice_id,
        }
        sent: str | None = key
        if "no_key_on_charge" in self.bugs:
            sent = None
        elif "fresh_key" in self.bugs:
            sent = new_idempotency_key()
        elif "second_key" in self.bugs:
            # The first charge with a key sends one derived key, every later one another.
            seen: set[str] = self.__dict__.setdefault("_keys_seen", set())
            sent = derived_key(key, "later" if key in seen else "first")
            seen.add(key)
        reply = yield Call.post("/v1/charges", json=body, key=sent, operation="charge")
        data = reply.data
        return ChargeResult(
            provider=self.name,
            id=data["id"],
            amount=self._money(data),
            status=_STATUSES.get(data["status"], PaymentStatus.FAILED),
            raw_status=data["status"],
            payment_method_id=method.id,
            invoice_id=data.get("invoice_id"),
        )

    def op_refund(
        self,
        transaction_id: str,
        amount: Money | None,
        *,
        reason: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[RefundResult]:
        body: dict[str, Any] = {"charge": transaction_id}
        if amount is not None:
            body["amount"] = amount.to_minor_units(self.rules)
        reply = yield Call.post("/v1/refunds", json=body, key=key, operation="refund")
        data = reply.data
        return RefundResult(
            provider=self.name,
            id=data["id"],
            transaction_id=data["charge"],
            amount=self._money(data),
            status=_REFUND_STATUSES.get(data["status"], RefundStatus.FAILED),
            raw_status=data["status"],
        )

    def op_method_details(self, method: SavedPaymentMethod) -> Operation[PaymentMethodInfo]:
        reply = yield Call.get(self.method_path(method), operation="details")
        data = reply.data
        return PaymentMethodInfo(
            provider=self.name,
            id=data["id"],
            type=data["type"],
            customer_id=data["customer"],
            brand=data["brand"],
            last4=data["last4"],
            exp_year=data["exp_year"],
        )

    def op_detach(self, method: SavedPaymentMethod, *, key: str) -> Operation[None]:
        yield Call.delete(self.method_path(method), key=derived_key(key, "detach"))

    # -- webhooks --------------------------------------------------------------------------

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        verify_timestamped(body, get_header(headers, "Shape-Signature"), secret, tolerance=300)
        return immediately(None)

    def event_id(self, payload: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
        """The delivery's event id (the body's ``id``)."""
        return payload.get("id")

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> WebhookEvent | EventReference:
        payload = parse_json_body(body, provider=self.name)
        if "parse_keyerror" in self.bugs and isinstance(payload, Mapping):
            payload["type"]  # KeyError for a body without a type, instead of UnknownEvent
        if not isinstance(payload, Mapping) or not isinstance(payload.get("type"), str):
            raise UnknownEvent("not an event", provider=self.name, event_type=None)
        data = payload.get("data")
        created = payload.get("created")
        return self.events.normalize(
            payload["type"],
            data if isinstance(data, Mapping) else {},
            event_id=self.event_id(payload, headers),
            created_at=utc_from_timestamp(created) if isinstance(created, int) else None,
        )


# -- the harness ------------------------------------------------------------------------------


class ShapeHarness(Harness):
    """A shape's contract harness; ``bugs`` go to the provider it builds."""

    provider_name: ClassVar[str]
    provider_class: ClassVar[type[ShapeProvider]]

    def __init__(self, bugs: Sequence[str] = ()) -> None:
        self.bugs = frozenset(bugs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} bugs={sorted(self.bugs)}>"

    def sandbox_settings(self, base_url: str) -> dict[str, Any]:
        name = self.provider_name
        return {
            "api_key": f"sk_test_{name}contract0001",
            "webhook_secret": f"whsec_{name}contract0001",
            "base_url": f"{base_url}/{name}",
        }

    def build_provider(
        self, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> ShapeProvider:
        config = paywire.load_config(ShapeConfig, self.provider_name, environ={}, **settings)
        provider = self.provider_class.create(config, transport=transport)
        provider.bugs = self.bugs
        return provider

    def saved_method(self, ctx: ScenarioContext, kind: MethodKind) -> SavedPaymentMethod:
        data = ctx.control_json("POST", f"/{self.provider_name}/methods", {"kind": kind})
        return SavedPaymentMethod(self.provider_name, data["id"], data["customer"])

    def charges_made(self, ctx: ScenarioContext, method: SavedPaymentMethod) -> int | None:
        data = ctx.control_json("GET", f"/{self.provider_name}/charges?method={method.id}")
        return int(data["count"])

    def charge_currency(self) -> str:
        return "USD"

    def zero_decimal_currency(self) -> str | None:
        return "JPY"

    def three_decimal_currency(self) -> str | None:
        return "KWD"

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        digest = hmac_hex(secret, f"{timestamp}.".encode() + payload)
        return {"Shape-Signature": f"t={timestamp},v1={digest}"}

    @staticmethod
    def payload(
        event_type: str, data: Mapping[str, Any], event_id: str = "evt_1"
    ) -> dict[str, Any]:
        """An event as the JSON shapes send it."""
        return {"id": event_id, "type": event_type, "created": 1_700_000_000, "data": dict(data)}

    def webhook_samples(
        self,
    ) -> Sequence[tuple[Mapping[str, Any] | WebhookSample, EventType]]:
        charge = {"id": "ch_1", "amount": 1234, "currency": "USD", "invoice_id": "inv_1"}
        session = {"id": "cs_1", "amount": 1234, "currency": "USD", "invoice_id": "inv_1"}
        refund = {"id": "re_1", "charge": "ch_1", "amount": 500, "currency": "USD"}
        return [
            (self.payload("checkout.completed", session, "evt_1"), EventType.CHECKOUT_COMPLETED),
            (self.payload("payment.succeeded", charge, "evt_2"), EventType.PAYMENT_SUCCEEDED),
            (self.payload("payment.failed", charge, "evt_3"), EventType.PAYMENT_FAILED),
            (self.payload("refund.succeeded", refund, "evt_4"), EventType.REFUND_SUCCEEDED),
        ]

    def unknown_event(self) -> Mapping[str, Any] | WebhookSample:
        return self.payload("customer.touched", {"customer": "cus_1"}, "evt_9")
