"""The provider interface: the operations apps call, sync and async, and the capabilities each
provider declares.

A plugin written against API 1.0 implements the nine abstract methods (sync); everything added
since has a default, so it keeps loading and working: its coroutines run its sync code in a
worker thread, several webhook secrets are tried in turn through its
``verify_webhook_signature(payload, headers, secret)``, its JSON webhooks are parsed by the core and
handed to ``handle_webhook_event(payload)``, and ``get``/``detach`` receive the id of a
:class:`SavedPaymentMethod` they are given. Plugins built on the kernel
(:class:`paywire.plugin.KernelProvider`) are native on both paths.
"""

from __future__ import annotations

import abc
import asyncio
import enum
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Self, TypeVar

import attrs

from paywire._config import ProviderConfig
from paywire._errors import ConfigurationError, InvalidSignature, OutcomeUnknown, UnknownEvent
from paywire._keys import new_idempotency_key

if TYPE_CHECKING:
    import httpx

    from paywire._http import HttpClient
    from paywire._money import CurrencyRules, Money
    from paywire._types import (
        ChargeResult,
        CheckoutSession,
        Customer,
        EventReference,
        Invoice,
        PaymentMethodInfo,
        RefundResult,
        SavedPaymentMethod,
        SetupSession,
        WebhookEvent,
    )

__all__ = [
    "Capabilities",
    "Capability",
    "Provider",
    "WebhookAuthentication",
    "accepts_saved_methods",
    "method_id",
]

T = TypeVar("T")


class Capability(enum.Enum):
    """Something a provider may support. The contract suite checks each one declared."""

    CHECKOUT = "checkout"
    SAVE_ON_CHECKOUT = "save_on_checkout"
    SETUP = "setup"
    CHARGE = "charge"
    REFUND = "refund"
    PARTIAL_REFUND = "partial_refund"
    PAYMENT_METHOD_DETAILS = "payment_method_details"
    DETACH = "detach"
    WEBHOOKS = "webhooks"
    IDEMPOTENCY = "idempotency"


def _capability_set(values: Iterable[Capability]) -> frozenset[Capability]:
    # A typed converter: with converter=frozenset, type checkers cannot infer the element type
    # and reject Capabilities(supported={Capability.CHECKOUT}) under --strict.
    return frozenset(values)


@attrs.frozen
class Capabilities:
    """What a provider supports, with notes a user should read (``notes[Capability.SETUP]``:
    "saving a card takes a small authorization payment")."""

    supported: frozenset[Capability] = attrs.field(converter=_capability_set)
    notes: Mapping[Capability, str] = attrs.field(factory=dict)

    def __contains__(self, capability: object) -> bool:
        return capability in self.supported

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form, for ``paywire providers --json``."""
        return {
            "supported": sorted(c.value for c in self.supported),
            "notes": {c.value: note for c, note in self.notes.items()},
        }


#: How a provider's webhook notifications are authenticated. ``"signature"``: the body is signed
#: and :meth:`Provider.verify_webhook` checks it. ``"fetch"``: the notification is only a hint
#: that names a resource; what the app acts on is read from the provider's API
#: (:meth:`Provider.fetch_webhook_event`), so a forged notification can do no more than make
#: paywire look something up.
WebhookAuthentication = Literal["signature", "fetch"]

ConfigT = TypeVar("ConfigT", bound=ProviderConfig)

_SAVED_METHOD_OPERATIONS = ("get_payment_method_details", "detach_payment_method")
#: Operations that create or move something and take an idempotency key.
_KEYED_OPERATIONS = ("create_checkout_session", "charge_payment_method", "create_refund")


def method_id(method: SavedPaymentMethod | str) -> str:
    """The provider's id of a saved method given as a :class:`SavedPaymentMethod` or its id."""
    if isinstance(method, str):
        return method
    identifier = getattr(method, "id", None)
    if not isinstance(identifier, str):
        raise TypeError(f"expected a SavedPaymentMethod or its id, got {type(method).__name__}")
    return identifier


def accepts_saved_methods(func: Callable[..., T]) -> Callable[..., T]:
    """Mark a ``get_payment_method_details`` / ``detach_payment_method`` override as taking a
    :class:`SavedPaymentMethod` (or an id) itself; unmarked overrides — plugins written against
    API 1.0 — are handed the method's id."""
    func.__paywire_saved_methods__ = True  # type: ignore[attr-defined]
    return func


def keyed(func: Callable[..., T]) -> Callable[..., T]:
    """Mark an override of a keyed operation as making its own key (the kernel's do): it is
    not wrapped again."""
    func.__paywire_keyed__ = True  # type: ignore[attr-defined]
    return func


def _keyed(func: Callable[..., T]) -> Callable[..., T]:
    """An API 1.0 operation that takes ``idempotency_key``, made to always get one: a key is
    made before the first attempt when the caller gives none, and an ``OutcomeUnknown`` that
    the plugin raised without a key carries it — so the documented retry never charges twice.
    """

    @functools.wraps(func)
    def call(self: Provider[Any], *args: Any, idempotency_key: str | None = None, **kw: Any) -> T:
        key = idempotency_key or new_idempotency_key()
        try:
            return func(self, *args, idempotency_key=key, **kw)
        except OutcomeUnknown as exc:
            if exc.idempotency_key is not None:
                raise
            raise OutcomeUnknown(
                exc.message,
                provider=exc.provider,
                idempotency_key=key,
                raw_code=exc.raw_code,
                http_status=exc.http_status,
                request_id=exc.request_id,
            ) from None

    call.__paywire_keyed__ = True  # type: ignore[attr-defined]
    return call


def _by_id(func: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(func)
    def call(self: Provider[Any], method: SavedPaymentMethod | str, *args: Any, **kw: Any) -> T:
        return func(self, method_id(method), *args, **kw)

    call.__paywire_saved_methods__ = True  # type: ignore[attr-defined]
    return call


class Provider(abc.ABC, Generic[ConfigT]):
    """One payment provider. Plugins subclass this (or :class:`paywire.plugin.KernelProvider`)
    and register the class.

    A provider is built by :class:`paywire.Paywire` (or directly, in tests) with its config and the
    core's :class:`~paywire.plugin.HttpClient`, through which all its HTTP goes. It is safe to
    share between threads once built, and between coroutines of any event loop.

    Every operation has an awaitable twin named with an ``_async`` suffix
    (``charge_payment_method_async``), as stripe-python names its awaitable calls. Providers
    built on the kernel run them natively on ``httpx.AsyncClient`` (:attr:`native_async`);
    others run their sync code in a worker thread.
    """

    #: The provider's name: ``"stripe"``. Also its config's environment prefix.
    name: ClassVar[str]
    #: What the provider supports.
    capabilities: ClassVar[Capabilities]
    #: Its settings class.
    config_class: ClassVar[type[ProviderConfig]]
    #: How it writes amounts (exponent overrides on top of ISO 4217).
    currency_rules: ClassVar[CurrencyRules]
    #: The real API's address, used when the config has no ``base_url``.
    default_base_url: ClassVar[str]
    #: The response header carrying the provider's request id, if any.
    request_id_header: ClassVar[str | None] = None
    #: How its webhook notifications are authenticated (see :data:`WebhookAuthentication`).
    webhook_authentication: ClassVar[WebhookAuthentication] = "signature"
    #: Whether the ``_async`` operations are native coroutines (``False``: the sync code runs in
    #: a worker thread).
    native_async: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # API 1.0 plugins take the id where apps may now pass the SavedPaymentMethod itself,
        # and get a key for every operation that moves money (the kernel's own operations
        # already do both, and are marked).
        for name in _SAVED_METHOD_OPERATIONS:
            impl = cls.__dict__.get(name)
            if callable(impl) and not getattr(impl, "__paywire_saved_methods__", False):
                setattr(cls, name, _by_id(impl))
        for name in _KEYED_OPERATIONS:
            impl = cls.__dict__.get(name)
            if callable(impl) and not getattr(impl, "__paywire_keyed__", False):
                setattr(cls, name, _keyed(impl))

    def __init__(self, config: ConfigT, http: HttpClient) -> None:
        self.config = config
        self.http = http

    @classmethod
    def create(
        cls,
        config: ConfigT,
        *,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> Self:
        """Build the provider with the core's HTTP client for ``config``.

        ``transport`` (and ``async_transport``, when the async path needs its own) replace the
        network: record/replay, tests.
        """
        from paywire._http import HttpClient, RetryPolicy

        http = HttpClient(
            provider=cls.name,
            base_url=config.base_url or cls.default_base_url,
            timeout=config.timeout,
            retry=RetryPolicy(max_attempts=config.max_attempts),
            transport=transport,
            async_transport=async_transport,
            secrets=config.secrets(),
            request_id_header=cls.request_id_header,
            retry_advice=cls.retry_advice,
        )
        return cls(config, http)

    @staticmethod
    def retry_advice(response: httpx.Response) -> bool | None:
        """The provider's own opinion on retrying ``response`` (a header it sends): ``True``,
        ``False`` or ``None`` for none. The default has none."""
        return None

    def __repr__(self) -> str:
        # Never the config's values: they hold credentials (masked, but still nobody's business).
        return f"<{type(self).__name__} {self.name!r}>"

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()

    async def aclose(self) -> None:
        """Release the running event loop's HTTP connections."""
        await self.http.aclose()

    # -- the operations (API 1.0) -------------------------------------------------------------

    @abc.abstractmethod
    def available(self) -> bool:
        """Whether the provider can be used: enabled and its credentials present.

        Never raises and never calls the provider.
        """

    @abc.abstractmethod
    def create_checkout_session(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """Create a hosted payment page for ``invoice``; send the customer to the returned ``url``.

        The invoice id travels with the payment so webhooks can be matched to it. With
        ``save_payment_method`` the method is kept for later charges where the provider allows it.
        Raises :class:`InvalidRequest`, :class:`InvalidAmount`, :class:`AuthenticationFailed`,
        :class:`ProviderUnavailable`, :class:`OutcomeUnknown`.
        """

    @abc.abstractmethod
    def create_setup_session(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        """Create a hosted page that saves a payment method for ``customer`` without charging.

        Raises as :meth:`create_checkout_session` does. When the customer is done, the method is
        :meth:`complete_setup`'s answer (and a ``SETUP_COMPLETED`` webhook's).
        """

    @abc.abstractmethod
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
        """Charge a saved method with the customer absent (a renewal).

        Returns a :class:`ChargeResult` for the exact ``amount``: ``succeeded``, or ``pending``
        where the provider settles later (a direct debit, a scheduled recurring debit) — a
        ``PAYMENT_SUCCEEDED`` or ``PAYMENT_FAILED`` webhook naming ``invoice_id`` follows.
        Raises :class:`CardDeclined`, :class:`PaymentMethodExpired`,
        :class:`AuthenticationRequired` (with the transaction and, where the provider has one,
        the page to send the customer to), :class:`NotFound`, :class:`InvalidRequest`,
        :class:`InvalidAmount`, :class:`OutcomeUnknown` (retry with its ``idempotency_key``),
        :class:`ProviderUnavailable`, :class:`RateLimited`.
        """

    @abc.abstractmethod
    def create_refund(
        self,
        transaction_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        """Refund ``amount`` (everything left when ``None``) of a transaction.

        The refund may be ``pending`` and settle later by webhook (``REFUND_SUCCEEDED`` /
        ``REFUND_FAILED``). Raises :class:`AlreadyRefunded` when more than what is left is asked
        for, :class:`NotFound`, :class:`InvalidRequest`, :class:`OutcomeUnknown`,
        :class:`ProviderUnavailable`.
        """

    @abc.abstractmethod
    def get_payment_method_details(
        self, payment_method: SavedPaymentMethod | str
    ) -> PaymentMethodInfo:
        """What can be shown about a saved method (given as a :class:`SavedPaymentMethod`, or its
        id). Raises :class:`NotFound`."""

    @abc.abstractmethod
    def detach_payment_method(self, payment_method: SavedPaymentMethod | str) -> None:
        """Remove a saved method for good. Raises :class:`NotFound` if it does not exist."""

    @abc.abstractmethod
    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        """Check that ``payload`` (the raw body) was signed by the provider with ``secret``.

        ``headers`` are the request's headers (any case); ``secret`` defaults to the configured
        webhook secret. Raises :class:`InvalidSignature` — and nothing else — on any failure.
        Apps call :meth:`verify_webhook`, which tries every configured secret.
        """

    @abc.abstractmethod
    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        """Normalize a verified, parsed JSON webhook body. Raises :class:`UnknownEvent` for event
        types this provider does not map (and for payloads that are not an event). Apps and the
        processor call :meth:`parse_webhook`, which sees the raw body and the headers."""

    # -- webhooks (API 1.1; defaults keep API 1.0 plugins working) ----------------------------

    def webhook_secrets(self) -> Sequence[str | None]:
        """Every secret a webhook may be signed with, current first (``[None]`` when none is
        configured, so that verifying says so). Default: ``webhook_secret`` then
        ``webhook_secrets`` of the config."""
        secrets = [s.reveal() for s in self.config.all_webhook_secrets()]
        return secrets or [None]

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Check a delivery's authenticity with every configured secret (rotation: any one
        matching is enough). Raises :class:`InvalidSignature` and nothing else.

        A provider whose notifications are authenticated by fetching
        (:attr:`webhook_authentication` ``"fetch"``) checks only what its
        ``verify_webhook_signature`` checks (often nothing): the fetch decides.
        """
        failure: InvalidSignature | None = None
        for secret in self.webhook_secrets():
            try:
                self.verify_webhook_signature(body, headers, secret)
            except InvalidSignature as exc:
                failure = exc
                continue
            return
        raise failure or InvalidSignature("no webhook secret configured")

    async def verify_webhook_async(self, body: bytes, headers: Mapping[str, str]) -> None:
        """:meth:`verify_webhook`, awaitable (verification may fetch a certificate)."""
        await asyncio.to_thread(self.verify_webhook, body, headers)

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> WebhookEvent | EventReference:
        """Read a verified delivery: the normalized event, or — for a notification that only
        names a resource — an :class:`~paywire.EventReference` to fetch.

        Default: the body as a JSON object (bounded: :func:`paywire.plugin.parse_json_body`),
        normalized by :meth:`handle_webhook_event`. Providers with other bodies (form-encoded,
        id-only) or ids in headers override it. Raises :class:`UnknownEvent` (well formed, not
        mapped) and :class:`MalformedWebhook` (unreadable).
        """
        from paywire._webhook_body import parse_json_body

        payload = parse_json_body(body, provider=self.name)
        if not isinstance(payload, Mapping):
            raise UnknownEvent("the body is not a JSON object", provider=self.name, event_type=None)
        return self.handle_webhook_event(payload)

    def fetch_webhook_event(self, reference: EventReference) -> WebhookEvent:
        """Read the resource a notification names from the provider's API and say what happened
        to it, as an event (through the provider's HTTP client: retried, recorded, replayed).

        The event's id identifies the resource's state (``tr_123:paid``), so that the same state
        notified twice is one event. Default: this provider does not fetch.
        """
        raise ConfigurationError(
            f"the {self.name} provider returned a notification to fetch but cannot fetch one"
        )

    async def fetch_webhook_event_async(self, reference: EventReference) -> WebhookEvent:
        """:meth:`fetch_webhook_event`, awaitable."""
        return await asyncio.to_thread(self.fetch_webhook_event, reference)

    def follow_up(self, event: WebhookEvent) -> WebhookEvent | None:
        """The provider's own step after a verified event, before the app's handlers see it.

        Some providers need the merchant to act before money moves or a method is saved: PayPal
        captures an order the buyer approved (``CHECKOUT_COMPLETED``), and the capture's own
        webhook then reports ``PAYMENT_SUCCEEDED``. A provider may also complete what the event
        only points to and return the event completed (a ``SETUP_COMPLETED`` event given the
        saved method it made): the handlers then see that one. ``None`` keeps the event as is.
        :class:`~paywire.webhooks.WebhookProcessor` calls this for every event it processes, so
        apps need no provider-specific code. It must be idempotent (a redelivered event runs it
        again); raising leaves the event unprocessed, as a failing handler does. The default
        does nothing.
        """
        return None

    async def follow_up_async(self, event: WebhookEvent) -> WebhookEvent | None:
        """:meth:`follow_up`, awaitable."""
        return await asyncio.to_thread(self.follow_up, event)

    # -- setup completion (API 1.1) -----------------------------------------------------------

    def complete_setup(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> SavedPaymentMethod:
        """The payment method a finished setup saved.

        ``source`` is the :class:`SetupSession` the app created (or its id) when the customer
        comes back to ``success_url`` — ``params`` are that URL's query parameters, where the
        provider puts something there — or the ``SETUP_COMPLETED`` webhook event. Idempotent:
        asking again returns the same method. Raises :class:`AuthenticationRequired` (the
        customer has not finished), :class:`NotFound`, and what every call raises.

        The default answers from an event that names the method and otherwise says the provider
        cannot tell.
        """
        from paywire._types import WebhookEvent

        if isinstance(source, WebhookEvent) and source.saved_payment_method is not None:
            return source.saved_payment_method
        raise ConfigurationError(
            f"the {self.name} provider does not complete setups through the interface; "
            "use its SETUP_COMPLETED webhook's saved_payment_method"
        )

    async def complete_setup_async(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> SavedPaymentMethod:
        """:meth:`complete_setup`, awaitable."""
        return await asyncio.to_thread(
            functools.partial(
                self.complete_setup, source, params=params, idempotency_key=idempotency_key
            )
        )

    # -- awaitable twins (a worker thread unless the provider is native) ----------------------

    async def create_checkout_session_async(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """:meth:`create_checkout_session`, awaitable."""
        return await asyncio.to_thread(
            functools.partial(
                self.create_checkout_session,
                invoice,
                success_url=success_url,
                cancel_url=cancel_url,
                save_payment_method=save_payment_method,
                idempotency_key=idempotency_key,
            )
        )

    async def create_setup_session_async(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        """:meth:`create_setup_session`, awaitable."""
        return await asyncio.to_thread(
            functools.partial(
                self.create_setup_session,
                customer,
                success_url=success_url,
                cancel_url=cancel_url,
            )
        )

    async def charge_payment_method_async(
        self,
        payment_method: SavedPaymentMethod,
        amount: Money,
        *,
        description: str | None = None,
        invoice_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ChargeResult:
        """:meth:`charge_payment_method`, awaitable."""
        return await asyncio.to_thread(
            functools.partial(
                self.charge_payment_method,
                payment_method,
                amount,
                description=description,
                invoice_id=invoice_id,
                metadata=metadata,
                idempotency_key=idempotency_key,
            )
        )

    async def create_refund_async(
        self,
        transaction_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        """:meth:`create_refund`, awaitable."""
        return await asyncio.to_thread(
            functools.partial(
                self.create_refund,
                transaction_id,
                amount,
                reason=reason,
                metadata=metadata,
                idempotency_key=idempotency_key,
            )
        )

    async def get_payment_method_details_async(
        self, payment_method: SavedPaymentMethod | str
    ) -> PaymentMethodInfo:
        """:meth:`get_payment_method_details`, awaitable."""
        return await asyncio.to_thread(self.get_payment_method_details, payment_method)

    async def detach_payment_method_async(self, payment_method: SavedPaymentMethod | str) -> None:
        """:meth:`detach_payment_method`, awaitable."""
        await asyncio.to_thread(self.detach_payment_method, payment_method)
