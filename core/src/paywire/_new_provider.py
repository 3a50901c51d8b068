"""``paywire new-provider NAME``: write a new provider plugin's distribution from the template.

The template (``paywire/_template``, shipped as package data) is a complete plugin for a fake
provider: a provider on the operation kernel, a sandbox fake, a contract harness, tests and a
pyproject declaring the three entry points. Generated untouched, it installs, is listed by
``paywire providers`` and certifies against its own fake; comments starting with ``Replace:``
mark every place where the real provider's API goes.

Template files end in ``.tmpl``; ``{{name}}``, ``{{Name}}``, ``{{NAME}}``, ``{{package}}`` and
``{{dist}}`` are replaced in their paths and text, and a leading ``dot-`` becomes ``.``. A
generator in the core, rather than a copier template, needs no extra dependency and cannot drift
from the paywire it ships with.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

# The ``new-provider`` command's implementation, as _cli.py is the command line's: nothing here
# is API (the command is).
__all__: list[str] = []

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{\{\s*[A-Za-z_]+\s*\}\}")
_SUFFIX = ".tmpl"
_MAX_NAME = 40


def names_for(name: str) -> dict[str, str]:
    """The placeholders for provider ``name`` (``"acme_pay"`` → ``AcmePay``, ``ACME_PAY``,
    ``paywire_acme_pay``, ``paywire-acme-pay``). Raises :class:`ValueError` for a name paywire
    would refuse: lower-case letters and digits, words joined by single underscores."""
    if not _NAME.match(name) or len(name) > _MAX_NAME:
        raise ValueError(
            f"{name!r} is not a provider name: use lower-case letters and digits, starting "
            f"with a letter, words joined by single underscores, at most {_MAX_NAME} characters "
            "(e.g. acme or acme_pay)"
        )
    return {
        "name": name,
        "Name": "".join(part.capitalize() for part in name.split("_")),
        "NAME": name.upper(),
        "package": f"paywire_{name}",
        "dist": f"paywire-{name.replace('_', '-')}",
    }


def render(text: str, names: dict[str, str]) -> str:
    """``text`` with every placeholder replaced; raises :class:`ValueError` for an unknown one
    (a mistake in the template)."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(0)[2:-2].strip()
        if key not in names:
            raise ValueError(f"unknown template placeholder {match.group(0)}")
        return names[key]

    return _PLACEHOLDER.sub(replace, text)


def _files(folder: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Every template file below ``folder``: its path parts and its text."""
    found: list[tuple[tuple[str, ...], str]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found += _files(entry, (*prefix, entry.name))
        elif entry.name.endswith(_SUFFIX):
            found.append(((*prefix, entry.name), entry.read_text(encoding="utf-8")))
    return found


def _target_part(part: str, names: dict[str, str]) -> str:
    part = render(part, names).removesuffix(_SUFFIX)
    return "." + part.removeprefix("dot-") if part.startswith("dot-") else part


def write_provider(name: str, directory: Path) -> Path:
    """Write the distribution for provider ``name`` into ``directory/paywire-<name>`` and return
    that folder. Refuses (:class:`FileExistsError`) to write into a folder that exists."""
    names = names_for(name)
    root = directory / names["dist"]
    if root.exists():
        raise FileExistsError(f"{root} already exists: choose another --directory")
    template = resources.files("paywire") / "_template"
    files = [
        (root.joinpath(*(_target_part(p, names) for p in parts)), render(text, names))
        for parts, text in _files(template)
    ]
    for path, text in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def _run(args: argparse.Namespace) -> int:
    try:
        root = write_provider(args.name, Path(args.directory))
    except (ValueError, FileExistsError) as exc:
        sys.stderr.write(f"paywire: {exc}\n")
        return 2
    dist = root.name
    sys.stdout.write(
        f"Wrote {dist} in {root}: a certified plugin for a fake {args.name} API.\n\n"
        "Next:\n"
        f"  pip install -e '{root}[contract]' pytest\n"
        f"  paywire certify {args.name}\n"
        f"Then replace the fake API with {args.name}'s own: "
        f"grep -rn 'Replace:' {root}\n"
        "(the plugin author's guide in the paywire documentation walks through it).\n"
    )
    return 0


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``new-provider`` arguments to ``parser``."""
    parser.add_argument("name", help="the provider's name: lower case, e.g. acme or acme_pay")
    parser.add_argument(
        "--directory",
        default=".",
        help="where to write the paywire-NAME folder (default: the current folder)",
    )
    parser.set_defaults(func=_run)
