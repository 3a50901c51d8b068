"""Fixtures: a provider whose HTTP goes to an in-memory fake Stripe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stripe_fakes import FakeStripe, build

from paywire_stripe import StripeProvider


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def provider(fake: FakeStripe) -> Iterator[StripeProvider]:
    built, _ = build(fake)
    yield built
    built.close()
