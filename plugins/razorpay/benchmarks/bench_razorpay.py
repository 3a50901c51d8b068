"""paywire-razorpay against raw httpx, side by side, on the served sandbox.

Run: ``python plugins/razorpay/benchmarks/bench_razorpay.py [--rounds 5] [--calls 100]
[--concurrent 200] [--events 20000]`` (0 for ``--concurrent`` or ``--events`` skips that part).

1. Per-call overhead, sync and async: ``get_payment_method_details`` (one GET),
   ``create_checkout_session`` (one POST) and ``charge_payment_method`` (five requests: the
   order lookup by receipt, the customer, the order, the recurring payment, its status) through
   paywire-razorpay — the operation kernel, paywire's HttpClient (retry policy, redaction), the
   plugin's request building and reading — versus the same requests with the same bodies sent
   with a plain ``httpx.Client`` / ``httpx.AsyncClient`` and read with ``.json()``. Both talk to
   one sandbox served in a subprocess (``paywire sandbox serve --fake razorpay``); single calls
   of the two sides are interleaved (on a shared machine, drift then hits both alike) and the
   medians per call are compared, wall time and this process's CPU time (the client's: the
   sandbox runs in another process). Target: paywire ≤ 1.05 × raw httpx per call.
2. 200 concurrent ``charge_payment_method_async`` coroutines on one event loop versus the same
   200 awaited one after another; and the same for raw httpx doing the same five requests, which
   is what the sandbox itself can take (the ceiling). Medians of ``--rounds`` rounds, who goes
   first alternating.
3. Webhook ``verify_webhook`` + ``parse_webhook`` of a ``payment_link.paid`` (~2.5 KB) and a
   ``payment.captured`` event: events per second, one thread.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

import paywire
from paywire_razorpay import RazorpayConfig, RazorpayProvider
from paywire_razorpay._samples import webhook_samples
from paywire_sandbox.testing import sandbox_process

KEY_ID = "rzp_test_Benchmark000001"
KEY_SECRET = "benchmark-key-secret-0001"  # noqa: S105 - a sandbox-only value
WEBHOOK_SECRET = "benchmark-webhook-secret-01"  # noqa: S105 - a sandbox-only value
AMOUNT = paywire.Money("12.34", "INR")
_serial = itertools.count()


def provider_for(base_url: str | None) -> RazorpayProvider:
    config = paywire.load_config(
        RazorpayConfig,
        "razorpay",
        environ={},
        key_id=KEY_ID,
        key_secret=KEY_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        base_url=base_url,
    )
    return RazorpayProvider.create(config)


def saved_card(url: str) -> paywire.SavedPaymentMethod:
    made = httpx.post(
        url + "/_sandbox/razorpay/tokens",
        json={
            "card": "4111111111111111",
            "customer": {
                "name": "Bench Mark",
                "email": "bench@example.com",
                "contact": "+919812345678",
            },
            "max_amount": 100_000_000,
        },
    ).json()
    return paywire.SavedPaymentMethod("razorpay", made["token"]["id"], made["customer"]["id"])


def _invoice() -> paywire.Invoice:
    return paywire.Invoice(f"BENCH-{next(_serial):08d}", "INR", [paywire.LineItem("Plan", AMOUNT)])


# -- the raw side: the same requests, with plain httpx ------------------------------------------


def _raw_charge_requests(method: paywire.SavedPaymentMethod) -> list[tuple[str, str, Any]]:
    receipt = f"pw-raw-{next(_serial):012d}"
    return [
        ("GET", "/v1/orders", {"receipt": receipt, "count": 100}),
        ("GET", f"/v1/customers/{method.customer_id}", None),
        (
            "POST",
            "/v1/orders",
            {
                "amount": 1234,
                "currency": "INR",
                "receipt": receipt,
                "payment_capture": True,
                "notes": {},
            },
        ),
    ]


def raw_charge(client: httpx.Client, method: paywire.SavedPaymentMethod) -> Any:
    answers = []
    for verb, path, data in _raw_charge_requests(method):
        if verb == "GET":
            answers.append(client.get(path, params=data).json())
        else:
            answers.append(client.post(path, json=data).json())
    customer, order = answers[1], answers[2]
    created = client.post(
        "/v1/payments/create/recurring",
        json={
            "email": customer["email"],
            "contact": customer["contact"],
            "amount": 1234,
            "currency": "INR",
            "order_id": order["id"],
            "customer_id": method.customer_id,
            "token": method.id,
            "recurring": True,
            "notes": {},
        },
    ).json()
    return client.get(f"/v1/payments/{created['razorpay_payment_id']}").json()


async def raw_charge_async(client: httpx.AsyncClient, method: paywire.SavedPaymentMethod) -> Any:
    answers = []
    for verb, path, data in _raw_charge_requests(method):
        if verb == "GET":
            answers.append((await client.get(path, params=data)).json())
        else:
            answers.append((await client.post(path, json=data)).json())
    customer, order = answers[1], answers[2]
    created = (
        await client.post(
            "/v1/payments/create/recurring",
            json={
                "email": customer["email"],
                "contact": customer["contact"],
                "amount": 1234,
                "currency": "INR",
                "order_id": order["id"],
                "customer_id": method.customer_id,
                "token": method.id,
                "recurring": True,
                "notes": {},
            },
        )
    ).json()
    return (await client.get(f"/v1/payments/{created['razorpay_payment_id']}")).json()


def _link_body(invoice: paywire.Invoice) -> dict[str, Any]:
    return {
        "amount": 1234,
        "currency": "INR",
        "reference_id": invoice.id,
        "description": f"Invoice {invoice.id}",
        "notes": {"invoice_id": invoice.id},
        "callback_url": "https://shop.example.com/paid",
        "callback_method": "get",
    }


# -- measuring ---------------------------------------------------------------------------------


class Sandbox:
    """The served sandbox's state between timed blocks: reset (the fake scans its orders, so a
    growing store would slow whichever side runs later) with a fresh saved card."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.method = saved_card(url)

    def reset(self) -> None:
        httpx.post(self.url + "/_sandbox/reset", json={}).raise_for_status()
        self.method = saved_card(self.url)


def timed(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) per call of ``fn``."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


Sample = tuple[float, float]  # (wall, client CPU) seconds of one call


def _report(name: str, mine: list[Sample], theirs: list[Sample]) -> float:
    a, b = statistics.median(w for w, _ in mine), statistics.median(w for w, _ in theirs)
    a_cpu = statistics.median(c for _, c in mine)
    b_cpu = statistics.median(c for _, c in theirs)
    print(
        f"{name:<28} paywire {a * 1e3:7.3f} ms (CPU {a_cpu * 1e3:6.3f})   raw httpx "
        f"{b * 1e3:7.3f} ms (CPU {b_cpu * 1e3:6.3f})   wall {a / b:.3f}x   CPU {a_cpu / b_cpu:.3f}x"
    )
    return a / b


def compare(
    name: str,
    ours: Callable[[], object],
    raw: Callable[[], object],
    rounds: int,
    calls: int,
    sandbox: Sandbox,
) -> float:
    """Time single calls of the two sides interleaved (who goes first alternates), ``calls``
    pairs per round from a reset sandbox; print the medians per call (wall, and this process's
    CPU: the sandbox runs in another); return the wall ratio. Interleaving one call at a time
    keeps a shared machine's drift out of the ratio."""
    ours()  # warm both (connections, first-use imports)
    raw()
    mine: list[Sample] = []
    theirs: list[Sample] = []
    for _ in range(rounds):
        sandbox.reset()
        for index in range(calls):
            pair = [(mine, ours), (theirs, raw)]
            for results, fn in pair if index % 2 == 0 else reversed(pair):
                cpu, wall = time.process_time(), time.perf_counter()
                fn()
                results.append((time.perf_counter() - wall, time.process_time() - cpu))
    return _report(name, mine, theirs)


def compare_async(
    loop: asyncio.AbstractEventLoop,
    name: str,
    ours: Callable[[], Awaitable[object]],
    raw: Callable[[], Awaitable[object]],
    rounds: int,
    calls: int,
    sandbox: Sandbox,
) -> float:
    """:func:`compare` for coroutines, awaited one at a time on ``loop``."""

    async def run() -> tuple[list[Sample], list[Sample]]:
        await ours()
        await raw()
        mine: list[Sample] = []
        theirs: list[Sample] = []
        for _ in range(rounds):
            sandbox.reset()
            for index in range(calls):
                pair = [(mine, ours), (theirs, raw)]
                for results, fn in pair if index % 2 == 0 else reversed(pair):
                    cpu, wall = time.process_time(), time.perf_counter()
                    await fn()
                    results.append((time.perf_counter() - wall, time.process_time() - cpu))
        return mine, theirs

    mine, theirs = loop.run_until_complete(run())
    return _report(name, mine, theirs)


def bench_per_call(url: str, rounds: int, calls: int) -> None:
    base = url + "/razorpay"
    provider = provider_for(base)
    sandbox = Sandbox(url)

    def token_path() -> str:
        method = sandbox.method
        return f"/v1/customers/{method.customer_id}/tokens/{method.id}"

    auth = (KEY_ID, KEY_SECRET)
    success = "https://shop.example.com/paid"
    print(f"-- per call, sync (median of {calls} x {rounds} interleaved calls)")
    with httpx.Client(base_url=base, auth=auth) as client:
        compare(
            "get_payment_method_details",
            lambda: provider.get_payment_method_details(sandbox.method),
            lambda: client.get(token_path()).json(),
            rounds,
            calls,
            sandbox,
        )
        compare(
            "create_checkout_session",
            lambda: provider.create_checkout_session(
                _invoice(), success_url=success, cancel_url=""
            ),
            lambda: client.post("/v1/payment_links", json=_link_body(_invoice())).json(),
            rounds,
            calls,
            sandbox,
        )
        compare(
            "charge_payment_method",
            lambda: provider.charge_payment_method(sandbox.method, AMOUNT),
            lambda: raw_charge(client, sandbox.method),
            rounds,
            calls,
            sandbox,
        )
    print(f"-- per call, async (median of {calls} x {rounds} interleaved awaited calls)")
    loop = asyncio.new_event_loop()
    client_async = httpx.AsyncClient(base_url=base, auth=auth)

    async def raw_details() -> Any:
        return (await client_async.get(token_path())).json()

    async def raw_link() -> Any:
        return (await client_async.post("/v1/payment_links", json=_link_body(_invoice()))).json()

    async def ours_link() -> Any:
        return await provider.create_checkout_session_async(
            _invoice(), success_url=success, cancel_url=""
        )

    try:
        compare_async(
            loop,
            "get_payment_method_details",
            lambda: provider.get_payment_method_details_async(sandbox.method),
            raw_details,
            rounds,
            calls,
            sandbox,
        )
        compare_async(loop, "create_checkout_session", ours_link, raw_link, rounds, calls, sandbox)
        compare_async(
            loop,
            "charge_payment_method",
            lambda: provider.charge_payment_method_async(sandbox.method, AMOUNT),
            lambda: raw_charge_async(client_async, sandbox.method),
            rounds,
            calls,
            sandbox,
        )
    finally:
        loop.run_until_complete(client_async.aclose())
        loop.run_until_complete(provider.aclose())
        loop.close()
    provider.close()


def bench_concurrency(url: str, count: int, rounds: int) -> None:
    base = url + "/razorpay"
    provider = provider_for(base)
    sandbox = Sandbox(url)

    async def main() -> None:
        async with httpx.AsyncClient(base_url=base, auth=(KEY_ID, KEY_SECRET)) as client:
            sides: dict[str, Callable[[], Awaitable[Any]]] = {
                "paywire": lambda: provider.charge_payment_method_async(sandbox.method, AMOUNT),
                "raw httpx": lambda: raw_charge_async(client, sandbox.method),
            }
            for one in sides.values():
                await one()  # warm
            times: dict[str, list[tuple[float, float]]] = {label: [] for label in sides}
            for index in range(rounds):
                # Alternate who goes first: a shared machine drifts.
                order = list(sides) if index % 2 == 0 else list(reversed(sides))
                for label in order:
                    one = sides[label]
                    sandbox.reset()
                    start = time.perf_counter()
                    for _ in range(count):
                        await one()
                    sequential = time.perf_counter() - start
                    sandbox.reset()
                    start = time.perf_counter()
                    results = await asyncio.gather(*(one() for _ in range(count)))
                    concurrent = time.perf_counter() - start
                    ids = {
                        r.id if isinstance(r, paywire.ChargeResult) else r["id"] for r in results
                    }
                    if len(ids) != count:
                        raise RuntimeError(f"{label}: {count} charges made {len(ids)} payments")
                    times[label].append((sequential, concurrent))
        await provider.aclose()
        print(
            f"-- {count} charges: one after another vs concurrently (asyncio.gather), "
            f"median of {rounds} rounds"
        )
        medians = {}
        for label, rows in times.items():
            sequential = statistics.median(r[0] for r in rows)
            concurrent = statistics.median(r[1] for r in rows)
            medians[label] = concurrent
            print(
                f"{label:<10} sequential {sequential:6.2f} s   concurrent {concurrent:6.2f} s   "
                f"concurrent/sequential {concurrent / sequential:.2f}"
            )
        ratio = medians["paywire"] / medians["raw httpx"]
        print(f"paywire concurrent / raw httpx concurrent (the sandbox's ceiling): {ratio:.2f}")

    asyncio.run(main())
    provider.close()


def bench_webhooks(count: int) -> None:
    provider = provider_for(None)
    samples = {p["event"]: p for p, _ in webhook_samples()}
    for name in ("payment_link.paid", "payment.captured"):
        body = json.dumps(samples[name]).encode()
        headers = {
            "X-Razorpay-Signature": hmac.new(
                WEBHOOK_SECRET.encode(), body, hashlib.sha256
            ).hexdigest(),
            "X-Razorpay-Event-Id": "Ozr1aB3cD4eF5g",
        }

        def handle(body: bytes = body, headers: dict[str, str] = headers) -> object:
            provider.verify_webhook(body, headers)
            return provider.parse_webhook(body, headers)

        rates = [1 / timed(handle, count)[0] for _ in range(3)]
        print(f"webhook {name:<20} {len(body):>5} B  {statistics.median(rates):>10,.0f} events/s")
    provider.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    if min(args.rounds, args.calls) < 1 or min(args.concurrent, args.events) < 0:
        parser.error("--rounds and --calls must be at least 1 (--concurrent/--events 0: skipped)")
    if args.events:
        bench_webhooks(args.events)
    with sandbox_process("razorpay") as url:
        bench_per_call(url, args.rounds, args.calls)
        if args.concurrent:
            bench_concurrency(url, args.concurrent, args.rounds)


if __name__ == "__main__":
    main()
