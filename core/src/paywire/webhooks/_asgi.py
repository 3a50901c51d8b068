"""The ASGI webhook endpoint: a plain ASGI app, no web framework needed.

Starlette / FastAPI, either of::

    app.mount("/webhooks/stripe", processor.asgi("stripe"))      # URL: /webhooks/stripe/
    app.add_route("/webhooks/stripe", processor.asgi("stripe"))  # URL: /webhooks/stripe

(Starlette answers a mount's bare path, without the slash, with a redirect, and providers do not
follow redirects: register the URL with the trailing slash, or use ``add_route``.)

Any ASGI server, on its own::

    uvicorn myapp:endpoint      # endpoint = processor.asgi("stripe")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from paywire.webhooks._endpoint import Answer, Endpoint, render

__all__ = ["AsgiEndpoint"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AsgiEndpoint(Endpoint):
    """Receives one provider's webhooks over ASGI.

    It answers ``POST`` at any path it is mounted under (405 with ``Allow: POST`` otherwise),
    reads the raw body exactly as sent (413 past ``max_body_bytes``), awaits
    :meth:`WebhookProcessor.process_async` (no thread per request where the store has async
    methods: PostgreSQL; SQLite's blocking calls run in a worker thread), and answers the
    result's status with a tiny JSON body: ``{"outcome": "processed"}``. When processing itself
    fails (the database is unreachable) it answers 500, so the provider delivers again.

    Served on its own, its lifespan starts the inbox's embedded worker and, at shutdown, stops
    it and closes the processor (:meth:`WebhookProcessor.aclose`).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            # A websocket has no business here; closing before accepting refuses it.
            await send({"type": "websocket.close", "code": 1008})
            return
        answer = await self._handle(scope, receive)
        headers, body = render(answer)
        await send(
            {
                "type": "http.response.start",
                "status": answer[0],
                "headers": [(name.encode(), value.encode()) for name, value in headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        processor = self.processor
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if processor.mode == "inbox" and processor.worker_kind == "embedded":
                    processor.start_worker()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await processor.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, receive: Receive) -> Answer:
        if scope.get("method") != "POST":
            return 405, {"error": "method_not_allowed"}
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        declared = headers.get("content-length")
        if declared is not None and (refused := self._refuse_length(declared)):
            return refused
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 400, {"error": "client_disconnected"}
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return 413, {"error": "payload_too_large"}
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return await self._process_async(b"".join(chunks), headers)
