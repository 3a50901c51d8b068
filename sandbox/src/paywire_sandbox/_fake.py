"""The interface between the sandbox framework and one provider's fake.

A fake is a class with a ``name`` (its URL prefix), built with a :class:`SandboxContext`.
The framework mounts ``fake.routes()`` under ``/{name}`` and ``fake.control_routes()`` under
``/_sandbox/{name}``; it owns the clock, webhook delivery, fault injection and reset, so a fake
holds only its provider's resources and rules.

Fakes are registered through the ``paywire_sandbox_register_fakes(register)`` hook (entry-point
group ``paywire_sandbox``); the built-in Stripe, PayPal and Razorpay fakes register the same way
as a third party's would.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeAlias

import attrs

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

__all__ = [
    "Clock",
    "ErrorBody",
    "Fake",
    "SandboxContext",
    "WebhookEndpoint",
    "WebhookSink",
]


#: What :meth:`Fake.error_body` returns: ``(content, content_type)``, optionally with headers.
ErrorBody: TypeAlias = tuple[bytes, str] | tuple[bytes, str, Mapping[str, str]]


class Clock(Protocol):
    """The sandbox's notion of now: real time plus whatever the control API advanced."""

    def now(self) -> float:
        """Seconds since the epoch, as the fakes must see it."""
        ...


@attrs.frozen
class WebhookEndpoint:
    """A registered webhook receiver for one provider.

    ``extra`` carries provider-specific data fixed at registration (PayPal's ``webhook_id``).
    The secret is excluded from repr.
    """

    id: str
    provider: str
    url: str
    secret: str = attrs.field(repr=False)
    extra: Mapping[str, str] = attrs.field(factory=dict)


class WebhookSink(Protocol):
    """Where a fake hands the events it fires; the framework signs, delivers and records them."""

    def emit(self, provider: str, event_id: str, event_type: str, body: bytes) -> None:
        """Queue ``body`` (the exact bytes to POST) for every endpoint registered for ``provider``.

        Delivery happens in the background; each attempt is signed by the fake's
        :meth:`Fake.sign_webhook` at send time, retried with backoff on non-2xx and recorded.
        """
        ...

    def endpoints(self, provider: str) -> Sequence[WebhookEndpoint]:
        """The endpoints currently registered for ``provider``."""
        ...


@attrs.define
class SandboxContext:
    """What the framework gives every fake."""

    clock: Clock
    webhooks: WebhookSink


class Fake(abc.ABC):
    """One provider's fake HTTP API."""

    #: URL prefix and provider name, e.g. ``"stripe"``.
    name: ClassVar[str]

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx

    @abc.abstractmethod
    def routes(self) -> Sequence[BaseRoute]:
        """The provider's API and hosted pages, mounted under ``/{name}``."""

    def control_routes(self) -> Sequence[BaseRoute]:
        """Provider-specific control endpoints, mounted under ``/_sandbox/{name}``."""
        return []

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget every resource (the control API's reset)."""

    @abc.abstractmethod
    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        """The headers that sign ``body`` for ``endpoint`` exactly as the real provider would."""

    def endpoint_extra(self, extra: Mapping[str, str]) -> dict[str, str]:
        """Provider data fixed when an endpoint registers (PayPal assigns a ``webhook_id``).

        The framework calls this with what the registration gave; the default keeps it as is.
        """
        return dict(extra)

    def on_clock_advanced(self) -> None:
        """Fire what the passing of time causes (expiries); called after the clock moves."""
        return

    def error_body(self, status: int, message: str) -> ErrorBody | None:
        """The provider's own error answer for an injected fault or a sandbox failure.

        Return ``(content, content_type)`` or ``(content, content_type, headers)`` — headers the
        provider sends on every answer, such as a request id that the body may repeat — or
        ``None`` for the framework's generic JSON body. The framework sets ``Content-Type``,
        ``Content-Length`` (and ``Retry-After`` for a rate limit) itself.
        """
        return None
