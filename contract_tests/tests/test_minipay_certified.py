"""The correct minipay provider passes the whole suite (in the mode the run was started with)."""

from __future__ import annotations

from minipay import MiniHarness

from paywire_contract import ProviderContractSuite


class TestMiniContract(ProviderContractSuite):
    """minipay, without bugs."""

    harness = MiniHarness()
