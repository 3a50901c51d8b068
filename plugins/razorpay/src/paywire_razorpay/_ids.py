"""Razorpay ids: checked before they go into a URL path, and saved methods under their customer.

A Razorpay token is read, charged and deleted through its customer
(``/v1/customers/{cust_id}/tokens/{token_id}``). paywire names a saved card
``SavedPaymentMethod(id="token_…", customer_id="cust_…")``. Before paywire-razorpay 0.2 the id
itself carried both, ``"cust_…/token_…"``; apps may have stored such ids, so they are still
accepted wherever a saved method is (and answered in the same form).
"""

from __future__ import annotations

import re
import warnings
from typing import Final

import attrs

from paywire import InvalidRequest, PaywireDeprecationWarning, SavedPaymentMethod

__all__ = ["MethodRef", "entity_id", "method_id", "method_ref", "split_method_id"]

_PROVIDER: Final = "razorpay"
# Razorpay ids are a prefix and 14 base62 characters; allow some slack, nothing that changes a
# URL's path.
_ENTITY_ID: Final = re.compile(r"[A-Za-z0-9_]{1,64}")


def entity_id(value: object, prefix: str, what: str) -> str:
    """``value`` if it can be a Razorpay id of this kind (``pay_…``); it goes into a URL path,
    so anything else is :class:`paywire.InvalidRequest`, before any HTTP."""
    if isinstance(value, str) and value.startswith(prefix) and _ENTITY_ID.fullmatch(value):
        return value
    raise InvalidRequest(f"{value!r} is not a Razorpay {what} id ({prefix}…)", provider=_PROVIDER)


@attrs.frozen
class MethodRef:
    """A saved card as Razorpay addresses it. ``given`` is the id the caller used (a token id,
    or an old ``"cust_…/token_…"`` id), which answers name it by."""

    customer_id: str
    token_id: str
    given: str


def method_ref(method: SavedPaymentMethod) -> MethodRef:
    """Where ``method`` lives: its token and customer, from ``SavedPaymentMethod(id="token_…",
    customer_id="cust_…")`` or an old ``"cust_…/token_…"`` id. Raises
    :class:`paywire.InvalidRequest` (before any HTTP) when the customer is unknown or the ids
    are not Razorpay's."""
    given = method.id
    customer, sep, token = given.partition("/")
    if not sep:
        token, customer = given, method.customer_id or ""
        if not customer:
            raise InvalidRequest(
                f"Razorpay keeps token {given!r} under its customer: pass the "
                "SavedPaymentMethod with its customer_id (cust_…), not the bare id",
                provider=_PROVIDER,
            )
    elif method.customer_id and method.customer_id != customer:
        raise InvalidRequest(
            f"payment method {given!r} belongs to {customer}, not to {method.customer_id}",
            provider=_PROVIDER,
        )
    return MethodRef(
        customer_id=entity_id(customer, "cust_", "customer"),
        token_id=entity_id(token, "token_", "token"),
        given=given,
    )


def method_id(customer_id: str, token_id: str) -> str:
    """The old composite id ``"cust_Y/token_X"``. Deprecated: a saved card is
    ``SavedPaymentMethod(id=token_id, customer_id=customer_id)``."""
    warnings.warn(
        "paywire_razorpay.method_id is deprecated: saved cards are "
        "SavedPaymentMethod(id='token_…', customer_id='cust_…')",
        PaywireDeprecationWarning,
        stacklevel=2,
    )
    return f"{customer_id}/{token_id}"


def split_method_id(value: str, customer_id: str | None = None) -> tuple[str, str]:
    """``(customer_id, token_id)`` from ``"cust_Y/token_X"``, or from a bare ``token_X`` and
    ``customer_id``; raises :class:`paywire.InvalidRequest` for anything else. Deprecated: pass
    the :class:`~paywire.SavedPaymentMethod` to the provider."""
    warnings.warn(
        "paywire_razorpay.split_method_id is deprecated: pass the SavedPaymentMethod "
        "(id='token_…', customer_id='cust_…') to the provider",
        PaywireDeprecationWarning,
        stacklevel=2,
    )
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{value!r} is not a Razorpay payment method id", provider=_PROVIDER)
    ref = method_ref(SavedPaymentMethod(_PROVIDER, value, customer_id))
    return ref.customer_id, ref.token_id
