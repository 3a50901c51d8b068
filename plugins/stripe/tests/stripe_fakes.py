"""Test helpers: an in-memory fake of Stripe's API (httpx.MockTransport) and a provider over it.

Every request the fake receives is checked against the stripe SDK's parameter types
(:func:`sdk_shapes.check_request`): a request the SDK could not have sent fails the test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import httpx
from sdk_shapes import check_request

import paywire
from paywire.plugin import HttpClient, RetryPolicy
from paywire_stripe import StripeConfig, StripeProvider

API_KEY = "sk_test_unit0000000000000000"
WEBHOOK_SECRET = "whsec_unit000000000000000000"

T = TypeVar("T")
Handler = Callable[[httpx.Request], httpx.Response]


def form(request: httpx.Request) -> dict[str, str]:
    """A form-encoded request body as a flat dict of bracketed keys."""
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def stripe_json(status: int, body: dict[str, Any], **headers: str) -> httpx.Response:
    """A response as Stripe writes it."""
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Request-Id": "req_unit123", **headers},
    )


def stripe_error(
    status: int, headers: dict[str, str] | None = None, **error: Any
) -> httpx.Response:
    """A Stripe error response."""
    return stripe_json(status, {"error": error}, **(headers or {}))


class FakeStripe:
    """Routes ``(METHOD, path)`` to handlers, records every request it sees and checks it
    against the SDK's parameter types."""

    def __init__(self, *, check: bool = True) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []
        self.check = check

    def on(self, method: str, path: str, handler: Handler | httpx.Response) -> None:
        if isinstance(handler, httpx.Response):
            response = handler
            self.routes[(method, path)] = lambda _request: response
        else:
            self.routes[(method, path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.check:
            check_request(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return stripe_error(
                404, type="invalid_request_error", code="resource_missing", message="no route"
            )
        return handler(request)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]


def build(
    fake: FakeStripe, *, max_attempts: int = 3, **settings: Any
) -> tuple[StripeProvider, list[float]]:
    """A provider over ``fake``; returns it and the list its retry waits are recorded in (the
    sync and the async path's)."""
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        "max_attempts": max_attempts,
        **settings,
    }
    config = paywire.load_config(StripeConfig, "stripe", environ={}, **values)
    sleeps: list[float] = []

    async def async_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    http = HttpClient(
        provider="stripe",
        base_url=config.base_url or StripeProvider.default_base_url,
        retry=RetryPolicy(max_attempts=max_attempts),
        transport=httpx.MockTransport(fake),
        secrets=config.secrets(),
        request_id_header=StripeProvider.request_id_header,
        retry_advice=StripeProvider.retry_advice,
        sleep=sleeps.append,
        async_sleep=async_sleep,
        rand=lambda: 0.5,
    )
    return StripeProvider(config, http), sleeps


class Runner:
    """Runs an operation on one path: ``sync`` calls the method, ``async`` awaits its
    ``_async`` twin in a fresh event loop. Tests take the ``run`` fixture to cover both."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return self.path

    def __call__(self, provider: StripeProvider, operation: str, *args: Any, **kwargs: Any) -> Any:
        if self.path == "sync":
            return getattr(provider, operation)(*args, **kwargs)
        coroutine: Awaitable[Any] = getattr(provider, f"{operation}_async")(*args, **kwargs)

        async def main() -> Any:
            try:
                return await coroutine
            finally:
                await provider.aclose()

        return asyncio.run(main())
