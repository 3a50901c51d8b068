"""Readers for fields of PayPal's JSON answers and events: an absent or mistyped field reads as
"nothing" instead of raising, so each caller decides what a missing value means."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

__all__ = ["as_list", "as_mapping", "aware_time", "str_or_none"]


def str_or_none(value: object) -> str | None:
    """A non-empty string, else ``None``."""
    return value if isinstance(value, str) and value else None


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def as_mapping(value: object) -> Mapping[str, Any]:
    """A JSON object, else an empty one."""
    # Parsed JSON objects are dicts: checking for one first spares the slower ABC check.
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return _EMPTY


def as_list(value: object) -> list[Any]:
    """A JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def aware_time(value: object) -> datetime | None:
    """An RFC 3339 time with its offset (``2024-05-01T12:00:00Z``), else ``None``: a time
    without an offset says nothing exact."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.utcoffset() is not None else None
