"""``RazorpayProvider``: paywire's ten operations over Razorpay's REST API, through the core's
HTTP client (Basic auth ``key_id:key_secret``, JSON bodies, amounts in subunits)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import paywire
from paywire import (
    Capabilities,
    Capability,
    ChargeResult,
    CheckoutSession,
    Customer,
    Invoice,
    Money,
    PaymentMethodInfo,
    PaymentStatus,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    SessionStatus,
    SetupSession,
    WebhookEvent,
)
from paywire_razorpay._config import RazorpayConfig
from paywire_razorpay._currency import RAZORPAY_CURRENCY_RULES
from paywire_razorpay._errors import Operation, error_from_payment, error_from_response
from paywire_razorpay._ids import method_id, split_method_id
from paywire_razorpay._webhooks import normalize_event, verify_signature

__all__ = ["CAPABILITY_NOTES", "RazorpayProvider"]

_PROVIDER: Final = "razorpay"
_REFUND_KEY_HEADER: Final = "X-Refund-Idempotency"
_MAX_REFERENCE: Final = 40  # reference_id of a payment link, receipt of an order
_MAX_NOTES: Final = 15
_MAX_NOTE_VALUE: Final = 256
_ENTITY_ID: Final = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_REFUND_KEY: Final = re.compile(r"^[A-Za-z0-9_-]{10,}$")
_SETUP_DESCRIPTION: Final = "Save a card for later payments"

_PAYMENT_STATUS: Final = {
    "captured": PaymentStatus.SUCCEEDED,
    "refunded": PaymentStatus.SUCCEEDED,  # it was paid; refunds are separate transactions
    "authorized": PaymentStatus.PENDING,
    "created": PaymentStatus.PENDING,
    "pending": PaymentStatus.PENDING,
    "failed": PaymentStatus.FAILED,
}
_REFUND_STATUS: Final = {
    "pending": RefundStatus.PENDING,
    "processed": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
}
_LINK_STATUS: Final = {
    "created": SessionStatus.OPEN,
    "partially_paid": SessionStatus.OPEN,
    "issued": SessionStatus.OPEN,
    "paid": SessionStatus.COMPLETE,
    "expired": SessionStatus.EXPIRED,
    "cancelled": SessionStatus.EXPIRED,
}
_BRANDS: Final = {
    "visa": "visa",
    "mastercard": "mastercard",
    "american express": "amex",
    "amex": "amex",
    "rupay": "rupay",
    "diners club": "diners",
    "diners": "diners",
    "maestro": "maestro",
    "jcb": "jcb",
}

#: What a user of this provider should know, per capability (also in ``paywire providers``).
CAPABILITY_NOTES: Final = {
    Capability.CHECKOUT: (
        "a Payment Link (short_url) per invoice; reference_id = the invoice id, which Razorpay "
        "keeps unique (at most 40 characters), so one invoice has one link. Razorpay has no "
        "cancel URL: cancel_url is not used; the customer comes back to success_url"
    ),
    Capability.SETUP: (
        "a card Registration Link: the customer pays a small authorization amount "
        "(setup_amount, ₹1 by default; INR only, India only) and the card is saved as a "
        "recurring token. Registration links have no return URL: success_url and cancel_url "
        "are not used; token.confirmed / invoice.paid webhooks say when it is done"
    ),
    Capability.CHARGE: (
        "a new order (payment_capture) and a recurring payment on the token; payment method ids "
        "are 'cust_…/token_…' because Razorpay keeps tokens under their customer"
    ),
    Capability.REFUND: "refunds with X-Refund-Idempotency (the operation's idempotency key)",
    Capability.PAYMENT_METHOD_DETAILS: "ids are 'cust_…/token_…'",
    Capability.DETACH: "deletes the token (ids are 'cust_…/token_…')",
    Capability.WEBHOOKS: (
        "X-Razorpay-Signature (hex HMAC-SHA256 of the body; no timestamp). Event ids are "
        "derived from the payload (event:entity ids:created_at): the X-Razorpay-Event-Id header "
        "is not part of it"
    ),
    Capability.IDEMPOTENCY: (
        "Razorpay has no idempotency header for orders or payments: a charge's idempotency key "
        "becomes its order's receipt, and a retry with the same key finds that order (one order "
        "takes one payment) instead of charging again. Refunds use X-Refund-Idempotency"
    ),
}


def _text(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _when(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _notes(values: Mapping[str, str]) -> dict[str, str]:
    """Razorpay's ``notes``: at most 15 pairs of at most 256 characters, refused before HTTP."""
    if len(values) > _MAX_NOTES:
        raise paywire.InvalidRequest(
            f"Razorpay takes at most {_MAX_NOTES} notes; got {len(values)} "
            "(metadata and invoice_id together)",
            provider=_PROVIDER,
        )
    for key, value in values.items():
        if len(value) > _MAX_NOTE_VALUE:
            raise paywire.InvalidRequest(
                f"note {key!r} is longer than Razorpay's {_MAX_NOTE_VALUE} characters",
                provider=_PROVIDER,
            )
    return dict(values)


def _entity_id(value: str, prefix: str, what: str) -> str:
    """``value`` if it can be a Razorpay id of this kind (it goes into a URL path)."""
    if not isinstance(value, str) or not value.startswith(prefix) or not _ENTITY_ID.match(value):
        raise paywire.InvalidRequest(
            f"{value!r} is not a Razorpay {what} id ({prefix}…)", provider=_PROVIDER
        )
    return value


def _receipt(key: str) -> str:
    """The order receipt that stands for a charge's idempotency key (at most 40 characters)."""
    receipt = f"pw-{key}"
    if len(receipt) <= _MAX_REFERENCE:
        return receipt
    return "pw-" + hashlib.sha256(key.encode()).hexdigest()[: _MAX_REFERENCE - 3]


def _refund_key(key: str) -> str:
    """A valid ``X-Refund-Idempotency`` (≥10 of ``[A-Za-z0-9_-]``) standing for ``key``."""
    if _REFUND_KEY.match(key) and len(key) <= 64:
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class RazorpayProvider(paywire.Provider[RazorpayConfig]):
    """Razorpay: Payment Links, card registration links, recurring charges, refunds, webhooks.

    Build it with ``RazorpayProvider.create(load_config(RazorpayConfig, "razorpay", ...))`` or
    through :class:`paywire.Paywire`. Every request goes through :attr:`http`, the core's client.
    """

    name: ClassVar[str] = _PROVIDER
    config_class: ClassVar[type[paywire.ProviderConfig]] = RazorpayConfig
    currency_rules: ClassVar[paywire.CurrencyRules] = RAZORPAY_CURRENCY_RULES
    default_base_url: ClassVar[str] = "https://api.razorpay.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        supported=frozenset(
            {
                Capability.CHECKOUT,
                Capability.SETUP,
                Capability.CHARGE,
                Capability.REFUND,
                Capability.PARTIAL_REFUND,
                Capability.PAYMENT_METHOD_DETAILS,
                Capability.DETACH,
                Capability.WEBHOOKS,
                Capability.IDEMPOTENCY,
            }
        ),
        notes={
            **CAPABILITY_NOTES,
            Capability.SAVE_ON_CHECKOUT: (
                "not supported: Payment Links cannot save a card; use create_setup_session"
            ),
        },
    )

    # -- plumbing ---------------------------------------------------------------------------

    def _authorization(self) -> str:
        key_id, secret = self.config.key_id, self.config.key_secret
        if not key_id or not secret:
            raise paywire.ConfigurationError(
                "razorpay needs key_id and key_secret "
                "(PAYWIRE_RAZORPAY_KEY_ID, PAYWIRE_RAZORPAY_KEY_SECRET)"
            )
        token = base64.b64encode(f"{key_id}:{secret.reveal()}".encode()).decode("ascii")
        return f"Basic {token}"

    def _send(
        self,
        method: str,
        path: str,
        operation: Operation,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_key: str | None = None,
        operation_key: str | None = None,
    ) -> dict[str, Any]:
        """Send one request; return the JSON object answered, or raise the mapped error.

        ``retry_key`` marks a POST that is safe to send again (Razorpay dedupes it: a refund's
        idempotency header, a payment link's unique reference); ``operation_key`` is the key an
        :class:`paywire.OutcomeUnknown` tells the caller to retry the operation with.
        """
        request = self.http.client.build_request(
            method,
            path,
            headers={"Authorization": self._authorization(), **(headers or {})},
            json=json,
            params=params,
        )
        key = operation_key or retry_key
        try:
            response = self.http.send(request, idempotency_key=retry_key)
        except paywire.OutcomeUnknown as exc:
            if exc.idempotency_key == key:
                raise
            raise paywire.OutcomeUnknown(
                exc.message,
                provider=_PROVIDER,
                idempotency_key=key,
                raw_code=exc.raw_code,
                http_status=exc.http_status,
            ) from None
        response.read()
        if not response.is_success:
            raise error_from_response(
                response,
                operation=operation,
                idempotency_key=key,
                secrets=self.config.secrets(),
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            text = f"unreadable answer from Razorpay to {method} {request.url.path}"
            if method.upper() == "GET":
                raise paywire.ProviderUnavailable(text, provider=_PROVIDER)
            raise paywire.OutcomeUnknown(text, provider=_PROVIDER, idempotency_key=key)
        return body

    def _money(self, obj: Mapping[str, Any], expected: Money, key: str = "amount") -> Money:
        """What Razorpay says the amount is (the caller's own :class:`Money` when equal)."""
        minor, currency = _int(obj, key), _text(obj, "currency")
        if minor is None or currency is None:
            return expected
        amount = RAZORPAY_CURRENCY_RULES.from_minor_units(minor, currency)
        return expected if amount == expected else amount

    def _customer_id(self, customer: Customer) -> str:
        """Razorpay's customer for ``customer``: the known one, or the one with its email
        (``fail_existing: "0"`` returns an existing customer instead of failing)."""
        if customer.provider_customer_id:
            return _entity_id(customer.provider_customer_id, "cust_", "customer")
        body: dict[str, Any] = {
            "name": (customer.name or customer.email or customer.id)[:50],
            "fail_existing": "0",
            "notes": _notes({**customer.metadata, "app_customer_id": customer.id}),
        }
        if customer.email:
            body["email"] = customer.email
        created = self._send("POST", "/v1/customers", "customer", json=body)
        customer_id = _text(created, "id")
        if customer_id is None:
            raise paywire.ProviderUnavailable(
                "Razorpay created a customer without an id", provider=_PROVIDER
            )
        return customer_id

    # -- the interface ----------------------------------------------------------------------

    def available(self) -> bool:
        """Enabled, with a key id and secret configured (not checked with Razorpay)."""
        return bool(self.config.enabled and self.config.key_id and self.config.key_secret)

    def create_checkout_session(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """A Payment Link for ``invoice``'s total; the customer pays at its ``short_url``.

        ``reference_id`` is the invoice id and ``notes.invoice_id`` too (payments made on the
        link carry the link's notes, so ``payment.captured`` names the invoice). The customer
        comes back to ``success_url`` (``callback_method=get``); Razorpay has no cancel URL.
        Razorpay keeps a link's reference unique, so asking again for an invoice whose link is
        still open returns that link. ``save_payment_method`` is refused: links cannot save
        cards (use :meth:`create_setup_session`).
        """
        if save_payment_method:
            raise paywire.InvalidRequest(
                "Razorpay Payment Links cannot save the card; save it with create_setup_session",
                provider=_PROVIDER,
            )
        if len(invoice.id) > _MAX_REFERENCE:
            raise paywire.InvalidRequest(
                f"invoice id {invoice.id!r} is longer than the {_MAX_REFERENCE} characters "
                "Razorpay takes as a payment link's reference_id",
                provider=_PROVIDER,
            )
        total = invoice.total
        body: dict[str, Any] = {
            "amount": RAZORPAY_CURRENCY_RULES.to_minor_units(total),
            "currency": total.currency,
            "reference_id": invoice.id,
            "description": (invoice.description or f"Invoice {invoice.id}")[:2048],
            "notes": _notes({**invoice.metadata, "invoice_id": invoice.id}),
            "callback_url": success_url,
            "callback_method": "get",
        }
        if invoice.customer is not None:
            customer = {
                key: value
                for key, value in (
                    ("name", invoice.customer.name),
                    ("email", invoice.customer.email),
                )
                if value
            }
            if customer:
                body["customer"] = customer
        key = idempotency_key or paywire.new_idempotency_key()
        try:
            link = self._send("POST", "/v1/payment_links", "checkout", json=body, retry_key=key)
        except paywire.InvalidRequest as exc:
            if "reference id already" not in exc.message.lower():
                raise
            found = self._open_link(invoice.id, body["amount"], total.currency)
            if found is None:
                raise
            link = found
        return self._session(link, invoice.id, total)

    def _open_link(self, reference: str, minor: int, currency: str) -> dict[str, Any] | None:
        """The still-payable link made earlier for this invoice, for the same amount."""
        listing = self._send(
            "GET", "/v1/payment_links", "checkout", params={"reference_id": reference}
        )
        links = listing.get("payment_links")
        for link in links if isinstance(links, list) else []:
            if (
                isinstance(link, dict)
                and link.get("reference_id") == reference
                and link.get("amount") == minor
                and link.get("currency") == currency
                and link.get("status") in ("created", "partially_paid")
            ):
                return link
        return None

    def _session(self, link: Mapping[str, Any], invoice_id: str, total: Money) -> CheckoutSession:
        link_id, url = _text(link, "id"), _text(link, "short_url")
        if link_id is None or url is None:
            raise paywire.ProviderUnavailable(
                "Razorpay answered a payment link without id or short_url", provider=_PROVIDER
            )
        return CheckoutSession(
            provider=_PROVIDER,
            id=link_id,
            url=url,
            invoice_id=invoice_id,
            amount=self._money(link, total),
            status=_LINK_STATUS.get(_text(link, "status") or "created", SessionStatus.OPEN),
            customer_id=_text(link, "customer_id"),
            expires_at=_when(_int(link, "expire_by")),
        )

    def create_setup_session(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        """A card Registration Link for ``customer`` (created, or reused by email, first).

        The customer pays ``setup_amount`` (₹1 by default) to authorize a card mandate of up to
        ``mandate_max_amount``; the card becomes a recurring token. Registration links have no
        return URL, so ``success_url`` and ``cancel_url`` are not used: the ``token.confirmed``
        and ``invoice.paid`` webhooks tell when the card is saved.
        """
        customer_id = self._customer_id(customer)
        body: dict[str, Any] = {
            "customer_id": customer_id,
            "type": "link",
            "amount": self.config.setup_amount,
            "currency": "INR",
            "description": _SETUP_DESCRIPTION,
            "subscription_registration": {
                "method": "card",
                "max_amount": self.config.mandate_max_amount,
                "frequency": self.config.mandate_frequency,
            },
            "sms_notify": False,
            "email_notify": False,
            "notes": {"app_customer_id": customer.id},
        }
        invoice = self._send("POST", "/v1/subscription_registration/auth_links", "setup", json=body)
        invoice_id, url = _text(invoice, "id"), _text(invoice, "short_url")
        if invoice_id is None or url is None:
            raise paywire.ProviderUnavailable(
                "Razorpay answered a registration link without id or short_url",
                provider=_PROVIDER,
            )
        return SetupSession(
            provider=_PROVIDER,
            id=invoice_id,
            url=url,
            customer_id=_text(invoice, "customer_id") or customer_id,
            status=_LINK_STATUS.get(_text(invoice, "status") or "issued", SessionStatus.OPEN),
            expires_at=_when(_int(invoice, "expire_by")),
        )

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
        """An order for ``amount`` (captured automatically) and a recurring payment on the token.

        With an ``idempotency_key`` the order's receipt stands for it: a later call with the
        same key finds that order and answers with its payment (one order takes one payment)
        rather than charging again. A payment whose answer is lost is looked up on its order.
        """
        customer_id, token_id = split_method_id(payment_method.id, payment_method.customer_id)
        minor = RAZORPAY_CURRENCY_RULES.to_minor_units(amount)
        notes = dict(metadata or {})
        if invoice_id is not None:
            notes["invoice_id"] = invoice_id
        notes = _notes(notes)
        method = method_id(customer_id, token_id)
        key = idempotency_key
        receipt = _receipt(key) if key else None

        order: dict[str, Any] | None = None
        if receipt is not None:
            order = self._order_for(receipt, minor, amount.currency, key)
            if order is not None:
                done = self._order_payment(order, key)
                if done is not None:
                    return self._charge_result(done, amount, method, invoice_id)
        customer = self._send("GET", f"/v1/customers/{customer_id}", "charge")
        if order is None:
            order_body: dict[str, Any] = {
                "amount": minor,
                "currency": amount.currency,
                "payment_capture": True,
                "notes": notes,
            }
            if receipt is not None:
                order_body["receipt"] = receipt
            order = self._send("POST", "/v1/orders", "charge", json=order_body, operation_key=key)
        order_id = _text(order, "id")
        if order_id is None:
            raise paywire.OutcomeUnknown(
                "Razorpay created an order without an id", provider=_PROVIDER, idempotency_key=key
            )
        payment_body: dict[str, Any] = {
            "amount": minor,
            "currency": amount.currency,
            "order_id": order_id,
            "customer_id": customer_id,
            "token": token_id,
            "recurring": True,
            "notes": notes,
        }
        for field in ("email", "contact"):
            value = _text(customer, field)
            if value:
                payment_body[field] = value
        if description:
            payment_body["description"] = description[:255]
        try:
            created = self._send(
                "POST",
                "/v1/payments/create/recurring",
                "charge",
                json=payment_body,
                operation_key=key,
            )
        except paywire.OutcomeUnknown:
            # The answer was lost: the order tells whether the payment was made.
            found = self._order_payment(order, key)
            if found is None:
                raise
            return self._charge_result(found, amount, method, invoice_id)
        payment_id = _text(created, "razorpay_payment_id")
        if payment_id is None:
            raise paywire.OutcomeUnknown(
                "Razorpay answered a recurring payment without its id",
                provider=_PROVIDER,
                idempotency_key=key,
            )
        payment = self._send(
            "GET", f"/v1/payments/{_entity_id(payment_id, 'pay_', 'payment')}", "charge"
        )
        return self._charge_result(payment, amount, method, invoice_id)

    def _order_for(
        self, receipt: str, minor: int, currency: str, key: str | None
    ) -> dict[str, Any] | None:
        """The order an earlier call with this idempotency key made, if any."""
        listing = self._send(
            "GET", "/v1/orders", "charge", params={"receipt": receipt, "count": 100}
        )
        items = listing.get("items")
        for order in items if isinstance(items, list) else []:
            if not isinstance(order, dict) or order.get("receipt") != receipt:
                continue
            if order.get("amount") != minor or order.get("currency") != currency:
                raise paywire.InvalidRequest(
                    f"idempotency key {key!r} was used for another charge (order "
                    f"{order.get('id')} of {order.get('amount')} {order.get('currency')})",
                    provider=_PROVIDER,
                )
            return order
        return None

    def _order_payment(self, order: Mapping[str, Any], key: str | None) -> dict[str, Any] | None:
        """The payment made on ``order``: a successful or pending one first; ``None`` if no
        payment was attempted. Raises the failure when every attempt failed."""
        order_id = _entity_id(_text(order, "id") or "", "order_", "order")
        try:
            listing = self._send("GET", f"/v1/orders/{order_id}/payments", "charge")
        except paywire.ProviderUnavailable as exc:
            raise paywire.OutcomeUnknown(
                f"could not learn whether order {order_id} was paid: {exc.message}",
                provider=_PROVIDER,
                idempotency_key=key,
            ) from None
        items = listing.get("items")
        payments = [p for p in items if isinstance(p, dict)] if isinstance(items, list) else []
        for payment in payments:
            if payment.get("status") != "failed":
                return payment
        if payments:
            # Newest first: the last attempt's failure is this key's outcome.
            raise error_from_payment(payments[0], self.config.secrets())
        return None

    def _charge_result(
        self,
        payment: Mapping[str, Any],
        amount: Money,
        method: str,
        invoice_id: str | None,
    ) -> ChargeResult:
        raw_status = _text(payment, "status") or "created"
        if raw_status == "failed":
            raise error_from_payment(dict(payment), self.config.secrets())
        payment_id = _text(payment, "id")
        if payment_id is None:
            raise paywire.ProviderUnavailable(
                "Razorpay answered a payment without an id", provider=_PROVIDER
            )
        return ChargeResult(
            provider=_PROVIDER,
            id=payment_id,
            amount=self._money(payment, amount),
            status=_PAYMENT_STATUS.get(raw_status, PaymentStatus.PENDING),
            raw_status=raw_status,
            payment_method_id=method,
            invoice_id=invoice_id or _text(_mapping(payment.get("notes")), "invoice_id"),
            created_at=_when(_int(payment, "created_at")),
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
        """Refund a payment (``pay_…``): ``amount``, or all that is left when ``None``.

        Sent with ``X-Refund-Idempotency`` (the key, or a digest of it when it is not ten or
        more of ``[A-Za-z0-9_-]``), so the core's retries and the caller's retries with the same
        key refund once. A partial ``amount`` is checked against the payment's currency first,
        because Razorpay's refund takes a bare number.
        """
        payment_id = _entity_id(transaction_id, "pay_", "payment")
        key = _refund_key(idempotency_key or paywire.new_idempotency_key())
        body: dict[str, Any] = {}
        if amount is not None:
            minor = RAZORPAY_CURRENCY_RULES.to_minor_units(amount)
            payment = self._send("GET", f"/v1/payments/{payment_id}", "refund")
            currency = _text(payment, "currency")
            if currency is not None and currency != amount.currency:
                raise paywire.InvalidAmount(f"cannot refund {amount} of a payment in {currency}")
            body["amount"] = minor
        notes = dict(metadata or {})
        if reason:
            notes["reason"] = reason[:_MAX_NOTE_VALUE]
        if notes:
            body["notes"] = _notes(notes)
        refund = self._send(
            "POST",
            f"/v1/payments/{payment_id}/refund",
            "refund",
            json=body,
            headers={_REFUND_KEY_HEADER: key},
            retry_key=key,
            operation_key=idempotency_key or key,
        )
        refund_id, currency, minor_refunded = (
            _text(refund, "id"),
            _text(refund, "currency"),
            _int(refund, "amount"),
        )
        if refund_id is None or currency is None or minor_refunded is None:
            raise paywire.OutcomeUnknown(
                "Razorpay answered a refund without id, amount or currency",
                provider=_PROVIDER,
                idempotency_key=idempotency_key or key,
            )
        raw_status = _text(refund, "status") or "pending"
        return RefundResult(
            provider=_PROVIDER,
            id=refund_id,
            transaction_id=_text(refund, "payment_id") or payment_id,
            amount=RAZORPAY_CURRENCY_RULES.from_minor_units(minor_refunded, currency),
            status=_REFUND_STATUS.get(raw_status, RefundStatus.PENDING),
            raw_status=raw_status,
        )

    def get_payment_method_details(self, payment_method_id: str) -> PaymentMethodInfo:
        """The saved card behind ``"cust_…/token_…"``: network, last four digits, expiry."""
        customer_id, token_id = split_method_id(payment_method_id)
        token = self._send("GET", f"/v1/customers/{customer_id}/tokens/{token_id}", "token")
        card = _mapping(token.get("card"))
        last4 = card.get("last4")
        if isinstance(last4, int) and not isinstance(last4, bool):
            last4 = f"{last4:04d}"  # some answers carry it as a number
        network = _text(card, "network")
        return PaymentMethodInfo(
            provider=_PROVIDER,
            id=method_id(customer_id, _text(token, "id") or token_id),
            type=_text(token, "method") or "card",
            customer_id=customer_id,
            brand=_BRANDS.get(network.lower(), network.lower()) if network else None,
            last4=last4 if isinstance(last4, str) and last4 else None,
            exp_month=_int(card, "expiry_month"),
            exp_year=_int(card, "expiry_year"),
        )

    def detach_payment_method(self, payment_method_id: str) -> None:
        """Delete the token behind ``"cust_…/token_…"``; Razorpay cancels its mandate."""
        customer_id, token_id = split_method_id(payment_method_id)
        self._send("DELETE", f"/v1/customers/{customer_id}/tokens/{token_id}", "token")

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        """Check ``X-Razorpay-Signature`` (hex HMAC-SHA256 of the raw body) with the webhook
        secret. Razorpay signs no timestamp, so there is no staleness check: deduplicate on the
        event id. Raises :class:`paywire.InvalidSignature` and nothing else."""
        if secret is None and self.config.webhook_secret is not None:
            secret = self.config.webhook_secret.reveal()
        verify_signature(payload, headers, secret)

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        """Normalize a parsed Razorpay event; see :data:`paywire_razorpay.EVENT_TYPES`."""
        return normalize_event(payload)
