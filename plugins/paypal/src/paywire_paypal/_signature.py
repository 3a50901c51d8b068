"""PayPal webhook signatures: the five ``PAYPAL-*`` headers, checked offline or by postback.

Offline (PayPal's legacy SDK algorithm): ``crc = zlib.crc32(body)`` as an unsigned decimal, the
message ``f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}"``, and an RSA PKCS#1 v1.5
SHA-256 signature checked with the public key of the certificate at ``PAYPAL-CERT-URL``. That
certificate is downloaded only from an allow-listed host, over HTTPS (plain HTTP only for a
loopback host someone listed on purpose: the sandbox), and must be within its validity dates and
issued to a ``*.paypal.com`` name. TLS to the PayPal host is what vouches for it.

Nothing here does I/O: the provider downloads a certificate through its HTTP kernel (so it is
retried, recorded and replayed like every call) and hands the bytes to :class:`CertificateCache`.
Every function here raises :class:`paywire.InvalidSignature` and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.parse
import zlib
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

import attrs

import paywire
from paywire import plugin

if TYPE_CHECKING:
    # cryptography is imported when a signature is first checked: loading the plugin (every
    # `Paywire()` does) must stay cheap.
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "AUTH_ALGO",
    "HEADERS",
    "CertificateCache",
    "SignedHeaders",
    "SigningCertificate",
    "check_cert_url",
    "check_fresh",
    "crc32_decimal",
    "load_certificate",
    "read_headers",
    "signed_message",
    "utc_now",
    "verify_offline",
]

#: The algorithm PayPal names in ``PAYPAL-AUTH-ALGO``.
AUTH_ALGO: Final = "SHA256withRSA"
#: The headers a PayPal delivery is signed with.
HEADERS: Final = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)

_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_MAX_HEADER: Final = 4096
_MAX_CERT_BYTES: Final = 65536
_CERT_PATH = re.compile(r"^(?:/[A-Za-z0-9._~-]+)*/v1/notifications/certs/[A-Za-z0-9._~-]+$")
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,200}$")
_CACHE_SIZE: Final = 16


def crc32_decimal(payload: bytes) -> str:
    """The CRC-32 of ``payload`` as PayPal signs it: an unsigned decimal."""
    return str(zlib.crc32(payload) & 0xFFFFFFFF)


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, payload: bytes
) -> bytes:
    """The bytes PayPal signs for one delivery of ``payload``."""
    crc = crc32_decimal(payload)
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


@attrs.frozen
class SignedHeaders:
    """The five signature headers of one delivery, as received (strings, unaltered)."""

    transmission_id: str
    transmission_time: str
    signature: bytes = attrs.field(repr=False)
    signature_b64: str = attrs.field(repr=False)
    cert_url: str
    auth_algo: str
    sent_at: datetime


def _parse_time(value: str) -> datetime:
    if len(value) > 64 or not value.isascii():
        raise paywire.InvalidSignature("unreadable PAYPAL-TRANSMISSION-TIME")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise paywire.InvalidSignature("unreadable PAYPAL-TRANSMISSION-TIME") from None
    if when.utcoffset() is None:
        raise paywire.InvalidSignature("PAYPAL-TRANSMISSION-TIME has no time zone")
    return when


def read_headers(headers: Mapping[str, str]) -> SignedHeaders:
    """The signature headers, each present, non-empty and well formed."""
    if not isinstance(headers, Mapping):
        raise paywire.InvalidSignature("headers must be a mapping")
    values: dict[str, str] = {}
    for name in HEADERS:
        value = plugin.get_header(headers, name)
        if not value or not value.strip():
            raise paywire.InvalidSignature(f"missing {name} header")
        if len(value) > _MAX_HEADER:
            raise paywire.InvalidSignature(f"{name} header is too long")
        values[name] = value
    transmission_id = values["PAYPAL-TRANSMISSION-ID"]
    if not _ID.match(transmission_id):
        raise paywire.InvalidSignature("malformed PAYPAL-TRANSMISSION-ID")
    if values["PAYPAL-AUTH-ALGO"].strip().lower() != AUTH_ALGO.lower():
        raise paywire.InvalidSignature("unsupported PAYPAL-AUTH-ALGO")
    encoded = values["PAYPAL-TRANSMISSION-SIG"].strip()
    try:
        signature = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise paywire.InvalidSignature("PAYPAL-TRANSMISSION-SIG is not base64") from None
    if not 64 <= len(signature) <= 1024:
        raise paywire.InvalidSignature("PAYPAL-TRANSMISSION-SIG has an impossible length")
    return SignedHeaders(
        transmission_id=transmission_id,
        transmission_time=values["PAYPAL-TRANSMISSION-TIME"],
        signature=signature,
        signature_b64=encoded,
        cert_url=values["PAYPAL-CERT-URL"].strip(),
        auth_algo=values["PAYPAL-AUTH-ALGO"].strip(),
        sent_at=_parse_time(values["PAYPAL-TRANSMISSION-TIME"]),
    )


def check_fresh(sent_at: datetime, *, now: float, tolerance: float, max_age: float) -> None:
    """Refuse a transmission time more than ``tolerance`` seconds ahead of ``now`` or more than
    ``max_age`` seconds behind it.

    PayPal retries an unanswered delivery for three days, and each retry carries the original
    transmission's id and time (PayPal signed them), so the window into the past is PayPal's
    retry window rather than a few minutes; a replay inside it is one more delivery of an event
    id the webhook processor has seen.
    """
    age = now - sent_at.timestamp()
    if age < -tolerance:
        raise paywire.InvalidSignature("PAYPAL-TRANSMISSION-TIME lies in the future")
    if age > max_age:
        raise paywire.InvalidSignature("PAYPAL-TRANSMISSION-TIME is older than webhook_max_age")


def check_cert_url(url: str, trusted_hosts: Collection[str]) -> str:
    """``url`` if a signing certificate may be fetched from it, else :class:`InvalidSignature`."""
    if not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        raise paywire.InvalidSignature("malformed PAYPAL-CERT-URL")
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise paywire.InvalidSignature("malformed PAYPAL-CERT-URL") from None
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise paywire.InvalidSignature("PAYPAL-CERT-URL carries more than a host and a path")
    if host not in trusted_hosts:
        raise paywire.InvalidSignature("PAYPAL-CERT-URL is not on a trusted PayPal host")
    loopback = host in _LOOPBACK
    if parts.scheme != "https" and not (loopback and parts.scheme == "http"):
        raise paywire.InvalidSignature("PAYPAL-CERT-URL must use https")
    if not loopback and port not in (None, 443):
        raise paywire.InvalidSignature("PAYPAL-CERT-URL names an unexpected port")
    if not _CERT_PATH.match(parts.path):
        raise paywire.InvalidSignature("PAYPAL-CERT-URL is not a certificate address")
    return url


def _common_name(cert: x509.Certificate) -> str:
    from cryptography.x509.oid import NameOID

    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


@attrs.frozen
class SigningCertificate:
    """A PayPal signing certificate, read: its RSA key and the dates it is valid between."""

    key: rsa.RSAPublicKey = attrs.field(repr=False)
    not_before: datetime
    not_after: datetime

    def key_at(self, now: datetime) -> rsa.RSAPublicKey:
        """The key, if the certificate is valid at ``now``."""
        if not self.not_before <= now <= self.not_after:
            raise paywire.InvalidSignature("the signing certificate is not valid now")
        return self.key


def load_certificate(pem: bytes) -> SigningCertificate:
    """A PEM certificate issued to a ``*.paypal.com`` name with an RSA key (its dates are checked
    at each use: :meth:`SigningCertificate.key_at`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import rsa

    if len(pem) > _MAX_CERT_BYTES:
        raise paywire.InvalidSignature("the signing certificate is too large")
    try:
        cert = x509.load_pem_x509_certificate(pem)
        not_before = cert.not_valid_before_utc
        not_after = cert.not_valid_after_utc
        common_name = _common_name(cert).lower()
        key = cert.public_key()
    except (ValueError, TypeError):
        raise paywire.InvalidSignature("the signing certificate cannot be read") from None
    if not (common_name == "paypal.com" or common_name.endswith(".paypal.com")):
        raise paywire.InvalidSignature("the signing certificate is not issued to PayPal")
    if not isinstance(key, rsa.RSAPublicKey):
        raise paywire.InvalidSignature("the signing certificate holds no RSA key")
    return SigningCertificate(key, not_before, not_after)


class CertificateCache:
    """Signing certificates already downloaded, by URL (a few at most: PayPal rotates them
    rarely). Only a certificate that could be read is kept; its dates are checked at each use,
    so an expired one is never trusted because it was cached. Safe to share between threads."""

    def __init__(self, *, size: int = _CACHE_SIZE) -> None:
        self._size = size
        self._entries: dict[str, SigningCertificate] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, url: str) -> SigningCertificate | None:
        """The certificate downloaded from ``url`` before, if any."""
        with self._lock:
            return self._entries.get(url)

    def add(self, url: str, pem: bytes) -> SigningCertificate:
        """Read ``pem`` (downloaded from ``url``) and keep it; raises what
        :func:`load_certificate` raises, keeping nothing."""
        certificate = load_certificate(pem)
        with self._lock:
            if url not in self._entries and len(self._entries) >= self._size:
                self._entries.pop(next(iter(self._entries)))
            self._entries[url] = certificate
        return certificate


def verify_offline(
    payload: bytes,
    signed: SignedHeaders,
    webhook_id: str,
    key: rsa.RSAPublicKey,
) -> None:
    """Check ``signed.signature`` over the delivery's message with ``key``."""
    from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    message = signed_message(signed.transmission_id, signed.transmission_time, webhook_id, payload)
    try:
        key.verify(signed.signature, message, padding.PKCS1v15(), hashes.SHA256())
    except CryptoInvalidSignature:
        raise paywire.InvalidSignature("the signature does not match the payload") from None


def utc_now(now: float) -> datetime:
    """``now`` (a Unix time) as an aware UTC datetime."""
    return datetime.fromtimestamp(now, tz=UTC)
