"""Reading webhook bodies safely: bounded JSON and form parsing, and the text checks every id
and type must pass before it is stored.

A signed body is still input: it may be nested thousands deep (Python's parser then raises
``RecursionError``, and so does anything that walks the result), carry thousands of form fields,
or hold a NUL or a lone surrogate that no database column takes. Each of those is a
:class:`~paywire.MalformedWebhook` — a client error that sending the body again cannot fix.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

from paywire._errors import MalformedWebhook

__all__ = [
    "MAX_FORM_FIELDS",
    "MAX_JSON_DEPTH",
    "check_text",
    "parse_form_body",
    "parse_json_body",
    "valid_text",
]

#: How deep a webhook's JSON may nest (objects and arrays). Providers' events nest less than 15.
MAX_JSON_DEPTH: Final = 64
#: How many fields a form-encoded webhook may carry.
MAX_FORM_FIELDS: Final = 1000


def _depth(value: Any) -> int:
    """The nesting depth of parsed JSON, without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in item)
    return deepest


_DECODER = json.JSONDecoder()
_JSON_SPACE = " \t\n\r"


def parse_json_body(
    body: bytes, *, provider: str | None = None, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """``body`` parsed as JSON, refusing what cannot be held safely.

    Raises :class:`~paywire.MalformedWebhook` for a body that is not UTF-8 JSON (RFC 8259 wants
    UTF-8 between systems; a UTF-8 byte-order mark is allowed) or that nests deeper than
    ``max_depth``. The text goes to the decoder's scanner directly (``json.loads`` on bytes first
    guesses among UTF-8/16/32, which costs a tenth of the parse), and counting brackets keeps the
    depth check to one C-level scan in the common case: a body with fewer brackets than the limit
    cannot nest deeper than it.
    """
    try:
        text = body if isinstance(body, str) else body.decode("utf-8")
        text = text.removeprefix("\ufeff").strip(_JSON_SPACE)
        payload, end = _DECODER.raw_decode(text)
        if end != len(text):
            raise ValueError("extra data after the JSON value")
    except RecursionError:
        raise MalformedWebhook("the JSON body nests too deeply", provider=provider) from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise MalformedWebhook(
            f"the body is not JSON ({type(exc).__name__})", provider=provider
        ) from None
    if text.count("{") + text.count("[") > max_depth and _depth(payload) > max_depth:
        raise MalformedWebhook(f"the JSON body nests deeper than {max_depth}", provider=provider)
    return payload


def parse_form_body(
    body: bytes, *, provider: str | None = None, max_fields: int = MAX_FORM_FIELDS
) -> dict[str, str]:
    """A form-encoded (``application/x-www-form-urlencoded``) body as a dict (the last value of a
    repeated field wins). Raises :class:`~paywire.MalformedWebhook` for a body that is not such
    a form, has more than ``max_fields`` fields, or carries invalid text."""
    try:
        text = body.decode("utf-8")
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=max_fields
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedWebhook(
            f"the body is not a form ({type(exc).__name__})", provider=provider
        ) from None
    form = dict(pairs)
    for key, value in form.items():
        check_text(key, "a form field name", provider=provider)
        check_text(value, f"form field {key!r}", provider=provider)
    return form


def valid_text(value: str) -> bool:
    """Whether ``value`` can be stored anywhere text is: no NUL, no lone surrogate."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(value: object, what: str, *, provider: str | None = None) -> None:
    """Raise :class:`~paywire.MalformedWebhook` unless ``value`` (when a str) is valid text."""
    if isinstance(value, str) and not valid_text(value):
        raise MalformedWebhook(f"{what} holds a NUL or a lone surrogate", provider=provider)


def check_mapping_text(
    values: Mapping[str, Any], what: str, *, provider: str | None = None
) -> None:
    """:func:`check_text` for every str value of ``values``."""
    for key, value in values.items():
        check_text(value, f"{what} {key}", provider=provider)
