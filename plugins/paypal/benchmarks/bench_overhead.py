"""Per-call overhead of the PayPal plugin against a raw httpx call making the same request.

Run: ``python plugins/paypal/benchmarks/bench_overhead.py [--calls 200] [--rounds 9]``.

The sandbox runs in its own process. Two operations, each on the sync and the async path:

* ``get_payment_method_details`` vs a raw ``GET /v3/vault/payment-tokens/{id}`` (bearer token,
  JSON parsed);
* ``charge_payment_method`` vs a raw ``POST /v2/checkout/orders`` with the same body and
  headers (``PayPal-Request-Id``, ``Prefer``), JSON parsed.

First the same two calls without network or server (``httpx.MockTransport`` answering canned
bytes, 5x the calls): the plugin's and the kernel's own cost per call on top of httpx.

The raw client is an ``httpx.Client`` / ``httpx.AsyncClient`` with a token fetched once, as the
provider caches its own. Rounds alternate which side goes first; each round times ``--calls``
calls per side, and the figures are the medians over rounds of the mean wall time per call and
of the mean CPU time this (client) process spent per call — the second isolates the plugin's
own cost from the sandbox's and from other load on the machine. Target: plugin / raw <= 1.05
(wall). Printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _served import (
    CLIENT_ID,
    CLIENT_SECRET,
    access_token,
    provider,
    vaulted_wallet,
)

import paywire
from paywire_paypal import PayPalConfig, PayPalProvider
from paywire_sandbox.testing import sandbox_process

AMOUNT = paywire.Money("12.34", "USD")


def _charge_body(vault_id: str) -> dict[str, Any]:
    # What the plugin sends for a charge without invoice or description.
    return {
        "intent": "CAPTURE",
        "purchase_units": [{"amount": {"currency_code": "USD", "value": "12.34"}}],
        "payment_source": {
            "paypal": {
                "vault_id": vault_id,
                "stored_credential": {"payment_initiator": "MERCHANT", "usage": "SUBSEQUENT"},
            }
        },
    }


def _report(path: str, name: str, timings: dict[str, list[tuple[float, float]]]) -> None:
    """Median wall and client-CPU time per call on each side, and the plugin / raw ratios."""
    wall = {side: statistics.median(w for w, _ in runs) for side, runs in timings.items()}
    cpu = {side: statistics.median(c for _, c in runs) for side, runs in timings.items()}
    plugin, raw = wall["plugin"] * 1e6, wall["raw"] * 1e6
    cpu_plugin, cpu_raw = cpu["plugin"] * 1e6, cpu["raw"] * 1e6
    print(
        f"{path:5} {name:8} wall: plugin {plugin:7.0f} us, raw {raw:7.0f} us, "
        f"ratio {plugin / raw:5.3f} | client CPU: plugin {cpu_plugin:5.0f} us, "
        f"raw {cpu_raw:5.0f} us, +{cpu_plugin - cpu_raw:4.0f} us"
    )


def bench_sync(
    root: str, pp: PayPalProvider, wallet: paywire.SavedPaymentMethod, calls: int, rounds: int
) -> None:
    token = access_token(root)
    auth = {"Authorization": f"Bearer {token}"}
    raw = httpx.Client(base_url=root + "/paypal", timeout=30)

    def raw_details() -> None:
        response = raw.get(f"/v3/vault/payment-tokens/{wallet.id}", headers=auth)
        response.raise_for_status()
        response.json()

    def raw_charge() -> None:
        headers = {
            **auth,
            "PayPal-Request-Id": str(uuid.uuid4()),
            "Prefer": "return=representation",
        }
        response = raw.post("/v2/checkout/orders", json=_charge_body(wallet.id), headers=headers)
        response.raise_for_status()
        response.json()

    cases: list[tuple[str, Callable[[], object], Callable[[], None]]] = [
        ("details", lambda: pp.get_payment_method_details(wallet), raw_details),
        ("charge", lambda: pp.charge_payment_method(wallet, AMOUNT), raw_charge),
    ]
    for name, plugin_call, raw_call in cases:
        for _ in range(20):  # warm-up: connections, token, caches
            plugin_call()
            raw_call()
        timings: dict[str, list[tuple[float, float]]] = {"plugin": [], "raw": []}
        for round_ in range(rounds):
            order = [("plugin", plugin_call), ("raw", raw_call)]
            for side, call in order if round_ % 2 == 0 else reversed(order):
                started, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    call()
                timings[side].append(
                    ((time.perf_counter() - started) / calls, (time.process_time() - cpu) / calls)
                )
        _report("sync", name, timings)
    raw.close()


async def bench_async(
    root: str, pp: PayPalProvider, wallet: paywire.SavedPaymentMethod, calls: int, rounds: int
) -> None:
    token = await asyncio.to_thread(access_token, root)
    auth = {"Authorization": f"Bearer {token}"}
    raw = httpx.AsyncClient(base_url=root + "/paypal", timeout=30)

    async def raw_details() -> None:
        response = await raw.get(f"/v3/vault/payment-tokens/{wallet.id}", headers=auth)
        response.raise_for_status()
        response.json()

    async def raw_charge() -> None:
        headers = {
            **auth,
            "PayPal-Request-Id": str(uuid.uuid4()),
            "Prefer": "return=representation",
        }
        response = await raw.post(
            "/v2/checkout/orders", json=_charge_body(wallet.id), headers=headers
        )
        response.raise_for_status()
        response.json()

    cases: list[tuple[str, Callable[[], Awaitable[object]], Callable[[], Awaitable[None]]]] = [
        ("details", lambda: pp.get_payment_method_details_async(wallet), raw_details),
        ("charge", lambda: pp.charge_payment_method_async(wallet, AMOUNT), raw_charge),
    ]
    for name, plugin_call, raw_call in cases:
        for _ in range(20):
            await plugin_call()
            await raw_call()
        timings: dict[str, list[tuple[float, float]]] = {"plugin": [], "raw": []}
        for round_ in range(rounds):
            order = [("plugin", plugin_call), ("raw", raw_call)]
            for side, call in order if round_ % 2 == 0 else reversed(order):
                started, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    await call()
                timings[side].append(
                    ((time.perf_counter() - started) / calls, (time.process_time() - cpu) / calls)
                )
        _report("async", name, timings)
    await raw.aclose()
    await pp.aclose()


def bench_in_memory(calls: int, rounds: int) -> None:
    """The same two calls with a canned answer from ``httpx.MockTransport`` (no network, no
    server): what the plugin and the kernel cost per call on top of httpx itself."""
    details = json.dumps({"id": "tok1", "payment_source": {"paypal": {"email_address": "a@b.c"}}})
    capture = {
        "id": "C1",
        "status": "COMPLETED",
        "amount": {"currency_code": "USD", "value": "12.34"},
    }
    order = json.dumps(
        {
            "id": "O1",
            "status": "COMPLETED",
            "purchase_units": [{"payments": {"captures": [capture]}}],
        }
    )
    answers = {"GET": details.encode(), "POST": order.encode()}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return httpx.Response(200, json={"access_token": "A21AAbench", "expires_in": 32400})
        return httpx.Response(
            200, content=answers[request.method], headers={"Paypal-Debug-Id": "d"}
        )

    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url="https://api-m.sandbox.paypal.com",
    )
    pp = PayPalProvider.create(config, transport=httpx.MockTransport(answer))
    raw = httpx.Client(base_url=config.base_url or "", transport=httpx.MockTransport(answer))
    wallet = paywire.SavedPaymentMethod("paypal", "tok1")
    auth = {"Authorization": "Bearer A21AAbench"}

    def raw_details() -> None:
        raw.get("/v3/vault/payment-tokens/tok1", headers=auth).json()

    def raw_charge() -> None:
        headers = {
            **auth,
            "PayPal-Request-Id": str(uuid.uuid4()),
            "Prefer": "return=representation",
        }
        raw.post("/v2/checkout/orders", json=_charge_body("tok1"), headers=headers).json()

    cases: list[tuple[str, Callable[[], object], Callable[[], None]]] = [
        ("details", lambda: pp.get_payment_method_details(wallet), raw_details),
        ("charge", lambda: pp.charge_payment_method(wallet, AMOUNT), raw_charge),
    ]
    for name, plugin_call, raw_call in cases:
        for _ in range(200):
            plugin_call()
            raw_call()
        timings: dict[str, list[tuple[float, float]]] = {"plugin": [], "raw": []}
        for round_ in range(rounds):
            order_ = [("plugin", plugin_call), ("raw", raw_call)]
            for side, call in order_ if round_ % 2 == 0 else reversed(order_):
                started, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls * 5):
                    call()
                timings[side].append(
                    (
                        (time.perf_counter() - started) / (calls * 5),
                        (time.process_time() - cpu) / (calls * 5),
                    )
                )
        _report("mock", name, timings)
    pp.close()
    raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per side per round")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    bench_in_memory(args.calls, args.rounds)
    with sandbox_process("paypal") as root:
        wallet = vaulted_wallet(root)
        pp = provider(root)
        bench_sync(root, pp, wallet, args.calls, args.rounds)
        asyncio.run(bench_async(root, pp, wallet, args.calls, args.rounds))
        pp.close()
    print("target: ratio <= 1.05 (plugin / raw httpx, same request against the served sandbox)")


if __name__ == "__main__":
    main()
