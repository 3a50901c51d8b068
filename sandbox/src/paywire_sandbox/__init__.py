"""paywire-sandbox: a stateful local fake of payment providers' HTTP APIs.

One ASGI app serves a fake per provider under ``/{name}`` and a control API under ``/_sandbox``
(reset, clock, webhook endpoints and deliveries, fault injection). Fakes are found through the
``paywire_sandbox_register_fakes`` hook (entry-point group ``paywire_sandbox``).
"""

from paywire_sandbox._app import Sandbox, SandboxApp, build_app
from paywire_sandbox._clock import SandboxClock
from paywire_sandbox._fake import (
    Clock,
    ErrorBody,
    Fake,
    SandboxContext,
    WebhookEndpoint,
    WebhookSink,
)
from paywire_sandbox._faults import FaultKind
from paywire_sandbox._plugins import FakeRegistry, PluginFailure, hookimpl, hookspec, load_fakes
from paywire_sandbox._server import RunningSandbox, SandboxControlError, run_sandbox
from paywire_sandbox._webhooks import DEFAULT_RETRY_DELAYS, WebhookHub

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "Clock",
    "ErrorBody",
    "Fake",
    "FakeRegistry",
    "FaultKind",
    "PluginFailure",
    "RunningSandbox",
    "Sandbox",
    "SandboxApp",
    "SandboxClock",
    "SandboxContext",
    "SandboxControlError",
    "WebhookEndpoint",
    "WebhookHub",
    "WebhookSink",
    "build_app",
    "hookimpl",
    "hookspec",
    "load_fakes",
    "run_sandbox",
]
