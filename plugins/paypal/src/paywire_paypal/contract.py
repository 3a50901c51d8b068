"""The contract-suite harness for PayPal: how the suite builds the provider and its scenarios.

Only tests (and ``paywire certify paypal``) import this module.

* **Shape.** A checkout is two events (``checkout_events = "separate"``: the buyer's approval,
  ``CHECKOUT_COMPLETED``, then the capture's ``PAYMENT_SUCCEEDED``); charges and refunds settle
  at once; PayPal's errors carry codes (``details[].issue``). ``signature_timestamp`` is
  ``False``: PayPal signs a transmission time, but its retries keep the original one for up to
  three days, so the provider accepts an hour-old delivery (``webhook_max_age``) and relies on
  event-id deduplication against replays — which is what the suite then checks.
* **Scenario data** comes from the sandbox's PayPal control routes: ``POST
  /_sandbox/paypal/payment-tokens`` vaults a PayPal wallet whose charges play out a chosen outcome
  (``success``, ``decline``, ``expired``, ``authentication_required``), and ``POST
  /_sandbox/paypal/checkout/{id}/complete`` approves an order or a setup token as the buyer would.
  Control calls go through ``ctx.control``, so they are recorded and replayed with the rest.
* **Hosted pages, then PayPal's second step.** A suite that processes the delivered webhooks
  through the provider's ``follow_up`` (harness API v2) gets the capture from it, as an app
  using :class:`paywire.webhooks.WebhookProcessor` does; for an older suite,
  :meth:`PayPalHarness.complete_checkout` captures on the return page
  (:meth:`~paywire_paypal.PayPalProvider.capture_order`). :meth:`PayPalHarness.complete_setup`
  approves the setup token and calls the interface's ``complete_setup`` with the session and the
  return URL's query, as an app does (PayPal sends no webhook for the approval).
* **Webhook signatures.** PayPal signs with an RSA key whose certificate the verifier downloads.
  The suite's tampering tests need webhooks the *harness* signs (and in replay, recorded webhooks
  are signed anew), so the harness holds its own key pair and a self-signed certificate (CN
  ``messageverificationcerts.sandbox.paypal.com``, like the sandbox's) and serves it at
  :data:`HARNESS_CERT_URL` from a transport layered over the suite's: the provider fetches it
  through its own HTTP kernel, exactly as it fetches PayPal's. Certificates of the sandbox itself
  (on webhooks the sandbox delivers) are fetched from the sandbox straight, not recorded: in
  replay those webhooks are re-signed by the harness, so a recorded sandbox certificate would
  never be asked for. The settings trust ``127.0.0.1`` as a certificate host, which only a test
  setup may do.
* **Access tokens never reach a fixture.** The same layer sends the OAuth token request straight
  to the sandbox (unrecorded) and, in replay, answers it with :data:`REPLAY_ACCESS_TOKEN`; every
  token the sandbox issued is among :meth:`PayPalHarness.secrets`, so the suite's fixture checks
  refuse any that would still be written.
* **Webhook ids.** PayPal's "secret" is the webhook id; the settings carry
  :data:`SANDBOX_WEBHOOK_ID`, and :meth:`PayPalHarness.webhook_extra` hands the same id to the
  sandbox when the suite registers its endpoint, so its deliveries are signed with it. The suite
  passes the configured ``webhook_secret`` (unused by PayPal, so empty) to :meth:`sign_webhook`;
  an empty secret means this webhook id. Rotation adds the previous id as ``webhook_ids``.
* **Live mode** is not offered: PayPal's own sandbox needs a person to approve every order and
  setup token in a browser, and vaulted scenario methods cannot be made without one.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import urllib.parse
import uuid
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final, Literal

import attrs
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

import paywire
from paywire import EventType
from paywire_contract import SANDBOX_ORIGIN, Harness, MethodKind, ScenarioContext
from paywire_paypal._config import PayPalConfig
from paywire_paypal._oauth import TOKEN_PATH
from paywire_paypal._provider import PayPalProvider

__all__ = [
    "HARNESS_CERT_URL",
    "PREVIOUS_WEBHOOK_ID",
    "REPLAY_ACCESS_TOKEN",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_WEBHOOK_ID",
    "PayPalHarness",
]

#: Fixed, recognisable test credentials: what sandbox and replay runs use (and what fixture
#: redaction looks for).
SANDBOX_CLIENT_ID: Final = "paywire-contract-client"
SANDBOX_CLIENT_SECRET: Final = "paywire-contract-secret-0000000000"  # noqa: S105 - sandbox only
#: The webhook id the sandbox signs with (PayPal assigns one per listener: letters and digits).
SANDBOX_WEBHOOK_ID: Final = "3PWC0NTRACT000001"
#: The id of a listener being replaced, for the rotation check.
PREVIOUS_WEBHOOK_ID: Final = "3PWC0NTRACT000000"
#: The access token replay runs are given (no real token is ever recorded).
REPLAY_ACCESS_TOKEN: Final = "paywire-replay-access-token"  # noqa: S105 - a stand-in

#: Where the harness's own signing certificate is served (by the harness's transport layer).
HARNESS_CERT_URL: Final = (
    "http://127.0.0.1/paywire-contract/v1/notifications/certs/CERT-paywire-contract-harness"
)
_HARNESS_PREFIX: Final = "/paywire-contract/"
_CERT_MARKER: Final = "/v1/notifications/certs/"
_COMMON_NAME: Final = "messageverificationcerts.sandbox.paypal.com"
_TRANSMISSION_NS: Final = uuid.UUID("9a1c3f5e-7b2d-4e6f-8a9b-0c1d2e3f4a5b")
# Whether the suite runs the provider's follow-up on delivered webhooks (harness API v2 added
# shape declarations, this one among them, with that change).
_SUITE_FOLLOWS_UP: Final = hasattr(Harness, "checkout_events")

# Which outcome a vaulted scenario token plays out when charged (the sandbox's outcome names).
_OUTCOMES: Final[Mapping[str, str]] = {
    "succeeds": "success",
    "declines": "decline",
    "expired": "expired",
    "needs_authentication": "authentication_required",
}


@attrs.frozen
class _Material:
    key: rsa.RSAPrivateKey
    pem: bytes


class _SigningKey:
    """The harness's key pair and self-signed certificate, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._material: _Material | None = None

    def material(self) -> _Material:
        with self._lock:
            if self._material is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                name = x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "paywire contract harness"),
                        x509.NameAttribute(NameOID.COMMON_NAME, _COMMON_NAME),
                    ]
                )
                start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
                cert = (
                    x509.CertificateBuilder()
                    .subject_name(name)
                    .issuer_name(name)
                    .public_key(key.public_key())
                    .serial_number(x509.random_serial_number())
                    .not_valid_before(start)
                    .not_valid_after(start + dt.timedelta(days=30))
                    .sign(key, hashes.SHA256())
                )
                self._material = _Material(key, cert.public_bytes(serialization.Encoding.PEM))
            return self._material

    def sign(self, message: bytes) -> str:
        signature = self.material().key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")


class _IssuedTokens:
    """Every access token the sandbox issued to a provider this harness built."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[str] = set()

    def add(self, token: str) -> None:
        with self._lock:
            self._seen.add(token)

    def seen(self) -> list[str]:
        with self._lock:
            return sorted(self._seen)


class _HarnessTransport(httpx.BaseTransport):
    """Serves the harness's certificate; sends the sandbox's certificate and token requests
    straight to it (unrecorded; in replay, answers the token request itself); passes everything
    else to the suite's transport."""

    def __init__(self, inner: httpx.BaseTransport, key: _SigningKey, tokens: _IssuedTokens) -> None:
        self.inner = inner
        self.key = key
        self.tokens = tokens
        self._direct: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer certificate and token requests; forward the rest."""
        url = request.url
        if url.host == "127.0.0.1" and url.port is None and url.path.startswith(_HARNESS_PREFIX):
            if request.method == "GET" and str(url) == HARNESS_CERT_URL:
                return httpx.Response(
                    200,
                    content=self.key.material().pem,
                    headers={"Content-Type": "application/x-pem-file"},
                    request=request,
                )
            return httpx.Response(404, request=request)
        if request.method == "GET" and _CERT_MARKER in url.path:
            return self._straight(request)
        if request.method == "POST" and url.path.endswith(TOKEN_PATH):
            return self._token(request)
        return self.inner.handle_request(request)

    def _straight(self, request: httpx.Request) -> httpx.Response:
        if self._direct is None:
            self._direct = httpx.HTTPTransport()
        return self._direct.handle_request(request)

    def _token(self, request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(SANDBOX_ORIGIN):
            # Replay: no sandbox, and no recorded token to give.
            body = {
                "access_token": REPLAY_ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": 32400,
            }
            return httpx.Response(200, json=body, request=request)
        response = self._straight(request)
        content = response.read()
        response.close()
        try:
            token = json.loads(content).get("access_token")
        except (ValueError, AttributeError):
            token = None
        if isinstance(token, str) and token:
            self.tokens.add(token)
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    def close(self) -> None:
        """Close both transports."""
        try:
            self.inner.close()
        finally:
            if self._direct is not None:
                self._direct.close()


def _provider(ctx: ScenarioContext) -> PayPalProvider:
    provider = ctx.provider
    if not isinstance(provider, PayPalProvider):
        raise TypeError(f"the PayPal harness needs a PayPalProvider, got {provider!r}")
    return provider


def _iso(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PayPalHarness(Harness):
    """PayPal's answers to the contract suite (see the module docstring for the choices)."""

    provider_name: ClassVar[str] = "paypal"
    checkout_events: ClassVar[Literal["separate", "single"]] = "separate"
    charge_settlement: ClassVar[Literal["immediate", "asynchronous"]] = "immediate"
    refund_settlement: ClassVar[Literal["immediate", "asynchronous"]] = "immediate"
    signature_timestamp: ClassVar[bool] = False
    error_codes: ClassVar[bool] = True

    def __init__(self) -> None:
        self._key = _SigningKey()
        self._tokens = _IssuedTokens()

    # -- building the provider ---------------------------------------------------------------

    def sandbox_settings(self, base_url: str) -> dict[str, Any]:
        """Test credentials, the webhook id, the sandbox's PayPal prefix, and ``127.0.0.1`` as a
        certificate host (the sandbox's and the harness's certificates are served there)."""
        return {
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "webhook_id": SANDBOX_WEBHOOK_ID,
            "base_url": base_url.rstrip("/") + "/paypal",
            "cert_hosts": ("127.0.0.1",),
        }

    def build_provider(
        self, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> PayPalProvider:
        """``PayPalProvider.create`` from ``settings`` alone (the environment is ignored), its
        HTTP through ``transport`` with the harness's certificate and token layer on top."""
        config = paywire.load_config(PayPalConfig, "paypal", environ={}, **settings)
        inner = transport if transport is not None else httpx.HTTPTransport()
        return PayPalProvider.create(
            config, transport=_HarnessTransport(inner, self._key, self._tokens)
        )

    def secrets(self, settings: Mapping[str, Any]) -> list[str]:
        """The config's secrets and every access token the sandbox issued to these providers."""
        return [*super().secrets(settings), *self._tokens.seen()]

    # -- scenario data -----------------------------------------------------------------------

    def saved_method(self, ctx: ScenarioContext, kind: MethodKind) -> paywire.SavedPaymentMethod:
        """A PayPal wallet vaulted by the sandbox for this merchant, whose charges play out the
        outcome ``kind`` asks for."""
        body = ctx.control_json(
            "POST",
            "/paypal/payment-tokens",
            {"outcome": _OUTCOMES[kind], "merchant": str(ctx.settings["client_id"])},
        )
        customer = body.get("customer")
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        return paywire.SavedPaymentMethod(
            "paypal", str(body["id"]), customer_id if isinstance(customer_id, str) else None
        )

    def charge_currency(self) -> str:
        """US dollars."""
        return "USD"

    def zero_decimal_currency(self) -> str | None:
        """Japanese yen."""
        return "JPY"

    def three_decimal_currency(self) -> str | None:
        """None: PayPal takes no three-decimal currency (no KWD, BHD, JOD, OMR or TND)."""
        return None

    # -- hosted pages ------------------------------------------------------------------------

    def complete_checkout(
        self, ctx: ScenarioContext, session: paywire.CheckoutSession, outcome: str = "success"
    ) -> str:
        """Approve the order on the sandbox's PayPal page with ``outcome``. For a suite that does
        not run the provider's follow-up on delivered webhooks, then capture it as an app's
        return page may (a declined capture still returns the redirect)."""
        redirect = super().complete_checkout(ctx, session, outcome)
        if _SUITE_FOLLOWS_UP:
            return redirect
        try:
            _provider(ctx).capture_order(session.id)
        except (
            paywire.CardDeclined,
            paywire.PaymentMethodExpired,
            paywire.AuthenticationRequired,
        ):
            if outcome == "success":
                raise
        return redirect

    def complete_setup(
        self, ctx: ScenarioContext, session: paywire.SetupSession
    ) -> paywire.SavedPaymentMethod:
        """Approve the setup token on the sandbox's page, then complete the setup through the
        interface with the session and the return URL's query, as the app does."""
        redirect = self.complete_hosted_page(ctx, session.id).get("redirect_url")
        query = urllib.parse.urlsplit(redirect).query if isinstance(redirect, str) else ""
        params = dict(urllib.parse.parse_qsl(query))
        return ctx.provider.complete_setup(session, params=params)

    # -- webhooks ----------------------------------------------------------------------------

    def webhook_extra(self, ctx: ScenarioContext) -> dict[str, str]:
        """The settings' webhook id, which the sandbox signs this test's deliveries with."""
        return {"webhook_id": str(ctx.settings.get("webhook_id") or SANDBOX_WEBHOOK_ID)}

    def previous_webhook_secret(self) -> str:
        """The webhook id of a listener being replaced (:data:`PREVIOUS_WEBHOOK_ID`)."""
        return PREVIOUS_WEBHOOK_ID

    def rotation_settings(self, settings: Mapping[str, Any], previous: str) -> dict[str, Any]:
        """``settings`` accepting the ``previous`` webhook id too (``webhook_ids``)."""
        return {**settings, "webhook_ids": (previous,)}

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        """PayPal's five headers, signed with the harness's key for the webhook id ``secret``
        (empty: :data:`SANDBOX_WEBHOOK_ID`). Computed here, not with the plugin's helpers, so a
        bug in one cannot hide behind the same bug in the other."""
        webhook_id = secret or SANDBOX_WEBHOOK_ID
        crc = zlib.crc32(payload) & 0xFFFFFFFF
        transmission_id = str(uuid.uuid5(_TRANSMISSION_NS, f"{timestamp}|{crc}|{webhook_id}"))
        transmission_time = _iso(timestamp)
        message = f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()
        # Lower-case names, as servers hand headers over (and as recorded deliveries store
        # them), so that re-signing a recorded delivery replaces its headers rather than adding
        # a second, differently cased set.
        return {
            "paypal-transmission-id": transmission_id,
            "paypal-transmission-time": transmission_time,
            "paypal-transmission-sig": self._key.sign(message),
            "paypal-cert-url": HARNESS_CERT_URL,
            "paypal-auth-algo": "SHA256withRSA",
        }

    def webhook_samples(self) -> Sequence[tuple[Mapping[str, Any], EventType]]:
        """Every PayPal event type the plugin maps, shaped as PayPal sends them."""
        from paywire_paypal._samples import webhook_samples

        return webhook_samples()

    def unknown_event(self) -> Mapping[str, Any]:
        """``BILLING.SUBSCRIPTION.CREATED``: well formed, and nothing paywire normalizes."""
        from paywire_paypal._samples import event

        return event(
            "BILLING.SUBSCRIPTION.CREATED",
            {"id": "I-BW452GLLEP1G", "status": "APPROVAL_PENDING", "plan_id": "P-5ML4271244"},
            resource_type="subscription",
        )
