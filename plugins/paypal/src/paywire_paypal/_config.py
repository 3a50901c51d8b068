"""PayPal's settings: ``PAYWIRE_PAYPAL_CLIENT_ID``, ``PAYWIRE_PAYPAL_CLIENT_SECRET`` …"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs

import paywire

__all__ = [
    "DEFAULT_CERT_HOSTS",
    "DEFAULT_WEBHOOK_TOLERANCE",
    "LIVE_BASE_URL",
    "SANDBOX_BASE_URL",
    "VERIFICATION_MODES",
    "PayPalConfig",
]

#: PayPal's live REST API.
LIVE_BASE_URL: Final = "https://api-m.paypal.com"
#: PayPal's own sandbox environment (set it as ``base_url`` to use PayPal's test accounts).
SANDBOX_BASE_URL: Final = "https://api-m.sandbox.paypal.com"

#: Hosts PayPal serves its webhook-signing certificates from (``PAYPAL-CERT-URL``).
DEFAULT_CERT_HOSTS: Final = (
    "api.paypal.com",
    "api-m.paypal.com",
    "api.sandbox.paypal.com",
    "api-m.sandbox.paypal.com",
)

#: Seconds a webhook's ``PAYPAL-TRANSMISSION-TIME`` may lie before or after now.
DEFAULT_WEBHOOK_TOLERANCE: Final = 300

#: ``offline``: CRC32 + RSA-SHA256 checked here with PayPal's certificate; ``postback``: PayPal's
#: ``/v1/notifications/verify-webhook-signature`` API decides.
VERIFICATION_MODES: Final = frozenset({"offline", "postback"})


def _hosts(value: str | Iterable[str]) -> tuple[str, ...]:
    # From the environment the setting arrives as one comma-separated string.
    items = value.split(",") if isinstance(value, str) else list(value)
    hosts = tuple(str(h).strip().lower() for h in items if str(h).strip())
    if not hosts:
        raise ValueError("cert_hosts must name at least one host")
    return hosts


def _mode(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in VERIFICATION_MODES:
        raise ValueError(
            f"{attribute.name} must be one of {', '.join(sorted(VERIFICATION_MODES))}, "
            f"got {value!r}"
        )


def _tolerance(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen
class PayPalConfig(paywire.ProviderConfig):
    """Settings for :class:`~paywire_paypal.PayPalProvider`.

    Attributes:
        client_id: the REST app's client id (not a secret, but it names the account).
        client_secret: the REST app's secret; never shown in repr, logs or errors.
        webhook_id: the id PayPal assigned to your webhook listener (``WH-…`` in the developer
            dashboard); PayPal signs every delivery with it. Needed to verify webhooks.
        webhook_verification: ``"offline"`` (default; CRC32 + RSA-SHA256 against the certificate
            named by ``PAYPAL-CERT-URL``) or ``"postback"`` (ask PayPal's verify API).
        webhook_tolerance: seconds ``PAYPAL-TRANSMISSION-TIME`` may be off, past *or* future.
        cert_hosts: hosts a signing certificate may be downloaded from (over HTTPS). A loopback
            host (``127.0.0.1``, ``localhost``) listed here may use plain HTTP: that is how the
            paywire sandbox serves its certificate; never list one in production.
        brand_name: the shop name PayPal shows on its approval pages.
        webhook_secret: not used by PayPal (its webhooks are signed with a certificate and the
            ``webhook_id``); inherited from :class:`paywire.ProviderConfig`.
    """

    client_id: str | None = None
    client_secret: paywire.Secret | None = paywire.secret_field()  # noqa: RUF009 - attrs field
    webhook_id: str | None = None
    webhook_verification: str = attrs.field(default="offline", validator=_mode)
    webhook_tolerance: int = attrs.field(default=DEFAULT_WEBHOOK_TOLERANCE, validator=_tolerance)
    cert_hosts: tuple[str, ...] = attrs.field(default=DEFAULT_CERT_HOSTS, converter=_hosts)
    brand_name: str | None = None
