"""Sessions for the whole workspace. Distributions and plugins are found from the tree.

    nox                    # lint, typecheck, tests of every distribution, contract suites, docs
    nox -s demo                 # the main job: the demo on the embedded sandbox
    nox -s "tests(dist='paywire')"
    nox -l                      # every session

A distribution is any folder with a ``pyproject.toml`` that has a ``[project]`` table (the root's
has none); a provider plugin is a distribution under ``plugins/``. Adding a provider means adding a
folder: nothing here is edited. Each session gets its own virtualenv with the distribution, the
workspace distributions it depends on (installed from their folders, never from an index) and its
``test`` dependency group.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
REPORTS = ROOT / ".nox-reports"

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"cannot read requirement {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _discover() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pyproject in sorted(ROOT.glob("**/pyproject.toml")):
        rel = pyproject.relative_to(ROOT)
        skipped = {"node_modules", "build", "dist", "fixtures"}
        if any(part.startswith(".") or part in skipped for part in rel.parts):
            continue
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project")
        if project is None or pyproject.parent == ROOT:
            continue
        found[_name(project["name"])] = pyproject.parent
    return found


DISTS = _discover()
PLUGINS = {name: path for name, path in DISTS.items() if path.parent == ROOT / "plugins"}


def _project(dist: str) -> dict[str, object]:
    return tomllib.loads((DISTS[dist] / "pyproject.toml").read_text(encoding="utf-8"))


def _workspace_closure(dist: str) -> list[str]:
    """``dist`` and every workspace distribution it needs, dependencies first."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        project = _project(name)["project"]
        assert isinstance(project, dict)
        requirements = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            requirements += extra
        for requirement in requirements:
            other = _name(requirement)
            if other in DISTS and other != name:
                visit(other)
        order.append(name)

    visit(dist)
    return order


def _install(session: nox.Session, *dists: str, groups: tuple[str, ...] = ("test",)) -> None:
    """Install ``dists`` and their workspace dependencies from their folders, then ``groups``.

    A dependency group may name a workspace distribution (a plugin a test drives): it is installed
    from its folder too, never from an index.
    """
    roots = list(dists)
    extras: list[str] = []
    for dist in dists:
        declared = _project(dist).get("dependency-groups", {})
        for group in (g for g in groups if g in declared):  # type: ignore[operator]
            for requirement in nox.project.dependency_groups(_project(dist), group):
                if _name(requirement) in DISTS:
                    roots.append(_name(requirement))
                else:
                    extras.append(requirement)
    wanted: list[str] = []
    for root in roots:
        for name in _workspace_closure(root):
            if name not in wanted:
                wanted.append(name)
    args: list[str] = []
    for name in wanted:
        project = _project(name)["project"]
        assert isinstance(project, dict)
        # Optional features are tested too (the core's PostgreSQL store, say).
        extras_of = sorted(project.get("optional-dependencies", {}))
        target = f"{DISTS[name]}[{','.join(extras_of)}]" if extras_of else str(DISTS[name])
        args += ["-e", target]
    session.install(*args)
    if extras:
        session.install(*sorted(set(extras)))


def _junit(session: nox.Session, label: str) -> list[str]:
    REPORTS.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", label)
    return [f"--junitxml={REPORTS / f'{safe}.xml'}"]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole tree, with the workspace's shared settings."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")


@nox.session
@nox.parametrize("dist", sorted(DISTS))
def typecheck(session: nox.Session, dist: str) -> None:
    """mypy --strict (settings in the root pyproject) over one distribution's code and tests."""
    _install(session, dist)
    session.install("mypy>=1.10")
    folder = DISTS[dist]
    targets = [str(p) for p in (folder / "src", folder / "tests") if p.exists()]
    session.run("mypy", "--config-file", str(ROOT / "pyproject.toml"), *targets)


@nox.session
@nox.parametrize("dist", sorted(DISTS))
def tests(session: nox.Session, dist: str) -> None:
    """One distribution's own tests, in a virtualenv holding only what it declares."""
    _install(session, dist)
    folder = DISTS[dist]
    args = ["-p", "no:cacheprovider", *_junit(session, f"tests-{dist}")]
    if dist == "paywire":
        # The core's coverage floor is part of its definition of done.
        args += ["--cov=paywire", "--cov-report=term", "--cov-fail-under=95"]
    session.run(
        "python", "-m", "pytest", str(folder / "tests"), *args, *session.posargs,
        env={"PYTHONHASHSEED": "0"},
    )


@nox.session
@nox.parametrize("mode", ["sandbox", "replay"])
@nox.parametrize("plugin", sorted(PLUGINS))
def contract(session: nox.Session, plugin: str, mode: str) -> None:
    """Certify one provider plugin with the contract suite (against the sandbox, or replaying)."""
    _install(session, plugin, "paywire-contract", "paywire-sandbox")
    folder = PLUGINS[plugin]
    session.run(
        "python", "-m", "pytest", str(folder / "tests" / "test_contract.py"),
        f"--paywire-mode={mode}", "-p", "no:cacheprovider",
        *_junit(session, f"contract-{plugin}-{mode}"), *session.posargs,
    )


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site, built with ``mkdocs build --strict`` into docs/site, and what it
    shows is true: the capability matrix is what the plugins declare, every public name is
    documented and on its reference page, and the tutorials' shops run against the sandbox."""
    _install(session, *sorted(PLUGINS), "paywire-contract", "paywire-sandbox", groups=())
    session.install(
        "mkdocs>=1.6",
        "mkdocs-material>=9.5",
        "mkdocstrings[python]>=0.26",
        # the tutorials' shops
        "fastapi>=0.110",
        "flask>=3.0",
        "uvicorn>=0.29",
        "pytest>=8",
        "mypy>=1.10",
        "ruff>=0.6",  # mkdocstrings formats the reference's signatures with it
    )
    session.run("python", "docs/tools/capability_matrix.py", "--check")
    session.run("python", "docs/tools/check_api.py")
    session.run(
        "mypy", "--config-file", str(ROOT / "pyproject.toml"),
        "docs/tools", "docs/examples", "docs/tests",
    )
    session.run(
        "python", "-m", "pytest", "docs/tests", "-p", "no:cacheprovider",
        *_junit(session, "docs"), *session.posargs,
    )
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "docs/tools/check_api.py", "--site", "docs/site")
    session.log(f"the site is in {ROOT / 'docs' / 'site'}: open docs/site/index.html")


@nox.session
def template(session: nox.Session) -> None:
    """``paywire new-provider`` cannot rot: a generated plugin installed alone (the core, the
    sandbox and the contract suite, no other provider) is listed, certified, linted and
    type-checked with its own settings, and its tests pass recording and replaying fixtures."""
    import shutil
    import tempfile

    _install(session, "paywire", "paywire-sandbox", "paywire-contract", groups=())
    session.install("pytest>=8", "ruff>=0.6", "mypy>=1.10")
    # Outside the repository, as an author's would be (not session.create_tmp(), which also
    # moves TMPDIR into the tree, where the workspace's pytest settings would apply).
    folder = Path(tempfile.mkdtemp(prefix="paywire-new-provider-"))
    try:
        _certify_new_provider(session, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _certify_new_provider(session: nox.Session, folder: Path) -> None:
    import time

    root = folder / "paywire-acme"
    started = time.perf_counter()
    session.run("paywire", "new-provider", "acme", "--directory", str(folder))
    # Its dependencies are the workspace's, installed above: nothing comes from an index.
    session.install("-e", str(root))
    session.run("paywire", "providers")
    session.run("paywire", "certify", "acme")
    certified = time.perf_counter() - started
    with session.chdir(root):
        session.run("ruff", "check", ".")
        session.run("ruff", "format", "--check", ".")
        session.run("mypy", "src", "tests")
        pytest = ["python", "-m", "pytest", "-p", "no:cacheprovider"]
        session.run(*pytest, "--paywire-mode=record", *_junit(session, "template-record"))
        session.run(
            *pytest, "tests/test_contract.py", "--paywire-mode=replay",
            *_junit(session, "template-replay"),
        )
    session.log(
        f"new-provider → certified in {certified:.1f} s; "
        f"the whole check in {time.perf_counter() - started:.1f} s"
    )


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: every distribution installed, then the demo on the embedded sandbox."""
    _install(session, *sorted(DISTS), groups=())
    session.run("paywire", "providers")
    session.run("paywire", "demo", *session.posargs)


nox.options.sessions = ["lint", "typecheck", "tests", "contract", "template", "docs"]
