"""Finding an installed plugin's harness (entry-point group ``paywire_contract``)."""

from __future__ import annotations

import importlib.metadata

from paywire_contract._harness import Harness

__all__ = ["HARNESS_GROUP", "harness_names", "load_harness"]

#: Entry-point group: name = provider name, object = the Harness class (or an instance).
HARNESS_GROUP = "paywire_contract"


def harness_names() -> list[str]:
    """The provider names that have an installed harness."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=HARNESS_GROUP)})


def load_harness(name: str) -> Harness:
    """The harness installed for provider ``name``.

    Raises ``LookupError`` when none is installed, ``TypeError`` when the entry point is not a
    :class:`Harness`.
    """
    for ep in importlib.metadata.entry_points(group=HARNESS_GROUP):
        if ep.name != name:
            continue
        obj = ep.load()
        harness = obj() if isinstance(obj, type) and issubclass(obj, Harness) else obj
        if not isinstance(harness, Harness):
            raise TypeError(
                f"entry point {ep.value!r} ({HARNESS_GROUP}:{name}) is not a "
                "paywire_contract.Harness"
            )
        return harness
    installed = ", ".join(harness_names()) or "none"
    raise LookupError(
        f"no contract harness installed for {name!r} (installed: {installed}); a provider plugin "
        f"declares one in the {HARNESS_GROUP!r} entry-point group"
    )
