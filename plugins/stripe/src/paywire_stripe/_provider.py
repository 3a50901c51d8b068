"""``StripeProvider``: paywire's operations over Stripe's API, on paywire's operation kernel.

Each operation is a generator of :class:`~paywire.plugin.Call`\\ s (sans-I/O): the kernel sends
them with the API key, ``Stripe-Version`` and ``Idempotency-Key``, retries under paywire's policy
and Stripe's ``Stripe-Should-Retry`` advice, turns Stripe's errors into paywire's with
:data:`~paywire_stripe._errors.ERROR_RULES`, and runs the same code for sync and async callers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

import paywire
from paywire import (
    Capabilities,
    Capability,
    ChargeResult,
    CheckoutSession,
    Customer,
    EventType,
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
from paywire.plugin import (
    Call,
    CurrencyRules,
    ErrorInfo,
    ErrorRule,
    KernelProvider,
    Operation,
    ProviderConfig,
    Reply,
    derived_key,
    encode_form,
    immediately,
)
from paywire_stripe._config import StripeConfig
from paywire_stripe._currency import STRIPE_CURRENCY_RULES
from paywire_stripe._errors import ERROR_RULES, read_error, retry_advice
from paywire_stripe._readers import (
    PAYMENT_STATUS,
    REFUND_STATUS,
    SESSION_STATUS,
    integer,
    money,
    redirect_url,
    ref,
    text,
    timestamp,
)
from paywire_stripe._requests import (
    charge_params,
    checkout_params,
    customer_params,
    expand_setup_intent,
    refund_params,
    setup_params,
)
from paywire_stripe._webhooks import parse_event, verify_signature

if TYPE_CHECKING:
    from paywire.plugin import HttpClient

__all__ = ["StripeProvider"]

_PROVIDER: Final = "stripe"
# Every Stripe id (and test token such as pm_card_visa) is letters, digits and underscores; an id
# that is not cannot name anything, and must never become another path.
_STRIPE_ID: Final = re.compile(r"[A-Za-z0-9_]{1,255}")


class StripeProvider(KernelProvider[StripeConfig]):
    """Stripe: hosted Checkout, saved cards, off-session PaymentIntents, refunds and webhooks.

    Build it with ``StripeProvider.create(load_config(StripeConfig, "stripe", ...))`` or through
    :class:`paywire.Paywire`. Every operation has an ``_async`` twin, native on
    ``httpx.AsyncClient``.
    """

    name: ClassVar[str] = _PROVIDER
    config_class: ClassVar[type[ProviderConfig]] = StripeConfig
    currency_rules: ClassVar[CurrencyRules] = STRIPE_CURRENCY_RULES
    default_base_url: ClassVar[str] = "https://api.stripe.com"
    request_id_header: ClassVar[str | None] = "Request-Id"
    idempotency_header: ClassVar[str | None] = "Idempotency-Key"
    error_rules: ClassVar[tuple[ErrorRule, ...]] = ERROR_RULES
    capabilities: ClassVar[Capabilities] = Capabilities(
        supported=frozenset(Capability),
        notes={
            Capability.SETUP: "Checkout in setup mode, in the setup_currency setting (USD)",
            Capability.IDEMPOTENCY: "Idempotency-Key on every POST; Stripe keeps keys for 24 h",
        },
    )
    retry_advice = staticmethod(retry_advice)

    def __init__(self, config: StripeConfig, http: HttpClient) -> None:
        super().__init__(config, http)
        self._headers: Mapping[str, str] | None = None

    # -- what the kernel asks of a plugin ------------------------------------------------------

    def available(self) -> bool:
        """Enabled, with an API key configured (the key itself is not checked with Stripe)."""
        return bool(self.config.enabled and self.config.api_key)

    def auth_headers(self) -> Mapping[str, str]:
        """The API key, and the API version every request is read in."""
        headers = self._headers
        if headers is None:
            key = self.config.api_key
            if not key:
                raise paywire.ConfigurationError(
                    "stripe has no api_key (set PAYWIRE_STRIPE_API_KEY)"
                )
            headers = {
                "Authorization": f"Bearer {key.reveal()}",
                "Stripe-Version": self.config.api_version,
            }
            self._headers = headers
        return headers

    def read_error(self, reply: Reply) -> ErrorInfo:
        """Stripe's ``{"error": {…}}`` (see :func:`paywire_stripe._errors.read_error`)."""
        return read_error(reply)

    # -- helpers -------------------------------------------------------------------------------

    def _minor(self, amount: Money) -> int:
        return STRIPE_CURRENCY_RULES.to_minor_units(amount)

    @staticmethod
    def _path_id(value: str, what: str) -> str:
        if not isinstance(value, str) or not _STRIPE_ID.fullmatch(value):
            raise paywire.NotFound(f"{what} {value!r} is not a Stripe id", provider=_PROVIDER)
        return value

    @staticmethod
    def _query(params: Mapping[str, Any]) -> dict[str, str]:
        return dict(encode_form(params))

    @staticmethod
    def _amount(obj: Mapping[str, Any], key: str, expected: Money) -> Money:
        """What Stripe says was asked for: the caller's own :class:`Money` when they agree (it
        keeps the caller's exponent), Stripe's when they do not."""
        amount = money(obj, key)
        return expected if amount is None or amount == expected else amount

    def _customer(self, customer: Customer, key: str) -> Operation[str]:
        """The Stripe customer for ``customer``: the known one, or one made under a key derived
        from the operation's (a retried operation finds the same customer)."""
        if customer.provider_customer_id:
            return customer.provider_customer_id
        reply = yield Call.post(
            "/v1/customers",
            form=customer_params(customer),
            key=derived_key(key, "customer"),
            operation="customer",
        )
        return str(reply.data["id"])

    # -- checkout and setup --------------------------------------------------------------------

    def op_checkout(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool,
        key: str,
    ) -> Operation[CheckoutSession]:
        """A Checkout Session (``mode=payment``) for ``invoice``'s lines, in minor units.

        The invoice id goes in ``client_reference_id`` and in the session's and PaymentIntent's
        ``metadata[invoice_id]``. A Stripe customer is reused (``provider_customer_id``) or
        created from ``invoice.customer``; with ``save_payment_method`` the card is kept for
        off-session charges (``setup_future_usage=off_session``).
        """
        units = [self._minor(item.unit_amount) for item in invoice.line_items]
        total = invoice.total
        self._minor(total)  # the sum must be expressible too (three-decimal currencies)
        customer_id = None
        if invoice.customer is not None:
            customer_id = yield from self._customer(invoice.customer, key)
        params = checkout_params(
            invoice,
            units,
            success_url=success_url,
            cancel_url=cancel_url,
            save_payment_method=save_payment_method,
            customer_id=customer_id,
        )
        reply = yield Call.post("/v1/checkout/sessions", form=params, key=key, operation="checkout")
        session = reply.data
        return CheckoutSession(
            provider=_PROVIDER,
            id=str(session["id"]),
            url=text(session, "url") or "",
            invoice_id=invoice.id,
            amount=self._amount(session, "amount_total", total),
            status=SESSION_STATUS.get(text(session, "status") or "open", SessionStatus.OPEN),
            customer_id=ref(session, "customer") or customer_id,
            expires_at=timestamp(session, "expires_at"),
        )

    def op_setup(
        self, customer: Customer, *, success_url: str, cancel_url: str, key: str
    ) -> Operation[SetupSession]:
        """A Checkout Session in ``mode=setup`` that saves a payment method for ``customer``.

        ``success_url`` gets ``session_id={CHECKOUT_SESSION_ID}`` unless it already holds the
        template: the customer comes back naming the session, for :meth:`complete_setup`.
        """
        customer_id = yield from self._customer(customer, key)
        params = setup_params(
            customer,
            customer_id,
            currency=self.config.setup_currency,
            success_url=success_url,
            cancel_url=cancel_url,
        )
        reply = yield Call.post("/v1/checkout/sessions", form=params, key=key, operation="setup")
        session = reply.data
        return SetupSession(
            provider=_PROVIDER,
            id=str(session["id"]),
            url=text(session, "url") or "",
            customer_id=ref(session, "customer") or customer_id,
            status=SESSION_STATUS.get(text(session, "status") or "open", SessionStatus.OPEN),
            expires_at=timestamp(session, "expires_at"),
        )

    def op_complete_setup(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str],
        key: str,
    ) -> Operation[SavedPaymentMethod]:
        """The card a finished setup saved: from the setup Checkout Session (the
        :class:`SetupSession`, its id, or the ``session_id`` Stripe put in the success URL's
        query — ``params``) through its SetupIntent; or from a ``SETUP_COMPLETED`` event.

        Only reads, so asking again gives the same method. Raises
        :class:`~paywire.AuthenticationRequired` (with the SetupIntent and, while the session is
        open, its page) when the customer has not finished, and
        :class:`~paywire.InvalidRequest` for a session that is not a setup.
        """
        if isinstance(source, WebhookEvent):
            saved = yield from self._saved_by_event(source)
            if saved is None:
                raise paywire.InvalidRequest(
                    f"event {source.id} ({source.raw_type}) is not a completed Stripe setup",
                    provider=_PROVIDER,
                )
            return saved
        session_id = source.id if isinstance(source, SetupSession) else source
        returned = params.get("session_id")
        if returned is not None and returned != session_id:
            raise paywire.InvalidRequest(
                f"the success URL names session {returned!r}, not {session_id!r}",
                provider=_PROVIDER,
            )
        path_id = self._path_id(session_id, "setup session")
        reply = yield Call.get(
            f"/v1/checkout/sessions/{path_id}",
            params=self._query(expand_setup_intent()),
            operation="setup",
        )
        session = reply.data
        if session.get("mode") != "setup":
            raise paywire.InvalidRequest(
                f"Checkout Session {session_id} is not a setup session", provider=_PROVIDER
            )
        intent = session.get("setup_intent")
        if isinstance(intent, str):  # not expanded
            intent = (yield from self._setup_intent(intent)).data
        if not isinstance(intent, Mapping):
            raise paywire.InvalidRequest(
                f"Checkout Session {session_id} has no SetupIntent", provider=_PROVIDER
            )
        page = text(session, "url") if session.get("status") == "open" else None
        return self._saved_by_intent(intent, ref(session, "customer"), page)

    def _setup_intent(self, intent_id: str) -> Operation[Reply]:
        path_id = self._path_id(intent_id, "SetupIntent")
        reply = yield Call.get(f"/v1/setup_intents/{path_id}", operation="setup")
        return reply

    @staticmethod
    def _saved_by_intent(
        intent: Mapping[str, Any], customer_id: str | None, page: str | None
    ) -> SavedPaymentMethod:
        method_id = ref(intent, "payment_method")
        if intent.get("status") != "succeeded" or method_id is None:
            raise paywire.AuthenticationRequired(
                f"SetupIntent {intent.get('id')} is {intent.get('status')}: the customer has not "
                "finished saving a payment method",
                provider=_PROVIDER,
                raw_code=text(intent, "status"),
                transaction_id=text(intent, "id"),
                action_url=redirect_url(intent) or page,
            )
        return SavedPaymentMethod(_PROVIDER, method_id, ref(intent, "customer") or customer_id)

    def _saved_by_event(self, event: WebhookEvent) -> Operation[SavedPaymentMethod | None]:
        """The method a ``SETUP_COMPLETED`` event saved: named in it (``setup_intent.succeeded``)
        or read from the SetupIntent a setup Checkout Session names."""
        if event.type is not EventType.SETUP_COMPLETED:
            return None
        if event.saved_payment_method is not None:
            return event.saved_payment_method
        intent_id = ref(_event_object(event), "setup_intent")
        if intent_id is None:
            return None
        reply = yield from self._setup_intent(intent_id)
        return self._saved_by_intent(reply.data, event.customer_id, None)

    # -- money ---------------------------------------------------------------------------------

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
        """Confirm an off-session PaymentIntent for ``amount`` on the saved ``method``.

        A PaymentIntent that waits for the customer raises
        :class:`~paywire.AuthenticationRequired` with its id (and the page, when Stripe gives
        one), as Stripe's own ``authentication_required`` decline does.
        """
        all_metadata = dict(metadata)
        if invoice_id is not None:
            all_metadata["invoice_id"] = invoice_id
        params = charge_params(
            method.id,
            method.customer_id,
            self._minor(amount),
            amount.currency,
            description=description,
            metadata=all_metadata,
        )
        reply = yield Call.post("/v1/payment_intents", form=params, key=key, operation="charge")
        intent = reply.data
        raw_status = text(intent, "status") or "processing"
        if raw_status == "requires_action":
            raise paywire.AuthenticationRequired(
                f"PaymentIntent {intent['id']} needs the customer to authenticate",
                provider=_PROVIDER,
                raw_code=raw_status,
                http_status=reply.status,
                request_id=reply.request_id,
                transaction_id=text(intent, "id"),
                action_url=redirect_url(intent),
            )
        return ChargeResult(
            provider=_PROVIDER,
            id=str(intent["id"]),
            amount=self._amount(intent, "amount", amount),
            status=PAYMENT_STATUS.get(raw_status, PaymentStatus.PENDING),
            raw_status=raw_status,
            payment_method_id=ref(intent, "payment_method") or method.id,
            invoice_id=invoice_id,
            created_at=timestamp(intent, "created"),
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
        """Refund a PaymentIntent (``pi_…``, or a charge ``ch_…``): ``amount`` or all that is left.

        A partial ``amount`` must be in the payment's currency: Stripe's refund takes a bare
        number, so the payment is read first and another currency is refused before refunding.
        """
        path_id = self._path_id(transaction_id, "transaction")
        minor = None
        if amount is not None:
            minor = self._minor(amount)
            kind = "charges" if transaction_id.startswith(("ch_", "py_")) else "payment_intents"
            payment = yield Call.get(f"/v1/{kind}/{path_id}", operation="refund")
            currency = (text(payment.data, "currency") or "").upper()
            if currency != amount.currency:
                raise paywire.InvalidAmount(f"cannot refund {amount} of a payment in {currency}")
        params = refund_params(transaction_id, minor, reason=reason, metadata=metadata)
        reply = yield Call.post("/v1/refunds", form=params, key=key, operation="refund")
        refund = reply.data
        raw_status = text(refund, "status") or "pending"
        if amount is not None:
            refunded = self._amount(refund, "amount", amount)
        else:
            refunded = money(refund, "amount") or _missing(refund, "amount")
        return RefundResult(
            provider=_PROVIDER,
            id=str(refund["id"]),
            transaction_id=transaction_id,
            amount=refunded,
            status=REFUND_STATUS.get(raw_status, RefundStatus.PENDING),
            raw_status=raw_status,
        )

    # -- saved methods -------------------------------------------------------------------------

    def op_method_details(self, method: SavedPaymentMethod) -> Operation[PaymentMethodInfo]:
        """Brand, last four digits and expiry of a saved card (``pm_…``).

        Raises :class:`paywire.NotFound` for an unknown id, and for a method attached to no
        customer (Stripe keeps a detached method readable, but it can never be charged again) or
        to another customer than the :class:`SavedPaymentMethod` says.
        """
        path_id = self._path_id(method.id, "payment method")
        reply = yield Call.get(f"/v1/payment_methods/{path_id}", operation="payment_method")
        data = reply.data
        customer_id = ref(data, "customer")
        if customer_id is None or (method.customer_id and customer_id != method.customer_id):
            raise paywire.NotFound(
                f"payment method {method.id} is not saved to "
                f"{method.customer_id or 'any customer'} (detached, or never attached)",
                provider=_PROVIDER,
            )
        card = data.get("card")
        card = card if isinstance(card, Mapping) else {}
        billing = data.get("billing_details")
        billing = billing if isinstance(billing, Mapping) else {}
        return PaymentMethodInfo(
            provider=_PROVIDER,
            id=str(data["id"]),
            type=str(data["type"]),
            customer_id=customer_id,
            brand=text(card, "brand"),
            last4=text(card, "last4"),
            exp_month=integer(card, "exp_month"),
            exp_year=integer(card, "exp_year"),
            email=text(billing, "email"),
        )

    def op_detach(self, method: SavedPaymentMethod, *, key: str) -> Operation[None]:
        """Detach the method from its customer; it cannot be used again. Raises
        :class:`paywire.NotFound` for an unknown id and for one already detached."""
        path_id = self._path_id(method.id, "payment method")
        yield Call.post(
            f"/v1/payment_methods/{path_id}/detach", form={}, key=key, operation="detach"
        )

    # -- webhooks ------------------------------------------------------------------------------

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        """Check ``Stripe-Signature`` (``t=…,v1=…``) over the raw body with ``secret``.

        The timestamp must be within ``webhook_tolerance`` seconds (300 by default) of now, past
        or future. Raises :class:`paywire.InvalidSignature` and nothing else.
        """
        verify_signature(body, headers, secret, tolerance=self.config.webhook_tolerance)
        return immediately(None)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """A verified Stripe event, normalized (see :data:`paywire_stripe.EVENT_TYPES`)."""
        return parse_event(body)

    def op_follow_up(self, event: WebhookEvent) -> Operation[WebhookEvent | None]:
        """Complete what an event only points to, so that handlers see the saved method:

        - a setup Checkout Session's ``checkout.session.completed`` (``SETUP_COMPLETED``) names
          only its SetupIntent: the event comes back with the method it saved;
        - a ``checkout.session.completed`` whose payment saved the card
          (``save_payment_method``) comes back with that method and its customer.

        Reads only, so running it again is harmless.
        """
        if event.raw_type != "checkout.session.completed" or event.payment_method_id:
            return None
        if event.type is EventType.SETUP_COMPLETED:
            saved = yield from self._saved_by_event(event)
        elif event.type is EventType.CHECKOUT_COMPLETED:
            saved = yield from self._saved_by_checkout(event)
        else:
            return None
        if saved is None:
            return None
        return attrs.evolve(
            event, payment_method_id=saved.id, customer_id=saved.customer_id, method_saved=True
        )

    def _saved_by_checkout(self, event: WebhookEvent) -> Operation[SavedPaymentMethod | None]:
        # Only a payment for a customer can have saved its card; its PaymentIntent says whether
        # it did (setup_future_usage) and with which method.
        if event.transaction_id is None or event.customer_id is None:
            return None
        path_id = self._path_id(event.transaction_id, "PaymentIntent")
        reply = yield Call.get(f"/v1/payment_intents/{path_id}", operation="checkout")
        intent = reply.data
        method_id = ref(intent, "payment_method")
        if text(intent, "setup_future_usage") is None or method_id is None:
            return None
        customer_id = ref(intent, "customer") or event.customer_id
        return SavedPaymentMethod(_PROVIDER, method_id, customer_id)


def _missing(obj: Mapping[str, Any], key: str) -> Money:
    raise KeyError(f"Stripe's {obj.get('object')} has no {key}")


def _event_object(event: WebhookEvent) -> Mapping[str, Any]:
    """The Stripe object an event is about (``data.object`` of the event it was read from)."""
    data = event.data.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}
