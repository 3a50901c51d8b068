"""The Stripe fake: Stripe's HTTP API, hosted Checkout, test cards and signed webhooks.

Registered with the sandbox through the ``paywire_sandbox_register_fakes`` hook, exactly as a
third-party fake would be. See :mod:`paywire_sandbox.stripe._fake` for the routes it serves.
"""

from __future__ import annotations

from collections.abc import Callable

from paywire_sandbox._fake import Fake
from paywire_sandbox._plugins import hookimpl
from paywire_sandbox.stripe._fake import StripeFake

__all__ = ["StripeFake", "paywire_sandbox_register_fakes"]


@hookimpl
def paywire_sandbox_register_fakes(register: Callable[[type[Fake]], None]) -> None:
    """Register :class:`StripeFake`."""
    register(StripeFake)
