"""Record, replay and live modes, run in inner sessions against minipay."""

from __future__ import annotations

import json

import pytest
from _inner import failure_text, prepare, run, suite_module

from paywire_contract import RECEIVER_ORIGIN, SANDBOX_ORIGIN

FIXTURES = "fixtures/contract"


def _record(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module())
    return run(pytester, "--paywire-mode=record", *args)


def test_record_then_replay_without_sandbox(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = _record(pytester)
    assert recorded.parseoutcomes().get("failed") is None, failure_text(recorded)
    folder = pytester.path / FIXTURES
    files = sorted(p.name for p in folder.glob("*.json"))
    assert "test_charge_succeeds.json" in files
    assert "test_checkout_completion_sends_webhooks.json" in files
    # Tests that make no HTTP call get no fixture.
    assert "test_webhook_tampered_body.json" not in files

    checkout = json.loads((folder / "test_checkout_completion_sends_webhooks.json").read_text())
    text = json.dumps(checkout)
    assert "127.0.0.1" not in text  # random ports are replaced by fixed placeholder origins
    assert f"{RECEIVER_ORIGIN}/webhooks" in text
    assert SANDBOX_ORIGIN in text
    assert "whsec_minipay" not in text
    assert "sk_test_minipay" not in text
    assert [w["headers"]["mini-signature"][:2] for w in checkout["webhooks"]] == ["t="] * 3

    # Replay must not touch a sandbox: make starting one impossible.
    import paywire_sandbox

    def no_sandbox(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay started a sandbox")

    monkeypatch.setattr(paywire_sandbox, "run_sandbox", no_sandbox)
    replayed = run(pytester, "--paywire-mode=replay")
    outcomes = replayed.parseoutcomes()
    assert outcomes.get("failed") is None, failure_text(replayed)
    assert outcomes.get("errors") is None, failure_text(replayed)
    assert outcomes["passed"] >= 30


def test_replay_request_without_recording_fails(pytester: pytest.Pytester) -> None:
    _record(pytester, "-k", "test_refund_full")
    path = pytester.path / FIXTURES / "test_refund_full.json"
    data = json.loads(path.read_text())
    refunds = [i for i in data["interactions"] if i["request"]["path"] == "/v1/refunds"]
    refunds[0]["request"]["path"] = "/v1/refund-elsewhere"
    path.write_text(json.dumps(data))
    result = run(pytester, "--paywire-mode=replay", "-k", "test_refund_full")
    result.assert_outcomes(failed=2)
    text = failure_text(result)
    assert "replay: no recorded interaction for provider POST /v1/refunds" in text
    assert "Re-record with --paywire-mode=record" in text


def test_replay_unused_interaction_fails(pytester: pytest.Pytester) -> None:
    _record(pytester, "-k", "test_charge_succeeds")
    path = pytester.path / FIXTURES / "test_charge_succeeds.json"
    data = json.loads(path.read_text())
    data["interactions"].append(data["interactions"][-1])
    path.write_text(json.dumps(data))
    result = run(pytester, "--paywire-mode=replay", "-k", "test_charge_succeeds")
    result.assert_outcomes(passed=2, errors=2)
    assert (
        "replay: 1 recorded interaction(s) in test_charge_succeeds.json were not used by the "
        "test: provider POST /v1/charges"
    ) in failure_text(result)


def test_replay_without_fixture_fails(pytester: pytest.Pytester) -> None:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module())
    result = run(pytester, "--paywire-mode=replay", "-k", "test_charge_succeeds")
    result.assert_outcomes(failed=2)
    assert "replay: no recorded interaction for control POST /minipay/methods" in failure_text(
        result
    )


def test_record_redacts_a_key_it_saw_sent_though_undeclared(pytester: pytest.Pytester) -> None:
    prepare(pytester)
    # The provider sends its API key in the body too, and the harness forgot to declare it
    # secret: the recorder learned it from the Authorization header, so it is redacted anyway.
    pytester.makepyfile(test_contract=suite_module(["key_in_body"], forget_api_key=True))
    result = run(pytester, "--paywire-mode=record", "-k", "test_charge_succeeds")
    result.assert_outcomes(passed=2)
    text = (pytester.path / FIXTURES / "test_charge_succeeds.json").read_text()
    assert '"key": "[REDACTED]"' in text
    assert "sk_test_minipay" not in text


def test_declared_secrets_are_redacted_in_fixtures(pytester: pytest.Pytester) -> None:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module(["key_in_body"]))
    result = run(pytester, "--paywire-mode=record", "-k", "test_charge_succeeds")
    result.assert_outcomes(passed=2)
    text = (pytester.path / FIXTURES / "test_charge_succeeds.json").read_text()
    assert '"key": "[REDACTED]"' in text
    assert "sk_test_minipay" not in text


def test_fixture_scan_finds_a_leaked_secret(pytester: pytest.Pytester) -> None:
    _record(pytester, "-k", "test_charge_succeeds")
    path = pytester.path / FIXTURES / "test_charge_succeeds.json"
    path.write_text(path.read_text().replace("succeeded", "whsec_minipaycontract000000"))
    result = run(pytester, "--paywire-mode=replay", "-k", "test_no_secret_in_fixtures")
    result.assert_outcomes(failed=2)
    assert (
        "fixtures contain secrets: test_charge_succeeds.json (secret #2 of the harness's "
        "secrets()" in failure_text(result)
    )


def test_live_mode_is_refused_in_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module())
    monkeypatch.setenv("CI", "true")
    result = run(pytester, "--paywire-mode=live")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "never run in CI" in failure_text(result)


def test_live_mode_without_keys_skips(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module())
    monkeypatch.delenv("CI", raising=False)
    result = run(pytester, "--paywire-mode=live", "-k", "test_charge_succeeds")
    result.assert_outcomes(skipped=2)
    assert "live mode: no minipay test-mode keys in the environment" in failure_text(result)


def test_mode_from_environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module())
    monkeypatch.setenv("PAYWIRE_CONTRACT_MODE", "replay")
    result = run(pytester, "-k", "test_charge_succeeds", mode_from_env=True)
    result.assert_outcomes(failed=2)  # replay with no fixture: proves the mode was replay
    assert "replay: no recorded interaction" in failure_text(result)
