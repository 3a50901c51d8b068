"""Finding fakes: a pluggy hook, fed by entry points in the ``paywire_sandbox`` group.

Built-in fakes register exactly as a third party's would::

    from paywire_sandbox import hookimpl

    @hookimpl
    def paywire_sandbox_register_fakes(register):
        register(MyFake)

A plugin module that fails to import, or whose hook raises or registers something that is not a
:class:`~paywire_sandbox.Fake` subclass, is reported (logged and listed in
:attr:`FakeRegistry.failures`) and skipped, never fatal. ``PAYWIRE_SANDBOX_FAKES`` (a
comma-separated list of entry-point names) limits which entry points load.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import os
from collections.abc import Callable, Iterable

import attrs
import pluggy

from paywire_sandbox._fake import Fake

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_ALLOW_LIST",
    "FakeRegistry",
    "PluginFailure",
    "hookimpl",
    "hookspec",
    "load_fakes",
]

PROJECT_NAME = "paywire_sandbox"
ENTRY_POINT_GROUP = "paywire_sandbox"
ENV_ALLOW_LIST = "PAYWIRE_SANDBOX_FAKES"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

logger = logging.getLogger(__name__)


class _HookSpecs:
    @hookspec
    def paywire_sandbox_register_fakes(self, register: Callable[[type[Fake]], None]) -> None:
        """Call ``register(fake_class)`` for each fake this plugin provides."""


@attrs.frozen
class PluginFailure:
    """A plugin that could not be loaded, and why."""

    name: str
    reason: str


@attrs.define
class FakeRegistry:
    """The fake classes found, by provider name, and the plugins that failed."""

    fakes: dict[str, type[Fake]] = attrs.field(factory=dict)
    failures: list[PluginFailure] = attrs.field(factory=list)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(_HookSpecs)
    return pm


def _allowed_names(env: str | None) -> set[str] | None:
    if env is None or not env.strip():
        return None
    return {part.strip() for part in env.split(",") if part.strip()}


def load_fakes(
    plugins: Iterable[object] = (),
    *,
    entry_points: bool = True,
    allow: Iterable[str] | None = None,
) -> FakeRegistry:
    """Collect fake classes from entry points (group ``paywire_sandbox``) and from ``plugins``.

    ``plugins`` are extra plugin objects (modules or instances with a hook implementation), useful
    for tests. ``allow`` limits entry points to the given names; when ``None`` the
    ``PAYWIRE_SANDBOX_FAKES`` environment variable does, if set. Each plugin gets its own
    registration call, so a broken plugin is skipped without affecting the others.
    """
    registry = FakeRegistry()
    pm = _make_plugin_manager()
    allowed = set(allow) if allow is not None else _allowed_names(os.environ.get(ENV_ALLOW_LIST))

    candidates: list[tuple[str, object]] = []
    if entry_points:
        eps = sorted(
            importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name
        )
        for ep in eps:
            if allowed is not None and ep.name not in allowed:
                continue
            if any(name == ep.name for name, _ in candidates):
                continue  # the same distribution seen twice on sys.path
            try:
                candidates.append((ep.name, ep.load()))
            except Exception as exc:
                _fail(registry, ep.name, f"import failed: {_describe(exc)}")
    candidates.extend((_plugin_name(plugin), plugin) for plugin in plugins)

    for name, plugin in candidates:
        try:
            pm.register(plugin, name=name)
        except Exception as exc:
            _fail(registry, name, f"invalid plugin: {_describe(exc)}")
            continue
        unknown = sorted(
            caller.name for caller in pm.get_hookcallers(plugin) or () if not caller.has_spec()
        )
        if unknown:
            # pluggy's check_pending(), per plugin: a misspelt hook must not pass silently.
            pm.unregister(plugin)
            _fail(registry, name, f"unknown hook(s): {', '.join(unknown)}")
            continue
        _collect(pm, registry, name, plugin)
    return registry


def _plugin_name(plugin: object) -> str:
    if inspect.ismodule(plugin):
        return plugin.__name__
    return f"{type(plugin).__qualname__}@{id(plugin):x}"


def _collect(pm: pluggy.PluginManager, registry: FakeRegistry, name: str, plugin: object) -> None:
    """Run ``plugin``'s hook alone and keep what it registers, or nothing if it misbehaves."""
    found: list[type[Fake]] = []
    problems: list[str] = []

    def register(fake_class: type[Fake]) -> None:
        if not (inspect.isclass(fake_class) and issubclass(fake_class, Fake)):
            problems.append(f"registered {fake_class!r}, which is not a Fake subclass")
            return
        if inspect.isabstract(fake_class):
            problems.append(f"registered {fake_class.__qualname__}, which is abstract")
            return
        fake_name = getattr(fake_class, "name", None)
        if not isinstance(fake_name, str) or not _valid_name(fake_name):
            problems.append(f"{fake_class.__qualname__}.name must be a lowercase slug")
            return
        found.append(fake_class)

    others = [p for p in pm.get_plugins() if p is not plugin]
    caller = pm.subset_hook_caller("paywire_sandbox_register_fakes", remove_plugins=others)
    if not caller.get_hookimpls():
        _fail(registry, name, "no paywire_sandbox_register_fakes hook implementation")
        return
    try:
        caller(register=register)
    except Exception as exc:
        _fail(registry, name, f"hook raised {_describe(exc)}")
        return
    if problems:
        _fail(registry, name, "; ".join(problems))
        return
    for fake_class in found:
        existing = registry.fakes.get(fake_class.name)
        if existing is not None and existing is not fake_class:
            _fail(
                registry,
                name,
                f"fake name {fake_class.name!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}",
            )
            continue
        registry.fakes[fake_class.name] = fake_class


def _valid_name(name: str) -> bool:
    return (
        bool(name)
        and name != "_sandbox"
        and all(c.isascii() and (c.islower() or c.isdigit() or c in "-_") for c in name)
        and not name.startswith("_")
    )


def _fail(registry: FakeRegistry, name: str, reason: str) -> None:
    logger.warning("sandbox fake plugin %r skipped: %s", name, reason)
    registry.failures.append(PluginFailure(name=name, reason=reason))
