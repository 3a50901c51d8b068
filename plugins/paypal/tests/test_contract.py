"""paywire's contract suite, run for PayPal (sandbox mode by default; ``--paywire-mode replay``
serves the recorded fixtures in ``fixtures/contract``)."""

from __future__ import annotations

from typing import Any

import pytest

from paywire_contract import Harness, ProviderContractSuite
from paywire_paypal.contract import PayPalHarness


class TestPayPalContract(ProviderContractSuite):
    """Every standard test; one declared difference for suites that predate shape
    declarations."""

    harness = PayPalHarness()

    if not hasattr(Harness, "signature_timestamp"):
        # A suite with harness API v2 reads PayPalHarness.signature_timestamp (False) and checks
        # event-id deduplication of an old delivery instead; this one cannot be told.
        @pytest.mark.xfail(
            reason=(
                "PayPal's retries keep the original PAYPAL-TRANSMISSION-TIME for up to three "
                "days, so an hour-old delivery is legitimate (webhook_max_age); replays are "
                "deduplicated by event id"
            ),
            strict=True,
        )
        def test_webhook_stale_timestamp(self, paywire_env: Any) -> None:
            super().test_webhook_stale_timestamp(paywire_env)
