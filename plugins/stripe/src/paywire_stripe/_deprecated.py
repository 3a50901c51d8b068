"""Names of paywire-stripe 0.1 that no longer make sense since the plugin stopped using the stripe
SDK at run time; importing them from :mod:`paywire_stripe` warns
(:class:`paywire.PaywireDeprecationWarning`). They go away in paywire-stripe 1.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import paywire

if TYPE_CHECKING:
    import httpx

__all__ = ["StripeHTTPError", "error_from_response"]


class StripeHTTPError(Exception):
    """Stripe answered a request made with ``StripeProvider.client`` with an error status.

    Deprecated: ``StripeProvider.client`` is gone and nothing raises this any more; every
    operation raises paywire's errors.
    """

    def __init__(self, response: httpx.Response, idempotency_key: str | None) -> None:
        super().__init__(f"Stripe answered HTTP {response.status_code}")
        self.response = response
        self.idempotency_key = idempotency_key


def error_from_response(
    response: httpx.Response,
    *,
    operation: str = "other",
    idempotency_key: str | None = None,
    secrets: Iterable[paywire.Secret | str] = (),
) -> paywire.ProviderError:
    """The paywire error for Stripe's unsuccessful ``response`` to ``operation``.

    Deprecated: the operations map Stripe's errors themselves. This maps ``response`` with the
    same table, redacting ``secrets`` from the message.
    """
    from paywire.plugin import Call, HttpClient
    from paywire_stripe._config import StripeConfig
    from paywire_stripe._provider import StripeProvider

    response.read()
    call = Call(response.request.method, response.request.url.path, operation=operation)
    wrapped = tuple(s if isinstance(s, paywire.Secret) else paywire.Secret(s) for s in secrets)
    with HttpClient(provider="stripe", request_id_header=StripeProvider.request_id_header) as http:
        provider = StripeProvider(StripeConfig(webhook_secrets=wrapped), http)
        # The kernel's own reading and mapping, so this never drifts from what the operations
        # raise (the kernel has no public entry point for one answer).
        reply = provider._reply(response, call)
        return provider._error(reply, call, idempotency_key)
