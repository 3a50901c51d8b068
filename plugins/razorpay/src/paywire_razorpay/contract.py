"""The contract-suite harness for Razorpay: how the suite builds the provider and its scenarios.

Only tests (and ``paywire certify razorpay``) import this module. Saved cards come from the
sandbox's control route ``POST /_sandbox/razorpay/tokens`` (a customer and a confirmed recurring
token for a test card, the way a completed registration leaves them); hosted pages are completed
with ``POST /_sandbox/razorpay/checkout/{id}/complete``. Test cards (the sandbox's table):
``4111 1111 1111 1111`` succeeds, ``4000 0000 0000 0002`` is declined (``card_declined``),
``4000 0000 0000 0069`` has expired (``card_expired``) and ``4000 0027 6000 3184`` fails
authentication (``authentication_failed``).

Razorpay's shape, declared for the suite: recurring charges are debited later (after the
pre-debit notification) and refunds are processed later, so both may be pending and settle by
webhook; signatures carry no timestamp (a replayed body is caught by its event id); recurring
card payments are INR only, so the harness names no zero- or three-decimal charge currency.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import paywire
from paywire import EventType
from paywire_contract import Harness, MethodKind, ScenarioContext
from paywire_razorpay._config import RazorpayConfig
from paywire_razorpay._provider import RazorpayProvider

if TYPE_CHECKING:
    import httpx

__all__ = ["RazorpayHarness"]

#: Fixed, recognisable test credentials: what sandbox and replay runs use (and what fixture
#: redaction looks for). The key id is credential-shaped on purpose: nothing may record it.
SANDBOX_KEY_ID: Final = "rzp_test_PaywireContract01"
SANDBOX_KEY_SECRET: Final = "paywire-contract-key-secret-0001"  # noqa: S105 - sandbox-only
SANDBOX_WEBHOOK_SECRET: Final = "paywire-contract-webhook-secret-01"  # noqa: S105 - sandbox-only

#: Environment variables for a run against Razorpay's own test mode (never in CI).
LIVE_KEY_ID_ENV: Final = "PAYWIRE_RAZORPAY_TEST_KEY_ID"
LIVE_KEY_SECRET_ENV: Final = "PAYWIRE_RAZORPAY_TEST_KEY_SECRET"  # noqa: S105 - a variable name
LIVE_WEBHOOK_SECRET_ENV: Final = "PAYWIRE_RAZORPAY_TEST_WEBHOOK_SECRET"  # noqa: S105 - a name

_CARDS: Final[dict[str, str]] = {
    "succeeds": "4111111111111111",
    "declines": "4000000000000002",
    "expired": "4000000000000069",
    "needs_authentication": "4000002760003184",
}


def _id_of(obj: object, what: str) -> str:
    ident = obj.get("id") if isinstance(obj, dict) else None
    if not isinstance(ident, str) or not ident:
        raise AssertionError(f"the sandbox answered a {what} without an id")
    return ident


def _as_stored(method: paywire.SavedPaymentMethod) -> paywire.SavedPaymentMethod:
    """``method`` in the form the suite can hand back by its id alone.

    The suite on this branch passes ``method.id`` (a string) to get/detach, and a Razorpay
    token is only reachable through its customer; so the harness hands out the old
    ``"cust_…/token_…"`` form, which the plugin keeps accepting for ids apps stored. Once the
    suite passes the :class:`~paywire.SavedPaymentMethod` itself, return ``method`` unchanged.
    """
    if method.customer_id is None or "/" in method.id:
        return method
    return paywire.SavedPaymentMethod(
        method.provider, f"{method.customer_id}/{method.id}", method.customer_id
    )


class RazorpayHarness(Harness):
    """Razorpay's answers to the contract suite."""

    provider_name: ClassVar[str] = "razorpay"
    #: A charge's order receipt stands for its idempotency key, which is new on every run unless
    #: the test names one.
    volatile_fields: ClassVar[frozenset[str]] = frozenset({"receipt"})
    #: payment_link.paid, then payment.captured / order.paid for the same payment.
    checkout_events: ClassVar[Literal["separate", "single"]] = "separate"
    #: A recurring payment is debited 36 h after the pre-debit notification.
    charge_settlement: ClassVar[Literal["immediate", "asynchronous"]] = "asynchronous"
    #: Refunds are pending until processed (refund.processed / refund.failed).
    refund_settlement: ClassVar[Literal["immediate", "asynchronous"]] = "asynchronous"
    #: X-Razorpay-Signature is an HMAC of the body alone.
    signature_timestamp: ClassVar[bool] = False
    error_codes: ClassVar[bool] = True

    # -- building the provider ---------------------------------------------------------------

    def sandbox_settings(self, base_url: str) -> dict[str, Any]:
        """Test keys and the sandbox's Razorpay prefix."""
        return {
            "key_id": SANDBOX_KEY_ID,
            "key_secret": SANDBOX_KEY_SECRET,
            "webhook_secret": SANDBOX_WEBHOOK_SECRET,
            "base_url": base_url.rstrip("/") + "/razorpay",
        }

    def live_settings(self, environ: Mapping[str, str]) -> dict[str, Any] | None:
        """Razorpay test mode, when ``PAYWIRE_RAZORPAY_TEST_KEY_ID`` holds an ``rzp_test_`` key
        and its secret is set. A live key is refused: the suite charges cards."""
        key_id = environ.get(LIVE_KEY_ID_ENV)
        secret = environ.get(LIVE_KEY_SECRET_ENV)
        if not key_id or not key_id.startswith("rzp_test_") or not secret:
            return None
        settings: dict[str, Any] = {"key_id": key_id, "key_secret": secret}
        webhook_secret = environ.get(LIVE_WEBHOOK_SECRET_ENV)
        if webhook_secret:
            settings["webhook_secret"] = webhook_secret
        return settings

    def build_provider(
        self, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> RazorpayProvider:
        """``RazorpayProvider.create`` from ``settings`` alone (the environment is ignored)."""
        config = paywire.load_config(RazorpayConfig, "razorpay", environ={}, **settings)
        return RazorpayProvider.create(config, transport=transport)

    # -- scenario data -----------------------------------------------------------------------

    def settle(self, ctx: ScenarioContext) -> None:
        """Razorpay debits recurring payments and processes refunds later: the sandbox's
        Razorpay fake settles what is pending now (``POST /_sandbox/razorpay/settle``), without
        moving the clock every fake shares."""
        ctx.control_json("POST", "/razorpay/settle")

    def customer(self) -> paywire.Customer:
        """A customer Razorpay can save a card for: a valid name, an email and a phone."""
        return paywire.Customer(
            id="contract-customer-1",
            email="buyer@example.com",
            name="Contract Buyer",
            phone="+919876543210",
        )

    def saved_method(self, ctx: ScenarioContext, kind: MethodKind) -> paywire.SavedPaymentMethod:
        """A customer (with the email and phone recurring payments need) and a confirmed
        recurring token for the test card of ``kind``."""
        body = ctx.control_json(
            "POST",
            "/razorpay/tokens",
            {
                "card": _CARDS[kind],
                "customer": {
                    "name": "Saved Method",
                    "email": f"saved-{kind.replace('_', '-')}@example.com",
                    # One customer per kind: the sandbox matches customers by email or contact.
                    "contact": f"+9198765{sorted(_CARDS).index(kind):05d}",
                },
            },
        )
        customer_id = _id_of(body.get("customer"), "customer")
        token_id = _id_of(body.get("token"), "token")
        return _as_stored(paywire.SavedPaymentMethod("razorpay", token_id, customer_id))

    def charges_made(self, ctx: ScenarioContext, method: paywire.SavedPaymentMethod) -> int | None:
        """How many payments that did not fail Razorpay holds on ``method``'s token (asked with
        ``GET /v1/payments`` through the provider's client, so it is recorded and replayed)."""
        provider = ctx.provider
        if not isinstance(provider, RazorpayProvider):
            return None
        token = method.id.rpartition("/")[2]
        made, skip = 0, 0
        while True:
            page = provider.http.request(
                "GET",
                "/v1/payments",
                params={"count": 100, "skip": skip},
                headers=provider.auth_headers(),
            ).json()
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                return None
            made += sum(
                1
                for p in items
                if isinstance(p, dict)
                and p.get("token_id") == token
                and p.get("status") != "failed"
            )
            if len(items) < 100:
                return made
            skip += 100

    def charge_currency(self) -> str:
        """Indian rupees: recurring card payments take nothing else."""
        return "INR"

    def zero_decimal_currency(self) -> str | None:
        """None: Razorpay's recurring payments are INR only (JPY is refused before sending)."""
        return None

    def three_decimal_currency(self) -> str | None:
        """None: Razorpay's recurring payments are INR only (KWD is refused before sending)."""
        return None

    # -- hosted pages ------------------------------------------------------------------------

    def complete_setup(
        self, ctx: ScenarioContext, session: paywire.SetupSession
    ) -> paywire.SavedPaymentMethod:
        """Pay the Registration Link with ``4111…``, then ask the provider for the saved card
        (registration links have no return URL, so there are no query parameters)."""
        self.complete_hosted_page(ctx, session.id)
        return _as_stored(ctx.provider.complete_setup(session))

    # -- webhooks ----------------------------------------------------------------------------

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        """``X-Razorpay-Signature``: hex HMAC-SHA256 of the body. Razorpay signs no timestamp,
        so ``timestamp`` changes nothing. Computed here rather than with the plugin's helper so
        a bug in one cannot hide behind the same bug in the other."""
        digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        return {"X-Razorpay-Signature": digest}

    def webhook_samples(self) -> Sequence[tuple[Mapping[str, Any], EventType]]:
        """Every Razorpay event the plugin maps, shaped as Razorpay sends them."""
        from paywire_razorpay._samples import webhook_samples

        return webhook_samples()

    def unknown_event(self) -> Mapping[str, Any]:
        """``virtual_account.created``: a well-formed Razorpay event paywire does not normalize."""
        from paywire_razorpay._samples import event

        return event(
            "virtual_account.created",
            {
                "virtual_account": {
                    "id": "va_Ozu4vW5xY6zA7b",
                    "entity": "virtual_account",
                    "status": "active",
                    "customer_id": "cust_Ozq9cLhvD1xd8M",
                }
            },
        )
