"""One behavioural suite for every EventStore: in-memory, SQLite and PostgreSQL (a real server)."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from webhook_support import ManualClock, StoreFactory, run_in_fork

from paywire.webhooks import EventStore, InMemoryEventStore, NewEvent, StoredEvent

LEASE = 60.0


def new(event_id: str, provider: str = "acme", body: bytes = b'{"x": 1}') -> NewEvent:
    return NewEvent(
        provider=provider,
        event_id=event_id,
        event_type="payment.succeeded",
        event_json=json.dumps({"id": event_id}),
        raw_body=body,
    )


def test_a_new_event_is_claimed_and_stored_with_its_outcome(
    store: EventStore, clock: ManualClock
) -> None:
    claim = store.record_and_claim(new("evt_1", body=b"\x00raw \xff"), lease_seconds=LEASE)
    assert claim.state == "claimed"
    assert claim.token
    assert claim.attempts == 1
    received = clock.now
    clock.advance(2)
    assert store.finish("acme", "evt_1", claim.token, status="pending", error="boom")
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 1, "boom")
    assert stored.raw_body == b"\x00raw \xff"
    assert stored.event_json is not None
    assert stored.event_json.replace(" ", "") == '{"id":"evt_1"}'
    assert stored.lease_until is None
    assert stored.received_at == pytest.approx(received)
    assert stored.updated_at == pytest.approx(received + 2)
    assert store.get("acme", "evt_2") is None
    assert store.get("other", "evt_1") is None


def test_a_new_event_whose_handlers_run_is_stored_or_held(
    store: EventStore, clock: ManualClock, records_in_flight: bool
) -> None:
    claim = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert claim.token is not None
    stored = store.get("acme", "evt_1")
    if records_in_flight:
        # Written as pending, with its lease, before the handlers run.
        assert stored is not None
        assert stored.status == "pending"
        assert stored.lease_until == pytest.approx(clock.now + LEASE)
        assert [e.event_id for e in store.pending()] == ["evt_1"]
    else:
        # Held under a lock; written once, with its outcome.
        assert stored is None
        assert store.pending() == []
        assert store.claim("acme", "evt_1", lease_seconds=LEASE) is None
        assert store.claim_pending(lease_seconds=LEASE, limit=10) == []
    assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "busy"
    assert store.finish("acme", "evt_1", claim.token, status="processed")
    assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "processed"


def test_a_live_lease_makes_other_deliveries_busy_and_keeps_the_first_body(
    store: EventStore,
) -> None:
    first = store.record_and_claim(new("evt_1", body=b"first"), lease_seconds=LEASE)
    second = store.record_and_claim(new("evt_1", body=b"second"), lease_seconds=LEASE)
    assert first.state == "claimed"
    assert second.state == "busy"
    assert second.token is None
    assert store.claim("acme", "evt_1", lease_seconds=LEASE) is None
    assert first.token is not None
    assert store.finish("acme", "evt_1", first.token, status="pending")
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.raw_body == b"first"
    assert stored.attempts == 1


def test_the_same_id_from_another_provider_is_another_event(store: EventStore) -> None:
    assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "claimed"
    assert store.record_and_claim(new("evt_1", "other"), lease_seconds=LEASE).state == "claimed"


def test_a_processed_event_is_reported_as_such_and_cannot_be_claimed(store: EventStore) -> None:
    claim = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert claim.token is not None
    assert store.finish("acme", "evt_1", claim.token, status="processed")
    again = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert again.state == "processed"
    assert again.token is None
    assert store.claim("acme", "evt_1", lease_seconds=LEASE) is None
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.status == "processed"
    assert stored.lease_until is None
    assert store.pending() == []


def test_only_the_lease_holder_can_finish(store: EventStore) -> None:
    claim = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert not store.finish("acme", "evt_1", "not-the-token", status="processed")
    assert not store.finish("acme", "evt_unknown", "whatever", status="processed")
    assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "busy"
    assert claim.token is not None
    assert store.finish("acme", "evt_1", claim.token, status="processed")
    # A token is good for one finish: the lease is gone afterwards.
    assert not store.finish("acme", "evt_1", claim.token, status="pending")


def test_an_expired_lease_can_be_reclaimed_and_the_old_holder_loses_it(
    store: EventStore, clock: ManualClock
) -> None:
    first = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    clock.advance(LEASE - 1)
    assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "busy"
    clock.advance(1)
    second = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert second.state == "claimed"
    assert second.attempts == 2
    assert second.token != first.token
    assert first.token is not None
    assert second.token is not None
    assert not store.finish("acme", "evt_1", first.token, status="processed")
    assert store.finish("acme", "evt_1", second.token, status="processed")


def test_claim_takes_an_open_event_with_a_free_or_expired_lease(
    store: EventStore, clock: ManualClock
) -> None:
    assert store.claim("acme", "evt_missing", lease_seconds=LEASE) is None
    claim = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert claim.token is not None
    assert store.finish("acme", "evt_1", claim.token, status="pending", error="boom")
    token = store.claim("acme", "evt_1", lease_seconds=10)
    assert token is not None
    assert store.claim("acme", "evt_1", lease_seconds=10) is None
    clock.advance(10)
    token2 = store.claim("acme", "evt_1", lease_seconds=10)
    assert token2 is not None
    assert token2 != token
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.attempts == 3
    assert stored.last_error == "boom"


def test_finish_records_the_status_and_error(store: EventStore) -> None:
    claim = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert claim.token is not None
    assert store.finish("acme", "evt_1", claim.token, status="deferred", error="needs payment")
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert (stored.status, stored.last_error, stored.lease_until) == (
        "deferred",
        "needs payment",
        None,
    )
    again = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert again.state == "claimed"
    assert again.token is not None
    assert store.finish("acme", "evt_1", again.token, status="processed")
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.status == "processed"
    assert stored.last_error is None


def test_ignored_events_are_recorded_once_and_never_claimed(store: EventStore) -> None:
    ignored = NewEvent("acme", "sha256:abc", "mystery.event", None, b"{}")
    assert store.record_ignored(ignored)
    assert not store.record_ignored(ignored)
    assert store.record_and_claim(new("sha256:abc"), lease_seconds=LEASE).state == "ignored"
    assert store.claim("acme", "sha256:abc", lease_seconds=LEASE) is None
    stored = store.get("acme", "sha256:abc")
    assert stored is not None
    assert (stored.status, stored.event_type, stored.event_json, stored.event) == (
        "ignored",
        "mystery.event",
        None,
        None,
    )
    assert store.pending() == []
    # An id already known as a real event — its handlers running, or done — is not overwritten
    # by an ignored record.
    claim = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert not store.record_ignored(NewEvent("acme", "evt_1", "x", None, b""))
    assert claim.token is not None
    assert store.finish("acme", "evt_1", claim.token, status="pending")
    assert not store.record_ignored(NewEvent("acme", "evt_1", "x", None, b""))
    stored = store.get("acme", "evt_1")
    assert stored is not None
    assert stored.status == "pending"


def _open_backlog(store: EventStore, clock: ManualClock) -> None:
    """evt_1 pending (failed), evt_2 deferred, evt_3 pending and leased again, evt_4 processed,
    evt_5 of another provider pending; received in that order, one second apart."""
    for event_id, provider, status in [
        ("evt_1", "acme", "pending"),
        ("evt_2", "acme", "deferred"),
        ("evt_3", "acme", "pending"),
        ("evt_4", "acme", "processed"),
        ("evt_5", "other", "pending"),
    ]:
        claim = store.record_and_claim(new(event_id, provider), lease_seconds=LEASE)
        assert claim.token is not None
        assert store.finish(provider, event_id, claim.token, status=status)  # type: ignore[arg-type]
        if event_id == "evt_3":
            assert store.claim(provider, event_id, lease_seconds=LEASE) is not None
        clock.advance(1)


def test_pending_lists_open_events_oldest_first(store: EventStore, clock: ManualClock) -> None:
    _open_backlog(store, clock)
    assert [(e.provider, e.event_id, e.status) for e in store.pending()] == [
        ("acme", "evt_1", "pending"),
        ("acme", "evt_2", "deferred"),
        ("acme", "evt_3", "pending"),
        ("other", "evt_5", "pending"),
    ]
    assert [e.event_id for e in store.pending(provider="other")] == ["evt_5"]
    assert [e.event_id for e in store.pending(limit=2)] == ["evt_1", "evt_2"]
    assert all(e.token is None for e in store.pending())


def test_claim_pending_leases_open_unleased_events(store: EventStore, clock: ManualClock) -> None:
    _open_backlog(store, clock)
    claimed = store.claim_pending(lease_seconds=LEASE, limit=10)
    assert [(e.provider, e.event_id) for e in claimed] == [
        ("acme", "evt_1"),
        ("acme", "evt_2"),
        ("other", "evt_5"),
    ]
    assert all(e.token for e in claimed)
    # Now they are all leased: nothing more to claim, and a delivery finds them busy.
    assert store.claim_pending(lease_seconds=LEASE, limit=10) == []
    assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "busy"
    for event in claimed:
        assert event.token is not None
        assert store.finish(event.provider, event.event_id, event.token, status="processed")
    clock.advance(LEASE)
    # evt_3's lease has expired in the meantime.
    assert [e.event_id for e in store.claim_pending(lease_seconds=LEASE, limit=10)] == ["evt_3"]


def test_claim_pending_filters_and_limits(store: EventStore, clock: ManualClock) -> None:
    _open_backlog(store, clock)
    assert [e.event_id for e in store.claim_pending(lease_seconds=1, limit=1)] == ["evt_1"]
    deferred = store.claim_pending(lease_seconds=1, limit=10, deferred_only=True)
    assert [e.event_id for e in deferred] == ["evt_2"]
    assert deferred[0].status == "deferred"
    assert store.claim_pending(provider="nobody", lease_seconds=1, limit=10) == []
    assert [
        e.event_id for e in store.claim_pending(provider="other", lease_seconds=1, limit=10)
    ] == ["evt_5"]
    assert store.claim_pending(lease_seconds=1, limit=0) == []


def test_claim_pending_serves_the_least_recently_tried_first(
    store: EventStore, clock: ManualClock
) -> None:
    for event_id in ("evt_a", "evt_b"):
        claim = store.record_and_claim(new(event_id), lease_seconds=LEASE)
        assert claim.token is not None
        assert store.finish("acme", event_id, claim.token, status="deferred")
        clock.advance(1)
    first = store.claim_pending(lease_seconds=LEASE, limit=1, deferred_only=True)
    assert [e.event_id for e in first] == ["evt_a"]
    assert first[0].token is not None
    assert store.finish("acme", "evt_a", first[0].token, status="deferred")
    clock.advance(1)
    # evt_a was just tried again, so evt_b's turn comes first.
    assert [e.event_id for e in store.claim_pending(lease_seconds=LEASE, limit=1)] == ["evt_b"]


def test_concurrent_deliveries_of_one_event_get_one_lease(make_store: StoreFactory) -> None:
    threads = 8
    stores = [make_store() for _ in range(2)]  # two handles on one database, like two workers
    barrier = threading.Barrier(threads)

    def deliver(i: int) -> str:
        barrier.wait()
        return stores[i % 2].record_and_claim(new("evt_race"), lease_seconds=LEASE).state

    with ThreadPoolExecutor(threads) as pool:
        states = Counter(pool.map(deliver, range(threads)))
    assert states == Counter({"claimed": 1, "busy": threads - 1})


def test_concurrent_replays_share_the_backlog(make_store: StoreFactory) -> None:
    first = make_store()
    for i in range(40):
        claim = first.record_and_claim(new(f"evt_{i}"), lease_seconds=LEASE)
        assert claim.token is not None
        first.finish("acme", f"evt_{i}", claim.token, status="deferred")
    stores = [first, make_store()]
    barrier = threading.Barrier(4)

    def replay(i: int) -> list[str]:
        barrier.wait()
        taken: list[str] = []
        while batch := stores[i % 2].claim_pending(lease_seconds=LEASE, limit=3):
            taken += [e.event_id for e in batch]
        return taken

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(replay, range(4)))
    everything = [event_id for taken in results for event_id in taken]
    assert sorted(everything) == sorted(f"evt_{i}" for i in range(40))


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    event_id=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
        min_size=1,
        max_size=60,
    ),
    body=st.binary(max_size=300),
)
def test_ids_and_bodies_round_trip_exactly(store: EventStore, event_id: str, body: bytes) -> None:
    event_id += uuid.uuid4().hex  # examples share the store; each records a new event
    assert store.record_ignored(NewEvent("fuzz", event_id, "t", None, body))
    stored = store.get("fuzz", event_id)
    assert stored is not None
    assert stored.event_id == event_id
    assert stored.raw_body == body
    assert type(stored.raw_body) is bytes


def test_claim_pending_backs_off_events_that_keep_deferring(
    store: EventStore, clock: ManualClock
) -> None:
    claim = store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert claim.token is not None
    assert store.finish("acme", "evt_1", claim.token, status="deferred")
    tried_at = [clock.now]
    for _ in range(40):
        for event in store.claim_pending(
            lease_seconds=LEASE, limit=5, deferred_only=True, backoff=2
        ):
            assert event.token is not None
            store.finish("acme", "evt_1", event.token, status="deferred")
            tried_at.append(clock.now)
        clock.advance(1)
    # Tried at once (attempt 1 → no wait), then 2 s, 6 s, 14 s after each previous try.
    start = tried_at[0]
    assert [t - start for t in tried_at] == [0, 0, 2, 8, 22]
    # Without backoff it is there at once.
    assert [e.event_id for e in store.claim_pending(lease_seconds=LEASE, limit=5)] == ["evt_1"]


def test_a_deferred_event_written_elsewhere_is_claimable_within_the_backoff(
    make_store: StoreFactory, clock: ManualClock
) -> None:
    # The processor looks for due deferred events after every processed event; a store may
    # answer that look from memory, but an event another process deferred must turn up within
    # `backoff` seconds (its own at once).
    here, elsewhere = make_store(), make_store()
    backoff = 5.0

    def look() -> list[StoredEvent]:
        return here.claim_pending(lease_seconds=LEASE, limit=5, deferred_only=True, backoff=backoff)

    assert look() == []
    claim = elsewhere.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert claim.token is not None
    assert elsewhere.finish("acme", "evt_1", claim.token, status="deferred")
    clock.advance(backoff)
    found = look()
    assert [e.event_id for e in found] == ["evt_1"]
    assert found[0].token is not None
    assert here.finish("acme", "evt_1", found[0].token, status="deferred")
    # Deferred here: looked at again at once, and due after its backoff (attempt 2: 5 s).
    assert look() == []
    clock.advance(backoff)
    assert [e.event_id for e in look()] == ["evt_1"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("defer"), st.integers(0, 3)),
            st.tuples(st.just("wait"), st.sampled_from([0.0, 0.5, 1.0, 2.0, 7.5])),
            st.tuples(st.just("look"), st.sampled_from(["deferred", "processed"])),
        ),
        max_size=30,
    )
)
@example(  # a look remembered between two others must not hide an event falling due
    steps=[
        ("defer", 1),
        ("look", "deferred"),
        ("wait", 0.5),
        ("look", "deferred"),
        ("wait", 0.5),
        ("look", "deferred"),
    ]
)
def test_looking_for_deferred_events_matches_the_plain_rule(
    make_store: StoreFactory, clock: ManualClock, steps: list[tuple[str, Any]]
) -> None:
    """Whatever a store remembers between looks, one handle's looks claim exactly what the
    in-memory store (the rule written plainly) claims for the same history."""
    store = make_store()
    model = InMemoryEventStore(clock=clock)
    prefix = uuid.uuid4().hex  # examples share the database
    for n, (action, arg) in enumerate(steps):
        if action == "defer":
            for i in range(arg):
                event = new(f"{prefix}-{n}-{i}")
                for s in (store, model):
                    claim = s.record_and_claim(event, lease_seconds=LEASE)
                    assert claim.token is not None
                    assert s.finish("acme", event.event_id, claim.token, status="deferred")
        elif action == "wait":
            clock.advance(arg)
        else:
            got = [
                s.claim_pending(lease_seconds=LEASE, limit=100, deferred_only=True, backoff=1.0)
                for s in (store, model)
            ]
            assert [e.event_id for e in got[0]] == [e.event_id for e in got[1]]
            for s, claimed in zip((store, model), got, strict=True):
                for e in claimed:
                    assert e.token is not None
                    assert s.finish("acme", e.event_id, e.token, status=arg)
    for s in (store, model):
        while leftover := s.claim_pending(lease_seconds=LEASE, limit=100):
            for e in leftover:
                assert e.token is not None
                s.finish("acme", e.event_id, e.token, status="processed")
    store.close()  # each example builds a store: keep one example's connections at a time


def test_a_forked_child_uses_its_own_connections_and_leaves_the_parents_alone(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    assert store.record_ignored(NewEvent("acme", "evt_parent", "t", None, b"p"))

    def in_child() -> int:
        store.record_ignored(NewEvent("acme", "evt_child", "t", None, b"c"))
        store.close()
        return 0

    assert run_in_fork(in_child) == 0
    # The parent's connection survived the child's close() and sees the child's write.
    written = store.get("acme", "evt_child")
    assert written is not None
    assert written.raw_body == b"c"


test_a_forked_child_uses_its_own_connections_and_leaves_the_parents_alone.store_kinds = [  # type: ignore[attr-defined]
    "sqlite",
    "postgres",
]
