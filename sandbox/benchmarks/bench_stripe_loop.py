"""Throughput of the sandbox's Stripe fake against localstripe, on the same request loop.

Run: ``python sandbox/benchmarks/bench_stripe_loop.py [--seconds 10]``.

Both servers run as subprocesses on 127.0.0.1; one client on one keep-alive connection
(``http.client``, so the client is not the bottleneck) repeats, for N seconds each:

    POST /v1/payment_intents          amount=2000&currency=usd&payment_method=pm_card_visa
    POST /v1/payment_intents/{id}/confirm

form-encoded with Bearer auth, checking each answer's status. It prints requests per second for
each server and the ratio (targets: >= 1,500 req/s for the sandbox, >= 20x localstripe).

The sandbox is served exactly as ``paywire-sandbox serve`` serves it (uvicorn, httptools, no
access log) with only the Stripe fake. localstripe is installed into its own virtual environment
(it pins its own dependencies), created on first use in ``--bench-venv`` (default: a cache folder,
printed).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

API_KEY = "sk_test_bench_0123456789"
CREATE_BODY = urlencode({"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa"})
HEADERS = {
    "Authorization": f"Bearer {API_KEY}",
    "Content-Type": "application/x-www-form-urlencoded",
}


def default_bench_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "paywire-sandbox" / "bench-venv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def ensure_localstripe(venv_dir: Path) -> Path:
    """The localstripe executable, installing it into ``venv_dir`` first if needed."""
    executable = venv_dir / "bin" / "localstripe"
    print(f"localstripe virtualenv: {venv_dir}")
    if not executable.exists():
        print("creating it and installing localstripe (one time)...", flush=True)
        venv.create(venv_dir, with_pip=True)
        subprocess.run(
            [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "-q", "localstripe"],
            check=True,
        )
    return executable


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout:g}s")


@contextmanager
def serve(command: list[str], port: int) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def post(conn: http.client.HTTPConnection, path: str, body: str) -> dict[str, object]:
    conn.request("POST", path, body=body, headers=HEADERS)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"POST {path} -> {response.status}: {data[:300]!r}")
    result: dict[str, object] = json.loads(data)
    return result


def run_loop(port: int, prefix: str, seconds: float) -> float:
    """Requests per second of the create+confirm loop, after a short warm-up."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for _ in range(50):  # warm-up: imports, caches, first connection
            intent = post(conn, f"{prefix}/v1/payment_intents", CREATE_BODY)
            post(conn, f"{prefix}/v1/payment_intents/{intent['id']}/confirm", "")
        requests = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            intent = post(conn, f"{prefix}/v1/payment_intents", CREATE_BODY)
            confirmed = post(conn, f"{prefix}/v1/payment_intents/{intent['id']}/confirm", "")
            if confirmed.get("status") != "succeeded":
                raise RuntimeError(f"confirm did not succeed: {confirmed.get('status')!r}")
            requests += 2
        return requests / (time.perf_counter() - started)
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per server (default: 10)")
    parser.add_argument("--bench-venv", type=Path, default=default_bench_venv())
    parser.add_argument("--skip-localstripe", action="store_true")
    args = parser.parse_args()

    port = free_port()
    sandbox_cmd = [
        sys.executable, "-m", "paywire_sandbox._cli", "serve",
        "--port", str(port), "--fake", "stripe",
    ]  # fmt: skip
    with serve(sandbox_cmd, port):
        sandbox_rps = run_loop(port, "/stripe", args.seconds)
    print(f"paywire sandbox: {sandbox_rps:8.0f} req/s")
    if args.skip_localstripe:
        return 0 if sandbox_rps >= 1500 else 1

    executable = ensure_localstripe(args.bench_venv)
    port = free_port()
    with serve([str(executable), "--port", str(port), "--from-scratch"], port):
        localstripe_rps = run_loop(port, "", args.seconds)
    ratio = sandbox_rps / localstripe_rps
    print(f"localstripe:     {localstripe_rps:8.0f} req/s")
    print(f"ratio:           {ratio:8.1f}x")
    ok = sandbox_rps >= 1500 and ratio >= 20
    print("targets (>= 1,500 req/s, >= 20x):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
