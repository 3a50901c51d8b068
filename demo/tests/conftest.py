from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from paywire_demo import Environment, load_harnesses, open_environment


@pytest.fixture
def stripe_env(tmp_path: Path) -> Iterator[Environment]:
    """The sandbox and the demo shop, with the Stripe provider built against the sandbox."""
    harnesses = load_harnesses()
    assert "stripe" in harnesses, "paywire-stripe (with its contract harness) must be installed"
    with open_environment(tmp_path, {"stripe": harnesses["stripe"]}) as env:
        yield env
