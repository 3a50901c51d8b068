"""Test helpers: an in-memory fake of Stripe's API (httpx.MockTransport) and a provider over it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx

import paywire
from paywire_stripe import StripeConfig, StripeProvider

API_KEY = "sk_test_unit0000000000000000"
WEBHOOK_SECRET = "whsec_unit000000000000000000"

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


def stripe_error(status: int, **error: Any) -> httpx.Response:
    """A Stripe error response."""
    return stripe_json(status, {"error": error})


class FakeStripe:
    """Routes ``(METHOD, path)`` to handlers and records every request it sees."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, handler: Handler | httpx.Response) -> None:
        if isinstance(handler, httpx.Response):
            response = handler
            self.routes[(method, path)] = lambda _request: response
        else:
            self.routes[(method, path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
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
    """A provider over ``fake``; returns it and the list its retry sleeps are recorded in."""
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        "max_attempts": max_attempts,
        **settings,
    }
    config = paywire.load_config(StripeConfig, "stripe", environ={}, **values)
    sleeps: list[float] = []
    http = paywire.HttpClient(
        provider="stripe",
        base_url=StripeProvider.default_base_url,
        retry=paywire.RetryPolicy(max_attempts=max_attempts),
        transport=httpx.MockTransport(fake),
        secrets=config.secrets(),
        request_id_header=StripeProvider.request_id_header,
        sleep=sleeps.append,
        rand=lambda: 0.5,
    )
    return StripeProvider(config, http), sleeps
