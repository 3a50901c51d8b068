"""Card-number checks every card-taking fake needs, written once for all of them."""

from __future__ import annotations

__all__ = ["luhn_valid"]


def luhn_valid(number: str) -> bool:
    """Whether ``number`` (12 to 19 ASCII digits, nothing else) passes the Luhn checksum."""
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0
