"""The public surface: ``paywire.__all__`` is complete, importable, sorted; lazy names stay lazy."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import paywire
import paywire.plugin

SRC = Path(paywire.__file__).parent
NAMESPACES = (paywire, paywire.plugin)


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions, each alphabetical.
    if name.isupper() or re.fullmatch(r"[A-Z0-9_]+", name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda m: m.__name__)
def test_all_is_sorted_without_duplicates(namespace: Any) -> None:
    assert len(set(namespace.__all__)) == len(namespace.__all__)
    assert namespace.__all__ == sorted(namespace.__all__, key=_isort_key)


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda m: m.__name__)
def test_every_name_in_all_is_importable(namespace: Any) -> None:
    found: dict[str, object] = {}
    exec(f"from {namespace.__name__} import *", found)  # noqa: S102 - the star import is the point
    for name in namespace.__all__:
        assert name in found, name
        assert getattr(namespace, name) is found[name]


def test_all_is_complete() -> None:
    """Every public name of every private module is exported by ``paywire`` (the app's API) or
    ``paywire.plugin`` (the plugin author's), or deliberately internal."""
    internal = {
        "paywire._secrets": {"REDACTED"},
        "paywire._plugins": {"api_compatible"},
        "paywire._hookspecs": {"PROJECT_NAME", "hookspec"},
        # The retry loop's steps and drivers, and the shared loader: the kernel's and the
        # loaders' business, not a plugin's.
        "paywire._http": {"Send", "Sleep", "Step", "drive", "drive_async"},
        "paywire._loading": {
            "Candidate",
            "LoadFailure",
            "LoadedPlugin",
            "PluginLoader",
            "allow_list",
        },
        "paywire._webhook_body": {"check_mapping_text"},
    }
    public = set(paywire.__all__) | set(paywire.plugin.__all__)
    missing = []
    for path in sorted(SRC.glob("_*.py")):
        if path.name in {"__init__.py", "__main__.py", "_currency_data.py", "_cli.py"}:
            continue
        module = importlib.import_module(f"paywire.{path.stem}")
        exported = getattr(module, "__all__", None)
        assert exported is not None, f"{module.__name__} has no __all__"
        for name in exported:
            assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name}"
            if name not in public and name not in internal.get(module.__name__, set()):
                missing.append(f"{module.__name__}.{name}")
    assert missing == []


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda m: m.__name__)
def test_public_classes_and_functions_have_docstrings(namespace: Any) -> None:
    for name in namespace.__all__:
        value = getattr(namespace, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


@pytest.mark.parametrize(
    ("namespace", "names"),
    [
        (paywire, ("new_idempotency_key", "to_json_dict", "from_json_dict", "make_converter")),
        (
            paywire.plugin,
            (
                "HttpClient",
                "RetryPolicy",
                "error_for_status",
                "new_idempotency_key",
                "parse_retry_after",
            ),
        ),
    ],
)
def test_lazy_names_resolve_and_are_cached(namespace: Any, names: tuple[str, ...]) -> None:
    for name in names:
        assert name in namespace.__all__
        value = getattr(namespace, name)
        assert value.__module__.startswith("paywire._")
        assert vars(namespace)[name] is value


MOVED = (
    "HttpClient",
    "RetryPolicy",
    "error_for_status",
    "parse_retry_after",
    "utc_from_timestamp",
    "get_header",
    "hmac_sha256_hex",
    "sign_timestamped",
    "verify_hmac_sha256_hex",
    "verify_timestamped",
    "hookimpl",
    "secret_field",
)


@pytest.mark.parametrize("name", MOVED)
def test_names_moved_to_the_plugin_api_still_work_with_a_warning(name: str) -> None:
    """A plugin written against API 1.0 imports these from ``paywire``: they keep working, each
    use saying where the name lives now."""
    assert name not in paywire.__all__
    assert name in paywire.plugin.__all__
    with pytest.warns(paywire.PaywireDeprecationWarning, match=f"paywire.plugin.{name}"):
        value = getattr(paywire, name)
    assert value is getattr(paywire.plugin, name)
    with pytest.warns(paywire.PaywireDeprecationWarning):
        exec(f"from paywire import {name}", {})  # noqa: S102 - the old import statement


def test_importing_the_plugin_api_stays_cheap() -> None:
    code = (
        "import sys, paywire.plugin\n"
        "print(','.join(m for m in ('httpx', 'paywire._http') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


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
        "paywire.to_json_dict\n"
        "print('paywire._convert' in sys.modules)\n"
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
