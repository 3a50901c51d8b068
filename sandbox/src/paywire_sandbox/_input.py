"""Bounded decoding of request bodies, written once for the control API and every fake.

A client can send anything: a body of many megabytes, thousands of form fields, JSON nested so
deep that a recursive decoder overflows the stack. Each helper here reads or decodes within
explicit limits and raises :class:`InputRejected` — which the caller turns into its provider's
own 4xx — instead of letting the input reach code that would fail with a 500.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.requests import Request

__all__ = [
    "MAX_JSON_DEPTH",
    "InputRejected",
    "json_depth",
    "parse_form",
    "parse_json",
    "read_body",
]

#: Deepest JSON nesting the sandbox decodes (containers inside containers).
MAX_JSON_DEPTH: Final = 32


class InputRejected(ValueError):
    """Input outside the sandbox's limits or not decodable; ``too_large`` means 413, else 400."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or :class:`InputRejected` (``too_large``) past ``limit`` bytes.

    Reads the stream chunk by chunk, so an oversized body is refused without being held whole.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InputRejected(f"the body is larger than {limit} bytes", too_large=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputRejected(f"the body is larger than {limit} bytes", too_large=True)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_form(raw: bytes | str, *, max_fields: int, max_key: int = 1000) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` pairs (blank values kept), within the limits.

    Bytes that are not UTF-8 are replaced, as browsers' servers do; more than ``max_fields``
    pairs or a name longer than ``max_key`` characters is :class:`InputRejected`.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    if not text:
        return []
    # Counting separators first keeps parse_qsl from building a huge list only to refuse it.
    if text.count("&") >= max_fields:
        raise InputRejected(f"the form has more than {max_fields} fields")
    pairs = parse_qsl(text, keep_blank_values=True)
    for key, _ in pairs:
        if len(key) > max_key:
            raise InputRejected(f"a field name is longer than {max_key} characters")
    return pairs


def json_depth(value: Any) -> int:
    """How deeply containers nest in a decoded JSON value (a scalar is 0), without recursion."""
    depth = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        depth = max(depth, level)
        stack.extend((child, level) for child in children)
    return depth


def parse_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON; invalid text or nesting deeper than ``max_depth`` is :class:`InputRejected`."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise InputRejected(f"the JSON is nested more than {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputRejected(f"the body is not valid JSON: {exc}") from None
    if json_depth(value) > max_depth:
        raise InputRejected(f"the JSON is nested more than {max_depth} levels deep")
    return value
