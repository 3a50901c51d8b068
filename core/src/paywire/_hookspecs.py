"""The hooks a paywire plugin implements. There is one: register provider classes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from paywire._provider import Provider

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

#: pluggy project name and entry-point group.
PROJECT_NAME = "paywire"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate a plugin's ``paywire_register_providers`` with this.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class PaywireHookspecs:
    """Hook specifications (pluggy)."""

    @hookspec
    def paywire_register_providers(self, register: Callable[[type[Provider[Any]]], None]) -> None:
        """Call ``register(ProviderClass)`` for each provider the plugin offers."""
