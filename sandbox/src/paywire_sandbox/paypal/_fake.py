"""The PayPal REST fake: OAuth2, Orders v2, Payments v2 refunds, Vault v3, webhooks.

Served under ``/paypal`` (so a client's base address is ``http://127.0.0.1:PORT/paypal``).

Rules worth knowing (each mirrors PayPal unless marked *sandbox*):

* **OAuth2.** ``POST /v1/oauth2/token`` with HTTP Basic ``client_id:secret`` and
  ``grant_type=client_credentials``. *Sandbox:* any non-empty client id and secret are accepted;
  the client id names the merchant, and every resource belongs to the merchant that made it.
  Tokens live ``expires_in`` = 32400 s by the sandbox clock. A missing bearer token is a 401
  ``AUTHENTICATION_FAILURE``; an unknown or expired one a 401 ``{"error": "invalid_token"}``.
* **Orders.** ``intent`` must be ``CAPTURE`` (*sandbox:* ``AUTHORIZE`` is a 400 ``NOT_SUPPORTED``).
  With ``payment_source.paypal.experience_context`` the order is ``PAYER_ACTION_REQUIRED`` with a
  ``payer-action`` link; without ``payment_source`` it is ``CREATED`` with an ``approve`` link
  (``application_context`` supplies return/cancel URLs then). ``invoice_id`` is unique per
  merchant: an invoice id that a completed (or pending) capture has used cannot be used by a
  new order, nor captured again (422 ``DUPLICATE_INVOICE_ID``); abandoned orders do not use
  it up.
* **Request schemas.** With PayPal's OpenAPI documents at hand (``$PAYWIRE_PAYPAL_SPECS`` or
  ``shared/reference/paypal`` beside the repository) every body and query is checked against
  the operation's request schema first: 400 ``INVALID_REQUEST`` naming the field, and
  ``NOT_SUPPORTED`` for a member the schema does not declare (see :mod:`._schemas`). Without
  them the fake's own checks below apply and undocumented members are ignored.
* **Amounts.** Decimal strings with at most the currency's decimals (``HUF``, ``JPY``, ``TWD``:
  none; the other supported currencies: two). Too many decimals is 422 ``DECIMAL_PRECISION``
  (refunds: ``DECIMALS_NOT_SUPPORTED`` for currencies without decimals); an unsupported currency
  422 ``INVALID_CURRENCY_CODE``; a malformed value 400 ``INVALID_PARAMETER_SYNTAX``.
* **Not modelled** (*sandbox*): ``AUTHORIZE`` intents, raw card numbers in an order
  (``payment_source.card.number``: 400 ``NOT_SUPPORTED``; vault the card with a setup token and
  charge its ``vault_id``), and payment sources other than ``paypal`` and ``card``. Vault calls do
  not insist on ``PayPal-Request-Id`` although PayPal's spec marks it required there.
* **Charging a vaulted token** (``payment_source.paypal.vault_id`` or
  ``payment_source.card.vault_id``) needs ``PayPal-Request-Id`` (400
  ``PAYPAL_REQUEST_ID_REQUIRED``) and completes in one step.
* **Prefer.** ``return=minimal`` (default) answers create with ``id``, ``status``, ``links`` (and
  ``payment_source``); capture and one-step charges also carry ``purchase_units[].payments`` and
  ``payer``, as PayPal's capture response does. ``return=representation`` gives the full order.
* **Idempotency.** A repeated ``PayPal-Request-Id`` (same merchant, method and path) returns the
  latest state of the resource the first successful request made, with 200 (refunds: 201),
  for 6 h (orders), 45 days (payments) or 3 h (vault) by the sandbox clock.
* **Negative testing.** ``PayPal-Mock-Response: {"mock_application_codes": "INSTRUMENT_DECLINED"}``
  fails the call with PayPal's error for that issue (422 unless the issue is a 400/403/404/409/500
  one), before anything changes.
* **Outcomes.** The approval page and ``POST /_sandbox/paypal/checkout/{id}/complete`` choose how
  the buyer's funding behaves (see :mod:`paywire_sandbox.paypal._outcomes`); a payment token keeps
  the outcome of the setup token or order it came from, so charging it later behaves the same.
* **Approval redirects.** Orders: ``return_url?token=<order id>&PayerID=<payer id>``; cancel:
  ``cancel_url?token=<order id>``. Setup tokens: ``return_url?approval_token_id=<setup token id>
  &approval_session_id=<setup token id>``; cancel: ``cancel_url?approval_token_id=<id>``.
  Orders not approved within 3 hours of creation can no longer be approved.
* **Webhooks.** ``CHECKOUT.ORDER.APPROVED`` (resource: the order), ``PAYMENT.CAPTURE.COMPLETED`` /
  ``PENDING`` / ``DENIED`` (the capture), ``PAYMENT.CAPTURE.REFUNDED`` (the refund, linking ``up``
  to the capture), ``VAULT.PAYMENT-TOKEN.CREATED`` / ``DELETED`` (the token; ``resource_version``
  ``3.0``). Signed as :mod:`paywire_sandbox.paypal._signing` describes; the webhook id is the
  endpoint's ``extra["webhook_id"]`` (its endpoint id when absent). The certificate is served at
  ``GET /paypal/v1/notifications/certs/{cert id}``, and ``POST /v1/notifications/verify-webhook-
  signature`` checks a signature with the same key.

Control routes (under ``/_sandbox/paypal``, JSON in and out):

* ``POST /checkout/{id}/complete`` with ``{"outcome": ...}`` or ``{"card": "<number>"}`` approves an
  order or setup token exactly as the hosted page does; ``{"redirect_url", "status"}``.
* ``POST /checkout/{id}/cancel``: ``{"redirect_url"}``.
* ``POST /payment-tokens`` with ``{"customer_id"?, "outcome"?, "card"?, "expiry"?, "merchant"?}``
  vaults a PayPal wallet (or, with ``card``, a card) directly, as if a buyer had approved a setup
  token; answers the payment token and fires ``VAULT.PAYMENT-TOKEN.CREATED``. ``merchant`` is
  the client id that owns it (default: the only client id that has a token, else ``"sandbox"``).
* ``POST /captures/{id}/settle`` with ``{"status": "COMPLETED" | "DECLINED"}`` resolves a pending
  capture and fires ``PAYMENT.CAPTURE.COMPLETED`` or ``PAYMENT.CAPTURE.DENIED``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from paywire_sandbox._fake import WebhookEndpoint
from paywire_sandbox.paypal import _ids
from paywire_sandbox.paypal._approval import ApprovalMixin
from paywire_sandbox.paypal._base import (
    DOCS,
    SCOPE,
    TOKEN_LIFETIME,
    Call,
    Handler,
    json_response,
)
from paywire_sandbox.paypal._errors import OAuthError, PayPalError
from paywire_sandbox.paypal._models import (
    AccessToken,
    iso,
)
from paywire_sandbox.paypal._orders import OrdersMixin
from paywire_sandbox.paypal._payments import PaymentsMixin
from paywire_sandbox.paypal._requests import (
    as_object,
    as_string,
    basic_client,
)
from paywire_sandbox.paypal._signing import AUTH_ALGO, signed_message
from paywire_sandbox.paypal._vault import VaultMixin

__all__ = ["PayPalFake"]


class PayPalFake(OrdersMixin, PaymentsMixin, VaultMixin, ApprovalMixin):
    """A stateful fake of PayPal's REST APIs (see the module docstring for its rules)."""

    name = "paypal"

    def endpoint_extra(self, extra: Mapping[str, str]) -> dict[str, str]:
        """PayPal assigns every listener a ``webhook_id`` (the verification needs it)."""
        result = dict(extra)
        result.setdefault("webhook_id", _ids.webhook_id())
        return result

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        """PayPal's five signature headers for one delivery of ``body`` to ``endpoint``."""
        webhook_id = endpoint.extra.get("webhook_id") or endpoint.id
        transmission_id = _ids.transmission_id()
        transmission_time = iso(timestamp)
        message = signed_message(transmission_id, transmission_time, webhook_id, body)
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": self._key.sign(message),
            "PAYPAL-CERT-URL": self.cert_url(self._base),
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }

    def error_body(self, status: int, message: str) -> tuple[bytes, str, dict[str, str]]:
        """PayPal's error body and ``Paypal-Debug-Id`` for a fault the framework injects."""
        debug_id = _ids.debug_id()
        if status == 429:
            body: dict[str, Any] = {
                "name": "RATE_LIMIT_REACHED",
                "message": "Too many requests. Blocked due to rate limiting.",
                "debug_id": debug_id,
            }
        else:
            # PayPal's own message for the status; the framework's reason goes in the detail.
            error = PayPalError(status, "INTERNAL_SERVICE_ERROR", description=message)
            body = error.body(debug_id, DOCS["orders"])
        return json.dumps(body).encode(), "application/json", {"Paypal-Debug-Id": debug_id}

    def cert_url(self, base: str) -> str:
        """Where this fake serves its signing certificate, under the API address ``base``."""
        return f"{base}/v1/notifications/certs/{self._key.cert_id}"

    def routes(self) -> Sequence[BaseRoute]:
        """The PayPal API, the hosted approval pages and the certificate."""
        # (path, method, handler, operation for error wording, API family)
        api_table: tuple[tuple[str, str, Handler, str, str], ...] = (
            ("/v2/checkout/orders", "POST", self._create_order, "orders.create", "orders"),
            ("/v2/checkout/orders/{id}", "GET", self._get_order, "orders.get", "orders"),
            ("/v2/checkout/orders/{id}", "PATCH", self._patch_order, "orders.patch", "orders"),
            (
                "/v2/checkout/orders/{id}/capture",
                "POST",
                self._capture_order,
                "orders.capture",
                "orders",
            ),
            ("/v2/payments/captures/{id}", "GET", self._get_capture, "captures.get", "payments"),
            (
                "/v2/payments/captures/{id}/refund",
                "POST",
                self._refund_capture,
                "captures.refund",
                "payments",
            ),
            ("/v2/payments/refunds/{id}", "GET", self._get_refund, "refunds.get", "payments"),
            ("/v3/vault/setup-tokens", "POST", self._create_setup_token, "vault", "vault"),
            ("/v3/vault/setup-tokens/{id}", "GET", self._get_setup_token, "vault", "vault"),
            ("/v3/vault/payment-tokens", "POST", self._create_payment_token, "vault", "vault"),
            ("/v3/vault/payment-tokens", "GET", self._list_payment_tokens, "vault", "vault"),
            ("/v3/vault/payment-tokens/{id}", "GET", self._get_payment_token, "vault", "vault"),
            (
                "/v3/vault/payment-tokens/{id}",
                "DELETE",
                self._delete_payment_token,
                "vault",
                "vault",
            ),
        )
        routes: list[BaseRoute] = [
            Route("/v1/oauth2/token", self._oauth_token, methods=["POST"]),
            *(
                Route(path, self._api(handler, operation, api, template=path), methods=[method])
                for path, method, handler, operation, api in api_table
            ),
            # Negative testing (PayPal-Mock-Response) applies to the payment APIs only.
            Route(
                "/v1/notifications/verify-webhook-signature",
                self._api(
                    self._verify_signature,
                    "notifications",
                    "notifications",
                    mockable=False,
                    template="/v1/notifications/verify-webhook-signature",
                ),
                methods=["POST"],
            ),
            Route(
                "/v1/notifications/webhooks-events/{id}",
                self._api(self._get_event, "notifications", "notifications", mockable=False),
                methods=["GET"],
            ),
            Route("/v1/notifications/certs/{id}", self._certificate, methods=["GET"]),
            Route("/checkoutnow", self._order_page, methods=["GET", "POST"]),
            Route("/agreements/approve", self._setup_page, methods=["GET", "POST"]),
            # Anything else gets PayPal's 404 rather than a bare framework one.
            Route(
                "/{path:path}",
                self._unknown_path,
                methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            ),
        ]
        return routes

    def control_routes(self) -> Sequence[BaseRoute]:
        """Complete or cancel an approval, vault a token directly, settle a pending capture."""
        return [
            Route("/checkout/{id}/complete", self._control_complete, methods=["POST"]),
            Route("/checkout/{id}/cancel", self._control_cancel, methods=["POST"]),
            Route("/payment-tokens", self._control_payment_token, methods=["POST"]),
            Route("/captures/{id}/settle", self._control_settle, methods=["POST"]),
        ]

    async def _oauth_token(self, request: Request) -> Response:
        self._api_base(request)
        try:
            client_id = basic_client(request.headers.get("authorization", ""))
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            grant = form.get("grant_type", [None])[0]
            if grant is None:
                raise OAuthError(400, "unsupported_grant_type", "Grant Type is NULL")
            if grant != "client_credentials":
                raise OAuthError(
                    400, "unsupported_grant_type", f"Grant Type {grant} is not supported"
                )
        except OAuthError as error:
            return json_response(error.body(), error.status)
        now = self.ctx.clock.now()
        token = _ids.access_token()
        self._tokens[token] = AccessToken(client_id, now + TOKEN_LIFETIME)
        app_id = self._app_ids.setdefault(client_id, _ids.app_id())
        return json_response(
            {
                "scope": SCOPE,
                "access_token": token,
                "token_type": "Bearer",
                "app_id": app_id,
                "expires_in": TOKEN_LIFETIME,
                "nonce": iso(now) + _ids.access_token()[5:48],
            }
        )

    async def _verify_signature(self, call: Call) -> Response:
        body = await self._body(call)
        fields = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
        )
        for key in (*fields, "webhook_event"):
            if body.get(key) is None:
                raise PayPalError(
                    400, "MISSING_REQUIRED_PARAMETER", field=key, operation=call.operation
                )
        for key in fields:
            as_string(body[key], key, call.operation, max_len=500)
        event = as_object(body["webhook_event"], "webhook_event", call.operation)
        stored = self._events.get(str(event.get("id")))
        # PayPal re-serializes the event; the sandbox can use the exact bytes it sent when the
        # event is unchanged, which keeps the check independent of JSON spacing.
        raw = (
            stored
            if stored is not None and json.loads(stored) == event
            else json.dumps(event).encode()
        )
        good = (
            body["auth_algo"] == AUTH_ALGO
            and body["cert_url"].endswith(f"/v1/notifications/certs/{self._key.cert_id}")
            and self._key.verify(
                signed_message(
                    body["transmission_id"], body["transmission_time"], body["webhook_id"], raw
                ),
                body["transmission_sig"],
            )
        )
        return json_response({"verification_status": "SUCCESS" if good else "FAILURE"})

    async def _get_event(self, call: Call) -> Response:
        body = self._events.get(call.request.path_params["id"])
        if body is None:
            raise self._not_found(call)
        return Response(body, media_type="application/json")

    async def _certificate(self, request: Request) -> Response:
        if request.path_params["id"] != self._key.cert_id:
            error = PayPalError(404, "INVALID_RESOURCE_ID", field="id", location="path")
            return json_response(error.body(_ids.debug_id(), DOCS["notifications"]), 404)
        return Response(self._key.certificate_pem, media_type="application/x-pem-file")

    async def _unknown_path(self, request: Request) -> Response:
        debug_id = _ids.debug_id()
        error = PayPalError(404)
        return json_response(error.body(debug_id, DOCS["orders"]), 404, debug_id)
