"""The handlers' own validators: what the sandbox implements, and what the SDK types cannot say.

Every request is first checked against the official schema (:mod:`._official`, read from the
stripe SDK): unknown, missing and mistyped parameters never reach these validators. They check
what the types cannot express (lengths, formats, integer ranges) with Stripe's error for it, and
convert values to Python types. A parameter or enum value that Stripe documents but the sandbox
does not implement is refused here with a message that says so — never with Stripe's
``parameter_unknown``, which would claim Stripe itself refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from paywire_sandbox.stripe._errors import StripeError, param_error

__all__ = [
    "Validator",
    "array",
    "boolean",
    "enum",
    "expand",
    "integer",
    "metadata",
    "obj",
    "parse",
    "string",
]

#: A validator takes the decoded raw value and its parameter name, and returns the typed value.
Validator = Callable[[Any, str], Any]


def _empty(name: str) -> StripeError:
    return param_error(
        f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from "
        "your request or supply a non-empty value.",
        param=name,
        code="parameter_invalid_empty",
    )


def _not_scalar(name: str, what: str) -> StripeError:
    return param_error(f"Invalid {what}: {name} must be a {what}, not a hash or array.", param=name)


def string(*, max_length: int = 5000, nullable: bool = False) -> Validator:
    """A string; ``nullable`` ones take ``""`` to mean unset (``None``)."""

    def check(raw: Any, name: str) -> str | None:
        if not isinstance(raw, str):
            raise _not_scalar(name, "string")
        if raw == "":
            if nullable:
                return None
            raise _empty(name)
        if len(raw) > max_length:
            raise param_error(
                f"Invalid string: {raw[:20]}...; must be at most {max_length} characters",
                param=name,
            )
        return raw

    return check


def integer(*, minimum: int | None = None, maximum: int | None = None) -> Validator:
    """A base-10 integer, written as Stripe accepts it (``Invalid integer: 10.99`` otherwise)."""

    def check(raw: Any, name: str) -> int:
        if not isinstance(raw, str):
            raise _not_scalar(name, "integer")
        if raw == "":
            raise _empty(name)
        text = raw[1:] if raw[0] in "+-" else raw
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            raise param_error(
                f"Invalid integer: {raw[:40]}", param=name, code="parameter_invalid_integer"
            )
        value = int(raw)
        if minimum is not None and value < minimum:
            raise param_error(f"This value must be greater than or equal to {minimum}.", param=name)
        if maximum is not None and value > maximum:
            raise param_error(f"This value must be less than or equal to {maximum}.", param=name)
        return value

    return check


_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def boolean(raw: Any, name: str) -> bool:
    """``true``/``false`` as the SDKs send them."""
    if not isinstance(raw, str):
        raise _not_scalar(name, "boolean")
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    if raw == "":
        raise _empty(name)
    raise param_error(f"Invalid boolean: {raw[:40]}", param=name)


def _one_of(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return values[0]
    return ", ".join(values[:-1]) + f", or {values[-1]}"


def enum(*values: str, nullable: bool = False) -> Validator:
    """One of a fixed set of strings."""
    allowed = frozenset(values)

    def check(raw: Any, name: str) -> str | None:
        if not isinstance(raw, str):
            raise _not_scalar(name, "string")
        if raw == "" and nullable:
            return None
        if raw not in allowed:
            if raw == "":
                raise _empty(name)
            raise param_error(
                f"The sandbox does not implement {name}={raw[:40]}; it implements "
                f"{_one_of(values)}.",
                param=name,
            )
        return raw

    return check


def metadata(raw: Any, name: str) -> dict[str, str | None]:
    """Metadata: up to 50 keys of at most 40 characters, values up to 500; ``""`` unsets."""
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise param_error(
            f"Invalid {name}: must be a hash of key-value pairs (e.g. {name}[key]=value).",
            param=name,
        )
    if len(raw) > 50:
        raise param_error(f"Invalid {name}: {name} can have up to 50 keys.", param=name)
    result: dict[str, str | None] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise _not_scalar(f"{name}[{key}]", "string")
        if len(key) > 40:
            raise param_error(
                f"Invalid {name}: keys can be at most 40 characters ({key[:40]}...).",
                param=f"{name}[{key[:40]}]",
            )
        if len(value) > 500:
            raise param_error(
                f"Invalid {name}: values can be at most 500 characters.", param=f"{name}[{key}]"
            )
        result[key] = value if value != "" else None
    return result


def _items(raw: Any, name: str) -> list[tuple[str, Any]]:
    if isinstance(raw, list):
        return [(str(i), v) for i, v in enumerate(raw)]
    if isinstance(raw, dict):
        try:
            keyed = sorted((int(k), k, v) for k, v in raw.items())
        except ValueError:
            raise param_error(
                f"Invalid array: {name} must be an array (e.g. {name}[0]=...).", param=name
            ) from None
        return [(k, v) for _, k, v in keyed]
    if raw == "":
        return []
    raise param_error(f"Invalid array: {name} must be an array (e.g. {name}[0]=...).", param=name)


def array(item: Validator, *, max_items: int = 100) -> Validator:
    """An array, sent indexed (``a[0]=``) as stripe-python does, or as ``a[]=``."""

    def check(raw: Any, name: str) -> list[Any]:
        items = _items(raw, name)
        if len(items) > max_items:
            raise param_error(
                f"Invalid array: {name} can have at most {max_items} items.", param=name
            )
        return [item(value, f"{name}[{key}]") for key, value in items]

    return check


expand = array(string(max_length=5000), max_items=20)


def obj(schema: Mapping[str, Validator], *, required: tuple[str, ...] = ()) -> Validator:
    """A hash with known keys; unknown keys and missing required keys are rejected."""

    def check(raw: Any, name: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            if raw == "":
                return {}
            raise param_error(f"Invalid object: {name} must be a hash.", param=name)
        return _check_fields(raw, schema, required, name)

    return check


def _check_fields(
    raw: Mapping[str, Any],
    schema: Mapping[str, Validator],
    required: tuple[str, ...],
    prefix: str,
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in raw.items():
        full = f"{prefix}[{key}]" if prefix else key
        validator = schema.get(key)
        if validator is None:
            raise param_error(
                f"The sandbox does not implement the parameter {full} (Stripe documents it).",
                param=full,
            )
        result[key] = validator(value, full)
    for key in required:
        if key not in result:
            full = f"{prefix}[{key}]" if prefix else key
            raise param_error(
                f"Missing required param: {full}.", param=full, code="parameter_missing"
            )
    return result


def parse(
    raw: Mapping[str, Any], schema: Mapping[str, Validator], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Validate a whole request's decoded parameters against ``schema``."""
    return _check_fields(raw, schema, required, "")
