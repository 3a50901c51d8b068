"""State and plumbing shared by the PayPal fake's API families (see :mod:`._fake`).

:class:`PayPalBase` holds every resource, authenticates calls, applies negative testing and
idempotency, renders orders (which several API families return) and fires webhooks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import attrs
from starlette.requests import Request
from starlette.responses import Response

from paywire_sandbox._fake import Fake, SandboxContext
from paywire_sandbox.paypal import _ids
from paywire_sandbox.paypal._errors import OAuthError, PayPalError, status_for_issue
from paywire_sandbox.paypal._models import (
    AccessToken,
    Capture,
    Order,
    PaymentToken,
    PurchaseUnit,
    Refund,
    SetupToken,
    iso,
    link,
    merchant_id,
    money,
)
from paywire_sandbox.paypal._schemas import RequestSchemas
from paywire_sandbox.paypal._signing import SigningKey

__all__ = [
    "APPROVAL_WINDOW",
    "DOCS",
    "MAX_NESTING",
    "SCOPE",
    "TOKEN_LIFETIME",
    "Call",
    "Conflict",
    "Handler",
    "PayPalBase",
    "control_error",
    "iso_millis",
    "json_response",
    "loads_or_none",
    "nesting_within",
    "with_query",
]

logger = logging.getLogger(__name__)

TOKEN_LIFETIME = 32400
APPROVAL_WINDOW = 3 * 3600
HOUR = 3600
RETENTION = {"orders": 6 * HOUR, "payments": 45 * 24 * HOUR, "vault": 3 * HOUR}
SCOPE = " ".join(
    "https://uri.paypal.com/services/" + s
    for s in (
        "payments/payment/authcode",
        "payments/refund",
        "payments/orders/client-side-integration",
        "vault/payment-tokens/read",
        "vault/payment-tokens/readwrite",
        "applications/webhooks",
        "checkout/one-click-with-merchant-issued-token",
    )
)
DOCS = {
    "orders": "https://developer.paypal.com/docs/api/orders/v2/",
    "payments": "https://developer.paypal.com/docs/api/payments/v2/",
    "vault": "https://developer.paypal.com/docs/api/payment-tokens/v3/",
    "notifications": "https://developer.paypal.com/docs/api/webhooks/v1/",
}


@attrs.define
class Call:
    """One authenticated API request; ``template`` is its route as PayPal's specs write it."""

    request: Request
    merchant: str
    base: str
    operation: str
    api: str
    template: str = ""

    @property
    def request_id(self) -> str | None:
        """The ``PayPal-Request-Id`` header (1 to 108 characters), if sent."""
        value = self.request.headers.get("paypal-request-id")
        if value is None:
            return None
        if not 1 <= len(value) <= 108:
            raise PayPalError(
                400,
                "INVALID_STRING_LENGTH",
                field="PayPal-Request-Id",
                value=value,
                location=None,
                operation=self.operation,
            )
        return value

    @property
    def representation(self) -> bool:
        """Whether the caller sent ``Prefer: return=representation``."""
        prefer = self.request.headers.get("prefer", "")
        return "return=representation" in prefer.replace(" ", "").lower()


Handler = Callable[[Call], Awaitable[Response]]


def json_response(data: Any, status: int = 200, debug_id: str | None = None) -> Response:
    return Response(
        json.dumps(data).encode(),
        status_code=status,
        media_type="application/json",
        headers={"Paypal-Debug-Id": debug_id or _ids.debug_id()},
    )


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class PayPalBase(Fake):
    """The fake's state and the helpers its API families share."""

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        # The key outlives reset() so verifiers that cached the certificate keep working.
        self._key = SigningKey(not_before=ctx.clock.now())
        self._base = ""
        #: PayPal's request schemas when its OpenAPI documents are at hand (see ``_schemas``).
        self.schemas: RequestSchemas | None = RequestSchemas.load()
        self.reset()

    def reset(self) -> None:
        """Forget every token, order, capture, refund, vault token and event."""
        self._tokens: dict[str, AccessToken] = {}
        self._app_ids: dict[str, str] = {}
        self._orders: dict[str, Order] = {}
        self._captures: dict[str, Capture] = {}
        self._refunds: dict[str, Refund] = {}
        self._setup_tokens: dict[str, SetupToken] = {}
        self._payment_tokens: dict[str, PaymentToken] = {}
        self._used_invoices: dict[str, set[str]] = {}
        self._replays: dict[tuple[str, str, str, str], tuple[str, float]] = {}
        self._events: dict[str, bytes] = {}

    def _api_base(self, request: Request) -> str:
        base = str(request.base_url).rstrip("/") + str(request.scope.get("root_path", ""))
        self._base = base
        return base

    def _control_base(self, request: Request) -> str:
        if not self._base:
            self._base = str(request.base_url).rstrip("/") + "/" + self.name
        return self._base

    def _api(
        self,
        handler: Handler,
        operation: str,
        api: str,
        *,
        mockable: bool = True,
        template: str = "",
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            debug_id = _ids.debug_id()
            try:
                base = self._api_base(request)
                call = Call(request, self._authenticate(request), base, operation, api, template)
                if mockable:
                    self._negative_test(call)
                self._check_query(call)
                response = await handler(call)
            except PayPalError as error:
                return json_response(error.body(debug_id, DOCS[api]), error.status, debug_id)
            except OAuthError as error:
                return json_response(error.body(), error.status, debug_id)
            except Exception:
                logger.exception("PayPal fake failed on %s %s", request.method, request.url.path)
                internal = PayPalError(
                    500, "INTERNAL_SERVICE_ERROR", description="sandbox internal error"
                )
                return json_response(internal.body(debug_id, DOCS[api]), 500, debug_id)
            response.headers["Paypal-Debug-Id"] = debug_id
            return response

        return endpoint

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise PayPalError(401)
        found = self._tokens.get(token.strip())
        if found is None:
            raise OAuthError(401, "invalid_token", "Token signature verification failed")
        if self.ctx.clock.now() >= found.expires_at:
            raise OAuthError(401, "invalid_token", "Access Token not found in cache")
        return found.client_id

    def _check_query(self, call: Call) -> None:
        """Query parameters against the operation's documented ones (when specs are loaded)."""
        if self.schemas is None or not call.template:
            return
        query = dict(call.request.query_params)
        method = call.request.method
        problems = self.schemas.query_problems(method, call.template, query)
        if problems:
            raise problems[0].error(call.operation)

    def check_body(self, call: Call, body: Any) -> None:
        """``body`` against the operation's request schema (when specs are loaded)."""
        if self.schemas is None or not call.template:
            return
        problems = self.schemas.body_problems(call.request.method, call.template, body)
        if problems:
            raise problems[0].error(call.operation)

    def _negative_test(self, call: Call) -> None:
        raw = call.request.headers.get("paypal-mock-response")
        if raw is None:
            return
        mock = loads_or_none(raw)
        code = mock.get("mock_application_codes") if isinstance(mock, dict) else None
        if not isinstance(code, str) or not code:
            raise PayPalError(
                400,
                "INVALID_PARAMETER_VALUE",
                field="PayPal-Mock-Response",
                value=raw,
                location=None,
                operation=call.operation,
            )
        raise PayPalError(status_for_issue(code), code, operation=call.operation)

    async def _body(self, call: Call, *, allow_empty: bool = False) -> dict[str, Any]:
        raw = await call.request.body()
        if not raw.strip():
            if allow_empty:
                return {}
            raise PayPalError(400, "MALFORMED_REQUEST_JSON", operation=call.operation)
        body = loads_or_none(raw)
        if not isinstance(body, dict):
            issue = (
                "INVALID_PARAMETER_SYNTAX" if call.api == "payments" else "MALFORMED_REQUEST_JSON"
            )
            raise PayPalError(400, issue, operation=call.operation)
        self.check_body(call, body)
        return body

    def _replayed(self, call: Call) -> str | None:
        request_id = call.request_id
        if request_id is None:
            return None
        key = (call.merchant, call.request.method, call.request.url.path, request_id)
        hit = self._replays.get(key)
        if hit is None:
            return None
        resource_id, expires = hit
        if self.ctx.clock.now() >= expires:
            del self._replays[key]
            return None
        return resource_id

    def _remember(self, call: Call, resource_id: str) -> None:
        request_id = call.request_id
        if request_id is not None:
            key = (call.merchant, call.request.method, call.request.url.path, request_id)
            self._replays[key] = (resource_id, self.ctx.clock.now() + RETENTION[call.api])

    def _not_found(self, call: Call, field: str = "id") -> PayPalError:
        return PayPalError(
            404, "INVALID_RESOURCE_ID", field=field, location="path", operation=call.operation
        )

    def _emit(
        self,
        event_type: str,
        resource_type: str,
        resource: dict[str, Any],
        summary: str,
        *,
        version: str = "2.0",
    ) -> None:
        event_id = _ids.event_id()
        href = f"{self._base}/v1/notifications/webhooks-events/{event_id}"
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": iso_millis(self.ctx.clock.now()),
            "resource_type": resource_type,
            "resource_version": version,
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
            "links": [link(href, "self"), link(f"{href}/resend", "resend", "POST")],
        }
        body = json.dumps(event).encode()
        self._events[event_id] = body
        self.ctx.webhooks.emit(self.name, event_id, event_type, body)

    def _emit_capture(self, capture: Capture) -> None:
        amount = f"{money(capture.amount, capture.currency)['value']} {capture.currency}"
        event_type, summary = {
            "COMPLETED": ("PAYMENT.CAPTURE.COMPLETED", f"Payment completed for {amount}"),
            "PENDING": ("PAYMENT.CAPTURE.PENDING", f"Payment pending for {amount}"),
            "DECLINED": ("PAYMENT.CAPTURE.DENIED", f"A {amount} capture payment was denied"),
        }[capture.status]
        self._emit(event_type, "capture", capture.render(self._base), summary)

    def _emit_token_created(self, token: PaymentToken) -> None:
        resource = token.render(self._base)
        if token.order_id is not None:
            resource["metadata"] = {"order_id": token.order_id}
        self._emit(
            "VAULT.PAYMENT-TOKEN.CREATED",
            "payment_token",
            resource,
            "A payment token has been created.",
            version="3.0",
        )

    def _new_payment_token_id(self) -> str:
        while True:
            token_id = _ids.payment_token_id()
            if token_id not in self._payment_tokens:
                return token_id

    def _setup_url(self, base: str, token_id: str) -> str:
        return f"{base}/agreements/approve?approval_session_id={token_id}"

    def _order_source(self, order: Order, base: str) -> dict[str, Any] | None:
        if order.source_kind is None and order.payer is None:
            return None
        if order.source_kind == "card":
            card = dict(order.card or {})
            card.setdefault("type", "CREDIT")
            return {"card": card}
        paypal: dict[str, Any] = order.payer.wallet() if order.payer is not None else {}
        if order.vaulted_token_id is not None:
            token = self._payment_tokens.get(order.vaulted_token_id)
            customer_id = token.customer_id if token is not None else order.vault_customer_id
            paypal["attributes"] = {
                "vault": {
                    "id": order.vaulted_token_id,
                    "status": "VAULTED",
                    "customer": {"id": customer_id},
                    "links": [
                        link(f"{base}/v3/vault/payment-tokens/{order.vaulted_token_id}", "self")
                    ],
                }
            }
        return {"paypal": paypal}

    def _order_links(self, order: Order, base: str) -> list[dict[str, str]]:
        href = f"{base}/v2/checkout/orders/{order.id}"
        links = [link(href, "self")]
        if order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
            links.append(link(self._approval_url(base, order.id), order.approval_rel()))
        if order.status in {"CREATED", "APPROVED"}:
            links.append(link(href, "update", "PATCH"))
            links.append(link(f"{href}/capture", "capture", "POST"))
        return links

    def _approval_url(self, base: str, order_id: str) -> str:
        return f"{base}/checkoutnow?token={order_id}"

    def _render_order(self, order: Order, base: str) -> dict[str, Any]:
        """The full order, as ``GET /v2/checkout/orders/{id}`` returns it."""
        out: dict[str, Any] = {"id": order.id, "intent": "CAPTURE", "status": order.status}
        source = self._order_source(order, base)
        if source is not None:
            out["payment_source"] = source
        units = []
        for unit in order.purchase_units:
            amount: dict[str, Any] = money(unit.amount, unit.currency)
            if unit.breakdown is not None:
                amount["breakdown"] = unit.breakdown
            rendered: dict[str, Any] = {
                "reference_id": unit.reference_id,
                "amount": amount,
                "payee": {
                    "email_address": "sb-merchant@business.example.com",
                    "merchant_id": merchant_id(order.merchant),
                },
            }
            for key in ("description", "custom_id", "invoice_id", "soft_descriptor"):
                value = getattr(unit, key)
                if value is not None:
                    rendered[key] = value
            if unit.items is not None:
                rendered["items"] = unit.items
            if unit.capture_ids:
                rendered["payments"] = {"captures": self._unit_captures(unit, base)}
            units.append(rendered)
        out["purchase_units"] = units
        if order.payer is not None:
            out["payer"] = order.payer.order_payer()
        out["create_time"] = iso(order.created)
        out["update_time"] = iso(order.updated)
        out["links"] = self._order_links(order, base)
        return out

    def _unit_captures(self, unit: PurchaseUnit, base: str) -> list[dict[str, Any]]:
        return [self._captures[cid].render(base, for_order=True) for cid in unit.capture_ids]

    def _order_response(
        self, order: Order, call: Call, *, minimal_payments: bool
    ) -> dict[str, Any]:
        """The order as create/capture answer it, honouring ``Prefer``."""
        full = self._render_order(order, call.base)
        if call.representation:
            return full
        out: dict[str, Any] = {"id": order.id, "status": order.status}
        if "payment_source" in full:
            out["payment_source"] = full["payment_source"]
        if minimal_payments and any(u.capture_ids for u in order.purchase_units):
            out["purchase_units"] = [
                {"reference_id": u["reference_id"], "payments": u["payments"]}
                for u in full["purchase_units"]
                if "payments" in u
            ]
            if "payer" in full:
                out["payer"] = full["payer"]
        out["links"] = full["links"]
        return out


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


#: PayPal's request documents nest about ten levels; far deeper input is malformed, and would
#: otherwise exhaust Python's recursion limit in the decoder or the schema check.
MAX_NESTING = 64


def loads_or_none(raw: str | bytes) -> Any:
    """Strict JSON (no NaN/Infinity) nested at most :data:`MAX_NESTING` deep, or None: input
    that is not such JSON is the caller's malformed request, not a sandbox failure."""
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return value if nesting_within(value, MAX_NESTING) else None


def nesting_within(value: object, limit: int) -> bool:
    """Whether ``value`` nests arrays/objects at most ``limit`` deep (checked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        if depth >= limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


class Conflict(Exception):
    """The buyer cannot approve (already paid, expired, already used)."""


def control_error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def iso_millis(ts: float) -> str:
    """Webhook ``create_time``: ISO 8601 with milliseconds, as PayPal writes it."""
    whole = iso(ts)
    return f"{whole[:-1]}.{int((ts % 1) * 1000):03d}Z"
