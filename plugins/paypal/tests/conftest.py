"""Fixtures: a provider whose HTTP goes to an in-memory, scriptable PayPal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from paypal_fakes import FakePayPal, SigningKit, build

from paywire_paypal import PayPalProvider


@pytest.fixture
def fake() -> FakePayPal:
    return FakePayPal()


@pytest.fixture
def provider(fake: FakePayPal) -> Iterator[PayPalProvider]:
    built = build(fake)
    yield built
    built.close()


@pytest.fixture(scope="session")
def kit() -> SigningKit:
    return SigningKit.make()
