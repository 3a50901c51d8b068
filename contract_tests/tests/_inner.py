"""Helpers to run the contract suite in an inner pytest session (``pytester``) against minipay."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

TESTS = Path(__file__).parent

CONFTEST = """
import pytest
from minipay import MiniFake
from shapes import FAKES


@pytest.fixture(scope="session")
def paywire_sandbox_options():
    return {"fakes": [MiniFake, *FAKES], "webhook_retry_delays": (0.05, 0.1)}
"""


#: The harnesses an inner session can use: name → (module, class).
HARNESSES = {
    "minipay": ("legacy", "LegacyMiniHarness"),
    "singleevent": ("shapes.single", "SingleHarness"),
    "asyncsettle": ("shapes.settle", "SettleHarness"),
    "idonly": ("shapes.idonly", "IdOnlyHarness"),
    "mandates": ("shapes.mandate", "MandateHarness"),
    "nocodes": ("shapes.nocodes", "NoCodesHarness"),
    "rotated": ("shapes.rotated", "RotatedHarness"),
}


def suite_module(
    bugs: Sequence[str] = (),
    *,
    harness: str = "minipay",
    body: str = "",
    extra: str = "",
    **options: object,
) -> str:
    """A test module subclassing the suite (class ``TestMini``) with the ``harness`` (minipay
    unless a shape is named) built with ``bugs``."""
    module, cls = HARNESSES[harness]
    args = ", ".join([repr(list(bugs))] + [f"{k}={v!r}" for k, v in options.items()])
    return (
        "import pytest\n"
        f"from {module} import {cls}\n"
        "from paywire_contract import ProviderContractSuite\n"
        f"{extra}\n\n"
        "class TestMini(ProviderContractSuite):\n"
        f"    harness = {cls}({args})\n"
        f"{body}\n"
    )


def prepare(pytester: pytest.Pytester) -> None:
    """Make minipay and the shapes importable and serve their fakes in the inner session."""
    pytester.syspathinsert(TESTS)
    pytester.makeconftest(CONFTEST)


def run(pytester: pytest.Pytester, *args: str, mode_from_env: bool = False) -> pytest.RunResult:
    """Run the inner session in this process (in sandbox mode unless ``args`` name a mode, so
    that a ``PAYWIRE_CONTRACT_MODE`` set for the outer run does not leak in)."""
    if not mode_from_env and not any(a.startswith("--paywire-mode") for a in args):
        args = ("--paywire-mode=sandbox", *args)
    return pytester.runpytest("-p", "no:cacheprovider", "-q", "-rA", *args)


def failure_text(result: pytest.RunResult) -> str:
    """Everything the inner session printed."""
    return "\n".join(result.outlines + result.errlines)
