"""paywire-contract: the contract suite every paywire provider plugin is certified with.

A plugin implements a :class:`Harness` (declaring its provider's shape) and subclasses
:class:`ProviderContractSuite` in its tests; ``paywire certify NAME`` runs the same suite for any
installed plugin. Every check runs on the sync and the async path. The pytest plugin
(``paywire_contract.plugin``, loaded automatically) adds ``--paywire-mode`` and the fixtures;
``python -m paywire_contract.checks`` prints the table of checks.
"""

from paywire_contract._discovery import (
    ENV_ALLOW_LIST,
    HARNESS_GROUP,
    HarnessFailure,
    harness_names,
    hookimpl,
    load_harness,
    load_harnesses,
)
from paywire_contract._guard import weakened_tests
from paywire_contract._harness import (
    DECLARATIONS,
    CheckoutEvents,
    Harness,
    MethodKind,
    Mode,
    SandboxUnavailable,
    ScenarioContext,
    Settlement,
    WebhookSample,
)
from paywire_contract._meta import CheckInfo, check_info
from paywire_contract._paths import EventLoopThread, Operations
from paywire_contract._recording import (
    RECEIVER_ORIGIN,
    SANDBOX_ORIGIN,
    FixtureSecretError,
    ReplayMiss,
)
from paywire_contract._session import ContractEnv, ReceivedWebhook
from paywire_contract._suite import ProviderContractSuite, capability_group, standard_tests

__all__ = [
    "DECLARATIONS",
    "ENV_ALLOW_LIST",
    "HARNESS_GROUP",
    "RECEIVER_ORIGIN",
    "SANDBOX_ORIGIN",
    "CheckInfo",
    "CheckoutEvents",
    "ContractEnv",
    "EventLoopThread",
    "FixtureSecretError",
    "Harness",
    "HarnessFailure",
    "MethodKind",
    "Mode",
    "Operations",
    "ProviderContractSuite",
    "ReceivedWebhook",
    "ReplayMiss",
    "SandboxUnavailable",
    "ScenarioContext",
    "Settlement",
    "WebhookSample",
    "capability_group",
    "check_info",
    "harness_names",
    "hookimpl",
    "load_harness",
    "load_harnesses",
    "standard_tests",
    "weakened_tests",
]
