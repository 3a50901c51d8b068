"""A tiny provider for the webhook tests ("acme": hex HMAC-SHA256 of the raw body), a clock the
tests move by hand, and helpers to build signed deliveries.

Importable by name (pytest puts this folder on ``sys.path``), so that processes started with
``spawn`` can use it too.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import attrs

from paywire import (
    ISO_RULES,
    Capabilities,
    Capability,
    ChargeResult,
    CheckoutSession,
    Customer,
    EventType,
    Invoice,
    Money,
    PaymentMethodInfo,
    Provider,
    ProviderConfig,
    RefundResult,
    SavedPaymentMethod,
    Secret,
    SetupSession,
    UnknownEvent,
    WebhookEvent,
)
from paywire.plugin import (
    get_header,
    hmac_sha256_hex,
    hookimpl,
    verify_hmac_sha256_hex,
)
from paywire.webhooks import EventStore

SECRET = "acme-webhook-secret-0123456789"
SIGNATURE_HEADER = "X-Acme-Signature"

#: Acme's event names → normalized types. Anything else is an unknown event.
EVENT_TYPES = {
    "payment.captured": EventType.PAYMENT_SUCCEEDED,
    "payment.failed": EventType.PAYMENT_FAILED,
    "refund.processed": EventType.REFUND_SUCCEEDED,
}


class AcmeProvider(Provider[ProviderConfig]):
    """Only the webhook half of a provider; the rest is not part of these tests."""

    name = "acme"
    capabilities: ClassVar[Capabilities] = Capabilities(frozenset({Capability.WEBHOOKS}))
    config_class = ProviderConfig
    currency_rules = ISO_RULES
    default_base_url = "https://acme.invalid"

    def available(self) -> bool:
        return self.config.enabled and self.config.webhook_secret is not None

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        configured = self.config.webhook_secret
        key = secret if secret is not None else (configured.reveal() if configured else None)
        verify_hmac_sha256_hex(payload, get_header(headers, SIGNATURE_HEADER), key)

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        raw_type = payload.get("type")
        event_id = payload.get("id")
        if not isinstance(raw_type, str) or raw_type not in EVENT_TYPES:
            raise UnknownEvent(
                f"acme event type {raw_type!r} is not mapped",
                provider=self.name,
                event_type=raw_type if isinstance(raw_type, str) else None,
            )
        if not isinstance(event_id, str) or not event_id:
            raise UnknownEvent("acme event without an id", provider=self.name, event_type=raw_type)
        amount = payload.get("amount")
        return WebhookEvent(
            provider=self.name,
            id=event_id,
            type=EVENT_TYPES[raw_type],
            raw_type=raw_type,
            invoice_id=payload.get("invoice"),
            transaction_id=payload.get("transaction"),
            refund_id=payload.get("refund"),
            amount=Money(Decimal(amount), payload.get("currency", "EUR")) if amount else None,
            data=dict(payload),
        )

    def _not_here(self) -> NotImplementedError:
        return NotImplementedError("the acme test provider only receives webhooks")

    def create_checkout_session(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        raise self._not_here()

    def create_setup_session(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        raise self._not_here()

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
        raise self._not_here()

    def create_refund(
        self,
        transaction_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        raise self._not_here()

    def get_payment_method_details(
        self, payment_method: SavedPaymentMethod | str
    ) -> PaymentMethodInfo:
        raise self._not_here()

    def detach_payment_method(self, payment_method: SavedPaymentMethod | str) -> None:
        raise self._not_here()


class AcmePlugin:
    """The plugin object, for tests that go through :class:`paywire.Paywire`."""

    PAYWIRE_API = ">=1.0,<2"

    @hookimpl
    def paywire_register_providers(self, register: Any) -> None:
        register(AcmeProvider)


def make_provider(secret: str = SECRET) -> AcmeProvider:
    """A built acme provider (close it when done)."""
    return AcmeProvider.create(ProviderConfig(webhook_secret=Secret(secret)))


def event_body(event_id: str, raw_type: str = "payment.captured", **fields: Any) -> bytes:
    """An acme event body: compact JSON with its fields in a fixed order."""
    return json.dumps({"id": event_id, "type": raw_type, **fields}).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers acme sends with ``body``."""
    return {SIGNATURE_HEADER: hmac_sha256_hex(secret, body), "Content-Type": "application/json"}


#: What the ``make_store`` fixture returns: builds a store of the kind under test.
StoreFactory = Callable[..., EventStore]


@attrs.define
class ManualClock:
    """Seconds since the epoch, moved by the test."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run_in_fork(child: Callable[[], int]) -> int:
    """Run ``child()`` in a forked process and return its exit code (1 when it raised)."""
    with warnings.catch_warnings():
        # Newer Pythons warn about fork() in a process with threads; these tests want a fork.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            code = child()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
