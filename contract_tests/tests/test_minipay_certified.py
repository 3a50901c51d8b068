"""minipay — a provider written against paywire API 1.0 and left as it was — is certified by
today's suite (in the mode the run was started with), on both paths, with its two defects
declared (``legacy.EXCEPTIONS``) rather than hidden."""

from __future__ import annotations

from legacy import LegacyMiniHarness

from paywire_contract import ProviderContractSuite


class TestMiniContract(ProviderContractSuite):
    """minipay, without planted bugs."""

    harness = LegacyMiniHarness()
