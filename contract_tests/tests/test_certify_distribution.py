"""A third party's plugin written the old way — paywire API 1.0, ``handle_webhook_event``, one
webhook secret, no new method, helpers imported from their old place — built into a wheel,
installed, found through its three entry points (``paywire``, ``paywire_contract``,
``paywire_sandbox``), and certified by ``paywire certify`` in a separate process, unchanged.

The plugin is minipay itself (``tests/minipay.py``, copied verbatim into the distribution).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from _inner import TESTS
from legacy import EXCEPTIONS

DIST = "minipay-legacy"
PACKAGE = "minipay_legacy"

PLUGIN = '''
"""minipay, packaged as a third party packages a paywire plugin written for API 1.0."""

from paywire import hookimpl  # the old place (paywire 1.1 warns, and still allows it)

PAYWIRE_API = ">=1.0,<2"


@hookimpl
def paywire_register_providers(register):
    from minipay_legacy.minipay import MiniProvider

    register(MiniProvider)
'''

CONTRACT = '''
"""minipay's contract harness, with the checks minipay fails declared."""

from minipay_legacy.minipay import MiniHarness


class LegacyHarness(MiniHarness):
    declared_exceptions = {exceptions!r}
'''

PYPROJECT = f"""
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{DIST}"
version = "1.0.3"
requires-python = ">=3.11"
dependencies = ["paywire", "paywire-contract", "paywire-sandbox"]

[project.entry-points.paywire]
minipay = "{PACKAGE}"

[project.entry-points.paywire_contract]
minipay = "{PACKAGE}.contract:LegacyHarness"

[project.entry-points.paywire_sandbox]
minipay = "{PACKAGE}.minipay"

[tool.hatch.build.targets.wheel]
packages = ["src/{PACKAGE}"]
"""


def _wheel(root: Path) -> Path:
    """Build the distribution's wheel with hatchling (offline)."""
    from hatchling.builders.wheel import WheelBuilder

    project = root / DIST
    package = project / "src" / PACKAGE
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (package / "__init__.py").write_text(PLUGIN)
    (package / "contract.py").write_text(CONTRACT.format(exceptions=EXCEPTIONS))
    (package / "minipay.py").write_text((TESTS / "minipay.py").read_text())
    built = list(WheelBuilder(str(project)).build(directory=str(root / "dist")))
    assert len(built) == 1, built
    return Path(built[0])


class Installed:
    """The wheel installed into a folder of its own (a pure wheel installs by unpacking)."""

    def __init__(self, wheel: Path, site: Path) -> None:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
        self.site = site

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("PAYWIRE_")}
        environ["PYTHONPATH"] = os.pathsep.join([str(self.site), environ.get("PYTHONPATH", "")])
        return subprocess.run(
            [sys.executable, *args],
            capture_output=True,
            text=True,
            env=environ,
            cwd=self.site,
            timeout=600,
            check=False,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("legacy-dist")
    return Installed(_wheel(root), root / "site")


@pytest.mark.slow
def test_the_old_plugin_loads_and_says_which_api_it_speaks(installed: Installed) -> None:
    script = textwrap.dedent("""
        import json
        from paywire import Paywire
        with Paywire(environ={"PAYWIRE_MINIPAY_API_KEY": "sk_test_legacy0000"}) as pw:
            entry = pw.providers["minipay"]
            print(json.dumps([entry.distribution, entry.version, entry.api, entry.native_async,
                              pw.provider("minipay").available()]))
    """)
    result = installed.run("-c", script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == [DIST, "1.0.3", ">=1.0,<2", False, True]


@pytest.mark.slow
def test_paywire_certify_certifies_the_old_plugin(installed: Installed) -> None:
    result = installed.run("-m", "paywire", "certify", "minipay")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    lines = out.splitlines()
    assert lines[1] == (
        f"  provider: {PACKAGE}.minipay.MiniProvider (paywire API >=1.0,<2; its coroutines run "
        "its sync code in a worker thread)"
    )
    verdict = next(line for line in lines if line.startswith("minipay: "))
    assert verdict.startswith("minipay: certified with 1 declared exception ("), out
    assert verdict.endswith(" 2 xfailed)"), verdict  # the exception, on both paths
    for check, reason in EXCEPTIONS.items():
        assert f"  declared exception {check}: {reason}" in lines


def test_the_distribution_is_not_installed_here() -> None:
    """The throw-away distribution never leaks into the environment running the tests."""
    from importlib.metadata import entry_points

    assert PACKAGE not in {ep.value for ep in entry_points(group="paywire")}
