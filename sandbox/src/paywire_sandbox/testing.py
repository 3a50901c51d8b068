"""Test helpers: a local webhook receiver that answers with scripted statuses, and the sandbox
served in a process of its own (for benchmarks, where the fake must not share the client's GIL)."""

from __future__ import annotations

import contextlib
import http.server
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any

__all__ = ["Headers", "WebhookReceiver", "sandbox_process"]


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
    """An HTTP server on 127.0.0.1 (in a thread) that records every POST it receives whole (a
    request whose body ends before its ``Content-Length`` is dropped, unanswered).

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
                if len(body) < length:
                    # The sender went away mid-body (a delivery cancelled by a reset): nothing
                    # was delivered, and a half body must not pass for a webhook.
                    self.close_connection = True
                    return
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


@contextlib.contextmanager
def sandbox_process(*fakes: str, startup_timeout: float = 30.0) -> Iterator[str]:
    """``paywire sandbox serve`` in a subprocess on a free loopback port; yields its root URL.

    ``fakes`` names the fakes to serve (all registered ones when empty). The server picks its own
    port and prints it, so two of these never race for one. On exit the process is terminated
    (killed if it does not stop in 10 s). A server that fails to start raises ``RuntimeError``
    with the end of what it wrote to stderr.
    """
    command = [sys.executable, "-m", "paywire_sandbox._cli", "serve", "--port", "0"]
    for name in fakes:
        command += ["--fake", name]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
        )
        try:
            assert process.stdout is not None
            root = _announced_root(process.stdout, startup_timeout)
            if root is None:
                process.kill()
                process.wait()
                errors.seek(0)
                tail = errors.read()[-2000:].decode("utf-8", "replace").strip()
                raise RuntimeError(f"the sandbox did not start: {tail or 'no output'}")
            # Keep reading, so that a full pipe never blocks the server.
            threading.Thread(target=process.stdout.read, name="sandbox-stdout", daemon=True).start()
            yield root
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _announced_root(stdout: IO[bytes], timeout: float) -> str | None:
    """The root URL from the ``control  http://host:port/_sandbox`` line ``serve`` prints."""
    found: list[str] = []

    def read() -> None:
        for raw in stdout:
            words = raw.decode("utf-8", "replace").split()
            if len(words) == 2 and words[0] == "control":
                found.append(words[1].removesuffix("/_sandbox"))
                return

    reader = threading.Thread(target=read, name="sandbox-start", daemon=True)
    reader.start()
    reader.join(timeout)  # on a timeout the caller kills the process, which ends the reader
    return found[0] if found else None
