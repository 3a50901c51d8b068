"""A real plugin distribution, pip-installed into a throw-away virtualenv, found by entry point.

A second distribution that raises on import is reported with its reason and skipped, and the
first still loads — in ``Paywire`` and in ``paywire providers``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import site
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

PROVIDER_MODULE = '''
"""A provider plugin, as a third party would write it."""

from typing import Any

import attrs

from paywire import (
    Capabilities, Capability, CurrencyRules, Provider, ProviderConfig, Secret, hookimpl,
)
from paywire._config import secret_field

PAYWIRE_API = ">=1.0,<2"


@attrs.frozen
class AcmeConfig(ProviderConfig):
    api_key: Secret | None = secret_field()


class AcmePay(Provider[AcmeConfig]):
    name = "acmepay"
    capabilities = Capabilities(
        supported={Capability.CHECKOUT, Capability.REFUND},
        notes={Capability.REFUND: "full refunds only"},
    )
    config_class = AcmeConfig
    currency_rules = CurrencyRules(name="acmepay")
    default_base_url = "https://api.acmepay.invalid/"

    def available(self) -> bool:
        return self.config.enabled and bool(self.config.api_key)

    def _unsupported(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    create_checkout_session = create_setup_session = charge_payment_method = _unsupported
    create_refund = get_payment_method_details = detach_payment_method = _unsupported
    verify_webhook_signature = handle_webhook_event = _unsupported


@hookimpl
def paywire_register_providers(register):
    register(AcmePay)
'''

BROKEN_MODULE = """
raise RuntimeError("acme-broken cannot start: missing native library")
"""


def _pyproject(dist: str, module: str, entry_point: str, backend: str) -> str:
    if backend == "hatchling":
        build = (
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
            f'[tool.hatch.build.targets.wheel]\npackages = ["src/{module}"]\n'
        )
    else:
        build = (
            '[build-system]\nrequires = ["setuptools>=61", "wheel"]\n'
            'build-backend = "setuptools.build_meta"\n'
        )
    return build + textwrap.dedent(f"""
        [project]
        name = "{dist}"
        version = "2.3.4"
        requires-python = ">=3.11"
        dependencies = ["paywire"]

        [project.entry-points.paywire]
        {entry_point} = "{module}"
    """)


def _write_distribution(root: Path, dist: str, module: str, source: str, backend: str) -> Path:
    folder = root / dist
    package = folder / "src" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(source))
    (folder / "pyproject.toml").write_text(_pyproject(dist, module, module, backend))
    return folder


def _backend() -> tuple[str, list[str]]:
    """The build backend to use, and pip's options: offline when the backend is at hand."""
    if importlib.util.find_spec("hatchling") is not None:
        return "hatchling", ["--no-build-isolation", "--no-index"]
    if importlib.util.find_spec("setuptools") and importlib.util.find_spec("wheel"):
        return "setuptools", ["--no-build-isolation", "--no-index"]
    return "hatchling", []  # pip fetches hatchling into an isolated build environment


class Venv:
    """A virtualenv that sees the current environment's packages (paywire, pluggy, pip …)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Borrow the running environment's pip when it has one (fast); an environment made by uv
        # has none, and then the new virtualenv gets its own from the standard library's ensurepip.
        borrow_pip = importlib.util.find_spec("pip") is not None
        subprocess.run(
            [
                sys.executable,
                "-m",
                "venv",
                *(["--without-pip"] if borrow_pip else []),
                "--system-site-packages",
                str(path),
            ],
            check=True,
            timeout=120,
        )
        self.python = path / "bin" / "python"
        self.paywire = path / "bin" / "paywire"
        # --system-site-packages reaches the base interpreter's packages, not those of the
        # virtualenv running the tests: a .pth line makes the latter visible, editable installs too.
        purelib = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        parents = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
        lines = "".join(f"import site; site.addsitedir({p!r})\n" for p in dict.fromkeys(parents))
        (Path(purelib) / "_paywire_test_parent.pth").write_text(lines)
        # The entry-point script, as pip would write it for the core.
        self.paywire.write_text(
            f"#!{self.python}\nimport sys\nfrom paywire._cli import main\nsys.exit(main())\n"
        )
        self.paywire.chmod(0o755)

    def env(self) -> dict[str, str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PAYWIRE_")}
        environ["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        environ["PYTHONNOUSERSITE"] = "1"
        return environ

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def pip_install(self, folder: Path, options: list[str]) -> None:
        self.run(self.python, "-m", "pip", "install", "--no-deps", "--quiet", *options, folder)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    root = tmp_path_factory.mktemp("plugin-dist")
    backend, options = _backend()
    env = Venv(root / "venv")
    good = _write_distribution(root, "paywire-acmepay", "paywire_acmepay", PROVIDER_MODULE, backend)
    broken = _write_distribution(root, "acme-broken", "acme_broken", BROKEN_MODULE, backend)
    env.pip_install(good, options)
    env.pip_install(broken, options)
    return env


@pytest.mark.slow
def test_installed_plugin_is_discovered_through_its_entry_point(venv: Venv) -> None:
    script = textwrap.dedent("""
        import json
        from paywire import Paywire
        with Paywire(environ={"PAYWIRE_ACMEPAY_API_KEY": "sk_test_acme12345"}) as pw:
            entry = pw.providers["acmepay"]
            print(json.dumps({
                "providers": sorted(pw.providers),
                "origin": [entry.plugin, entry.distribution, entry.version],
                "class": entry.provider_class.__module__,
                "available": pw.provider("acmepay").available(),
                "skipped": [[s.name, s.distribution, s.version, s.reason] for s in pw.skipped],
            }))
    """)
    result = json.loads(venv.run(venv.python, "-c", script).stdout)
    assert "acmepay" in result["providers"]
    assert result["origin"] == ["paywire_acmepay", "paywire-acmepay", "2.3.4"]
    assert result["class"] == "paywire_acmepay"
    assert result["available"] is True
    assert [
        "acme_broken",
        "acme-broken",
        "2.3.4",
        "failed to import: RuntimeError: acme-broken cannot start: missing native library",
    ] in result["skipped"]


@pytest.mark.slow
def test_paywire_providers_lists_the_plugin_and_the_skipped_one(venv: Venv) -> None:
    document = json.loads(venv.run(venv.paywire, "providers", "--json").stdout)
    rows = {row["name"]: row for row in document["providers"]}
    assert rows["acmepay"]["distribution"] == "paywire-acmepay"
    assert rows["acmepay"]["version"] == "2.3.4"
    assert rows["acmepay"]["available"] is False  # no API key in this environment
    assert rows["acmepay"]["capabilities"] == {
        "supported": ["checkout", "refund"],
        "notes": {"refund": "full refunds only"},
    }
    skipped = {row["name"]: row for row in document["skipped"]}
    assert skipped["acme_broken"]["reason"].startswith("failed to import: RuntimeError")

    text = venv.run(venv.paywire, "providers").stdout
    assert "  acmepay  [paywire-acmepay 2.3.4]\n    available:    no\n" in text
    assert "    capabilities: checkout, refund\n      refund: full refunds only\n" in text
    assert (
        "  acme_broken [acme-broken 2.3.4]: failed to import: RuntimeError: "
        "acme-broken cannot start: missing native library\n"
    ) in text


@pytest.mark.slow
def test_allow_list_limits_the_installed_plugins(venv: Venv) -> None:
    environ = {"PAYWIRE_PLUGINS": "paywire_acmepay"}
    script = (
        "import json, os; from paywire import Paywire\n"
        f"pw = Paywire(environ={environ!r})\n"
        "print(json.dumps([sorted(pw.providers), [s.name for s in pw.skipped]]))\n"
    )
    providers, skipped = json.loads(venv.run(venv.python, "-c", script).stdout)
    assert providers == ["acmepay"]
    assert skipped == []  # the broken one was not even imported


def test_the_plugin_is_not_installed_here() -> None:
    """The throw-away distributions never leak into the environment running the tests."""
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="paywire")}
    assert "paywire_acmepay" not in names
    assert "acme_broken" not in names
