"""What Razorpay takes as a customer's name, email and phone number, checked before sending.

Razorpay's rules (API reference, customers entity): a name is "Alphanumeric, with period (.),
apostrophe ('), forward slash (/), at (@) and parentheses allowed" and "between 3-50 characters";
a contact is "A maximum length of 15 characters including country code" and "at least 8 digits".
Registration links need all three ("customer: name, email, contact — mandatory"), and recurring
payments need the email and the contact.
"""

from __future__ import annotations

import re
from typing import Final

from paywire import InvalidRequest

__all__ = ["contact", "customer_name", "email"]

_PROVIDER: Final = "razorpay"
# Letters and digits as ASCII: "alphanumeric" in Razorpay's rule; spaces separate names in every
# example Razorpay gives ("Gaurav Kumar").
_NAME: Final = re.compile(r"[A-Za-z0-9 .'/@()]{3,50}")
_CONTACT: Final = re.compile(r"\+?[0-9]{8,15}")
# What people write inside phone numbers and Razorpay does not take.
_SEPARATORS: Final = str.maketrans("", "", " -.()")
# An address Razorpay could take: something@domain.tld, 64 characters at most (its limit).
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MAX_EMAIL: Final = 64


def customer_name(value: str | None, *, required: bool, where: str) -> str | None:
    """``value`` if Razorpay takes it as a customer's name; ``None`` when absent and not
    ``required``. Never made up from the email or the app's id: those do not follow the rule."""
    if value is None or value == "":
        if required:
            raise InvalidRequest(
                f"{where} needs the customer's name (Customer.name)", provider=_PROVIDER
            )
        return None
    if not _NAME.fullmatch(value):
        raise InvalidRequest(
            f"Razorpay refuses the customer name {value!r} for {where}: it takes 3 to 50 "
            "letters, digits, spaces and . ' / @ ( )",
            provider=_PROVIDER,
        )
    return value


def email(value: str | None, *, required: bool, where: str) -> str | None:
    """``value`` if it can be an email address Razorpay takes."""
    if value is None or value == "":
        if required:
            raise InvalidRequest(
                f"{where} needs the customer's email (Customer.email)", provider=_PROVIDER
            )
        return None
    if len(value) > _MAX_EMAIL or not _EMAIL.fullmatch(value):
        raise InvalidRequest(
            f"{value!r} is not an email address Razorpay takes for {where}", provider=_PROVIDER
        )
    return value


def contact(value: str | None, *, required: bool, where: str) -> str | None:
    """A phone number as Razorpay takes it (``+919876543210``): spaces, dashes, dots and
    parentheses removed, then an optional ``+`` and 8 to 15 digits, 15 characters at most."""
    if value is None or value == "":
        if required:
            raise InvalidRequest(
                f"{where} needs the customer's phone number (Customer.phone, e.g. "
                "'+919876543210'): Razorpay requires a contact",
                provider=_PROVIDER,
            )
        return None
    compact = value.translate(_SEPARATORS)
    if len(compact) > 15 or not _CONTACT.fullmatch(compact):
        raise InvalidRequest(
            f"Razorpay refuses the phone number {value!r} for {where}: it takes 8 to 15 "
            "digits with an optional leading +, 15 characters at most",
            provider=_PROVIDER,
        )
    return compact
