"""The contract-suite harness for Stripe: how the suite builds the provider and its scenarios.

Only tests (and ``paywire certify stripe``) import this module. Scenario data comes from
Stripe's documented test payment methods (``pm_card_visa`` …), which the sandbox's Stripe fake
and Stripe's own test mode both understand; hosted pages are completed through the sandbox's
control API (``/_sandbox/stripe/...``).
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import paywire
from paywire import EventType
from paywire.plugin import Call, Operation, new_idempotency_key
from paywire_contract import Harness, MethodKind, ScenarioContext
from paywire_stripe._config import StripeConfig
from paywire_stripe._provider import StripeProvider
from paywire_stripe._requests import attach_params, customer_params

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


def _saved_card(test_id: str, kind: str) -> Operation[paywire.SavedPaymentMethod]:
    """A new customer with Stripe's test card ``test_id`` attached, as a completed setup leaves
    it: sent through the provider's kernel (so recorded and replayed like its own calls)."""
    app_customer = paywire.Customer(
        id=f"scenario-{kind}", email="saved-method@example.com", metadata={"scenario": kind}
    )
    customer = yield Call.post(
        "/v1/customers", form=customer_params(app_customer), key=new_idempotency_key()
    )
    customer_id = str(customer.data["id"])
    method = yield Call.post(
        f"/v1/payment_methods/{test_id}/attach",
        form=attach_params(customer_id),
        key=new_idempotency_key(),
    )
    return paywire.SavedPaymentMethod("stripe", str(method.data["id"]), customer_id)


class StripeHarness(Harness):
    """Stripe's answers to the contract suite."""

    provider_name: ClassVar[str] = "stripe"
    #: A hosted checkout sends checkout.session.completed and payment_intent.succeeded.
    checkout_events: ClassVar[Literal["separate", "single"]] = "separate"
    #: Card charges and refunds settle when they are made.
    charge_settlement: ClassVar[Literal["immediate", "asynchronous"]] = "immediate"
    refund_settlement: ClassVar[Literal["immediate", "asynchronous"]] = "immediate"
    #: ``Stripe-Signature`` signs a timestamp: a stale one is refused.
    signature_timestamp: ClassVar[bool] = True
    #: Every decline carries Stripe's code (``decline_code`` or ``code``).
    error_codes: ClassVar[bool] = True

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
        return _provider(ctx).run(_saved_card(_ATTACHED[kind], kind))

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
        """Save ``4242…`` on the setup page, then ask the provider, as an app would when the
        customer comes back: ``complete_setup`` with the query of the success URL."""
        redirect = self.complete_hosted_page(ctx, session.id).get("redirect_url")
        query = urllib.parse.urlsplit(redirect if isinstance(redirect, str) else "").query
        params = dict(urllib.parse.parse_qsl(query))
        return ctx.provider.complete_setup(session, params=params)

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
