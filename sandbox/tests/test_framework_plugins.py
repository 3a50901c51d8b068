"""Finding fakes: entry points and plugin objects, with broken plugins reported and skipped."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from paywire_sandbox import (
    Fake,
    PluginFailure,
    SandboxContext,
    WebhookEndpoint,
    build_app,
    hookimpl,
    load_fakes,
    run_sandbox,
)
from paywire_sandbox._plugins import ENTRY_POINT_GROUP


class TinyFake(Fake):
    name: ClassVar[str] = "tiny"

    def routes(self) -> Sequence[BaseRoute]:
        async def ping(request: Request) -> Response:
            return PlainTextResponse("pong")

        return [Route("/ping", ping)]

    def reset(self) -> None:
        return None

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {}


class OtherTinyFake(TinyFake):
    pass  # same name as TinyFake


class Registers:
    """A plugin object whose hook registers the given things."""

    def __init__(self, *things: object) -> None:
        self.things = things

    @hookimpl
    def paywire_sandbox_register_fakes(self, register: Callable[[object], None]) -> None:
        for thing in self.things:
            register(thing)


class Raises:
    @hookimpl
    def paywire_sandbox_register_fakes(self, register: Callable[[object], None]) -> None:
        raise RuntimeError("cannot register")


class WrongArguments:
    @hookimpl
    def paywire_sandbox_register_fakes(self, register: object, extra: object) -> None:
        raise AssertionError("never called")


class Misspelt:
    @hookimpl
    def paywire_sandbox_register_fake(self, register: object) -> None:
        raise AssertionError("never called")


def reasons(failures: Sequence[PluginFailure]) -> str:
    return " | ".join(f"{f.name}: {f.reason}" for f in failures)


def test_a_plugin_object_registers_its_fake() -> None:
    registry = load_fakes([Registers(TinyFake)], entry_points=False)
    assert registry.fakes == {"tiny": TinyFake}
    assert registry.failures == []


@pytest.mark.parametrize(
    ("plugin", "fragment"),
    [
        (Raises(), "failed while registering: RuntimeError: cannot register"),
        (WrongArguments(), "invalid hook implementation"),
        (Misspelt(), "implements unknown hook(s): paywire_sandbox_register_fake"),
        (Registers(object), "not a Fake subclass"),
        (Registers(Fake), "abstract"),
        (Registers(type("Bad", (TinyFake,), {"name": "Bad Name"})), "lowercase slug"),
        (Registers(type("Res", (TinyFake,), {"name": "_sandbox"})), "lowercase slug"),
        (object(), "does not implement paywire_sandbox_register_fakes"),
    ],
)
def test_a_broken_plugin_is_reported_and_skipped(plugin: object, fragment: str) -> None:
    registry = load_fakes([plugin, Registers(TinyFake)], entry_points=False)
    assert registry.fakes == {"tiny": TinyFake}  # the good plugin still loads
    [failure] = registry.failures
    assert fragment in failure.reason


def test_a_fake_name_registered_twice_keeps_the_first() -> None:
    registry = load_fakes([Registers(TinyFake), Registers(OtherTinyFake)], entry_points=False)
    assert registry.fakes == {"tiny": TinyFake}
    assert "already registered" in reasons(registry.failures)


def test_a_broken_registration_skips_its_whole_plugin() -> None:
    registry = load_fakes([Registers(TinyFake, object)], entry_points=False)
    assert registry.fakes == {}
    assert "not a Fake subclass" in reasons(registry.failures)


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed-looking distribution with three ``paywire_sandbox`` entry points."""
    (tmp_path / "tiny_sandbox_plugin.py").write_text(
        textwrap.dedent(
            """
            from starlette.responses import PlainTextResponse
            from starlette.routing import Route

            from paywire_sandbox import Fake, hookimpl


            async def ping(request):
                return PlainTextResponse("pong from a third party")


            class ThirdPartyFake(Fake):
                name = "thirdparty"

                def routes(self):
                    return [Route("/ping", ping)]

                def reset(self):
                    pass

                def sign_webhook(self, body, endpoint, timestamp):
                    return {}


            @hookimpl
            def paywire_sandbox_register_fakes(register):
                register(ThirdPartyFake)
            """
        )
    )
    (tmp_path / "broken_sandbox_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    dist = tmp_path / "tiny_sandbox_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tiny-sandbox-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "thirdparty = tiny_sandbox_plugin\n"
        "broken = broken_sandbox_plugin\n"
        "missing = no_such_module_for_paywire_sandbox\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("tiny_sandbox_plugin", "broken_sandbox_plugin"):
        sys.modules.pop(name, None)


def test_entry_points_load_and_broken_ones_are_reported(plugin_dir: Path) -> None:
    registry = load_fakes(allow=["thirdparty", "broken", "missing"])
    assert list(registry.fakes) == ["thirdparty"]
    failures = {f.name: f.reason for f in registry.failures}
    assert failures["broken"] == "failed to import: RuntimeError: boom at import"
    assert failures["missing"].startswith("failed to import: ModuleNotFoundError")


def test_the_allow_list_environment_variable_limits_entry_points(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYWIRE_SANDBOX_FAKES", " thirdparty ")
    registry = load_fakes()
    assert list(registry.fakes) == ["thirdparty"]
    assert registry.failures == []


def test_a_served_sandbox_reports_the_broken_plugins(
    plugin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYWIRE_SANDBOX_FAKES", "thirdparty,broken")
    with run_sandbox() as sb:
        info = sb.info()
        assert info["fakes"] == ["thirdparty"]
        assert info["failures"] == [
            {"name": "broken", "reason": "failed to import: RuntimeError: boom at import"}
        ]
        assert httpx.get(f"{sb.url}/thirdparty/ping").text == "pong from a third party"


def test_the_installed_fakes_load_or_are_reported() -> None:
    registry = load_fakes()
    for name, fake_class in registry.fakes.items():
        assert fake_class.name == name
    assert set(registry.fakes).isdisjoint(f.name for f in registry.failures)


def test_build_app_takes_classes_and_names(plugin_dir: Path) -> None:
    app = build_app([TinyFake, "thirdparty", "nonexistent"])
    assert sorted(app.sandbox.fakes) == ["thirdparty", "tiny"]
    assert [(f.name, f.reason) for f in app.sandbox.failures] == [
        ("nonexistent", "no fake registered under this name")
    ]


def test_build_app_rejects_what_is_not_a_fake() -> None:
    with pytest.raises(TypeError, match="Fake subclasses or registered names"):
        build_app([object])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="two fakes are named 'tiny'"):
        build_app([TinyFake, OtherTinyFake])


class ExplodingFake(TinyFake):
    name: ClassVar[str] = "exploding"

    def __init__(self, ctx: SandboxContext) -> None:
        raise RuntimeError("no config")


class NoRoutesFake(TinyFake):
    name: ClassVar[str] = "noroutes"

    def routes(self) -> Sequence[BaseRoute]:
        raise RuntimeError("routes broke")


def test_a_fake_that_fails_to_build_is_skipped() -> None:
    app = build_app([ExplodingFake, NoRoutesFake, TinyFake])
    assert list(app.sandbox.fakes) == ["tiny"]
    assert [(f.name, f.reason) for f in app.sandbox.failures] == [
        ("exploding", "construction failed: RuntimeError: no config"),
        ("noroutes", "listing its routes failed: RuntimeError: routes broke"),
    ]
