"""One cattrs converter for the JSON-safe dict shape of every paywire type (storage, CLI, fixtures).

Decimals travel as strings (never floats), datetimes as ISO 8601 with their offset, enums as their
values, tuples as lists.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import cattrs

from paywire._errors import InvalidAmount
from paywire._money import Money

__all__ = ["from_json_dict", "make_converter", "to_json_dict"]

T = TypeVar("T")


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidAmount(f"decimal amounts travel as strings, got {type(value).__name__}")
    return Decimal(value)


def _structure_datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.utcoffset() is None:
        raise ValueError(f"datetime {value!r} has no UTC offset")
    return parsed


def _structure_json_mapping(value: Any, _: type) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return dict(value)


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_int(value: Any, _: type) -> int:
    # cattrs' default is int(value): a quantity of 2.7 would quietly become 2.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _structure_money(value: Any, _: type) -> Money:
    # Strict like the attrs classes (forbid_extra_keys): a stray key is a sign of the wrong shape.
    if not isinstance(value, Mapping):
        raise TypeError(f"money is an object, got {type(value).__name__}")
    if set(value) != {"amount", "currency"}:
        raise ValueError(f"money has exactly amount and currency, got {sorted(map(str, value))}")
    return Money(_structure_decimal(value["amount"], Decimal), value["currency"])


def make_converter() -> cattrs.Converter:
    """A new converter configured for paywire's types."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    # Strict scalars: what comes back from storage is what was written, or an error.
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook(Decimal, _structure_decimal)
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(
        Money, lambda money: {"amount": str(money.amount), "currency": money.currency}
    )
    converter.register_structure_hook(Money, _structure_money)
    # A parametrized generic is not a class, so it is matched by a predicate, not registered.
    converter.register_structure_hook_func(
        lambda cls: cls == Mapping[str, Any], _structure_json_mapping
    )
    return converter


@functools.cache
def _default() -> cattrs.Converter:
    return make_converter()


def to_json_dict(value: Any) -> Any:
    """``value`` (any paywire type) as JSON-safe dicts, lists and strings."""
    return _default().unstructure(value)


def from_json_dict(data: Any, cls: type[T]) -> T:
    """Rebuild a ``cls`` from :func:`to_json_dict`'s output."""
    return _default().structure(data, cls)
