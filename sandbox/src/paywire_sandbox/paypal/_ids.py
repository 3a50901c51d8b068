"""Identifiers shaped like PayPal's (lengths and alphabets as PayPal's responses show them)."""

from __future__ import annotations

import secrets
import uuid

__all__ = [
    "access_token",
    "app_id",
    "cert_id",
    "customer_id",
    "debug_id",
    "event_id",
    "payer_id",
    "payment_token_id",
    "resource_id",
    "transmission_id",
    "webhook_id",
]

_UPPER = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
_PAYER = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # PayPal's account_id pattern: [2-9A-HJ-NP-Z]
_LOWER = "0123456789abcdefghijklmnopqrstuvwxyz"
_MIXED = _LOWER + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _pick(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def resource_id() -> str:
    """An order, capture, refund or setup-token id, such as ``5O190127TN364715T``."""
    return _pick(_UPPER, 17)


def payment_token_id() -> str:
    """A vault payment token id (``8kk8451t`` style)."""
    return _pick(_LOWER, 8)


def customer_id() -> str:
    """A PayPal-generated vault customer id (at most 22 characters)."""
    return _pick(_MIXED, 10)


def payer_id() -> str:
    """A payer (account) id: 13 characters from PayPal's account-id alphabet."""
    return _pick(_PAYER, 13)


def debug_id() -> str:
    """The ``debug_id`` of an error and the ``Paypal-Debug-Id`` header: 13 hex digits."""
    return secrets.token_hex(7)[:13]


def webhook_id() -> str:
    """The id PayPal gives a webhook listener: 24 upper-case letters and digits."""
    return _pick(_UPPER, 24)


def event_id() -> str:
    """A webhook event id: ``WH-`` and two groups of 17 characters."""
    return f"WH-{_pick(_UPPER, 17)}-{_pick(_UPPER, 17)}"


def transmission_id() -> str:
    """A webhook transmission id (PayPal sends a UUID)."""
    return str(uuid.uuid4())


def cert_id() -> str:
    """The id in a signing certificate's URL (``CERT-360caa42-fca2a594-1d93a270``)."""
    return f"CERT-{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def access_token() -> str:
    """An OAuth2 access token (PayPal's start with ``A21AA``)."""
    return "A21AA" + secrets.token_urlsafe(68)


def app_id() -> str:
    """The ``app_id`` returned with a token (``APP-80W284485P519543T`` style)."""
    return "APP-" + _pick(_UPPER, 17)
