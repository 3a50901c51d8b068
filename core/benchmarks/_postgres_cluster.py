"""A throw-away PostgreSQL cluster for the benchmarks (Debian's ``postgresql`` package): initdb
in a temporary directory, started on a free port, as the ``postgres`` user when run as root.

``durable=True`` keeps PostgreSQL's defaults that make a commit durable (``fsync=on``,
``synchronous_commit=on``): what the benchmarks measure. (The test suite's cluster turns them
off, for speed.)
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import attrs


@attrs.frozen
class Cluster:
    """A running cluster; :meth:`stop` removes it."""

    bindir: Path
    root: Path
    as_user: tuple[str, ...]
    dsn: str

    def stop(self) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.root / "data"),
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


def start_cluster(*, durable: bool = True, max_connections: int = 200) -> Cluster:
    """Start a cluster; raises ``RuntimeError`` saying why it cannot."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or [shutil.which("initdb") or ""]
    if not found[-1]:
        raise RuntimeError("initdb not found: apt-get install -y postgresql")
    bindir = Path(found[-1]).resolve().parent
    as_user: tuple[str, ...] = ()
    root = Path(tempfile.mkdtemp(prefix="paywire-bench-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ("runuser", "-u", "postgres", "--")
        os.chown(root, pwd.getpwnam("postgres").pw_uid, -1)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = root / "data"
    subprocess.run(
        [
            *as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}"
    )
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-o",
            options,
            "-w",
            "start",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    return Cluster(bindir, root, as_user, dsn)
