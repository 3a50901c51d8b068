"""``paywire webhooks``: look at the event store and act on it, for operators and cron jobs.

::

    paywire webhooks [--store PATH_OR_URL] list [--status dead] [--provider stripe] [--json]
    paywire webhooks show stripe evt_123 [--json]
    paywire webhooks replay stripe evt_123          # back to pending: the workers run it
    paywire webhooks replay stripe --all --status dead
    paywire webhooks --app myapp.webhooks:processor replay stripe --all   # run the handlers here
    paywire webhooks prune --older-than 90
    paywire webhooks check --max-dead 0 --max-pending-age 3600

The store is ``--store`` (an SQLite path, or a ``postgresql://`` URL), else
``$PAYWIRE_WEBHOOKS_STORE``, else ``./paywire-webhooks.sqlite3``; or the store of the app's
processor given with ``--app module:attribute``.

Exit codes, for cron jobs: 0 all is well; 1 something needs a person (``check`` found dead or
stale events, a replayed event failed, ``show`` found nothing); 2 the command could not run
(bad arguments, the store unreachable).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from paywire._errors import ConfigurationError

if TYPE_CHECKING:
    from paywire.webhooks._processor import WebhookProcessor
    from paywire.webhooks._store import EventStore, StoredEvent

__all__ = ["configure", "open_store"]

STORE_VARIABLE = "PAYWIRE_WEBHOOKS_STORE"
#: ``--status`` words: a store status, or ``failed`` (open with an error) and ``open``.
_STATUS_WORDS = (
    "pending",
    "failed",
    "deferred",
    "dead",
    "open",
    "processed",
    "ignored",
    "rejected",
    "all",
)
#: How often a long replay reports its progress, in seconds.
_PROGRESS_EVERY = 1.0


def open_store(spec: str | None, *, table: str | None = None) -> EventStore:
    """The store ``spec`` names: a ``postgresql://``/``postgres://`` URL or a libpq
    ``key=value`` string, else an SQLite path (``sqlite:///`` prefix allowed)."""
    spec = spec or os.environ.get(STORE_VARIABLE) or ""
    options: dict[str, Any] = {} if table is None else {"table": table}
    if spec.startswith(("postgresql://", "postgres://")) or "host=" in spec or "dbname=" in spec:
        from paywire.webhooks._postgres import PostgresEventStore

        return PostgresEventStore(spec, **options)
    from paywire.webhooks._processor import DEFAULT_STORE_PATH
    from paywire.webhooks._sqlite import SQLiteEventStore

    path = spec.removeprefix("sqlite://") or DEFAULT_STORE_PATH
    if not os.path.exists(path):
        # Looking at a store never creates one.
        raise ConfigurationError(f"no event database at {path!r} (give --store)")
    return SQLiteEventStore(path, **options)


def _load_app(spec: str) -> WebhookProcessor:
    from paywire.webhooks._processor import WebhookProcessor

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--app takes module:attribute, not {spec!r}")
    sys.path.insert(0, os.getcwd())
    try:
        found: Any = importlib.import_module(module_name)
    finally:
        sys.path.pop(0)
    for part in attribute.split("."):
        found = getattr(found, part)
    if callable(found) and not isinstance(found, WebhookProcessor):
        found = found()
    if not isinstance(found, WebhookProcessor):
        raise ConfigurationError(f"{spec} is not a WebhookProcessor")
    return found


def configure(parser: argparse.ArgumentParser, out: TextIO | None = None) -> None:
    """Add the ``webhooks`` subcommands to ``parser`` (the ``paywire_cli`` entry point)."""
    parser.description = "Look at the webhook event store, replay events, prune old ones."
    parser.add_argument("--store", help=f"SQLite path or postgresql:// URL (${STORE_VARIABLE})")
    parser.add_argument("--table", help="the events table (default: paywire_webhook_events)")
    parser.add_argument(
        "--app",
        metavar="MODULE:ATTR",
        help="the app's WebhookProcessor: its store, and its handlers for replay",
    )
    commands = parser.add_subparsers(dest="webhooks_command", metavar="COMMAND")

    listing = commands.add_parser("list", help="list events (default: the open ones)")
    listing.add_argument("--status", choices=_STATUS_WORDS, default="open")
    listing.add_argument("--provider")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")

    show = commands.add_parser("show", help="one event, with its body")
    show.add_argument("provider")
    show.add_argument("event_id")
    show.add_argument("--json", action="store_true")

    replay = commands.add_parser(
        "replay",
        help="run an event again: back to pending for the workers, or here with --app",
    )
    replay.add_argument("provider")
    replay.add_argument("event_id", nargs="?")
    replay.add_argument("--all", action="store_true", help="every event in --status")
    replay.add_argument(
        "--status",
        action="append",
        choices=("pending", "deferred", "dead"),
        help="which events --all takes (repeatable; default: pending, deferred and dead)",
    )

    prune = commands.add_parser("prune", help="forget finished events older than N days")
    prune.add_argument("--older-than", type=float, required=True, metavar="DAYS")

    check = commands.add_parser("check", help="exit 1 when events need a person")
    check.add_argument("--max-dead", type=int, default=0)
    check.add_argument(
        "--max-pending-age",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="an open event older than this needs a person (default: %(default)s)",
    )

    def run(args: argparse.Namespace) -> int:
        return _run(args, out or sys.stdout, parser.print_help)

    parser.set_defaults(func=run)


def _run(args: argparse.Namespace, out: TextIO, usage: Callable[[], None]) -> int:
    command = args.webhooks_command
    if command is None:
        usage()
        return 2
    try:
        processor = _load_app(args.app) if args.app else None
        store = (
            processor.store if processor is not None else open_store(args.store, table=args.table)
        )
    except ConfigurationError:
        raise  # said by the paywire command, exit 2
    except Exception as exc:  # the database unreachable, the app failing to import
        sys.stderr.write(f"paywire: {type(exc).__name__}: {exc}\n")
        return 2
    try:
        if command == "list":
            return _list(store, args, out)
        if command == "show":
            return _show(store, args, out)
        if command == "replay":
            return _replay(store, processor, args, out)
        if command == "prune":
            removed = store.prune(older_than=args.older_than * 86400)
            out.write(f"pruned {removed} finished events older than {args.older_than:g} days\n")
            return 0
        return _check(store, args, out)
    finally:
        if processor is None:
            store.close()


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _select(
    store: EventStore, word: str, provider: str | None, limit: int | None
) -> list[StoredEvent]:
    if word == "failed":
        return store.events(
            statuses=("pending", "deferred"), provider=provider, limit=limit, failed_only=True
        )
    statuses: tuple[Any, ...] = {"open": ("pending", "deferred"), "all": ()}.get(word, (word,))
    return store.events(statuses=statuses, provider=provider, limit=limit)


def _as_dict(event: StoredEvent, *, body: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {
        "provider": event.provider,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "status": event.status,
        "attempts": event.attempts,
        "received_at": _when(event.received_at),
        "updated_at": _when(event.updated_at),
        "last_error": event.last_error,
        "leased_until": _when(event.lease_until) if event.lease_until else None,
    }
    if body:
        found["event"] = json.loads(event.event_json) if event.event_json else None
        found["raw_body"] = event.raw_body.decode("utf-8", "replace")
    return found


def _list(store: EventStore, args: argparse.Namespace, out: TextIO) -> int:
    events = _select(store, args.status, args.provider, args.limit)
    if args.json:
        for event in events:
            out.write(json.dumps(_as_dict(event)) + "\n")
        return 0
    if not events:
        out.write(f"no {args.status} events\n")
        return 0
    out.write(f"{'received (UTC)':19}  {'provider':10} {'status':9} {'tries':>5}  event\n")
    for event in events:
        error = f"  ! {event.last_error.splitlines()[0][:60]}" if event.last_error else ""
        out.write(
            f"{_when(event.received_at)}  {event.provider:10} {event.status:9} "
            f"{event.attempts:>5}  {event.event_id} ({event.event_type or '?'}){error}\n"
        )
    return 0


def _show(store: EventStore, args: argparse.Namespace, out: TextIO) -> int:
    event = store.get(args.provider, args.event_id)
    if event is None:
        sys.stderr.write(f"paywire: no {args.provider} event {args.event_id!r}\n")
        return 1
    found = _as_dict(event, body=True)
    if args.json:
        out.write(json.dumps(found, indent=2) + "\n")
        return 0
    for key, value in found.items():
        if key in ("event", "raw_body"):
            continue
        out.write(f"{key + ':':14}{value}\n")
    out.write("event:\n" + json.dumps(found["event"], indent=2) + "\n")
    out.write("raw body:\n" + found["raw_body"] + "\n")
    return 0


def _replay(
    store: EventStore,
    processor: WebhookProcessor | None,
    args: argparse.Namespace,
    out: TextIO,
) -> int:
    if (args.event_id is None) == (not args.all):
        sys.stderr.write("paywire: give an EVENT_ID or --all\n")
        return 2
    statuses = tuple(args.status or ("pending", "deferred", "dead"))
    if args.event_id is not None:
        chosen = [args.event_id]
    else:
        chosen = [e.event_id for e in store.events(statuses=statuses, provider=args.provider)]
    requeued = store.requeue(args.provider, args.event_id, statuses=statuses)
    if args.event_id is not None and requeued == 0:
        sys.stderr.write(
            f"paywire: no {args.provider} event {args.event_id!r} in {', '.join(statuses)}\n"
        )
        return 1
    if processor is None:
        out.write(f"{requeued} events back to pending; the workers will run them\n")
        return 0
    return _run_here(processor, args.provider, chosen, out)


def _run_here(processor: WebhookProcessor, provider: str, event_ids: list[str], out: TextIO) -> int:
    """Run each event's handlers once in this process, reporting progress."""
    done: dict[str, int] = {}
    last = time.monotonic()
    for count, event_id in enumerate(event_ids, 1):
        result = processor.run_event(provider, event_id)
        outcome = "taken_by_a_worker" if result is None else result.outcome
        done[outcome] = done.get(outcome, 0) + 1
        if time.monotonic() - last >= _PROGRESS_EVERY:
            last = time.monotonic()
            sys.stderr.write(f"replayed {count}/{len(event_ids)} {_summary(done)}\n")
    out.write(f"replayed {len(event_ids)} events: {_summary(done) or 'nothing to do'}\n")
    failed = sum(n for outcome, n in done.items() if outcome != "processed")
    return 1 if failed else 0


def _summary(done: dict[str, int]) -> str:
    return ", ".join(f"{outcome} {n}" for outcome, n in sorted(done.items()))


def _check(store: EventStore, args: argparse.Namespace, out: TextIO) -> int:
    counts = store.counts()
    dead = counts.get("dead", 0)
    oldest = store.pending(limit=1)
    age = time.time() - oldest[0].received_at if oldest else 0.0
    out.write(
        "events: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none") + "\n"
    )
    problems = []
    if dead > args.max_dead:
        problems.append(f"{dead} dead events (more than {args.max_dead})")
    if age > args.max_pending_age:
        problems.append(f"an open event waits for {age:.0f} s (more than {args.max_pending_age:g})")
    for problem in problems:
        out.write(f"NEEDS ATTENTION: {problem}\n")
    if not problems:
        out.write("ok\n")
    return 1 if problems else 0
