"""paywire-contract: the contract suite every paywire provider plugin is certified with.

A plugin implements a :class:`Harness` and subclasses :class:`ProviderContractSuite` in its tests;
``paywire certify NAME`` runs the same suite for any installed plugin. The pytest plugin
(``paywire_contract.plugin``, loaded automatically) adds ``--paywire-mode`` and the fixtures.
"""

from paywire_contract._discovery import HARNESS_GROUP, harness_names, load_harness
from paywire_contract._guard import weakened_tests
from paywire_contract._harness import (
    Harness,
    MethodKind,
    Mode,
    SandboxUnavailable,
    ScenarioContext,
)
from paywire_contract._recording import (
    RECEIVER_ORIGIN,
    SANDBOX_ORIGIN,
    FixtureSecretError,
    ReplayMiss,
)
from paywire_contract._session import ContractEnv, ReceivedWebhook
from paywire_contract._suite import ProviderContractSuite, capability_group, standard_tests

__all__ = [
    "HARNESS_GROUP",
    "RECEIVER_ORIGIN",
    "SANDBOX_ORIGIN",
    "ContractEnv",
    "FixtureSecretError",
    "Harness",
    "MethodKind",
    "Mode",
    "ProviderContractSuite",
    "ReceivedWebhook",
    "ReplayMiss",
    "SandboxUnavailable",
    "ScenarioContext",
    "capability_group",
    "harness_names",
    "load_harness",
    "standard_tests",
    "weakened_tests",
]
