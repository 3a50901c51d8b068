"""``parse_json_body``: what a webhook body may be; JSON reads as ``json.loads`` reads it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire import MalformedWebhook
from paywire.plugin import parse_json_body

JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(
    value=JSON_VALUES, indent=st.sampled_from([None, 0, 2]), pad=st.sampled_from(["", " \n\t\r"])
)
def test_utf8_json_reads_as_json_loads_reads_it(value: Any, indent: int | None, pad: str) -> None:
    body = (pad + json.dumps(value, indent=indent, ensure_ascii=False) + pad).encode()
    assert parse_json_body(body) == json.loads(body)


def test_a_utf8_byte_order_mark_is_allowed() -> None:
    assert parse_json_body(b'\xef\xbb\xbf{"id": "evt_1"}') == {"id": "evt_1"}


@pytest.mark.parametrize(
    "body",
    [
        '{"id": "evt_1"}'.encode("utf-16"),  # RFC 8259: UTF-8 between systems
        '{"id": "evt_1"}'.encode("utf-32-le"),
        b'{"id": "evt_\xff"}',
        b'{"id": "evt_1"} {"id": "evt_2"}',
        b'{"id": "evt_1"},',
        b"",
        b"   ",
        b"\xef\xbb\xbf",
        b"id=evt_1&type=paid",
    ],
)
def test_what_is_not_one_utf8_json_value_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedWebhook, match="not JSON"):
        parse_json_body(body, provider="acme")


def test_depth_is_bounded_even_when_python_could_parse_it() -> None:
    assert parse_json_body(b"[" * 5 + b"]" * 5, max_depth=5) == [[[[[]]]]]
    with pytest.raises(MalformedWebhook, match="deeper than 5"):
        parse_json_body(b"[" * 6 + b"]" * 6, max_depth=5)
    with pytest.raises(MalformedWebhook, match="nests too deeply"):
        parse_json_body(b"[" * 100_000 + b"]" * 100_000)
