"""Serving the sandbox with uvicorn in a background thread, and a client for its control API."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import uvicorn

from paywire_sandbox._app import SandboxApp, build_app
from paywire_sandbox._fake import Fake

__all__ = ["RunningSandbox", "SandboxControlError", "run_sandbox"]


class SandboxControlError(Exception):
    """A control-API call answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status = status
        self.body = body


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RunningSandbox:
    """A served sandbox: its base URL and helpers for the control API (``/_sandbox``)."""

    def __init__(self, app: SandboxApp, url: str) -> None:
        self.app = app
        self.url = url
        self._client = httpx.Client(base_url=url, timeout=30.0, trust_env=False)

    def __repr__(self) -> str:
        return f"RunningSandbox(url={self.url!r}, fakes={sorted(self.app.sandbox.fakes)!r})"

    def close(self) -> None:
        """Close the control client (the server is stopped by :func:`run_sandbox`)."""
        self._client.close()

    def control(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """Any control call; ``path`` is below ``/_sandbox`` (``/stripe/checkout/cs_1/complete``).

        A path already starting with ``/_sandbox/`` is used as is. Returns the raw response
        without raising on error statuses.
        """
        if not path.startswith("/"):
            path = "/" + path
        if path != "/_sandbox" and not path.startswith("/_sandbox/"):
            path = "/_sandbox" + path
        return self._client.request(method, path, json=json, **kwargs)

    def _call(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = self.control(method, path, json=json, **kwargs)
        if response.is_error:
            raise SandboxControlError(
                method, "/_sandbox" + path, response.status_code, response.text
            )
        return response.json()

    def info(self) -> dict[str, Any]:
        """The served fakes, plugins that failed to load (with reasons), the clock."""
        result: dict[str, Any] = self._call("GET", "/")
        return result

    def reset(self, *, keep_endpoints: bool = False) -> None:
        """Forget every resource, delivery, fault, clock offset and (unless kept) endpoint."""
        self._call("POST", "/reset", json={"keep_endpoints": keep_endpoints})

    def now(self) -> float:
        """The sandbox clock."""
        return float(self._call("GET", "/clock")["now"])

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock forward; returns the new time."""
        return float(self._call("POST", "/clock/advance", json={"seconds": seconds})["now"])

    def register_webhook(
        self, provider: str, url: str, secret: str, **extra: str
    ) -> dict[str, Any]:
        """Register a webhook endpoint; returns ``{"id", "provider", "url", "extra"}``."""
        body = {"provider": provider, "url": url, "secret": secret, "extra": extra}
        result: dict[str, Any] = self._call("POST", "/webhooks/endpoints", json=body)
        return result

    def webhook_endpoints(self, provider: str | None = None) -> list[dict[str, Any]]:
        """The registered endpoints (without secrets)."""
        params = {"provider": provider} if provider else None
        result: list[dict[str, Any]] = self._call("GET", "/webhooks/endpoints", params=params)
        return result

    def remove_webhook(self, endpoint_id: str) -> None:
        """Unregister one endpoint."""
        self._call("DELETE", f"/webhooks/endpoints/{endpoint_id}")

    def deliveries(self, provider: str | None = None, **filters: str) -> list[dict[str, Any]]:
        """Recorded delivery attempts, oldest first (filters: ``event_id``, ``endpoint_id``)."""
        params = {k: v for k, v in {"provider": provider, **filters}.items() if v is not None}
        result: list[dict[str, Any]] = self._call("GET", "/webhooks/deliveries", params=params)
        return result

    def redeliver(self, delivery_id: str) -> dict[str, Any]:
        """Send a delivery's event again, once; returns the new attempt's record."""
        result: dict[str, Any] = self._call("POST", f"/webhooks/deliveries/{delivery_id}/redeliver")
        return result

    def wait_for_webhooks(self, timeout: float = 5.0) -> None:
        """Return when no delivery is pending; raises ``TimeoutError`` after ``timeout``."""
        response = self.control(
            "POST", "/webhooks/wait", json={"timeout": timeout}, timeout=timeout + 30.0
        )
        if response.status_code == 408:
            raise TimeoutError(response.json()["error"]["message"])
        if response.is_error:
            raise SandboxControlError(
                "POST", "/_sandbox/webhooks/wait", response.status_code, response.text
            )

    def add_fault(
        self,
        provider: str,
        method: str | None = "POST",
        path: str = "*",
        kind: str = "server_error",
        count: int | None = 1,
        status: int | None = None,
        retry_after: int | None = None,
        delay: float | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        """Arm a fault (see the fault kinds in the README); returns it with its ``id``.
        ``after``: the id of a fault this one waits for (it matches once that one fired)."""
        options = {"status": status, "retry_after": retry_after, "delay": delay, "after": after}
        body: dict[str, Any] = {
            "provider": provider,
            "method": method,
            "path": path,
            "kind": kind,
            "count": count,
            **{key: value for key, value in options.items() if value is not None},
        }
        result: dict[str, Any] = self._call("POST", "/faults", json=body)
        return result

    def faults(self) -> list[dict[str, Any]]:
        """The armed faults, with what is left of their counts."""
        result: list[dict[str, Any]] = self._call("GET", "/faults")
        return result

    def clear_faults(self) -> None:
        """Disarm every fault (events held by ``reorder_webhooks`` are then delivered)."""
        self._call("DELETE", "/faults")


class _ServerThread(threading.Thread):
    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        super().__init__(name="paywire-sandbox", daemon=True)
        self.server = server
        self.sock = sock
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # reported to the starting thread
            self.error = exc


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def base_url(host: str, port: int) -> str:
    """``http://host:port`` (IPv6 hosts bracketed)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def server_config(
    app: SandboxApp, *, log_level: str = "warning", access_log: bool = False
) -> uvicorn.Config:
    """The uvicorn settings the sandbox is served with (httptools if installed, no access log)."""
    return uvicorn.Config(
        app,
        lifespan="on",
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=3,
        server_header=False,
        proxy_headers=False,  # a local test server: no proxy's headers to trust
    )


@contextlib.contextmanager
def run_sandbox(
    fakes: Sequence[type[Fake] | str] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
    **build_app_kwargs: Any,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox app in a background thread for the duration of the ``with`` block.

    ``port=0`` picks a free port. ``fakes`` and the remaining keyword arguments go to
    :func:`build_app`. On exit the server shuts down (webhook deliveries in flight are cancelled).
    """
    if not is_loopback(host):
        raise ValueError("run_sandbox serves on loopback addresses only")
    app = build_app(fakes, **build_app_kwargs)
    server = uvicorn.Server(server_config(app))
    sock = _bind(host, port)
    thread = _ServerThread(server, sock)
    running: RunningSandbox | None = None
    try:
        thread.start()
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server failed to start") from thread.error
            if time.monotonic() > deadline:
                raise TimeoutError("the sandbox server did not start in time")
            time.sleep(0.005)
        running = RunningSandbox(app, base_url(host, sock.getsockname()[1]))
        yield running
    finally:
        if running is not None:
            running.close()
        server.should_exit = True
        thread.join(timeout=startup_timeout + 5)
        sock.close()
        if thread.is_alive():  # pragma: no cover - a wedged server; not silently ignored
            raise RuntimeError("the sandbox server did not stop")
