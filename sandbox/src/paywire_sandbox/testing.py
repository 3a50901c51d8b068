"""Test helpers: a local webhook receiver that answers with scripted statuses."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

__all__ = ["Headers", "WebhookReceiver"]


class Headers(dict[str, str]):
    """Request headers: names stored lower-cased, looked up case-insensitively."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key.lower() if isinstance(key, str) else key)

    def get(self, key: str, default: Any = None) -> Any:
        """The header's value, or ``default``."""
        return super().get(key.lower(), default)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (in a thread) that records every POST it receives.

    The n-th request is answered with ``statuses[n]``; once the list is used up, with
    ``default``. The n-th answer is held back ``delays[n]`` seconds, if given (to provoke the
    sender's timeout).
    Use as a context manager; :attr:`url` is where to register it.
    """

    def __init__(
        self, statuses: Iterable[int] = (), *, default: int = 200, delays: Iterable[float] = ()
    ) -> None:
        self.statuses = list(statuses)
        self.default = default
        self.delays = list(delays)
        self.requests: list[tuple[Headers, bytes]] = []
        self.paths: list[str] = []
        self._cond = threading.Condition()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving."""
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, delay = receiver._record(Headers(self.headers.items()), body, self.path)
                if delay:
                    time.sleep(delay)
                payload = b"ok" if 200 <= status < 300 else b"error"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True  # the sender gave up waiting: expected

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep test output clean

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _record(self, headers: Headers, body: bytes, path: str) -> tuple[int, float]:
        with self._cond:
            index = len(self.requests)
            self.requests.append((headers, body))
            self.paths.append(path)
            self._cond.notify_all()
        status = self.statuses[index] if index < len(self.statuses) else self.default
        delay = self.delays[index] if index < len(self.delays) else 0.0
        return status, delay

    def wait_for(self, n: int, timeout: float = 5.0) -> list[tuple[Headers, bytes]]:
        """Block until at least ``n`` requests arrived; returns them. Raises ``TimeoutError``."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise TimeoutError(
                    f"received {len(self.requests)} of {n} webhook requests in {timeout:g}s"
                )
            return list(self.requests)
