"""The OAuth2 client-credentials token, cached until shortly before it expires."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import paywire

if TYPE_CHECKING:
    from paywire_paypal._config import PayPalConfig

__all__ = ["TOKEN_PATH", "TokenCache"]

TOKEN_PATH: Final = "/v1/oauth2/token"  # noqa: S105 - a path, not a credential
# Refresh this long before PayPal's expiry (or at half the lifetime, for short-lived tokens), so
# a request never leaves with a token that dies on the way.
_MARGIN: Final = 300.0


class TokenCache:
    """One access token per provider, shared by its threads; fetched again when it nears expiry
    or when PayPal says it is no longer valid (:meth:`invalidate`)."""

    def __init__(
        self,
        http: paywire.HttpClient,
        config: PayPalConfig,
        *,
        provider: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._config = config
        self._provider = provider
        self._clock = clock
        self._lock = threading.Lock()
        self._token: paywire.Secret | None = None
        self._refresh_at = 0.0

    def __repr__(self) -> str:
        return f"<TokenCache {self._provider!r} cached={self._token is not None}>"

    def get(self) -> paywire.Secret:
        """A valid access token (fetching one when none is cached or it is about to expire)."""
        with self._lock:
            if self._token is not None and self._clock() < self._refresh_at:
                return self._token
            return self._fetch()

    def invalidate(self, token: paywire.Secret) -> None:
        """Forget ``token`` (PayPal refused it); a newer token another thread fetched is kept."""
        with self._lock:
            if self._token is not None and self._token == token:
                self._token = None
                self._refresh_at = 0.0

    def _fetch(self) -> paywire.Secret:
        client_id = self._config.client_id
        secret = self._config.client_secret
        if not client_id or secret is None or not secret.reveal():
            raise paywire.ConfigurationError(
                "PayPal needs client_id and client_secret (PAYWIRE_PAYPAL_CLIENT_ID, "
                "PAYWIRE_PAYPAL_CLIENT_SECRET)"
            )
        basic = base64.b64encode(f"{client_id}:{secret.reveal()}".encode()).decode("ascii")
        started = self._clock()
        try:
            response = self._http.request(
                "POST",
                TOKEN_PATH,
                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                data={"grant_type": "client_credentials"},
                # Asking for a token twice is harmless: the key lets the core retry it.
                idempotency_key=paywire.new_idempotency_key(),
                idempotency_header="PayPal-Request-Id",
            )
        except paywire.OutcomeUnknown as exc:
            # Nothing changes at PayPal when a token request is lost: it is simply unavailable.
            raise paywire.ProviderUnavailable(
                f"could not get a PayPal access token: {exc.message}",
                provider=self._provider,
                http_status=exc.http_status,
                request_id=exc.request_id,
            ) from None
        if not response.is_success:
            from paywire_paypal._errors import error_from_response

            error = error_from_response(
                response,
                provider=self._provider,
                request_id_header=self._http.request_id_header,
                secrets=(secret, basic),
            )
            if response.status_code in (400, 401, 403):
                raise paywire.AuthenticationFailed(
                    f"PayPal refused the client credentials: {error.message}",
                    provider=self._provider,
                    raw_code=error.raw_code,
                    http_status=error.http_status,
                    request_id=error.request_id,
                )
            if isinstance(error, paywire.OutcomeUnknown):
                # A failed token request changed nothing at PayPal: it is just unavailable.
                raise paywire.ProviderUnavailable(
                    f"could not get a PayPal access token: {error.message}",
                    provider=self._provider,
                    raw_code=error.raw_code,
                    http_status=error.http_status,
                    request_id=error.request_id,
                )
            raise error
        try:
            data = response.json()
            token = data["access_token"]
            lifetime = float(data.get("expires_in", 0))
        except (ValueError, KeyError, TypeError):
            raise paywire.ProviderUnavailable(
                "PayPal's token response could not be read",
                provider=self._provider,
                http_status=response.status_code,
                request_id=self._http.request_id(response),
            ) from None
        if not isinstance(token, str) or not token:
            raise paywire.ProviderUnavailable(
                "PayPal's token response holds no access token", provider=self._provider
            )
        margin = min(_MARGIN, lifetime / 2)
        self._token = paywire.Secret(token)
        self._refresh_at = started + max(0.0, lifetime - margin)
        return self._token
