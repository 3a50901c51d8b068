"""What a provider plugin tells the contract suite: the :class:`Harness`, and the
:class:`ScenarioContext` the suite hands to the harness's scenario methods.

A harness describes its provider's *shape* in a few class attributes (harness API v2; every one
has a default equal to what the first suite assumed, so a harness written for it keeps working):

* :attr:`Harness.checkout_events` — ``"separate"``: a hosted checkout yields a checkout-completed
  and a payment-succeeded event; ``"single"``: one status event, normalized to payment-succeeded.
* :attr:`Harness.charge_settlement` / :attr:`Harness.refund_settlement` — ``"asynchronous"``: a
  charge (refund) may come back pending and is settled later by a webhook
  (:meth:`Harness.settle` makes the sandbox settle it).
* :attr:`Harness.signature_timestamp` — ``False``: the signature carries no timestamp, so an
  old delivery is caught by its event id instead.
* :attr:`Harness.error_codes` — ``False``: declines carry no machine-readable code.
* :attr:`Harness.declared_exceptions` — checks the provider is known to fail, each with its
  reason: run as strict ``xfail`` by the plugin's own tests and by ``paywire certify`` alike.

The suite adapts what it expects to these declarations; it never skips what an app relies on.
How webhooks are authenticated (``"signature"`` or ``"fetch"``) is the provider class's own
declaration (:attr:`paywire.Provider.webhook_authentication`).

Other differences from the shared brief, and why:

* :class:`ScenarioContext` has :meth:`ScenarioContext.control`: the sandbox's control API
  (``/_sandbox/...``) *through the suite's recorder*, so scenarios built with it replay without a
  sandbox; and :attr:`ScenarioContext.ops`: the provider's operations on the path the check runs
  on (sync, or the ``_async`` twins on the suite's event loop).
* ``live_settings``, ``zero_decimal_currency``, ``three_decimal_currency``, ``customer``,
  ``complete_checkout``, ``complete_setup``, ``register_webhook``, ``settle``,
  ``charges_made`` and the rotation hooks have defaults, so a minimal harness stays small.
* ``volatile_fields`` (default: none) names request fields that replay must not match on.
* ``ScenarioContext.control`` raises :class:`SandboxUnavailable` in live test mode; the suite
  skips a test whose scenario needs the sandbox, with that reason.
"""

from __future__ import annotations

import abc
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import attrs
import httpx

import paywire
from paywire_contract._paths import Operations

if TYPE_CHECKING:
    from paywire_sandbox import RunningSandbox

__all__ = [
    "DECLARATIONS",
    "CheckoutEvents",
    "Harness",
    "MethodKind",
    "Mode",
    "SandboxUnavailable",
    "ScenarioContext",
    "Settlement",
    "WebhookSample",
]

#: Which saved payment method a scenario needs: one that charges fine, one whose charge is
#: declined, one that has expired, and one whose charge needs the customer to authenticate.
MethodKind = Literal["succeeds", "declines", "expired", "needs_authentication"]

#: How the suite talks to the provider: ``sandbox`` (live HTTP to the local sandbox), ``replay``
#: (recorded fixtures, no network), ``record`` (sandbox or test mode, writing fixtures), ``live``
#: (the provider's own test mode).
Mode = Literal["sandbox", "replay", "record", "live"]

#: What a completed hosted checkout yields: ``"separate"`` checkout-completed and
#: payment-succeeded events, or a ``"single"`` status event (normalized to payment-succeeded).
CheckoutEvents = Literal["separate", "single"]

#: When a charge or refund is final: in the answer (``"immediate"``), or later, by a webhook
#: (``"asynchronous"``).
Settlement = Literal["immediate", "asynchronous"]

#: The shape declarations, with the values each may take (``webhook_authentication`` is the
#: provider class's; the others are the harness's).
DECLARATIONS: Final[Mapping[str, tuple[object, ...]]] = {
    "checkout_events": ("separate", "single"),
    "charge_settlement": ("immediate", "asynchronous"),
    "refund_settlement": ("immediate", "asynchronous"),
    "signature_timestamp": (True, False),
    "error_codes": (True, False),
    "webhook_authentication": ("signature", "fetch"),
}

ControlCall = Callable[[str, str, Any], httpx.Response]

#: What the default :meth:`Harness.settle` advances the sandbox clock by (48 hours: every
#: sandbox fake settles what is pending by then).
SETTLE_SECONDS: Final = 172_800

# The default previous webhook secret for the rotation check: only ever used to sign test bodies.
_PREVIOUS_SECRET: Final = "paywire-contract-previous-webhook-secret-01"  # noqa: S105


class SandboxUnavailable(RuntimeError):
    """A scenario needs the sandbox's control API, and this run has none (live test mode).

    The suite skips the test with this message.
    """


def _no_control(method: str, path: str, json: Any = None) -> httpx.Response:
    raise SandboxUnavailable(
        f"{method} /_sandbox{path} needs the sandbox's control API, which live test mode lacks"
    )


def _no_http(request: httpx.Request) -> httpx.Response:
    raise RuntimeError("Harness.secrets builds a provider only to read its config")


@attrs.frozen
class WebhookSample:
    """A webhook exactly as the provider delivers it: the raw ``body`` and the ``headers`` it
    comes with (besides the signature), for providers whose bodies are not JSON or that put the
    event id in a header. :meth:`Harness.webhook_samples` and :meth:`Harness.unknown_event` may
    return these instead of JSON payloads."""

    body: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.define
class ScenarioContext:
    """What a harness's scenario methods get from the suite.

    Attributes:
        mode: ``"sandbox"``, ``"replay"``, ``"record"`` or ``"live"``.
        provider: the provider under test, built for this mode (its HTTP is recorded or replayed).
        sandbox: the running sandbox; ``None`` in ``replay`` and ``live`` modes.
        settings: the settings the provider was built from (they hold secrets: never log them).
        path: ``"sync"`` or ``"async"``: which of the provider's operations the check runs.
    """

    mode: str
    provider: paywire.Provider[Any]
    sandbox: RunningSandbox | None
    settings: Mapping[str, Any] = attrs.field(repr=False)  # holds secrets
    _control: ControlCall = attrs.field(default=_no_control, alias="control", repr=False)
    path: str = "sync"
    _ops: Operations | None = attrs.field(default=None, alias="ops", repr=False)

    def control(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """Call the sandbox control API: ``path`` is below ``/_sandbox``
        (``"/stripe/checkout/cs_123/complete"``). Returns the raw response (no raise on errors).

        In ``record`` mode the call is written to the test's fixture and in ``replay`` mode it is
        answered from it, so scenarios built with it work without a sandbox.
        """
        if not path.startswith("/"):
            path = "/" + path
        return self._control(method, path, json)

    def control_json(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        """:meth:`control`, for a call that must succeed and answer a JSON object: returns the
        object; raises :class:`AssertionError` (naming the call, the status and the start of the
        body) when the sandbox answers an error or anything but an object."""
        response = self.control(method, path, json)
        what = f"sandbox control {method} {path}"
        if not response.is_success:
            raise AssertionError(f"{what} answered {response.status_code}: {response.text[:300]}")
        body = response.json()
        if not isinstance(body, dict):
            raise AssertionError(f"{what} did not answer a JSON object")
        return body

    @property
    def ops(self) -> Operations:
        """The provider's operations on this check's path (the sync methods, or their ``_async``
        twins run on the suite's event loop): use it where a scenario calls the provider as an
        app would, so that both paths are exercised."""
        if self._ops is None:
            self._ops = Operations(self.provider)
        return self._ops

    @property
    def name(self) -> str:
        """The provider's name (``"stripe"``)."""
        return self.provider.name


def redirect_params(url: str) -> dict[str, str]:
    """The query parameters of the URL a hosted page sent the customer back to."""
    query = urllib.parse.urlsplit(url).query
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


class Harness(abc.ABC):
    """What a provider plugin tells the suite. One subclass per provider, in the plugin's
    ``<import name>/contract.py`` (only tests import it; it may import ``paywire_sandbox``).

    A plugin's tests then do::

        class TestStripeContract(ProviderContractSuite):
            harness = StripeHarness()

    and declare the entry point ``[project.entry-points.paywire_contract] stripe =
    "paywire_stripe.contract:StripeHarness"`` so that ``paywire certify stripe`` finds it.
    """

    #: The provider's name, as registered with paywire (``"stripe"``).
    provider_name: ClassVar[str]
    #: Request fields (JSON keys, form or query names, at any depth) whose values change from
    #: run to run — a timestamp such as Razorpay's ``expire_by`` — and that replay ignores when
    #: matching requests to recordings.
    volatile_fields: ClassVar[frozenset[str]] = frozenset()

    # -- the provider's shape (see the module documentation) ----------------------------------

    #: What a completed hosted checkout yields.
    checkout_events: ClassVar[CheckoutEvents] = "separate"
    #: Whether a charge may come back pending and settle later by webhook.
    charge_settlement: ClassVar[Settlement] = "immediate"
    #: Whether a refund may come back pending and settle later by webhook.
    refund_settlement: ClassVar[Settlement] = "immediate"
    #: Whether the webhook signature covers a timestamp (``False``: replays are caught by event
    #: id instead of by age).
    signature_timestamp: ClassVar[bool] = True
    #: Whether declines carry the provider's own error code (``raw_code``).
    error_codes: ClassVar[bool] = True
    #: Standard checks this provider is known to fail, each with the reason (``{"test_x":
    #: "why"}``; ``"test_x[async]"`` names one path). They run as strict ``xfail``: a declared
    #: exception that starts passing fails, so the declaration is removed.
    declared_exceptions: ClassVar[Mapping[str, str]] = {}

    def declarations(self, provider_class: type[paywire.Provider[Any]]) -> dict[str, object]:
        """The shape declarations in force for ``provider_class`` (for reports)."""
        return {
            "checkout_events": self.checkout_events,
            "charge_settlement": self.charge_settlement,
            "refund_settlement": self.refund_settlement,
            "signature_timestamp": self.signature_timestamp,
            "error_codes": self.error_codes,
            "webhook_authentication": provider_class.webhook_authentication,
        }

    # -- building the provider ---------------------------------------------------------------

    @abc.abstractmethod
    def sandbox_settings(self, base_url: str) -> dict[str, Any]:
        """Settings (as for :func:`paywire.load_config` overrides) to run against the sandbox at
        ``base_url`` (the sandbox root, e.g. ``http://127.0.0.1:PORT``): keys, webhook secret,
        ``base_url`` (with the provider's prefix, e.g. ``base_url + "/stripe"``).

        Use fixed, recognisable test values for the keys: they are what replay mode runs with.
        """

    def live_settings(self, environ: Mapping[str, str]) -> dict[str, Any] | None:
        """Settings for the provider's own test mode from environment variables, or ``None``
        when the variables are not set (live mode is then skipped). Default: ``None``."""
        return None

    @abc.abstractmethod
    def build_provider(
        self, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> paywire.Provider[Any]:
        """Build the provider (normally
        ``ProviderClass.create(load_config(ConfigClass, name, environ={}, **settings),
        transport=transport)``). ``transport`` must be passed through: it is how the suite
        records and replays (it serves the async path too)."""

    def secrets(self, settings: Mapping[str, Any]) -> list[str]:
        """Every secret value in ``settings`` (for the leak checks and fixture redaction).

        Default: the :class:`paywire.Secret` fields of the config the provider is built from
        (:meth:`paywire.ProviderConfig.secrets`), revealed — so a secret setting a plugin adds
        later is covered without a list to keep in step.
        """
        # No HTTP is made: the transport only spares building a network client.
        provider = self.build_provider(settings, transport=httpx.MockTransport(_no_http))
        try:
            return [secret.reveal() for secret in provider.config.secrets() if secret]
        finally:
            provider.close()

    # -- scenario data -----------------------------------------------------------------------

    def customer(self) -> paywire.Customer:
        """A customer for checkout and setup sessions (the app's view of them). Default: one the
        provider does not know yet (no ``provider_customer_id``), so the provider creates it."""
        return paywire.Customer(
            id="contract-customer-1", email="buyer@example.com", name="Contract Buyer"
        )

    @abc.abstractmethod
    def saved_method(self, ctx: ScenarioContext, kind: MethodKind) -> paywire.SavedPaymentMethod:
        """A saved payment method that behaves as ``kind`` says when charged, created for this
        test (through ``ctx.provider`` and/or ``ctx.control``)."""

    @abc.abstractmethod
    def charge_currency(self) -> str:
        """The currency the happy-path charges use (``"USD"``)."""

    def zero_decimal_currency(self) -> str | None:
        """A zero-decimal currency the provider charges in (``"JPY"``), or ``None``."""
        return None

    def three_decimal_currency(self) -> str | None:
        """A three-decimal currency the provider charges in (``"KWD"``), or ``None``."""
        return None

    def charges_made(self, ctx: ScenarioContext, method: paywire.SavedPaymentMethod) -> int | None:
        """How many charges the provider holds against ``method`` (asked of the sandbox or of
        the provider's own API), or ``None`` when the harness cannot tell. With a count, the
        double-fault check sees a second charge directly; without one it sees it only when
        charging again with the same key gives another transaction. Default: ``None``."""
        return None

    # -- hosted pages ------------------------------------------------------------------------

    def complete_hosted_page(
        self, ctx: ScenarioContext, session_id: str, outcome: str = "success"
    ) -> dict[str, Any]:
        """Complete the sandbox's hosted page for ``session_id`` (a checkout or a setup session)
        as the customer would, with the test card or buyer for ``outcome``; returns the
        sandbox's answer (``redirect_url`` and whatever the provider's fake adds, such as the
        saved method). Calls ``POST /_sandbox/{provider_name}/checkout/{session_id}/complete``.
        """
        return ctx.control_json(
            "POST", f"/{self.provider_name}/checkout/{session_id}/complete", {"outcome": outcome}
        )

    def complete_checkout(
        self, ctx: ScenarioContext, session: paywire.CheckoutSession, outcome: str = "success"
    ) -> str:
        """Complete the hosted checkout as the customer would; returns the URL the customer is
        sent back to (``""`` when the sandbox names none, e.g. a failed payment that leaves the
        page payable). Default: :meth:`complete_hosted_page`. What the provider needs after the
        customer is back (PayPal captures the approved order) is its ``follow_up``'s business,
        which the suite runs on the webhooks as an app's processor does."""
        redirect = self.complete_hosted_page(ctx, session.id, outcome).get("redirect_url")
        return redirect if isinstance(redirect, str) else ""

    def complete_setup(
        self, ctx: ScenarioContext, session: paywire.SetupSession
    ) -> paywire.SavedPaymentMethod:
        """Complete the hosted setup page with a card that succeeds and return the saved method.

        Default: as an app does — the customer completes the page (:meth:`complete_hosted_page`)
        and comes back to the success URL, then ``provider.complete_setup(session,
        params=<that URL's query>)`` (on the check's path, through ``ctx.ops``)."""
        answer = self.complete_hosted_page(ctx, session.id)
        redirect = answer.get("redirect_url")
        params = redirect_params(redirect) if isinstance(redirect, str) else {}
        return ctx.ops.complete_setup(session, params=params)

    def settle(self, ctx: ScenarioContext) -> None:
        """Make what is pending settle (charges and refunds of an ``"asynchronous"`` provider).
        Default: advance the sandbox clock by 48 hours (``POST /_sandbox/clock/advance``)."""
        ctx.control_json("POST", "/clock/advance", {"seconds": SETTLE_SECONDS})

    # -- webhooks ----------------------------------------------------------------------------

    def register_webhook(self, ctx: ScenarioContext, url: str, secret: str) -> None:
        """Make the provider (the sandbox) send this test's events to ``url``, signed with
        ``secret``. Default: ``POST /_sandbox/webhooks/endpoints`` for :attr:`provider_name`,
        with :meth:`webhook_extra`."""
        ctx.control_json(
            "POST",
            "/webhooks/endpoints",
            {
                "provider": self.provider_name,
                "url": url,
                "secret": secret,
                "extra": self.webhook_extra(ctx),
            },
        )

    def webhook_extra(self, ctx: ScenarioContext) -> dict[str, str]:
        """Provider-specific data the sandbox signs this test's deliveries with, fixed at
        registration (PayPal: ``{"webhook_id": …}``). Default: none."""
        return {}

    @abc.abstractmethod
    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        """Headers that sign ``payload`` as the provider would (for the tampering tests). A
        provider whose notifications are not signed returns ``{}``."""

    @abc.abstractmethod
    def webhook_samples(
        self,
    ) -> Sequence[tuple[Mapping[str, Any] | WebhookSample, paywire.EventType]]:
        """One delivery for every event type the provider documents for these flows — a JSON
        payload, or a :class:`WebhookSample` (raw body and headers) — with the normalized type
        it must map to."""

    @abc.abstractmethod
    def unknown_event(self) -> Mapping[str, Any] | WebhookSample:
        """A well-formed event of a type the provider does not map."""

    def previous_webhook_secret(self) -> str:
        """A secret the provider signed webhooks with before the current one (for the rotation
        check). Default: a fixed test value."""
        return _PREVIOUS_SECRET

    def rotation_settings(self, settings: Mapping[str, Any], previous: str) -> dict[str, Any]:
        """``settings`` with ``previous`` accepted besides the current webhook secret. Default:
        ``previous`` added to ``webhook_secrets``."""
        earlier = list(settings.get("webhook_secrets") or ())
        return {**settings, "webhook_secrets": [*earlier, previous]}
