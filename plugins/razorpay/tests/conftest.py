"""Fixtures: a provider whose HTTP goes to a respx router (no network, no sandbox)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from razorpay_helpers import BASE_URL, build_provider

from paywire_razorpay import RazorpayProvider


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE_URL, assert_all_called=False)


@pytest.fixture
def provider(router: respx.Router) -> Iterator[RazorpayProvider]:
    built = build_provider(router)
    yield built
    built.close()
