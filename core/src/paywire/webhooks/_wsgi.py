"""The WSGI webhook endpoint and a path-prefix mount for WSGI apps (Flask, Django), no web
framework needed.

Flask::

    app.wsgi_app = mount_wsgi(app.wsgi_app, {"/webhooks/stripe": processor.wsgi("stripe")})

Django (``wsgi.py``; the request never reaches Django, so no CSRF exemption is needed)::

    application = mount_wsgi(get_wsgi_application(), {"/webhooks/stripe": endpoint})

where ``endpoint = processor.wsgi("stripe")``.

werkzeug's ``DispatcherMiddleware`` takes the endpoint as well::

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/webhooks/stripe": endpoint})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from paywire.webhooks._endpoint import Answer, Endpoint, render

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["WsgiEndpoint", "mount_wsgi"]

_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    500: "Internal Server Error",
}


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers[key.replace("_", "-").lower()] = value
    return headers


class WsgiEndpoint(Endpoint):
    """Receives one provider's webhooks over WSGI.

    It answers ``POST`` at any path it is mounted under (405 with ``Allow: POST`` otherwise),
    reads the raw body exactly as sent (413 past ``max_body_bytes``; 411 when the length is
    unknown and the server does not mark the input as terminated), runs
    :meth:`WebhookProcessor.process` and answers the result's status with a tiny JSON body:
    ``{"outcome": "processed"}``. When processing itself fails (the database is unreachable) it
    answers 500, so the provider delivers again.
    """

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self._handle(environ)
        headers, body = render(answer)
        start_response(f"{answer[0]} {_REASONS.get(answer[0], 'Unknown')}", headers)
        return [body]

    def _handle(self, environ: WSGIEnvironment) -> Answer:
        if environ.get("REQUEST_METHOD") != "POST":
            return 405, {"error": "method_not_allowed"}
        stream = environ["wsgi.input"]
        declared = str(environ.get("CONTENT_LENGTH") or "").strip()
        if declared:
            if refused := self._refuse_length(declared):
                return refused
            body = _read(stream, int(declared))
        elif environ.get("wsgi.input_terminated"):
            body = _read(stream, self.max_body_bytes + 1)
            if len(body) > self.max_body_bytes:
                return 413, {"error": "payload_too_large"}
        else:
            return 411, {"error": "length_required"}
        return self._process(body, _headers(environ))


def _read(stream: object, limit: int) -> bytes:
    read = getattr(stream, "read")  # noqa: B009 - typed as object: servers pass many kinds
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = read(min(left, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def mount_wsgi(app: WSGIApplication, mounts: Mapping[str, WSGIApplication]) -> WSGIApplication:
    """A WSGI app that sends requests under each prefix of ``mounts`` to its app (moving the
    prefix from ``PATH_INFO`` to ``SCRIPT_NAME``, as WSGI mounting does) and the rest to ``app``.

    The longest matching prefix wins; ``/webhooks/stripe`` matches that path and everything below
    it, never ``/webhooks/stripefoo``.
    """
    routes = sorted(
        ((prefix.rstrip("/"), target) for prefix, target in mounts.items()),
        key=lambda route: len(route[0]),
        reverse=True,
    )
    for prefix, _ in routes:
        if not prefix.startswith("/"):
            raise ValueError(f"mount prefixes start with '/': {prefix!r}")

    def dispatch(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        for prefix, target in routes:
            if path == prefix or path.startswith(prefix + "/"):
                environ = dict(environ)
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return target(environ, start_response)
        return app(environ, start_response)

    return dispatch
