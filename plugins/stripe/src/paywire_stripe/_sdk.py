"""The official ``stripe`` SDK, sending its HTTP through the core's :class:`paywire.HttpClient`.

Only :class:`~paywire_stripe.StripeProvider` imports this module, when it first needs the API:
importing the SDK takes a few hundred milliseconds that a webhook-only process never pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import stripe

from paywire_stripe._errors import StripeHTTPError

if TYPE_CHECKING:
    import httpx

    import paywire

__all__ = ["PaywireHTTPClient", "build_client"]


class PaywireHTTPClient(stripe.HTTPClient):
    """The SDK's HTTP-client interface over paywire's HTTP policy.

    Every request goes through :meth:`paywire.HttpClient.send`: the core's timeouts, retries
    (only for safe or idempotency-keyed requests), logging with redaction and its injectable
    transport apply. The SDK's ``Idempotency-Key`` header — the operation's key, passed in the
    request options — is handed to the core so the same key is sent on every retry.
    """

    name = "paywire"

    def __init__(self, http: paywire.HttpClient) -> None:
        super().__init__()
        self._http = http

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[str, int, Mapping[str, str]]:
        """Send one SDK request; an error status raises :class:`StripeHTTPError`."""
        response = self._send(method, url, headers, post_data)
        return response.text, response.status_code, response.headers

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> tuple[Any, int, Mapping[str, str]]:
        """The SDK's streaming variant (file downloads); the body is read whole first."""
        import io

        response = self._send(method, url, headers, post_data)
        return io.BytesIO(response.content), response.status_code, response.headers

    def close(self) -> None:
        """Nothing to do: the connections belong to the provider's HttpClient."""

    def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any
    ) -> httpx.Response:
        verb = method.upper()
        all_headers = dict(headers or {})
        key = all_headers.get("Idempotency-Key") if verb == "POST" else None
        if isinstance(post_data, str):
            post_data = post_data.encode("utf-8")
        request = self._http.client.build_request(verb, url, headers=all_headers, content=post_data)
        response = self._http.send(request, idempotency_key=key)
        if not 200 <= response.status_code < 300:
            response.read()
            raise StripeHTTPError(response, key)
        return response


def build_client(
    api_key: str, base_url: str, http: paywire.HttpClient, *, api_version: str | None = None
) -> stripe.StripeClient:
    """A :class:`stripe.StripeClient` for ``base_url`` that sends through ``http``.

    SDK-level retries are off: the core decides what may be retried, with the same key.
    """
    base = base_url.rstrip("/")
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": base, "connect": base, "files": base, "meter_events": base},
        http_client=PaywireHTTPClient(http),
        max_network_retries=0,
        stripe_version=api_version,
    )
