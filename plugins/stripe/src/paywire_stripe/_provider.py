"""``StripeProvider``: paywire's ten operations over Stripe's API, through the official SDK."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

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
from paywire_stripe._config import StripeConfig
from paywire_stripe._currency import STRIPE_CURRENCY_RULES
from paywire_stripe._errors import Operation, StripeHTTPError, error_from_response
from paywire_stripe._webhooks import normalize_event, verify_signature

if TYPE_CHECKING:
    import stripe
    from stripe.params import (
        CustomerCreateParams,
        PaymentIntentCreateParams,
        RefundCreateParams,
    )
    from stripe.params.checkout import (
        SessionCreateParams,
        SessionCreateParamsLineItem,
    )

__all__ = ["StripeProvider"]

T = TypeVar("T")

_PROVIDER = "stripe"
#: Stripe's own refund reasons; any other reason travels in the refund's metadata.
_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
_MAX_KEY = 255

_PAYMENT_STATUS = {
    "succeeded": PaymentStatus.SUCCEEDED,
    "processing": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.PENDING,
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "requires_payment_method": PaymentStatus.FAILED,
    "canceled": PaymentStatus.CANCELED,
}
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.CANCELED,
}
_SESSION_STATUS = {
    "open": SessionStatus.OPEN,
    "complete": SessionStatus.COMPLETE,
    "expired": SessionStatus.EXPIRED,
}


def _derived_key(key: str, step: str) -> str:
    """The key for one step of a multi-request operation, stable across retries of it."""
    derived = f"{key}:{step}"
    if len(derived) <= _MAX_KEY:
        return derived
    return hashlib.sha256(derived.encode()).hexdigest() + f":{step}"


def _ref(value: object) -> str | None:
    """An expandable field's id (the SDK gives a string, or the object when expanded)."""
    if value is None or isinstance(value, str):
        return value
    ident = getattr(value, "id", None)
    return ident if isinstance(ident, str) else None


def _field(obj: object, name: str) -> Any:
    """An optional field of an SDK object: Stripe leaves out what does not apply."""
    return getattr(obj, name, None)


def _text(obj: object, name: str) -> str | None:
    value = _field(obj, name)
    return value if isinstance(value, str) else None


def _int(obj: object, name: str) -> int | None:
    value = _field(obj, name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _when(timestamp: int | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


class StripeProvider(paywire.Provider[StripeConfig]):
    """Stripe: hosted Checkout, saved cards, off-session PaymentIntents, refunds and webhooks.

    Build it with ``StripeProvider.create(load_config(StripeConfig, "stripe", ...))`` or through
    :class:`paywire.Paywire`. The ``stripe`` SDK is imported the first time the API is used.
    """

    name: ClassVar[str] = _PROVIDER
    config_class: ClassVar[type[paywire.ProviderConfig]] = StripeConfig
    currency_rules: ClassVar[paywire.CurrencyRules] = STRIPE_CURRENCY_RULES
    default_base_url: ClassVar[str] = "https://api.stripe.com"
    request_id_header: ClassVar[str | None] = "Request-Id"
    capabilities: ClassVar[Capabilities] = Capabilities(
        supported=frozenset(Capability),
        notes={
            Capability.SETUP: "Checkout in setup mode, in the setup_currency setting (USD)",
            Capability.IDEMPOTENCY: "Idempotency-Key on every POST; Stripe keeps keys for 24 h",
        },
    )

    def __init__(self, config: StripeConfig, http: paywire.HttpClient) -> None:
        super().__init__(config, http)
        self._client: stripe.StripeClient | None = None
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def client(self) -> stripe.StripeClient:
        """The ``stripe.StripeClient`` the operations use, sending through :attr:`http`.

        Built (and the SDK imported) on first use. For API calls paywire does not wrap; an error
        status raises :class:`~paywire_stripe.StripeHTTPError` (map it with
        :func:`~paywire_stripe.error_from_response`) rather than the SDK's own errors.
        """
        client = self._client
        if client is None:
            with self._lock:
                client = self._client
                if client is None:
                    if not self.config.api_key:
                        raise paywire.ConfigurationError(
                            "stripe has no api_key (set PAYWIRE_STRIPE_API_KEY)"
                        )
                    from paywire_stripe._sdk import build_client

                    client = build_client(
                        self.config.api_key.reveal(),
                        self.config.base_url or self.default_base_url,
                        self.http,
                        api_version=self.config.api_version,
                    )
                    self._client = client
        return client

    def _call(self, operation: Operation, key: str | None, send: Callable[[], T]) -> T:
        """Run one SDK call, mapping Stripe's answer to paywire's errors."""
        try:
            return send()
        except StripeHTTPError as exc:
            raise error_from_response(
                exc.response,
                operation=operation,
                idempotency_key=key,
                secrets=self.config.secrets(),
            ) from None
        except paywire.OutcomeUnknown as exc:
            if key is None or exc.idempotency_key == key:
                raise
            # A step of the operation failed in transit: the key to retry with is the operation's.
            raise paywire.OutcomeUnknown(
                exc.message,
                provider=_PROVIDER,
                idempotency_key=key,
                raw_code=exc.raw_code,
                http_status=exc.http_status,
                request_id=exc.request_id,
            ) from None
        except paywire.PaywireError:
            raise
        except Exception as exc:
            # The SDK could not read a 2xx answer (not JSON, …). For a POST the change may have
            # been made; the operation's key tells on retry.
            import stripe

            if not isinstance(exc, stripe.StripeError):
                raise
            message = f"unreadable answer from Stripe ({type(exc).__name__})"
            if key is None:
                raise paywire.ProviderUnavailable(message, provider=_PROVIDER) from None
            raise paywire.OutcomeUnknown(message, provider=_PROVIDER, idempotency_key=key) from None

    def _minor(self, money: Money) -> int:
        return STRIPE_CURRENCY_RULES.to_minor_units(money)

    def _customer_id(self, customer: Customer, key: str) -> str:
        """The Stripe customer for ``customer``: the known one, or a new one."""
        if customer.provider_customer_id:
            return customer.provider_customer_id
        params: CustomerCreateParams = {"metadata": {**customer.metadata, "app_id": customer.id}}
        if customer.email:
            params["email"] = customer.email
        if customer.name:
            params["name"] = customer.name
        step_key = _derived_key(key, "customer")
        created = self._call(
            "customer",
            key,
            lambda: self.client.v1.customers.create(params, {"idempotency_key": step_key}),
        )
        return created.id

    # -- the interface ----------------------------------------------------------------------

    def available(self) -> bool:
        """Enabled, with an API key configured (the key itself is not checked with Stripe)."""
        return bool(self.config.enabled and self.config.api_key)

    def create_checkout_session(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """A Checkout Session (``mode=payment``) for ``invoice``'s lines, in minor units.

        The invoice id goes in ``client_reference_id`` and in the session's and PaymentIntent's
        ``metadata[invoice_id]``. A Stripe customer is reused (``provider_customer_id``) or
        created from ``invoice.customer``; with ``save_payment_method`` the card is kept for
        off-session charges (``setup_future_usage=off_session``).
        """
        currency = invoice.currency.lower()
        line_items: list[SessionCreateParamsLineItem] = [
            {
                "price_data": {
                    "currency": currency,
                    "unit_amount": self._minor(item.unit_amount),
                    "product_data": {"name": item.description},
                },
                "quantity": item.quantity,
            }
            for item in invoice.line_items
        ]
        total = invoice.total
        self._minor(total)  # the sum must be expressible too (three-decimal currencies)
        key = idempotency_key or paywire.new_idempotency_key()
        metadata = {**invoice.metadata, "invoice_id": invoice.id}
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": line_items,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": invoice.id,
            "metadata": metadata,
            "payment_intent_data": {"metadata": dict(metadata)},
        }
        if invoice.description:
            params["payment_intent_data"]["description"] = invoice.description
        if save_payment_method:
            params["payment_intent_data"]["setup_future_usage"] = "off_session"
        customer_id: str | None = None
        if invoice.customer is not None:
            customer_id = self._customer_id(invoice.customer, key)
            params["customer"] = customer_id
        elif save_payment_method:
            # Without a customer the saved card would be attached to nobody.
            params["customer_creation"] = "always"
        session = self._call(
            "checkout",
            key,
            lambda: self.client.v1.checkout.sessions.create(params, {"idempotency_key": key}),
        )
        return CheckoutSession(
            provider=_PROVIDER,
            id=session.id,
            url=_text(session, "url") or "",
            invoice_id=invoice.id,
            amount=self._amount(_int(session, "amount_total"), _text(session, "currency"), total),
            status=_SESSION_STATUS.get(_text(session, "status") or "open", SessionStatus.OPEN),
            customer_id=_ref(_field(session, "customer")) or customer_id,
            expires_at=_when(_int(session, "expires_at")),
        )

    def _amount(self, minor: int | None, currency: str | None, expected: Money) -> Money:
        """What Stripe says was asked for, as :class:`Money` (the caller's own when equal)."""
        if minor is None or currency is None:
            return expected
        amount = STRIPE_CURRENCY_RULES.from_minor_units(minor, currency)
        # The caller's own Money when Stripe agrees (same value, the caller's exponent).
        return expected if amount == expected else amount

    def create_setup_session(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        """A Checkout Session in ``mode=setup`` that saves a payment method for ``customer``.

        Stripe requires a ``currency`` in setup mode unless payment method types are listed (a
        parameter recent API versions replaced); the configured ``setup_currency`` is sent.
        """
        key = paywire.new_idempotency_key()
        customer_id = self._customer_id(customer, key)
        params: SessionCreateParams = {
            "mode": "setup",
            "customer": customer_id,
            "currency": self.config.setup_currency.lower(),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "metadata": {"customer_id": customer.id},
            "setup_intent_data": {"metadata": {"customer_id": customer.id}},
        }
        session = self._call(
            "setup",
            key,
            lambda: self.client.v1.checkout.sessions.create(params, {"idempotency_key": key}),
        )
        return SetupSession(
            provider=_PROVIDER,
            id=session.id,
            url=_text(session, "url") or "",
            customer_id=_ref(_field(session, "customer")) or customer_id,
            status=_SESSION_STATUS.get(_text(session, "status") or "open", SessionStatus.OPEN),
            expires_at=_when(_int(session, "expires_at")),
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
        """Confirm an off-session PaymentIntent for ``amount`` on the saved ``payment_method``."""
        minor = self._minor(amount)
        key = idempotency_key or paywire.new_idempotency_key()
        all_metadata = dict(metadata or {})
        if invoice_id is not None:
            all_metadata["invoice_id"] = invoice_id
        params: PaymentIntentCreateParams = {
            "amount": minor,
            "currency": amount.currency.lower(),
            "payment_method": payment_method.id,
            "confirm": True,
            "off_session": True,
        }
        if payment_method.customer_id:
            params["customer"] = payment_method.customer_id
        if description:
            params["description"] = description
        if all_metadata:
            params["metadata"] = all_metadata
        intent = self._call(
            "charge",
            key,
            lambda: self.client.v1.payment_intents.create(params, {"idempotency_key": key}),
        )
        charged = self._amount(_int(intent, "amount"), _text(intent, "currency"), amount)
        raw_status = _text(intent, "status") or "processing"
        return ChargeResult(
            provider=_PROVIDER,
            id=intent.id,
            amount=charged,
            status=_PAYMENT_STATUS.get(raw_status, PaymentStatus.PENDING),
            raw_status=raw_status,
            payment_method_id=_ref(_field(intent, "payment_method")) or payment_method.id,
            invoice_id=invoice_id,
            created_at=_when(_int(intent, "created")),
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
        """Refund a PaymentIntent (``pi_…``, or a charge ``ch_…``): ``amount`` or all that is left.

        A partial ``amount`` must be in the payment's currency: it is checked against the payment
        first, because Stripe's refund takes a bare number.
        """
        key = idempotency_key or paywire.new_idempotency_key()
        is_charge = transaction_id.startswith("ch_")
        params: RefundCreateParams = {}
        if is_charge:
            params["charge"] = transaction_id
        else:
            params["payment_intent"] = transaction_id
        if amount is not None:
            minor = self._minor(amount)
            self._check_refund_currency(transaction_id, is_charge, amount)
            params["amount"] = minor
        all_metadata = dict(metadata or {})
        if reason in _REFUND_REASONS:
            params["reason"] = reason
        elif reason:
            all_metadata["reason"] = reason
        if all_metadata:
            params["metadata"] = all_metadata
        refund = self._call(
            "refund",
            key,
            lambda: self.client.v1.refunds.create(params, {"idempotency_key": key}),
        )
        raw_status = _text(refund, "status") or "pending"
        return RefundResult(
            provider=_PROVIDER,
            id=refund.id,
            transaction_id=(
                _ref(_field(refund, "payment_intent"))
                or _ref(_field(refund, "charge"))
                or transaction_id
            ),
            amount=STRIPE_CURRENCY_RULES.from_minor_units(refund.amount, refund.currency),
            status=_REFUND_STATUS.get(raw_status, RefundStatus.PENDING),
            raw_status=raw_status,
        )

    def _check_refund_currency(self, transaction_id: str, is_charge: bool, amount: Money) -> None:
        if is_charge:
            currency = self._call(
                "refund", None, lambda: self.client.v1.charges.retrieve(transaction_id)
            ).currency
        else:
            currency = self._call(
                "refund", None, lambda: self.client.v1.payment_intents.retrieve(transaction_id)
            ).currency
        if currency.upper() != amount.currency:
            raise paywire.InvalidAmount(
                f"cannot refund {amount} of a payment in {currency.upper()}"
            )

    def get_payment_method_details(self, payment_method_id: str) -> PaymentMethodInfo:
        """Brand, last four digits and expiry of a saved card (``pm_…``).

        Raises :class:`paywire.NotFound` for an unknown id, and for a method attached to no
        customer: Stripe keeps a detached method readable, but it can never be charged again.
        """
        method = self._call(
            "payment_method",
            None,
            lambda: self.client.v1.payment_methods.retrieve(payment_method_id),
        )
        customer_id = _ref(_field(method, "customer"))
        if customer_id is None:
            raise paywire.NotFound(
                f"payment method {payment_method_id} is not saved to any customer "
                "(detached, or never attached)",
                provider=_PROVIDER,
            )
        card = _field(method, "card")
        billing = _field(method, "billing_details")
        return PaymentMethodInfo(
            provider=_PROVIDER,
            id=method.id,
            type=method.type,
            customer_id=customer_id,
            brand=_text(card, "brand"),
            last4=_text(card, "last4"),
            exp_month=_int(card, "exp_month"),
            exp_year=_int(card, "exp_year"),
            email=_text(billing, "email"),
        )

    def detach_payment_method(self, payment_method_id: str) -> None:
        """Detach ``payment_method_id`` from its customer; it cannot be used again.

        Raises :class:`paywire.NotFound` for an unknown id and for one already detached.
        """
        key = paywire.new_idempotency_key()
        self._call(
            "detach",
            key,
            lambda: self.client.v1.payment_methods.detach(
                payment_method_id, options={"idempotency_key": key}
            ),
        )

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        """Check ``Stripe-Signature`` (``t=…,v1=…``) over the raw body.

        The timestamp must be within ``webhook_tolerance`` seconds (300 by default) of now, past
        or future. Raises :class:`paywire.InvalidSignature` and nothing else.
        """
        if secret is None and self.config.webhook_secret is not None:
            secret = self.config.webhook_secret.reveal()
        verify_signature(payload, headers, secret, tolerance=self.config.webhook_tolerance)

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        """Normalize a parsed Stripe event; see :data:`paywire_stripe.EVENT_TYPES`."""
        return normalize_event(payload)
