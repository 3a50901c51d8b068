"""Fixtures: a provider over a respx router (no network), and one over a served sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from razorpay_helpers import BASE_URL, MODES, build_provider

from paywire_razorpay import RazorpayProvider


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE_URL, assert_all_called=False)


@pytest.fixture
def provider(router: respx.Router) -> Iterator[RazorpayProvider]:
    built = build_provider(httpx.MockTransport(router.handler))
    yield built
    built.close()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """``"sync"`` or ``"async"``: which path the operation runs on."""
    return str(request.param)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    """The sandbox's Razorpay fake, served on a free loopback port for this module."""
    from paywire_sandbox import run_sandbox

    with run_sandbox(["razorpay"], webhook_retry_delays=(0.05, 0.1, 0.2)) as running:
        yield running


@pytest.fixture
def served(sandbox: Any) -> Iterator[RazorpayProvider]:
    """A provider talking to the served sandbox, with no faults armed."""
    sandbox.clear_faults()
    built = build_provider(base_url=sandbox.url + "/razorpay")
    yield built
    built.close()
    sandbox.clear_faults()
