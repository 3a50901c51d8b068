"""The two paths: the event loop in a background thread, and the operations on each path — the
``_async`` twins natively for a kernel provider, and, for a provider written against API 1.0,
its sync code in a worker thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from minipay import MiniHarness
from shapes.single import SingleHarness

from paywire import Money, SavedPaymentMethod
from paywire_contract import EventLoopThread, Operations

CHARGE = {
    "id": "ch_1",
    "amount": 1234,
    "currency": "USD",
    "status": "succeeded",
    "invoice_id": None,
    "refunded": 0,
}


class Api:
    """Answers every charge with :data:`CHARGE`, noting which thread each request came from."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.threads.append(threading.current_thread().name)
        return httpx.Response(200, json=CHARGE)


@pytest.fixture
def loop() -> Iterator[EventLoopThread]:
    with EventLoopThread() as running:
        yield running


def test_the_loop_runs_coroutines_in_its_thread_and_passes_errors_back(
    loop: EventLoopThread,
) -> None:
    async def where() -> str:
        return threading.current_thread().name

    assert loop.run(where()) == "paywire-contract-loop"

    async def boom() -> None:
        raise KeyError("inside")

    with pytest.raises(KeyError, match="inside"):
        loop.run(boom())

    async def slow() -> None:
        await asyncio.sleep(5)

    with pytest.raises(TimeoutError, match=r"took more than 0\.05 s"):
        loop.run(slow(), timeout=0.05)


def test_a_closed_loop_refuses_work() -> None:
    loop = EventLoopThread()
    loop.close()
    loop.close()  # twice is harmless

    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError, match="closed"):
        loop.run(nothing())


def test_the_async_path_needs_a_loop() -> None:
    harness = MiniHarness()
    provider = harness.build_provider(harness.sandbox_settings("http://x"))
    try:
        with pytest.raises(ValueError, match="needs an event loop"):
            Operations(provider, "async")
    finally:
        provider.close()


def _charge(ops: Operations) -> None:
    method = SavedPaymentMethod(ops.provider.name, "pm_1", "cus_1")
    result = ops.charge_payment_method(method, Money(Decimal("12.34"), "USD"))
    assert result.id == "ch_1"
    assert result.amount == Money(Decimal("12.34"), "USD")


@pytest.mark.parametrize("path", ["sync", "async"])
def test_a_kernel_provider_runs_natively_on_each_path(loop: EventLoopThread, path: str) -> None:
    api = Api()
    harness = SingleHarness()
    provider = harness.build_provider(
        harness.sandbox_settings("http://x"), transport=httpx.MockTransport(api)
    )
    ops = Operations(provider, "async" if path == "async" else "sync", loop)
    try:
        _charge(ops)
    finally:
        ops.close()
    expected = "paywire-contract-loop" if path == "async" else threading.current_thread().name
    assert api.threads == [expected]


def test_an_api_1_0_provider_runs_its_sync_code_in_a_worker_thread(loop: EventLoopThread) -> None:
    api = Api()
    harness = MiniHarness()
    provider = harness.build_provider(
        harness.sandbox_settings("http://x"), transport=httpx.MockTransport(api)
    )
    ops = Operations(provider, "async", loop)
    try:
        _charge(ops)
    finally:
        ops.close()
    (thread,) = api.threads
    assert thread not in ("paywire-contract-loop", threading.current_thread().name)
