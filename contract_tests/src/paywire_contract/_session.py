"""One test's world: the provider built for the mode and path, its HTTP (live, recorded or
replayed), the scenario context, and the webhooks the test received."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import attrs
import httpx

import paywire._keys
from paywire_contract._harness import Harness, ScenarioContext
from paywire_contract._paths import EventLoopThread, Operations, PathName
from paywire_contract._recording import (
    RECEIVER_ORIGIN,
    SANDBOX_ORIGIN,
    Cassette,
    CountingTransport,
    DualTransport,
    NetworkTransport,
    RecordingTransport,
    ReplayTransport,
    Wrapping,
    fixture_path,
    shared_ssl_context,
)

if TYPE_CHECKING:
    import paywire
    from paywire_sandbox import RunningSandbox
    from paywire_sandbox.testing import WebhookReceiver

__all__ = ["MODES", "ContractEnv", "ReceivedWebhook", "build_env", "webhook_secret_of"]

MODES: Final = ("sandbox", "replay", "record", "live")

# A path segment that is an id the provider generated (pi_123abc, 5O190127TN364715T).
_ID_SEGMENT: Final = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{6,}$")
# How long a test waits for the previous test's deliveries (their retries included) to land.
_SETTLE_TIMEOUT: Final = 5.0


def webhook_secret_of(provider: paywire.Provider[Any]) -> str:
    """The webhook secret the provider was configured with ("" when none)."""
    secret = provider.config.webhook_secret
    return secret.reveal() if secret is not None else ""


@attrs.frozen
class ReceivedWebhook:
    """A webhook as the receiver got it. ``replayed`` ones were re-signed for this run."""

    headers: Mapping[str, str]
    body: bytes
    replayed: bool = False


@attrs.define
class ContractEnv:
    """Everything a standard test needs, built by the ``paywire_env`` fixture.

    Attributes:
        mode: the suite's mode.
        harness: the plugin's harness.
        settings: what the provider was built from.
        provider: the provider under test.
        http: every request the provider sent (or tried to) in this test.
        ctx: the scenario context handed to the harness.
        against: what the provider talks to: ``"sandbox"``, ``"replay"`` or ``"live"``.
        cassette: this test's recording (``record`` / ``replay``), else ``None``.
        fixture: where the cassette is stored.
        path: ``"sync"`` or ``"async"``; ``ops`` is the provider's operations on it.
    """

    mode: str
    harness: Harness
    settings: Mapping[str, Any] = attrs.field(repr=False)  # holds secrets
    provider: paywire.Provider[Any]
    http: CountingTransport
    ctx: ScenarioContext
    against: str
    cassette: Cassette | None = None
    fixture: Path | None = None
    fixtures: Path | None = None
    sandbox: RunningSandbox | None = None
    receiver: WebhookReceiver | None = None
    _control_client: httpx.Client | None = None
    _received_from: int = 0
    path: PathName = "sync"
    loop: EventLoopThread | None = None
    _ops: Operations | None = attrs.field(default=None, alias="ops")
    _looks: int = 0
    _extra: list[Operations] = attrs.field(factory=list)

    @property
    def name(self) -> str:
        """The provider's name."""
        return self.provider.name

    @property
    def ops(self) -> Operations:
        """The provider's operations on this test's path."""
        if self._ops is None:
            self._ops = Operations(self.provider, self.path, self.loop)
        return self._ops

    @property
    def webhook_secret(self) -> str:
        """The secret the provider verifies webhooks with."""
        return webhook_secret_of(self.provider)

    @property
    def receives_webhooks(self) -> bool:
        """Whether webhooks can reach this test (not in live mode: no public receiver)."""
        return self.mode == "replay" or (self.sandbox is not None and self.receiver is not None)

    @property
    def receiver_url(self) -> str:
        """Where to register the webhook endpoint."""
        if self.mode == "replay" or self.receiver is None:
            return RECEIVER_ORIGIN + "/webhooks"
        return self.receiver.url

    def fault_path(self, request: httpx.Request) -> str:
        """The sandbox fault glob for requests like ``request``: its path below the provider's
        base URL, with id-like segments (``pi_3Nx…``) as ``*``."""
        base = httpx.URL(self.provider.config.base_url or type(self.provider).default_base_url)
        prefix = base.path.rstrip("/")
        path = request.url.path
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :] or "/"
        return "/".join("*" if _ID_SEGMENT.match(part) else part for part in path.split("/"))

    def register_receiver(self) -> None:
        """Make the provider send this test's webhooks to the receiver."""
        self.harness.register_webhook(self.ctx, self.receiver_url, self.webhook_secret)

    def extra_provider(self, settings: Mapping[str, Any]) -> Operations:
        """Another provider built by the harness from ``settings``, on this test's path, its
        HTTP through this test's transport (recorded and replayed with the rest); closed with
        the test."""
        provider = self.harness.build_provider(settings, transport=_Borrowed(self.http))
        ops = Operations(provider, self.path, self.loop)
        self._extra.append(ops)
        return ops

    def received_webhooks(self, timeout: float = 10.0) -> list[ReceivedWebhook]:
        """The webhooks delivered to the receiver since the last look (the first look: since the
        test started), once the sandbox has none left to deliver. In replay, the deliveries
        recorded for this look, signed anew for the current time (the recorded signatures are
        stale by now)."""
        look = self._looks
        self._looks += 1
        if self.mode == "replay":
            assert self.cassette is not None
            now = int(time.time())
            out = []
            for item in self.cassette.webhook_batch(look):
                body = str(item["body"]).encode("utf-8")
                headers = self.harness.sign_webhook(body, self.webhook_secret, timestamp=now)
                fresh = {name.lower() for name in headers}
                kept = {k: v for k, v in item.get("headers", {}).items() if k.lower() not in fresh}
                out.append(ReceivedWebhook({**kept, **headers}, body, True))
            return out
        if self.sandbox is None or self.receiver is None:
            raise RuntimeError("no webhook receiver in live mode")
        self.sandbox.wait_for_webhooks(timeout=timeout)
        # One slice, counted by its own length: the receiver's thread may append meanwhile.
        arrived = self.receiver.requests[self._received_from :]
        self._received_from += len(arrived)
        got = [ReceivedWebhook(dict(headers), body) for headers, body in arrived]
        if self.cassette is not None:
            self.cassette.add_webhooks(look, [(w.headers, w.body) for w in got])
        return got

    def finish(self) -> list[str]:
        """Close everything; write the fixture (record) or list what replay left unused.

        Returns the problems to fail the test with (empty when all is well).
        """
        problems: list[str] = []
        try:
            for extra in self._extra:
                extra.close()
            self.ops.close()
        finally:
            if self._control_client is not None:
                self._control_client.close()
        if self.cassette is None or self.fixture is None:
            return problems
        if self.mode == "record":
            if self.cassette.interactions or self.cassette.webhooks:
                self.cassette.dump(self.fixture, self.harness.secrets(self.settings))
            elif self.fixture.exists():
                self.fixture.unlink()  # the test no longer makes any HTTP call
            return problems
        problems.extend(self.cassette.misses)
        unused = self.cassette.unused()
        if unused:
            listed = "; ".join(i.describe() for i in unused[:5])
            problems.append(
                f"replay: {len(unused)} recorded interaction(s) in {self.fixture.name} were not "
                f"used by the test: {listed}. Re-record with --paywire-mode=record."
            )
        return problems


def _sandbox_control(client: httpx.Client) -> Any:
    def control(method: str, path: str, json: Any = None) -> httpx.Response:
        return client.request(method, path.lstrip("/"), json=json)

    return control


def build_env(
    *,
    mode: str,
    harness: Harness,
    test_id: str,
    fixtures: Path | None,
    sandbox: RunningSandbox | None,
    receiver: WebhookReceiver | None,
    environ: Mapping[str, str] | None = None,
    path: PathName = "sync",
    loop: EventLoopThread | None = None,
) -> ContractEnv:
    """Build one test's environment for ``mode`` and ``path``. The caller must call
    :meth:`ContractEnv.finish`. ``test_id`` names the check (both paths share its fixture).

    ``record`` runs against the provider's own test mode when the harness finds keys in the
    environment, otherwise against the sandbox.
    """
    env = os.environ if environ is None else environ
    live = harness.live_settings(env) if mode in ("live", "record") else None
    if mode == "live" and live is None:
        raise LookupError(
            f"live mode: no {harness.provider_name} test-mode keys in the environment"
        )
    against = "live" if live is not None else ("replay" if mode == "replay" else "sandbox")
    if against == "sandbox" and sandbox is None:
        raise RuntimeError("the sandbox is not running")
    base = SANDBOX_ORIGIN if against == "replay" else (sandbox.url if sandbox else "")
    settings: Mapping[str, Any] = live if live is not None else harness.sandbox_settings(base)
    secrets = harness.secrets(settings)

    cassette, fixture = _cassette(
        mode, harness, test_id, fixtures, against, sandbox, receiver, secrets
    )
    # The provider's base URL decides what the stored paths are relative to; it is only known
    # once the provider exists, so the recorder/replayer reads it lazily through this holder.
    holder: dict[str, str] = {"base": ""}
    inner: DualTransport
    if mode == "replay":
        assert cassette is not None
        inner = _LazyBase(ReplayTransport(cassette, channel="provider", base=""), holder)
    elif mode == "record":
        assert cassette is not None
        inner = _LazyBase(
            RecordingTransport(NetworkTransport(), cassette, channel="provider", base=""),
            holder,
        )
    else:
        inner = NetworkTransport()
    counting = CountingTransport(inner)
    provider = harness.build_provider(settings, transport=counting)
    holder["base"] = provider.config.base_url or type(provider).default_base_url
    ops = Operations(provider, path, loop)

    control_client = _control_client(mode, against, base, cassette)
    if against == "sandbox" and sandbox is not None:
        try:
            # What the previous test set off lands before it is forgotten: a delivery the reset
            # cut off mid-send would reach this test's receiver late, or half sent.
            with contextlib.suppress(TimeoutError):
                sandbox.wait_for_webhooks(timeout=_SETTLE_TIMEOUT)
            sandbox.reset()
        except BaseException:
            ops.close()
            if control_client is not None:
                control_client.close()
            raise
    ctx_sandbox = sandbox if against == "sandbox" else None
    control = _sandbox_control(control_client) if control_client is not None else None
    ctx = ScenarioContext(
        mode, provider, ctx_sandbox, settings, path=path, ops=ops, **_control_arg(control)
    )
    return ContractEnv(
        mode=mode,
        harness=harness,
        settings=settings,
        provider=provider,
        http=counting,
        ctx=ctx,
        against=against,
        cassette=cassette,
        fixture=fixture,
        fixtures=fixtures,
        sandbox=ctx_sandbox,
        receiver=receiver if against == "sandbox" else None,
        control_client=control_client,
        received_from=len(receiver.requests) if receiver is not None else 0,
        path=path,
        loop=loop,
        ops=ops,
    )


def _control_arg(control: Any) -> dict[str, Any]:
    return {} if control is None else {"control": control}


def _cassette(
    mode: str,
    harness: Harness,
    test_id: str,
    fixtures: Path | None,
    against: str,
    sandbox: RunningSandbox | None,
    receiver: WebhookReceiver | None,
    secrets: list[str],
) -> tuple[Cassette | None, Path | None]:
    if mode not in ("record", "replay"):
        return None, None
    if fixtures is None:
        raise RuntimeError("record and replay modes need a fixtures folder")
    fixture = fixture_path(fixtures, test_id)
    origins: dict[str, str] = {}
    if against == "sandbox" and sandbox is not None:
        origins[sandbox.url] = SANDBOX_ORIGIN
    if receiver is not None:
        origins[receiver.url.removesuffix("/webhooks")] = RECEIVER_ORIGIN
    if mode == "replay":
        return Cassette.load(
            fixture,
            test_id=test_id,
            provider=harness.provider_name,
            secrets=secrets,
            origins=origins,
            volatile=frozenset(harness.volatile_fields),
        ), fixture
    return Cassette(
        test_id=test_id,
        provider=harness.provider_name,
        secrets=secrets,
        origins=origins,
        recorded_against=against,
    ), fixture


def _control_client(
    mode: str, against: str, base: str, cassette: Cassette | None
) -> httpx.Client | None:
    """The client for the sandbox control API, recorded or replayed like the provider's HTTP."""
    if against not in ("sandbox", "replay"):
        return None
    control_base = (SANDBOX_ORIGIN if against == "replay" else base) + "/_sandbox"
    transport: httpx.BaseTransport
    if mode == "replay":
        assert cassette is not None
        transport = ReplayTransport(cassette, channel="control", base=control_base)
    elif mode == "record":
        assert cassette is not None
        transport = RecordingTransport(
            NetworkTransport(), cassette, channel="control", base=control_base
        )
    else:
        transport = httpx.HTTPTransport(verify=shared_ssl_context())
    return httpx.Client(base_url=control_base + "/", transport=transport, timeout=30.0)


class _LazyBase(Wrapping):
    """Sets the wrapped recorder's / replayer's base URL from ``holder`` at each request."""

    def __init__(self, inner: RecordingTransport | ReplayTransport, holder: dict[str, str]) -> None:
        super().__init__(inner)
        self.target = inner
        self.holder = holder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward ``request`` with the provider's base URL known."""
        self.target.base = self.holder["base"]
        return self.target.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward ``request`` with the provider's base URL known."""
        self.target.base = self.holder["base"]
        return await self.target.handle_async_request(request)


class _Borrowed(DualTransport):
    """This test's transport lent to another provider: its HTTP is counted and recorded, and
    closing that provider leaves the transport open for the provider under test."""

    def __init__(self, inner: CountingTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the test's transport."""
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the test's transport."""
        return await self.inner.handle_async_request(request)


@contextlib.contextmanager
def recorded_keys(env: ContractEnv) -> Iterator[None]:
    """While a test records or replays, the idempotency keys paywire makes (for operations the
    test calls without one) are ``<prefix>-1``, ``<prefix>-2`` … — the prefix random per
    recording and kept in the fixture — so that replay makes exactly the keys the recording
    made: a plugin that writes its key into a request (Razorpay's order receipt) and looks for
    it in an answer finds it again. Other modes keep paywire's random keys."""
    cassette = env.cassette
    if cassette is None:
        yield
        return
    if env.mode == "record" or not cassette.key_prefix:
        cassette.key_prefix = "pwk-" + secrets.token_hex(6)
    prefix = cassette.key_prefix
    counter = itertools.count(1)
    previous = paywire._keys.make_key
    paywire._keys.make_key = lambda: f"{prefix}-{next(counter)}"
    try:
        yield
    finally:
        paywire._keys.make_key = previous
