"""The embedded inbox worker: threads in the app's own process that run the handlers of events
the inbox recorded. Nothing to start or deploy: the first delivery starts it.

Each thread loops on :meth:`WebhookProcessor.work`: claim a few due events with a lease, run
their handlers, record each outcome. A delivery recorded in this process wakes a thread at once;
events recorded by other processes (or due after a backoff) are found by polling every
``poll_interval`` seconds. Several processes (and machines, on PostgreSQL) may run workers on one
store: a claim is atomic, so each event goes to one of them, and a worker that dies lets its
events go when their lease runs out.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from paywire.webhooks._store import ThisProcess

if TYPE_CHECKING:
    from paywire.webhooks._processor import WebhookProcessor

__all__ = ["EmbeddedWorker"]

_log = logging.getLogger("paywire.webhooks")


class EmbeddedWorker:
    """Threads running :meth:`WebhookProcessor.work` until :meth:`stop`.

    Args:
        processor: whose handlers run.
        threads: how many events run at once.
        batch: how many events a thread claims at a time.
        poll_interval: seconds between looks for events that no wake-up announced.
    """

    def __init__(
        self,
        processor: WebhookProcessor,
        *,
        threads: int = 4,
        batch: int = 4,
        poll_interval: float = 0.5,
    ) -> None:
        self.processor = processor
        self.threads = threads
        self.batch = batch
        self.poll_interval = poll_interval
        self._stopping = threading.Event()
        self._wakeup = threading.Condition()
        self._signals = 0
        self._threads: list[threading.Thread] = []
        self._pid = ThisProcess.pid
        #: Events this worker ran, by outcome (read by tests and benchmarks).
        self.counts: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<EmbeddedWorker threads={self.threads} alive={self.alive()}>"

    def start(self) -> None:
        """Start the threads (daemon threads: a process that exits does not wait for them;
        what they were running is retried once its lease runs out)."""
        for number in range(self.threads):
            thread = threading.Thread(
                target=self._loop, name=f"paywire-webhooks-worker-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def alive(self) -> bool:
        """Whether the threads run in this process (a forked child has none of them)."""
        return (
            self._pid == ThisProcess.pid
            and not self._stopping.is_set()
            and any(t.is_alive() for t in self._threads)
        )

    def wake(self) -> None:
        """An event was recorded: let a waiting thread look now."""
        with self._wakeup:
            self._signals += 1
            self._wakeup.notify()

    def stop(self, timeout: float | None = None) -> None:
        """No more claims; wait up to ``timeout`` seconds for the running events."""
        self._stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()
        if self._pid != ThisProcess.pid:
            return
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)

    def _loop(self) -> None:
        processor = self.processor
        while not self._stopping.is_set():
            try:
                results = processor.work(limit=self.batch)
            except Exception:
                # The store is unreachable: the events wait; look again later.
                _log.exception("the webhook worker could not claim events")
                results = []
                self._stopping.wait(self.poll_interval)
            for result in results:
                self.counts[result.outcome] = self.counts.get(result.outcome, 0) + 1
            if results:
                continue
            with self._wakeup:
                if self._signals == 0 and not self._stopping.is_set():
                    self._wakeup.wait(self.poll_interval)
                self._signals = max(0, self._signals - 1)
