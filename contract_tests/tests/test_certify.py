"""``paywire certify NAME``: finds the harness by entry point, runs the suite, reports per
capability and exits non-zero on failure."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from _inner import TESTS
from legacy import EXCEPTIONS

from paywire_contract import HarnessFailure, harness_names, load_harness, load_harnesses
from paywire_contract._cli import configure, run

DIST_INFO = "minipay_contract-0.1.dist-info"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """minipay "installed": a dist-info declaring its harnesses and its sandbox fake."""
    info = tmp_path / DIST_INFO
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: minipay-contract\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[paywire_contract]\n"
        "minipay = legacy:LegacyMiniHarness\n"
        "minibare = minipay:MiniHarness\n"
        "minibroken = minipay:BROKEN_HARNESS\n"
        "notaharness = minipay:RULES\n"
        "minihooked = minihooked\n"
        "minifailing = minifailing\n"
        "[paywire_sandbox]\n"
        "minipay = minipay\n"
    )
    (tmp_path / "minihooked.py").write_text(
        "from minipay import MiniHarness\n"
        "from paywire_contract import hookimpl\n\n"
        "@hookimpl\n"
        "def paywire_contract_harness():\n"
        "    return MiniHarness()\n"
    )
    failing = "raise RuntimeError('token sk_test_abcdefghijklmnop')\n"
    (tmp_path / "minifailing.py").write_text(failing)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(TESTS))
    monkeypatch.delenv("PAYWIRE_CONTRACT_HARNESSES", raising=False)
    return tmp_path


def _certify(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="paywire certify")
    configure(parser)
    args = parser.parse_args(argv)
    out = io.StringIO()
    status = args.func(args) if args.func is not run else run(args, out)
    return status, out.getvalue()


def test_harness_found_by_entry_point(installed: Path) -> None:
    assert {"minipay", "minibroken", "notaharness"} <= set(harness_names())
    assert type(load_harness("minipay")).__name__ == "LegacyMiniHarness"
    with pytest.raises(TypeError, match=r"is not a paywire_contract\.Harness"):
        load_harness("notaharness")
    with pytest.raises(LookupError, match="no contract harness installed for 'nope'"):
        load_harness("nope")


def test_harnesses_load_through_pluggy_and_a_broken_one_spares_the_others(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures: list[HarnessFailure] = []
    found = load_harnesses(failures=failures)
    # A class, an instance and a module implementing the hook all give a harness.
    assert type(found["minipay"]).__name__ == "LegacyMiniHarness"
    assert type(found["minibare"]).__name__ == "MiniHarness"
    assert type(found["minihooked"]).__name__ == "MiniHarness"
    assert "minibroken" in found
    reasons = {failure.name: failure.reason for failure in failures}
    assert set(reasons) == {"minifailing", "notaharness"}
    assert "failed to import: RuntimeError" in reasons["minifailing"]
    assert "sk_test_abcdefghijklmnop" not in reasons["minifailing"]
    with pytest.raises(ImportError, match="failed to import"):
        load_harness("minifailing")
    monkeypatch.setenv("PAYWIRE_CONTRACT_HARNESSES", "minihooked")
    assert set(load_harnesses()) == {"minihooked"}
    assert type(load_harness("minipay")).__name__ == "LegacyMiniHarness"  # named: always looked at


def test_certify_passes_and_reports_per_capability(installed: Path) -> None:
    status, out = _certify("minipay")
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0] == "paywire certify minipay (mode: sandbox)"
    assert lines[1] == (
        "  provider: minipay.MiniProvider (paywire API undeclared; its coroutines run its sync "
        "code in a worker thread)"
    )
    assert lines[2] == (
        "  shape: checkout_events=separate, charge_settlement=immediate, "
        "refund_settlement=immediate, signature_timestamp=True, error_codes=True, "
        "webhook_authentication=signature"
    )
    assert any(line.split()[:2] == ["charge", "pass"] for line in lines), out
    assert any(line.split()[:2] == ["webhooks", "pass"] for line in lines), out
    # Each check runs on both paths.
    assert "skipped: test_no_secret_in_fixtures[sync]: no recorded fixtures (no folder " in out
    assert "skipped: test_no_secret_in_fixtures[async]: no recorded fixtures (no folder " in out
    verdict = next(line for line in lines if line.startswith("minipay: "))
    assert verdict.startswith("minipay: certified with 1 declared exception ("), out
    assert "2 xfailed" in verdict
    declared = [
        f"  declared exception {check}: {reason}" for check, reason in sorted(EXCEPTIONS.items())
    ]
    assert lines[-len(declared) :] == declared


def test_certify_fails_a_plugin_whose_exceptions_are_not_declared(installed: Path) -> None:
    status, out = _certify("minibare", "-k", "checkout_saves_method or charge_succeeds")
    assert status == 1, out
    assert "failed: test_checkout_saves_method[sync]: no event delivered after a checkout " in out
    assert "minibare: NOT CERTIFIED (2 failed, 2 passed)" in out


def test_certify_fails_with_the_reason(installed: Path) -> None:
    status, out = _certify("minibroken", "-k", "charge_succeeds or webhook_valid")
    assert status == 1, out
    assert any(line.split()[:2] == ["charge", "FAIL"] for line in out.splitlines()), out
    for path in ("sync", "async"):
        assert (
            f"failed: test_charge_succeeds[{path}]: charge_payment_method returned 10.00 USD, "
            "expected 12.34 USD"
        ) in out
    assert "minibroken: NOT CERTIFIED (2 failed, 2 passed)" in out


def test_certify_record_then_replay(installed: Path, tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    status, out = _certify("minipay", "--mode", "record", "--fixtures", str(fixtures))
    assert status == 0, out
    assert (fixtures / "test_refund_two_partials.json").exists(), out
    status, out = _certify("minipay", "--mode", "replay", "--fixtures", str(fixtures))
    assert status == 0, out
    assert "secrets                  pass" in out
    assert "minipay: certified with 1 declared exception (" in out


def test_certify_usage_errors(installed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _certify("nope")[0] == 2
    assert "no contract harness installed for 'nope'" in capsys.readouterr().err
    assert _certify("minipay", "--mode", "replay")[0] == 2
    assert "--mode replay needs --fixtures DIR" in capsys.readouterr().err
    status, out = _certify("--list")
    assert status == 0
    assert "minipay" in out


def test_paywire_cli_finds_the_certify_command(installed: Path) -> None:
    from paywire._cli import main

    assert main(["certify", "--list"]) == 0
    assert main(["certify", "nope"]) == 2
