"""``RazorpayProvider``: paywire's operations as requests to Razorpay's REST API and readings of
its answers, run by paywire's operation kernel (sync and async from the same code; Basic auth
``key_id:key_secret``, JSON bodies, amounts in subunits)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final

from paywire import (
    AuthenticationRequired,
    Capabilities,
    Capability,
    ChargeResult,
    CheckoutSession,
    ConfigurationError,
    Customer,
    EventType,
    InvalidAmount,
    InvalidRequest,
    Invoice,
    Money,
    OutcomeUnknown,
    PaymentMethodInfo,
    PaymentStatus,
    ProviderUnavailable,
    RefundResult,
    RefundStatus,
    SavedPaymentMethod,
    Secret,
    SessionStatus,
    SetupSession,
    UnknownCurrency,
    WebhookEvent,
)
from paywire.plugin import (
    Call,
    CurrencyRules,
    ErrorInfo,
    ErrorRule,
    KernelProvider,
    Operation,
    ProviderConfig,
    Reply,
    get_header,
    immediately,
    verify_hmac_sha256_hex,
)
from paywire_razorpay import _customer
from paywire_razorpay._config import RazorpayConfig
from paywire_razorpay._currency import RAZORPAY_CURRENCY_RULES
from paywire_razorpay._errors import ERROR_RULES, error_from_payment, read_error
from paywire_razorpay._ids import MethodRef, entity_id, method_ref
from paywire_razorpay._webhooks import SIGNATURE_HEADER, parse_event

if TYPE_CHECKING:
    from paywire.plugin import HttpClient

__all__ = ["CAPABILITY_NOTES", "REFUND_KEY_HEADER", "RazorpayProvider"]

_PROVIDER: Final = "razorpay"
#: Razorpay's idempotency header for refunds (it has none for orders, payments or links).
REFUND_KEY_HEADER: Final = "X-Refund-Idempotency"
#: Recurring card payments are INR only ("Currently, only INR is allowed").
_RECURRING_CURRENCY: Final = "INR"
_MAX_REFERENCE: Final = 40  # reference_id of a payment link, receipt of an order
_MAX_NOTES: Final = 15
_MAX_NOTE_VALUE: Final = 256
_MAX_DESCRIPTION: Final = 255  # of a payment
_RECEIPT_KEY: Final = re.compile(r"[A-Za-z0-9_.:-]{1,37}")
_REFUND_KEY: Final = re.compile(r"[A-Za-z0-9_-]{10,64}")
_SETUP_DESCRIPTION: Final = "Save a card for later payments"

_PAYMENT_STATUS: Final = {
    "captured": PaymentStatus.SUCCEEDED,
    "refunded": PaymentStatus.SUCCEEDED,  # it was paid; refunds are separate transactions
    "authorized": PaymentStatus.PENDING,  # the order captures it
    "created": PaymentStatus.PENDING,  # a recurring debit waits for its date
    "pending": PaymentStatus.PENDING,
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
# Registration links the customer can still pay.
_UNPAID: Final = frozenset({"draft", "issued", "partially_paid"})
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
        "recurring token. Razorpay needs the customer's name, email and phone (Customer.phone). "
        "Registration links have no return URL: success_url and cancel_url are not used; "
        "complete_setup(session) or the invoice.paid webhook gives the saved card"
    ),
    Capability.CHARGE: (
        "a new order and a recurring payment on the token (INR only; the customer's email and "
        "phone are sent, as Razorpay requires). Razorpay debits later (after its pre-debit "
        "notification): the result is usually pending and payment.captured / payment.failed "
        "settle it"
    ),
    Capability.REFUND: (
        "refunds with X-Refund-Idempotency (the operation's key); pending until "
        "refund.processed / refund.failed"
    ),
    Capability.PAYMENT_METHOD_DETAILS: (
        "a token is read through its customer: pass the SavedPaymentMethod (customer_id = "
        "cust_…); old 'cust_…/token_…' ids are still accepted"
    ),
    Capability.DETACH: "deletes the token under its customer (see payment_method_details)",
    Capability.WEBHOOKS: (
        "X-Razorpay-Signature (hex HMAC-SHA256 of the body; no timestamp: deduplicate on the "
        "event id, X-Razorpay-Event-Id)"
    ),
    Capability.IDEMPOTENCY: (
        "Razorpay has no idempotency header for orders or payments: a charge's idempotency key "
        "becomes its order's receipt, and a retry with the same key finds that order and its "
        "payment instead of charging again. Refunds use X-Refund-Idempotency"
    ),
}


def _str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _when(timestamp: int | None) -> datetime | None:
    # Imported here: paywire.plugin's HTTP helpers load httpx, which loading the plugin must not.
    from paywire.plugin import utc_from_timestamp

    return utc_from_timestamp(timestamp) if timestamp else None


def _items(reply: Reply, key: str = "items") -> list[Mapping[str, Any]]:
    items = reply.data.get(key)
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _notes(values: Mapping[str, str]) -> dict[str, str]:
    """Razorpay's ``notes``: at most 15 pairs of at most 256 characters, refused before HTTP."""
    if len(values) > _MAX_NOTES:
        raise InvalidRequest(
            f"Razorpay takes at most {_MAX_NOTES} notes; got {len(values)} "
            "(metadata and invoice_id together)",
            provider=_PROVIDER,
        )
    for key, value in values.items():
        if len(key) > _MAX_NOTE_VALUE or len(value) > _MAX_NOTE_VALUE:
            raise InvalidRequest(
                f"note {key[:40]!r} is longer than Razorpay's {_MAX_NOTE_VALUE} characters",
                provider=_PROVIDER,
            )
    return dict(values)


def receipt_for(key: str) -> str:
    """The order receipt that stands for a charge's idempotency key (at most 40 characters):
    ``pw-<key>``, or ``pw-`` and a digest of a key that is long or unusual."""
    if _RECEIPT_KEY.fullmatch(key):
        return f"pw-{key}"
    return "pw-" + hashlib.sha256(key.encode()).hexdigest()[: _MAX_REFERENCE - 3]


def refund_key(key: str) -> str:
    """A valid ``X-Refund-Idempotency`` (10 to 64 of ``[A-Za-z0-9_-]``) standing for ``key``."""
    if _REFUND_KEY.fullmatch(key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:40]


def _basic(config: RazorpayConfig) -> Secret | None:
    """The ``Authorization`` value, made once (it holds the key secret: kept as a Secret)."""
    if not config.key_id or not config.key_secret:
        return None
    pair = f"{config.key_id}:{config.key_secret.reveal()}".encode()
    return Secret("Basic " + base64.b64encode(pair).decode("ascii"))


class RazorpayProvider(KernelProvider[RazorpayConfig]):
    """Razorpay: Payment Links, card registration links, recurring charges, refunds, webhooks.

    Build it through :class:`paywire.Paywire` or with ``RazorpayProvider.create(config)``.
    Every operation has an ``_async`` twin (``charge_payment_method_async``) running the same
    code on the event loop.
    """

    name: ClassVar[str] = _PROVIDER
    config_class: ClassVar[type[ProviderConfig]] = RazorpayConfig
    currency_rules: ClassVar[CurrencyRules] = RAZORPAY_CURRENCY_RULES
    default_base_url: ClassVar[str] = "https://api.razorpay.com"
    idempotency_header: ClassVar[str | None] = None
    error_rules: ClassVar[tuple[ErrorRule, ...]] = ERROR_RULES
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

    def __init__(self, config: RazorpayConfig, http: HttpClient) -> None:
        super().__init__(config, http)
        self._authorization = _basic(config)

    # -- what the kernel asks of a plugin ------------------------------------------------------

    def available(self) -> bool:
        """Enabled, with a key id and secret configured (not checked with Razorpay)."""
        return bool(self.config.enabled and self._authorization)

    def auth_headers(self) -> Mapping[str, str]:
        """HTTP Basic ``key_id:key_secret``."""
        if self._authorization is None:
            raise ConfigurationError(
                "razorpay needs key_id and key_secret "
                "(PAYWIRE_RAZORPAY_KEY_ID, PAYWIRE_RAZORPAY_KEY_SECRET)"
            )
        return {"Authorization": self._authorization.reveal()}

    def read_error(self, reply: Reply) -> ErrorInfo:
        """What Razorpay's ``{"error": {…}}`` says (see :mod:`paywire_razorpay._errors`)."""
        return read_error(reply)

    # -- reading answers -----------------------------------------------------------------------

    @staticmethod
    def _money(obj: Mapping[str, Any], expected: Money, key: str = "amount") -> Money:
        """What Razorpay says the amount is (the caller's own :class:`Money` when equal)."""
        minor, currency = _int(obj, key), _str(obj, "currency")
        if minor is None or currency is None:
            return expected
        amount = RAZORPAY_CURRENCY_RULES.from_minor_units(minor, currency)
        return expected if amount == expected else amount

    @staticmethod
    def _unknown(key: str, message: str) -> OutcomeUnknown:
        return OutcomeUnknown(message, provider=_PROVIDER, idempotency_key=key)

    # -- checkout ------------------------------------------------------------------------------

    def op_checkout(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool,
        key: str,
    ) -> Operation[CheckoutSession]:
        """A Payment Link for ``invoice``'s total; the customer pays at its ``short_url``.

        ``reference_id`` is the invoice id and ``notes.invoice_id`` too (payments made on the
        link carry the link's notes, so ``payment.captured`` names the invoice). The customer
        comes back to ``success_url`` (``callback_method=get``); Razorpay has no cancel URL.
        Razorpay keeps a link's reference unique — which also makes the request safe to send
        again — so asking again for an invoice whose link is still open returns that link.
        """
        if save_payment_method:
            raise InvalidRequest(
                "Razorpay Payment Links cannot save the card; save it with create_setup_session",
                provider=_PROVIDER,
            )
        if len(invoice.id) > _MAX_REFERENCE:
            raise InvalidRequest(
                f"invoice id {invoice.id!r} is longer than the {_MAX_REFERENCE} characters "
                "Razorpay takes as a payment link's reference_id",
                provider=_PROVIDER,
            )
        total = invoice.total
        minor = RAZORPAY_CURRENCY_RULES.to_minor_units(total)
        body: dict[str, Any] = {
            "amount": minor,
            "currency": total.currency,
            "reference_id": invoice.id,
            "description": (invoice.description or f"Invoice {invoice.id}")[:2048],
            "notes": _notes({**invoice.metadata, "invoice_id": invoice.id}),
            "callback_url": success_url,
            "callback_method": "get",
        }
        if invoice.customer is not None:
            customer = self._link_customer(invoice.customer)
            if customer:
                body["customer"] = customer
        return self._create_link(body, invoice.id, total, key)

    @staticmethod
    def _link_customer(customer: Customer) -> dict[str, str]:
        where = "a payment link"
        details = {
            "name": customer.name,
            "email": customer.email,
            "contact": _customer.contact(customer.phone, required=False, where=where),
        }
        return {key: value for key, value in details.items() if value}

    def _create_link(
        self, body: Mapping[str, Any], invoice_id: str, total: Money, key: str
    ) -> Operation[CheckoutSession]:
        try:
            # Not sent as a header (Razorpay has none here): the key marks the request as one
            # Razorpay deduplicates, by its unique reference_id, so the kernel may resend it.
            reply = yield Call.post("/v1/payment_links", json=body, key=key, operation="checkout")
            link: Mapping[str, Any] = reply.data
        except InvalidRequest as exc:
            if "reference id already" not in exc.message.lower():
                raise
            listing = yield Call.get(
                "/v1/payment_links", params={"reference_id": invoice_id}, operation="checkout"
            )
            found = self._open_link(listing, invoice_id, body["amount"], total.currency)
            if found is None:
                raise exc from None
            link = found
        return self._session(link, invoice_id, total)

    @staticmethod
    def _open_link(
        listing: Reply, reference: str, minor: int, currency: str
    ) -> Mapping[str, Any] | None:
        """The still-payable link made earlier for this invoice, for the same amount."""
        for link in _items(listing, "payment_links"):
            if (
                link.get("reference_id") == reference
                and link.get("amount") == minor
                and link.get("currency") == currency
                and link.get("status") in ("created", "partially_paid")
            ):
                return link
        return None

    def _session(self, link: Mapping[str, Any], invoice_id: str, total: Money) -> CheckoutSession:
        link_id, url = _str(link, "id"), _str(link, "short_url")
        if link_id is None or url is None:
            raise ProviderUnavailable(
                "Razorpay answered a payment link without id or short_url", provider=_PROVIDER
            )
        return CheckoutSession(
            provider=_PROVIDER,
            id=link_id,
            url=url,
            invoice_id=invoice_id,
            amount=self._money(link, total),
            status=_LINK_STATUS.get(_str(link, "status") or "created", SessionStatus.OPEN),
            customer_id=_str(link, "customer_id"),
            expires_at=_when(_int(link, "expire_by")),
        )

    # -- saving a card -------------------------------------------------------------------------

    def op_setup(
        self, customer: Customer, *, success_url: str, cancel_url: str, key: str
    ) -> Operation[SetupSession]:
        """A card Registration Link for ``customer``: ``{customer: {name, email, contact}}``,
        all three mandatory (from ``Customer.name``, ``email`` and ``phone``; with a
        ``provider_customer_id``, what is missing is read from that Razorpay customer).

        The customer pays ``setup_amount`` (₹1 by default) to authorize a card mandate of up to
        ``mandate_max_amount``; the card becomes a recurring token. Registration links have no
        return URL, so ``success_url`` and ``cancel_url`` are not used.
        """
        where = "a Razorpay registration link"
        name = _customer.customer_name(customer.name, required=False, where=where)
        email = _customer.email(customer.email, required=False, where=where)
        phone = _customer.contact(customer.phone, required=False, where=where)
        notes = _notes({"app_customer_id": customer.id})
        if customer.provider_customer_id and not (name and email and phone):
            known = entity_id(customer.provider_customer_id, "cust_", "customer")
            record = (yield Call.get(f"/v1/customers/{known}", operation="setup")).data
            name = name or _str(record, "name")
            email = email or _str(record, "email")
            phone = phone or _str(record, "contact")
        body: dict[str, Any] = {
            "customer": {
                "name": _customer.customer_name(name, required=True, where=where),
                "email": _customer.email(email, required=True, where=where),
                "contact": _customer.contact(phone, required=True, where=where),
            },
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
            "notes": notes,
        }
        reply = yield Call.post(
            "/v1/subscription_registration/auth_links", json=body, operation="setup"
        )
        invoice = reply.data
        invoice_id, url = _str(invoice, "id"), _str(invoice, "short_url")
        if invoice_id is None or url is None:
            raise ProviderUnavailable(
                "Razorpay answered a registration link without id or short_url",
                provider=_PROVIDER,
            )
        return SetupSession(
            provider=_PROVIDER,
            id=invoice_id,
            url=url,
            customer_id=_str(invoice, "customer_id") or customer.provider_customer_id,
            status=_LINK_STATUS.get(_str(invoice, "status") or "issued", SessionStatus.OPEN),
            expires_at=_when(_int(invoice, "expire_by")),
        )

    def op_complete_setup(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str],
        key: str,
    ) -> Operation[SavedPaymentMethod]:
        """The card a registration link saved: from its :class:`SetupSession` (or the link's
        ``inv_…`` id) through the link's payment, which names the token and the customer; or
        from a ``SETUP_COMPLETED`` event that names both (``invoice.paid``). Registration links
        have no return URL, so ``params`` carry nothing Razorpay put there.

        Raises :class:`paywire.AuthenticationRequired` (``action_url`` = the link) while the
        customer has not paid the link, and :class:`paywire.InvalidRequest` for a link that
        expired or was cancelled.
        """
        if isinstance(source, WebhookEvent):
            if source.provider != _PROVIDER or source.type is not EventType.SETUP_COMPLETED:
                raise InvalidRequest(
                    f"{source.provider} {source.raw_type} is not a Razorpay setup completion",
                    provider=_PROVIDER,
                )
            if source.payment_method_id and source.customer_id:
                return SavedPaymentMethod(_PROVIDER, source.payment_method_id, source.customer_id)
            if not source.session_id:
                raise InvalidRequest(
                    f"Razorpay's {source.raw_type} event names no customer for token "
                    f"{source.payment_method_id!r}: complete the setup from its invoice.paid "
                    "event or from the SetupSession",
                    provider=_PROVIDER,
                )
            link_id: object = source.session_id
        else:
            link_id = source.id if isinstance(source, SetupSession) else source
        invoice_id = entity_id(link_id, "inv_", "registration link")
        invoice = (yield Call.get(f"/v1/invoices/{invoice_id}", operation="setup")).data
        status = _str(invoice, "status")
        if status in _UNPAID:
            raise AuthenticationRequired(
                f"the customer has not completed registration link {invoice_id}",
                provider=_PROVIDER,
                raw_code=status,
                action_url=_str(invoice, "short_url"),
            )
        if status != "paid":
            raise InvalidRequest(
                f"registration link {invoice_id} is {status}: create a new setup session",
                provider=_PROVIDER,
                raw_code=status,
            )
        payment_id = entity_id(_str(invoice, "payment_id"), "pay_", "payment")
        payment = (yield Call.get(f"/v1/payments/{payment_id}", operation="setup")).data
        token_id = _str(payment, "token_id")
        customer_id = _str(payment, "customer_id") or _str(invoice, "customer_id")
        if token_id is None or customer_id is None:
            raise InvalidRequest(
                f"registration link {invoice_id} was paid but saved no card", provider=_PROVIDER
            )
        return SavedPaymentMethod(_PROVIDER, token_id, customer_id)

    # -- charging a saved card -----------------------------------------------------------------

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
        """An order for ``amount`` (captured automatically) and a recurring payment on the token.

        Razorpay deduplicates neither, so the operation's key becomes the order's receipt: a
        call with the same key first looks that order up and answers with its payment (one
        order takes one payment) instead of charging again. Every step that may have charged
        and whose answer is lost is looked up on the order; when even that cannot be learned
        the answer is :class:`paywire.OutcomeUnknown` with the key, never a second charge.
        """
        minor = RAZORPAY_CURRENCY_RULES.to_minor_units(amount)
        if amount.currency != _RECURRING_CURRENCY:
            raise UnknownCurrency(
                f"Razorpay charges saved cards in INR only (recurring card payments: "
                f"'Currently, only INR is allowed'), not {amount.currency}"
            )
        ref = method_ref(method)
        notes = _notes({**metadata, **({"invoice_id": invoice_id} if invoice_id else {})})
        receipt = receipt_for(key)

        order = yield from self._keyed_order(receipt, minor, amount.currency, key)
        if order is not None:
            earlier = yield from self._order_payment(order, key)
            if earlier is not None:
                self._same_card(earlier, ref, key)
                return self._charge_result(earlier, amount, ref, invoice_id, key)

        customer = (yield Call.get(f"/v1/customers/{ref.customer_id}", operation="charge")).data
        where = f"a recurring payment (customer {ref.customer_id})"
        email = _customer.email(_str(customer, "email"), required=True, where=where)
        contact = _customer.contact(_str(customer, "contact"), required=True, where=where)

        if order is None:
            order = yield from self._new_order(receipt, minor, amount.currency, notes, key)
        order_id = entity_id(_str(order, "id"), "order_", "order")
        body: dict[str, Any] = {
            "email": email,
            "contact": contact,
            "amount": minor,
            "currency": amount.currency,
            "order_id": order_id,
            "customer_id": ref.customer_id,
            "token": ref.token_id,
            "recurring": True,
            "notes": notes,
        }
        if description:
            body["description"] = description[:_MAX_DESCRIPTION]
        try:
            reply = yield Call.post("/v1/payments/create/recurring", json=body, operation="charge")
        except OutcomeUnknown:
            # The answer was lost (or was a 5xx): the order tells whether a payment was made.
            found = yield from self._order_payment(order, key)
            if found is None:
                raise
            return self._charge_result(found, amount, ref, invoice_id, key)
        payment_id = _str(reply.data, "razorpay_payment_id")
        if payment_id is None:
            raise self._unknown(key, "Razorpay answered a recurring payment without its id")
        try:
            status = yield Call.get(
                f"/v1/payments/{entity_id(payment_id, 'pay_', 'payment')}", operation="charge"
            )
        except ProviderUnavailable as exc:
            raise self._unknown(
                key, f"payment {payment_id} was made; its status is unknown: {exc.message}"
            ) from None
        return self._charge_result(status.data, amount, ref, invoice_id, key)

    def _keyed_order(
        self, receipt: str, minor: int, currency: str, key: str
    ) -> Operation[Mapping[str, Any] | None]:
        """The order an earlier call with this key made, if any (the first one made, should two
        calls with one key have raced)."""
        try:
            reply = yield Call.get(
                "/v1/orders", params={"receipt": receipt, "count": 100}, operation="charge"
            )
        except ProviderUnavailable as exc:
            raise self._unknown(
                key, f"could not look up earlier charges with this key: {exc.message}"
            ) from None
        orders = [o for o in _items(reply) if o.get("receipt") == receipt]
        for order in orders:
            if order.get("amount") != minor or order.get("currency") != currency:
                raise InvalidRequest(
                    f"idempotency key {key!r} was used for another charge (order "
                    f"{order.get('id')} of {order.get('amount')} {order.get('currency')})",
                    provider=_PROVIDER,
                )
        if not orders:
            return None
        return min(orders, key=lambda o: (_int(o, "created_at") or 0, str(o.get("id"))))

    def _new_order(
        self, receipt: str, minor: int, currency: str, notes: Mapping[str, str], key: str
    ) -> Operation[Mapping[str, Any]]:
        body = {
            "amount": minor,
            "currency": currency,
            "receipt": receipt,
            "payment_capture": True,
            "notes": notes,
        }
        try:
            reply = yield Call.post("/v1/orders", json=body, operation="charge")
        except OutcomeUnknown:
            # Lost: the receipt finds the order if it was made. Not made → nothing was charged,
            # but say so only after a later call with the key has looked again.
            found = yield from self._keyed_order(receipt, minor, currency, key)
            if found is None:
                raise
            return found
        order: Mapping[str, Any] = reply.data
        return order

    @staticmethod
    def _same_card(payment: Mapping[str, Any], ref: MethodRef, key: str) -> None:
        """Refuse a key that already charged another saved card."""
        token, customer = _str(payment, "token_id"), _str(payment, "customer_id")
        if (token and token != ref.token_id) or (customer and customer != ref.customer_id):
            raise InvalidRequest(
                f"idempotency key {key!r} was used for a charge of another saved card "
                f"(payment {payment.get('id')})",
                provider=_PROVIDER,
            )

    def _order_payment(
        self, order: Mapping[str, Any], key: str
    ) -> Operation[Mapping[str, Any] | None]:
        """The payment made on ``order``: one that did not fail first; ``None`` when none was
        attempted. Raises the failure when every attempt failed (the key's outcome)."""
        order_id = entity_id(_str(order, "id"), "order_", "order")
        try:
            reply = yield Call.get(f"/v1/orders/{order_id}/payments", operation="charge")
        except ProviderUnavailable as exc:
            raise self._unknown(
                key, f"could not learn whether order {order_id} was paid: {exc.message}"
            ) from None
        payments = _items(reply)
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
        ref: MethodRef,
        invoice_id: str | None,
        key: str,
    ) -> ChargeResult:
        raw_status = _str(payment, "status") or "created"
        if raw_status == "failed":
            raise error_from_payment(payment, self.config.secrets())
        payment_id = _str(payment, "id")
        if payment_id is None:
            raise self._unknown(key, "Razorpay answered a payment without an id")
        notes = payment.get("notes")
        noted = _str(notes, "invoice_id") if isinstance(notes, Mapping) else None
        return ChargeResult(
            provider=_PROVIDER,
            id=payment_id,
            amount=self._money(payment, amount),
            status=_PAYMENT_STATUS.get(raw_status, PaymentStatus.PENDING),
            raw_status=raw_status,
            payment_method_id=ref.given,
            invoice_id=invoice_id or noted,
            created_at=_when(_int(payment, "created_at")),
        )

    # -- refunds -------------------------------------------------------------------------------

    def op_refund(
        self,
        transaction_id: str,
        amount: Money | None,
        *,
        reason: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[RefundResult]:
        """Refund a payment (``pay_…``): ``amount``, or all that is left when ``None``.

        Sent with ``X-Refund-Idempotency`` (the key, or a digest of it when it is not 10 to 64
        of ``[A-Za-z0-9_-]``), so retries refund once. A partial ``amount`` is checked against
        the payment's currency first, because Razorpay's refund takes a bare number. Razorpay
        processes refunds later: the result is usually pending, settled by ``refund.processed``
        or ``refund.failed``.
        """
        payment_id = entity_id(transaction_id, "pay_", "payment")
        body: dict[str, Any] = {}
        if amount is not None:
            minor = RAZORPAY_CURRENCY_RULES.to_minor_units(amount)
            payment = (yield Call.get(f"/v1/payments/{payment_id}", operation="refund")).data
            currency = _str(payment, "currency")
            if currency is not None and currency != amount.currency:
                raise InvalidAmount(f"cannot refund {amount} of a payment in {currency}")
            body["amount"] = minor
        notes = dict(metadata)
        if reason:
            notes["reason"] = reason[:_MAX_NOTE_VALUE]
        if notes:
            body["notes"] = _notes(notes)
        reply = yield Call.post(
            f"/v1/payments/{payment_id}/refund",
            json=body,
            key=refund_key(key),
            key_header=REFUND_KEY_HEADER,
            operation="refund",
        )
        refund = reply.data
        refund_id, currency, refunded = (
            _str(refund, "id"),
            _str(refund, "currency"),
            _int(refund, "amount"),
        )
        if refund_id is None or currency is None or refunded is None:
            raise self._unknown(key, "Razorpay answered a refund without id, amount or currency")
        raw_status = _str(refund, "status") or "pending"
        return RefundResult(
            provider=_PROVIDER,
            id=refund_id,
            transaction_id=_str(refund, "payment_id") or payment_id,
            amount=RAZORPAY_CURRENCY_RULES.from_minor_units(refunded, currency),
            status=_REFUND_STATUS.get(raw_status, RefundStatus.PENDING),
            raw_status=raw_status,
        )

    # -- saved cards ---------------------------------------------------------------------------

    def op_method_details(self, method: SavedPaymentMethod) -> Operation[PaymentMethodInfo]:
        """The saved card: network, last four digits, expiry (``id`` as the caller named it)."""
        ref = method_ref(method)
        reply = yield Call.get(
            f"/v1/customers/{ref.customer_id}/tokens/{ref.token_id}", operation="token"
        )
        token = reply.data
        card = token.get("card")
        card = card if isinstance(card, Mapping) else {}
        last4 = card.get("last4")
        if isinstance(last4, int) and not isinstance(last4, bool) and 0 <= last4 < 10_000:
            last4 = f"{last4:04d}"  # some answers carry it as a number
        network = _str(card, "network")
        return PaymentMethodInfo(
            provider=_PROVIDER,
            id=ref.given,
            type=_str(token, "method") or "card",
            customer_id=ref.customer_id,
            brand=_BRANDS.get(network.lower(), network.lower()) if network else None,
            last4=last4 if isinstance(last4, str) and len(last4) == 4 else None,
            exp_month=_int(card, "expiry_month"),
            exp_year=_int(card, "expiry_year"),
        )

    def op_detach(self, method: SavedPaymentMethod, *, key: str) -> Operation[None]:
        """Delete the token; Razorpay cancels its mandate."""
        ref = method_ref(method)
        yield Call.delete(
            f"/v1/customers/{ref.customer_id}/tokens/{ref.token_id}",
            operation="token",
            expect="any",
        )

    # -- webhooks ------------------------------------------------------------------------------

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        """``X-Razorpay-Signature``: hex HMAC-SHA256 of the raw body under ``secret``. Razorpay
        signs no timestamp, so there is no staleness check: deduplicate on the event id."""
        verify_hmac_sha256_hex(body, get_header(headers, SIGNATURE_HEADER), secret)
        return immediately(None)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """The normalized event; its id is ``X-Razorpay-Event-Id`` when the headers carry it,
        else derived from the payload (:func:`paywire_razorpay.event_id`)."""
        return parse_event(body, headers)
