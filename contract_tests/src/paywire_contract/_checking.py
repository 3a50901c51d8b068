"""How the checks fail: each with a message that says what was wrong, without a traceback.

Module functions rather than suite methods, so a plugin's subclass cannot replace them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, TypeVar

import pytest

from paywire import ChargeResult, RefundResult
from paywire_contract._harness import SandboxUnavailable

__all__ = ["call", "check", "describe", "expect", "fail"]

E = TypeVar("E", bound=BaseException)
T = TypeVar("T")


def describe(value: object) -> str:
    """A short description of an operation's result, for messages."""
    if isinstance(value, ChargeResult):
        return f"ChargeResult(id={value.id!r}, amount={value.amount}, status={value.status.value})"
    if isinstance(value, RefundResult):
        return f"RefundResult(id={value.id!r}, amount={value.amount}, status={value.status.value})"
    return repr(value)


def fail(message: str) -> NoReturn:
    """Fail the test with ``message`` alone: no traceback, no chained exception."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def check(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    if not condition:
        fail(message)


def expect(error: type[E], what: str, operation: Callable[[], object]) -> E:
    """Run ``operation``; it must raise ``error``. Fails with what happened instead."""
    try:
        result = operation()
    except error as exc:
        return exc
    except SandboxUnavailable as exc:
        pytest.skip(f"{what}: {exc}")
    except Exception as exc:
        fail(f"{what} raised {type(exc).__name__}: {exc}; expected {error.__name__}")
    fail(f"{what} returned {describe(result)}; expected it to raise {error.__name__}")


def call(what: str, operation: Callable[[], T]) -> T:
    """Run ``operation``; an exception fails the test saying which operation raised what (a
    scenario that needs the sandbox in live mode skips it)."""
    try:
        return operation()
    except SandboxUnavailable as exc:
        pytest.skip(f"{what}: {exc}")
    except Exception as exc:
        fail(f"{what} raised {type(exc).__name__}: {exc}")
