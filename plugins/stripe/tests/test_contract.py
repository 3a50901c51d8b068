"""paywire's contract suite, run for Stripe (sandbox mode by default; ``--paywire-mode replay``
serves the recorded fixtures in ``fixtures/contract``)."""

from __future__ import annotations

from paywire_contract import ProviderContractSuite
from paywire_stripe.contract import StripeHarness


class TestStripeContract(ProviderContractSuite):
    """Every standard test, unchanged."""

    harness = StripeHarness()
