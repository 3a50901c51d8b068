"""Finding fakes: a pluggy hook, fed by entry points in the ``paywire_sandbox`` group.

Built-in fakes register exactly as a third party's would::

    from paywire_sandbox import hookimpl

    @hookimpl
    def paywire_sandbox_register_fakes(register):
        register(MyFake)

A plugin module that fails to import, or whose hook raises or registers something that is not a
:class:`~paywire_sandbox.Fake` subclass, is reported (logged and listed in
:attr:`FakeRegistry.failures`) and skipped, never fatal. ``PAYWIRE_SANDBOX_FAKES`` (a
comma-separated list of entry-point names; set but empty: none) limits which entry points load.
The loading itself is the one the core and the contract suite use (:mod:`paywire._loading`).
"""

from __future__ import annotations

import functools
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

#: Marks the hook specification of sandbox fake plugins (``paywire_sandbox_register_fakes``).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate a fake plugin's ``paywire_sandbox_register_fakes(register)`` with this.
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


def load_fakes(
    plugins: Iterable[object] = (),
    *,
    entry_points: bool = True,
    allow: Iterable[str] | None = None,
) -> FakeRegistry:
    """Collect fake classes from entry points (group ``paywire_sandbox``) and from ``plugins``.

    ``plugins`` are extra plugin objects (modules or instances with a hook implementation), useful
    for tests. ``allow`` limits entry points to the given names; when ``None`` the
    ``PAYWIRE_SANDBOX_FAKES`` environment variable does, if set. Loading is the core's
    (:mod:`paywire._loading`, shared with provider plugins and contract harnesses): each plugin
    is registered and validated on its own and its hook called alone through pluggy, so a broken
    plugin is skipped without affecting the others.
    """
    from paywire._loading import PluginLoader, allow_list

    loader = PluginLoader(PROJECT_NAME, ENTRY_POINT_GROUP, _HookSpecs)
    extra = [(_plugin_name(plugin), plugin) for plugin in plugins]
    # No entry points at all: an allow-list that admits none.
    allowed = allow_list(os.environ, ENV_ALLOW_LIST, allow) if entry_points else frozenset()
    candidates = loader.candidates(allowed=allowed, extra=extra)
    registry = FakeRegistry()
    for candidate in candidates:
        loaded = loader.register(candidate)
        if loaded is None:
            continue
        found: list[type[Fake]] = []
        problems: list[str] = []
        answered = loader.call(
            loaded,
            "paywire_sandbox_register_fakes",
            register=functools.partial(_accept, found=found, problems=problems),
        )
        if answered is None:
            continue
        if problems:
            loader.fail(candidate, "; ".join(problems))
            continue
        for fake_class in found:
            existing = registry.fakes.get(fake_class.name)
            if existing is not None and existing is not fake_class:
                loader.fail(
                    candidate,
                    f"fake name {fake_class.name!r} is already registered by "
                    f"{existing.__module__}.{existing.__qualname__}",
                )
                continue
            registry.fakes[fake_class.name] = fake_class
    for failure in loader.failures:
        logger.warning("sandbox fake plugin %r skipped: %s", failure.name, failure.reason)
        registry.failures.append(PluginFailure(name=failure.name, reason=failure.reason))
    return registry


def _accept(fake_class: type[Fake], found: list[type[Fake]], problems: list[str]) -> None:
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


def _plugin_name(plugin: object) -> str:
    if inspect.ismodule(plugin):
        return plugin.__name__
    return f"{type(plugin).__qualname__}@{id(plugin):x}"


def _valid_name(name: str) -> bool:
    return (
        bool(name)
        and name != "_sandbox"
        and all(c.isascii() and (c.islower() or c.isdigit() or c in "-_") for c in name)
        and not name.startswith("_")
    )
