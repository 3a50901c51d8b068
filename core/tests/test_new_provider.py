"""``paywire new-provider NAME``: the skeleton it writes (fast checks; the noxfile's ``template``
session installs a generated one alone in a fresh virtualenv and certifies it)."""

from __future__ import annotations

import importlib
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire import Capability, Paywire
from paywire._cli import main
from paywire._new_provider import names_for, render, write_provider

TEMPLATE = Path(importlib.import_module("paywire").__file__ or "").parent / "_template"
# What the before-stop hook and reviewers look for in shipped code.
UNFINISHED = re.compile(r"TODO|FIXME|XXX|NotImplementedError")

EXPECTED = {
    ".gitignore",
    "README.md",
    "pyproject.toml",
    "src/paywire_acme/__init__.py",
    "src/paywire_acme/_currency.py",
    "src/paywire_acme/_events.py",
    "src/paywire_acme/_provider.py",
    "src/paywire_acme/contract.py",
    "src/paywire_acme/fake.py",
    "src/paywire_acme/py.typed",
    "tests/test_acme.py",
    "tests/test_contract.py",
}


@pytest.fixture
def acme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A skeleton for ``acme``, written through the command."""
    assert main(["new-provider", "acme", "--directory", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paywire certify acme" in out
    return tmp_path / "paywire-acme"


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in root.rglob("*")
        if p.is_file()
    }


def test_the_skeleton_has_every_file_with_every_placeholder_filled(acme: Path) -> None:
    files = _files(acme)
    assert set(files) == EXPECTED
    for path, text in files.items():
        assert "{{" not in text, path
        assert not UNFINISHED.search(text), path
        if path.endswith(".py"):
            compile(text, path, "exec")  # every module is valid Python
    provider = files["src/paywire_acme/_provider.py"]
    assert "class AcmeProvider(KernelProvider[AcmeConfig]):" in provider
    assert 'name: ClassVar[str] = "acme"' in provider
    assert "PAYWIRE_ACME_<SETTING>" in provider
    assert 'PAYWIRE_API = ">=1.1,<2"' in files["src/paywire_acme/__init__.py"]
    assert "class TestAcmeContract(ProviderContractSuite):" in files["tests/test_contract.py"]


def test_every_place_to_fill_in_is_marked(acme: Path) -> None:
    files = _files(acme)
    for path in (
        "src/paywire_acme/_provider.py",
        "src/paywire_acme/_events.py",
        "src/paywire_acme/_currency.py",
        "src/paywire_acme/fake.py",
        "src/paywire_acme/contract.py",
        "pyproject.toml",
    ):
        assert "Replace:" in files[path], path
    # Each operation of the provider says where the real API's request goes.
    provider = files["src/paywire_acme/_provider.py"]
    for op in re.findall(r"def (op_\w+)\(", provider):
        body = provider.split(f"def {op}(", 1)[1].split("\n    def ", 1)[0]
        assert "Replace:" in body, op
    assert 'grep -rn "Replace:"' in files["README.md"]


def test_the_pyproject_declares_the_three_entry_points(acme: Path) -> None:
    project = tomllib.loads((acme / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "paywire-acme"
    points = project["project"]["entry-points"]
    assert points["paywire"] == {"acme": "paywire_acme"}
    assert points["paywire_sandbox"] == {"acme": "paywire_acme.fake"}
    assert points["paywire_contract"] == {"acme": "paywire_acme.contract:AcmeHarness"}
    assert project["tool"]["mypy"]["strict"] is True
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/paywire_acme"]


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    """A skeleton for ``gen_probe`` whose ``src`` is on ``sys.path`` for this test."""
    root = write_provider("gen_probe", tmp_path)
    sys.path.insert(0, str(root / "src"))
    try:
        yield root
    finally:
        sys.path.remove(str(root / "src"))
        for module in [m for m in sys.modules if m.startswith("paywire_gen_probe")]:
            del sys.modules[module]


def test_the_generated_plugin_registers_with_paywire(importable: Path) -> None:
    plugin = importlib.import_module("paywire_gen_probe")
    with Paywire(plugins=[("gen_probe", plugin)], load_entry_points=False, environ={}) as pw:
        assert not pw.skipped, [s.reason for s in pw.skipped]
        entry = pw.providers["gen_probe"]
        assert entry.api == ">=1.1,<2"
        assert entry.native_async
        assert Capability.CHECKOUT in entry.capabilities
        provider = pw.provider("gen_probe")
        assert not provider.available()  # no API key configured
    provider_class = type(provider)
    assert provider_class.missing_operations() == []  # type: ignore[attr-defined]


def test_an_existing_folder_is_never_overwritten(
    acme: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = acme / "README.md"
    readme.write_text("mine", encoding="utf-8")
    assert main(["new-provider", "acme", "--directory", str(acme.parent)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert readme.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("name", ["Acme", "1pay", "acme-pay", "acme__pay", "acme_", "", "a" * 41])
def test_names_paywire_would_refuse_are_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-provider", name, "--directory", str(tmp_path)]) == 2
    assert "is not a provider name" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@given(
    st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True), min_size=1, max_size=4).map(
        "_".join
    )
)
def test_names_derive_consistently(name: str) -> None:
    names = names_for(name)
    assert names["name"] == name
    assert names["package"] == f"paywire_{name}"
    assert names["package"].isidentifier()
    assert names["Name"].isidentifier()
    assert names["Name"].lower() == name.replace("_", "")
    assert names["dist"].replace("-", "_") == names["package"]
    assert names["NAME"] == name.upper()


def test_an_unknown_placeholder_is_a_template_mistake() -> None:
    names = names_for("acme")
    assert render("{{Name}}Provider for {{ name }}", names) == "AcmeProvider for acme"
    with pytest.raises(ValueError, match="unknown template placeholder"):
        render("{{nmae}}", names)


def test_the_template_itself_ships_no_unfinished_markers() -> None:
    templates = [p for p in TEMPLATE.rglob("*") if p.is_file()]
    assert templates
    for path in templates:
        assert path.name.endswith(".tmpl"), path
        assert not UNFINISHED.search(path.read_text(encoding="utf-8")), path
