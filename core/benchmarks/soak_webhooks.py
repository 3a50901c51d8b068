"""Soak the webhook processor: 10,000 events through the SQLite store, the way providers deliver.

    python core/benchmarks/soak_webhooks.py [--events 10000] [--synchronous NORMAL|FULL]
                                            [--new-events lock|record]

Half the events are payments, half refunds of those payments. A simulated provider delivers them
with 10% delivered twice (at a random later point), 5% reordered (a refund before its payment:
its handler defers it, and the processor replays it once the payment is processed), and 5%
failing in the handler on their first run (answered 500). Every non-2xx answer is delivered again
a little later, as a provider would; at the end the app's periodic ``replay_pending()`` runs once.

It checks that no event was lost and none was handled twice — every event handled exactly once,
nothing left pending, every stored event processed — and exits non-zero otherwise. It prints
events/s (distinct events, end to end: signature check, parsing, normalization, recording,
handlers, marking done, and all the redeliveries) in wall-clock time and in this process's CPU
time (the rate one core sustains whatever else the machine is doing).

Durability: SQLite in WAL mode with ``synchronous=NORMAL`` (the store's defaults). Every event is
committed with its outcome — written to the operating system — before it is answered, so what
was answered survives the process crashing at any point; an event whose process dies while its
handlers run was not answered and is delivered again. Only finished events are acknowledged
(2xx); anything still waiting was answered non-2xx and is delivered again, so a power loss that
forgets the last commits loses nothing either (see ``paywire.webhooks._sqlite``).
``--synchronous FULL`` syncs the WAL on every commit; ``--new-events record`` also writes each
event before its handlers run (two commits per event).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from paywire import (
    ISO_RULES,
    Capabilities,
    Capability,
    ConfigurationError,
    EventType,
    Provider,
    ProviderConfig,
    Secret,
    UnknownEvent,
    WebhookEvent,
)
from paywire.plugin import (
    get_header,
    verify_hmac_sha256_hex,
)
from paywire.webhooks import Defer, SQLiteEventStore, WebhookProcessor

SECRET = "soak-webhook-secret"  # noqa: S105 - a throw-away key for a local benchmark
HEADER = "X-Soak-Signature"
TYPES = {"payment": EventType.PAYMENT_SUCCEEDED, "refund": EventType.REFUND_SUCCEEDED}


class SoakProvider(Provider[ProviderConfig]):
    """Webhooks only: hex HMAC-SHA256 of the body, ``{"id", "type", "tx"}`` events."""

    name = "soak"
    capabilities = Capabilities(frozenset({Capability.WEBHOOKS}))
    config_class = ProviderConfig
    currency_rules = ISO_RULES
    default_base_url = "https://soak.invalid"

    def available(self) -> bool:
        return True

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        verify_hmac_sha256_hex(payload, get_header(headers, HEADER), secret or SECRET)

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        kind = payload.get("type")
        if kind not in TYPES:
            raise UnknownEvent("unknown", provider=self.name, event_type=str(kind))
        return WebhookEvent(
            provider=self.name,
            id=payload["id"],
            type=TYPES[kind],
            raw_type=kind,
            transaction_id=payload["tx"],
            data=dict(payload),
        )

    def _webhooks_only(self) -> ConfigurationError:
        # Deliberately webhook-only: the soak exercises the processor, nothing else.
        return ConfigurationError("the soak provider only sends webhooks")

    def create_checkout_session(self, *a: Any, **k: Any) -> Any:
        raise self._webhooks_only()

    def create_setup_session(self, *a: Any, **k: Any) -> Any:
        raise self._webhooks_only()

    def charge_payment_method(self, *a: Any, **k: Any) -> Any:
        raise self._webhooks_only()

    def create_refund(self, *a: Any, **k: Any) -> Any:
        raise self._webhooks_only()

    def get_payment_method_details(self, *a: Any, **k: Any) -> Any:
        raise self._webhooks_only()

    def detach_payment_method(self, *a: Any, **k: Any) -> Any:
        raise self._webhooks_only()


def sign(event_id: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of event ``event_id`` (``pay_N`` or ``ref_N``), as the provider
    sends them."""
    kind, _, n = event_id.partition("_")
    body = json.dumps(
        {"id": event_id, "type": "payment" if kind == "pay" else "refund", "tx": f"tx_{n}"}
    ).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {HEADER: signature, "Content-Type": "application/json"}


def build_deliveries(events: int, rng: random.Random) -> tuple[list[str], set[str], int]:
    """The delivery order (event ids), the ids whose first handler run fails, how many pairs
    were reordered."""
    pairs = events // 2
    order: list[str] = []
    reordered = 0
    flip = set(rng.sample(range(pairs), k=round(events * 0.05)))
    for i in range(pairs):
        pair = [f"pay_{i}", f"ref_{i}"]
        if i in flip:
            pair.reverse()
            reordered += 1
        order += pair
    every = list(order)
    # 10% delivered a second time, somewhere after the first delivery (placed in one pass: the
    # list is long, and a second delivery before the first would turn a refund that precedes
    # its payment by one step into one that precedes it by thousands).
    position = {event_id: i for i, event_id in enumerate(every)}
    again: dict[int, list[str]] = {}
    for event_id in rng.sample(every, k=round(events * 0.10)):
        again.setdefault(rng.randint(position[event_id], len(every) - 1), []).append(event_id)
    order = []
    for i, event_id in enumerate(every):
        order.append(event_id)
        order += again.get(i, ())
    failing = set(rng.sample(every, k=round(events * 0.05)))
    return order, failing, reordered


def run(
    events: int,
    synchronous: Literal["NORMAL", "FULL"],
    folder: Path,
    seed: int,
    new_events: Literal["lock", "record"] | None = None,
) -> int:
    rng = random.Random(seed)
    order, failing, reordered = build_deliveries(events, rng)
    bodies = {event_id: sign(event_id) for event_id in set(order)}

    path = folder / "soak-events.sqlite3"
    store = SQLiteEventStore(path, synchronous=synchronous, new_events=new_events)
    provider = SoakProvider.create(ProviderConfig(webhook_secret=Secret(SECRET)))
    processor = WebhookProcessor({"soak": provider}, store)

    handled: Counter[str] = Counter()
    paid: set[str] = set()
    to_fail = set(failing)

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def payment(event: WebhookEvent) -> None:
        if event.id in to_fail:
            to_fail.discard(event.id)
            raise RuntimeError("injected handler failure")
        assert event.transaction_id is not None
        paid.add(event.transaction_id)
        handled[event.id] += 1

    @processor.on(EventType.REFUND_SUCCEEDED)
    def refund(event: WebhookEvent) -> None:
        if event.transaction_id not in paid:
            raise Defer("refund before its payment")
        if event.id in to_fail:
            to_fail.discard(event.id)
            raise RuntimeError("injected handler failure")
        handled[event.id] += 1

    outcomes: Counter[str] = Counter()
    queue = list(reversed(order))  # pop() from the end is O(1)
    deliveries = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    while queue:
        event_id = queue.pop()
        body, headers = bodies[event_id]
        result = processor.process("soak", body, headers)
        deliveries += 1
        outcomes[result.outcome] += 1
        for replayed in result.replayed:
            outcomes["replayed:" + replayed.outcome] += 1
        if not result.ok:
            # The provider tries again a little later.
            queue.insert(max(0, len(queue) - rng.randint(1, 50)), event_id)
    # What an app's periodic job does: retry whatever still waits.
    while drained := processor.replay_pending():
        for replayed in drained:
            outcomes["drained:" + replayed.outcome] += 1
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started

    problems = []
    expected = {f"{kind}_{i}" for i in range(events // 2) for kind in ("pay", "ref")}
    lost = expected - set(handled)
    twice = {event_id for event_id, count in handled.items() if count != 1}
    if lost:
        problems.append(f"{len(lost)} events never handled, e.g. {sorted(lost)[:5]}")
    if twice:
        problems.append(f"{len(twice)} events handled more than once, e.g. {sorted(twice)[:5]}")
    if to_fail:
        problems.append(f"{len(to_fail)} injected failures never happened")
    pending = processor.pending()
    if pending:
        problems.append(f"{len(pending)} events still pending")
    with sqlite3.connect(path) as db:
        # The store's default table name, a fixed identifier.
        query = f"SELECT status, COUNT(*) FROM {store.table} GROUP BY status"  # noqa: S608
        statuses = dict(db.execute(query))
    db.close()
    if statuses != {"processed": len(expected)}:
        problems.append(f"stored statuses: {statuses}")
    store.close()
    provider.close()

    print(f"events: {len(expected):,} distinct, {deliveries:,} deliveries")
    print(
        f"faults: {len(order) - len(expected):,} duplicated, {reordered:,} reordered, "
        f"{len(failing):,} handler failures (redelivered)"
    )
    print("outcomes: " + ", ".join(f"{k}={v:,}" for k, v in sorted(outcomes.items())))
    print(
        f"store: SQLite WAL, synchronous={synchronous}, new_events={store.new_events} ({path})"
    )
    print(
        f"wall: {elapsed:.2f} s -> {len(expected) / elapsed:,.0f} events/s, "
        f"{deliveries / elapsed:,.0f} deliveries/s"
    )
    # CPU time of this (single-threaded) process: the rate one core sustains, whatever else
    # the machine is doing; the wall figure also counts waiting for the disk and for the CPU.
    print(
        f"cpu:  {cpu:.2f} s -> {len(expected) / cpu:,.0f} events/s, "
        f"{deliveries / cpu:,.0f} deliveries/s"
    )
    if problems:
        for problem in problems:
            print("FAIL: " + problem, file=sys.stderr)
        return 1
    print("OK: none lost, none handled twice")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL")
    parser.add_argument("--new-events", choices=["lock", "record"], default=None)
    parser.add_argument("--seed", type=int, default=20_26)
    parser.add_argument("--dir", type=Path, help="where the database goes (default: a temp dir)")
    args = parser.parse_args(argv)
    # The injected failures are logged with their tracebacks; they are expected here.
    logging.getLogger("paywire.webhooks").setLevel(logging.CRITICAL)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        return run(args.events, args.synchronous, args.dir, args.seed, args.new_events)
    with tempfile.TemporaryDirectory(prefix="paywire-soak-") as folder:
        return run(args.events, args.synchronous, Path(folder), args.seed, args.new_events)


if __name__ == "__main__":
    sys.exit(main())
