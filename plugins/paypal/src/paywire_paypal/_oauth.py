"""The OAuth2 client-credentials token: the request that gets one, and the cache that keeps it
until shortly before it expires.

The cache holds no lock (a coroutine must never block its event loop on one): the token and its
renewal time are one tuple, replaced whole, so every reader sees a consistent pair; a caller
that finds it empty fetches a token.
Two callers that find it empty at once both fetch one, which is harmless — PayPal hands out
tokens freely — and the later answer is kept.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from typing import Final

import paywire
from paywire import plugin
from paywire_paypal._fields import as_mapping, str_or_none

__all__ = ["TOKEN_PATH", "TokenCache", "read_token", "token_call"]

TOKEN_PATH: Final = "/v1/oauth2/token"  # noqa: S105 - a path, not a credential
# Refresh this long before PayPal's expiry (or at half the lifetime, for short-lived tokens), so
# a request never leaves with a token that dies on the way.
_MARGIN: Final = 300.0


class TokenCache:
    """One access token per provider, shared by its threads and coroutines.

    :meth:`headers` gives the ``Authorization`` header while the token is fresh (``None`` once
    it is due for renewal or forgotten); :meth:`store` keeps a newly fetched one.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        # The header and when to renew it, replaced together as one tuple: reading the
        # attribute once gives a consistent pair without a lock.
        self._entry: tuple[Mapping[str, str], float] | None = None

    def __repr__(self) -> str:
        return f"<TokenCache cached={self._entry is not None}>"

    def headers(self) -> Mapping[str, str] | None:
        """``{"Authorization": "Bearer …"}`` while the cached token is fresh, else ``None``."""
        entry = self._entry
        if entry is not None and self.clock() < entry[1]:
            return entry[0]
        return None

    def store(self, token: str, lifetime: float, *, asked_at: float) -> Mapping[str, str]:
        """Keep ``token``, asked for at ``asked_at`` (this cache's clock) and valid ``lifetime``
        seconds from then; returns its header."""
        margin = min(_MARGIN, lifetime / 2)
        headers = {"Authorization": f"Bearer {token}"}
        self._entry = (headers, asked_at + max(0.0, lifetime - margin))
        return headers

    def forget(self) -> None:
        """Drop the cached token (PayPal called it invalid); the next call fetches another."""
        self._entry = None


def token_call(client_id: str | None, client_secret: paywire.Secret | None) -> plugin.Call:
    """The client-credentials request (HTTP Basic with the REST app's id and secret).

    Raises :class:`paywire.ConfigurationError` when either is missing.
    """
    if not client_id or client_secret is None or not client_secret.reveal():
        raise paywire.ConfigurationError(
            "PayPal needs client_id and client_secret (PAYWIRE_PAYPAL_CLIENT_ID, "
            "PAYWIRE_PAYPAL_CLIENT_SECRET)"
        )
    basic = base64.b64encode(f"{client_id}:{client_secret.reveal()}".encode()).decode("ascii")
    return plugin.Call.post(
        TOKEN_PATH,
        form={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        authenticate=False,
        operation="token",
    )


def read_token(reply: plugin.Reply, *, provider: str) -> tuple[str, float]:
    """The access token and its lifetime (seconds) from the token endpoint's answer.

    Raises :class:`paywire.ProviderUnavailable` when the answer holds no usable token: nothing
    changes at PayPal when a token is handed out, so there is no outcome to be unsure of.
    """
    data = as_mapping(reply.data)
    token = str_or_none(data.get("access_token"))
    lifetime = data.get("expires_in")
    if (
        token is None
        or isinstance(lifetime, bool)
        or not isinstance(lifetime, int | float)
        or not 0 < lifetime < 10**9
    ):
        raise paywire.ProviderUnavailable(
            "PayPal's token answer holds no usable access token",
            provider=provider,
            http_status=reply.status,
            request_id=reply.request_id,
        )
    return token, float(lifetime)
