"""A scriptable in-memory PayPal for unit tests: canned answers per (method, path), every request
kept, OAuth handled unless a test scripts it; and a runner that calls an operation on the sync
or the async path."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import attrs
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

import paywire
from paywire_paypal import PayPalConfig, PayPalProvider

CLIENT_ID = "unit-client-id"
CLIENT_SECRET = "unit-client-secret-do-not-show"
WEBHOOK_ID = "8PT597110X687430LKGECATA"
BASE = "https://api-m.sandbox.paypal.com"
CERT_URL = "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-unit-test-0001"

Handler = Callable[[httpx.Request], httpx.Response]


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"Paypal-Debug-Id": "dbg123", **headers})


def paypal_error(status: int, issue: str | None, name: str = "UNPROCESSABLE_ENTITY") -> Any:
    body: dict[str, Any] = {
        "name": name,
        "message": "The requested action could not be performed.",
        "debug_id": "f00dfeed1234",
    }
    if issue is not None:
        body["details"] = [{"issue": issue, "description": f"{issue} happened"}]
    return body


@attrs.define
class FakePayPal:
    """Routes requests to scripted answers; ``(METHOD, path)`` → a handler or a list of them
    (consumed in order, the last one repeating)."""

    routes: dict[tuple[str, str], list[Handler]] = attrs.field(factory=dict)
    requests: list[httpx.Request] = attrs.field(factory=list)
    tokens_issued: int = 0
    token_lifetime: int = 32400
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False)

    def on(self, method: str, path: str, *handlers: Handler) -> None:
        self.routes[(method, path)] = list(handlers)

    def answer(self, method: str, path: str, status: int, body: Any = None) -> None:
        if body is None:
            self.on(method, path, lambda r: httpx.Response(status))
        else:
            self.on(method, path, lambda r: json_response(status, body))

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        key = (request.method, request.url.path)
        handlers = self.routes.get(key)
        if handlers:
            handler = handlers.pop(0) if len(handlers) > 1 else handlers[0]
            return handler(request)
        if key == ("POST", "/v1/oauth2/token"):
            with self._lock:
                self.tokens_issued += 1
                issued = self.tokens_issued
            return json_response(
                200,
                {
                    "access_token": f"A21AAtoken{issued:04d}",
                    "token_type": "Bearer",
                    "expires_in": self.token_lifetime,
                },
            )
        return json_response(404, paypal_error(404, "INVALID_RESOURCE_ID", "RESOURCE_NOT_FOUND"))


#: The two ways every operation can be called.
MODES = ("sync", "async")


def run(provider: PayPalProvider, mode: str, operation: str, *args: Any, **kwargs: Any) -> Any:
    """``provider.<operation>(...)``, or its ``_async`` twin awaited in a fresh event loop."""
    if mode == "sync":
        return getattr(provider, operation)(*args, **kwargs)

    async def call() -> Any:
        try:
            return await getattr(provider, f"{operation}_async")(*args, **kwargs)
        finally:
            await provider.aclose()  # this event loop's connections end with it

    return asyncio.run(call())


def build(fake: FakePayPal, **settings: Any) -> PayPalProvider:
    values: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "webhook_id": WEBHOOK_ID,
        "base_url": BASE,
        "max_attempts": 1,
        **settings,
    }
    config = paywire.load_config(PayPalConfig, "paypal", environ={}, **values)
    provider = PayPalProvider.create(config, transport=httpx.MockTransport(fake))
    # Retries do not wait in unit tests.
    provider.http._sleep = lambda _: None

    async def no_wait(_: float) -> None:
        return None

    provider.http._async_sleep = no_wait
    return provider


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


@attrs.frozen
class SigningKit:
    """A key and a self-signed certificate like PayPal's, and a signer for deliveries."""

    key: rsa.RSAPrivateKey
    pem: bytes

    @classmethod
    def make(
        cls,
        *,
        common_name: str = "messageverificationcerts.sandbox.paypal.com",
        not_before: dt.datetime | None = None,
        days: int = 30,
    ) -> SigningKit:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert.public_bytes(serialization.Encoding.PEM))

    def sign(
        self,
        body: bytes,
        *,
        webhook_id: str = WEBHOOK_ID,
        when: dt.datetime | None = None,
        cert_url: str = CERT_URL,
        transmission_id: str = "69cd13f0-d67a-11e5-baa3-778b53f4ae55",
    ) -> dict[str, str]:
        import zlib

        moment = when or dt.datetime.now(dt.UTC)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        crc = zlib.crc32(body) & 0xFFFFFFFF
        message = f"{transmission_id}|{stamp}|{webhook_id}|{crc}".encode()
        signature = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": stamp,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-CERT-URL": cert_url,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        }

    def serve(self, fake: FakePayPal, url: str = CERT_URL) -> None:
        path = httpx.URL(url).path
        fake.on("GET", path, lambda r: httpx.Response(200, content=self.pem))
