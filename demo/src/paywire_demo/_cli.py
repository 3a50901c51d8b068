"""``paywire demo``: the flow end to end on the embedded sandbox (found by the core's CLI)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

__all__ = ["configure"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command's arguments (the core CLI's ``paywire_cli`` protocol)."""
    parser.description = (
        "Start the embedded sandbox and, for each installed provider, pay an invoice on the "
        "hosted page, process the signed webhook, then save a card, charge it as a renewal, "
        "refund part of it and detach it."
    )
    parser.add_argument(
        "--provider",
        action="append",
        metavar="NAME",
        help="demonstrate only this provider (repeatable)",
    )
    parser.add_argument(
        "--keep-serving",
        action="store_true",
        help="leave the sandbox and the demo shop running for a person to use",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the SQLite files go (default: a temporary folder)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    from rich.console import Console

    from paywire_demo._flow import Demo

    console = Console(highlight=False, soft_wrap=True)
    if args.workdir is not None:
        return Demo(console, args.workdir, args.provider).run(keep_serving=args.keep_serving)
    with tempfile.TemporaryDirectory(prefix="paywire-demo-") as folder:
        return Demo(console, Path(folder), args.provider).run(keep_serving=args.keep_serving)
