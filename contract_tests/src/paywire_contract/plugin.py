"""The pytest plugin (entry point ``pytest11``): options, fixtures and the guard's enforcement.

Options:
    ``--paywire-mode``: ``sandbox`` (default; or ``PAYWIRE_CONTRACT_MODE``), ``replay``,
    ``record`` or ``live`` (refused when ``CI=true``).
    ``--paywire-fixtures``: the fixtures folder, instead of ``fixtures/contract`` beside the test
    module.

Fixtures:
    ``paywire_sandbox`` (session): the running sandbox (``None`` in replay and live modes); it
    also starts ``paywire_webhook_receiver``.
    ``paywire_sandbox_options`` (session): keyword arguments for ``run_sandbox`` (override it in a
    conftest to serve only some fakes, or extra ones).
    ``paywire_event_loop`` (session): the event loop, in a background thread, that runs the
    async path's coroutines.
    ``paywire_path``: ``"sync"`` or ``"async"`` — every check of a ``ProviderContractSuite``
    runs on both (``test_charge_succeeds[sync]``, ``…[async]``), sharing one fixture file; an
    app's own tests that use the fixtures run once.
    ``paywire_env``: one test's world (:class:`~paywire_contract._session.ContractEnv`).
    ``paywire_provider``: the provider under test, built for the current mode.
    ``paywire_ctx``: the :class:`~paywire_contract.ScenarioContext` for the harness.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from paywire_contract._guard import weakened_tests
from paywire_contract._harness import Harness, ScenarioContext
from paywire_contract._paths import PATHS, EventLoopThread, PathName
from paywire_contract._session import MODES, ContractEnv, build_env, recorded_keys
from paywire_contract._suite import (
    GUARD_TEST,
    ProviderContractSuite,
    standard_tests,
    suite_helpers,
)

if TYPE_CHECKING:
    import paywire
    from paywire_sandbox import RunningSandbox
    from paywire_sandbox.testing import WebhookReceiver

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()
MODE_ENV = "PAYWIRE_CONTRACT_MODE"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--paywire-mode`` and ``--paywire-fixtures``."""
    group = parser.getgroup("paywire", "paywire contract suite")
    group.addoption(
        "--paywire-mode",
        choices=MODES,
        default=None,
        help="sandbox (default, or $PAYWIRE_CONTRACT_MODE): live HTTP to a local sandbox; "
        "replay: recorded fixtures, no network; record: write the fixtures; "
        "live: the provider's test mode (never in CI)",
    )
    group.addoption(
        "--paywire-fixtures",
        default=None,
        metavar="DIR",
        help="folder of recorded fixtures (default: fixtures/contract beside the test module)",
    )


def _mode(config: pytest.Config) -> str:
    mode = config.getoption("--paywire-mode") or os.environ.get(MODE_ENV) or "sandbox"
    if mode not in MODES:
        raise pytest.UsageError(f"{MODE_ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return str(mode)


def pytest_configure(config: pytest.Config) -> None:
    """Refuse live mode in CI."""
    if _mode(config) == "live" and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise pytest.UsageError(
            "--paywire-mode=live runs against the provider's real test mode and is never run in "
            "CI (CI is set); use sandbox or replay"
        )


def _declared_exception(item: pytest.Item) -> str | None:
    cls = getattr(item, "cls", None)
    harness = getattr(cls, "harness", None)
    if not (isinstance(cls, type) and issubclass(cls, ProviderContractSuite)):
        return None
    if not isinstance(harness, Harness):
        return None
    declared = harness.declared_exceptions
    name = getattr(item, "originalname", item.name)
    reason = declared.get(item.name, declared.get(name))
    return reason if isinstance(reason, str) and reason.strip() else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the checks a harness declares as exceptions as strict, reasoned ``xfail``: the same in
    the plugin's own tests and in ``paywire certify``."""
    for item in items:
        reason = _declared_exception(item)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=f"declared exception: {reason}", strict=True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call phase's report, so fixture teardown knows how the test went."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The guard cannot be switched off: if a suite subclass replaced or deleted the guard test
    itself, every test of that class fails with the guard's findings."""
    cls = getattr(item, "cls", None)
    if not (isinstance(cls, type) and issubclass(cls, ProviderContractSuite)):
        return
    if getattr(cls, GUARD_TEST, None) is getattr(ProviderContractSuite, GUARD_TEST):
        return  # the guard runs as a test of its own
    problems = weakened_tests(cls, ProviderContractSuite, standard_tests(), helpers=suite_helpers())
    if problems:
        pytest.fail("the contract suite was weakened: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def paywire_event_loop() -> Iterator[EventLoopThread]:
    """The event loop (in a background thread) the async path's coroutines run on."""
    with EventLoopThread() as loop:
        yield loop


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every check of a contract suite runs on both paths; an app's own tests that use the
    fixtures run once (they call the sync or the async operations themselves)."""
    cls = metafunc.cls
    if (
        "paywire_path" in metafunc.fixturenames
        and isinstance(cls, type)
        and issubclass(cls, ProviderContractSuite)
    ):
        metafunc.parametrize("paywire_path", PATHS, indirect=True)


@pytest.fixture
def paywire_path(request: pytest.FixtureRequest) -> PathName:
    """The path a check runs on: the provider's sync operations, or their ``_async`` twins
    (``"sync"`` outside a contract suite)."""
    path: PathName = getattr(request, "param", "sync")
    return path


@pytest.fixture(scope="session")
def paywire_mode(request: pytest.FixtureRequest) -> str:
    """The suite's mode."""
    return _mode(request.config)


@pytest.fixture(scope="session")
def paywire_sandbox_options() -> dict[str, Any]:
    """Keyword arguments for :func:`paywire_sandbox.run_sandbox` (override to choose fakes)."""
    return {"webhook_retry_delays": (0.05, 0.1, 0.2)}


@pytest.fixture(scope="session")
def paywire_webhook_receiver(paywire_mode: str) -> Iterator[WebhookReceiver | None]:
    """A local HTTP server that records the webhooks the sandbox delivers (sandbox modes)."""
    if paywire_mode not in ("sandbox", "record"):
        yield None
        return
    from paywire_sandbox.testing import WebhookReceiver

    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def paywire_sandbox(
    paywire_mode: str,
    paywire_sandbox_options: dict[str, Any],
    paywire_webhook_receiver: WebhookReceiver | None,
) -> Iterator[RunningSandbox | None]:
    """The sandbox on a free port for the whole session (``None`` in replay and live modes)."""
    if paywire_mode not in ("sandbox", "record"):
        yield None
        return
    from paywire_sandbox import run_sandbox

    with run_sandbox(host="127.0.0.1", port=0, **paywire_sandbox_options) as sandbox:
        yield sandbox


@pytest.fixture
def paywire_harness(request: pytest.FixtureRequest) -> Harness:
    """The harness of the suite class the test belongs to."""
    harness = getattr(request.cls, "harness", None)
    if not isinstance(harness, Harness):
        raise pytest.UsageError(
            f"{getattr(request.cls, '__name__', request.node.name)} needs a class attribute "
            "`harness` holding a paywire_contract.Harness instance"
        )
    return harness


def _fixtures_dir(request: pytest.FixtureRequest) -> Path:
    option = request.config.getoption("--paywire-fixtures")
    if option:
        return Path(option)
    configured = getattr(request.cls, "paywire_fixtures_dir", None)
    if configured is not None:
        return Path(configured)
    module = inspect.getfile(request.cls) if request.cls is not None else str(request.path)
    return Path(module).parent / "fixtures" / "contract"


def _test_id(request: pytest.FixtureRequest) -> str:
    # The test's own name with its parameters — not its class's, since `paywire certify` runs
    # the same checks under another class name and must find the plugin's fixtures; and not
    # its path's, since both paths of a check share one fixture.
    name = str(request.node.name)
    base, bracket, params = name.partition("[")
    if not bracket:
        return name
    parts = params.removesuffix("]").split("-")
    path = getattr(request.node, "callspec", None)
    if path is not None and "paywire_path" in path.params:
        taken = str(path.params["paywire_path"])
        if parts and parts[-1] == taken:
            parts = parts[:-1]
        elif parts and parts[0] == taken:
            parts = parts[1:]
    return f"{base}[{'-'.join(parts)}]" if parts else base


@pytest.fixture
def paywire_env(
    request: pytest.FixtureRequest,
    paywire_mode: str,
    paywire_harness: Harness,
    paywire_sandbox: RunningSandbox | None,
    paywire_webhook_receiver: WebhookReceiver | None,
    paywire_path: PathName,
    paywire_event_loop: EventLoopThread,
) -> Iterator[ContractEnv]:
    """One test's world: provider, HTTP (live / recorded / replayed), scenario context, on the
    test's path."""
    try:
        env = build_env(
            mode=paywire_mode,
            harness=paywire_harness,
            test_id=_test_id(request),
            fixtures=_fixtures_dir(request),
            sandbox=paywire_sandbox,
            receiver=paywire_webhook_receiver,
            path=paywire_path,
            loop=paywire_event_loop,
        )
    except LookupError as exc:
        pytest.skip(str(exc))
    passed = False
    try:
        with recorded_keys(env):
            yield env
        report = request.node.stash.get(_CALL_REPORT, None)
        passed = report is not None and report.passed
    finally:
        if passed:
            problems = env.finish()
        else:
            if env.mode == "record" and env.cassette is not None:
                env.cassette.interactions.clear()  # a failed test's traffic is not written
                env.cassette.webhooks.clear()
                env.fixture = None
            env.finish()
            problems = []
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def paywire_provider(paywire_env: ContractEnv) -> paywire.Provider[Any]:
    """The provider under test, built for the current mode."""
    return paywire_env.provider


@pytest.fixture
def paywire_ctx(paywire_env: ContractEnv) -> ScenarioContext:
    """The scenario context the harness's methods get."""
    return paywire_env.ctx
