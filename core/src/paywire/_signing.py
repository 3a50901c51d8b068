"""Webhook signature helpers for plugins: HMAC-SHA256 hex, and the timestamped ``t=…,v1=…`` form.

Every failure raises :class:`~paywire.InvalidSignature` and nothing else, whatever bytes or header
values arrive; comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from paywire._errors import InvalidSignature
from paywire._secrets import Secret

__all__ = [
    "get_header",
    "hmac_sha256_hex",
    "sign_timestamped",
    "verify_hmac_sha256_hex",
    "verify_timestamped",
]

_MAX_HEADER = 8192
_RAW = (bytes, bytearray)  # what a raw body may be (a tuple: no union built per call)


def _key(secret: str | bytes | Secret) -> bytes:
    if isinstance(secret, Secret):
        secret = secret.reveal()
    if isinstance(secret, bytes):
        return secret
    if not isinstance(secret, str):
        raise InvalidSignature("no webhook secret configured")
    return secret.encode("utf-8")


def hmac_sha256_hex(secret: str | bytes | Secret, message: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``message`` under ``secret``."""
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value whatever the case of its name (a plain dict is not case-insensitive)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, item in headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                value = item
                break
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            return None
    return value if isinstance(value, str) else None


def verify_hmac_sha256_hex(
    payload: bytes, signature: str | None, secret: str | bytes | Secret | None
) -> None:
    """Check a hex HMAC-SHA256 of the raw body (Razorpay's scheme)."""
    if not secret:
        raise InvalidSignature("no webhook secret configured")
    if not isinstance(payload, _RAW):
        raise InvalidSignature("the payload must be the raw request body (bytes)")
    if not signature or not isinstance(signature, str) or len(signature) > _MAX_HEADER:
        raise InvalidSignature("missing signature")
    expected = hmac_sha256_hex(secret, bytes(payload))
    if not hmac.compare_digest(
        expected.encode(), signature.strip().lower().encode("ascii", "replace")
    ):
        raise InvalidSignature("signature does not match")


def sign_timestamped(
    payload: bytes, secret: str | bytes | Secret, timestamp: int, *, scheme: str = "v1"
) -> str:
    """A ``t=<timestamp>,v1=<hex>`` header over ``f"{t}.{payload}"`` (for tests and harnesses)."""
    digest = hmac_sha256_hex(secret, str(timestamp).encode() + b"." + payload)
    return f"t={timestamp},{scheme}={digest}"


def _parse_timestamped(header: str, scheme: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if not value.isascii() or not value.isdigit() or len(value) > 12:
                raise InvalidSignature("unparsable timestamp in signature header")
            timestamp = int(value)
        elif key == scheme:
            signatures.append(value)
    if timestamp is None:
        raise InvalidSignature("no timestamp in signature header")
    if not signatures:
        raise InvalidSignature(f"no {scheme} signature in signature header")
    return timestamp, signatures


def verify_timestamped(
    payload: bytes,
    header: str | None,
    secret: str | bytes | Secret | None,
    *,
    tolerance: float = 300,
    now: float | None = None,
    scheme: str = "v1",
) -> int:
    """Check a ``t=…,v1=…[,v1=…]`` signature header (Stripe's scheme); return its timestamp.

    Passes when any ``v1`` matches the HMAC-SHA256 of ``f"{t}.{payload}"``; several appear while a
    secret is rotated. The timestamp must lie within ``tolerance`` seconds of ``now`` in *both*
    directions: a signature from the future is as suspect as a stale one.
    """
    if not secret:
        raise InvalidSignature("no webhook secret configured")
    if not isinstance(payload, _RAW):
        raise InvalidSignature("the payload must be the raw request body (bytes)")
    if not header or not isinstance(header, str) or len(header) > _MAX_HEADER:
        raise InvalidSignature("missing signature header")
    timestamp, signatures = _parse_timestamped(header, scheme)
    expected = hmac_sha256_hex(secret, str(timestamp).encode() + b"." + bytes(payload)).encode()
    matched = False
    for candidate in signatures:
        # No early exit: the time taken must not tell which candidate matched.
        matched |= hmac.compare_digest(expected, candidate.encode("ascii", "replace"))
    if not matched:
        raise InvalidSignature("no signature matches the payload")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("signature timestamp is outside the tolerance")
    return timestamp
