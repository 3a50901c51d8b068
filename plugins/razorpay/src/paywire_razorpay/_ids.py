"""Saved payment-method ids: a Razorpay token only exists under its customer.

Razorpay reads, charges and deletes a token through its customer
(``/v1/customers/{cust_id}/tokens/{token_id}``), so paywire's id for a saved card carries both:
``"cust_Y/token_X"``. That is :attr:`paywire.SavedPaymentMethod.id`,
:attr:`paywire.PaymentMethodInfo.id` and what :meth:`get_payment_method_details` and
:meth:`detach_payment_method` take. A bare ``token_X`` is accepted where the customer is known
separately (``SavedPaymentMethod.customer_id``).
"""

from __future__ import annotations

import re
from typing import Final

import paywire

__all__ = ["method_id", "split_method_id"]

_PROVIDER: Final = "razorpay"
_PART: Final = re.compile(r"^[A-Za-z0-9_]+$")


def method_id(customer_id: str, token_id: str) -> str:
    """paywire's id for ``token_id`` of ``customer_id``: ``"cust_Y/token_X"``."""
    return f"{customer_id}/{token_id}"


def split_method_id(value: str, customer_id: str | None = None) -> tuple[str, str]:
    """``(customer_id, token_id)`` from ``"cust_Y/token_X"``, or from a bare ``token_X`` and
    ``customer_id``. Raises :class:`paywire.InvalidRequest` for anything else (before any HTTP,
    so an id can never put another path into a request URL)."""
    customer, sep, token = value.partition("/") if isinstance(value, str) else ("", "", "")
    if not sep:
        customer, token = customer_id or "", value if isinstance(value, str) else ""
    elif customer_id and customer_id != customer:
        raise paywire.InvalidRequest(
            f"payment method {value!r} belongs to {customer}, not to {customer_id}",
            provider=_PROVIDER,
        )
    if not (customer.startswith("cust_") and _PART.match(customer)) or not (
        token.startswith("token_") and _PART.match(token)
    ):
        raise paywire.InvalidRequest(
            f"{value!r} is not a Razorpay payment method id: expected 'cust_…/token_…'",
            provider=_PROVIDER,
        )
    return customer, token
