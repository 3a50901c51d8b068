"""A small but complete provider plugin, built in code, for the core's tests.

``ToyProvider`` talks JSON to ``toy_api`` (an ``httpx.MockTransport`` handler) through the core's
``HttpClient``, the way a real plugin talks to its provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

import attrs
import httpx

from paywire import (
    Capabilities,
    Capability,
    ChargeResult,
    CheckoutSession,
    CurrencyRules,
    Customer,
    EventType,
    InvalidSignature,
    Invoice,
    Money,
    PaymentMethodInfo,
    PaymentStatus,
    Provider,
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
    error_for_status,
    get_header,
    hookimpl,
    secret_field,
    verify_hmac_sha256_hex,
)


@attrs.frozen
class ToyConfig(ProviderConfig):
    """Settings of the toy provider."""

    api_key: Secret | None = secret_field()  # noqa: RUF009 - attrs field


class ToyProvider(Provider[ToyConfig]):
    """A provider with every operation, over a tiny JSON API."""

    name = "toy"
    capabilities = Capabilities(
        supported=set(Capability) - {Capability.SAVE_ON_CHECKOUT},
        notes={Capability.SETUP: "saving a card takes a 1.00 authorization"},
    )
    config_class = ToyConfig
    currency_rules = CurrencyRules(name="toy", exponents={"HUF": 0})
    default_base_url = "https://api.toy.invalid/v1/"
    request_id_header = "X-Request-Id"

    def available(self) -> bool:
        return self.config.enabled and bool(self.config.api_key)

    def _call(self, verb: str, path: str, *, key: str | None = None, **body: Any) -> Any:
        response = self.http.request(
            verb,
            path,
            json=body or None,
            idempotency_key=key,
            headers={"Authorization": f"Bearer {self.config.api_key.reveal()}"}
            if self.config.api_key
            else None,
        )
        if response.is_error:
            raise error_for_status(
                response,
                provider=self.name,
                request_id=self.http.request_id(response),
                idempotency_key=key,
            )
        return response.json() if response.content else None

    def create_checkout_session(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        amount = self.currency_rules.to_minor_units(invoice.total)
        data = self._call(
            "POST",
            "sessions",
            key=idempotency_key,
            amount=amount,
            currency=invoice.currency,
            invoice=invoice.id,
        )
        return CheckoutSession(self.name, data["id"], data["url"], invoice.id, invoice.total)

    def create_setup_session(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        data = self._call("POST", "setups", customer=customer.id)
        return SetupSession(self.name, data["id"], data["url"], customer_id=customer.id)

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
        data = self._call(
            "POST",
            "charges",
            key=idempotency_key,
            amount=self.currency_rules.to_minor_units(amount),
            currency=amount.currency,
            method=payment_method.id,
        )
        return ChargeResult(
            self.name,
            data["id"],
            amount,
            PaymentStatus(data["status"]),
            data["status"],
            payment_method.id,
            invoice_id,
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
        data = self._call("POST", f"charges/{transaction_id}/refunds", key=idempotency_key)
        refunded = self.currency_rules.from_minor_units(data["amount"], data["currency"])
        return RefundResult(
            self.name,
            data["id"],
            transaction_id,
            refunded,
            RefundStatus(data["status"]),
            data["status"],
        )

    # Written against API 1.0 (an id, not a SavedPaymentMethod): the core hands it the id.
    def get_payment_method_details(self, payment_method_id: str) -> PaymentMethodInfo:  # type: ignore[override]
        data = self._call("GET", f"methods/{payment_method_id}")
        return PaymentMethodInfo(self.name, payment_method_id, "card", last4=data["last4"])

    def detach_payment_method(self, payment_method_id: str) -> None:  # type: ignore[override]
        self._call("DELETE", f"methods/{payment_method_id}")

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        key = secret if secret is not None else self.config.webhook_secret
        if key is None:
            raise InvalidSignature("no webhook secret configured")
        verify_hmac_sha256_hex(payload, get_header(headers, "X-Toy-Signature"), key)

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        if payload.get("type") != "charge.paid":
            raise UnknownEvent("not mapped", provider=self.name, event_type=payload.get("type"))
        return WebhookEvent(
            self.name,
            payload["id"],
            EventType.PAYMENT_SUCCEEDED,
            "charge.paid",
            invoice_id=payload.get("invoice"),
            data=dict(payload),
        )


def toy_api(
    requests: list[httpx.Request] | None = None,
) -> Callable[[httpx.Request], httpx.Response]:
    """A handler for ``httpx.MockTransport`` that answers like the toy provider's API."""

    def handle(request: httpx.Request) -> httpx.Response:
        if requests is not None:
            requests.append(request)
        headers = {"X-Request-Id": "req_toy_1"}
        path = request.url.path.removeprefix("/v1/")
        if request.headers.get("Authorization") != "Bearer sk_test_toykey123":
            return httpx.Response(401, json={"error": "bad key"}, headers=headers)
        if path == "sessions":
            return httpx.Response(200, json={"id": "cs_1", "url": "https://toy.invalid/pay/cs_1"})
        if path == "setups":
            return httpx.Response(200, json={"id": "st_1", "url": "https://toy.invalid/setup/1"})
        if path == "charges":
            body = json.loads(request.content)
            status = "failed" if body["method"] == "pm_declined" else "succeeded"
            return httpx.Response(200, json={"id": "ch_1", "status": status})
        if path.endswith("/refunds"):
            return httpx.Response(
                200, json={"id": "re_1", "amount": 1500, "currency": "HUF", "status": "succeeded"}
            )
        if path == "methods/pm_1":
            return httpx.Response(
                200 if request.method == "GET" else 204,
                json={"last4": "4242"} if request.method == "GET" else None,
            )
        return httpx.Response(404, json={"error": "no such thing"}, headers=headers)

    return handle


def plugin(*providers: type[Provider[Any]], api: str = ">=1.0,<2") -> SimpleNamespace:
    """A plugin object registering ``providers``, as an installed module would."""

    @hookimpl
    def paywire_register_providers(register: Callable[[type[Provider[Any]]], None]) -> None:
        for provider in providers:
            register(provider)

    return SimpleNamespace(PAYWIRE_API=api, paywire_register_providers=paywire_register_providers)
