"""Stripe's request encoding: form fields with bracketed keys, decoded into nested values.

``line_items[0][price_data][unit_amount]=500`` becomes
``{"line_items": {"0": {"price_data": {"unit_amount": "500"}}}}``; ``expand[]=a&expand[]=b``
becomes ``{"expand": ["a", "b"]}``. Indexed arrays stay dicts keyed by index here; the parameter
schemas (:mod:`._params`) turn them into lists and report bad input with the bracketed name.
"""

from __future__ import annotations

from typing import Any, Final

from paywire_sandbox._input import InputRejected, parse_form
from paywire_sandbox.stripe._errors import param_error

__all__ = ["MAX_DEPTH", "MAX_FIELDS", "decode_form", "param_name"]

#: Most fields one request may carry (100 line items of a dozen fields fit many times over).
MAX_FIELDS: Final = 5000
#: Most segments one name may have (``a[b][c]`` has three); Stripe's deepest parameters have
#: fewer than ten, which a test checks against the SDK's parameter types.
MAX_DEPTH: Final = 16


def param_name(segments: list[str]) -> str:
    """``["line_items", "0", "price"]`` -> ``line_items[0][price]`` (how Stripe names params)."""
    if not segments:
        return ""
    return segments[0] + "".join(f"[{s}]" for s in segments[1:])


def _split_key(key: str) -> list[str]:
    start = key.find("[")
    if start < 0:
        segments = [key]
    else:
        if not key.endswith("]") or start == 0:
            raise param_error(f"Invalid parameter name: {key}", param=key)
        segments = [key[:start], *key[start + 1 : -1].split("][")]
    for seg in segments:
        if "[" in seg or "]" in seg:
            raise param_error(f"Invalid parameter name: {key}", param=key)
    if not segments[0]:
        raise param_error(f"Invalid parameter name: {key}", param=key)
    if len(segments) > MAX_DEPTH:
        raise param_error(
            f"Invalid parameter name: {key[:200]}: nested more than {MAX_DEPTH} levels deep.",
            param=key[:200],
        )
    return segments


def _conflict(segments: list[str]) -> Exception:
    name = param_name(segments)
    return param_error(
        f"Invalid value for {name}: it was sent both as a single value and as a hash or array.",
        param=name,
    )


def _insert(node: dict[str, Any], segments: list[str], value: str, prefix: list[str]) -> None:
    seg = segments[0]
    here = [*prefix, seg]
    if seg == "":
        raise param_error(f"Invalid parameter name: {param_name(here)}", param=param_name(here))
    rest = segments[1:]
    if not rest:
        existing = node.get(seg)
        if existing is not None and not isinstance(existing, str):
            raise _conflict(here)
        node[seg] = value  # a repeated key: the last one wins
        return
    child = node.get(seg)
    if rest[0] == "":
        if child is None:
            child = []
            node[seg] = child
        elif not isinstance(child, list):
            raise _conflict(here)
        after = rest[1:]
        if not after:
            child.append(value)
            return
        # "a[][k]=...": fill the newest element unless it already has this key (Rails-style).
        if not child or not isinstance(child[-1], dict) or after[0] in child[-1]:
            child.append({})
        _insert(child[-1], after, value, [*here, str(len(child) - 1)])
        return
    if child is None:
        child = {}
        node[seg] = child
    elif not isinstance(child, dict):
        raise _conflict(here)
    _insert(child, rest, value, here)


def decode_form(raw: bytes | str) -> dict[str, Any]:
    """Decode a form body or query string into nested dicts, lists and strings.

    Raises a Stripe ``invalid_request_error`` (never a 500) for names it cannot read.
    """
    try:
        pairs = parse_form(raw, max_fields=MAX_FIELDS)
    except InputRejected as exc:
        raise param_error(f"Invalid request: {exc.message}.") from None
    result: dict[str, Any] = {}
    for key, value in pairs:
        if "[" not in key:
            if not key:
                continue
            existing = result.get(key)
            if existing is not None and not isinstance(existing, str):
                raise _conflict([key])
            result[key] = value
            continue
        _insert(result, _split_key(key), value, [])
    return result
