"""Recording and replaying HTTP through the core's injectable transport.

A *cassette* is one test's recorded traffic: the provider's HTTP, the sandbox control calls the
scenario made, and the webhooks the receiver got. It is stored as human-readable JSON, one file per
test, in the plugin's ``tests/fixtures/contract/`` folder.

How requests are matched in replay: on (channel, method, path, query, body) — never on headers, so
idempotency keys, user agents and auth headers do not matter. Paths are stored relative to the
channel's base URL (the provider's ``base_url``, or the sandbox's ``/_sandbox``), so a fixture
recorded against the sandbox on a random port, or against the provider's own test mode, replays
against any base URL. The sandbox's and webhook receiver's addresses (random ports) are written as
fixed placeholder origins, in bodies and headers too. Ids the sandbox generates need no special
care: replay serves the recorded responses verbatim, so the ids a later request carries are the
recorded ones. An incoming request is answered by the *first unused* recorded interaction that
matches it, so identical requests (the same charge sent twice with one key) are served in recorded
order, and independent requests may change order without breaking the fixture.

A request with no recording raises :class:`ReplayMiss` (and is remembered, so the test fails even
if the provider swallowed the exception); a recorded interaction left unused fails the test too.

Credentials never reach a fixture: besides the harness's declared secrets, the recorder learns
every credential the provider sends (``Authorization: Bearer …``, the key of ``Basic`` auth) and
every credential a response issues (``access_token``, ``refresh_token``, ``client_secret`` …,
:data:`ISSUED_CREDENTIAL_FIELDS`), and redacts each of them wherever it appears in the cassette.
A fixture that would still hold one is refused (:class:`FixtureSecretError`).

The transports serve both of a provider's paths: ``handle_request`` for its sync client and
``handle_async_request`` for its async one (recording through ``httpx.AsyncHTTPTransport``), so
both paths of a check share one fixture.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import ssl
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs
import httpx

from paywire import redact

__all__ = [
    "FIXTURE_FORMAT",
    "ISSUED_CREDENTIAL_FIELDS",
    "RECEIVER_ORIGIN",
    "SANDBOX_ORIGIN",
    "Cassette",
    "CountingTransport",
    "DualTransport",
    "FixtureSecretError",
    "Interaction",
    "NetworkTransport",
    "RecordingTransport",
    "ReplayMiss",
    "ReplayTransport",
    "Wrapping",
    "find_secrets",
    "fixture_path",
    "shared_ssl_context",
]

#: Version of the fixture file layout.
FIXTURE_FORMAT: Final = 1
#: Where the sandbox "is" in fixtures and in replay (``.invalid`` never resolves).
SANDBOX_ORIGIN: Final = "http://sandbox.paywire.invalid"
#: Where the webhook receiver "is" in fixtures and in replay.
RECEIVER_ORIGIN: Final = "http://receiver.paywire.invalid"

REDACTED: Final = "[REDACTED]"

#: Fields whose values are credentials a provider hands out (an OAuth token response, a payment's
#: client secret): learned from every recorded response and redacted everywhere.
ISSUED_CREDENTIAL_FIELDS: Final = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "api_key",
        "secret_key",
        "password",
        "webhook_secret",
        "signing_secret",
    }
)
# Shorter values are not treated as credentials (an empty password, a one-letter user).
_MIN_CREDENTIAL: Final = 8
# Request headers that carry a credential as their whole value.
_KEY_HEADERS: Final = frozenset({"x-api-key", "api-key", "proxy-authorization"})
_FIELDS: Final = "|".join(sorted(ISSUED_CREDENTIAL_FIELDS))
# An issued-credential field with a value in a fixture's text: JSON ("access_token": "…", also
# escaped inside a JSON string) or form (access_token=…).
_ISSUED_IN_TEXT: Final = re.compile(
    rf'\\?"({_FIELDS})\\?"\s*:\s*\\?"([^"\\]*)|\b({_FIELDS})=([^&"\s\\]*)'
)

# Headers never written to a fixture: credentials, and what the transport recomputes.
_DROP_REQUEST_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key"}
)
# Headers of a received webhook that are the receiving server's business, not the sender's.
_TRANSPORT_HEADERS: Final = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "user-agent", "accept"}
)
_DROP_RESPONSE_HEADERS: Final = frozenset(
    {
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "connection",
        "date",
        "server",
        "set-cookie",
        "keep-alive",
    }
)


class ReplayMiss(AssertionError):
    """A request in replay mode that no recorded interaction answers."""


class FixtureSecretError(AssertionError):
    """A fixture about to be written still holds a secret; it is refused."""


def fixture_path(folder: Path, test_id: str) -> Path:
    """The fixture file for the test ``test_id`` (``"test_charge_succeeds"``)."""
    name = re.sub(r"[^A-Za-z0-9_.\[\]-]+", ".", test_id).strip(".")
    return folder / f"{name}.json"


def _without(value: Any, volatile: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, volatile) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [_without(v, volatile) for v in value]
    return value


def _form_name(key: str) -> str:
    # Form keys name nested fields as metadata[invoice_id]; each part may be volatile.
    return key.rsplit("[", 1)[-1].rstrip("]")


def _body_key(content_type: str, body: str, volatile: frozenset[str] = frozenset()) -> Any:
    """A comparable form of a request body: parsed JSON, sorted form pairs, or the text, without
    the ``volatile`` fields (values that change from run to run)."""
    if not body:
        return ""
    if "json" in content_type:
        try:
            return json.dumps(_without(json.loads(body), volatile), sort_keys=True)
        except ValueError:
            return body
    if "x-www-form-urlencoded" in content_type:
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True)
        return tuple(sorted((k, v) for k, v in pairs if _form_name(k) not in volatile))
    return body


def _query_key(query: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(urllib.parse.parse_qsl(query, keep_blank_values=True)))


@attrs.define
class Interaction:
    """One recorded request and its response (or the transport error it ended in)."""

    channel: str
    method: str
    path: str
    query: str
    content_type: str
    body: str
    status: int | None = None
    headers: dict[str, str] = attrs.field(factory=dict)
    response_body: str = ""
    error: dict[str, str] | None = None
    used: bool = False

    def key(self, volatile: frozenset[str] = frozenset()) -> tuple[Any, ...]:
        """What replay matches on (``volatile`` fields of the query and body left out)."""
        query = tuple((k, v) for k, v in _query_key(self.query) if _form_name(k) not in volatile)
        return (
            self.channel,
            self.method,
            self.path,
            query,
            _body_key(self.content_type, self.body, volatile),
        )

    def describe(self) -> str:
        """``provider POST /v1/refunds amount=500&…`` for messages."""
        query = f"?{self.query}" if self.query else ""
        body = f" {self.body[:300]}" if self.body else ""
        return f"{self.channel} {self.method} {self.path}{query}{body}"

    def to_json(self) -> dict[str, Any]:
        """The fixture form: the response body as JSON when it is JSON, else as text."""
        request: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.query:
            request["query"] = self.query
        if self.content_type:
            request["content_type"] = self.content_type
        if self.body:
            request["body"] = _maybe_json(self.body, self.content_type)
        out: dict[str, Any] = {"channel": self.channel, "request": request}
        if self.error is not None:
            out["error"] = self.error
            return out
        response: dict[str, Any] = {"status": self.status, "headers": self.headers}
        if self.response_body:
            response["body"] = _maybe_json(self.response_body, self.headers.get("content-type", ""))
        out["response"] = response
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Interaction:
        """Read one interaction of a fixture file."""
        request = data["request"]
        content_type = str(request.get("content_type", ""))
        response = data.get("response") or {}
        headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        return cls(
            channel=str(data["channel"]),
            method=str(request["method"]),
            path=str(request["path"]),
            query=str(request.get("query", "")),
            content_type=content_type,
            body=_from_maybe_json(request.get("body", "")),
            status=response.get("status"),
            headers=headers,
            response_body=_from_maybe_json(response.get("body", "")),
            error=data.get("error"),
        )


def _maybe_json(text: str, content_type: str) -> Any:
    if "json" in content_type:
        try:
            return {"json": json.loads(text)}
        except ValueError:
            pass
    return text


def _from_maybe_json(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"json"}:
        return json.dumps(value["json"], separators=(",", ":"))
    return str(value)


@attrs.define
class Cassette:
    """One test's recorded traffic, and the rewriting that keeps it stable and secret-free.

    ``origins`` maps real origins (``http://127.0.0.1:54321``) to placeholders; ``secrets`` are
    replaced by ``[REDACTED]`` in everything a request carries (so a webhook secret sent to the
    sandbox's control API is stored redacted and still matches in replay), and so are the
    credentials the cassette learns from the traffic (``learned``).

    ``webhooks`` are the deliveries the receiver got, each with the ``batch`` it was read in
    (the n-th time the test asked for webhooks), so that replay hands them out in the same steps.
    """

    test_id: str
    provider: str
    interactions: list[Interaction] = attrs.field(factory=list)
    webhooks: list[dict[str, Any]] = attrs.field(factory=list)
    origins: dict[str, str] = attrs.field(factory=dict)
    secrets: Sequence[str] = ()
    recorded_against: str = "sandbox"
    misses: list[str] = attrs.field(factory=list)
    volatile: frozenset[str] = frozenset()
    learned: set[str] = attrs.field(factory=set, repr=False)
    #: What the idempotency keys paywire made during the recording began with (see
    #: :func:`paywire_contract._session.recorded_keys`): replay makes the same keys again.
    key_prefix: str = ""

    def rewrite(self, text: str) -> str:
        """``text`` with real origins replaced by placeholders and known secrets redacted."""
        for real, placeholder in self.origins.items():
            text = text.replace(real, placeholder)
        # Longest first: a credential that contains another is redacted whole.
        for secret in sorted({*self.secrets, *self.learned}, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, REDACTED)
        return text

    # -- learning credentials ------------------------------------------------------------

    def learn(self, value: object) -> None:
        """Remember ``value`` as a credential (too short or already redacted values are not)."""
        if isinstance(value, str) and len(value) >= _MIN_CREDENTIAL and REDACTED not in value:
            self.learned.add(value)

    def learn_request(self, headers: httpx.Headers) -> None:
        """Learn the credentials a request sends: the bearer token, the key of Basic auth (its
        password, or its user when the password is empty, as a Stripe key is sent), and API-key
        headers."""
        for name, value in headers.multi_items():
            lower = name.lower()
            if lower in _KEY_HEADERS:
                self.learn(value.strip())
            if lower not in ("authorization", "proxy-authorization"):
                continue
            scheme, _, credential = value.strip().partition(" ")
            credential = credential.strip()
            if scheme.lower() != "basic":
                self.learn(credential)
                continue
            self.learn(credential)
            try:
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            user, _, password = decoded.partition(":")
            self.learn(password or user)

    def learn_response(self, text: str, content_type: str) -> None:
        """Learn the credentials a response issues (:data:`ISSUED_CREDENTIAL_FIELDS`, at any
        depth of a JSON body, or as fields of a form-encoded one)."""
        if "json" in content_type:
            try:
                self._learn_fields(json.loads(text))
            except ValueError:
                return
        elif "x-www-form-urlencoded" in content_type:
            for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
                if key in ISSUED_CREDENTIAL_FIELDS:
                    self.learn(value)

    def _learn_fields(self, value: Any) -> None:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                for key, child in item.items():
                    if key in ISSUED_CREDENTIAL_FIELDS:
                        self.learn(child)
                    stack.append(child)
            elif isinstance(item, list):
                stack.extend(item)

    # -- describing requests -------------------------------------------------------------

    def interaction_for(self, channel: str, base: str, request: httpx.Request) -> Interaction:
        """An :class:`Interaction` (no response yet) describing ``request`` as stored (the
        request's body must have been read)."""
        self.learn_request(request.headers)
        url = self.rewrite(str(request.url.copy_with(query=None, fragment=None)))
        base = self.rewrite(base.rstrip("/"))
        path = url[len(base) :] if url.startswith(base) else url
        content = request.content
        try:
            body = content.decode("utf-8")
        except UnicodeDecodeError:
            body = content.hex()
        return Interaction(
            channel=channel,
            method=request.method.upper(),
            path=path or "/",
            query=self.rewrite(request.url.query.decode("ascii", "replace")),
            content_type=request.headers.get("content-type", "").split(";")[0].strip(),
            body=self.rewrite(body),
        )

    def record_response(self, item: Interaction, response: httpx.Response, content: bytes) -> None:
        """Store ``response`` (with its read ``content``) as ``item``'s answer, redacted."""
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            text = content.decode("latin-1")
        self.learn_response(text, response.headers.get("content-type", ""))
        item.status = response.status_code
        item.response_body = self.rewrite(text)
        item.headers = {
            name.lower(): self.rewrite(value)
            for name, value in response.headers.items()
            if name.lower() not in _DROP_RESPONSE_HEADERS
        }

    # -- webhooks ------------------------------------------------------------------------

    def add_webhooks(self, batch: int, webhooks: Iterable[tuple[Mapping[str, str], bytes]]) -> None:
        """Record deliveries read in the ``batch``-th look (headers the receiving server adds are
        left out)."""
        for headers, body in webhooks:
            self.webhooks.append(
                {
                    "batch": batch,
                    "headers": {
                        k: self.rewrite(v)
                        for k, v in headers.items()
                        if k.lower() not in _TRANSPORT_HEADERS
                    },
                    "body": self.rewrite(body.decode("utf-8", "replace")),
                }
            )

    def webhook_batch(self, batch: int) -> list[dict[str, Any]]:
        """The recorded deliveries of the ``batch``-th look (fixtures without batches: all of
        them in the first)."""
        return [w for w in self.webhooks if int(w.get("batch", 0)) == batch]

    # -- replay --------------------------------------------------------------------------

    def take(self, wanted: Interaction) -> Interaction:
        """The first unused recorded interaction matching ``wanted``; marks it used."""
        key = wanted.key(self.volatile)
        for item in self.interactions:
            if not item.used and item.key(self.volatile) == key:
                item.used = True
                return item
        same_path = [i for i in self.interactions if (i.channel, i.method, i.path) == key[:3]]
        hint = ""
        if same_path:
            shown = "; ".join(
                f"{'used' if i.used else 'unused'}: {i.describe()}" for i in same_path[:3]
            )
            hint = f" Recorded for the same method and path: {shown}."
        message = (
            f"replay: no recorded interaction for {wanted.describe()} in the fixture of "
            f"{self.test_id}.{hint} Re-record with --paywire-mode=record."
        )
        self.misses.append(message)
        raise ReplayMiss(message)

    def unused(self) -> list[Interaction]:
        """Recorded interactions the test did not ask for."""
        return [i for i in self.interactions if not i.used]

    # -- files ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The fixture file's content."""
        return {
            "paywire_contract_fixture": FIXTURE_FORMAT,
            "test": self.test_id,
            "provider": self.provider,
            "recorded_against": self.recorded_against,
            **({"key_prefix": self.key_prefix} if self.key_prefix else {}),
            "interactions": [i.to_json() for i in self.interactions],
            "webhooks": self.webhooks,
        }

    def text(self) -> str:
        """The fixture file's text, with every learned credential redacted (a credential learned
        late may have appeared in what was recorded before)."""
        text = json.dumps(self.to_json(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
        for secret in sorted(self.learned, key=len, reverse=True):
            escaped = json.dumps(secret, ensure_ascii=False)[1:-1]
            text = text.replace(escaped, REDACTED).replace(secret, REDACTED)
        return text

    def dump(self, path: Path, secrets: Iterable[str]) -> None:
        """Write the fixture, refusing (``FixtureSecretError``, nothing written) if any secret —
        a given one, a learned one or anything credential-shaped — is still in it."""
        text = self.text()
        problems = find_secrets(text, [*secrets, *sorted(self.learned)], fixture=True)
        if problems:
            raise FixtureSecretError(
                f"refusing to write the fixture {path.name}: it would contain "
                f"{', '.join(problems)}; redact it in the harness or the plugin"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        test_id: str,
        provider: str,
        secrets: Sequence[str],
        origins: Mapping[str, str],
        volatile: frozenset[str] = frozenset(),
    ) -> Cassette:
        """Read a fixture (an absent file is an empty cassette: every request will miss)."""
        cassette = cls(
            test_id=test_id,
            provider=provider,
            secrets=secrets,
            origins=dict(origins),
            volatile=volatile,
        )
        if not path.exists():
            return cassette
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("paywire_contract_fixture") != FIXTURE_FORMAT:
            raise ValueError(f"{path}: not a paywire contract fixture (format {FIXTURE_FORMAT})")
        cassette.interactions = [Interaction.from_json(i) for i in data.get("interactions", [])]
        cassette.webhooks = list(data.get("webhooks", []))
        cassette.recorded_against = str(data.get("recorded_against", "sandbox"))
        cassette.key_prefix = str(data.get("key_prefix", ""))
        return cassette


def issued_credentials(text: str) -> list[str]:
    """The names of :data:`ISSUED_CREDENTIAL_FIELDS` that hold an unredacted value in ``text``
    (a fixture's JSON, with bodies as JSON or as form text)."""
    found: set[str] = set()
    for match in _ISSUED_IN_TEXT.finditer(text):
        name = match.group(1) or match.group(3)
        value = match.group(2) if match.group(1) else match.group(4)
        if value and value != REDACTED and urllib.parse.unquote(value) != REDACTED:
            found.add(name)
    return sorted(found)


def find_secrets(text: str, secrets: Iterable[str], *, fixture: bool = False) -> list[str]:
    """Descriptions (never the values) of the secrets found in ``text``: the given ``secrets``
    and credential-shaped tokens — and, in a ``fixture``'s text, credentials issued in fields
    such as ``access_token`` that were not redacted."""
    found: list[str] = []
    for index, secret in enumerate(secrets):
        if len(secret) >= 4 and secret in text:
            found.append(f"secret #{index + 1} of the harness's secrets()")
    if fixture:
        found.extend(f"an issued credential ({name})" for name in issued_credentials(text))
    # Credential-shaped tokens nobody declared (a provider echoing a key in an error message).
    if redact(text.replace(REDACTED, "")) != text.replace(REDACTED, ""):
        found.append("a credential-shaped token (API key, webhook secret or bearer token)")
    return found


# -- transports --------------------------------------------------------------------------------


class DualTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A transport for both of a provider's paths: its sync client calls
    :meth:`handle_request`, its async client :meth:`handle_async_request`."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` on the sync path."""
        raise NotImplementedError  # pragma: no cover - every transport here implements it

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` on the async path."""
        raise NotImplementedError  # pragma: no cover - every transport here implements it

    def close(self) -> None:
        """Release what the sync path holds."""

    async def aclose(self) -> None:
        """Release what the async path holds (in the event loop that used it)."""


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every transport the suite makes: loading the CA bundle takes tens of
    milliseconds, several times per test otherwise."""
    return ssl.create_default_context()


class NetworkTransport(DualTransport):
    """The network: ``httpx.HTTPTransport`` for the sync path and ``httpx.AsyncHTTPTransport``
    (made on first use, in the loop that uses it) for the async one."""

    def __init__(self) -> None:
        self._sync: httpx.HTTPTransport | None = None
        self._async: httpx.AsyncHTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the network."""
        if self._sync is None:
            self._sync = httpx.HTTPTransport(verify=shared_ssl_context())
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` over the network, awaiting it."""
        if self._async is None:
            self._async = httpx.AsyncHTTPTransport(verify=shared_ssl_context())
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        """Close the sync connections."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the async connections."""
        if self._async is not None:
            await self._async.aclose()
            self._async = None


def _as_dual(inner: httpx.BaseTransport | DualTransport) -> DualTransport:
    return inner if isinstance(inner, DualTransport) else _Adapted(inner)


def _rebuilt(
    response: httpx.Response,
    content: bytes,
    request: httpx.Request,
    headers: Sequence[tuple[str, str]] | None = None,
) -> httpx.Response:
    """``response`` as a new, fully read response to ``request``."""
    return httpx.Response(
        response.status_code,
        headers=response.headers if headers is None else headers,
        content=content,
        request=request,
        extensions=response.extensions,
    )


class Wrapping(DualTransport):
    """A transport in front of ``inner``: closing it closes ``inner``'s side."""

    def __init__(self, inner: httpx.BaseTransport | DualTransport) -> None:
        self.inner = _as_dual(inner)

    def close(self) -> None:
        """Close the inner transport's sync side."""
        self.inner.close()

    async def aclose(self) -> None:
        """Close the inner transport's async side."""
        await self.inner.aclose()


class _Adapted(DualTransport):
    """A plain httpx transport serving both paths: its own ``handle_async_request`` when it has
    one (``httpx.MockTransport``), else its sync one, answered whole."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if isinstance(self.inner, httpx.AsyncBaseTransport):
            return await self.inner.handle_async_request(request)
        response = self.inner.handle_request(request)
        return _rebuilt(response, response.read(), request)

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        if isinstance(self.inner, httpx.AsyncBaseTransport):
            await self.inner.aclose()


class CountingTransport(Wrapping):
    """Passes requests on and keeps them, so a test can tell whether any HTTP happened."""

    def __init__(self, inner: httpx.BaseTransport | DualTransport) -> None:
        super().__init__(inner)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Remember ``request`` and send it through the inner transport."""
        self.requests.append(request)
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Remember ``request`` and send it through the inner transport."""
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


class RecordingTransport(Wrapping):
    """Sends through ``inner`` and writes every exchange (or transport error) to a cassette."""

    def __init__(
        self,
        inner: httpx.BaseTransport | DualTransport,
        cassette: Cassette,
        *,
        channel: str,
        base: str,
    ) -> None:
        super().__init__(inner)
        self.cassette = cassette
        self.channel = channel
        self.base = base

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, record what came back, and return it unchanged."""
        request.read()
        item = self._begin(request)
        try:
            response = self.inner.handle_request(request)
            content = response.read()
        except httpx.TransportError as exc:
            self._failed(item, exc)
            raise
        finally:
            item.used = True
        response.close()
        return self._answer(item, request, response, content)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on the async path, record what came back, and return it."""
        await request.aread()
        item = self._begin(request)
        try:
            response = await self.inner.handle_async_request(request)
            content = await response.aread()
        except httpx.TransportError as exc:
            self._failed(item, exc)
            raise
        finally:
            item.used = True
        await response.aclose()
        return self._answer(item, request, response, content)

    def _begin(self, request: httpx.Request) -> Interaction:
        item = self.cassette.interaction_for(self.channel, self.base, request)
        self.cassette.interactions.append(item)
        return item

    def _failed(self, item: Interaction, exc: httpx.TransportError) -> None:
        item.error = {"type": type(exc).__name__, "message": self.cassette.rewrite(str(exc))}

    def _answer(
        self, item: Interaction, request: httpx.Request, response: httpx.Response, content: bytes
    ) -> httpx.Response:
        self.cassette.record_response(item, response, content)
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in _DROP_RESPONSE_HEADERS
        ]
        return _rebuilt(response, content, request, headers)


def _transport_error(name: str) -> type[httpx.TransportError]:
    error = getattr(httpx, name, None)
    if isinstance(error, type) and issubclass(error, httpx.TransportError):
        return error
    return httpx.RemoteProtocolError


class ReplayTransport(DualTransport):
    """Answers from a cassette; never touches the network."""

    def __init__(self, cassette: Cassette, *, channel: str, base: str) -> None:
        self.cassette = cassette
        self.channel = channel
        self.base = base

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The recorded response to the first unused matching interaction."""
        request.read()
        return self._answer(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The recorded response to the first unused matching interaction."""
        await request.aread()
        return self._answer(request)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        wanted = self.cassette.interaction_for(self.channel, self.base, request)
        found = self.cassette.take(wanted)
        if found.error is not None:
            raise _transport_error(found.error.get("type", ""))(
                found.error.get("message", "recorded transport error"), request=request
            )
        return httpx.Response(
            found.status or 200,
            headers=found.headers,
            content=found.response_body.encode("utf-8"),
            request=request,
        )
