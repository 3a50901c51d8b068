"""MkDocs hooks (``mkdocs.yml``: ``hooks``): the table of contract checks on
``plugins/checks.md``.

The table is generated, never written by hand: ``contract_tests/CHECKS.md`` when the contract
suite ships it (check → what it requires → which declaration changes it → troubleshooting),
else one made here from the suite's own standard checks and their docstrings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["MARKER", "checks_markdown", "on_page_markdown"]

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "contract_tests" / "CHECKS.md"
#: Where on a page the table goes.
MARKER = "<!-- contract-checks -->"


def _demoted(text: str) -> str:
    """``text`` with each Markdown heading one level down (it sits below the page's title)."""
    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append("#" + line if not fenced and line.startswith("#") else line)
    return "\n".join(out)


def _from_suite() -> str:
    from paywire_contract import ProviderContractSuite, capability_group, standard_tests

    rows = ["| check | group | what it requires |", "|---|---|---|"]
    for name in standard_tests():
        test = getattr(ProviderContractSuite, name)
        doc = " ".join((test.__doc__ or "").split())
        rows.append(f"| `{name}` | {capability_group(test)} | {doc} |")
    return "\n".join(rows)


def checks_markdown(checks: Path = CHECKS) -> str:
    """The table of contract checks, as Markdown."""
    if checks.exists():
        return _demoted(checks.read_text(encoding="utf-8"))
    return _from_suite()


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Put the table of contract checks where a page asks for it."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, checks_markdown())
