"""Running the tutorials: the embedded sandbox, and a tutorial shop served as its page says."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from paywire_contract import Harness
from paywire_sandbox import RunningSandbox, run_sandbox

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """The embedded sandbox, serving every installed fake."""
    with run_sandbox() as running:
        yield running


def harnesses() -> dict[str, Harness]:
    """The installed providers' contract harnesses: how a test plays the customer in the
    sandbox (never used by the shops themselves)."""
    found: dict[str, Harness] = {}
    for ep in importlib.metadata.entry_points(group="paywire_contract"):
        harness = ep.load()
        found[ep.name] = harness() if isinstance(harness, type) else harness
    return found


def provider_environment(settings: Mapping[str, Any], name: str) -> dict[str, str]:
    """``PAYWIRE_<PROVIDER>_<SETTING>`` variables for ``settings`` (how an app is configured)."""
    env: dict[str, str] = {}
    for key, value in settings.items():
        if value is None:
            continue
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        env[f"PAYWIRE_{name.upper()}_{key.upper()}"] = text
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Shop:
    """A tutorial shop running in its own process, as its serve script starts it."""

    def __init__(self, script: str, workdir: Path, environ: Mapping[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            **environ,
            "PORT": str(self.port),
            "SHOP_DATABASE": str(workdir / "shop.sqlite3"),
            "SHOP_WEBHOOK_EVENTS": str(workdir / "webhooks.sqlite3"),
            # The interpreter running the tests finds uvicorn / flask and the shop's modules.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(EXAMPLES),
        }
        self.log = workdir / "shop.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["bash", str(EXAMPLES / script)],
                cwd=EXAMPLES,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the shop exited: {self.log.read_text(errors='replace')}")
            try:
                httpx.get(f"{self.url}/thanks", timeout=1.0)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            return
        raise TimeoutError(f"the shop did not start: {self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        """Stop the shop's process group (the script and the server it started)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()

