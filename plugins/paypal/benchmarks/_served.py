"""What the PayPal benchmarks share: the sandbox served in its own process (as
``paywire sandbox serve`` serves it, PayPal fake only), a provider pointed at it, and a vaulted
wallet to charge."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

import paywire
from paywire_paypal import PayPalConfig, PayPalProvider

CLIENT_ID = "paywire-bench-client"
CLIENT_SECRET = "paywire-bench-secret-000000"  # noqa: S105 - a local sandbox only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def served_sandbox() -> Iterator[str]:
    """The sandbox in a subprocess on 127.0.0.1; yields its root URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "paywire_sandbox._cli", "serve",
        "--port", str(port), "--fake", "paypal",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited with {process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the sandbox did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def provider(root: str, **settings: Any) -> PayPalProvider:
    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={},
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url=root + "/paypal",
        **settings,
    )
    return PayPalProvider.create(config)


def vaulted_wallet(root: str) -> paywire.SavedPaymentMethod:
    """A PayPal wallet the sandbox vaulted for the bench merchant; its charges succeed."""
    answer = httpx.post(
        root + "/_sandbox/paypal/payment-tokens",
        json={"outcome": "success", "merchant": CLIENT_ID},
        timeout=30,
    )
    answer.raise_for_status()
    return paywire.SavedPaymentMethod("paypal", answer.json()["id"])


def access_token(root: str) -> str:
    """A bearer token for raw calls, fetched as the provider fetches its own."""
    answer = httpx.post(
        root + "/paypal/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=30,
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token
