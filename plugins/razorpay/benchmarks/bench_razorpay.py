"""paywire-razorpay's hot paths, measured.

Run: ``python plugins/razorpay/benchmarks/bench_razorpay.py [--events 20000] [--charges 100]``.

1. Webhook verification + normalization (``verify_webhook_signature`` then
   ``handle_webhook_event`` on the parsed body) of a ``payment_link.paid`` event (~2.5 KB, three
   entities) and a ``payment.captured`` event: events per second, single thread.
2. ``charge_payment_method`` against the sandbox's Razorpay fake, served in-process on a free
   port: milliseconds per charge (five requests each: order lookup by receipt, customer, order,
   recurring payment, payment) and per charge without an idempotency key (four requests).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import statistics
import time
from collections.abc import Callable

import paywire
from paywire_razorpay import RazorpayConfig, RazorpayProvider, method_id
from paywire_razorpay._samples import webhook_samples

KEY_ID = "rzp_test_Benchmark000001"
KEY_SECRET = "benchmark-key-secret-0001"  # noqa: S105 - a sandbox-only value
WEBHOOK_SECRET = "benchmark-webhook-secret-01"  # noqa: S105 - a sandbox-only value


def _provider(base_url: str | None = None) -> RazorpayProvider:
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


def _rate(count: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(count):
        run()
    return count / (time.perf_counter() - started)


def bench_webhooks(count: int) -> None:
    provider = _provider()
    samples = {p["event"]: p for p, _ in webhook_samples()}
    for name in ("payment_link.paid", "payment.captured"):
        body = json.dumps(samples[name]).encode()
        headers = {
            "X-Razorpay-Signature": hmac.new(
                WEBHOOK_SECRET.encode(), body, hashlib.sha256
            ).hexdigest()
        }

        def handle(body: bytes = body, headers: dict[str, str] = headers) -> object:
            provider.verify_webhook_signature(body, headers)
            return provider.handle_webhook_event(json.loads(body))

        rates = [_rate(count, handle) for _ in range(3)]
        print(f"webhook {name:<20} {len(body):>5} B  {statistics.median(rates):>10,.0f} events/s")
    provider.close()


def bench_charges(count: int) -> None:
    from paywire_sandbox import run_sandbox

    with run_sandbox(host="127.0.0.1", port=0) as sandbox:
        provider = _provider(sandbox.url + "/razorpay")
        made = sandbox.control(
            "POST",
            "/razorpay/tokens",
            json={"card": "4111111111111111", "customer": {"email": "bench@example.com"}},
        ).json()
        customer_id = made["customer"]["id"]
        method = paywire.SavedPaymentMethod(
            "razorpay", method_id(customer_id, made["token"]["id"]), customer_id
        )
        amount = paywire.Money("12.34", "INR")
        for label, keyed in (("with a key", True), ("without a key", False)):
            timings = []
            for index in range(count):
                key = f"bench-{label[0]}-{index:06d}" if keyed else None
                started = time.perf_counter()
                provider.charge_payment_method(method, amount, idempotency_key=key)
                timings.append((time.perf_counter() - started) * 1000)
            print(
                f"charge {label:<14} median {statistics.median(timings):6.2f} ms  "
                f"p95 {sorted(timings)[int(len(timings) * 0.95) - 1]:6.2f} ms"
            )
        provider.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--charges", type=int, default=100)
    args = parser.parse_args()
    bench_webhooks(args.events)
    bench_charges(args.charges)


if __name__ == "__main__":
    main()
