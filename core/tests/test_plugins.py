"""Paywire: finding, validating and holding provider plugins; broken ones are skipped, not fatal."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import httpx
import pluggy
import pytest
from paywire_fakes import ToyConfig, ToyProvider, plugin, toy_api

import paywire._plugins
from paywire import (
    CORE_API_VERSION,
    Capabilities,
    ConfigurationError,
    Paywire,
    Provider,
    ProviderConfig,
    ProviderEntry,
    Secret,
    SkippedPlugin,
)
from paywire._plugins import api_compatible
from paywire.plugin import (
    hookimpl,
)

TOY_ENV = {"PAYWIRE_TOY_API_KEY": "sk_test_toykey123"}


def _paywire(*plugins: tuple[str, object], **kwargs: Any) -> Paywire:
    kwargs.setdefault("environ", {})
    return Paywire(plugins=plugins, load_entry_points=False, **kwargs)


def _reasons(pw: Paywire) -> dict[str, str]:
    return {s.name: s.reason for s in pw.skipped}


def _variant(**attributes: Any) -> type[Provider[Any]]:
    """ToyProvider with some class attributes replaced (or removed, with ``None``)."""
    namespace = {k: v for k, v in attributes.items() if v is not None}
    cls = type("Variant", (ToyProvider,), namespace)
    for key, value in attributes.items():
        if value is None:
            setattr(cls, key, None)
    return cls


# -- in-code plugins and validation -------------------------------------------------------------


def test_a_valid_plugin_registers_its_providers() -> None:
    with _paywire(("toy-plugin", plugin(ToyProvider))) as pw:
        assert pw.skipped == []
        entry = pw.providers["toy"]
        assert entry == ProviderEntry(
            name="toy", provider_class=ToyProvider, plugin="toy-plugin", api=">=1.0,<2"
        )
        assert entry.native_async is False  # an API 1.0 plugin: its coroutines use a thread
        assert entry.capabilities is ToyProvider.capabilities
        assert repr(pw) == "<Paywire providers=['toy'] skipped=0>"


@pytest.mark.parametrize(
    ("api", "reason"),
    [
        (None, "does not declare PAYWIRE_API"),
        (">=2.0", "needs paywire API >=2.0, this core offers 1.1"),
        ("<1", "needs paywire API <1"),
        ("~=1.0", "unreadable PAYWIRE_API '~=1.0'"),
        (" , ", "unreadable PAYWIRE_API"),
    ],
)
def test_incompatible_or_undeclared_api_is_skipped(api: str | None, reason: str) -> None:
    broken = plugin(ToyProvider)
    if api is None:
        del broken.PAYWIRE_API
    else:
        broken.PAYWIRE_API = api
    with _paywire(("old", broken), ("good", plugin(_variant(name="good")))) as pw:
        assert reason in _reasons(pw)["old"]
        assert list(pw.providers) == ["good"]


def test_hook_with_arguments_the_spec_lacks_is_skipped() -> None:
    @hookimpl
    def paywire_register_providers(register: Any, extra: Any) -> None:
        raise AssertionError("never called")

    bad = SimpleNamespace(
        PAYWIRE_API=">=1.0", paywire_register_providers=paywire_register_providers
    )
    with _paywire(("bad", bad), ("toy", plugin(ToyProvider))) as pw:
        reason = _reasons(pw)["bad"]
        assert reason.startswith("invalid hook implementation")
        assert "extra" in reason
        assert list(pw.providers) == ["toy"]


def test_unknown_hooks_are_skipped_and_unregistered() -> None:
    good = plugin(ToyProvider)

    @hookimpl
    def paywire_register_webhooks(register: Any) -> None:
        raise AssertionError("never called")

    good.paywire_register_webhooks = paywire_register_webhooks
    with _paywire(("typo", good)) as pw:
        assert _reasons(pw) == {"typo": "implements unknown hook(s): paywire_register_webhooks"}
        assert pw.providers == {}
        assert not pw._pm.has_plugin("typo")


def test_plugin_without_the_hook_is_skipped() -> None:
    empty = SimpleNamespace(PAYWIRE_API=">=1.0", paywire_register_providers=lambda register: None)
    with _paywire(("unmarked", empty)) as pw:
        assert _reasons(pw) == {"unmarked": "does not implement paywire_register_providers"}


def test_plugin_that_raises_while_registering_is_skipped_with_nothing_registered() -> None:
    @hookimpl
    def paywire_register_providers(register: Callable[[Any], None]) -> None:
        register(ToyProvider)
        raise RuntimeError("half-way")

    flaky = SimpleNamespace(
        PAYWIRE_API=">=1.0", paywire_register_providers=paywire_register_providers
    )
    with _paywire(("flaky", flaky)) as pw:
        assert _reasons(pw) == {"flaky": "failed while registering: RuntimeError: half-way"}
        assert pw.providers == {}


@pytest.mark.parametrize(
    ("offered", "reason"),
    [
        (lambda: object, "is not a paywire Provider class"),
        (lambda: ToyConfig, "is not a paywire Provider class"),
        (lambda: "toy", "is not a paywire Provider class"),
        (lambda: Provider, "does not implement: available, charge_payment_method"),
        (lambda: _variant(name="Bad Name"), "has no valid name"),
        (lambda: _variant(name=None), "has no valid name"),
        (lambda: _variant(capabilities={"checkout"}), "does not declare its capabilities"),
        (lambda: _variant(config_class=dict), "no config_class derived from ProviderConfig"),
        (lambda: _variant(config_class=None), "no config_class derived from ProviderConfig"),
        (lambda: _variant(currency_rules=None), "does not declare its currency_rules"),
        (lambda: _variant(default_base_url=None), "does not declare its default_base_url"),
    ],
)
def test_invalid_provider_classes_are_skipped(offered: Callable[[], Any], reason: str) -> None:
    with _paywire(("mixed", plugin(offered(), _variant(name="fine")))) as pw:
        assert reason in _reasons(pw)["mixed"]
        assert list(pw.providers) == ["fine"]


def test_the_first_plugin_keeps_a_provider_name() -> None:
    with _paywire(("first", plugin(ToyProvider)), ("second", plugin(_variant()))) as pw:
        assert pw.providers["toy"].plugin == "first"
        assert _reasons(pw) == {"second": "provider 'toy' is already registered by plugin 'first'"}


def test_a_plugin_name_loads_once() -> None:
    with _paywire(("same", plugin(ToyProvider)), ("same", plugin(_variant(name="other")))) as pw:
        assert list(pw.providers) == ["toy"]
        assert _reasons(pw) == {"same": "a plugin with this name is already loaded"}


def test_no_module_global_plugin_manager() -> None:
    assert not any(isinstance(v, pluggy.PluginManager) for v in vars(paywire._plugins).values())
    with _paywire(("toy", plugin(ToyProvider))) as first, _paywire() as second:
        assert first._pm is not second._pm
        assert "toy" in first.providers
        assert second.providers == {}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (">=1.0,<2", True),  # what every plugin written for 1.0 declares: still loads
        (">=1.1,<2", True),
        (">=1", True),
        ("==1.1", True),
        ("<=1.1", True),
        (">0.9", True),
        ("!=1.0", True),
        ("<2.0", True),
        (" >= 1.0 , < 2 ", True),
        (">=1.2", False),
        ("<1.1", False),
        ("==1.0", False),
        ("!=1.1", False),
        (">1.1", False),
        ("==2", False),
    ],
)
def test_api_version_ranges(spec: str, expected: bool) -> None:
    assert CORE_API_VERSION == (1, 1)
    assert api_compatible(spec) is expected


@pytest.mark.parametrize("spec", ["", "1.0", "~=1.0", ">=1.0.0", ">=a", ">=1,,<", "=>1"])
def test_unreadable_api_version_ranges(spec: str) -> None:
    if spec == ">=1,,<":
        with pytest.raises(ValueError, match="'<'"):
            api_compatible(spec)
        return
    with pytest.raises(ValueError, match="version"):
        api_compatible(spec)


# -- using providers ---------------------------------------------------------------------------


def test_provider_is_built_once_with_settings_and_transport() -> None:
    requests: list[httpx.Request] = []
    transport = httpx.MockTransport(toy_api(requests))
    with _paywire(("toy", plugin(ToyProvider)), environ=TOY_ENV, transport=transport) as pw:
        provider = pw.provider("toy")
        assert isinstance(provider, ToyProvider)
        assert pw.provider("toy") is provider
        assert provider.available()
        assert provider.config.api_key == Secret("sk_test_toykey123")
        assert provider.get_payment_method_details("pm_1").last4 == "4242"
        assert len(requests) == 1
    assert provider.http.client.is_closed


def test_provider_is_built_once_across_threads() -> None:
    with _paywire(("toy", plugin(ToyProvider)), environ=TOY_ENV) as pw:
        with ThreadPoolExecutor(max_workers=8) as pool:
            built = list(pool.map(lambda _: pw.provider("toy"), range(32)))
        assert all(p is built[0] for p in built)


def test_settings_from_code() -> None:
    settings: dict[str, Any] = {"toy": {"api_key": "sk_test_fromcode1", "timeout": 3.0}}
    with _paywire(("toy", plugin(ToyProvider)), settings=settings, environ=TOY_ENV) as pw:
        config = pw.config("toy")
        assert isinstance(config, ToyConfig)
        assert config.api_key == Secret("sk_test_fromcode1")
        assert config.timeout == 3.0
    given = ToyConfig(api_key=Secret("sk_test_object1"))
    with _paywire(("toy", plugin(ToyProvider)), settings={"toy": given}) as pw:
        assert pw.config("toy") is given


def test_settings_of_the_wrong_class_are_refused() -> None:
    wrong_class = {"toy": ProviderConfig()}
    with (
        _paywire(("toy", plugin(ToyProvider)), settings=wrong_class) as pw,
        pytest.raises(ConfigurationError, match="must be a ToyConfig"),
    ):
        pw.config("toy")
    with (
        _paywire(("toy", plugin(ToyProvider)), settings={"toy": {"nope": 1}}) as pw,
        pytest.raises(ConfigurationError, match="unknown toy setting"),
    ):
        pw.provider("toy")


def test_unknown_provider_names_the_installed_and_the_skip_reason() -> None:
    broken = plugin(_variant(name="broken"), api=">=9")
    with _paywire(("toy", plugin(ToyProvider)), ("broken", broken)) as pw:
        with pytest.raises(ConfigurationError, match="installed: toy"):
            pw.entry("stripe")
        with pytest.raises(ConfigurationError, match=r"plugin skipped: needs paywire API >=9"):
            pw.provider("broken")
    with _paywire() as empty, pytest.raises(ConfigurationError, match="installed: none"):
        empty.config("toy")


def test_close_is_idempotent_and_rebuilds_on_next_use() -> None:
    pw = _paywire(("toy", plugin(ToyProvider)))
    first = pw.provider("toy")
    pw.close()
    pw.close()
    assert first.http.client.is_closed
    second = pw.provider("toy")
    assert second is not first
    pw.close()


# -- entry points ------------------------------------------------------------------------------


def _install(
    site: Path, dist: str, version: str, modules: dict[str, str], eps: dict[str, str]
) -> None:
    """An installed distribution, as pip leaves it: a .dist-info folder and its modules."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {target}\n" for name, target in eps.items())
    (info / "entry_points.txt").write_text(f"[paywire]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


PLUGIN_SOURCE = """
    from paywire.plugin import hookimpl
    from paywire_fakes import ToyProvider

    PAYWIRE_API = ">=1.0,<2"

    class {cls}(ToyProvider):
        name = "{name}"

    @hookimpl
    def paywire_register_providers(register):
        register({cls})
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.fixture
def installed(site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Three installed plugins: two good ones and one that fails to import."""
    _install(
        site,
        "paywire-alpha",
        "1.2.3",
        {"pw_test_alpha": PLUGIN_SOURCE.format(cls="Alpha", name="alpha")},
        {"alpha": "pw_test_alpha"},
    )
    _install(
        site,
        "paywire-beta",
        "0.4.0",
        {"pw_test_beta": PLUGIN_SOURCE.format(cls="Beta", name="beta")},
        {"beta": "pw_test_beta"},
    )
    _install(
        site,
        "paywire-broken",
        "9.9",
        {
            "pw_test_broken": "import paywire_no_such_module\n",
            "pw_test_exits": "raise SystemExit(3)\n",
        },
        {"broken": "pw_test_broken", "exits": "pw_test_exits"},
    )
    for module in ("pw_test_alpha", "pw_test_beta", "pw_test_broken", "pw_test_exits"):
        monkeypatch.delitem(__import__("sys").modules, module, raising=False)
    return site


def test_entry_points_are_discovered_with_their_distribution(installed: Path) -> None:
    with Paywire(environ={}) as pw:
        alpha = pw.providers["alpha"]
        assert (alpha.plugin, alpha.distribution, alpha.version) == (
            "alpha",
            "paywire-alpha",
            "1.2.3",
        )
        assert pw.providers["beta"].version == "0.4.0"
        skipped = {s.name: s for s in pw.skipped}
        assert skipped["broken"] == SkippedPlugin(
            "broken",
            "failed to import: ModuleNotFoundError: No module named 'paywire_no_such_module'",
            "paywire-broken",
            "9.9",
        )
        assert skipped["exits"].reason == "failed to import: SystemExit: 3"


@pytest.mark.parametrize(
    ("allow", "loaded"),
    [
        ("alpha", {"alpha"}),
        (" beta , alpha ,", {"alpha", "beta"}),
        ("", set()),
        ("gamma", set()),
    ],
)
def test_allow_list_from_the_environment(installed: Path, allow: str, loaded: set[str]) -> None:
    with Paywire(environ={"PAYWIRE_PLUGINS": allow}) as pw:
        assert set(pw.providers) == loaded
        assert pw.skipped == []  # plugins that are not allowed are not even imported


def test_allow_argument_wins_over_the_environment(installed: Path) -> None:
    with Paywire(environ={"PAYWIRE_PLUGINS": "alpha"}, allow=["beta"]) as pw:
        assert set(pw.providers) == {"beta"}


def test_allow_list_from_os_environ(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYWIRE_PLUGINS", "beta")
    with Paywire() as pw:
        assert set(pw.providers) == {"beta"}


def test_entry_points_can_be_turned_off(installed: Path) -> None:
    with Paywire(environ={}, load_entry_points=False) as pw:
        assert pw.providers == {}
        assert pw.skipped == []


def test_capabilities_entry_is_frozen() -> None:
    entry = ProviderEntry("toy", ToyProvider, "toy")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        entry.name = "x"  # type: ignore[misc]
    assert isinstance(entry.capabilities, Capabilities)


def test_skip_reasons_never_show_credentials() -> None:
    @hookimpl
    def paywire_register_providers(register: Callable[[Any], None]) -> None:
        raise ValueError("PAYWIRE_LEAKY_API_KEY=sk_" + "live_abcdefghijklmnop is not valid")

    leaky = SimpleNamespace(
        PAYWIRE_API=">=1.0", paywire_register_providers=paywire_register_providers
    )
    with _paywire(("leaky", leaky)) as pw:
        (skipped,) = pw.skipped
        assert "sk_" + "live_abcdefghijklmnop" not in skipped.reason + repr(skipped)
        assert "[REDACTED]" in skipped.reason
