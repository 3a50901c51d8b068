"""The ``paywire`` command: in-process through main() with in-code plugins, and as a subprocess."""

from __future__ import annotations

import importlib.metadata
import json
import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from paywire_fakes import ToyProvider, plugin

from paywire import Paywire, ProviderConfig
from paywire._cli import _ELSEWHERE, main


class _Exploding(ToyProvider):
    name = "exploding"

    def available(self) -> bool:
        raise RuntimeError("bug in plugin sk_" + "live_abcdefghijkl")  # built: scanners flag it


def _factory(*plugins: tuple[str, object], **environ: str) -> Callable[[], Paywire]:
    return lambda: Paywire(plugins=plugins, load_entry_points=False, environ=environ)


def _run(
    capsys: pytest.CaptureFixture[str], argv: list[str], **kwargs: Any
) -> tuple[int, str, str]:
    code = main(argv, **kwargs)
    out, err = capsys.readouterr()
    return code, out, err


def _subprocess(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    environ.pop("PAYWIRE_PLUGINS", None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "paywire", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_providers_lists_installed_and_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    make = _factory(
        ("toy-plugin", plugin(ToyProvider)),
        ("ancient", plugin(ToyProvider, api="<1")),
        PAYWIRE_TOY_API_KEY="sk_test_toykey123",
    )
    code, out, err = _run(capsys, ["providers"], make_paywire=make)
    assert code == 0
    assert err == ""
    assert out.splitlines() == [
        "Installed providers:",
        "  toy",
        "    available:    yes",
        "    plugin API:   >=1.0,<2; native on sync (async: worker thread)",
        "    capabilities: charge, checkout, detach, idempotency, partial_refund, "
        "payment_method_details, refund, setup, webhooks",
        "      setup: saving a card takes a 1.00 authorization",
        "Skipped plugins:",
        "  ancient: needs paywire API <1, this core offers 1.1",
    ]


def test_providers_json(capsys: pytest.CaptureFixture[str]) -> None:
    make = _factory(
        ("toy-plugin", plugin(ToyProvider)), ("ancient", plugin(ToyProvider, api=">=3"))
    )
    code, out, _ = _run(capsys, ["providers", "--json"], make_paywire=make)
    assert code == 0
    document = json.loads(out)
    assert document == {
        "providers": [
            {
                "name": "toy",
                "plugin": "toy-plugin",
                "distribution": None,
                "version": None,
                "available": False,  # no API key configured
                "problem": None,
                "api": ">=1.0,<2",
                "native_async": False,
                "capabilities": ToyProvider.capabilities.as_dict(),
            }
        ],
        "skipped": [
            {
                "name": "ancient",
                "distribution": None,
                "version": None,
                "reason": "needs paywire API >=3, this core offers 1.1",
            }
        ],
    }


def test_problems_are_reported_per_provider_without_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    make = _factory(
        ("toy", plugin(ToyProvider)),
        ("exploding", plugin(_Exploding)),
        PAYWIRE_TOY_MAX_ATTEMPTS="zero",
    )
    code, out, _ = _run(capsys, ["providers", "--json"], make_paywire=make)
    assert code == 0
    rows = {row["name"]: row for row in json.loads(out)["providers"]}
    assert rows["toy"]["available"] is False
    assert "PAYWIRE_TOY_MAX_ATTEMPTS must be a number" in rows["toy"]["problem"]
    assert rows["exploding"]["problem"] == "RuntimeError: bug in plugin [REDACTED]"
    code, out, _ = _run(capsys, ["providers"], make_paywire=make)
    assert "available:    no (PAYWIRE_TOY_MAX_ATTEMPTS must be a number" in out
    assert "sk_live" not in out


def test_no_plugins_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, ["providers"], make_paywire=_factory())
    assert code == 0
    assert out == (
        "No provider plugins are installed.\nInstall one, for example: pip install paywire-stripe\n"
    )
    code, out, _ = _run(capsys, ["providers", "--json"], make_paywire=_factory())
    assert json.loads(out) == {"providers": [], "skipped": []}


def test_only_skipped_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, ["providers"], make_paywire=_factory(("old", plugin(ToyProvider, api="==0.1")))
    )
    assert code == 0
    assert "No provider plugins are installed." in out
    assert "  old: needs paywire API ==0.1" in out


def test_the_commands_found_elsewhere() -> None:
    assert set(_ELSEWHERE) == {"sandbox", "certify", "demo"}
    assert _ELSEWHERE["sandbox"][0] == "paywire-sandbox"
    assert _ELSEWHERE["certify"][0] == "paywire-contract"


@pytest.mark.parametrize("command", sorted(_ELSEWHERE))
def test_missing_commands_say_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    dist = _ELSEWHERE[command][0]
    monkeypatch.setattr("paywire._cli.importlib.metadata.entry_points", lambda group: [])
    code, out, err = _run(capsys, [command, "serve", "--port", "1"])
    assert code == 2
    assert out == ""
    assert (
        err == f"paywire: 'paywire {command}' needs the {dist} distribution: pip install {dist}\n"
    )


class _EntryPoint:
    def __init__(self, name: str, load: Callable[[], Any]) -> None:
        self.name = name
        self.load = load


def test_subcommands_from_entry_points(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def configure(parser: Any) -> None:
        parser.add_argument("--port", type=int, default=0)
        parser.set_defaults(func=lambda args: 7 if args.port == 8 else 1)

    def broken() -> Any:
        raise ImportError("no module named paywire_contract")

    def half_configured(parser: Any) -> None:
        parser.add_argument("--fast", action="store_true")
        raise ValueError("demo needs a newer paywire")

    points = [
        _EntryPoint("sandbox", lambda: configure),
        _EntryPoint("certify", broken),
        _EntryPoint("demo", lambda: half_configured),
        _EntryPoint("sandbox", lambda: broken),  # a second distribution claiming the same name
        _EntryPoint("providers", lambda: configure),  # the core's own name cannot be taken
    ]
    monkeypatch.setattr("paywire._cli.importlib.metadata.entry_points", lambda group: points)
    assert main(["sandbox", "--port", "8"]) == 7
    code, _, err = _run(capsys, ["certify", "stripe"])
    assert code == 2
    assert (
        "the 'certify' command failed to load: ImportError: no module named paywire_contract" in err
    )
    code, _, err = _run(capsys, ["demo", "--fast"])
    assert code == 2
    assert (
        err
        == "paywire: the 'demo' command failed to load: ValueError: demo needs a newer paywire\n"
    )
    code, out, _ = _run(capsys, ["providers", "--json"], make_paywire=_factory())
    assert json.loads(out) == {"providers": [], "skipped": []}


def test_paywire_errors_become_exit_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def failing() -> Paywire:
        pw = Paywire(load_entry_points=False, settings={"toy": ProviderConfig()})
        pw.entry("missing")
        return pw

    code, _, err = _run(capsys, ["providers"], make_paywire=failing)
    assert code == 2
    assert err.startswith("paywire: no provider 'missing' is installed")


def test_keyboard_interrupt_is_130(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> Paywire:
        raise KeyboardInterrupt

    assert main(["providers"], make_paywire=interrupted) == 130


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, [])
    assert code == 2
    assert "usage: paywire" in out
    assert "providers" in out


def test_subprocess_with_no_plugin_loaded() -> None:
    # Provider plugins may be installed beside the core; an empty allow-list loads none of them.
    result = _subprocess("providers", PAYWIRE_PLUGINS="")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "No provider plugins are installed.\nInstall one, for example: pip install paywire-stripe\n"
    )
    result = _subprocess("providers", "--json", PAYWIRE_PLUGINS="nothing-by-this-name")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"providers": [], "skipped": []}


def test_subprocess_lists_what_is_installed() -> None:
    result = _subprocess("providers", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    installed = {ep.name for ep in importlib.metadata.entry_points(group="paywire")}
    listed = {row["plugin"] for row in document["providers"]}
    listed |= {row["name"] for row in document["skipped"]}
    assert listed == installed


def test_subprocess_unknown_command() -> None:
    result = _subprocess("nonsense")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_python_dash_m_runs_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["paywire", "providers", "--json"])
    monkeypatch.setenv("PAYWIRE_PLUGINS", "")
    monkeypatch.delitem(sys.modules, "paywire.__main__", raising=False)
    with pytest.raises(SystemExit) as caught:
        runpy.run_module("paywire", run_name="__main__")
    assert caught.value.code == 0
    assert json.loads(capsys.readouterr().out) == {"providers": [], "skipped": []}
