"""paywire-stripe against the raw stripe SDK, side by side, on the served sandbox.

Run: ``python plugins/stripe/benchmarks/bench_stripe.py [--rounds 5] [--calls 200]``.

1. ``create_checkout_session`` and ``charge_payment_method`` through paywire-stripe (the SDK
   sending through paywire's HttpClient: retry policy, idempotency keys, redaction) versus the same
   requests with a plain ``stripe.StripeClient`` (its default HTTP client). Both talk to the same
   sandbox server, started here as a subprocess (``paywire sandbox serve``), in alternating rounds;
   the medians are compared. Target: paywire ≤ 1.05 × the raw SDK's time per call.
2. Webhook verification + normalization of a ~1.7 KB ``payment_intent.succeeded`` event versus
   ``stripe.Webhook.construct_event``. Target: ≥ 10× faster and ≥ 50,000 events/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import stripe

import paywire
from paywire_stripe import StripeConfig, StripeProvider
from paywire_stripe._samples import event, objects

API_KEY = "sk_test_benchmark0000000000"
WEBHOOK_SECRET = "whsec_benchmark0000000000"  # noqa: S105 - a sandbox-only value
SUCCESS = "https://shop.example.com/paid?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example.com/cart"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def served_sandbox() -> Iterator[str]:
    """``paywire sandbox serve`` in a subprocess; yields its root URL."""
    port = free_port()
    cli = shutil.which("paywire", path=os.path.dirname(sys.executable)) or "paywire"
    process = subprocess.Popen(
        [cli, "sandbox", "serve", "--port", str(port), "--fake", "stripe"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/stripe/v1/customers/cus_none", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def per_call(fn: Callable[[], object], calls: int) -> float:
    """Seconds per call of ``fn`` over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def timed(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) per call of ``fn``."""
    cpu = time.process_time()
    wall = per_call(fn, calls)
    return wall, (time.process_time() - cpu) / calls


def compare(
    name: str, ours: Callable[[], object], raw: Callable[[], object], rounds: int, calls: int
) -> float:
    """Print both sides' median wall and client-CPU time per call; return the wall ratio."""
    ours()  # warm both (connections, first-use imports)
    raw()
    mine: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for index in range(rounds):
        # Alternate who goes first, so drift on a shared machine hits both alike.
        pair = [(mine, ours), (theirs, raw)]
        for results, fn in pair if index % 2 == 0 else reversed(pair):
            results.append(timed(fn, calls))
    a = statistics.median(w for w, _ in mine)
    b = statistics.median(w for w, _ in theirs)
    a_cpu = statistics.median(c for _, c in mine)
    b_cpu = statistics.median(c for _, c in theirs)
    ratio = a / b
    print(
        f"{name:<24} paywire-stripe {a * 1e3:6.3f} ms/call ({1 / a:5.0f}/s, client CPU "
        f"{a_cpu * 1e3:5.3f} ms)   raw SDK {b * 1e3:6.3f} ms/call ({1 / b:5.0f}/s, client CPU "
        f"{b_cpu * 1e3:5.3f} ms)   wall ratio {ratio:.3f}x, CPU ratio {a_cpu / b_cpu:.3f}x"
    )
    return ratio


def http_benchmarks(url: str, rounds: int, calls: int) -> tuple[float, float]:
    base = url + "/stripe"
    config = paywire.load_config(
        StripeConfig,
        "stripe",
        environ={},
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        base_url=base,
    )
    provider = StripeProvider.create(config)
    raw = stripe.StripeClient(API_KEY, base_addresses={"api": base}, max_network_retries=0)
    try:
        customer = raw.v1.customers.create({"email": "bench@example.com"})
        method = raw.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
        saved = paywire.SavedPaymentMethod("stripe", method.id, customer.id)
        money = paywire.Money("19.99", "USD")
        invoice = paywire.Invoice(
            id="INV-BENCH",
            currency="USD",
            line_items=[paywire.LineItem("Pro plan", paywire.Money("12.50", "USD"), 2)],
            customer=paywire.Customer(id="user-1", provider_customer_id=customer.id),
        )

        def ours_checkout() -> object:
            return provider.create_checkout_session(invoice, success_url=SUCCESS, cancel_url=CANCEL)

        def raw_checkout() -> object:
            return raw.v1.checkout.sessions.create(
                {
                    "mode": "payment",
                    "line_items": [
                        {
                            "price_data": {
                                "currency": "usd",
                                "unit_amount": 1250,
                                "product_data": {"name": "Pro plan"},
                            },
                            "quantity": 2,
                        }
                    ],
                    "success_url": SUCCESS,
                    "cancel_url": CANCEL,
                    "client_reference_id": "INV-BENCH",
                    "metadata": {"invoice_id": "INV-BENCH"},
                    "payment_intent_data": {"metadata": {"invoice_id": "INV-BENCH"}},
                    "customer": customer.id,
                }
            )

        def ours_charge() -> object:
            return provider.charge_payment_method(saved, money, invoice_id="INV-BENCH")

        def raw_charge() -> object:
            return raw.v1.payment_intents.create(
                {
                    "amount": 1999,
                    "currency": "usd",
                    "customer": customer.id,
                    "payment_method": method.id,
                    "confirm": True,
                    "off_session": True,
                    "metadata": {"invoice_id": "INV-BENCH"},
                }
            )

        checkout = compare("create_checkout_session", ours_checkout, raw_checkout, rounds, calls)
        charge = compare("charge_payment_method", ours_charge, raw_charge, rounds, calls)
        return checkout, charge
    finally:
        provider.close()


def rate(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Calls per second of ``fn``, best of three runs of about ``seconds`` each."""
    calls = 100
    while per_call(fn, calls) * calls < 0.05:
        calls *= 2
    best = 0.0
    for _ in range(3):
        n = max(calls, int(seconds / per_call(fn, calls)))
        best = max(best, 1 / per_call(fn, n))
    return best


def webhook_benchmarks() -> tuple[float, float]:
    body = json.dumps(
        event("payment_intent.succeeded", objects()["payment_intent"]()), indent=1
    ).encode()
    provider = StripeProvider.create(
        paywire.load_config(StripeConfig, "stripe", environ={}, webhook_secret=WEBHOOK_SECRET)
    )
    timestamp = int(time.time())
    headers = {"Stripe-Signature": paywire.sign_timestamped(body, WEBHOOK_SECRET, timestamp)}
    signature = headers["Stripe-Signature"]
    parsed = json.loads(body)

    def ours() -> object:
        provider.verify_webhook_signature(body, headers)
        return provider.handle_webhook_event(json.loads(body))

    def ours_parsed() -> object:
        provider.verify_webhook_signature(body, headers)
        return provider.handle_webhook_event(parsed)

    amounts = iter(range(10**6, 10**9))

    def ours_uncached() -> object:
        # A new amount every time: no event repeats a price, so nothing is served from a cache.
        payload = json.loads(body)
        payload["data"]["object"]["amount"] = next(amounts)
        provider.verify_webhook_signature(body, headers)
        return provider.handle_webhook_event(payload)

    def sdk() -> object:
        return stripe.Webhook.construct_event(body, signature, WEBHOOK_SECRET)

    try:
        fast = rate(ours)
        fast_parsed = rate(ours_parsed)
        fast_uncached = rate(ours_uncached)
        slow = rate(sdk)
    finally:
        provider.close()
    print(f"webhook event: {len(body)} bytes (payment_intent.succeeded)")
    print(f"  paywire-stripe verify + json.loads + normalize  {fast:10,.0f} events/s")
    print(f"  paywire-stripe verify + normalize (parsed dict)  {fast_parsed:10,.0f} events/s")
    print(f"  paywire-stripe, a new amount in every event      {fast_uncached:10,.0f} events/s")
    print(f"  stripe.Webhook.construct_event                   {slow:10,.0f} events/s")
    print(f"  speed-up (verify + parse + normalize)            {fast / slow:10.1f}x")
    return fast, fast / slow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per operation")
    parser.add_argument("--calls", type=int, default=200, help="calls per round")
    args = parser.parse_args(argv)
    print(
        f"python {sys.version.split()[0]}, stripe {stripe.VERSION}, paywire {paywire.__version__}"
    )
    with served_sandbox() as url:
        checkout, charge = http_benchmarks(url, args.rounds, args.calls)
    events_per_s, speedup = webhook_benchmarks()
    verdicts = {
        "checkout ratio <= 1.05": checkout <= 1.05,
        "charge ratio <= 1.05": charge <= 1.05,
        "webhooks >= 50,000/s": events_per_s >= 50_000,
        "webhooks >= 10x construct_event": speedup >= 10,
    }
    for name, ok in verdicts.items():
        print(f"  {'met ' if ok else 'MISS'}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
