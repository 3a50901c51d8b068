"""One way of loading plugins, used by the core, the sandbox and the contract suite.

Each has its own pluggy project, entry-point group and hook specifications; the loading is the
same: entry points (limited by an allow-list) and in-code plugin objects are registered with a
:class:`pluggy.PluginManager` one at a time, each validated the way pluggy validates (hook
implementations must match a specification: pluggy checks arguments at registration, and unknown
hooks are what :meth:`pluggy.PluginManager.check_pending` would report, checked per plugin). A
plugin that fails to import, fails validation or raises in its hook is recorded as a
:class:`LoadFailure` and left out; the others load. Each plugin's hook is called through pluggy's
own call path, alone (:meth:`pluggy.PluginManager.subset_hook_caller`), so one plugin's failure
never hides another's registrations.
"""

from __future__ import annotations

import importlib.metadata
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import pluggy

from paywire._secrets import redact

__all__ = ["Candidate", "LoadFailure", "LoadedPlugin", "PluginLoader", "allow_list"]


@attrs.frozen
class Candidate:
    """Something that may be a plugin: its name and how to get the object."""

    name: str
    load: Callable[[], object]
    distribution: str | None = None
    version: str | None = None


@attrs.frozen
class LoadFailure:
    """A plugin that was not loaded (or not wholly), and why."""

    name: str
    reason: str
    distribution: str | None = None
    version: str | None = None


@attrs.frozen
class LoadedPlugin:
    """A plugin registered with the manager."""

    candidate: Candidate
    plugin: object


def allow_list(
    environ: Mapping[str, str], variable: str, allow: Iterable[str] | None
) -> frozenset[str] | None:
    """The names allowed to load: ``allow`` when given, else the comma-separated ``variable``
    (set but empty: none), else ``None`` (every one)."""
    if allow is not None:
        return frozenset(allow)
    raw = environ.get(variable)
    if raw is None:
        return None
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


class _Hashable:
    """An unhashable plugin object (a ``SimpleNamespace``) as a hashable one with the same
    attributes: pluggy keeps plugins in sets and finds hooks by static attribute look-up."""

    def __init__(self, target: object) -> None:
        self.__dict__.update(vars(target))
        self._paywire_repr = repr(target)

    def __repr__(self) -> str:
        return self._paywire_repr


class PluginLoader:
    """Loads one project's plugins.

    Args:
        project: the pluggy project name (hook markers are made with it).
        group: the entry-point group.
        specs: the class (or module) holding the hook specifications.
        adapt: turns a loaded object that is not itself a plugin into one (for entry points
            written in an older style); returns the object unchanged otherwise.
        check: a last look at a loaded object before it is registered (the core checks
            ``PAYWIRE_API``): a reason to refuse it, or ``None``.
    """

    def __init__(
        self,
        project: str,
        group: str,
        specs: type | types.ModuleType,
        *,
        adapt: Callable[[object], object] | None = None,
        check: Callable[[object], str | None] | None = None,
    ) -> None:
        self.project = project
        self.group = group
        self.manager = pluggy.PluginManager(project)
        self.manager.add_hookspecs(specs)
        self._adapt = adapt
        self._check = check
        self.loaded: list[LoadedPlugin] = []
        self.failures: list[LoadFailure] = []

    def candidates(
        self, *, allowed: frozenset[str] | None, extra: Iterable[tuple[str, object]] = ()
    ) -> list[Candidate]:
        """``extra`` in-code plugins, then the entry points of the group (sorted, each
        distribution once) that ``allowed`` lets through."""
        found = [Candidate(name, _constant(plugin)) for name, plugin in extra]
        seen: set[str] = set()
        for ep in sorted(importlib.metadata.entry_points(group=self.group), key=lambda e: e.name):
            if (allowed is not None and ep.name not in allowed) or ep.name in seen:
                continue
            seen.add(ep.name)  # the same distribution twice on sys.path
            dist = ep.dist
            found.append(
                Candidate(
                    name=ep.name,
                    load=ep.load,
                    distribution=dist.metadata["Name"] if dist is not None else None,
                    version=dist.version if dist is not None else None,
                )
            )
        return found

    def fail(self, candidate: Candidate, reason: str) -> None:
        """Record that ``candidate`` was left out (reasons may quote a plugin's own exception,
        which may echo a credential: they are redacted)."""
        self.failures.append(
            LoadFailure(candidate.name, redact(reason), candidate.distribution, candidate.version)
        )

    def register(self, candidate: Candidate) -> LoadedPlugin | None:
        """Import and register one candidate; ``None`` (and a failure recorded) when it cannot."""
        try:
            plugin = candidate.load()
        except (Exception, SystemExit) as exc:  # a failure to import is the plugin's, not ours
            self.fail(candidate, f"failed to import: {type(exc).__name__}: {exc}")
            return None
        if self._adapt is not None:
            plugin = self._adapt(plugin)
        try:
            hash(plugin)
        except TypeError:
            try:
                plugin = _Hashable(plugin)
            except TypeError:  # no __dict__ to copy
                self.fail(candidate, "the plugin object is not hashable (use a module or a class)")
                return None
        if self._check is not None:
            problem = self._check(plugin)
            if problem is not None:
                self.fail(candidate, problem)
                return None
        if self.manager.has_plugin(candidate.name) or self.manager.is_registered(plugin):
            self.fail(candidate, "a plugin with this name is already loaded")
            return None
        try:
            self.manager.register(plugin, name=candidate.name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            self.fail(candidate, f"invalid hook implementation: {exc}")
            return None
        unknown = sorted(
            caller.name
            for caller in self.manager.get_hookcallers(plugin) or ()
            if not caller.has_spec()
        )
        if unknown:
            self.manager.unregister(plugin)
            self.fail(candidate, f"implements unknown hook(s): {', '.join(unknown)}")
            return None
        loaded = LoadedPlugin(candidate, plugin)
        self.loaded.append(loaded)
        return loaded

    def call(self, loaded: LoadedPlugin, hook: str, **kwargs: Any) -> list[Any] | None:
        """Call ``hook`` of this one plugin through pluggy; ``None`` (and the plugin
        unregistered, a failure recorded) when it does not implement it or raises."""
        others = [
            plugin
            for _, plugin in self.manager.list_name_plugin()
            if plugin is not None and plugin is not loaded.plugin
        ]
        caller = self.manager.subset_hook_caller(hook, remove_plugins=others)
        if not caller.get_hookimpls():
            self.manager.unregister(loaded.plugin)
            self.fail(loaded.candidate, f"does not implement {hook}")
            return None
        try:
            return list(caller(**kwargs))
        except Exception as exc:
            self.manager.unregister(loaded.plugin)
            self.fail(loaded.candidate, f"failed while registering: {type(exc).__name__}: {exc}")
            return None
