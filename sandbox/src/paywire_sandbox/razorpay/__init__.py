"""The sandbox's fake of Razorpay's API (payment links, recurring card payments, refunds).

Registered through the ``paywire_sandbox`` entry-point group like any third-party fake; see
:mod:`paywire_sandbox.razorpay._fake` for what it supports and how to drive it.
"""

from __future__ import annotations

from collections.abc import Callable

from paywire_sandbox._fake import Fake
from paywire_sandbox._plugins import hookimpl
from paywire_sandbox.razorpay._cards import OUTCOME_CARDS, CardFailure, TestCard, card_for_number
from paywire_sandbox.razorpay._errors import RazorpayError, error_body
from paywire_sandbox.razorpay._fake import ACCOUNT_ID, RazorpayFake

__all__ = [
    "ACCOUNT_ID",
    "OUTCOME_CARDS",
    "CardFailure",
    "RazorpayError",
    "RazorpayFake",
    "TestCard",
    "card_for_number",
    "error_body",
    "paywire_sandbox_register_fakes",
]


@hookimpl
def paywire_sandbox_register_fakes(register: Callable[[type[Fake]], None]) -> None:
    """Register :class:`RazorpayFake` with the sandbox."""
    register(RazorpayFake)
