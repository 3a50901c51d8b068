"""Every shape paywire does not ship (``shapes/``) is certified by the suite, on both paths:
recorded against the sandbox, then replayed from what was recorded — with no check skipped
but those its declared shape makes meaningless."""

from __future__ import annotations

import pytest
from _inner import HARNESSES, failure_text, prepare, suite_module
from shapes import HARNESSES as SHAPES

from paywire_contract._cli import CertifyReport

# The only checks a shape may skip, and why: fetch-authenticated notifications carry no
# signature, hence no headers to leave out and no secret to rotate.
SKIPPED = {
    "idonly": {
        "test_webhook_missing_headers": "authenticated by fetching: no headers",
        "test_webhook_secret_rotation": "authenticated by fetching: no secret",
    },
}


def _certify(pytester: pytest.Pytester, *args: str) -> tuple[CertifyReport, pytest.RunResult]:
    report = CertifyReport()
    result = pytester.runpytest("-p", "no:cacheprovider", "-q", "-rA", *args, plugins=[report])
    return report, result


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_is_certified_recorded_then_replayed(pytester: pytest.Pytester, shape: str) -> None:
    assert shape in HARNESSES
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module(harness=shape))
    for mode in ("record", "replay"):
        report, result = _certify(pytester, f"--paywire-mode={mode}")
        text = failure_text(result)
        assert report.verdict() == "certified", f"{mode}: {text}"
        skipped = {o.check: o.message for o in report.outcomes.values() if o.outcome == "skipped"}
        expected = SKIPPED.get(shape, {})
        assert set(skipped) == set(expected), f"{mode}: {skipped}"
        for check, why in expected.items():
            assert why in skipped[check]
        passed = [o for o in report.outcomes.values() if o.outcome == "passed"]
        assert len(passed) == len(report.outcomes) - 2 * len(expected), f"{mode}: {text}"
    fixtures = sorted(p.name for p in (pytester.path / "fixtures" / "contract").glob("*.json"))
    assert "test_checkout_completion_sends_webhooks.json" in fixtures
    assert not any("[" in name for name in fixtures)  # both paths share each check's fixture


def test_a_shape_with_a_bug_is_not_certified(pytester: pytest.Pytester) -> None:
    """The control: the same run says so when a shape's provider is wrong."""
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module(["single_no_invoice"], harness="singleevent"))
    report, result = _certify(pytester, "--paywire-mode=sandbox", "-k", "checkout_completion")
    assert report.verdict() == "NOT CERTIFIED", failure_text(result)
