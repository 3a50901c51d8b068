"""Fixtures: a provider whose HTTP goes to an in-memory, scriptable PayPal, and the two paths
(sync and async) every operation runs on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from paypal_fakes import MODES, FakePayPal, SigningKit, build

from paywire_paypal import PayPalProvider


@pytest.fixture
def fake() -> FakePayPal:
    return FakePayPal()


@pytest.fixture
def provider(fake: FakePayPal) -> Iterator[PayPalProvider]:
    built = build(fake)
    yield built
    built.close()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """``"sync"`` or ``"async"``: the test runs once on each path."""
    value: str = request.param
    return value


@pytest.fixture(scope="session")
def kit() -> SigningKit:
    return SigningKit.make()
