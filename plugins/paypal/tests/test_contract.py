"""paywire's contract suite, run for PayPal (sandbox mode by default; ``--paywire-mode replay``
serves the recorded fixtures in ``fixtures/contract``)."""

from __future__ import annotations

from paywire_contract import ProviderContractSuite
from paywire_paypal.contract import PayPalHarness


class TestPayPalContract(ProviderContractSuite):
    """Every standard test, unchanged."""

    harness = PayPalHarness()
