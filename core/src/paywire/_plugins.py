"""Finding, validating and holding provider plugins — no module-global state.

A plugin is an importable object (usually a module) named by an entry point in the ``paywire``
group. It declares ``PAYWIRE_API`` (the core API versions it was written for, e.g. ``">=1.1,<2"``)
and implements ``paywire_register_providers(register)``. A plugin that fails to import, declares an
incompatible API, has hooks that do not match the specification, or raises while registering is
recorded in :attr:`Paywire.skipped` with its reason; the others load normally. Loading is
:mod:`paywire._loading`'s, shared with the sandbox and the contract suite.
"""

from __future__ import annotations

import inspect
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from paywire._config import ProviderConfig, load_config
from paywire._errors import ConfigurationError
from paywire._hookspecs import PROJECT_NAME, PaywireHookspecs
from paywire._kernel import KernelProvider
from paywire._loading import Candidate, LoadedPlugin, PluginLoader, allow_list
from paywire._money import CurrencyRules
from paywire._provider import Capabilities, Provider

if TYPE_CHECKING:
    import httpx

__all__ = ["CORE_API_VERSION", "Paywire", "ProviderEntry", "SkippedPlugin", "api_compatible"]

#: The version of the plugin API this core offers (major, minor). 1.1 added, all optional: the
#: operation kernel (``paywire.plugin``), ``_async`` operations, ``parse_webhook`` (raw body and
#: headers), ``fetch_webhook_event``, ``complete_setup``, several webhook secrets, saved methods
#: passed to ``get``/``detach``.
CORE_API_VERSION = (1, 1)

#: Environment variable with a comma-separated allow-list of plugin (entry-point) names.
PLUGINS_ENV = "PAYWIRE_PLUGINS"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+)(?:\.(\d+))?\s*$")


def api_compatible(spec: str, version: tuple[int, int] = CORE_API_VERSION) -> bool:
    """Whether ``version`` satisfies ``spec``, a comma-separated list like ``">=1.0,<2"``."""
    clauses = [c for c in spec.split(",") if c.strip()]
    if not clauses:
        raise ValueError("empty version range")
    for clause in clauses:
        match = _CLAUSE.match(clause)
        if match is None:
            raise ValueError(f"cannot read version clause {clause.strip()!r}")
        op, major, minor = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        bound = (major, minor)
        ok = {
            ">=": version >= bound,
            "<=": version <= bound,
            ">": version > bound,
            "<": version < bound,
            "==": version == bound,
            "!=": version != bound,
        }[op]
        if not ok:
            return False
    return True


@attrs.frozen
class ProviderEntry:
    """An installed provider: its class, where it came from, and the API its plugin speaks.

    ``api`` is the plugin's ``PAYWIRE_API`` (``">=1.0,<2"``): a plugin written for 1.0 keeps
    loading; what it does not implement has the core's defaults.
    """

    name: str
    provider_class: type[Provider[Any]]
    plugin: str
    distribution: str | None = None
    version: str | None = None
    api: str | None = None

    @property
    def capabilities(self) -> Capabilities:
        """The provider's declared capabilities."""
        return self.provider_class.capabilities

    @property
    def native_async(self) -> bool:
        """Whether its ``_async`` operations are native (else they run its sync code in a worker
        thread)."""
        return bool(self.provider_class.native_async)


@attrs.frozen
class SkippedPlugin:
    """A plugin (or one provider of it) that was not loaded, and why."""

    name: str
    reason: str
    distribution: str | None = None
    version: str | None = None


def _constant(value: object) -> Callable[[], object]:
    return lambda: value


def _check_api(plugin: object) -> str | None:
    spec = getattr(plugin, "PAYWIRE_API", None)
    if not isinstance(spec, str):
        return "does not declare PAYWIRE_API (the core API versions it supports)"
    try:
        compatible = api_compatible(spec)
    except ValueError as exc:
        return f"unreadable PAYWIRE_API {spec!r}: {exc}"
    if not compatible:
        core = "{}.{}".format(*CORE_API_VERSION)
        return f"needs paywire API {spec}, this core offers {core}"
    return None


class Paywire:
    """The entry point of an application: installed providers, their settings, built providers.

    Args:
        settings: per provider, a :class:`ProviderConfig` or a mapping of setting overrides
            (environment variables ``PAYWIRE_<PROVIDER>_<SETTING>`` fill in the rest).
        environ: the environment to read (defaults to ``os.environ``).
        transport: an httpx transport every provider's HTTP goes through (record/replay, tests);
            sync, async, or one object serving both.
        plugins: extra plugin objects to register as if installed, as ``(name, plugin)`` pairs.
        load_entry_points: discover installed plugins (the ``paywire`` entry-point group).
        allow: only these plugin names load; defaults to ``$PAYWIRE_PLUGINS`` (comma-separated),
            and to every installed plugin when that is unset.
    """

    def __init__(
        self,
        *,
        settings: Mapping[str, ProviderConfig | Mapping[str, Any]] | None = None,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        plugins: Iterable[tuple[str, object]] = (),
        load_entry_points: bool = True,
        allow: Iterable[str] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._settings = dict(settings or {})
        self._transport = transport
        self._built: dict[str, Provider[Any]] = {}
        self._lock = threading.Lock()
        self.providers: dict[str, ProviderEntry] = {}
        self.skipped: list[SkippedPlugin] = []
        loader = PluginLoader(PROJECT_NAME, PROJECT_NAME, PaywireHookspecs, check=_check_api)
        allowed = allow_list(self._environ, PLUGINS_ENV, allow)
        extra = list(plugins)
        candidates = (
            loader.candidates(allowed=allowed, extra=extra)
            if load_entry_points
            else [Candidate(name, _constant(plugin)) for name, plugin in extra]
        )
        for candidate in candidates:
            loaded = loader.register(candidate)
            if loaded is not None:
                self._register_providers(loader, loaded)
        self.skipped = [
            SkippedPlugin(f.name, f.reason, f.distribution, f.version) for f in loader.failures
        ]
        self._pm = loader.manager

    def __repr__(self) -> str:
        return f"<Paywire providers={sorted(self.providers)} skipped={len(self.skipped)}>"

    # -- loading ----------------------------------------------------------------------------

    def _register_providers(self, loader: PluginLoader, loaded: LoadedPlugin) -> None:
        offered: list[type[Provider[Any]]] = []
        if loader.call(loaded, "paywire_register_providers", register=offered.append) is None:
            return
        candidate = loaded.candidate
        api = getattr(loaded.plugin, "PAYWIRE_API", None)
        for provider_class in offered:
            problem = self._check_provider(provider_class)
            if problem:
                loader.fail(candidate, problem)
                continue
            self.providers[provider_class.name] = ProviderEntry(
                name=provider_class.name,
                provider_class=provider_class,
                plugin=candidate.name,
                distribution=candidate.distribution,
                version=candidate.version,
                api=api if isinstance(api, str) else None,
            )

    def _check_provider(self, cls: object) -> str | None:
        if not (inspect.isclass(cls) and issubclass(cls, Provider)):
            return f"registered {cls!r}, which is not a paywire Provider class"
        label = cls.__qualname__
        if inspect.isabstract(cls):
            missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
            return f"provider {label} does not implement: {missing}"
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            return f"provider {label} has no valid name (lower-case letters, digits, _)"
        if not isinstance(getattr(cls, "capabilities", None), Capabilities):
            return f"provider {name} does not declare its capabilities"
        config_class = getattr(cls, "config_class", None)
        if not (inspect.isclass(config_class) and issubclass(config_class, ProviderConfig)):
            return f"provider {name} has no config_class derived from ProviderConfig"
        # Provider.create and money conversion read these; checked now rather than at first use.
        if not isinstance(getattr(cls, "currency_rules", None), CurrencyRules):
            return f"provider {name} does not declare its currency_rules"
        if not isinstance(getattr(cls, "default_base_url", None), str):
            return f"provider {name} does not declare its default_base_url"
        if getattr(cls, "webhook_authentication", "signature") not in ("signature", "fetch"):
            return f"provider {name} declares an unknown webhook_authentication"
        if issubclass(cls, KernelProvider) and (missing_ops := cls.missing_operations()):
            return (
                f"provider {name} declares capabilities whose operations it does not implement: "
                + ", ".join(missing_ops)
            )
        if name in self.providers:
            first = self.providers[name].plugin
            return f"provider {name!r} is already registered by plugin {first!r}"
        return None
    # -- use --------------------------------------------------------------------------------

    def entry(self, name: str) -> ProviderEntry:
        """The installed provider called ``name``; :class:`ConfigurationError` if there is none."""
        try:
            return self.providers[name]
        except KeyError:
            installed = ", ".join(sorted(self.providers)) or "none"
            skipped = [s for s in self.skipped if s.name == name]
            why = f" (plugin skipped: {skipped[0].reason})" if skipped else ""
            raise ConfigurationError(
                f"no provider {name!r} is installed{why}; installed: {installed}"
            ) from None

    def config(self, name: str) -> ProviderConfig:
        """The settings for provider ``name``: code first, then ``PAYWIRE_<NAME>_*`` variables."""
        entry = self.entry(name)
        given = self._settings.get(name)
        if isinstance(given, ProviderConfig):
            config_class = entry.provider_class.config_class
            if not isinstance(given, config_class):
                raise ConfigurationError(
                    f"settings for {name} must be a {config_class.__name__}, "
                    f"got {type(given).__name__}"
                )
            return given
        return load_config(
            entry.provider_class.config_class, name, environ=self._environ, **(given or {})
        )

    def provider(self, name: str) -> Provider[Any]:
        """The provider called ``name``, built once with its settings and the core's HTTP client."""
        with self._lock:
            built = self._built.get(name)
            if built is None:
                entry = self.entry(name)
                built = entry.provider_class.create(self.config(name), transport=self._transport)
                self._built[name] = built
            return built

    def close(self) -> None:
        """Close every built provider's connections."""
        with self._lock:
            for provider in self._built.values():
                provider.close()
            self._built.clear()

    def __enter__(self) -> Paywire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
