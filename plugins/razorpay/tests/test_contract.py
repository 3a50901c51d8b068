"""paywire's contract suite, run for Razorpay (sandbox mode by default; ``--paywire-mode replay``
serves the recorded fixtures in ``fixtures/contract``)."""

from __future__ import annotations

from paywire_contract import ProviderContractSuite
from paywire_razorpay.contract import RazorpayHarness


class TestRazorpayContract(ProviderContractSuite):
    """Every standard test, unchanged. What Razorpay cannot do is not declared (saving a card on
    a Payment Link) or is skipped by the suite itself (its signatures carry no timestamp)."""

    harness = RazorpayHarness()
