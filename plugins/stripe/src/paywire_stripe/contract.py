"""The contract-suite harness for Stripe: how the suite builds the provider and its scenarios.

Only tests (and ``paywire certify stripe``) import this module. Scenario data comes from
Stripe's documented test payment methods (``pm_card_visa`` …), which the sandbox's Stripe fake
and Stripe's own test mode both understand; hosted pages are completed through the sandbox's
control API (``/_sandbox/stripe/...``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import paywire
from paywire import EventType
from paywire_contract import Harness, MethodKind, ScenarioContext
from paywire_stripe._config import StripeConfig
from paywire_stripe._provider import StripeProvider

if TYPE_CHECKING:
    import httpx

__all__ = ["StripeHarness"]

#: Fixed, recognisable test credentials: what sandbox and replay runs use (and what fixture
#: redaction looks for).
SANDBOX_API_KEY = "sk_test_paywirecontract0000000000"
SANDBOX_WEBHOOK_SECRET = "whsec_paywirecontract0000000000"  # noqa: S105 - sandbox-only value

#: Environment variables for a run against Stripe's own test mode (never in CI).
LIVE_API_KEY_ENV = "PAYWIRE_STRIPE_TEST_API_KEY"
LIVE_WEBHOOK_SECRET_ENV = "PAYWIRE_STRIPE_TEST_WEBHOOK_SECRET"  # noqa: S105 - a variable name

# Stripe's test PaymentMethods for each scenario. An expired card cannot be attached to a
# customer (Stripe checks it when attaching), so that one is used unattached, as a test token.
_ATTACHED = {
    "succeeds": "pm_card_visa",
    "declines": "pm_card_chargeCustomerFail",
    "needs_authentication": "pm_card_authenticationRequired",
}
_UNATTACHED = {"expired": "pm_card_chargeDeclinedExpiredCard"}


def _provider(ctx: ScenarioContext) -> StripeProvider:
    provider = ctx.provider
    if not isinstance(provider, StripeProvider):
        raise TypeError(f"the Stripe harness needs a StripeProvider, got {provider!r}")
    return provider


class StripeHarness(Harness):
    """Stripe's answers to the contract suite."""

    provider_name: ClassVar[str] = "stripe"

    # -- building the provider ---------------------------------------------------------------

    def sandbox_settings(self, base_url: str) -> dict[str, Any]:
        """Test keys and the sandbox's Stripe prefix."""
        return {
            "api_key": SANDBOX_API_KEY,
            "webhook_secret": SANDBOX_WEBHOOK_SECRET,
            "base_url": base_url.rstrip("/") + "/stripe",
        }

    def live_settings(self, environ: Mapping[str, str]) -> dict[str, Any] | None:
        """Stripe test mode, when ``PAYWIRE_STRIPE_TEST_API_KEY`` holds a ``sk_test_`` key.

        A live key is refused: the suite charges cards.
        """
        key = environ.get(LIVE_API_KEY_ENV)
        if not key or not key.startswith(("sk_test_", "rk_test_")):
            return None
        settings: dict[str, Any] = {"api_key": key}
        secret = environ.get(LIVE_WEBHOOK_SECRET_ENV)
        if secret:
            settings["webhook_secret"] = secret
        return settings

    def build_provider(
        self, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> StripeProvider:
        """``StripeProvider.create`` from ``settings`` alone (the environment is ignored)."""
        config = paywire.load_config(StripeConfig, "stripe", environ={}, **settings)
        return StripeProvider.create(config, transport=transport)

    # -- scenario data -----------------------------------------------------------------------

    def saved_method(self, ctx: ScenarioContext, kind: MethodKind) -> paywire.SavedPaymentMethod:
        """A test card attached to a new customer (or, for ``expired``, an unattached token)."""
        if kind in _UNATTACHED:
            return paywire.SavedPaymentMethod("stripe", _UNATTACHED[kind])
        client = _provider(ctx).client
        customer = client.v1.customers.create(
            {"email": "saved-method@example.com", "metadata": {"scenario": kind}}
        )
        method = client.v1.payment_methods.attach(_ATTACHED[kind], {"customer": customer.id})
        return paywire.SavedPaymentMethod("stripe", method.id, customer.id)

    def charge_currency(self) -> str:
        """US dollars."""
        return "USD"

    def zero_decimal_currency(self) -> str | None:
        """Japanese yen."""
        return "JPY"

    def three_decimal_currency(self) -> str | None:
        """Kuwaiti dinar (Stripe wants the last of the three digits to be 0)."""
        return "KWD"

    # -- hosted pages ------------------------------------------------------------------------

    def complete_setup(
        self, ctx: ScenarioContext, session: paywire.SetupSession
    ) -> paywire.SavedPaymentMethod:
        """Save ``4242…`` on the setup page, then read the card from the SetupIntent."""
        setup_intent = self.complete_hosted_page(ctx, session.id).get("setup_intent")
        if not isinstance(setup_intent, str):
            raise AssertionError("the completed setup session has no SetupIntent")
        intent = _provider(ctx).client.v1.setup_intents.retrieve(setup_intent)
        method = intent.payment_method
        method_id = method if isinstance(method, str) or method is None else method.id
        if method_id is None:
            raise AssertionError(f"SetupIntent {setup_intent} saved no payment method")
        customer = intent.customer
        customer_id = customer if isinstance(customer, str) or customer is None else customer.id
        return paywire.SavedPaymentMethod("stripe", method_id, customer_id or session.customer_id)

    # -- webhooks ----------------------------------------------------------------------------

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        """``Stripe-Signature: t=…,v1=…``, computed here rather than with the plugin's helper so a
        bug in one cannot hide behind the same bug in the other."""
        signed = str(timestamp).encode() + b"." + payload
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={timestamp},v1={digest}"}

    def webhook_samples(self) -> Sequence[tuple[Mapping[str, Any], EventType]]:
        """Every Stripe event type the plugin maps, shaped as Stripe sends them."""
        from paywire_stripe._samples import webhook_samples

        return webhook_samples()

    def unknown_event(self) -> Mapping[str, Any]:
        """``customer.created``: well formed, and nothing paywire normalizes."""
        from paywire_stripe._samples import event

        return event(
            "customer.created",
            {"id": "cus_contract0001", "object": "customer", "email": "buyer@example.com"},
        )
