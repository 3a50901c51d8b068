"""The PayPal provider: Orders v2 (checkout, capture, vault charges), Payments v2 refunds,
Vault v3 setup and payment tokens, and verified, normalized webhooks — over the core's HTTP."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

if TYPE_CHECKING:
    import httpx

import paywire
from paywire import Capabilities, Capability, PaymentStatus, RefundStatus, SessionStatus
from paywire_paypal._config import LIVE_BASE_URL, PayPalConfig
from paywire_paypal._currency import PAYPAL_CURRENCY_RULES, parse_money
from paywire_paypal._errors import error_from_response, parse_error_body
from paywire_paypal._events import normalize_event
from paywire_paypal._fields import as_list, as_mapping, aware_time, str_or_none
from paywire_paypal._oauth import TokenCache
from paywire_paypal._signature import (
    CertificateCache,
    SignedHeaders,
    check_cert_url,
    check_fresh,
    read_headers,
    utc_now,
    verify_offline,
)

__all__ = ["REQUEST_ID_HEADER", "PayPalProvider"]

_log = logging.getLogger("paywire_paypal")

# A capture that fails this way is final for this approval (the buyer has to approve again):
# redelivering the webhook cannot change it.
_FINAL_CAPTURE_FAILURES = (
    paywire.CardDeclined,
    paywire.PaymentMethodExpired,
    paywire.AuthenticationRequired,
    paywire.InvalidRequest,
    paywire.NotFound,
)

#: PayPal's idempotency header.
REQUEST_ID_HEADER: Final = "PayPal-Request-Id"
# PayPal-Request-Id may hold 1 to 108 characters.
_MAX_REQUEST_ID: Final = 108
_PREFER_FULL: Final = {"Prefer": "return=representation"}
_TEXT_LIMIT: Final = 127
# PayPal's pattern for a vault customer's merchant_customer_id; other app ids are not sent.
_MERCHANT_CUSTOMER_ID: Final = re.compile(r"^[0-9a-zA-Z_.^*$@#-]{1,64}$")

_CAPTURE_STATUS: Final = {
    "COMPLETED": PaymentStatus.SUCCEEDED,
    "PARTIALLY_REFUNDED": PaymentStatus.SUCCEEDED,
    "REFUNDED": PaymentStatus.SUCCEEDED,
    "PENDING": PaymentStatus.PENDING,
}
_FAILED_CAPTURES: Final = frozenset({"DECLINED", "FAILED"})
_REFUND_STATUS: Final = {
    "COMPLETED": RefundStatus.SUCCEEDED,
    "PENDING": RefundStatus.PENDING,
    "FAILED": RefundStatus.FAILED,
    "CANCELLED": RefundStatus.CANCELED,
}


def _segment(value: str) -> str:
    """An id as one URL path segment (an id is never allowed to change the path)."""
    return urllib.parse.quote(value, safe="")


def _derived_key(key: str, suffix: str) -> str:
    """A second PayPal-Request-Id for a second request of the same operation."""
    derived = f"{key}:{suffix}"
    if len(derived) <= _MAX_REQUEST_ID:
        return derived
    return f"{hashlib.sha256(key.encode()).hexdigest()[:64]}:{suffix}"


def _link(resource: Mapping[str, Any], *rels: str) -> str | None:
    for rel in rels:
        for link in as_list(resource.get("links")):
            item = as_mapping(link)
            if item.get("rel") == rel and str_or_none(item.get("href")):
                return str(item["href"])
    return None


def _money(value: paywire.Money) -> dict[str, str]:
    return {
        "currency_code": value.currency,
        "value": PAYPAL_CURRENCY_RULES.to_decimal_string(value),
    }


class PayPalProvider(paywire.Provider[PayPalConfig]):
    """PayPal, through its REST APIs (no SDK).

    Two steps are PayPal's own:

    * **Capture after approval.** A PayPal checkout only *approves* the order
      (``CHECKOUT_COMPLETED``); the money moves when the order is captured. The webhook
      processor does it (:meth:`follow_up`, run before the app's handlers); an app that wants
      the money sooner may also call :meth:`capture_order` with the order id
      (``CheckoutSession.id``, also the ``token`` query parameter on ``success_url``) when the
      customer comes back. Both are idempotent. ``PAYMENT_SUCCEEDED`` follows the capture.
    * **Payment token after setup.** An approved setup token becomes a saved method with
      :meth:`complete_setup` (the setup token is ``SetupSession.id``, also the
      ``approval_token_id`` query parameter on ``success_url``).
    """

    name: ClassVar[str] = "paypal"
    config_class: ClassVar[type[paywire.ProviderConfig]] = PayPalConfig
    currency_rules: ClassVar[paywire.CurrencyRules] = PAYPAL_CURRENCY_RULES
    default_base_url: ClassVar[str] = LIVE_BASE_URL
    request_id_header: ClassVar[str | None] = "Paypal-Debug-Id"
    capabilities: ClassVar[Capabilities] = Capabilities(
        supported={
            Capability.CHECKOUT,
            Capability.SAVE_ON_CHECKOUT,
            Capability.SETUP,
            Capability.CHARGE,
            Capability.REFUND,
            Capability.PARTIAL_REFUND,
            Capability.PAYMENT_METHOD_DETAILS,
            Capability.DETACH,
            Capability.WEBHOOKS,
            Capability.IDEMPOTENCY,
        },
        notes={
            Capability.CHECKOUT: (
                "the buyer approves the order on PayPal; the money moves when the order is "
                "captured, which the webhook processor does on CHECKOUT_COMPLETED (or the app "
                "calls capture_order on return); PAYMENT_SUCCEEDED follows the capture"
            ),
            Capability.SAVE_ON_CHECKOUT: (
                "vaults the PayPal wallet on a successful capture (needs vaulting enabled on the "
                "account; PayPal advises saving without a purchase instead)"
            ),
            Capability.SETUP: (
                "Vault v3 setup token: after the buyer approves, complete_setup(setup_token_id) "
                "creates the payment token"
            ),
            Capability.CHARGE: "a one-step order on the vaulted token (stored credential)",
            Capability.WEBHOOKS: (
                "needs webhook_id; verified offline (CRC32 + RSA-SHA256 with the certificate from "
                "an allow-listed PayPal host) or by PayPal's postback API"
            ),
            Capability.IDEMPOTENCY: (
                "PayPal-Request-Id: kept 6 h for orders, 45 days for refunds, 3 h for vault calls"
            ),
        },
    )

    def __init__(self, config: PayPalConfig, http: paywire.HttpClient) -> None:
        super().__init__(config, http)
        self._tokens = TokenCache(http, config, provider=self.name)
        self._certificates = CertificateCache(self._download_certificate)
        #: The wall clock webhook freshness is judged by (replaceable in tests).
        self.clock: Callable[[], float] = time.time

    # -- plumbing ----------------------------------------------------------------------------

    def available(self) -> bool:
        """Enabled, with a client id and secret (nothing is sent to PayPal)."""
        return bool(self.config.enabled and self.config.client_id and self.config.client_secret)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        empty_json: bool = False,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One authenticated call; a token PayPal calls invalid is replaced and the call sent
        once more (with the same PayPal-Request-Id)."""
        all_headers = {"Accept": "application/json", **(headers or {})}
        if empty_json:
            all_headers["Content-Type"] = "application/json"

        def send(token: paywire.Secret) -> httpx.Response:
            return self.http.request(
                method,
                path,
                json=json_body,
                headers={**all_headers, "Authorization": f"Bearer {token.reveal()}"},
                idempotency_key=idempotency_key,
                idempotency_header=REQUEST_ID_HEADER,
            )

        token = self._tokens.get()
        response = send(token)
        if response.status_code == 401 and self._token_rejected(response):
            self._tokens.invalidate(token)
            response = send(self._tokens.get())
        return response

    @staticmethod
    def _token_rejected(response: httpx.Response) -> bool:
        body = parse_error_body(response.content)
        return body.name == "invalid_token"

    def _fail(self, response: httpx.Response, idempotency_key: str | None) -> paywire.ProviderError:
        return error_from_response(
            response,
            provider=self.name,
            request_id_header=self.request_id_header,
            idempotency_key=idempotency_key,
            secrets=self.config.secrets(),
        )

    def _json(self, response: httpx.Response, idempotency_key: str | None) -> Mapping[str, Any]:
        if not response.is_success:
            raise self._fail(response, idempotency_key)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, Mapping):
            raise paywire.ProviderError(
                "PayPal's answer could not be read",
                provider=self.name,
                http_status=response.status_code,
                request_id=self.http.request_id(response),
            )
        return data

    def _unexpected(self, what: str, response: httpx.Response) -> paywire.ProviderError:
        return paywire.ProviderError(
            f"PayPal's answer to {what} lacks what paywire needs",
            provider=self.name,
            http_status=response.status_code,
            request_id=self.http.request_id(response),
        )

    # -- checkout ----------------------------------------------------------------------------

    def create_checkout_session(
        self,
        invoice: paywire.Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> paywire.CheckoutSession:
        """An Orders v2 order (intent ``CAPTURE``) for ``invoice``; ``url`` is PayPal's approval
        page. The invoice id is the purchase unit's ``reference_id``, ``invoice_id`` and
        ``custom_id``; one item per invoice line, adding up to the total.

        After approval the order must be captured: see :meth:`capture_order`.
        """
        total = invoice.total
        items = [
            {
                "name": line.description[:_TEXT_LIMIT],
                "quantity": str(line.quantity),
                "unit_amount": _money(line.unit_amount),
            }
            for line in invoice.line_items
        ]
        unit: dict[str, Any] = {
            "reference_id": invoice.id,
            "invoice_id": invoice.id,
            "custom_id": invoice.id,
            "amount": {**_money(total), "breakdown": {"item_total": _money(total)}},
            "items": items,
        }
        if invoice.description:
            unit["description"] = invoice.description[:_TEXT_LIMIT]
        experience: dict[str, Any] = {
            "return_url": success_url,
            "cancel_url": cancel_url,
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
        }
        if self.config.brand_name:
            experience["brand_name"] = self.config.brand_name[:_TEXT_LIMIT]
        wallet: dict[str, Any] = {"experience_context": experience}
        customer = invoice.customer
        if save_payment_method:
            attributes: dict[str, Any] = {
                "vault": {
                    "store_in_vault": "ON_SUCCESS",
                    "usage_type": "MERCHANT",
                    "customer_type": "CONSUMER",
                    "permit_multiple_payment_tokens": False,
                }
            }
            if customer is not None and customer.provider_customer_id:
                attributes["customer"] = {"id": customer.provider_customer_id}
            wallet["attributes"] = attributes
        body = {
            "intent": "CAPTURE",
            "purchase_units": [unit],
            "payment_source": {"paypal": wallet},
        }
        key = idempotency_key or paywire.new_idempotency_key()
        response = self._send(
            "POST", "/v2/checkout/orders", json_body=body, idempotency_key=key, headers=_PREFER_FULL
        )
        order = self._json(response, key)
        order_id = str_or_none(order.get("id"))
        url = _link(order, "payer-action", "approve")
        if order_id is None or url is None:
            raise self._unexpected("create order", response)
        return paywire.CheckoutSession(
            provider=self.name,
            id=order_id,
            url=url,
            invoice_id=invoice.id,
            amount=total,
            status=SessionStatus.OPEN,
            customer_id=customer.provider_customer_id if customer is not None else None,
        )

    def follow_up(self, event: paywire.WebhookEvent) -> None:
        """Capture the order of a ``CHECKOUT.ORDER.APPROVED`` event (see :class:`paywire.Provider`).

        :class:`paywire.webhooks.WebhookProcessor` runs this before the app's handlers, so an
        approved checkout is paid — and ``PAYMENT_SUCCEEDED`` arrives — without PayPal-specific
        code in the app. A final failure (the funding source was declined: the buyer has to
        approve again) is logged, not raised, since redelivering the event cannot change it;
        transient failures are raised, so the event is redelivered and the capture tried again.
        """
        if event.raw_type != "CHECKOUT.ORDER.APPROVED" or not event.session_id:
            return
        try:
            self.capture_order(event.session_id)
        except _FINAL_CAPTURE_FAILURES as exc:
            _log.warning(
                "PayPal order %s was approved but could not be captured: %s", event.session_id, exc
            )

    def capture_order(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> paywire.ChargeResult:
        """Capture an approved checkout order: this is when the buyer pays.

        Safe to call more than once (from the return page *and* a webhook handler): the default
        ``PayPal-Request-Id`` is derived from the order id, and an order captured already returns
        its capture. Returns the capture as a :class:`~paywire.ChargeResult` (``id`` is the
        capture id, what :meth:`create_refund` takes). Raises :class:`~paywire.CardDeclined`
        (the funding source refused), :class:`~paywire.InvalidRequest` (``ORDER_NOT_APPROVED``:
        the buyer has not approved yet), :class:`~paywire.NotFound`, and what every call raises.
        After a decline the buyer may approve again with another funding source; capture that
        new approval with a fresh ``idempotency_key``.
        """
        if not order_id:
            raise paywire.NotFound("no PayPal order id given", provider=self.name)
        key = idempotency_key or _derived_key(f"paywire-capture-{order_id}", "v1")
        path = f"/v2/checkout/orders/{_segment(order_id)}/capture"
        response = self._send(
            "POST", path, empty_json=True, idempotency_key=key, headers=_PREFER_FULL
        )
        if response.status_code == 422 and parse_error_body(response.content).issue in (
            "ORDER_ALREADY_CAPTURED",
            "ORDER_COMPLETED_OR_VOIDED",
        ):
            response = self._send("GET", f"/v2/checkout/orders/{_segment(order_id)}")
        order = self._json(response, key)
        return self._charge_result(order, response, key, None, None)

    def _charge_result(
        self,
        order: Mapping[str, Any],
        response: httpx.Response,
        key: str,
        payment_method_id: str | None,
        invoice_id: str | None,
    ) -> paywire.ChargeResult:
        request_id = self.http.request_id(response)
        if order.get("status") == "PAYER_ACTION_REQUIRED":
            raise paywire.AuthenticationRequired(
                "PayPal needs the payer to approve this payment (bring them on-session)",
                provider=self.name,
                raw_code="PAYER_ACTION_REQUIRED",
                http_status=response.status_code,
                request_id=request_id,
            )
        units = [as_mapping(u) for u in as_list(order.get("purchase_units"))]
        first = units[0] if units else {}
        captures = as_list(as_mapping(first.get("payments")).get("captures"))
        if not captures:
            raise paywire.OutcomeUnknown(
                f"PayPal order {order.get('id')!s} reports no capture yet; ask again with the "
                "same idempotency key",
                provider=self.name,
                idempotency_key=key,
                http_status=response.status_code,
                request_id=request_id,
            )
        capture = as_mapping(captures[-1])
        status = str_or_none(capture.get("status")) or ""
        if status in _FAILED_CAPTURES:
            details = as_mapping(capture.get("status_details"))
            processor = as_mapping(capture.get("processor_response"))
            raise paywire.CardDeclined(
                f"PayPal declined the capture ({status})",
                provider=self.name,
                raw_code=str_or_none(details.get("reason"))
                or str_or_none(processor.get("response_code"))
                or status,
                http_status=response.status_code,
                request_id=request_id,
            )
        capture_id = str_or_none(capture.get("id"))
        amount_raw = as_mapping(capture.get("amount"))
        if capture_id is None or status not in _CAPTURE_STATUS or not amount_raw:
            raise self._unexpected("the capture", response)
        try:
            amount = parse_money(amount_raw.get("value"), amount_raw.get("currency_code"))
        except paywire.InvalidAmount:
            raise self._unexpected("the capture (its amount)", response) from None
        vault = as_mapping(
            as_mapping(
                as_mapping(as_mapping(order.get("payment_source")).get("paypal")).get("attributes")
            ).get("vault")
        )
        return paywire.ChargeResult(
            provider=self.name,
            id=capture_id,
            amount=amount,
            status=_CAPTURE_STATUS[status],
            raw_status=status,
            payment_method_id=payment_method_id or str_or_none(vault.get("id")),
            invoice_id=str_or_none(capture.get("invoice_id"))
            or str_or_none(first.get("invoice_id"))
            or invoice_id,
            created_at=aware_time(capture.get("create_time")),
        )

    # -- setup -------------------------------------------------------------------------------

    def create_setup_session(
        self, customer: paywire.Customer, *, success_url: str, cancel_url: str
    ) -> paywire.SetupSession:
        """A Vault v3 setup token for the customer's PayPal wallet; ``url`` is the approval page.

        After approval, :meth:`complete_setup` turns it into a saved method.
        """
        experience: dict[str, Any] = {
            "return_url": success_url,
            "cancel_url": cancel_url,
            "shipping_preference": "NO_SHIPPING",
            "user_action": "CONTINUE",
        }
        if self.config.brand_name:
            experience["brand_name"] = self.config.brand_name[:_TEXT_LIMIT]
        body: dict[str, Any] = {
            "payment_source": {
                "paypal": {
                    "usage_type": "MERCHANT",
                    "customer_type": "CONSUMER",
                    "permit_multiple_payment_tokens": False,
                    "experience_context": experience,
                }
            }
        }
        who: dict[str, str] = {}
        if customer.provider_customer_id:
            who["id"] = customer.provider_customer_id
        if _MERCHANT_CUSTOMER_ID.match(customer.id):
            who["merchant_customer_id"] = customer.id
        if who:
            body["customer"] = who
        key = paywire.new_idempotency_key()
        response = self._send("POST", "/v3/vault/setup-tokens", json_body=body, idempotency_key=key)
        token = self._json(response, key)
        token_id = str_or_none(token.get("id"))
        url = _link(token, "approve", "payer-action")
        if token_id is None or url is None:
            raise self._unexpected("create setup token", response)
        return paywire.SetupSession(
            provider=self.name,
            id=token_id,
            url=url,
            customer_id=str_or_none(as_mapping(token.get("customer")).get("id"))
            or customer.provider_customer_id,
            status=SessionStatus.OPEN,
        )

    def complete_setup(
        self, setup_token_id: str, *, idempotency_key: str | None = None
    ) -> paywire.SavedPaymentMethod:
        """Turn an approved setup token into a payment token (``POST /v3/vault/payment-tokens``).

        Call it when the customer comes back to ``success_url``. Calling it again for the same
        setup token within three hours returns the same payment token (the default
        ``PayPal-Request-Id`` is derived from the setup token id). Raises
        :class:`~paywire.AuthenticationRequired` (``PAYER_ACTION_REQUIRED``: not approved yet),
        :class:`~paywire.InvalidRequest` (``SETUP_TOKEN_ALREADY_TOKENIZED``), :class:`NotFound`.
        """
        if not setup_token_id:
            raise paywire.NotFound("no PayPal setup token id given", provider=self.name)
        key = idempotency_key or _derived_key(f"paywire-setup-{setup_token_id}", "v1")
        body = {"payment_source": {"token": {"id": setup_token_id, "type": "SETUP_TOKEN"}}}
        response = self._send(
            "POST", "/v3/vault/payment-tokens", json_body=body, idempotency_key=key
        )
        token = self._json(response, key)
        token_id = str_or_none(token.get("id"))
        if token_id is None:
            raise self._unexpected("create payment token", response)
        customer_id = str_or_none(as_mapping(token.get("customer")).get("id"))
        return paywire.SavedPaymentMethod(self.name, token_id, customer_id)

    # -- charge ------------------------------------------------------------------------------

    def charge_payment_method(
        self,
        payment_method: paywire.SavedPaymentMethod,
        amount: paywire.Money,
        *,
        description: str | None = None,
        invoice_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> paywire.ChargeResult:
        """A one-step order on the vaulted token, captured at once.

        ``invoice_id`` becomes the purchase unit's ``invoice_id`` and ``custom_id`` (PayPal has
        no free-form metadata; ``metadata["custom_id"]`` is used when there is no invoice id).
        ``ChargeResult.id`` is the capture id. A token vaulted as a card is charged as one.
        """
        money = _money(amount)  # refuses what PayPal cannot take, before any HTTP
        unit: dict[str, Any] = {"amount": money}
        custom = invoice_id or (metadata or {}).get("custom_id")
        if invoice_id:
            unit["invoice_id"] = invoice_id
        if custom:
            unit["custom_id"] = custom[:_TEXT_LIMIT]
        if description:
            unit["description"] = description[:_TEXT_LIMIT]
        key = idempotency_key or paywire.new_idempotency_key()
        wallet = {
            "vault_id": payment_method.id,
            "stored_credential": {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT"},
        }
        body = {"intent": "CAPTURE", "purchase_units": [unit], "payment_source": {"paypal": wallet}}
        response = self._send(
            "POST", "/v2/checkout/orders", json_body=body, idempotency_key=key, headers=_PREFER_FULL
        )
        if (
            response.status_code == 422
            and parse_error_body(response.content).issue == "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE"
        ):
            # The token holds a card: merchant-initiated card charges say so, unscheduled.
            card = {
                "vault_id": payment_method.id,
                "stored_credential": {
                    "payment_initiator": "MERCHANT",
                    "payment_type": "UNSCHEDULED",
                    "usage": "SUBSEQUENT",
                },
            }
            body = {**body, "payment_source": {"card": card}}
            response = self._send(
                "POST",
                "/v2/checkout/orders",
                json_body=body,
                idempotency_key=_derived_key(key, "card"),
                headers=_PREFER_FULL,
            )
        order = self._json(response, key)
        return self._charge_result(order, response, key, payment_method.id, invoice_id)

    # -- refunds -----------------------------------------------------------------------------

    def create_refund(
        self,
        transaction_id: str,
        amount: paywire.Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> paywire.RefundResult:
        """Refund a capture (``transaction_id`` is ``ChargeResult.id``): all that is left when
        ``amount`` is ``None``. ``reason`` goes to the payer as ``note_to_payer``;
        ``metadata["invoice_id"]`` becomes the refund's ``invoice_id``."""
        if not transaction_id:
            raise paywire.NotFound("no PayPal capture id given", provider=self.name)
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = _money(amount)
        refund_invoice = (metadata or {}).get("invoice_id")
        if refund_invoice:
            body["invoice_id"] = refund_invoice[:_TEXT_LIMIT]
        if reason:
            body["note_to_payer"] = reason[:255]
        key = idempotency_key or paywire.new_idempotency_key()
        path = f"/v2/payments/captures/{_segment(transaction_id)}/refund"
        response = self._send(
            "POST",
            path,
            json_body=body or None,
            empty_json=not body,
            idempotency_key=key,
            headers=_PREFER_FULL,
        )
        refund = self._json(response, key)
        refund_id = str_or_none(refund.get("id"))
        status = str_or_none(refund.get("status")) or ""
        raw_amount = as_mapping(refund.get("amount"))
        if refund_id is None or status not in _REFUND_STATUS:
            raise self._unexpected("the refund", response)
        if raw_amount:
            try:
                refunded = parse_money(raw_amount.get("value"), raw_amount.get("currency_code"))
            except paywire.InvalidAmount:
                raise self._unexpected("the refund (its amount)", response) from None
        elif amount is not None:
            refunded = amount
        else:
            raise self._unexpected("the refund", response)
        return paywire.RefundResult(
            provider=self.name,
            id=refund_id,
            transaction_id=transaction_id,
            amount=refunded,
            status=_REFUND_STATUS[status],
            raw_status=status,
        )

    # -- saved methods -----------------------------------------------------------------------

    def get_payment_method_details(self, payment_method_id: str) -> paywire.PaymentMethodInfo:
        """``GET /v3/vault/payment-tokens/{id}``: a PayPal wallet (type ``paypal``, email) or a
        card (type ``card``, brand, last4, expiry)."""
        if not payment_method_id:
            raise paywire.NotFound("no PayPal payment token id given", provider=self.name)
        response = self._send("GET", f"/v3/vault/payment-tokens/{_segment(payment_method_id)}")
        token = self._json(response, None)
        source = as_mapping(token.get("payment_source"))
        customer_id = str_or_none(as_mapping(token.get("customer")).get("id"))
        token_id = str_or_none(token.get("id")) or payment_method_id
        card = as_mapping(source.get("card"))
        if card:
            exp_year = exp_month = None
            expiry = str_or_none(card.get("expiry")) or ""
            year, _, month = expiry.partition("-")
            if year.isdigit() and month.isdigit():
                exp_year, exp_month = int(year), int(month)
            last = str_or_none(card.get("last_digits"))
            brand = str_or_none(card.get("brand"))
            return paywire.PaymentMethodInfo(
                provider=self.name,
                id=token_id,
                type="card",
                customer_id=customer_id,
                brand=brand.lower() if brand else None,
                last4=last if last and len(last) == 4 and last.isdigit() else None,
                exp_month=exp_month,
                exp_year=exp_year,
            )
        kind = next((k for k in ("paypal", "venmo", "apple_pay") if k in source), None)
        if kind is None:
            kind = next(iter(source), "paypal")
        wallet = as_mapping(source.get(kind))
        return paywire.PaymentMethodInfo(
            provider=self.name,
            id=token_id,
            type=kind,
            customer_id=customer_id,
            email=str_or_none(wallet.get("email_address")),
        )

    def detach_payment_method(self, payment_method_id: str) -> None:
        """``DELETE /v3/vault/payment-tokens/{id}`` (204); an unknown token is :class:`NotFound`."""
        if not payment_method_id:
            raise paywire.NotFound("no PayPal payment token id given", provider=self.name)
        response = self._send("DELETE", f"/v3/vault/payment-tokens/{_segment(payment_method_id)}")
        if not response.is_success:
            raise self._fail(response, None)

    # -- webhooks ----------------------------------------------------------------------------

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        """Check a delivery's ``PAYPAL-*`` signature headers against the raw body.

        ``secret`` is the **webhook id** to check against (default: the configured
        ``webhook_id``). Offline by default; ``webhook_verification="postback"`` asks PayPal.
        Raises :class:`~paywire.InvalidSignature` — and nothing else — on any failure.
        """
        try:
            self._verify(payload, headers, secret)
        except paywire.InvalidSignature:
            raise
        except Exception as exc:
            # Whatever went wrong (a certificate server down, a body that is not JSON for the
            # postback), the delivery is not verified: that is the only thing callers may learn.
            raise paywire.InvalidSignature(
                f"the webhook could not be verified ({type(exc).__name__})"
            ) from None

    def _verify(self, payload: bytes, headers: Mapping[str, str], secret: str | None) -> None:
        if not isinstance(payload, bytes | bytearray):
            raise paywire.InvalidSignature("the payload must be the raw request body (bytes)")
        webhook_id = secret if isinstance(secret, str) and secret else self.config.webhook_id
        if not webhook_id:
            raise paywire.InvalidSignature("no PayPal webhook_id configured")
        signed = read_headers(headers)
        now = self.clock()
        check_fresh(signed.sent_at, now=now, tolerance=self.config.webhook_tolerance)
        check_cert_url(signed.cert_url, self.config.cert_hosts)
        if self.config.webhook_verification == "postback":
            self._verify_by_postback(bytes(payload), signed, webhook_id)
            return
        key = self._certificates.key_for(signed.cert_url, now=utc_now(now))
        verify_offline(bytes(payload), signed, webhook_id, key)

    def _download_certificate(self, url: str) -> bytes:
        try:
            response = self.http.request("GET", url, headers={"Accept": "*/*"})
        except paywire.PaywireError:
            raise paywire.InvalidSignature("the signing certificate could not be fetched") from None
        if response.status_code != 200:
            raise paywire.InvalidSignature("the signing certificate could not be fetched")
        return response.content

    def _verify_by_postback(self, payload: bytes, signed: SignedHeaders, webhook_id: str) -> None:
        try:
            event = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise paywire.InvalidSignature("the body is not a JSON event") from None
        body = {
            "auth_algo": signed.auth_algo,
            "cert_url": signed.cert_url,
            "transmission_id": signed.transmission_id,
            "transmission_sig": signed.signature_b64,
            "transmission_time": signed.transmission_time,
            "webhook_id": webhook_id,
            "webhook_event": event,
        }
        key = paywire.new_idempotency_key()
        try:
            response = self._send(
                "POST",
                "/v1/notifications/verify-webhook-signature",
                json_body=body,
                idempotency_key=key,
            )
            answer = self._json(response, key)
        except paywire.PaywireError:
            raise paywire.InvalidSignature("PayPal could not verify the webhook") from None
        if answer.get("verification_status") != "SUCCESS":
            raise paywire.InvalidSignature("PayPal says the signature does not match")

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> paywire.WebhookEvent:
        """Normalize a verified PayPal event (see :mod:`paywire_paypal._events` for the map)."""
        return normalize_event(self.name, payload)
