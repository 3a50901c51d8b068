"""Check the API reference: every public name of every distribution is documented and shown.

    python docs/tools/check_api.py                    # before the build: pages and docstrings
    python docs/tools/check_api.py --site docs/site   # after it: each name is on its page

The public names are each package's ``__all__``. A distribution is any folder of the tree with a
``pyproject.toml`` that has a ``[project]`` table (as in ``noxfile.py``); its import packages are
its wheel's ``packages``. The check fails when

- a distribution's import package has no page ``docs/pages/reference/<package>.md`` rendering it
  (``::: <package>``);
- a name in the ``__all__`` of a module a reference page renders has no docstring (a ``#:``
  comment above a module-level name counts, as the site shows it: ``griffe_paywire.py``);
- with ``--site``: a rendered page has no entry (``id="<module>.<name>"``) for such a name.

``api_pending.txt`` lists names still waiting for their docstring in another part of the tree
(``module.name  reason``); an entry that is documented by now, or that names nothing public, is an
error too, so the list only shrinks.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import griffe

sys.path.insert(0, str(Path(__file__).resolve().parent))
from griffe_paywire import PaywireConventions

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "docs" / "pages" / "reference"
PENDING = Path(__file__).resolve().parent / "api_pending.txt"
_SKIPPED = {"node_modules", "build", "dist", "fixtures", "site"}
_DIRECTIVE = re.compile(r"^:::\s+([A-Za-z_][\w.]*)\s*$", re.MULTILINE)


def distributions() -> Iterator[tuple[str, Path, list[str]]]:
    """(distribution name, folder, import packages) for every distribution in the tree."""
    for pyproject in sorted(ROOT.glob("**/pyproject.toml")):
        rel = pyproject.relative_to(ROOT)
        if any(part.startswith(".") or part in _SKIPPED for part in rel.parts):
            continue
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        project = data.get("project")
        if project is None or pyproject.parent == ROOT:
            continue
        wheel = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
        packages = wheel.get("wheel", {}).get("packages", [])
        yield project["name"], pyproject.parent, [Path(p).name for p in packages]


def rendered() -> dict[str, Path]:
    """Module → the reference page that renders it (``::: module``)."""
    found: dict[str, Path] = {}
    for page in sorted(PAGES.glob("*.md")):
        for module in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            found[module] = page
    return found


def pending() -> dict[str, str]:
    """``module.name`` → why it is allowed to lack a docstring for now."""
    entries: dict[str, str] = {}
    if PENDING.exists():
        for raw in PENDING.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                entries[name] = reason.strip()
    return entries


def _exports(module: griffe.Module) -> list[str]:
    names = module.exports or []
    return [n if isinstance(n, str) else n.name for n in names]


def undocumented(modules: list[str], search: list[Path]) -> tuple[dict[str, list[str]], list[str]]:
    """Module → its public names without a docstring; and modules that fail to load."""
    loader = griffe.GriffeLoader(
        extensions=griffe.load_extensions(PaywireConventions()),
        search_paths=[str(p) for p in search],
        allow_inspection=False,
    )
    problems: list[str] = []
    loaded: dict[str, griffe.Module] = {}
    for name in modules:
        try:
            loaded[name] = loader.load(name)  # type: ignore[assignment]
        except (ImportError, griffe.LoadingError) as exc:
            problems.append(f"{name}: cannot be loaded ({exc})")
    loader.resolve_aliases(implicit=False, external=False)
    missing: dict[str, list[str]] = {}
    for name, module in loaded.items():
        exports = _exports(module)
        if not exports:
            problems.append(f"{name}: has no __all__, so nothing marks its public names")
        for export in exports:
            try:
                obj = module[export]
                target = obj.final_target if obj.is_alias else obj
            except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
                problems.append(f"{name}.{export}: in __all__ but not found")
                continue
            doc = target.docstring
            if doc is None or not doc.value.strip():
                missing.setdefault(name, []).append(export)
    return missing, problems


def check(site: Path | None) -> list[str]:
    """Every problem found (empty: all is well)."""
    errors: list[str] = []
    pages = rendered()
    search: list[Path] = []
    for dist, folder, packages in distributions():
        search.append(folder / "src")
        errors.extend(
            f"{dist}: no API reference page renders {package} "
            f"(add docs/pages/reference/{package}.md with '::: {package}' and a nav entry)"
            for package in packages
            if package not in pages
        )
    missing, problems = undocumented(sorted(pages), search)
    errors += problems
    allowed = pending()
    for module, names in sorted(missing.items()):
        for name in names:
            if f"{module}.{name}" not in allowed:
                errors.append(f"{module}.{name}: public (in __all__) but has no docstring")
    for entry in sorted(allowed):
        module, _, name = entry.rpartition(".")
        if name not in missing.get(module, []):
            errors.append(
                f"{entry}: listed in {PENDING.name} but documented or not public: remove the line"
            )
    if site is not None:
        errors += _check_site(site, pages, search, set(allowed))
    return errors


def _check_site(
    site: Path, pages: dict[str, Path], search: list[Path], skip: set[str]
) -> list[str]:
    errors: list[str] = []
    loader = griffe.GriffeLoader(search_paths=[str(p) for p in search], allow_inspection=False)
    for module, page in sorted(pages.items()):
        built = site / "reference" / page.with_suffix(".html").name
        if not built.exists():
            errors.append(f"{built} was not built")
            continue
        html = built.read_text(encoding="utf-8")
        errors.extend(
            f"{module}.{name}: not shown on {built.relative_to(site)}"
            for name in _exports(loader.load(module))  # type: ignore[arg-type]
            if f"{module}.{name}" not in skip and f'id="{module}.{name}"' not in html
        )
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="also check the built site in this folder")
    args = parser.parse_args()
    errors = check(args.site)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        return 1
    pages = rendered()
    print(f"API reference: {len(pages)} modules, every public name documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
