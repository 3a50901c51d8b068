"""The public surface: ``paywire.__all__`` is complete, importable, sorted; lazy names stay lazy."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import paywire

SRC = Path(paywire.__file__).parent


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions, each alphabetical.
    if name.isupper() or re.fullmatch(r"[A-Z0-9_]+", name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_without_duplicates() -> None:
    assert len(set(paywire.__all__)) == len(paywire.__all__)
    assert paywire.__all__ == sorted(paywire.__all__, key=_isort_key)


def test_every_name_in_all_is_importable() -> None:
    namespace: dict[str, object] = {}
    exec("from paywire import *", namespace)  # noqa: S102 - the star import is the point
    for name in paywire.__all__:
        assert name in namespace, name
        assert getattr(paywire, name) is namespace[name]


def test_all_is_complete() -> None:
    """Every public name of every private module is re-exported (or deliberately internal)."""
    internal = {
        "paywire._secrets": {"REDACTED"},
        "paywire._plugins": {"api_compatible"},
        "paywire._hookspecs": {"PROJECT_NAME", "hookspec"},
    }
    missing = []
    for path in sorted(SRC.glob("_*.py")):
        if path.name in {"__init__.py", "__main__.py", "_currency_data.py", "_cli.py"}:
            continue
        module = importlib.import_module(f"paywire.{path.stem}")
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{module.__name__} has no __all__"
        for name in exported:
            assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name}"
            if name not in paywire.__all__ and name not in internal.get(module.__name__, set()):
                missing.append(f"{module.__name__}.{name}")
    assert missing == []


def test_public_classes_and_functions_have_docstrings() -> None:
    for name in paywire.__all__:
        value = getattr(paywire, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


def test_lazy_names_resolve_and_are_cached() -> None:
    for name in (
        "HttpClient",
        "RetryPolicy",
        "error_for_status",
        "new_idempotency_key",
        "parse_retry_after",
        "utc_from_timestamp",
        "to_json_dict",
        "from_json_dict",
        "make_converter",
    ):
        assert name in paywire.__all__
        value = getattr(paywire, name)
        assert value.__module__.startswith("paywire._")
        assert vars(paywire)[name] is value


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        paywire.nope  # noqa: B018
    assert dir(paywire) == sorted(paywire.__all__)


def test_importing_paywire_stays_cheap() -> None:
    code = (
        "import sys, paywire\n"
        "heavy = sorted(m for m in ('httpx', 'cattrs', 'paywire._http', 'paywire._convert') "
        "if m in sys.modules)\n"
        "print(','.join(heavy))\n"
        "paywire.HttpClient\n"
        "print('paywire._http' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines() == ["", "True"]


def test_version() -> None:
    from importlib.metadata import version

    assert paywire.__version__ == version("paywire")


def test_python_dash_m_paywire() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "paywire", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: paywire")


def test_typed_marker_ships() -> None:
    assert (SRC / "py.typed").is_file()
