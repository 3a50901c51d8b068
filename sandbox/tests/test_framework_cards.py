"""The card-number check shared by the fakes (``paywire_sandbox._cards``)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire_sandbox._cards import luhn_valid


@given(st.text(alphabet=string.digits, min_size=11, max_size=18), st.integers(0, 9))
def test_luhn_detects_a_changed_digit(body: str, delta: int) -> None:
    check = next(d for d in string.digits if luhn_valid(body + d))
    number = body + check
    position = len(body) // 2
    changed = str((int(number[position]) + 1 + delta % 9) % 10)
    tampered = number[:position] + changed + number[position + 1 :]
    assert not luhn_valid(tampered)


@pytest.mark.parametrize(
    "number",
    ["4242424242424242", "4000002760003184", "378282246310005", "424242424242"],
)
def test_known_card_numbers_pass(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "",
        "42424242424",  # 11 digits: too short for a card
        "42424242424242424242",  # 20 digits: too long
        "4242 4242 4242 4242",  # separators are the caller's to strip
        "4242-4242-4242-4242",
        "424242424242424\N{ARABIC-INDIC DIGIT TWO}",  # a digit, but not an ASCII one
        "424242424242424\N{SUPERSCRIPT TWO}",
    ],
)
def test_anything_but_12_to_19_ascii_digits_fails(number: str) -> None:
    assert not luhn_valid(number)
