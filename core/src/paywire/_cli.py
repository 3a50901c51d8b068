"""The ``paywire`` command.

``paywire providers [--json]`` is the core's own. Other subcommands come from installed
distributions through the ``paywire_cli`` entry-point group: each entry point's name is the
subcommand and its object is ``configure(parser)``, which adds arguments and sets
``func=run(args) -> int`` as a parser default.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from paywire._errors import PaywireError
from paywire._plugins import Paywire
from paywire._secrets import redact

__all__ = ["main"]

CLI_GROUP = "paywire_cli"

#: Subcommands other distributions provide, and what to install for each.
_ELSEWHERE = {
    "sandbox": ("paywire-sandbox", "run the local fake of the providers' APIs"),
    "certify": ("paywire-contract", "run the contract suite against an installed provider"),
    "demo": ("paywire-demo", "walk a payment flow end to end on the embedded sandbox"),
}


def _provider_rows(pw: Paywire) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in sorted(pw.providers):
        entry = pw.providers[name]
        available: bool = False
        problem: str | None = None
        try:
            available = pw.provider(name).available()
        except PaywireError as exc:
            problem = str(exc)
        except Exception as exc:  # a plugin's bug must not hide the other providers
            problem = f"{type(exc).__name__}: {redact(str(exc))}"
        rows.append(
            {
                "name": name,
                "plugin": entry.plugin,
                "distribution": entry.distribution,
                "version": entry.version,
                "available": available,
                "problem": problem,
                "api": entry.api,
                "native_async": entry.native_async,
                "capabilities": entry.capabilities.as_dict(),
            }
        )
    return rows


def _providers(args: argparse.Namespace, out: TextIO, make_paywire: Callable[[], Paywire]) -> int:
    with make_paywire() as pw:
        rows = _provider_rows(pw)
        skipped = [
            {
                "name": s.name,
                "distribution": s.distribution,
                "version": s.version,
                "reason": s.reason,
            }
            for s in pw.skipped
        ]
    if args.json:
        json.dump({"providers": rows, "skipped": skipped}, out, indent=2)
        out.write("\n")
        return 0
    if not rows:
        out.write("No provider plugins are installed.\n")
        out.write("Install one, for example: pip install paywire-stripe\n")
    else:
        out.write("Installed providers:\n")
        for row in rows:
            origin = " ".join(str(part) for part in (row["distribution"], row["version"]) if part)
            origin = f"  [{origin}]" if origin else ""
            state = "yes" if row["available"] else "no"
            if row["problem"]:
                state += f" ({row['problem']})"
            caps = row["capabilities"]
            assert isinstance(caps, dict)
            out.write(f"  {row['name']}{origin}\n")
            out.write(f"    available:    {state}\n")
            # Which API the plugin speaks, and how its coroutines run (the handshake's outcome).
            paths = "sync and async" if row["native_async"] else "sync (async: worker thread)"
            out.write(f"    plugin API:   {row['api'] or '?'}; native on {paths}\n")
            out.write(f"    capabilities: {', '.join(caps['supported'])}\n")
            for capability, note in sorted(caps["notes"].items()):
                out.write(f"      {capability}: {note}\n")
    if skipped:
        out.write("Skipped plugins:\n")
        for item in skipped:
            origin = " ".join(str(p) for p in (item["distribution"], item["version"]) if p)
            origin = f" [{origin}]" if origin else ""
            out.write(f"  {item['name']}{origin}: {item['reason']}\n")
    return 0


def build_parser(
    out: TextIO, make_paywire: Callable[[], Paywire] = Paywire
) -> argparse.ArgumentParser:
    """The argument parser, with every installed subcommand.

    ``make_paywire`` builds the :class:`Paywire` that ``providers`` lists (tests pass their own).
    """
    parser = argparse.ArgumentParser(prog="paywire", description="paywire payments toolkit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    providers = commands.add_parser("providers", help="list installed provider plugins")
    providers.add_argument("--json", action="store_true", help="machine-readable output")
    providers.set_defaults(func=lambda args: _providers(args, out, make_paywire))
    from paywire._new_provider import configure as configure_new_provider

    configure_new_provider(commands.add_parser("new-provider", help="write a new provider plugin"))

    installed: set[str] = set()
    for ep in sorted(importlib.metadata.entry_points(group=CLI_GROUP), key=lambda e: e.name):
        if ep.name in installed or ep.name in ("providers", "new-provider"):
            continue
        installed.add(ep.name)
        purpose = _ELSEWHERE.get(ep.name, ("", None))[1]
        # A broken extension must not break the other commands; using it says what went wrong.
        try:
            configure: Callable[[argparse.ArgumentParser], None] = ep.load()
        except Exception as exc:
            message = f"the {ep.name!r} command failed to load: {type(exc).__name__}: {exc}"
            _failing_command(commands, ep.name, purpose, message)
            continue
        sub = commands.add_parser(ep.name, help=purpose)
        try:
            configure(sub)
        except Exception as exc:
            message = f"the {ep.name!r} command failed to load: {type(exc).__name__}: {exc}"
            sub.set_defaults(func=lambda _args, m=message: _fail(m))
    for name, (dist, purpose) in _ELSEWHERE.items():
        if name not in installed:
            message = f"'paywire {name}' needs the {dist} distribution: pip install {dist}"
            _failing_command(commands, name, f"{purpose} (needs {dist})", message)
    return parser


def _failing_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    purpose: str | None,
    message: str,
) -> None:
    """A subcommand that takes any arguments and only explains why it cannot run."""
    sub = commands.add_parser(name, help=purpose, add_help=False)
    sub.add_argument("rest", nargs=argparse.REMAINDER)
    sub.set_defaults(func=lambda _args: _fail(message))


def _fail(message: str) -> int:
    sys.stderr.write(f"paywire: {message}\n")
    return 2


def main(
    argv: Sequence[str] | None = None, *, make_paywire: Callable[[], Paywire] = Paywire
) -> int:
    """Run the ``paywire`` command; returns the exit code.

    ``make_paywire`` builds the :class:`Paywire` the command works with (the installed plugins
    by default; tests pass one built from in-code plugins).
    """
    parser = build_parser(sys.stdout, make_paywire)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        result = func(args)
    except PaywireError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
