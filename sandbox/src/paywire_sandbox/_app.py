"""Assembling the sandbox: one Starlette app, one fake per provider, the control API."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Router

from paywire_sandbox._clock import SandboxClock
from paywire_sandbox._control import ControlGuard, control_routes
from paywire_sandbox._fake import Fake, SandboxContext
from paywire_sandbox._faults import (
    FaultSet,
    IncompleteResponseFilter,
    ProviderApp,
    error_body_for,
)
from paywire_sandbox._plugins import FakeRegistry, PluginFailure, load_fakes
from paywire_sandbox._webhooks import DEFAULT_RETRY_DELAYS, WebhookHub

__all__ = ["Sandbox", "SandboxApp", "build_app"]

logger = logging.getLogger("paywire_sandbox")


class Sandbox:
    """The sandbox's state: the fakes, the clock, webhook delivery and armed faults."""

    def __init__(
        self,
        fake_classes: Mapping[str, type[Fake]],
        *,
        failures: Sequence[PluginFailure] = (),
        webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        webhook_timeout: float = 5.0,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.clock = SandboxClock()
        self.fakes: dict[str, Fake] = {}
        self.failures: list[PluginFailure] = list(failures)
        self.faults = FaultSet(lambda: self.fakes)
        self.webhooks = WebhookHub(
            self.clock,
            self.faults,
            retry_delays=webhook_retry_delays,
            timeout=webhook_timeout,
            transport=webhook_transport,
        )
        ctx = SandboxContext(clock=self.clock, webhooks=self.webhooks)
        for name, fake_class in fake_classes.items():
            try:
                self.fakes[name] = fake_class(ctx)
            except Exception as exc:
                reason = f"construction failed: {type(exc).__name__}: {exc}"
                logger.warning("sandbox fake %r skipped: %s", name, reason)
                self.failures.append(PluginFailure(name=name, reason=reason))
        self.webhooks.bind_fakes(self.fakes)

    def reset(self, *, keep_endpoints: bool = False) -> None:
        """Forget every resource, delivery, fault and clock offset (endpoints too, unless kept)."""
        self.webhooks.reset(keep_endpoints=keep_endpoints)
        self.faults.clear()  # what reorder faults held is dropped, not delivered
        self.clock.reset()
        failed: list[BaseException] = []
        for fake in self.fakes.values():
            try:
                fake.reset()
            except Exception as exc:  # reset the others before reporting the bug
                logger.exception("sandbox internal error resetting the %s fake", fake.name)
                failed.append(exc)
        if failed:
            raise failed[0]

    def clear_faults(self) -> int:
        """Disarm every fault, releasing events held by ``reorder_webhooks``; returns how many."""
        removed = self.faults.clear()
        for fault in removed:
            if fault.held:  # only reorder_webhooks faults hold events
                self.webhooks.release(fault)
        return len(removed)

    def remove_fault(self, fault_id: str) -> bool:
        """Disarm one fault (releasing what it held); False if there is no such fault."""
        fault = self.faults.get(fault_id)
        if fault is None:
            return False
        self.faults.remove(fault)
        if fault.held:
            self.webhooks.release(fault)
        return True


class SandboxApp(Starlette):
    """The sandbox's ASGI app; :attr:`sandbox` holds its state."""

    sandbox: Sandbox


@contextlib.asynccontextmanager
async def _lifespan(app: SandboxApp) -> AsyncIterator[None]:
    server_log = logging.getLogger("uvicorn.error")
    log_filter = IncompleteResponseFilter()
    server_log.addFilter(log_filter)
    try:
        yield
    finally:
        server_log.removeFilter(log_filter)
        await app.sandbox.webhooks.aclose()


def build_app(
    fakes: Iterable[type[Fake] | str] | None = None,
    *,
    webhook_retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    webhook_timeout: float = 5.0,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    plugins: Iterable[object] = (),
) -> SandboxApp:
    """Build the sandbox app.

    ``fakes``: ``None`` serves every registered fake (entry points of group ``paywire_sandbox``,
    plus ``plugins``); otherwise a list of fake classes and/or registered names. Each fake is
    mounted at ``/{name}`` and its control routes at ``/_sandbox/{name}``.
    ``webhook_retry_delays`` are the seconds between delivery attempts (one attempt more than
    delays); ``webhook_transport`` replaces the network for webhook delivery (tests).
    """
    fake_classes, failures = _select(fakes, plugins)
    sandbox = Sandbox(
        fake_classes,
        failures=failures,
        webhook_retry_delays=webhook_retry_delays,
        webhook_timeout=webhook_timeout,
        webhook_transport=webhook_transport,
    )
    routes: list[BaseRoute] = []
    broken: list[str] = []
    fake_control: dict[str, list[BaseRoute]] = {}
    for name, fake in sorted(sandbox.fakes.items()):
        try:
            fake_routes = list(fake.routes())
            fake_control[name] = list(fake.control_routes())
        except Exception as exc:
            reason = f"listing its routes failed: {type(exc).__name__}: {exc}"
            logger.warning("sandbox fake %r skipped: %s", name, reason)
            sandbox.failures.append(PluginFailure(name=name, reason=reason))
            broken.append(name)
            continue
        routes.append(
            Mount(f"/{name}", app=ProviderApp(fake, Router(routes=fake_routes), sandbox.faults))
        )
    for name in broken:
        del sandbox.fakes[name]
    routes.append(
        Mount("/_sandbox", app=ControlGuard(Router(routes=control_routes(sandbox, fake_control))))
    )
    app = SandboxApp(
        routes=routes, lifespan=_lifespan, exception_handlers={404: _unrouted(sandbox)}
    )
    app.sandbox = sandbox
    return app


def _unrouted(sandbox: Sandbox) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The answer for a path no mount matched, in the shape of the fake its prefix names.

    Starlette's path patterns do not match every character (a percent-encoded newline in an id,
    say), so a request under ``/stripe`` can miss the mount; it still gets Stripe's 404 shape.
    """

    async def answer(request: Request, exc: Exception) -> Response:
        path = request.scope["path"]
        head = path.lstrip("/").partition("/")[0]
        message = f"Unrecognized request URL ({request.method}: {path[:200]!r})"
        fake = sandbox.fakes.get(head)
        if fake is not None:
            content, content_type, headers = error_body_for(fake, 404, message)
            response = Response(content, 404, media_type=content_type)
            response.raw_headers.extend(h for h in headers if h[0] != b"content-type")
            return response
        kind = "not_found"
        return JSONResponse({"error": {"type": kind, "message": message}}, status_code=404)

    return answer


def _select(
    fakes: Iterable[type[Fake] | str] | None, plugins: Iterable[object]
) -> tuple[dict[str, type[Fake]], list[PluginFailure]]:
    wanted = None if fakes is None else list(fakes)
    names = [f for f in wanted or () if isinstance(f, str)]
    registry = FakeRegistry()
    if wanted is None or names or plugins:
        registry = load_fakes(plugins, entry_points=wanted is None or bool(names))
    if wanted is None:
        return dict(registry.fakes), list(registry.failures)
    selected: dict[str, type[Fake]] = {}
    failures = [f for f in registry.failures if f.name in names]
    for item in wanted:
        if isinstance(item, str):
            if item in registry.fakes:
                selected[item] = registry.fakes[item]
            elif not any(f.name == item for f in failures):
                failures.append(
                    PluginFailure(name=item, reason="no fake registered under this name")
                )
        elif isinstance(item, type) and issubclass(item, Fake):
            if item.name in selected and selected[item.name] is not item:
                raise ValueError(f"two fakes are named {item.name!r}")
            selected[item.name] = item
        else:
            raise TypeError(f"fakes must be Fake subclasses or registered names, not {item!r}")
    return selected, failures
