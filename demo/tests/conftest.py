from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from paywire_demo import Environment, load_harnesses, open_environment

PROVIDERS = ("stripe", "paypal", "razorpay")


@pytest.fixture
def shop_env(tmp_path: Path) -> Iterator[Environment]:
    """The sandbox and the demo shop, with every provider built against the sandbox."""
    harnesses = load_harnesses()
    missing = [name for name in PROVIDERS if name not in harnesses]
    assert not missing, f"the demo tests need these plugins installed: {missing}"
    with open_environment(tmp_path, {name: harnesses[name] for name in PROVIDERS}) as env:
        yield env


@pytest.fixture
def stripe_env(tmp_path: Path) -> Iterator[Environment]:
    """The sandbox and the demo shop, with the Stripe provider built against the sandbox."""
    harnesses = load_harnesses()
    assert "stripe" in harnesses, "paywire-stripe (with its contract harness) must be installed"
    with open_environment(tmp_path, {"stripe": harnesses["stripe"]}) as env:
        yield env
