"""No access token — nor anything shaped like one — is in a recorded fixture.

The contract harness keeps the OAuth exchange out of recordings, and lists every token the
sandbox issued among its secrets so the suite refuses to write one; this scans what is
committed, for the token shape the sandbox actually issues and for anything credential-shaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paywire import redact
from paywire_paypal.contract import REPLAY_ACCESS_TOKEN, SANDBOX_CLIENT_SECRET

FIXTURES = Path(__file__).parent / "fixtures"
# PayPal's access tokens (live, PayPal's sandbox, paywire's sandbox) start with A21AA.
TOKEN_SHAPE = re.compile(r"A21AA[A-Za-z0-9_.~+/=-]{16,}")
_ALLOWED_TOKENS = frozenset({REPLAY_ACCESS_TOKEN, "[REDACTED]"})


def _fixture_files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.json"))


def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                yield str(key), child
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def problems(text: str) -> list[str]:
    """What in one fixture's text looks like a credential (descriptions, never the values)."""
    found: list[str] = []
    if TOKEN_SHAPE.search(text):
        found.append("a PayPal access token (A21AA…)")
    if redact(text.replace("[REDACTED]", "")) != text.replace("[REDACTED]", ""):
        found.append("a credential-shaped value (bearer token, API key)")
    if SANDBOX_CLIENT_SECRET in text:
        found.append("the harness's client secret")
    try:
        data = json.loads(text)
    except ValueError:
        return found
    for key, value in _walk(data):
        if key.lower() in {"access_token", "authorization"} and value not in _ALLOWED_TOKENS:
            found.append(f"a {key!r} value")
    return found


def test_the_fixtures_exist() -> None:
    assert len(_fixture_files()) >= 18


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: p.name)
def test_no_token_in_a_fixture(path: Path) -> None:
    assert problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "text",
    [
        '{"access_token": "A21AAFXpAaD8LIAbhTCPYNlKT3-CGKD7AeJotncSuSxcJJ_Tr"}',
        '{"access_token": "short-but-still-a-token"}',
        '{"headers": {"authorization": "Bearer abc.def.ghi"}}',
        '{"body": "sent with Bearer 0123456789abcdefghij0123"}',
        "token A21AAabcdefghijklmnopqrstuvwxyz in an error message",
        f'{{"form": "client_secret={SANDBOX_CLIENT_SECRET}"}}',
    ],
)
def test_the_scan_finds_tokens(text: str) -> None:
    assert problems(text)


def test_the_scan_lets_stand_ins_and_redactions_pass() -> None:
    assert problems(json.dumps({"access_token": REPLAY_ACCESS_TOKEN})) == []
    assert problems(json.dumps({"access_token": "[REDACTED]", "id": "8kk8451t"})) == []


def test_the_scan_knows_the_shape_the_sandbox_issues() -> None:
    sandbox = pytest.importorskip("paywire_sandbox")
    with sandbox.run_sandbox() as running:
        response = httpx.post(
            running.url + "/paypal/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("fixture-scan-client", "fixture-scan-secret"),
            timeout=10,
        )
    token = response.json()["access_token"]
    assert TOKEN_SHAPE.fullmatch(token)
    assert problems(json.dumps({"access_token": token}))
    assert problems(f"... {token} ...")
