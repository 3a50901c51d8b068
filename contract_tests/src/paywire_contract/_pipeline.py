"""Webhooks as an app's processor handles them, for the checks: verify (every configured
secret) → parse → fetch, when the notification only names a resource → the provider's follow-up,
repeated for the webhooks a follow-up causes.

Module functions rather than suite methods, so a plugin's subclass cannot replace them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from paywire import EventReference, EventType, Money, UnknownEvent, WebhookEvent
from paywire_contract._checking import call, check, fail
from paywire_contract._harness import WebhookSample

if TYPE_CHECKING:
    from paywire_contract._session import ContractEnv, ReceivedWebhook

__all__ = [
    "Delivery",
    "delivery",
    "events_after",
    "fetch_authenticated",
    "find",
    "read",
    "sample",
    "signed",
    "summary",
]

# Follow-ups may cause webhooks whose follow-ups cause more; a provider looping forever fails.
_MAX_LOOKS: Final = 6


@attrs.frozen
class Delivery:
    """A webhook body and the headers it comes with (besides any signature)."""

    body: bytes
    headers: Mapping[str, str] = attrs.field(factory=dict)


def fetch_authenticated(env: ContractEnv) -> bool:
    """Whether the provider's notifications are authenticated by fetching what they name."""
    return type(env.provider).webhook_authentication == "fetch"


def delivery(item: Mapping[str, Any] | WebhookSample) -> Delivery:
    """A sample as a delivery: a :class:`WebhookSample` as is, a payload written as JSON."""
    if isinstance(item, WebhookSample):
        return Delivery(bytes(item.body), dict(item.headers))
    return Delivery(json.dumps(dict(item)).encode(), {})


def sample(env: ContractEnv) -> Delivery:
    """The harness's first webhook sample."""
    samples = env.harness.webhook_samples()
    check(bool(samples), "harness.webhook_samples() is empty")
    return delivery(samples[0][0])


def signed(
    env: ContractEnv,
    item: Delivery,
    *,
    timestamp: int | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    """``item``'s headers plus the signature the harness makes for its body."""
    headers = env.harness.sign_webhook(
        item.body,
        env.webhook_secret if secret is None else secret,
        timestamp=int(time.time()) if timestamp is None else timestamp,
    )
    return {**item.headers, **headers}


def read(
    env: ContractEnv, body: bytes, headers: Mapping[str, str], what: str
) -> WebhookEvent | None:
    """A verified delivery as the app would see it: parsed, and fetched when it only names a
    resource. ``None`` for an event type the provider does not map."""
    try:
        parsed = env.provider.parse_webhook(body, headers)
    except UnknownEvent:
        return None
    except Exception as exc:
        fail(f"parse_webhook of {what} raised {type(exc).__name__}: {exc}")
    if isinstance(parsed, WebhookEvent):
        check(
            not fetch_authenticated(env),
            f"parse_webhook of {what} returned an event built from the notification itself, but "
            f"{env.name}'s webhook_authentication is 'fetch': nothing in an unsigned notification "
            "may be trusted; return an EventReference and read the resource in "
            "fetch_webhook_event",
        )
        return parsed
    check(
        isinstance(parsed, EventReference),
        f"parse_webhook of {what} returned {parsed!r}; expected a WebhookEvent or an "
        "EventReference",
    )
    check(
        parsed.provider == env.name,
        f"parse_webhook of {what} returned a reference of provider {parsed.provider!r}, "
        f"expected {env.name!r}",
    )
    try:
        return env.ops.fetch_webhook_event(parsed)
    except UnknownEvent:
        return None
    except Exception as exc:
        fail(
            f"fetch_webhook_event of {parsed.resource_id!r} (named by {what}) raised "
            f"{type(exc).__name__}: {exc}"
        )


def _process(
    env: ContractEnv, hook: ReceivedWebhook, what: str, *, redeliver: bool
) -> WebhookEvent | None:
    try:
        env.ops.verify_webhook(hook.body, hook.headers)
    except Exception as exc:
        fail(f"{what} failed verification with the configured secret: {type(exc).__name__}: {exc}")
    event = read(env, hook.body, hook.headers, what)
    if event is None:
        return None
    check(
        event.provider == env.name and bool(event.id),
        f"{what} normalized to a {event.type.value} event with provider {event.provider!r} and "
        f"id {event.id!r}; expected {env.name!r} and a non-empty id",
    )
    if redeliver:
        # Providers deliver at least once: the same delivery again must be the same event, or
        # the app's event store (keyed on provider and event id) cannot tell it was seen.
        again = read(env, hook.body, hook.headers, f"{what}, delivered again")
        check(
            again is not None and again.id == event.id,
            f"{what}, delivered again, normalized to event id "
            f"{again.id if again else None!r}, the first time {event.id!r}: the app cannot tell "
            "a redelivery from a new event",
        )
    replacement = call(
        f"follow_up of the {event.type.value} event {event.id!r}", lambda: env.ops.follow_up(event)
    )
    return replacement or event


def events_after(env: ContractEnv, what: str, *, redeliver: bool = False) -> list[WebhookEvent]:
    """Every event the webhooks delivered since the last look normalize to, processed as an
    app's processor does (follow-ups included, and the webhooks they cause)."""
    events: list[WebhookEvent] = []
    number = looks = 0
    while received := call("reading the delivered webhooks", env.received_webhooks):
        looks += 1
        check(
            looks <= _MAX_LOOKS,
            f"the webhooks after {what} kept causing more webhooks ({_MAX_LOOKS} rounds)",
        )
        for hook in received:
            number += 1
            event = _process(
                env, hook, f"webhook #{number} delivered after {what}", redeliver=redeliver
            )
            if event is not None:
                events.append(event)
    return events


def summary(events: Sequence[WebhookEvent]) -> str:
    """The normalized events, briefly, for messages."""
    return (
        ", ".join(
            f"{e.type.value}(invoice_id={e.invoice_id!r}, amount={e.amount}, "
            f"transaction_id={e.transaction_id!r})"
            for e in events
        )
        or "none"
    )


def find(
    events: Sequence[WebhookEvent],
    kinds: Sequence[EventType],
    *,
    transaction_id: str | None = None,
    invoice_id: str | None = None,
    amount: Money | None = None,
    refund_id: str | None = None,
) -> list[WebhookEvent]:
    """The events of ``kinds`` that name ``transaction_id`` (or ``refund_id``), or else name
    ``invoice_id`` with exactly ``amount``."""
    out = []
    for event in events:
        if event.type not in kinds:
            continue
        by_id = (transaction_id is not None and event.transaction_id == transaction_id) or (
            refund_id is not None and event.refund_id == refund_id
        )
        by_invoice = (
            invoice_id is not None
            and event.invoice_id == invoice_id
            and (amount is None or event.amount == amount)
        )
        if by_id or by_invoice:
            out.append(event)
    return out
