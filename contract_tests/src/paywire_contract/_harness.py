"""What a provider plugin tells the contract suite: the :class:`Harness`, and the
:class:`ScenarioContext` the suite hands to the harness's scenario methods.

Differences from the shared brief, and why:

* :class:`ScenarioContext` has one more member, :meth:`ScenarioContext.control`: the sandbox's
  control API (``/_sandbox/...``) *through the suite's recorder*. In ``replay`` mode there is no
  sandbox (``ctx.sandbox is None``) but the control calls a test made when it was recorded
  (completing a hosted checkout, creating a saved card) are served from the fixture, so a harness
  that uses ``ctx.control`` instead of ``ctx.sandbox.control`` works in every mode. Use
  ``ctx.sandbox`` only for what does not need to replay.
* ``live_settings``, ``zero_decimal_currency`` and ``three_decimal_currency`` have defaults
  (``None``: not available) so a minimal harness stays small, and so does ``customer`` (a
  customer the provider does not know yet).
* The sandbox plumbing that is the same for every provider has a default too:
  :meth:`Harness.register_webhook` registers the endpoint through ``/webhooks/endpoints`` (with
  :meth:`Harness.webhook_extra` for provider-specific data such as PayPal's webhook id) and
  :meth:`Harness.complete_checkout` completes the hosted page through
  ``/{provider_name}/checkout/{id}/complete`` (:meth:`Harness.complete_hosted_page`, which
  ``complete_setup`` implementations call as well). Everything else is abstract.
* ``volatile_fields`` (default: none) names request fields that replay must not match on.
* ``ScenarioContext.control`` raises :class:`SandboxUnavailable` in live test mode; the suite
  skips a test whose scenario needs the sandbox, with that reason.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import attrs
import httpx

import paywire

if TYPE_CHECKING:
    from paywire_sandbox import RunningSandbox

__all__ = ["Harness", "MethodKind", "Mode", "SandboxUnavailable", "ScenarioContext"]

#: Which saved payment method a scenario needs: one that charges fine, one whose charge is
#: declined, one that has expired, and one whose charge needs the customer to authenticate.
MethodKind = Literal["succeeds", "declines", "expired", "needs_authentication"]

#: How the suite talks to the provider: ``sandbox`` (live HTTP to the local sandbox), ``replay``
#: (recorded fixtures, no network), ``record`` (sandbox or test mode, writing fixtures), ``live``
#: (the provider's own test mode).
Mode = Literal["sandbox", "replay", "record", "live"]

ControlCall = Callable[[str, str, Any], httpx.Response]


class SandboxUnavailable(RuntimeError):
    """A scenario needs the sandbox's control API, and this run has none (live test mode).

    The suite skips the test with this message.
    """


def _no_control(method: str, path: str, json: Any = None) -> httpx.Response:
    raise SandboxUnavailable(
        f"{method} /_sandbox{path} needs the sandbox's control API, which live test mode lacks"
    )


@attrs.define
class ScenarioContext:
    """What a harness's scenario methods get from the suite.

    Attributes:
        mode: ``"sandbox"``, ``"replay"``, ``"record"`` or ``"live"``.
        provider: the provider under test, built for this mode (its HTTP is recorded or replayed).
        sandbox: the running sandbox; ``None`` in ``replay`` and ``live`` modes.
        settings: the settings the provider was built from (they hold secrets: never log them).
    """

    mode: str
    provider: paywire.Provider[Any]
    sandbox: RunningSandbox | None
    settings: Mapping[str, Any] = attrs.field(repr=False)  # holds secrets
    _control: ControlCall = attrs.field(default=_no_control, alias="control", repr=False)

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
    def name(self) -> str:
        """The provider's name (``"stripe"``)."""
        return self.provider.name


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
        records and replays."""

    def secrets(self, settings: Mapping[str, Any]) -> list[str]:
        """Every secret value in ``settings`` (for the leak checks and fixture redaction).

        Default: the :class:`paywire.Secret` fields of the config the provider is built from
        (:meth:`paywire.ProviderConfig.secrets`), revealed — so a secret setting a plugin adds
        later is covered without a list to keep in step.
        """
        provider = self.build_provider(settings)
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
        page payable). Default: :meth:`complete_hosted_page`. Override it when the provider
        needs more (PayPal captures the approved order)."""
        redirect = self.complete_hosted_page(ctx, session.id, outcome).get("redirect_url")
        return redirect if isinstance(redirect, str) else ""

    @abc.abstractmethod
    def complete_setup(
        self, ctx: ScenarioContext, session: paywire.SetupSession
    ) -> paywire.SavedPaymentMethod:
        """Complete the hosted setup page with a card that succeeds (normally
        :meth:`complete_hosted_page`, then reading the saved method from its answer or from the
        provider); returns the saved method."""

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
        """Headers that sign ``payload`` as the provider would (for the tampering tests)."""

    @abc.abstractmethod
    def webhook_samples(self) -> Sequence[tuple[Mapping[str, Any], paywire.EventType]]:
        """One payload for every event type the provider documents for these flows, with the
        normalized type it must map to."""

    @abc.abstractmethod
    def unknown_event(self) -> Mapping[str, Any]:
        """A well-formed event of a type the provider does not map."""
