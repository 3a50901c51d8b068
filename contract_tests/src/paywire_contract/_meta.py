"""What each standard check is: its report group, the capabilities it runs for, the declarations
that change what it expects, and what a failure usually means. The check table
(:mod:`paywire_contract.checks`) is generated from this, so it cannot drift from the suite."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs
import pytest

from paywire import Capability

if TYPE_CHECKING:
    from paywire_contract._session import ContractEnv

__all__ = ["CHECK_ATTR", "CheckInfo", "check_info", "standard_check"]

F = TypeVar("F", bound=Callable[..., Any])

CHECK_ATTR: Final = "__paywire_check__"


@attrs.frozen
class CheckInfo:
    """A standard check's description.

    Attributes:
        name: the test's name (``test_charge_succeeds``).
        group: the report group (a capability's value, or ``money``, ``secrets``, ``guard``).
        needs: the capabilities the provider must declare for the check to run (it is skipped,
            with the reason, otherwise).
        declarations: the harness or provider declarations that change what it expects.
        requires: what it requires (the test's docstring).
        troubleshooting: what a failure usually means and what to change.
    """

    name: str
    group: str
    needs: tuple[Capability, ...]
    declarations: tuple[str, ...]
    requires: str
    troubleshooting: str


def _require(env: ContractEnv, needs: tuple[Capability, ...]) -> None:
    declared = env.provider.capabilities
    for capability in needs:
        if capability not in declared:
            pytest.skip(f"{env.name} does not declare the {capability.value!r} capability")


def standard_check(
    group: str,
    *,
    needs: tuple[Capability, ...] = (),
    declarations: tuple[str, ...] = (),
    troubleshooting: str,
) -> Callable[[F], F]:
    """Make a test a standard check: it is skipped unless the provider declares every capability
    in ``needs``, and it carries its :class:`CheckInfo`."""

    def decorate(func: F) -> F:
        info = CheckInfo(
            name=func.__name__,
            group=group,
            needs=needs,
            declarations=declarations,
            requires=inspect.cleandoc(func.__doc__ or ""),
            troubleshooting=inspect.cleandoc(troubleshooting),
        )

        @functools.wraps(func)
        def check(self: Any, *args: Any, **kwargs: Any) -> Any:
            env = kwargs.get("paywire_env")
            if env is not None:
                _require(env, needs)
            return func(self, *args, **kwargs)

        setattr(check, CHECK_ATTR, info)
        return check  # type: ignore[return-value]

    return decorate


def check_info(func: object) -> CheckInfo | None:
    """The :class:`CheckInfo` of a standard check (``None`` for anything else)."""
    info = getattr(func, CHECK_ATTR, None)
    return info if isinstance(info, CheckInfo) else None
