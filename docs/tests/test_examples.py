"""The other pages' examples run: getting started, and the testing how-to's tests in each mode."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES


def test_getting_started_takes_a_payment(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(EXAMPLES / "getting_started.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "send the customer to http://127.0.0.1:" in out
    assert "paid: {'INV-1': '9.90 EUR'}" in out


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_testing_howto_records_then_replays(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    sandbox = _pytest("test_billing.py")
    assert sandbox.returncode == 0, sandbox.stdout + sandbox.stderr
    assert "5 passed" in sandbox.stdout
    record = _pytest(
        "test_billing.py::TestRenewals", "--paywire-mode=record", f"--paywire-fixtures={fixtures}"
    )
    assert record.returncode == 0, record.stdout + record.stderr
    assert sorted(p.name for p in fixtures.glob("*.json")) == [
        "test_a_renewal[declines-failed].json",
        "test_a_renewal[needs_authentication-needs_authentication].json",
        "test_a_renewal[succeeds-paid].json",
        "test_a_renewal_that_needs_the_customer_is_recovered.json",
    ]
    replay = _pytest(
        "test_billing.py::TestRenewals", "--paywire-mode=replay", f"--paywire-fixtures={fixtures}"
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "4 passed" in replay.stdout
