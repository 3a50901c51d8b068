"""PayPal's settings: ``PAYWIRE_PAYPAL_CLIENT_ID``, ``PAYWIRE_PAYPAL_CLIENT_SECRET`` …"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import attrs

import paywire
from paywire import plugin

__all__ = [
    "DEFAULT_CERT_HOSTS",
    "DEFAULT_WEBHOOK_MAX_AGE",
    "DEFAULT_WEBHOOK_TOLERANCE",
    "LIVE_BASE_URL",
    "SANDBOX_BASE_URL",
    "VERIFICATION_MODES",
    "WEBHOOK_ID_PATTERN",
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

#: Seconds a webhook's ``PAYPAL-TRANSMISSION-TIME`` may lie ahead of this machine's clock.
DEFAULT_WEBHOOK_TOLERANCE: Final = 300
#: Seconds a ``PAYPAL-TRANSMISSION-TIME`` may lie in the past. PayPal retries an unanswered
#: delivery up to 25 times over three days, and a retry keeps the transmission's original id and
#: time (they are what PayPal signed), so anything shorter would refuse PayPal's own retries.
#: Three days and an hour.
DEFAULT_WEBHOOK_MAX_AGE: Final = 3 * 24 * 3600 + 3600

#: ``offline``: CRC32 + RSA-SHA256 checked here with PayPal's certificate; ``postback``: PayPal's
#: ``/v1/notifications/verify-webhook-signature`` API decides.
VERIFICATION_MODES: Final = frozenset({"offline", "postback"})

#: What a PayPal webhook id looks like (PayPal's Webhooks API: ``^[a-zA-Z0-9]+$``, at most 50
#: characters; the dashboard shows ids such as ``8PT597110X687430LKGECATA``). Event ids
#: (``WH-…``) are something else.
WEBHOOK_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9]{1,50}$")


def _check_webhook_id(value: str, what: str) -> None:
    """Raise ``ValueError`` unless ``value`` can be a webhook id (never quoting it: the generic
    ``webhook_secrets`` setting may carry the ids, and secrets are not repeated in errors)."""
    if WEBHOOK_ID_PATTERN.match(value):
        return
    if value.upper().startswith("WH-"):
        raise ValueError(
            f"{what} starts with 'WH-', the form of a webhook *event* id; use the id PayPal "
            "lists for your webhook listener (letters and digits only, e.g. "
            "8PT597110X687430LKGECATA)"
        )
    raise ValueError(f"{what} must be 1 to 50 letters and digits (PayPal's webhook id)")


def _webhook_id(_: object, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None:
        _check_webhook_id(value, attribute.name)


def _id_tuple(value: str | Iterable[str] | None) -> tuple[str, ...]:
    # From the environment the setting arrives as one comma-separated string.
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip() for item in items if str(item).strip())


def _webhook_ids(_: object, attribute: attrs.Attribute[tuple[str, ...]], value: Any) -> None:
    for item in value:
        _check_webhook_id(item, attribute.name)


def _hosts(value: str | Iterable[str]) -> tuple[str, ...]:
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


def _seconds(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be a positive number of seconds")


@attrs.frozen
class PayPalConfig(paywire.ProviderConfig):
    """Settings for :class:`~paywire_paypal.PayPalProvider`.

    Attributes:
        client_id: the REST app's client id (not a secret, but it names the account).
        client_secret: the REST app's secret; never shown in repr, logs or errors.
        webhook_id: the id PayPal assigned to your webhook listener — the "Webhook ID" the
            developer dashboard lists beside the listener's URL, letters and digits such as
            ``8PT597110X687430LKGECATA`` (not an event id, which starts with ``WH-``). PayPal
            signs every delivery with it: it plays the part other providers' webhook secrets
            play. Needed to verify webhooks.
        webhook_ids: more webhook ids whose deliveries are accepted too
            (``PAYWIRE_PAYPAL_WEBHOOK_IDS``, comma-separated): while a listener is replaced by a
            new one, PayPal may still deliver (and retry for three days) for the old one.
        webhook_verification: ``"offline"`` (default; CRC32 + RSA-SHA256 against the certificate
            named by ``PAYPAL-CERT-URL``) or ``"postback"`` (ask PayPal's verify API).
        webhook_tolerance: seconds ``PAYPAL-TRANSMISSION-TIME`` may lie ahead of this clock.
        webhook_max_age: seconds ``PAYPAL-TRANSMISSION-TIME`` may lie in the past (default: three
            days and an hour, because PayPal's retries keep the original transmission time).
        cert_hosts: hosts a signing certificate may be downloaded from (over HTTPS). A loopback
            host (``127.0.0.1``, ``localhost``) listed here may use plain HTTP: that is how the
            paywire sandbox serves its certificate; never list one in production.
        brand_name: the shop name PayPal shows on its approval pages.
        webhook_secret, webhook_secrets: the settings every provider has. PayPal has no signing
            secret — its "secret" is the webhook id — so values given here are read as webhook ids
            too (after ``webhook_id`` and ``webhook_ids``), and must look like one.
    """

    client_id: str | None = None
    client_secret: paywire.Secret | None = plugin.secret_field()  # noqa: RUF009 - attrs field
    webhook_id: str | None = attrs.field(default=None, validator=_webhook_id)
    webhook_ids: tuple[str, ...] = attrs.field(
        factory=tuple, converter=_id_tuple, validator=_webhook_ids
    )
    webhook_verification: str = attrs.field(default="offline", validator=_mode)
    webhook_tolerance: int = attrs.field(default=DEFAULT_WEBHOOK_TOLERANCE, validator=_seconds)
    webhook_max_age: int = attrs.field(default=DEFAULT_WEBHOOK_MAX_AGE, validator=_seconds)
    cert_hosts: tuple[str, ...] = attrs.field(default=DEFAULT_CERT_HOSTS, converter=_hosts)
    brand_name: str | None = None

    def __attrs_post_init__(self) -> None:
        for secret in self.all_webhook_secrets():
            _check_webhook_id(secret.reveal(), "webhook_secret(s), read as PayPal webhook ids,")

    def all_webhook_ids(self) -> tuple[str, ...]:
        """Every webhook id a delivery may be signed with, the current one first: ``webhook_id``,
        ``webhook_ids``, then ``webhook_secret`` / ``webhook_secrets`` (without repeats)."""
        found: list[str] = []
        given = [
            self.webhook_id,
            *self.webhook_ids,
            *(s.reveal() for s in self.all_webhook_secrets()),
        ]
        for value in given:
            if value and value not in found:
                found.append(value)
        return tuple(found)
