"""Fixtures: a provider whose HTTP goes to an in-memory fake Stripe, and both call paths."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings
from stripe_fakes import FakeStripe, Runner, build

from paywire_stripe import StripeProvider

# Timing belongs to the benchmarks: on a shared machine a slow example is not a failure.
settings.register_profile("paywire-stripe", deadline=None)
settings.load_profile("paywire-stripe")


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def provider(fake: FakeStripe) -> Iterator[StripeProvider]:
    built, _ = build(fake)
    yield built
    built.close()


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Runner:
    """Call an operation on the sync path, then (second run) on the async path."""
    return Runner(request.param)
