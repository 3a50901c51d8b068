"""minipay, the provider written against paywire API 1.0, imported once for every test.

minipay imports plugin helpers from their old place (``from paywire import get_header`` …), which
paywire 1.1 still allows with a :class:`paywire.PaywireDeprecationWarning`. The test run turns
warnings into errors, so the import happens here, once, with exactly those warnings let through
and kept in :data:`IMPORT_WARNINGS` (``test_legacy.py`` checks what they say); every later
``import minipay`` finds the module already loaded.
"""

from __future__ import annotations

import warnings

import starlette.responses
import starlette.routing

import paywire
import paywire_contract
import paywire_sandbox

__all__ = ["IMPORT_WARNINGS", "minipay"]

# The modules minipay needs are imported above, so that only minipay's own warnings are caught.
_PRELOADED = (paywire, paywire_contract, paywire_sandbox, starlette.responses, starlette.routing)

with warnings.catch_warnings(record=True) as _caught:
    warnings.simplefilter("always")
    import minipay

#: Every warning importing minipay raised.
IMPORT_WARNINGS: list[warnings.WarningMessage] = list(_caught)

#: What minipay, frozen as it was written for API 1.0, cannot pass under today's suite — each a
#: real defect the first suite did not look for, declared rather than hidden.
EXCEPTIONS: dict[str, str] = {
    "test_checkout_saves_method": (
        "minipay declares every capability, save_on_checkout included, but its checkout never "
        "saves the payment method"
    ),
}


class LegacyMiniHarness(minipay.MiniHarness):
    """minipay's own harness, with :data:`EXCEPTIONS` declared (harness API v2)."""

    declared_exceptions = EXCEPTIONS
