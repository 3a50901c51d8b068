"""PayPal webhook signatures: RSA (PKCS#1 v1.5, SHA-256) with a certificate the sandbox serves.

The signed message is ``f"{transmission_id}|{transmission_time}|{webhook_id}|{crc32}"`` where
``crc32`` is the CRC-32 of the exact body bytes, as an unsigned decimal. The key pair and a
self-signed certificate are made the first time they are needed (not at import or app start),
once per fake instance.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import zlib

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from paywire_sandbox.paypal import _ids

__all__ = ["AUTH_ALGO", "SigningKey", "signed_message"]

#: The only algorithm PayPal names in ``PAYPAL-AUTH-ALGO``.
AUTH_ALGO = "SHA256withRSA"

# The subject PayPal's sandbox certificates carry, so a client's name check runs the same code
# path; trusting this self-signed certificate remains the client's explicit (test-only) choice.
_COMMON_NAME = "messageverificationcerts.sandbox.paypal.com"


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> bytes:
    """The bytes PayPal signs for one delivery of ``body``."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


@attrs.define
class _Material:
    key: rsa.RSAPrivateKey
    pem: bytes


@attrs.define
class SigningKey:
    """One fake's signing key and certificate, made on first use."""

    not_before: float
    cert_id: str = attrs.field(factory=_ids.cert_id)
    _material: _Material | None = attrs.field(default=None, repr=False)

    def _load(self) -> _Material:
        if self._material is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "paywire sandbox"),
                    x509.NameAttribute(NameOID.COMMON_NAME, _COMMON_NAME),
                ]
            )
            start = dt.datetime.fromtimestamp(self.not_before, dt.UTC) - dt.timedelta(days=1)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start)
                .not_valid_after(start + dt.timedelta(days=3650))
                .sign(key, hashes.SHA256())
            )
            self._material = _Material(key, cert.public_bytes(serialization.Encoding.PEM))
        return self._material

    @property
    def certificate_pem(self) -> bytes:
        """The PEM certificate served at the cert URL."""
        return self._load().pem

    def sign(self, message: bytes) -> str:
        """Base64 of the RSA PKCS#1 v1.5 SHA-256 signature of ``message``."""
        signature = self._load().key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def verify(self, message: bytes, signature_b64: str) -> bool:
        """Whether ``signature_b64`` is this key's signature of ``message``."""
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError):
            return False
        try:
            self._load().key.public_key().verify(
                signature, message, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True
