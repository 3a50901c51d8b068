"""The stripe SDK's request building and objects versus building Stripe's requests directly.

Run: ``python plugins/stripe/benchmarks/bench_sdk_vs_direct.py [--calls 20000]``
(needs the stripe SDK: the plugin's test dependency group).

No network: both sides get the same canned Stripe answer (a PaymentIntent, a Checkout Session, a
Refund as the sandbox writes them), so what is measured is the client's own work per call.

1. *Building and reading*: the SDK — ``StripeClient.v1.….create(params)`` over an HTTP client
   that hands back the canned answer (its parameter encoding, headers, ``X-Stripe-Client-User-
   Agent``, response parsing, ``StripeObject`` construction) and reading the result's fields —
   versus the plugin's operation — its parameter dict, the kernel's bracket ``form=`` encoding
   into an ``httpx.Request``, ``json.loads`` of the answer, the plugin's dict readers — driven
   without I/O.
2. *Whole client stack*: the same two, each over an ``httpx.Client`` with a ``MockTransport``
   that answers the canned body (the plugin through its public ``charge_payment_method``, with
   paywire's retry policy and idempotency key; the SDK through an ``httpx``-backed
   ``stripe.HTTPClient``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import stripe

import paywire
from paywire.plugin import Call, Operation, Reply, encode_form
from paywire_stripe import API_VERSION, StripeConfig, StripeProvider
from paywire_stripe._samples import objects

API_KEY = "sk_test_benchmark0000000000"
SAMPLES = objects()
INTENT = json.dumps(SAMPLES["payment_intent"](amount=1999, status="succeeded")).encode()
SESSION = json.dumps(SAMPLES["checkout.session"](status="open", url="https://x/pay")).encode()
REFUND = json.dumps(SAMPLES["refund"](amount=500)).encode()
CUSTOMER_ID = "cus_QXg1hqf4jFNsqG"
METHOD = paywire.SavedPaymentMethod("stripe", "pm_1Pgc75B7WZ01zgkWlHVgdEGJ", CUSTOMER_ID)
MONEY = paywire.Money("19.99", "USD")
INVOICE = paywire.Invoice(
    id="INV-BENCH",
    currency="USD",
    line_items=[
        paywire.LineItem("Pro plan", paywire.Money("12.50", "USD"), 2),
        paywire.LineItem("Seat", paywire.Money("5", "USD"), 3),
    ],
    customer=paywire.Customer(id="user-1", provider_customer_id=CUSTOMER_ID),
)
SUCCESS = "https://shop.example.com/paid?session={CHECKOUT_SESSION_ID}"
CANCEL = "https://shop.example.com/cart"


def answer_for(method: str, path: str) -> bytes:
    if path.endswith("/payment_intents"):
        return INTENT
    if path.endswith("/checkout/sessions"):
        return SESSION
    if path.endswith("/refunds"):
        return REFUND
    raise LookupError(f"{method} {path}")


class Canned(stripe.HTTPClient):
    """The SDK's HTTP client interface, answering without I/O."""

    name = "canned"

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        body = answer_for(method, urllib.parse.urlsplit(url).path)
        return body.decode(), 200, {"Request-Id": "req_1"}

    def close(self) -> None:
        return


class OverHttpx(stripe.HTTPClient):
    """The SDK's HTTP client interface over an ``httpx.Client`` (as its own HTTPXClient does)."""

    name = "httpx-mock"

    def __init__(self, client: httpx.Client) -> None:
        super().__init__()
        self.client = client

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        response = self.client.request(method, url, headers=headers, content=post_data)
        return response.text, response.status_code, response.headers

    def close(self) -> None:
        self.client.close()


def mock_transport() -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        body = answer_for(request.method, request.url.path)
        headers = {"Content-Type": "application/json", "Request-Id": "req_1"}
        return httpx.Response(200, content=body, headers=headers)

    return httpx.MockTransport(handle)


def sdk_client(http_client: stripe.HTTPClient) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY, http_client=http_client, max_network_retries=0, stripe_version=API_VERSION
    )


# The SDK side: the same requests the plugin sends, the same fields read from the answer.


def sdk_charge(client: stripe.StripeClient) -> paywire.ChargeResult:
    intent = client.v1.payment_intents.create(
        {
            "amount": 1999,
            "currency": "usd",
            "payment_method": METHOD.id,
            "confirm": True,
            "off_session": True,
            "customer": CUSTOMER_ID,
            "metadata": {"invoice_id": "INV-BENCH"},
        },
        {"idempotency_key": paywire.new_idempotency_key()},
    )
    rules = StripeProvider.currency_rules
    return paywire.ChargeResult(
        provider="stripe",
        id=intent.id,
        amount=rules.from_minor_units(intent.amount, intent.currency),
        status=paywire.PaymentStatus.SUCCEEDED,
        raw_status=intent.status,
        payment_method_id=str(intent.payment_method),
        invoice_id="INV-BENCH",
    )


def sdk_checkout(client: stripe.StripeClient) -> paywire.CheckoutSession:
    session = client.v1.checkout.sessions.create(
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
                },
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 500,
                        "product_data": {"name": "Seat"},
                    },
                    "quantity": 3,
                },
            ],
            "success_url": SUCCESS,
            "cancel_url": CANCEL,
            "client_reference_id": "INV-BENCH",
            "metadata": {"invoice_id": "INV-BENCH"},
            "payment_intent_data": {"metadata": {"invoice_id": "INV-BENCH"}},
            "customer": CUSTOMER_ID,
        },
        {"idempotency_key": paywire.new_idempotency_key()},
    )
    return paywire.CheckoutSession(
        provider="stripe",
        id=session.id,
        url=session.url or "",
        invoice_id="INV-BENCH",
        amount=INVOICE.total,
        customer_id=str(session.customer),
    )


def sdk_refund(client: stripe.StripeClient) -> paywire.RefundResult:
    refund = client.v1.refunds.create(
        {"payment_intent": "pi_1", "amount": 500},
        {"idempotency_key": paywire.new_idempotency_key()},
    )
    return paywire.RefundResult(
        provider="stripe",
        id=refund.id,
        transaction_id="pi_1",
        amount=StripeProvider.currency_rules.from_minor_units(refund.amount, refund.currency),
        status=paywire.RefundStatus.SUCCEEDED,
        raw_status=str(refund.status),
    )


# The plugin's side without I/O: its operation, the kernel's encoding, json.loads, its readers.


def direct(provider: StripeProvider, operation: Operation[Any]) -> Any:
    headers = provider.auth_headers()
    reply: Reply | None = None
    while True:
        try:
            call: Call = operation.send(reply)  # type: ignore[arg-type]
        except StopIteration as stop:
            return stop.value
        content = urllib.parse.urlencode(encode_form(call.form or {})).encode("ascii")
        provider.http.build_request(
            call.method,
            call.path,
            headers={
                **headers,
                "Idempotency-Key": call.key or "",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            content=content,
        )
        body = answer_for(call.method, call.path)
        reply = Reply(200, {}, body, data=json.loads(body), request_id="req_1")


def per_call(fn: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """Median CPU seconds per call over ``rounds`` runs of ``calls`` calls (nothing here waits,
    so this process's CPU time is the work, whatever else the machine runs)."""
    fn()
    runs = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(calls):
            fn()
        runs.append((time.process_time() - start) / calls)
    return statistics.median(runs)


def report(name: str, sdk: float, ours: float) -> None:
    print(
        f"  {name:<24} SDK {sdk * 1e6:7.1f} µs   direct {ours * 1e6:7.1f} µs   "
        f"SDK / direct {sdk / ours:4.1f}x"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=5000, help="calls per round")
    args = parser.parse_args(argv)
    calls = args.calls
    print(
        f"python {sys.version.split()[0]}, stripe {stripe.VERSION}, API {API_VERSION}; "
        "CPU time per call, median of 5 rounds"
    )
    config = paywire.load_config(StripeConfig, "stripe", environ={}, api_key=API_KEY)
    provider = StripeProvider.create(config)
    client = sdk_client(Canned())
    key = "bench-key"

    print("1. building the request and reading the answer (no HTTP client)")
    report(
        "charge (PaymentIntent)",
        per_call(lambda: sdk_charge(client), calls),
        per_call(
            lambda: direct(
                provider,
                provider.op_charge(
                    METHOD, MONEY, description=None, invoice_id="INV-BENCH", metadata={}, key=key
                ),
            ),
            calls,
        ),
    )
    report(
        "checkout (Session)",
        per_call(lambda: sdk_checkout(client), calls),
        per_call(
            lambda: direct(
                provider,
                provider.op_checkout(
                    INVOICE,
                    success_url=SUCCESS,
                    cancel_url=CANCEL,
                    save_payment_method=False,
                    key=key,
                ),
            ),
            calls,
        ),
    )
    report(
        "full refund (Refund)",
        per_call(lambda: sdk_refund(client), calls),
        per_call(
            lambda: direct(
                provider, provider.op_refund("pi_1", None, reason=None, metadata={}, key=key)
            ),
            calls,
        ),
    )

    print("2. the whole client stack over httpx.MockTransport")
    mocked = StripeProvider.create(config, transport=mock_transport())
    over_httpx = sdk_client(OverHttpx(httpx.Client(transport=mock_transport())))
    try:
        report(
            "charge_payment_method",
            per_call(lambda: sdk_charge(over_httpx), calls // 2),
            per_call(
                lambda: mocked.charge_payment_method(METHOD, MONEY, invoice_id="INV-BENCH"),
                calls // 2,
            ),
        )
        report(
            "create_checkout_session",
            per_call(lambda: sdk_checkout(over_httpx), calls // 2),
            per_call(
                lambda: mocked.create_checkout_session(
                    INVOICE, success_url=SUCCESS, cancel_url=CANCEL
                ),
                calls // 2,
            ),
        )
    finally:
        mocked.close()
        provider.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
