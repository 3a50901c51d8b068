"""Fixtures for the webhook tests: the acme provider, a hand-moved clock, and every event store —
PostgreSQL included, on a real server.

PostgreSQL: with ``PAYWIRE_TEST_POSTGRES_DSN`` set, the tests use that server (each test in its
own table, dropped afterwards). Otherwise a throw-away cluster is created with ``initdb`` and
started with ``pg_ctl`` (Debian's ``postgresql`` package) in a temporary directory on a free port,
as the ``postgres`` user when the tests run as root. When no server can be had, the PostgreSQL
tests are skipped with the reason — except in CI (``CI`` set), where that is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from webhook_support import AcmeProvider, ManualClock, StoreFactory, make_provider

from paywire.webhooks import EventStore, InMemoryEventStore, SQLiteEventStore

STORE_KINDS = ["memory", "sqlite", "sqlite-record", "postgres"]
#: Stores that write a new event before its handlers run (the others hold it under a lock and
#: write it once, with its outcome).
RECORDING_KINDS = {"memory", "sqlite-record", "postgres"}


class _CannotStart(Exception):
    pass


@attrs.frozen
class _Cluster:
    bindir: Path
    data: Path
    root: Path
    as_user: tuple[str, ...]
    dsn: str

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _bindir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
        reverse=True,
    )
    found = candidates[0] if candidates else shutil.which("initdb")
    if not found:
        raise _CannotStart("initdb was not found (apt-get install -y postgresql)")
    return Path(found).resolve().parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start_cluster() -> _Cluster:
    bindir = _bindir()
    as_user: tuple[str, ...] = ()
    owner: int | None = None
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root.
        try:
            owner = pwd.getpwnam("postgres").pw_uid
        except KeyError:
            raise _CannotStart("running as root and there is no 'postgres' user") from None
        runuser = shutil.which("runuser")
        if runuser is None:
            raise _CannotStart("running as root and runuser is missing")
        as_user = (runuser, "-u", "postgres", "--")
    # Not under pytest's tmp dir: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="paywire-pg-"))
    data = root / "data"
    if owner is not None:
        os.chown(root, owner, -1)
    port = _free_port()

    def run(*args: str) -> None:
        try:
            done = subprocess.run(
                [*as_user, *args], capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise _CannotStart(f"{Path(args[0]).name} failed: {exc}") from None
        if done.returncode != 0:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise _CannotStart(
                f"{Path(args[0]).name} exited {done.returncode}: {done.stderr.strip()} {tail}"
            )

    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-locale",
        "--no-sync",
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c full_page_writes=off -c synchronous_commit=off -c max_connections=60"
    )
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(root / "server.log"),
        "-o",
        options,
        "-w",
        "-t",
        "60",
        "start",
    )
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=10"
    return _Cluster(bindir, data, root, as_user, dsn)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A DSN for a live PostgreSQL server (see the module docstring)."""
    given = os.environ.get("PAYWIRE_TEST_POSTGRES_DSN")
    if given:
        yield given
        return
    try:
        cluster = _start_cluster()
    except _CannotStart as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the PostgreSQL store, but no server could start: {exc}")
        pytest.skip(
            f"no PostgreSQL server: {exc}; install Debian's postgresql package or set "
            "PAYWIRE_TEST_POSTGRES_DSN"
        )
    try:
        yield cluster.dsn
    finally:
        cluster.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def acme() -> Iterator[AcmeProvider]:
    provider = make_provider()
    yield provider
    provider.close()


@pytest.fixture
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Iterator[StoreFactory]:
    """Builds stores of the kind the test is parametrized with (``store_kind``), all sharing
    one database per test; closes them afterwards."""
    kind: str = request.param if hasattr(request, "param") else "memory"
    built: list[EventStore] = []
    table = "events_" + uuid.uuid4().hex[:12]
    dsn = request.getfixturevalue("postgres_dsn") if kind == "postgres" else ""
    memory = InMemoryEventStore(clock=clock)

    def factory(**options: Any) -> EventStore:
        options.setdefault("clock", clock)
        store: EventStore
        if kind == "memory":
            return memory
        if kind in ("sqlite", "sqlite-record"):
            if kind == "sqlite-record":
                options.setdefault("new_events", "record")
            store = SQLiteEventStore(tmp_path / "events.sqlite3", table=table, **options)
        else:
            from paywire.webhooks import PostgresEventStore

            store = PostgresEventStore(dsn, table=table, **options)
        built.append(store)
        return store

    yield factory
    for store in built:
        store.close()
    if kind == "postgres":
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn, contextlib.suppress(psycopg.Error):
            conn.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.fixture
def store(make_store: StoreFactory) -> EventStore:
    return make_store()


@pytest.fixture
def records_in_flight(request: pytest.FixtureRequest) -> bool:
    """Whether the test's store writes a new event before its handlers run."""
    return request.node.callspec.params.get("make_store", "memory") in RECORDING_KINDS


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Every test that uses a store runs once per kind of store.
    if "make_store" in metafunc.fixturenames and "store_kind" not in metafunc.fixturenames:
        kinds = getattr(metafunc.function, "store_kinds", STORE_KINDS)
        metafunc.parametrize("make_store", kinds, indirect=True)
