"""Idempotency keys: one per operation, made before its first attempt.

Kept apart from the HTTP module so that making a key never imports httpx, and so that there is
one place that makes them: the contract suite replaces :data:`make_key` while it records and
replays, so that a key made during a recording is made again when it is replayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

__all__ = ["new_idempotency_key"]


def _uuid_key() -> str:
    return str(uuid.uuid4())


#: What makes a new key (a UUID4); replaceable for deterministic record and replay.
make_key: Callable[[], str] = _uuid_key


def new_idempotency_key() -> str:
    """A fresh key for one operation; pass the same key again to retry that operation."""
    return make_key()
