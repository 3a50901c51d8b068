"""A tiny provider for testing the contract suite itself: a sandbox fake, a provider plugin and
its harness, with switchable bugs so every check of the suite can be shown to fail.

``MiniHarness(bugs={"charge_amount"})`` builds a provider that has that bug. The fake is a real
sandbox fake (served by ``run_sandbox(fakes=[MiniFake])``) with idempotency keys, webhooks signed
``Mini-Signature: t=…,v1=…`` and the shared control routes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

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
    CurrencyRules,
    EventType,
    InvalidRequest,
    InvalidSignature,
    Money,
    NotFound,
    PaymentMethodExpired,
    PaymentMethodInfo,
    PaymentStatus,
    ProviderConfig,
    ProviderError,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    Secret,
    SetupSession,
    UnknownEvent,
    WebhookEvent,
    error_for_status,
    get_header,
    secret_field,
    verify_timestamped,
)
from paywire_contract import Harness, MethodKind, ScenarioContext
from paywire_sandbox import Fake, WebhookEndpoint, hookimpl

NAME = "minipay"
API_KEY = "sk_test_minipaycontract000000"
WEBHOOK_SECRET = "whsec_minipaycontract000000"

RULES = CurrencyRules(name=NAME, multiples={"KWD": 10})
logger = logging.getLogger("minipay")


# -- the fake ---------------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class MiniFake(Fake):
    """The provider's side: JSON API under ``/minipay``, control routes under
    ``/_sandbox/minipay``."""

    name: ClassVar[str] = NAME

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.reset()

    def reset(self) -> None:
        self.counter = 0
        self.sessions: dict[str, dict[str, Any]] = {}
        self.methods: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[int, dict[str, Any]]] = {}

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:06d}"

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        digest = hmac.new(
            endpoint.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return {"Mini-Signature": f"t={timestamp},v1={digest}"}

    def routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/v1/checkout", self.create_checkout, methods=["POST"]),
            Route("/v1/setup", self.create_setup, methods=["POST"]),
            Route("/v1/charges", self.create_charge, methods=["POST"]),
            Route("/v1/refunds", self.create_refund, methods=["POST"]),
            Route("/v1/methods/{id}", self.method, methods=["GET", "DELETE"]),
            Route("/v1/ping", self.ping, methods=["GET"]),
        ]

    def control_routes(self) -> Sequence[BaseRoute]:
        return [
            Route("/checkout/{id}/complete", self.complete, methods=["POST"]),
            Route("/methods", self.new_method, methods=["POST"]),
        ]

    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        event_id = self._id("evt")
        body = json.dumps(
            {"id": event_id, "type": event_type, "created": int(self.ctx.clock.now()), "data": data}
        ).encode()
        self.ctx.webhooks.emit(NAME, event_id, event_type, body)

    async def ping(self, request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def create_checkout(self, request: Request) -> JSONResponse:
        body = await request.json()
        session = {
            "id": self._id("cs"),
            "kind": "checkout",
            "url": f"{str(request.base_url).rstrip('/')}/minipay/pay/{self.counter}",
            "invoice_id": body.get("invoice_id"),
            "amount": body["amount"],
            "currency": body["currency"],
            "success_url": body["success_url"],
            "status": "open",
        }
        self.sessions[session["id"]] = session
        return JSONResponse(session)

    async def create_setup(self, request: Request) -> JSONResponse:
        body = await request.json()
        session = {
            "id": self._id("ss"),
            "kind": "setup",
            "url": f"{str(request.base_url).rstrip('/')}/minipay/setup/{self.counter}",
            "customer": body.get("customer"),
            "success_url": body["success_url"],
            "status": "open",
        }
        self.sessions[session["id"]] = session
        return JSONResponse(session)

    async def complete(self, request: Request) -> JSONResponse:
        session = self.sessions.get(request.path_params["id"])
        if session is None:
            return _error(404, "not_found", "no such session")
        session["status"] = "complete"
        if session["kind"] == "setup":
            method = self._new_method("succeeds", session.get("customer"))
            return JSONResponse(
                {"redirect_url": session["success_url"], "payment_method": method["id"]}
            )
        payment = self._id("pay")
        common = {
            "invoice_id": session["invoice_id"],
            "amount": session["amount"],
            "currency": session["currency"],
        }
        self._emit("checkout.done", {"session": session["id"], **common})
        self._emit("payment.ok", {"payment": payment, **common})
        self._emit("customer.touched", {"customer": "c_1"})
        return JSONResponse(
            {"redirect_url": f"{session['success_url']}?session={session['id']}", "status": "ok"}
        )

    def _new_method(self, kind: str, customer: str | None) -> dict[str, Any]:
        method = {"id": self._id("pm"), "kind": kind, "customer": customer or self._id("cus")}
        self.methods[method["id"]] = method
        return method

    async def new_method(self, request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse(self._new_method(body["kind"], body.get("customer")))

    async def method(self, request: Request) -> JSONResponse:
        method = self.methods.get(request.path_params["id"])
        if method is None:
            return _error(404, "not_found", "no such payment method")
        if request.method == "DELETE":
            del self.methods[method["id"]]
            return JSONResponse({"deleted": True})
        return JSONResponse(
            {**method, "type": "card", "brand": "visa", "last4": "4242", "exp_year": 2040}
        )

    async def create_charge(self, request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        if key is not None and key in self.idempotent:
            status, cached = self.idempotent[key]
            return JSONResponse(cached, status_code=status)
        body = await request.json()
        method = self.methods.get(body.get("method", ""))
        if method is None:
            status, out = 404, {"error": {"code": "not_found", "message": "no such method"}}
        elif method["kind"] != "succeeds":
            code = {
                "declines": "card_declined",
                "expired": "expired_card",
                "needs_authentication": "authentication_required",
            }[method["kind"]]
            status, out = 402, {"error": {"code": code, "message": f"charge failed: {code}"}}
        else:
            charge = {
                "id": self._id("ch"),
                "amount": body["amount"],
                "currency": body["currency"],
                "refunded": 0,
                "status": "succeeded",
                "invoice_id": body.get("invoice_id"),
                "method": method["id"],
            }
            self.charges[charge["id"]] = charge
            status, out = 200, charge
        if key is not None:
            self.idempotent[key] = (status, out)
        return JSONResponse(out, status_code=status)

    async def create_refund(self, request: Request) -> JSONResponse:
        body = await request.json()
        charge = self.charges.get(body.get("charge", ""))
        if charge is None:
            return _error(404, "not_found", "no such charge")
        left = charge["amount"] - charge["refunded"]
        amount = body.get("amount", left)
        if left == 0:
            return _error(400, "charge_already_refunded", "already refunded")
        if amount > left:
            return _error(400, "amount_too_large", "refund exceeds what is left")
        charge["refunded"] += amount
        return JSONResponse(
            {
                "id": self._id("re"),
                "charge": charge["id"],
                "amount": amount,
                "currency": charge["currency"],
                "status": "succeeded",
            }
        )


@hookimpl
def paywire_sandbox_register_fakes(register: Any) -> None:
    """Register the fake (for runs that load fakes from entry points)."""
    register(MiniFake)


# -- the provider -----------------------------------------------------------------------------


@attrs.frozen
class MiniConfig(ProviderConfig):
    """minipay settings."""

    api_key: Secret | None = secret_field()  # noqa: RUF009 - attrs field


_CODES: dict[str, type[ProviderError]] = {
    "card_declined": CardDeclined,
    "expired_card": PaymentMethodExpired,
    "authentication_required": AuthenticationRequired,
    "charge_already_refunded": AlreadyRefunded,
    "amount_too_large": AlreadyRefunded,
    "not_found": NotFound,
}

_EVENTS = {
    "checkout.done": EventType.CHECKOUT_COMPLETED,
    "payment.ok": EventType.PAYMENT_SUCCEEDED,
    "refund.ok": EventType.REFUND_SUCCEEDED,
}


class MiniProvider(paywire.Provider[MiniConfig]):
    """The provider under test; ``bugs`` switches on deliberate mistakes."""

    name: ClassVar[str] = NAME
    capabilities: ClassVar[Capabilities] = Capabilities(frozenset(Capability))
    config_class: ClassVar[type[ProviderConfig]] = MiniConfig
    currency_rules: ClassVar[CurrencyRules] = RULES
    default_base_url: ClassVar[str] = "https://api.minipay.invalid"
    bugs: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        if "leak_repr" in self.bugs and self.config.api_key is not None:
            return f"<MiniProvider key={self.config.api_key.reveal()}>"
        return super().__repr__()

    def available(self) -> bool:
        if "available_always" in self.bugs:
            return True
        return self.config.enabled and bool(self.config.api_key)

    def _send(
        self, method: str, path: str, json_body: Any = None, key: str | None = None
    ) -> dict[str, Any]:
        secret = self.config.api_key.reveal() if self.config.api_key else ""
        if "leak_log" in self.bugs:
            logger.debug("calling %s with key %s", path, secret)
        if "key_in_body" in self.bugs and json_body is not None:
            json_body = {**json_body, "key": secret}
        if "no_idempotency" in self.bugs:
            key = None
        response = self.http.request(
            method,
            path,
            json=json_body,
            idempotency_key=key,
            headers={"Authorization": f"Bearer {secret}"},
        )
        data = response.json()
        if response.is_success:
            return dict(data)
        code = data.get("error", {}).get("code", "")
        message = data.get("error", {}).get("message", "")
        error = _CODES.get(code)
        if "decline_type" in self.bugs and error is CardDeclined:
            error = InvalidRequest
        if "expired_as_declined" in self.bugs and error is PaymentMethodExpired:
            error = CardDeclined
        if "auth_as_declined" in self.bugs and error is AuthenticationRequired:
            error = CardDeclined
        if "already_refunded_type" in self.bugs and error is AlreadyRefunded:
            error = InvalidRequest
        raw = None if "no_raw_code" in self.bugs else code
        if error is None:
            raise error_for_status(response, provider=NAME, raw_code=raw, message=message)
        exc = error(message, provider=NAME, raw_code=raw, http_status=response.status_code)
        if "leak_error" in self.bugs:
            exc.args = (f"{message} (key {secret})",)  # the core redacts the message; not args
        raise exc

    def _money(self, minor: int, currency: str) -> Money:
        if "jpy_scale" in self.bugs:
            return Money(Decimal(minor).scaleb(-2), currency.upper())
        return Money.from_minor_units(minor, currency.upper(), RULES)

    def create_checkout_session(
        self,
        invoice: paywire.Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        if "checkout_http_first" in self.bugs:
            self._send("GET", "/v1/ping")
        total = invoice.total
        data = self._send(
            "POST",
            "/v1/checkout",
            {
                "invoice_id": "" if "checkout_no_invoice" in self.bugs else invoice.id,
                "amount": total.to_minor_units(RULES),
                "currency": total.currency,
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            idempotency_key,
        )
        return CheckoutSession(
            provider=NAME,
            id=data["id"],
            url=data["url"],
            invoice_id=data["invoice_id"],
            amount=self._money(data["amount"], data["currency"]),
        )

    def create_setup_session(
        self, customer: paywire.Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        data = self._send(
            "POST",
            "/v1/setup",
            {"customer": customer.id, "success_url": success_url, "cancel_url": cancel_url},
        )
        return SetupSession(provider=NAME, id=data["id"], url=data["url"], customer_id=customer.id)

    def charge_payment_method(
        self,
        payment_method: SavedPaymentMethod,
        amount: Money,
        *,
        description: str | None = None,
        invoice_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ChargeResult:
        if "http_before_amount_check" in self.bugs:
            self._send("GET", f"/v1/methods/{payment_method.id}")
        minor = amount.to_minor_units(RULES)
        data = self._send(
            "POST",
            "/v1/charges",
            {
                "method": payment_method.id,
                "amount": minor,
                "currency": amount.currency,
                "invoice_id": invoice_id,
            },
            idempotency_key or paywire.new_idempotency_key(),
        )
        got = self._money(data["amount"], data["currency"])
        if "charge_amount" in self.bugs:
            got = Money("10.00", got.currency)
        return ChargeResult(
            provider=NAME,
            id=data["id"],
            amount=got,
            status=PaymentStatus.SUCCEEDED,
            raw_status=data["status"],
            payment_method_id=payment_method.id,
            invoice_id=data.get("invoice_id"),
        )

    def create_refund(
        self,
        transaction_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        body: dict[str, Any] = {"charge": transaction_id}
        if amount is not None and "refund_partial_ignored" not in self.bugs:
            body["amount"] = amount.to_minor_units(RULES)
        data = self._send(
            "POST", "/v1/refunds", body, idempotency_key or paywire.new_idempotency_key()
        )
        return RefundResult(
            provider=NAME,
            id=data["id"],
            transaction_id=data["charge"],
            amount=self._money(data["amount"], data["currency"]),
            status=RefundStatus.SUCCEEDED,
            raw_status=data["status"],
        )

    def get_payment_method_details(self, payment_method_id: str) -> PaymentMethodInfo:  # type: ignore[override]  # API 1.0: paywire hands it the id
        data = self._send("GET", f"/v1/methods/{payment_method_id}")
        return PaymentMethodInfo(
            provider=NAME,
            id="pm_other" if "details_wrong_id" in self.bugs else data["id"],
            type=data["type"],
            customer_id=data["customer"],
            brand=data["brand"],
            last4=data["last4"],
            exp_year=data["exp_year"],
        )

    def detach_payment_method(self, payment_method_id: str) -> None:  # type: ignore[override]  # API 1.0: paywire hands it the id
        if "detach_noop" in self.bugs:
            return
        self._send("DELETE", f"/v1/methods/{payment_method_id}")

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        key = secret if secret is not None else self.config.webhook_secret
        if "verify_keyerror" in self.bugs:
            headers["Mini-Signature"]  # KeyError, not InvalidSignature
        if "verify_decode" in self.bugs:
            payload.decode("utf-8")  # UnicodeDecodeError on arbitrary bytes
        header = get_header(headers, "Mini-Signature")
        if "verify_rejects_all" in self.bugs:
            raise InvalidSignature("nothing verifies")
        if "verify_accepts_anything" in self.bugs:
            if header is None:
                raise InvalidSignature("no Mini-Signature header")
            return
        tolerance = 10**9 if "verify_no_tolerance" in self.bugs else 300
        verify_timestamped(payload, header, key, tolerance=tolerance)

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        raw = payload.get("type")
        if "unknown_keyerror" in self.bugs:
            kind = {**_EVENTS}[str(raw)]
        else:
            kind_or_none = _EVENTS.get(raw) if isinstance(raw, str) else None
            if kind_or_none is None:
                raise UnknownEvent(f"{raw!r} is not mapped", provider=NAME, event_type=None)
            kind = kind_or_none
        if "samples_wrong" in self.bugs and kind is EventType.PAYMENT_SUCCEEDED:
            kind = EventType.PAYMENT_PENDING
        data = payload.get("data") or {}
        amount = self._money(data["amount"], data["currency"]) if "amount" in data else None
        if "webhook_amount" in self.bugs and amount is not None:
            amount = Money("1.00", amount.currency)
        return WebhookEvent(
            provider=NAME,
            id=str(payload["id"]),
            type=kind,
            raw_type=str(raw),
            invoice_id=None if "webhook_no_invoice" in self.bugs else data.get("invoice_id"),
            amount=amount,
            data=dict(payload),
        )


# -- the harness ------------------------------------------------------------------------------


class MiniHarness(Harness):
    """The contract harness for minipay; ``bugs`` go to the provider it builds."""

    provider_name: ClassVar[str] = NAME

    def __init__(self, bugs: Sequence[str] = (), *, forget_api_key: bool = False) -> None:
        self.bugs = frozenset(bugs)
        self.forget_api_key = forget_api_key

    def sandbox_settings(self, base_url: str) -> dict[str, Any]:
        return {
            "api_key": API_KEY,
            "webhook_secret": WEBHOOK_SECRET,
            "base_url": base_url + "/minipay",
        }

    def build_provider(
        self, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> MiniProvider:
        config = paywire.load_config(MiniConfig, NAME, environ={}, **settings)
        provider = MiniProvider.create(config, transport=transport)
        provider.bugs = self.bugs
        return provider

    def secrets(self, settings: Mapping[str, Any]) -> list[str]:
        names = ("webhook_secret",) if self.forget_api_key else ("api_key", "webhook_secret")
        return [str(settings[n]) for n in names if settings.get(n)]

    def customer(self) -> paywire.Customer:
        return paywire.Customer(id="cust-1", email="buyer@example.com")

    def saved_method(self, ctx: ScenarioContext, kind: MethodKind) -> SavedPaymentMethod:
        response = ctx.control("POST", f"/{NAME}/methods", {"kind": kind})
        data = response.json()
        return SavedPaymentMethod(NAME, data["id"], data["customer"])

    def charge_currency(self) -> str:
        return "USD"

    def zero_decimal_currency(self) -> str | None:
        return "JPY"

    def three_decimal_currency(self) -> str | None:
        return "KWD"

    def complete_checkout(
        self, ctx: ScenarioContext, session: CheckoutSession, outcome: str = "success"
    ) -> str:
        response = ctx.control(
            "POST", f"/{NAME}/checkout/{session.id}/complete", {"outcome": outcome}
        )
        return str(response.json()["redirect_url"])

    def complete_setup(self, ctx: ScenarioContext, session: SetupSession) -> SavedPaymentMethod:
        response = ctx.control("POST", f"/{NAME}/checkout/{session.id}/complete", {})
        return SavedPaymentMethod(NAME, response.json()["payment_method"], session.customer_id)

    def register_webhook(self, ctx: ScenarioContext, url: str, secret: str) -> None:
        ctx.control(
            "POST", "/webhooks/endpoints", {"provider": NAME, "url": url, "secret": secret}
        ).raise_for_status()

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
        return {"Mini-Signature": f"t={timestamp},v1={digest.hexdigest()}"}

    def webhook_samples(self) -> Sequence[tuple[Mapping[str, Any], EventType]]:
        data = {"invoice_id": "inv_1", "amount": 1234, "currency": "USD"}
        return [
            ({"id": "evt_1", "type": "checkout.done", "data": data}, EventType.CHECKOUT_COMPLETED),
            ({"id": "evt_2", "type": "payment.ok", "data": data}, EventType.PAYMENT_SUCCEEDED),
            ({"id": "evt_3", "type": "refund.ok", "data": data}, EventType.REFUND_SUCCEEDED),
        ]

    def unknown_event(self) -> Mapping[str, Any]:
        return {"id": "evt_9", "type": "customer.touched", "data": {}}


#: A harness whose provider gets one charge wrong (for ``paywire certify`` failing).
BROKEN_HARNESS = MiniHarness(bugs=["charge_amount"])
