"""Razorpay-style identifiers: a prefix and 14 base-62 characters."""

from __future__ import annotations

import hashlib
import secrets
import string

__all__ = ["digest_id", "new_id"]

_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_LENGTH = 14


def new_id(prefix: str) -> str:
    """A fresh random id such as ``pay_Fo49sHbQ78PCMI`` (``prefix`` without the underscore)."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{prefix}_{body}" if prefix else body


def digest_id(data: bytes) -> str:
    """A stable 14-character id derived from ``data`` (the same bytes always give the same id)."""
    number = int.from_bytes(hashlib.sha256(data).digest()[:16], "big")
    chars = []
    for _ in range(_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)
