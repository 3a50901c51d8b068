"""The control API under ``/_sandbox``: reset, clock, webhook endpoints and deliveries, faults.

JSON in and out. A bad request gets ``400`` (unknown id: ``404``) with a body
``{"error": {"type": "invalid_request", "message": "..."}}``, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from paywire_sandbox._fake import WebhookEndpoint
from paywire_sandbox._guard import encode_headers, run_guarded, send_simple
from paywire_sandbox._input import InputRejected, parse_json, read_body

if TYPE_CHECKING:
    from paywire_sandbox._app import Sandbox

__all__ = ["ControlGuard", "control_routes"]

logger = logging.getLogger("paywire_sandbox")

#: Longest a single ``/webhooks/wait`` call may block.
MAX_WAIT: Final = 300.0
#: Largest control request body, in bytes.
MAX_BODY: Final = 1 << 20
#: Largest single clock step (about 100 years), to keep timestamps sane.
MAX_ADVANCE: Final = 100 * 366 * 86_400.0


class BadRequest(Exception):
    """A control request the sandbox cannot act on; becomes a JSON 4xx."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def error_response(status: int, message: str, kind: str = "invalid_request") -> JSONResponse:
    """The control API's error shape."""
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


Handler = Callable[[Request], Awaitable[Response]]


def _endpoint(handler: Handler) -> Handler:
    """Turn :class:`BadRequest` into its JSON response."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as exc:
            kind = "not_found" if exc.status == 404 else "invalid_request"
            return error_response(exc.status, exc.message, kind)

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped


async def _json_object(request: Request, *, optional: bool = False) -> dict[str, Any]:
    try:
        raw = await read_body(request, MAX_BODY)
        if not raw.strip():
            if optional:
                return {}
            raise BadRequest("a JSON object body is required")
        data = parse_json(raw)
    except InputRejected as exc:
        raise BadRequest(exc.message, 413 if exc.too_large else 400) from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def _reject_unknown(data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")


def _number(data: Mapping[str, Any], key: str, *, default: float | None = None) -> float:
    value = data.get(key, default)
    if value is None:
        raise BadRequest(f"{key!r} is required")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{key!r} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise BadRequest(f"{key!r} must be finite")
    return number


def endpoint_to_dict(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """An endpoint as the control API shows it (never its secret)."""
    return {
        "id": endpoint.id,
        "provider": endpoint.provider,
        "url": endpoint.url,
        "extra": dict(endpoint.extra),
    }


def control_routes(
    sandbox: Sandbox, fake_routes: Mapping[str, Sequence[BaseRoute]]
) -> list[BaseRoute]:
    """The framework's control routes, plus each fake's own (``fake_routes``) under ``/{name}``.

    Mount them under ``/_sandbox`` behind a :class:`ControlGuard`.
    """
    return _ControlAPI(sandbox).routes(fake_routes)


class _ControlAPI:
    """The handlers of the framework's control routes."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def provider_param(self, request: Request) -> str | None:
        provider = request.query_params.get("provider")
        if provider is not None and provider not in self.sandbox.fakes:
            raise BadRequest(f"unknown provider {provider!r}")
        return provider

    async def info(self, request: Request) -> Response:
        """What is served: the fakes, the plugins that failed to load, the clock."""
        return JSONResponse(
            {
                "fakes": sorted(self.sandbox.fakes),
                "failures": [{"name": f.name, "reason": f.reason} for f in self.sandbox.failures],
                "clock": {"now": self.sandbox.clock.now(), "offset": self.sandbox.clock.offset},
                "webhook_retry_delays": list(self.sandbox.webhooks.retry_delays),
            }
        )

    async def reset(self, request: Request) -> Response:
        data = await _json_object(request, optional=True)
        _reject_unknown(data, {"keep_endpoints"})
        keep = data.get("keep_endpoints", False)
        if not isinstance(keep, bool):
            raise BadRequest("'keep_endpoints' must be a boolean")
        self.sandbox.reset(keep_endpoints=keep)
        return JSONResponse({"reset": True, "fakes": sorted(self.sandbox.fakes)})

    async def clock(self, request: Request) -> Response:
        return JSONResponse({"now": self.sandbox.clock.now(), "offset": self.sandbox.clock.offset})

    async def clock_advance(self, request: Request) -> Response:
        data = await _json_object(request)
        _reject_unknown(data, {"seconds"})
        seconds = _number(data, "seconds")
        if not 0 <= seconds <= MAX_ADVANCE:
            raise BadRequest(f"'seconds' must be between 0 and {MAX_ADVANCE:.0f}")
        self.sandbox.clock.advance(seconds)
        for fake in self.sandbox.fakes.values():
            fake.on_clock_advanced()
        return JSONResponse({"now": self.sandbox.clock.now(), "offset": self.sandbox.clock.offset})

    async def endpoints_create(self, request: Request) -> Response:
        data = await _json_object(request)
        _reject_unknown(data, {"provider", "url", "secret", "extra"})
        provider = data.get("provider")
        if not isinstance(provider, str) or provider not in self.sandbox.fakes:
            known = ", ".join(sorted(self.sandbox.fakes)) or "none"
            raise BadRequest(f"'provider' must be one of the served fakes ({known})")
        url = data.get("url")
        if not isinstance(url, str):
            raise BadRequest("'url' must be an absolute http(s) URL")
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError):
            raise BadRequest("'url' must be an absolute http(s) URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise BadRequest("'url' must be an absolute http(s) URL")
        secret = data.get("secret")
        if not isinstance(secret, str):
            raise BadRequest("'secret' must be a string")
        extra = data.get("extra") or {}
        if not isinstance(extra, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
        ):
            raise BadRequest("'extra' must be an object of string values")
        endpoint = self.sandbox.webhooks.add_endpoint(provider, url, secret, extra)
        return JSONResponse(endpoint_to_dict(endpoint), status_code=201)

    async def endpoints_list(self, request: Request) -> Response:
        provider = self.provider_param(request)
        endpoints = self.sandbox.webhooks.all_endpoints()
        return JSONResponse(
            [endpoint_to_dict(e) for e in endpoints if provider is None or e.provider == provider]
        )

    async def endpoints_clear(self, request: Request) -> Response:
        removed = self.sandbox.webhooks.clear_endpoints(self.provider_param(request))
        return JSONResponse({"deleted": removed})

    async def endpoint_get(self, request: Request) -> Response:
        endpoint = self.sandbox.webhooks.get_endpoint(request.path_params["endpoint_id"])
        if endpoint is None:
            raise BadRequest("no such webhook endpoint", 404)
        return JSONResponse(endpoint_to_dict(endpoint))

    async def endpoint_delete(self, request: Request) -> Response:
        if not self.sandbox.webhooks.remove_endpoint(request.path_params["endpoint_id"]):
            raise BadRequest("no such webhook endpoint", 404)
        return JSONResponse({"deleted": 1})

    async def deliveries(self, request: Request) -> Response:
        records = self.sandbox.webhooks.deliveries(
            self.provider_param(request),
            event_id=request.query_params.get("event_id"),
            endpoint_id=request.query_params.get("endpoint_id"),
        )
        return JSONResponse(records)

    async def redeliver(self, request: Request) -> Response:
        delivery_id = request.path_params["delivery_id"]
        if not self.sandbox.webhooks.has_delivery(delivery_id):
            raise BadRequest("no such delivery", 404)
        return JSONResponse(await self.sandbox.webhooks.redeliver(delivery_id))

    async def wait(self, request: Request) -> Response:
        data = await _json_object(request, optional=True)
        _reject_unknown(data, {"timeout"})
        timeout = _number(data, "timeout", default=5.0)
        if not 0 <= timeout <= MAX_WAIT:
            raise BadRequest(f"'timeout' must be between 0 and {MAX_WAIT:g} seconds")
        try:
            async with asyncio.timeout(timeout):
                await self.sandbox.webhooks.wait_idle()
            done = True
        except TimeoutError:
            done = False
        body = {"pending": self.sandbox.webhooks.pending, "held": self.sandbox.webhooks.held}
        if not done:
            message = f"{body['pending']} webhook deliveries still pending after {timeout:g}s"
            return JSONResponse({"error": {"type": "timeout", "message": message}, **body}, 408)
        return JSONResponse(body)

    async def faults_add(self, request: Request) -> Response:
        data = await _json_object(request)
        try:
            fault = self.sandbox.faults.add_from_json(data)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return JSONResponse(fault.to_dict(), status_code=201)

    async def faults_list(self, request: Request) -> Response:
        return JSONResponse([f.to_dict() for f in self.sandbox.faults])

    async def faults_clear(self, request: Request) -> Response:
        return JSONResponse({"deleted": self.sandbox.clear_faults()})

    async def fault_delete(self, request: Request) -> Response:
        if not self.sandbox.remove_fault(request.path_params["fault_id"]):
            raise BadRequest("no such fault", 404)
        return JSONResponse({"deleted": 1})

    async def not_found(self, request: Request) -> Response:
        return error_response(
            404, f"no control route {request.method} {request.scope['path']}", "not_found"
        )

    def routes(self, fake_routes: Mapping[str, Sequence[BaseRoute]]) -> list[BaseRoute]:
        """Every route, the catch-all 404 last."""
        e = _endpoint
        routes: list[BaseRoute] = [
            Route("/", e(self.info), methods=["GET"]),
            Route("/reset", e(self.reset), methods=["POST"]),
            Route("/clock", e(self.clock), methods=["GET"]),
            Route("/clock/advance", e(self.clock_advance), methods=["POST"]),
            Route("/webhooks/endpoints", e(self.endpoints_create), methods=["POST"]),
            Route("/webhooks/endpoints", e(self.endpoints_list), methods=["GET"]),
            Route("/webhooks/endpoints", e(self.endpoints_clear), methods=["DELETE"]),
            Route("/webhooks/endpoints/{endpoint_id}", e(self.endpoint_get), methods=["GET"]),
            Route("/webhooks/endpoints/{endpoint_id}", e(self.endpoint_delete), methods=["DELETE"]),
            Route("/webhooks/deliveries", e(self.deliveries), methods=["GET"]),
            Route(
                "/webhooks/deliveries/{delivery_id}/redeliver", e(self.redeliver), methods=["POST"]
            ),
            Route("/webhooks/wait", e(self.wait), methods=["POST"]),
            Route("/faults", e(self.faults_add), methods=["POST"]),
            Route("/faults", e(self.faults_list), methods=["GET"]),
            Route("/faults", e(self.faults_clear), methods=["DELETE"]),
            Route("/faults/{fault_id}", e(self.fault_delete), methods=["DELETE"]),
        ]
        for name, own_routes in sorted(fake_routes.items()):
            if own_routes:
                routes.append(Mount(f"/{name}", routes=list(own_routes)))
        routes.append(
            Route("/{rest:path}", self.not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        )
        return routes


class ControlGuard:
    """Around control routes: HTTP errors and unexpected exceptions become JSON errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await run_guarded(self.app, scope, receive, send, _answer_error, "a control route")


async def _answer_error(send: Send, status: int, message: str, headers: Mapping[str, str]) -> None:
    kind = {404: "not_found", 500: "internal_error"}.get(status, "invalid_request")
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    await send_simple(send, status, body, "application/json", encode_headers(headers))
