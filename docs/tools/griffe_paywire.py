"""A griffe extension for the API reference: paywire's docstring conventions, as griffe reads them.

- A module-level name documented Sphinx-style, by ``#:`` comment lines just above it (``#: The
  core plugin-API version.``), gets that text as its docstring — griffe reads only a string
  literal below an assignment.
- Sphinx roles in docstrings (``:class:`~paywire.Money```, ``:meth:`charge_payment_method```)
  become code spans, so that they read as names rather than as markup.

Used by mkdocstrings (``mkdocs.yml``) and by ``docs/tools/check_api.py``, so that what the check
calls documented is what the site shows.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

__all__ = ["PaywireConventions", "comment_docstring", "plain_roles"]

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|data|attr|mod|exc|obj|const):`(~?)([^`]+)`")


def plain_roles(text: str) -> str:
    """``:class:`~paywire.Money``` → ```Money```; ``:meth:`a.b``` → ```a.b```."""

    def code(match: re.Match[str]) -> str:
        target = match.group(2).strip()
        if match.group(1):
            target = target.rsplit(".", 1)[-1]
        return f"`{target}`"

    return _ROLE.sub(code, text)


def comment_docstring(lines: list[str], lineno: int) -> str | None:
    """The ``#:`` comment block right above line ``lineno`` (1-based), or ``None``."""
    found: list[str] = []
    index = lineno - 2
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        found.append(lines[index].lstrip()[2:].strip())
        index -= 1
    return " ".join(reversed(found)) if found else None


class PaywireConventions(griffe.Extension):
    """Read ``#:`` comments as docstrings; turn Sphinx roles into code spans."""

    def on_attribute_instance(
        self,
        *,
        node: ast.AST | griffe.ObjectNode,
        attr: griffe.Attribute,
        agent: griffe.Visitor | griffe.Inspector,
        **kwargs: Any,
    ) -> None:
        """Give a commented module- or class-level name its ``#:`` text as docstring."""
        if attr.docstring is not None or attr.lineno is None:
            return
        try:
            lines = attr.module.lines_collection[attr.module.filepath]  # type: ignore[index]
        except (KeyError, TypeError, AttributeError):
            return
        text = comment_docstring(list(lines), attr.lineno)
        if text:
            attr.docstring = griffe.Docstring(plain_roles(text), lineno=attr.lineno, parent=attr)

    def on_instance(
        self,
        *,
        node: ast.AST | griffe.ObjectNode,
        obj: griffe.Object,
        agent: griffe.Visitor | griffe.Inspector,
        **kwargs: Any,
    ) -> None:
        """Sphinx roles → code spans, in every docstring."""
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = plain_roles(obj.docstring.value)
