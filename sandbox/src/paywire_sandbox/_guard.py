"""The one guard around every app the sandbox mounts (fakes and the control API).

An ``HTTPException`` (routing's 404/405 included) or an unexpected exception raised before the
app started its response is answered by the caller's ``answer``, in that app's error shape; once
the response has started it is too late for a clean answer, so the exception propagates and the
server drops the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Answer", "Headers", "encode_headers", "run_guarded", "send_simple"]

logger = logging.getLogger("paywire_sandbox")

#: Response headers as ASGI sends them: lower-case names, latin-1 bytes.
Headers = list[tuple[bytes, bytes]]
#: ``answer(send, status, message, headers)``: write a complete error response.
Answer = Callable[[Send, int, str, Mapping[str, str]], Awaitable[None]]


def encode_headers(headers: Mapping[str, str]) -> Headers:
    """``headers`` as ASGI wants them (raises ``UnicodeEncodeError`` for non-latin-1 text)."""
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def send_simple(
    send: Send, status: int, content: bytes, content_type: str, extra: Headers
) -> None:
    """Send a complete response with ``content`` and the ``extra`` headers."""
    headers = [
        (b"content-type", content_type.encode("latin-1")),
        (b"content-length", str(len(content)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def run_guarded(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, answer: Answer, where: str
) -> None:
    """Run ``app``; errors before its response started are answered by ``answer``.

    An unexpected exception is logged (naming ``where``) and answered as a 500 whose message
    starts ``sandbox internal error``, so a sandbox bug never looks like a provider's decision.
    """
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = True
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except HTTPException as exc:
        if started:
            raise
        await answer(send, exc.status_code, exc.detail, exc.headers or {})
    except Exception as exc:
        logger.exception("sandbox internal error in %s", where)
        if started:
            raise  # too late for a clean 500: let the server drop the connection
        await answer(send, 500, f"sandbox internal error: {type(exc).__name__}", {})
