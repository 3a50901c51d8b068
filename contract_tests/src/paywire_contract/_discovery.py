"""Finding installed plugins' harnesses: entry-point group ``paywire_contract``, loaded the way the
core loads providers and the sandbox loads fakes (:mod:`paywire._loading`, pluggy).

An entry point names the :class:`Harness` subclass (what ``paywire new-provider`` writes, and what
the three shipped plugins declare), a harness instance, or a plugin object implementing the hook::

    from paywire_contract import hookimpl

    @hookimpl
    def paywire_contract_harness():
        return MyHarness()

A plugin that fails to import or gives something that is not a harness is reported, never fatal
to the others (:func:`load_harnesses`).
"""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Iterable

import attrs
import pluggy

from paywire._loading import Candidate, LoadedPlugin, PluginLoader, allow_list
from paywire_contract._harness import Harness

__all__ = [
    "ENV_ALLOW_LIST",
    "HARNESS_GROUP",
    "HarnessFailure",
    "harness_names",
    "hookimpl",
    "load_harness",
    "load_harnesses",
]

#: Entry-point group: name = provider name, object = the Harness class (or an instance, or a
#: plugin implementing ``paywire_contract_harness``).
HARNESS_GROUP = "paywire_contract"
#: Comma-separated entry-point names that may load (set but empty: none); unset: all.
ENV_ALLOW_LIST = "PAYWIRE_CONTRACT_HARNESSES"
_PROJECT = "paywire_contract"

_hookspec = pluggy.HookspecMarker(_PROJECT)
#: Decorate a plugin's ``paywire_contract_harness()`` (returning its :class:`Harness`) with this.
hookimpl = pluggy.HookimplMarker(_PROJECT)


class _HookSpecs:
    @_hookspec
    def paywire_contract_harness(self) -> Harness:
        """The plugin's contract harness."""
        raise NotImplementedError


class _HarnessPlugin:
    """A harness class or instance named by an entry point, as a plugin implementing the hook."""

    def __init__(self, target: type[Harness] | Harness) -> None:
        self._target = target

    @hookimpl
    def paywire_contract_harness(self) -> Harness:
        target = self._target
        return target() if isinstance(target, type) else target

    def __repr__(self) -> str:
        return f"<harness plugin {self._target!r}>"


def _adapt(obj: object) -> object:
    if isinstance(obj, Harness) or (isinstance(obj, type) and issubclass(obj, Harness)):
        return _HarnessPlugin(obj)
    return obj


@attrs.frozen
class HarnessFailure:
    """A harness that could not be loaded, and why (credentials redacted)."""

    name: str
    reason: str


def harness_names() -> list[str]:
    """The provider names that have an installed harness (nothing is imported)."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=HARNESS_GROUP)})


def load_harnesses(
    allow: Iterable[str] | None = None, *, failures: list[HarnessFailure] | None = None
) -> dict[str, Harness]:
    """The installed harnesses by provider name.

    ``allow`` limits them to these entry-point names (else ``$PAYWIRE_CONTRACT_HARNESSES``, if
    set). Each is loaded and its hook called alone: one that fails to import, raises, or gives
    something that is not a :class:`Harness` is left out, with its reason appended to
    ``failures`` when given.
    """
    loader = PluginLoader(_PROJECT, HARNESS_GROUP, _HookSpecs, adapt=_adapt)
    found: dict[str, Harness] = {}
    for candidate in loader.candidates(allowed=allow_list(os.environ, ENV_ALLOW_LIST, allow)):
        harness = _harness_of(loader, candidate)
        if harness is not None:
            found[candidate.name] = harness
    if failures is not None:
        failures.extend(HarnessFailure(f.name, f.reason) for f in loader.failures)
    return found


def _harness_of(loader: PluginLoader, candidate: Candidate) -> Harness | None:
    loaded: LoadedPlugin | None = loader.register(candidate)
    if loaded is None:
        return None
    answers = loader.call(loaded, "paywire_contract_harness")
    if answers is None:
        return None
    harnesses = [answer for answer in answers if isinstance(answer, Harness)]
    if len(harnesses) != 1 or len(answers) != 1:
        loader.fail(candidate, f"gave {answers!r}: not one paywire_contract.Harness")
        return None
    return harnesses[0]


def load_harness(name: str) -> Harness:
    """The harness installed for provider ``name``.

    Raises ``LookupError`` when none is installed, ``TypeError`` when the entry point does not
    give a :class:`Harness`, and ``ImportError`` (with the plugin's reason) when it cannot load.
    """
    failures: list[HarnessFailure] = []
    found = load_harnesses([name], failures=failures)
    if name in found:
        return found[name]
    for failure in failures:
        if "failed to import" in failure.reason or "failed while registering" in failure.reason:
            raise ImportError(f"the contract harness for {name!r} {failure.reason}")
        raise TypeError(
            f"the {HARNESS_GROUP}:{name} entry point is not a paywire_contract.Harness "
            f"({failure.reason})"
        )
    installed = ", ".join(harness_names()) or "none"
    raise LookupError(
        f"no contract harness installed for {name!r} (installed: {installed}); a provider plugin "
        f"declares one in the {HARNESS_GROUP!r} entry-point group"
    )
