"""The PayPal fake: OAuth2, Orders v2, Payments v2, Vault v3 and signed webhooks.

See :mod:`paywire_sandbox.paypal._fake` for the rules it follows and its control routes.
"""

from __future__ import annotations

from collections.abc import Callable

from paywire_sandbox._fake import Fake
from paywire_sandbox._plugins import hookimpl
from paywire_sandbox.paypal._fake import PayPalFake

__all__ = ["PayPalFake", "paywire_sandbox_register_fakes"]


@hookimpl
def paywire_sandbox_register_fakes(register: Callable[[type[Fake]], None]) -> None:
    """Register :class:`PayPalFake` with the sandbox."""
    register(PayPalFake)
