"""The provider interface: ten operations, and the capabilities each provider declares."""

from __future__ import annotations

import abc
import enum
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

import attrs

from paywire._config import ProviderConfig

if TYPE_CHECKING:
    import httpx

    from paywire._http import HttpClient
    from paywire._money import CurrencyRules, Money
    from paywire._types import (
        ChargeResult,
        CheckoutSession,
        Customer,
        Invoice,
        PaymentMethodInfo,
        RefundResult,
        SavedPaymentMethod,
        SetupSession,
        WebhookEvent,
    )

__all__ = ["Capabilities", "Capability", "Provider"]


class Capability(enum.Enum):
    """Something a provider may support. The contract suite skips what is not declared."""

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


ConfigT = TypeVar("ConfigT", bound=ProviderConfig)


class Provider(abc.ABC, Generic[ConfigT]):
    """One payment provider. Plugins subclass this and register the class.

    A provider is built by :class:`paywire.Paywire` (or directly, in tests) with its config and the
    core's :class:`~paywire.HttpClient`, through which all its HTTP goes. It is safe to share
    between threads once built.
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

    def __init__(self, config: ConfigT, http: HttpClient) -> None:
        self.config = config
        self.http = http

    @classmethod
    def create(cls, config: ConfigT, *, transport: httpx.BaseTransport | None = None) -> Self:
        """Build the provider with the core's HTTP client for ``config``.

        ``transport`` replaces the network (record/replay, tests).
        """
        from paywire._http import HttpClient, RetryPolicy

        http = HttpClient(
            provider=cls.name,
            base_url=config.base_url or cls.default_base_url,
            timeout=config.timeout,
            retry=RetryPolicy(max_attempts=config.max_attempts),
            transport=transport,
            secrets=config.secrets(),
            request_id_header=cls.request_id_header,
        )
        return cls(config, http)

    def __repr__(self) -> str:
        # Never the config's values: they hold credentials (masked, but still nobody's business).
        return f"<{type(self).__name__} {self.name!r}>"

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()

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

        Raises as :meth:`create_checkout_session` does.
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

        Returns a :class:`ChargeResult` for the exact ``amount``. Raises :class:`CardDeclined`,
        :class:`PaymentMethodExpired`, :class:`AuthenticationRequired`, :class:`NotFound`,
        :class:`InvalidRequest`, :class:`InvalidAmount`, :class:`OutcomeUnknown` (retry with the
        same ``idempotency_key``), :class:`ProviderUnavailable`, :class:`RateLimited`.
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

        Raises :class:`AlreadyRefunded` when more than what is left is asked for, :class:`NotFound`,
        :class:`InvalidRequest`, :class:`OutcomeUnknown`, :class:`ProviderUnavailable`.
        """

    @abc.abstractmethod
    def get_payment_method_details(self, payment_method_id: str) -> PaymentMethodInfo:
        """What can be shown about a saved method. Raises :class:`NotFound`."""

    @abc.abstractmethod
    def detach_payment_method(self, payment_method_id: str) -> None:
        """Remove a saved method for good. Raises :class:`NotFound` if it does not exist."""

    @abc.abstractmethod
    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        """Check that ``payload`` (the raw body) was signed by the provider.

        ``headers`` are the request's headers (any case); ``secret`` defaults to the configured
        webhook secret. Raises :class:`InvalidSignature` — and nothing else — on any failure.
        """

    def follow_up(self, event: WebhookEvent) -> None:
        """The provider's own step after a verified event, before the app's handlers see it.

        Some providers need the merchant to act before money moves: PayPal captures an order
        the buyer approved (``CHECKOUT_COMPLETED``), and the capture's own webhook then reports
        ``PAYMENT_SUCCEEDED``. :class:`~paywire.webhooks.WebhookProcessor` calls this for every
        event it processes, so apps need no provider-specific code. It must be idempotent (a
        redelivered event runs it again); raising leaves the event unprocessed, as a failing
        handler does. The default does nothing.
        """
        return

    @abc.abstractmethod
    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        """Normalize a verified, parsed webhook body. Raises :class:`UnknownEvent` for event types
        this provider does not map (and for payloads that are not an event)."""
