"""200 concurrent ``charge_payment_method_async`` coroutines against the served sandbox.

Run: ``python plugins/paypal/benchmarks/bench_concurrency.py [--charges 200] [--rounds 5]``.

Wall time of N charges gathered at once, of the same N awaited one after another, and their
ratio; beside them the same two figures for raw ``httpx.AsyncClient`` POSTs of the same request
— the sandbox's own capacity, the ceiling the plugin can approach. Each figure is the median of
``--rounds`` rounds, each starting with another of the four runs (the provider is warm: token
cached, connections open). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
from _served import access_token, provider, vaulted_wallet

import paywire
from paywire_sandbox.testing import sandbox_process

AMOUNT = paywire.Money("12.34", "USD")


async def _timed(make: Callable[[], Awaitable[object]], n: int, concurrent: bool) -> float:
    started = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(make() for _ in range(n)))
    else:
        for _ in range(n):
            await make()
    return time.perf_counter() - started


async def run(root: str, charges: int, rounds: int) -> None:
    wallet = await asyncio.to_thread(vaulted_wallet, root)
    pp = provider(root)
    token = await asyncio.to_thread(access_token, root)
    limits = httpx.Limits(max_connections=100)  # httpx's default, as the provider's client has
    raw = httpx.AsyncClient(base_url=root + "/paypal", timeout=60, limits=limits)
    body = {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "12.34"}}],
        "payment_source": {
            "paypal": {
                "vault_id": wallet.id,
                "stored_credential": {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT"},
            }
        },
    }

    async def raw_charge() -> None:
        headers = {
            "Authorization": f"Bearer {token}",
            "PayPal-Request-Id": str(uuid.uuid4()),
            "Prefer": "return=representation",
        }
        response = await raw.post("/v2/checkout/orders", json=body, headers=headers)
        response.raise_for_status()
        response.json()

    def plugin_charge() -> Awaitable[object]:
        return pp.charge_payment_method_async(wallet, AMOUNT)

    await _timed(plugin_charge, 20, concurrent=True)  # warm-up: token, connections
    await _timed(raw_charge, 20, concurrent=True)
    runs: list[tuple[str, Callable[[], Awaitable[object]], bool]] = [
        ("p-con", plugin_charge, True),
        ("p-seq", plugin_charge, False),
        ("r-con", raw_charge, True),
        ("r-seq", raw_charge, False),
    ]
    figures: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    for round_ in range(rounds):
        # Each round starts with another of the four, so none always runs on a fresher sandbox.
        for name, make, concurrent in runs[round_ % 4 :] + runs[: round_ % 4]:
            figures[name].append(await _timed(make, charges, concurrent=concurrent))
    m = {k: statistics.median(v) for k, v in figures.items()}
    print(f"{charges} charges, median of {rounds} rounds")
    print(
        f"plugin    concurrent {m['p-con']:6.3f} s  sequential {m['p-seq']:6.3f} s  "
        f"concurrent/sequential {m['p-con'] / m['p-seq']:5.3f}"
    )
    print(
        f"raw httpx concurrent {m['r-con']:6.3f} s  sequential {m['r-seq']:6.3f} s  "
        f"concurrent/sequential {m['r-con'] / m['r-seq']:5.3f}"
    )
    print(
        f"plugin concurrent / raw concurrent (distance from the sandbox's ceiling): "
        f"{m['p-con'] / m['r-con']:5.3f}"
    )
    await raw.aclose()
    await pp.aclose()
    pp.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--charges", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    with sandbox_process("paypal") as root:
        asyncio.run(run(root, args.charges, args.rounds))


if __name__ == "__main__":
    main()
