"""What the ASGI and WSGI endpoints share: their settings, the checks on a declared body length,
processing a body that was read, and how an answer is sent."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from paywire.webhooks._processor import WebhookProcessor

__all__ = ["Answer", "Endpoint", "render"]

_log = logging.getLogger("paywire.webhooks")

#: An HTTP status and the JSON object sent with it.
Answer = tuple[int, dict[str, str]]


def render(answer: Answer) -> tuple[list[tuple[str, str]], bytes]:
    """The headers (names in lower case, as ASGI wants them) and body an answer is sent with."""
    status, content = answer
    body = json.dumps(content, separators=(",", ":")).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    if status == 405:  # a 405 names the methods that are allowed
        headers.append(("allow", "POST"))
    return headers, body


class Endpoint:
    """The base of :class:`~paywire.webhooks.AsgiEndpoint` and
    :class:`~paywire.webhooks.WsgiEndpoint`."""

    def __init__(
        self, processor: WebhookProcessor, provider: str, *, max_body_bytes: int = 1 << 20
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        self.processor = processor
        self.provider = provider
        self.max_body_bytes = max_body_bytes

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider!r}>"

    def _refuse_length(self, declared: str) -> Answer | None:
        """The answer to a ``Content-Length`` that is malformed or over the limit, else ``None``."""
        if not declared.isascii() or not declared.isdigit():
            return 400, {"error": "bad_content_length"}
        if int(declared) > self.max_body_bytes:
            return 413, {"error": "payload_too_large"}
        return None

    def _process(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Process the body that was read. When processing itself fails (the database is
        unreachable) the answer is 500, so that the provider delivers again."""
        try:
            result = self.processor.process(self.provider, body, headers)
        except Exception:
            _log.exception("could not process a %s webhook", self.provider)
            return 500, {"error": "processing_failed"}
        return result.status_code, {"outcome": result.outcome}

    async def _process_async(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """:meth:`_process` through :meth:`WebhookProcessor.process_async`."""
        try:
            result = await self.processor.process_async(self.provider, body, headers)
        except Exception:
            _log.exception("could not process a %s webhook", self.provider)
            return 500, {"error": "processing_failed"}
        return result.status_code, {"outcome": result.outcome}
