"""The PayPal provider on paywire's operation kernel: Orders v2 (checkout, capture, vault
charges), Payments v2 refunds, Vault v3 setup and payment tokens, and verified, normalized
webhooks.

Every operation is a generator of :class:`~paywire.plugin.Call`\\ s (sans-I/O): the kernel sends
them — with the OAuth token from :meth:`PayPalProvider.authorize` and the key in
``PayPal-Request-Id`` — retries, reads the answers, raises PayPal's errors through
:data:`~paywire_paypal._errors.ERROR_RULES`, and runs the same code for sync and async callers.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

import paywire
from paywire import (
    Capabilities,
    Capability,
    EventType,
    PaymentStatus,
    RefundStatus,
    SessionStatus,
    plugin,
)
from paywire.plugin import Call, Operation, Reply, UnexpectedAnswer, derived_key, immediately
from paywire_paypal._config import LIVE_BASE_URL, PayPalConfig
from paywire_paypal._currency import PAYPAL_CURRENCY_RULES, money_fields, parse_money
from paywire_paypal._errors import (
    ERROR_RULES,
    payer_action_url,
    read_error,
    retry_advice,
)
from paywire_paypal._events import normalize_event
from paywire_paypal._fields import as_list, as_mapping, aware_time, str_or_none
from paywire_paypal._oauth import TokenCache, read_token, token_call
from paywire_paypal._signature import (
    CertificateCache,
    SignedHeaders,
    check_cert_url,
    check_fresh,
    read_headers,
    utc_now,
    verify_offline,
)

if TYPE_CHECKING:
    from paywire.plugin import HttpClient

_LACKS: Final = "PayPal's answer lacks what paywire needs"

__all__ = ["REQUEST_ID_HEADER", "PayPalProvider"]

_log = logging.getLogger("paywire_paypal")

#: PayPal's idempotency header.
REQUEST_ID_HEADER: Final = "PayPal-Request-Id"
# PayPal-Request-Id holds 1 to 108 characters.
_MAX_REQUEST_ID: Final = 108
_JSON: Final = {"Content-Type": "application/json"}
_PREFER_FULL: Final = {"Prefer": "return=representation"}
# PayPal's limits on what it displays or keeps (purchase unit and item fields).
_TEXT_LIMIT: Final = 127
_NOTE_LIMIT: Final = 255
_MAX_QUANTITY: Final = 9_999_999_999
# PayPal's patterns for ids it issues (Orders v2 vault_id, Vault v3 customer and token ids).
_VAULT_ID: Final = re.compile(r"^[0-9a-zA-Z_-]{1,36}$")
_CUSTOMER_ID: Final = re.compile(r"^[0-9a-zA-Z_-]{1,22}$")
_SETUP_TOKEN_ID: Final = re.compile(r"^[0-9A-Z_-]{1,255}$")
# What PayPal accepts as a vault customer's merchant_customer_id; other app ids are not sent.
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
# A capture that fails this way is final for this approval (the buyer has to approve again):
# redelivering the webhook cannot change it.
_FINAL_CAPTURE_FAILURES: Final = (
    paywire.CardDeclined,
    paywire.PaymentMethodExpired,
    paywire.AuthenticationRequired,
    paywire.InvalidRequest,
    paywire.NotFound,
)
_ALREADY_CAPTURED: Final = frozenset({"ORDER_ALREADY_CAPTURED", "ORDER_COMPLETED_OR_VOIDED"})


def _request_id(key: str) -> str:
    """``key`` as a ``PayPal-Request-Id``: itself when it fits (1–108 printable ASCII characters),
    else a digest of it — the same for the same key, so retrying with it stays idempotent."""
    if len(key) <= _MAX_REQUEST_ID and key.isascii() and key.isprintable():
        return key
    return "paywire-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _step_key(key: str, step: str) -> str:
    """The ``PayPal-Request-Id`` of another request of the same operation."""
    return _request_id(derived_key(key, step, max_length=_MAX_REQUEST_ID))


def _capture_key(order_id: str) -> str:
    """The default key of capturing ``order_id``: the same wherever the capture starts (the
    return page, the webhook's follow-up), so PayPal captures once."""
    return derived_key(f"paywire-capture-{order_id}", "v1", max_length=_MAX_REQUEST_ID)


def _segment(value: str) -> str:
    """An id as one URL path segment (an id is never allowed to change the path)."""
    return urllib.parse.quote(value, safe="")


def _text(value: str, limit: int = _TEXT_LIMIT) -> str:
    return value[:limit]


class PayPalProvider(plugin.KernelProvider[PayPalConfig]):
    """PayPal, through its REST APIs (no SDK), on paywire's operation kernel.

    Two steps are PayPal's own:

    * **Capture after approval.** A PayPal checkout only *approves* the order
      (``CHECKOUT_COMPLETED``); the money moves when the order is captured. The webhook
      processor does it (:meth:`follow_up` on ``CHECKOUT.ORDER.APPROVED``, run before the app's
      handlers); an app that wants the money sooner may also call :meth:`capture_order` with the
      order id (``CheckoutSession.id``, also the ``token`` query parameter on ``success_url``)
      when the customer comes back. Both are idempotent. ``PAYMENT_SUCCEEDED`` follows the
      capture.
    * **Payment token after setup.** PayPal sends no webhook when a buyer approves a setup
      token: :meth:`complete_setup` on the return path turns it into a saved method (give it the
      :class:`~paywire.SetupSession`, or its id — the ``approval_token_id`` query parameter on
      ``success_url`` — with that URL's query as ``params``). ``VAULT.PAYMENT-TOKEN.CREATED``
      (``SETUP_COMPLETED``, carrying the saved method) follows.
    """

    name: ClassVar[str] = "paypal"
    config_class: ClassVar[type[paywire.ProviderConfig]] = PayPalConfig
    currency_rules: ClassVar[paywire.CurrencyRules] = PAYPAL_CURRENCY_RULES
    default_base_url: ClassVar[str] = LIVE_BASE_URL
    request_id_header: ClassVar[str | None] = "Paypal-Debug-Id"
    idempotency_header: ClassVar[str | None] = REQUEST_ID_HEADER
    error_rules: ClassVar[tuple[plugin.ErrorRule, ...]] = ERROR_RULES
    retry_advice = staticmethod(retry_advice)
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
                "captured, which the webhook processor's follow-up does on CHECKOUT_COMPLETED "
                "(or the app calls capture_order on return); PAYMENT_SUCCEEDED follows"
            ),
            Capability.SAVE_ON_CHECKOUT: (
                "vaults the PayPal wallet on a successful capture (needs vaulting enabled on the "
                "account; PayPal advises saving without a purchase instead)"
            ),
            Capability.SETUP: (
                "Vault v3 setup token; PayPal sends no webhook on approval: complete_setup on the "
                "return path creates the payment token (VAULT.PAYMENT-TOKEN.CREATED follows)"
            ),
            Capability.CHARGE: "a one-step order on the vaulted token (stored credential)",
            Capability.WEBHOOKS: (
                "needs webhook_id (PayPal's 'secret'); verified offline (CRC32 + RSA-SHA256 with "
                "the certificate from an allow-listed PayPal host) or by PayPal's postback API"
            ),
            Capability.IDEMPOTENCY: (
                "PayPal-Request-Id: kept 6 h for orders, 45 days for refunds, 3 h for vault calls"
            ),
        },
    )

    def __init__(self, config: PayPalConfig, http: HttpClient) -> None:
        super().__init__(config, http)
        self._tokens = TokenCache()
        self._certificates = CertificateCache()
        #: The wall clock webhook freshness is judged by (replaceable in tests).
        self.clock: Callable[[], float] = time.time

    def available(self) -> bool:
        """Enabled, with a client id and secret (nothing is sent to PayPal)."""
        return bool(self.config.enabled and self.config.client_id and self.config.client_secret)

    # -- credentials ---------------------------------------------------------------------------

    def authorize(self, call: Call) -> Operation[Mapping[str, str]]:
        """The bearer token's header: the cached one while fresh, else a new one from
        ``POST /v1/oauth2/token`` (which the kernel sends without credentials)."""
        headers = self._tokens.headers()
        if headers is not None:
            return immediately(headers)
        return self._new_token()

    def _new_token(self) -> Operation[Mapping[str, str]]:
        asked_at = self._tokens.clock()
        call = token_call(self.config.client_id, self.config.client_secret)
        try:
            reply = yield call
        except paywire.OutcomeUnknown as exc:
            # A lost token request changed nothing at PayPal: it is simply unavailable.
            raise paywire.ProviderUnavailable(
                f"could not get a PayPal access token: {exc.message}",
                provider=self.name,
                raw_code=exc.raw_code,
                http_status=exc.http_status,
                request_id=exc.request_id,
            ) from None
        token, lifetime = read_token(reply, provider=self.name)
        return self._tokens.store(token, lifetime, asked_at=asked_at)

    def credentials_expired(self, reply: Reply) -> bool:
        """A 401 ``invalid_token``: the token expired or was revoked (it is renewed once)."""
        return self.read_error(reply).code == "invalid_token"

    def forget_credentials(self) -> None:
        """Drop the cached token."""
        self._tokens.forget()

    def read_error(self, reply: Reply) -> plugin.ErrorInfo:
        """See :func:`paywire_paypal._errors.read_error`."""
        return read_error(reply)

    # -- helpers -------------------------------------------------------------------------------

    def _experience(self, success_url: str, cancel_url: str) -> dict[str, Any]:
        experience: dict[str, Any] = {
            "return_url": success_url,
            "cancel_url": cancel_url,
            "shipping_preference": "NO_SHIPPING",
        }
        if self.config.brand_name:
            experience["brand_name"] = _text(self.config.brand_name)
        return experience

    def _vault_customer(self, customer: paywire.Customer | None) -> str | None:
        """The customer's PayPal vault customer id, refused before sending if PayPal could not
        have issued it."""
        if customer is None or not customer.provider_customer_id:
            return None
        if not _CUSTOMER_ID.match(customer.provider_customer_id):
            raise paywire.InvalidRequest(
                "provider_customer_id is not a PayPal vault customer id (1-22 letters, digits, "
                "'_' or '-')",
                provider=self.name,
            )
        return customer.provider_customer_id

    def _vault_id(self, method: paywire.SavedPaymentMethod) -> str:
        if not _VAULT_ID.match(method.id):
            raise paywire.NotFound(
                "not a PayPal payment token id (1-36 letters, digits, '_' or '-')",
                provider=self.name,
            )
        return method.id

    # -- checkout ------------------------------------------------------------------------------

    def op_checkout(
        self,
        invoice: paywire.Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool,
        key: str,
    ) -> Operation[paywire.CheckoutSession]:
        """An Orders v2 order (intent ``CAPTURE``) for ``invoice``; ``url`` is PayPal's approval
        page. The invoice id is the purchase unit's ``reference_id``, ``invoice_id`` and
        ``custom_id``; one item per invoice line, adding up to the total.

        Refused before sending: an amount PayPal cannot express, an invoice id longer than
        PayPal keeps (127 characters), a quantity of more than ten digits.
        """
        self._check_invoice_id(invoice.id)
        total = invoice.total
        items = []
        for line in invoice.line_items:
            if line.quantity > _MAX_QUANTITY:
                raise paywire.InvalidRequest(
                    "PayPal takes item quantities of at most ten digits", provider=self.name
                )
            items.append(
                {
                    "name": _text(line.description),
                    "quantity": str(line.quantity),
                    "unit_amount": money_fields(line.unit_amount),
                }
            )
        amount = money_fields(total)
        unit: dict[str, Any] = {
            "reference_id": invoice.id,
            "invoice_id": invoice.id,
            "custom_id": invoice.id,
            "amount": {**amount, "breakdown": {"item_total": amount}},
            "items": items,
        }
        if invoice.description:
            unit["description"] = _text(invoice.description)
        wallet: dict[str, Any] = {
            "experience_context": {
                **self._experience(success_url, cancel_url),
                "user_action": "PAY_NOW",  # the buyer pays on PayPal's page
            }
        }
        customer = invoice.customer
        customer_id = customer.provider_customer_id if customer is not None else None
        if save_payment_method:
            customer_id = self._vault_customer(customer)
            attributes: dict[str, Any] = {
                "vault": {
                    "store_in_vault": "ON_SUCCESS",
                    "usage_type": "MERCHANT",
                    "customer_type": "CONSUMER",
                    "permit_multiple_payment_tokens": False,
                }
            }
            if customer_id is not None:
                attributes["customer"] = {"id": customer_id}
            wallet["attributes"] = attributes
        body = {
            "intent": "CAPTURE",
            "purchase_units": [unit],
            "payment_source": {"paypal": wallet},
        }
        call = Call.post(
            "/v2/checkout/orders",
            json=body,
            headers=_PREFER_FULL,
            key=_request_id(key),
            operation="checkout",
        )
        reply = yield call
        order = reply.data
        order_id = str_or_none(order.get("id"))
        url = payer_action_url(order)
        if order_id is None or url is None:
            raise UnexpectedAnswer(f"{_LACKS} (creating an order)")
        return paywire.CheckoutSession(
            provider=self.name,
            id=order_id,
            url=url,
            invoice_id=invoice.id,
            amount=total,
            status=SessionStatus.OPEN,
            customer_id=customer_id,
        )

    def _check_invoice_id(self, invoice_id: str) -> None:
        if len(invoice_id) > _TEXT_LIMIT:
            raise paywire.InvalidRequest(
                f"PayPal keeps invoice ids of at most {_TEXT_LIMIT} characters",
                provider=self.name,
            )

    def capture_order(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> paywire.ChargeResult:
        """Capture an approved checkout order: this is when the buyer pays.

        Safe to call more than once (from the return page *and* the webhook's follow-up): the
        default ``PayPal-Request-Id`` is derived from the order id, and an order captured already
        returns its capture. Returns the capture as a :class:`~paywire.ChargeResult` (``id`` is
        the capture id, what :meth:`create_refund` takes). Raises :class:`~paywire.CardDeclined`
        (the funding source refused), :class:`~paywire.AuthenticationRequired` (the buyer must
        act again: ``transaction_id`` is the order), :class:`~paywire.InvalidRequest`
        (``ORDER_NOT_APPROVED``: the buyer has not approved yet), :class:`~paywire.NotFound`, and
        what every call raises. After a decline the buyer may approve again with another funding
        source; capture that new approval with a fresh ``idempotency_key``.
        """
        key = idempotency_key or _capture_key(order_id)
        return self.run(self._op_capture(order_id, key=key), key=key)

    async def capture_order_async(
        self, order_id: str, *, idempotency_key: str | None = None
    ) -> paywire.ChargeResult:
        """:meth:`capture_order`, awaitable."""
        key = idempotency_key or _capture_key(order_id)
        return await self.run_async(self._op_capture(order_id, key=key), key=key)

    def _op_capture(self, order_id: str, *, key: str) -> Operation[paywire.ChargeResult]:
        reply = yield from self._capture(order_id, key=key)
        return self._charge_result(reply, None, None)

    def _capture(self, order_id: str, *, key: str) -> Operation[Reply]:
        """Capture ``order_id``; the answer is the order with its capture."""
        if not isinstance(order_id, str) or not order_id:
            raise paywire.NotFound("no PayPal order id given", provider=self.name)
        path = f"/v2/checkout/orders/{_segment(order_id)}"
        call = Call.post(
            f"{path}/capture",
            headers={**_JSON, **_PREFER_FULL},
            key=_request_id(key),
            operation="capture",
        )
        try:
            return (yield call)
        except paywire.AuthenticationRequired as exc:
            raise _waiting_on(exc, order_id) from None
        except paywire.InvalidRequest as exc:
            if exc.raw_code not in _ALREADY_CAPTURED:
                raise
        # Captured already (by the return page, say): the order holds its capture.
        return (yield Call.get(path, operation="capture"))

    def op_follow_up(self, event: paywire.WebhookEvent) -> Operation[paywire.WebhookEvent | None]:
        """Capture the order of a ``CHECKOUT.ORDER.APPROVED`` event (see
        :meth:`paywire.Provider.follow_up`); other events need nothing.

        :class:`paywire.webhooks.WebhookProcessor` runs this before the app's handlers, so an
        approved checkout is paid — and ``PAYMENT_SUCCEEDED`` arrives — without PayPal-specific
        code in the app. It is idempotent (the capture's key comes from the order id). The
        handlers then see the event completed with what the capture made: ``transaction_id`` (the
        capture, what ``create_refund`` takes) and, when the checkout saved the wallet, the saved
        method (``saved_payment_method``). A final failure (the funding source was declined: the
        buyer has to approve again) is logged, not raised, and the event is left as it was, since
        redelivering it cannot change that; transient failures are raised, so the event is
        redelivered and the capture tried again.
        """
        if event.raw_type != "CHECKOUT.ORDER.APPROVED" or not event.session_id:
            return None
        order_id = event.session_id
        key = _capture_key(order_id)
        try:
            reply = yield from self._capture(order_id, key=key)
            capture = self._charge_result(reply, None, None)
        except paywire.OutcomeUnknown as exc:
            # A follow-up has no operation key of its own for the kernel to name: the capture's is
            # the one to retry with.
            raise paywire.OutcomeUnknown(
                exc.message,
                provider=exc.provider,
                idempotency_key=exc.idempotency_key or key,
                raw_code=exc.raw_code,
                http_status=exc.http_status,
                request_id=exc.request_id,
            ) from None
        except _FINAL_CAPTURE_FAILURES as exc:
            _log.warning(
                "PayPal order %s was approved but could not be captured: %s", order_id, exc
            )
            return None
        vault = _vault_of(reply.data)
        vaulted = str_or_none(vault.get("id"))
        return attrs.evolve(
            event,
            transaction_id=capture.id,
            payment_method_id=event.payment_method_id or vaulted,
            customer_id=event.customer_id
            or str_or_none(as_mapping(vault.get("customer")).get("id")),
            method_saved=event.method_saved or vaulted is not None,
        )

    def _charge_result(
        self,
        reply: Reply,
        payment_method_id: str | None,
        invoice_id: str | None,
        sent: tuple[paywire.Money, Mapping[str, str]] | None = None,
    ) -> paywire.ChargeResult:
        """The capture an order answer holds, as a :class:`~paywire.ChargeResult` (``sent``: the
        amount charged and how it was written, when paywire chose it)."""
        order = reply.data
        order_id = str_or_none(order.get("id"))
        if order.get("status") == "PAYER_ACTION_REQUIRED":
            raise paywire.AuthenticationRequired(
                "PayPal needs the payer to approve this payment: send them to action_url",
                provider=self.name,
                transaction_id=order_id,
                action_url=payer_action_url(order),
                raw_code="PAYER_ACTION_REQUIRED",
                http_status=reply.status,
                request_id=reply.request_id,
            )
        units = [as_mapping(u) for u in as_list(order.get("purchase_units"))]
        first = units[0] if units else {}
        captures = as_list(as_mapping(first.get("payments")).get("captures"))
        if not captures:
            raise paywire.OutcomeUnknown(
                f"PayPal order {order_id} reports no capture yet; ask again with the same "
                "idempotency key",
                provider=self.name,
                idempotency_key=None,  # the kernel puts the operation's key here
                http_status=reply.status,
                request_id=reply.request_id,
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
                http_status=reply.status,
                request_id=reply.request_id,
            )
        capture_id = str_or_none(capture.get("id"))
        try:
            amount = _money(capture.get("amount"), sent)
        except paywire.InvalidAmount:
            amount = None
        if capture_id is None or status not in _CAPTURE_STATUS or amount is None:
            raise UnexpectedAnswer(f"{_LACKS} (the capture)")
        vault = _vault_of(order)
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

    # -- setup ---------------------------------------------------------------------------------

    def op_setup(
        self, customer: paywire.Customer, *, success_url: str, cancel_url: str, key: str
    ) -> Operation[paywire.SetupSession]:
        """A Vault v3 setup token for the customer's PayPal wallet; ``url`` is the approval page.

        After approval, :meth:`complete_setup` turns it into a saved method.
        """
        body: dict[str, Any] = {
            "payment_source": {
                "paypal": {
                    "usage_type": "MERCHANT",
                    "customer_type": "CONSUMER",
                    "permit_multiple_payment_tokens": False,
                    # Vault v3 has no user_action: the page only asks for consent.
                    "experience_context": self._experience(success_url, cancel_url),
                }
            }
        }
        who: dict[str, str] = {}
        vault_customer = self._vault_customer(customer)
        if vault_customer is not None:
            who["id"] = vault_customer
        if _MERCHANT_CUSTOMER_ID.match(customer.id):
            who["merchant_customer_id"] = customer.id
        if who:
            body["customer"] = who
        call = Call.post(
            "/v3/vault/setup-tokens", json=body, key=_request_id(key), operation="setup"
        )
        reply = yield call
        token = reply.data
        token_id = str_or_none(token.get("id"))
        url = payer_action_url(token)
        if token_id is None or url is None:
            raise UnexpectedAnswer(f"{_LACKS} (creating a setup token)")
        return paywire.SetupSession(
            provider=self.name,
            id=token_id,
            url=url,
            customer_id=str_or_none(as_mapping(token.get("customer")).get("id")) or vault_customer,
            status=SessionStatus.OPEN,
        )

    def op_complete_setup(
        self,
        source: paywire.SetupSession | paywire.WebhookEvent | str,
        *,
        params: Mapping[str, str],
        key: str,
    ) -> Operation[paywire.SavedPaymentMethod]:
        """The saved method a finished setup made (see :meth:`paywire.Provider.complete_setup`).

        From a ``SETUP_COMPLETED`` event (``VAULT.PAYMENT-TOKEN.CREATED``): the method it
        carries, with no request. From the :class:`~paywire.SetupSession` or its id (the setup
        token; PayPal puts it in ``success_url``'s ``approval_token_id``): ``POST
        /v3/vault/payment-tokens`` turns the approved setup token into a payment token. Asking
        again for the same setup token returns the same payment token (the default key is
        derived from it; PayPal keeps it three hours). Raises
        :class:`~paywire.AuthenticationRequired` (not approved yet: ``transaction_id`` is the
        setup token, ``action_url`` its approval page when the session is given),
        :class:`~paywire.InvalidRequest` (``params`` name another setup token;
        ``SETUP_TOKEN_ALREADY_TOKENIZED`` after PayPal's three hours), :class:`~paywire.NotFound`.
        """
        if isinstance(source, paywire.WebhookEvent):
            saved = source.saved_payment_method
            if source.type is not EventType.SETUP_COMPLETED or saved is None:
                raise paywire.InvalidRequest(
                    f"a {source.raw_type} event names no saved PayPal method: complete the "
                    "setup with its SetupSession (or setup token id) instead",
                    provider=self.name,
                )
            return immediately(saved)
        return self._complete_setup(source, params, key)

    def _complete_setup(
        self, source: paywire.SetupSession | str, params: Mapping[str, str], key: str
    ) -> Operation[paywire.SavedPaymentMethod]:
        session = source if isinstance(source, paywire.SetupSession) else None
        token_id = session.id if session is not None else source
        returned = params.get("approval_token_id")
        if not isinstance(token_id, str) or not token_id:
            token_id = returned or ""
        elif returned and returned != token_id:
            raise paywire.InvalidRequest(
                "the return URL's approval_token_id names another setup token than the session",
                provider=self.name,
            )
        if not _SETUP_TOKEN_ID.match(token_id):
            raise paywire.NotFound("not a PayPal setup token id", provider=self.name)
        body = {"payment_source": {"token": {"id": token_id, "type": "SETUP_TOKEN"}}}
        call = Call.post(
            "/v3/vault/payment-tokens", json=body, key=_request_id(key), operation="setup"
        )
        try:
            reply = yield call
        except paywire.AuthenticationRequired as exc:
            raise _waiting_on(exc, token_id, session.url if session else None) from None
        token = reply.data
        payment_token = str_or_none(token.get("id"))
        if payment_token is None:
            raise UnexpectedAnswer(f"{_LACKS} (creating a payment token)")
        customer_id = str_or_none(as_mapping(token.get("customer")).get("id"))
        return paywire.SavedPaymentMethod(self.name, payment_token, customer_id)

    # -- charge --------------------------------------------------------------------------------

    def op_charge(
        self,
        method: paywire.SavedPaymentMethod,
        amount: paywire.Money,
        *,
        description: str | None,
        invoice_id: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[paywire.ChargeResult]:
        """A one-step order on the vaulted token, captured at once.

        ``invoice_id`` becomes the purchase unit's ``invoice_id`` and ``custom_id`` (PayPal has
        no free-form metadata; ``metadata["custom_id"]`` is used when there is no invoice id).
        ``ChargeResult.id`` is the capture id. A token vaulted as a card is charged as one.
        A charge PayPal wants the payer for raises :class:`~paywire.AuthenticationRequired` with
        the order as ``transaction_id`` and PayPal's payer-action link as ``action_url``.
        """
        unit: dict[str, Any] = {"amount": money_fields(amount)}
        if invoice_id:
            self._check_invoice_id(invoice_id)
            unit["invoice_id"] = invoice_id
        custom = invoice_id or metadata.get("custom_id")
        if custom:
            unit["custom_id"] = _text(custom)
        if description:
            unit["description"] = _text(description)
        vault_id = self._vault_id(method)
        wallet = {
            "vault_id": vault_id,
            "stored_credential": {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT"},
        }
        body = {"intent": "CAPTURE", "purchase_units": [unit], "payment_source": {"paypal": wallet}}
        call = Call.post(
            "/v2/checkout/orders",
            json=body,
            headers=_PREFER_FULL,
            key=_request_id(key),
            operation="charge",
        )
        try:
            reply = yield call
        except paywire.InvalidRequest as exc:
            if exc.raw_code != "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE":
                raise
            # The token holds a card: merchant-initiated card charges say so, unscheduled.
            card = {
                "vault_id": vault_id,
                "stored_credential": {
                    "payment_initiator": "MERCHANT",
                    "payment_type": "UNSCHEDULED",
                    "usage": "SUBSEQUENT",
                },
            }
            call = Call.post(
                "/v2/checkout/orders",
                json={**body, "payment_source": {"card": card}},
                headers=_PREFER_FULL,
                key=_step_key(key, "card"),
                operation="charge",
            )
            reply = yield call
        return self._charge_result(reply, method.id, invoice_id, (amount, unit["amount"]))

    # -- refunds -------------------------------------------------------------------------------

    def op_refund(
        self,
        transaction_id: str,
        amount: paywire.Money | None,
        *,
        reason: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[paywire.RefundResult]:
        """Refund a capture (``transaction_id`` is ``ChargeResult.id``): all that is left when
        ``amount`` is ``None`` (an empty body). ``reason`` goes to the payer as
        ``note_to_payer``; ``metadata["invoice_id"]`` becomes the refund's ``invoice_id``."""
        if not isinstance(transaction_id, str) or not transaction_id:
            raise paywire.NotFound("no PayPal capture id given", provider=self.name)
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = money_fields(amount)
        refund_invoice = metadata.get("invoice_id")
        if refund_invoice:
            self._check_invoice_id(refund_invoice)
            body["invoice_id"] = refund_invoice
        if reason:
            body["note_to_payer"] = _text(reason, _NOTE_LIMIT)
        path = f"/v2/payments/captures/{_segment(transaction_id)}/refund"
        if body:
            call = Call.post(
                path, json=body, headers=_PREFER_FULL, key=_request_id(key), operation="refund"
            )
        else:
            call = Call.post(
                path, headers={**_JSON, **_PREFER_FULL}, key=_request_id(key), operation="refund"
            )
        reply = yield call
        refund = reply.data
        refund_id = str_or_none(refund.get("id"))
        status = str_or_none(refund.get("status")) or ""
        try:
            refunded = _money(refund.get("amount")) or amount
        except paywire.InvalidAmount:
            refunded = None
        if refund_id is None or status not in _REFUND_STATUS or refunded is None:
            raise UnexpectedAnswer(f"{_LACKS} (the refund)")
        return paywire.RefundResult(
            provider=self.name,
            id=refund_id,
            transaction_id=transaction_id,
            amount=refunded,
            status=_REFUND_STATUS[status],
            raw_status=status,
        )

    # -- saved methods -------------------------------------------------------------------------

    def op_method_details(
        self, method: paywire.SavedPaymentMethod
    ) -> Operation[paywire.PaymentMethodInfo]:
        """``GET /v3/vault/payment-tokens/{id}``: a PayPal wallet (type ``paypal``, email) or a
        card (type ``card``, brand, last4, expiry)."""
        path = f"/v3/vault/payment-tokens/{_segment(self._vault_id(method))}"
        reply = yield Call.get(path, operation="method_details")
        return self._method_info(reply.data, method)

    def _method_info(
        self, token: Mapping[str, Any], method: paywire.SavedPaymentMethod
    ) -> paywire.PaymentMethodInfo:
        source = as_mapping(token.get("payment_source"))
        customer_id = str_or_none(as_mapping(token.get("customer")).get("id"))
        token_id = str_or_none(token.get("id")) or method.id
        card = as_mapping(source.get("card"))
        if card:
            exp_year = exp_month = None
            expiry = str_or_none(card.get("expiry")) or ""
            year, _, month = expiry.partition("-")
            if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
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

    def op_detach(self, method: paywire.SavedPaymentMethod, *, key: str) -> Operation[None]:
        """``DELETE /v3/vault/payment-tokens/{id}`` (204); an unknown token is ``NotFound``."""
        path = f"/v3/vault/payment-tokens/{_segment(self._vault_id(method))}"
        # "any", not "empty": the kernel reads an error's body only when it parses the answer.
        yield Call.delete(path, expect="any", operation="detach")

    # -- webhooks ------------------------------------------------------------------------------

    def webhook_secrets(self) -> list[str | None]:
        """PayPal's "secrets" are webhook ids: ``webhook_id``, then ``webhook_ids``, then the
        generic ``webhook_secret(s)`` read as ids (``[None]`` when none is configured)."""
        return [*self.config.all_webhook_ids()] or [None]

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        """Check a delivery's ``PAYPAL-*`` signature headers against the raw body for the webhook
        id ``secret`` (``None`` or empty: the current ``webhook_id``).

        The transmission time must lie within ``webhook_tolerance`` ahead and ``webhook_max_age``
        behind (PayPal's retries keep the original time for three days). Offline, the signing
        certificate is downloaded — through the kernel, from an allow-listed host — once per URL
        and cached; ``webhook_verification="postback"`` asks PayPal instead. Raises
        :class:`~paywire.InvalidSignature` and nothing else.
        """
        if not isinstance(body, bytes | bytearray):
            raise paywire.InvalidSignature("the payload must be the raw request body (bytes)")
        webhook_id = secret or self.webhook_secrets()[0]
        if not webhook_id:
            raise paywire.InvalidSignature("no PayPal webhook_id configured")
        signed = read_headers(headers)
        now = self.clock()
        check_fresh(
            signed.sent_at,
            now=now,
            tolerance=self.config.webhook_tolerance,
            max_age=self.config.webhook_max_age,
        )
        check_cert_url(signed.cert_url, self.config.cert_hosts)
        if self.config.webhook_verification == "postback":
            return self._verify_by_postback(bytes(body), signed, webhook_id)
        certificate = self._certificates.get(signed.cert_url)
        if certificate is None:
            return self._verify_downloading(bytes(body), signed, webhook_id, now)
        verify_offline(bytes(body), signed, webhook_id, certificate.key_at(utc_now(now)))
        return immediately(None)

    def _verify_downloading(
        self, body: bytes, signed: SignedHeaders, webhook_id: str, now: float
    ) -> Operation[None]:
        call = Call.get(
            signed.cert_url,
            headers={"Accept": "*/*"},
            expect="any",
            authenticate=False,
            operation="certificate",
        )
        try:
            reply = yield call
        except paywire.ProviderError:
            raise paywire.InvalidSignature("the signing certificate could not be fetched") from None
        if reply.status != 200:
            raise paywire.InvalidSignature("the signing certificate could not be fetched")
        certificate = self._certificates.add(signed.cert_url, reply.content)
        verify_offline(body, signed, webhook_id, certificate.key_at(utc_now(now)))

    def _verify_by_postback(
        self, body: bytes, signed: SignedHeaders, webhook_id: str
    ) -> Operation[None]:
        try:
            event = plugin.parse_json_body(body, provider=self.name)
        except paywire.MalformedWebhook:
            raise paywire.InvalidSignature("the body is not a JSON event") from None
        request = {
            "auth_algo": signed.auth_algo,
            "cert_url": signed.cert_url,
            "transmission_id": signed.transmission_id,
            "transmission_sig": signed.signature_b64,
            "transmission_time": signed.transmission_time,
            "webhook_id": webhook_id,
            "webhook_event": event,
        }
        call = Call.post(
            "/v1/notifications/verify-webhook-signature", json=request, operation="verify"
        )
        try:
            reply = yield call
        except paywire.ProviderError:
            raise paywire.InvalidSignature("PayPal could not verify the webhook") from None
        if reply.data.get("verification_status") != "SUCCESS":
            raise paywire.InvalidSignature("PayPal says the signature does not match")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> paywire.WebhookEvent:
        """A verified delivery's JSON event, normalized (see :mod:`paywire_paypal._events`)."""
        return normalize_event(self.name, plugin.parse_json_body(body, provider=self.name))


def _money(
    value: object, sent: tuple[paywire.Money, Mapping[str, str]] | None = None
) -> paywire.Money | None:
    """A PayPal ``Money`` object read exactly; ``None`` when absent. ``sent`` is an amount paywire
    asked for and how it wrote it: when PayPal answers exactly that, it is the answer."""
    if value is None:
        return None
    money = as_mapping(value)
    if sent is not None and money == sent[1]:
        return sent[0]
    return parse_money(money.get("value"), money.get("currency_code"))


def _vault_of(order: Mapping[str, Any]) -> Mapping[str, Any]:
    """What an order says about the wallet it vaulted (``attributes.vault``), if anything."""
    wallet = as_mapping(as_mapping(order.get("payment_source")).get("paypal"))
    return as_mapping(as_mapping(wallet.get("attributes")).get("vault"))


def _waiting_on(
    exc: paywire.AuthenticationRequired, transaction_id: str, action_url: str | None = None
) -> paywire.AuthenticationRequired:
    """``exc`` naming what waits for the payer (the order, the setup token) and where to send
    them, when PayPal's error body did not."""
    return paywire.AuthenticationRequired(
        exc.message,
        provider=exc.provider,
        transaction_id=exc.transaction_id or transaction_id,
        action_url=exc.action_url or action_url,
        raw_code=exc.raw_code,
        http_status=exc.http_status,
        request_id=exc.request_id,
        retryable=exc.retryable,
    )
