"""SQLite's per-event locks: a new event is held, not written, while its handlers run; the hold
keeps other threads and processes out, and the operating system lets go when its process dies."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from webhook_support import event_body, make_provider, run_in_fork, signed

from paywire import ConfigurationError, EventType, WebhookEvent
from paywire.webhooks import NewEvent, SQLiteEventStore, WebhookProcessor, _locks
from paywire.webhooks._store import ThisProcess

LEASE = 60.0


def new(event_id: str, body: bytes = b'{"x": 1}') -> NewEvent:
    return NewEvent("acme", event_id, "payment.succeeded", json.dumps({"id": event_id}), body)


def test_the_lock_file_sits_beside_the_database_and_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    store = SQLiteEventStore(tmp_path / "link" / "events.sqlite3")
    try:
        assert store.new_events == "lock"
        assert (real / "events.sqlite3-paywire-locks").exists()
        # Both paths to one database use one lock file, so they keep each other out.
        other = SQLiteEventStore(real / "events.sqlite3")
        try:
            assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "claimed"
            assert other.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "busy"
        finally:
            other.close()
    finally:
        store.close()


def test_bad_settings_and_an_unusable_lock_file_fail_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="new_events"):
        SQLiteEventStore(tmp_path / "a.sqlite3", new_events="later")  # type: ignore[arg-type]
    (tmp_path / "b.sqlite3-paywire-locks").mkdir()  # a directory where the lock file goes
    with pytest.raises(ConfigurationError, match="lock file") as caught:
        SQLiteEventStore(tmp_path / "b.sqlite3")
    assert "b.sqlite3-paywire-locks" in str(caught.value)


def test_stores_with_either_setting_keep_each_other_out(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    locking = SQLiteEventStore(path)
    recording = SQLiteEventStore(path, new_events="record")
    try:
        held = locking.record_and_claim(new("evt_1"), lease_seconds=LEASE)
        assert held.token is not None
        assert recording.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "busy"
        assert recording.get("acme", "evt_1") is None
        recorded = recording.record_and_claim(new("evt_2"), lease_seconds=LEASE)
        assert recorded.token is not None
        assert locking.record_and_claim(new("evt_2"), lease_seconds=LEASE).state == "busy"
        assert locking.finish("acme", "evt_1", held.token, status="processed")
        assert recording.finish("acme", "evt_2", recorded.token, status="processed")
        for event_id in ("evt_1", "evt_2"):
            assert recording.record_and_claim(new(event_id), lease_seconds=LEASE).state == (
                "processed"
            )
            assert locking.record_and_claim(new(event_id), lease_seconds=LEASE).state == (
                "processed"
            )
    finally:
        locking.close()
        recording.close()


def test_a_forked_child_is_kept_out_and_its_holds_end_with_it(tmp_path: Path) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    try:
        parent = store.record_and_claim(new("evt_parent"), lease_seconds=LEASE)
        assert parent.token is not None

        def child() -> int:
            # The parent's hold is another process's lock here; the child's own hold is let go
            # by the operating system when the child exits without finishing.
            if store.record_and_claim(new("evt_parent"), lease_seconds=LEASE).state != "busy":
                return 2
            if store.record_and_claim(new("evt_child"), lease_seconds=LEASE).state != "claimed":
                return 3
            return 0

        assert run_in_fork(child) == 0
        taken = store.record_and_claim(new("evt_child"), lease_seconds=LEASE)
        assert taken.state == "claimed"
        assert taken.attempts == 1
        assert store.get("acme", "evt_child") is None  # nothing of the child's try was written
        assert store.finish("acme", "evt_parent", parent.token, status="processed")
    finally:
        store.close()


def test_closing_one_store_does_not_drop_another_stores_holds(tmp_path: Path) -> None:
    # POSIX drops every lock a process has on a file when it closes any descriptor of it: the
    # stores share one descriptor per process and close it only when the last one goes.
    path = tmp_path / "events.sqlite3"
    holder = SQLiteEventStore(path)
    other = SQLiteEventStore(path)
    held = holder.record_and_claim(new("evt_1"), lease_seconds=LEASE)
    assert held.token is not None
    other.close()

    def child() -> int:
        probe = SQLiteEventStore(path)
        try:
            state = probe.record_and_claim(new("evt_1"), lease_seconds=LEASE).state
        finally:
            probe.close()
        return 0 if state == "busy" else 1

    assert run_in_fork(child) == 0
    assert holder.finish("acme", "evt_1", held.token, status="processed")
    lock_path = os.path.realpath(path) + "-paywire-locks"
    assert lock_path in _locks._files
    holder.close()
    assert lock_path not in _locks._files


def test_a_hold_taken_over_in_this_process_keeps_the_first_body(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    store = SQLiteEventStore(tmp_path / "events.sqlite3", clock=lambda: now[0])
    try:
        first = store.record_and_claim(new("evt_1", b"first"), lease_seconds=10)
        now[0] += 10
        second = store.record_and_claim(new("evt_1", b"second"), lease_seconds=10)
        assert (second.state, second.attempts) == ("claimed", 2)
        assert first.token is not None
        assert second.token is not None
        assert not store.finish("acme", "evt_1", first.token, status="processed")
        assert store.finish("acme", "evt_1", second.token, status="deferred", error="later")
        stored = store.get("acme", "evt_1")
        assert stored is not None
        assert (stored.raw_body, stored.status, stored.attempts, stored.last_error) == (
            b"first",
            "deferred",
            2,
            "later",
        )
        assert stored.received_at == 1_800_000_000.0
    finally:
        store.close()


@given(st.lists(st.text(max_size=40), min_size=1, max_size=4))
def test_lock_offsets_are_stable_file_offsets(key: list[str]) -> None:
    offset = _locks.lock_offset(*key)
    assert 0 <= offset < 2**62
    assert offset == _locks.lock_offset(*key)


def _worker(store_path: str, ready: Any) -> None:
    """Deliver evt_1 and never finish: the handler signals, then waits to be killed."""
    provider = make_provider()
    processor = WebhookProcessor({"acme": provider}, SQLiteEventStore(store_path))

    @processor.on(EventType.PAYMENT_SUCCEEDED)
    def stuck(event: WebhookEvent) -> None:
        ready.set()
        signal.pause()

    body = event_body("evt_1")
    processor.process("acme", body, signed(body))


@pytest.mark.slow
def test_a_worker_killed_in_its_handlers_lets_the_next_delivery_through(tmp_path: Path) -> None:
    store_path = tmp_path / "events.sqlite3"
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    worker = context.Process(target=_worker, args=(str(store_path), ready))
    worker.start()
    provider = make_provider()
    store = SQLiteEventStore(store_path)
    processor = WebhookProcessor({"acme": provider}, store)
    runs: list[str] = []
    processor.on(EventType.PAYMENT_SUCCEEDED)(lambda event: runs.append(event.id))
    body = event_body("evt_1")
    try:
        assert ready.wait(60), "the worker never reached its handler"
        # The worker holds the event: a redelivery meanwhile is told to come back later.
        during = processor.process("acme", body, signed(body))
        assert (during.status_code, during.outcome) == (409, "in_progress")
        assert store.get("acme", "evt_1") is None
        worker.kill()
        worker.join(60)
        assert worker.exitcode == -signal.SIGKILL
        # The kill let go of the lock at once: no lease has to run out first.
        after = processor.process("acme", body, signed(body))
        assert (after.status_code, after.outcome) == (200, "processed")
        assert runs == ["evt_1"]
        stored = store.get("acme", "evt_1")
        assert stored is not None
        assert (stored.status, stored.attempts) == ("processed", 1)
    finally:
        if worker.is_alive():
            worker.kill()
            worker.join(60)
        store.close()
        provider.close()


def test_a_failure_while_looking_lets_go_of_the_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteEventStore(tmp_path / "events.sqlite3")
    try:
        monkeypatch.setitem(store._sql, "state", "SELECT nonsense FROM nowhere")
        with pytest.raises(sqlite3.OperationalError):
            store.record_and_claim(new("evt_1"), lease_seconds=LEASE)
        monkeypatch.undo()
        assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "claimed"
    finally:
        store.close()
    store.close()  # closing twice is harmless


def test_a_store_used_after_fork_opens_its_own_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a forked child sees (its coverage is not collected): another process id.
    path = str(tmp_path / "events.sqlite3")
    store = SQLiteEventStore(path)
    try:
        inherited = store._lock_file()
        assert inherited is not None
        monkeypatch.setattr(os, "getpid", lambda: -7)
        monkeypatch.setattr(ThisProcess, "pid", -7)
        own = store._lock_file()
        assert own is not None
        assert own is not inherited
        assert own.pid == -7
        _locks.release_lock_file(inherited)  # the parent's: left alone
        assert _locks._files[own.path] is own
        assert store.record_and_claim(new("evt_1"), lease_seconds=LEASE).state == "claimed"
    finally:
        store.close()


def test_the_lock_file_reports_takeovers_and_errors(tmp_path: Path) -> None:
    lock_file = _locks.use_lock_file(str(tmp_path / "locks"))
    try:
        assert "held=0" in repr(lock_file)
        first = lock_file.acquire(5, "a", now=0.0, until=1.0)
        assert first is not None
        assert lock_file.acquire(5, "b", now=0.5, until=2.0) is None
        second = lock_file.acquire(5, "b", now=1.0, until=2.0)
        assert second is not None
        assert second.attempts == 2
        assert not lock_file.release(first)
        assert lock_file.release(second)
        os.close(lock_file._fd)
        with pytest.raises(OSError, match="Bad file descriptor"):
            lock_file.acquire(6, "c", now=0.0, until=1.0)
        lock_file._fd = os.open(lock_file.path, os.O_RDWR)
    finally:
        _locks.release_lock_file(lock_file)
