"""The guard: a plugin may not weaken the standard tests silently.

Any ``test_*`` of the base suite that a subclass redefines must carry
``pytest.mark.xfail(reason="…")`` with a non-empty reason; setting one to ``None`` (deleting it)
is never allowed, and neither is skipping the whole class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

__all__ = ["bad_exceptions", "reasoned_xfail", "weakened_tests"]

_SKIPPING_MARKS = frozenset({"skip", "skipif", "xfail"})


def _marks(marks: object) -> list[pytest.Mark]:
    if isinstance(marks, pytest.Mark):
        return [marks]
    if isinstance(marks, pytest.MarkDecorator):
        return [marks.mark]
    if not isinstance(marks, Iterable):
        return []
    out: list[pytest.Mark] = []
    for mark in marks:
        if isinstance(mark, pytest.MarkDecorator):
            out.append(mark.mark)
        elif isinstance(mark, pytest.Mark):
            out.append(mark)
    return out


def reasoned_xfail(obj: object) -> bool:
    """Whether ``obj`` is marked ``xfail`` with a non-empty ``reason``."""
    for mark in _marks(getattr(obj, "pytestmark", [])):
        if mark.name == "xfail":
            reason = mark.kwargs.get("reason")
            if isinstance(reason, str) and reason.strip():
                return True
    return False


def bad_exceptions(declared: object, standard: Iterable[str]) -> list[str]:
    """What is wrong with a harness's ``declared_exceptions``: names that are no standard check
    (``test_x`` or ``test_x[sync|async]``) and exceptions without a reason."""
    if not isinstance(declared, Mapping):
        return [f"declared_exceptions must map check names to reasons, not {declared!r}"]
    known = set(standard)
    problems: list[str] = []
    for name, reason in declared.items():
        check = str(name)
        base, _, path = check.partition("[")
        if base not in known or path not in ("", "sync]", "async]"):
            problems.append(f"declared_exceptions names {check!r}, which is no standard check")
        elif not (isinstance(reason, str) and reason.strip()):
            problems.append(f"declared_exceptions gives {check!r} no reason")
    return problems


def weakened_tests(
    cls: type[Any], base: type[Any], standard: Iterable[str], *, helpers: Iterable[str] = ()
) -> list[str]:
    """What ``cls`` (a subclass of ``base``) does to the ``standard`` tests without a reason,
    and which of the base's checking ``helpers`` it replaces (never allowed).

    Walks ``cls``'s MRO down to ``base``: the first class that defines a standard name decides.
    """
    problems: list[str] = []
    for klass in cls.__mro__:
        if klass is base:
            break
        problems.extend(
            f"{klass.__name__} is marked {mark.name} as a whole; mark single tests "
            "xfail(reason=...) instead"
            for mark in _marks(vars(klass).get("pytestmark", []))
            if mark.name in _SKIPPING_MARKS
        )
    for name in standard:
        if not hasattr(base, name):
            problems.append(f"standard test {name} was removed from {base.__name__}")
            continue
        for klass in cls.__mro__:
            if klass is base:
                break
            if name not in vars(klass):
                continue
            value = vars(klass)[name]
            if value is None:
                problems.append(
                    f"{klass.__name__}.{name} deletes the standard test (set to None); "
                    "override it with pytest.mark.xfail(reason=...) instead"
                )
            elif not reasoned_xfail(value):
                problems.append(
                    f"{klass.__name__}.{name} overrides the standard test without "
                    "pytest.mark.xfail(reason=...) giving a reason"
                )
            break
    for name in helpers:
        for klass in cls.__mro__:
            if klass is base:
                break
            if name in vars(klass):
                problems.append(
                    f"{klass.__name__}.{name} replaces a checking helper of the suite; "
                    "override the standard tests that use it with xfail(reason=...) instead"
                )
                break
    return problems
