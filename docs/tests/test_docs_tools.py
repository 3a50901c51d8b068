"""The documentation's own checks catch what they are for."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))

import check_api  # noqa: E402 - found through the path above
from griffe_paywire import comment_docstring, plain_roles  # noqa: E402


def _package(root: Path, source: str) -> Path:
    package = root / "src" / "demo_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(source, encoding="utf-8")
    return root / "src"


def test_an_undocumented_public_name_is_found(tmp_path: Path) -> None:
    search = _package(
        tmp_path,
        '"""A package."""\n'
        '__all__ = ["LIMIT", "documented", "undocumented", "WITH_COMMENT"]\n'
        "LIMIT = 3\n"
        "#: How many, said the Sphinx way.\n"
        "WITH_COMMENT = 4\n"
        'def documented() -> None:\n    """Says what it does."""\n'
        "def undocumented() -> None:\n    pass\n",
    )
    missing, problems = check_api.undocumented(["demo_pkg"], [search])
    assert problems == []
    assert missing == {"demo_pkg": ["LIMIT", "undocumented"]}


def test_a_package_without_all_is_a_problem(tmp_path: Path) -> None:
    search = _package(tmp_path, '"""No __all__."""\ndef f() -> None:\n    """F."""\n')
    _missing, problems = check_api.undocumented(["demo_pkg"], [search])
    assert problems == ["demo_pkg: has no __all__, so nothing marks its public names"]


def test_the_tree_passes_and_every_distribution_has_a_page() -> None:
    assert check_api.check(None) == []
    packages = {p for _dist, _folder, pkgs in check_api.distributions() for p in pkgs}
    assert {"paywire", "paywire_sandbox", "paywire_contract"} <= packages
    assert packages <= set(check_api.rendered())


def test_a_stale_pending_entry_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = check_api.pending()
    monkeypatch.setattr(
        check_api, "pending", lambda: {**real, "paywire.Money": "documented long ago"}
    )
    assert check_api.check(None) == [
        "paywire.Money: listed in api_pending.txt but documented or not public: remove the line"
    ]


def test_sphinx_roles_read_as_code() -> None:
    assert plain_roles("See :class:`~paywire.Money` and :meth:`a.b`.") == "See `Money` and `a.b`."
    assert plain_roles(":py:func:`paywire.redact`") == "`paywire.redact`"


def test_comment_docstrings_are_the_lines_right_above() -> None:
    lines = ["x = 1", "#: first", "#: second", "NAME = 2"]
    assert comment_docstring(lines, 4) == "first second"
    assert comment_docstring(lines, 1) is None


def test_the_checks_page_uses_the_suites_generated_table(tmp_path: Path) -> None:
    import mkdocs_hooks

    generated = tmp_path / "CHECKS.md"
    generated.write_text("# Contract checks\n\n| check |\n|---|\n| `test_x` |\n", encoding="utf-8")
    assert mkdocs_hooks.checks_markdown(generated).startswith("## Contract checks\n")
    page = f"# The contract checks\n\n{mkdocs_hooks.MARKER}\n"
    assert mkdocs_hooks.MARKER not in mkdocs_hooks.on_page_markdown(page)


def test_without_it_the_table_lists_every_standard_check(tmp_path: Path) -> None:
    import mkdocs_hooks

    from paywire_contract import standard_tests

    table = mkdocs_hooks.checks_markdown(tmp_path / "absent.md")
    for name in standard_tests():
        assert f"| `{name}` |" in table
