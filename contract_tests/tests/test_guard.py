"""The guard: standard tests cannot be overridden or deleted without a reasoned xfail."""

from __future__ import annotations

import pytest
from _inner import failure_text, prepare, run, suite_module

from paywire_contract import ContractEnv, ProviderContractSuite, standard_tests, weakened_tests

GUARD = "test_standard_tests_not_weakened"


def _guard_run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module(body=body))
    return run(pytester, "-k", GUARD)


def test_untouched_subclass_passes_the_guard(pytester: pytest.Pytester) -> None:
    result = _guard_run(pytester, "")
    result.assert_outcomes(passed=1)


def test_override_without_xfail_fails(pytester: pytest.Pytester) -> None:
    body = "    def test_charge_declined(self, paywire_env):\n        pass\n"
    result = _guard_run(pytester, body)
    result.assert_outcomes(failed=1)
    assert (
        "TestMini.test_charge_declined overrides the standard test without "
        "pytest.mark.xfail(reason=...) giving a reason"
    ) in failure_text(result)


def test_deleted_standard_test_fails(pytester: pytest.Pytester) -> None:
    result = _guard_run(pytester, "    test_refund_full = None\n")
    result.assert_outcomes(failed=1)
    assert "TestMini.test_refund_full deletes the standard test (set to None)" in failure_text(
        result
    )


def test_xfail_without_reason_fails(pytester: pytest.Pytester) -> None:
    body = (
        "    @pytest.mark.xfail(reason='  ')\n"
        "    def test_charge_declined(self, paywire_env):\n        raise AssertionError\n"
        "    @pytest.mark.skip(reason='not today')\n"
        "    def test_refund_full(self, paywire_env):\n        pass\n"
    )
    result = _guard_run(pytester, body)
    result.assert_outcomes(failed=1)
    text = failure_text(result)
    assert "TestMini.test_charge_declined overrides the standard test without" in text
    assert "TestMini.test_refund_full overrides the standard test without" in text


def test_reasoned_xfail_override_is_allowed(pytester: pytest.Pytester) -> None:
    body = (
        "    @pytest.mark.xfail(reason='the provider has no declines in test mode', strict=True)\n"
        "    def test_charge_declined(self, paywire_env):\n        raise AssertionError('no')\n"
    )
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module(body=body))
    result = run(pytester, "-k", f"{GUARD} or test_charge_declined")
    result.assert_outcomes(passed=1, xfailed=2)


def test_class_level_skip_fails(pytester: pytest.Pytester) -> None:
    prepare(pytester)
    module = suite_module().replace(
        "class TestMini(", "@pytest.mark.skip(reason='later')\nclass TestMini("
    )
    # A skipped class skips the guard too, so the plugin cannot rely on it: check the function.
    pytester.makepyfile(test_contract=module)
    result = run(pytester, "-k", GUARD)
    result.assert_outcomes(skipped=1)
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "inner_contract", pytester.path / "test_contract.py"
    )
    assert spec is not None
    assert spec.loader is not None
    inner = importlib.util.module_from_spec(spec)
    sys.modules["inner_contract"] = inner
    try:
        spec.loader.exec_module(inner)
        problems = weakened_tests(inner.TestMini, ProviderContractSuite, standard_tests())
    finally:
        del sys.modules["inner_contract"]
    assert problems == [
        "TestMini is marked skip as a whole; mark single tests xfail(reason=...) instead"
    ]


def test_overriding_the_guard_fails_every_test(pytester: pytest.Pytester) -> None:
    body = (
        f"    def {GUARD}(self):\n        pass\n"
        "    def test_refund_full(self, paywire_env):\n        pass\n"
    )
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module(body=body))
    result = run(pytester, "-k", f"{GUARD} or test_charge_succeeds")
    result.assert_outcomes(errors=3)
    text = failure_text(result)
    assert f"TestMini.{GUARD} overrides the standard test without" in text
    assert "TestMini.test_refund_full overrides the standard test without" in text


def test_weakened_tests_reports_mixins_and_removed_names() -> None:
    class Mixin:
        def test_refund_full(self, paywire_env: ContractEnv) -> None:
            """An unmarked override coming from a mixin."""

    class Suite(Mixin, ProviderContractSuite):
        pass

    problems = weakened_tests(Suite, ProviderContractSuite, [*standard_tests(), "test_gone"])
    assert problems == [
        "Mixin.test_refund_full overrides the standard test without pytest.mark.xfail(reason=...) "
        "giving a reason",
        "standard test test_gone was removed from ProviderContractSuite",
    ]


def test_replacing_a_checking_helper_fails(pytester: pytest.Pytester) -> None:
    body = "    @staticmethod\n    def _check_charge(env, result, amount):\n        pass\n"
    result = _guard_run(pytester, body)
    result.assert_outcomes(failed=1)
    assert "TestMini._check_charge replaces a checking helper of the suite" in failure_text(result)


def _declaring(exceptions: dict[str, str], bugs: list[str]) -> str:
    return (
        "from minipay import MiniHarness\n"
        "from paywire_contract import ProviderContractSuite\n\n"
        "class Declaring(MiniHarness):\n"
        f"    declared_exceptions = {exceptions!r}\n\n"
        "class TestMini(ProviderContractSuite):\n"
        f"    harness = Declaring({bugs!r})\n"
    )


def test_a_declared_exception_runs_as_a_reasoned_xfail_on_the_paths_it_names(
    pytester: pytest.Pytester,
) -> None:
    prepare(pytester)
    exceptions = {"test_charge_succeeds[async]": "the async charge is known to be wrong"}
    pytester.makepyfile(test_contract=_declaring(exceptions, ["charge_amount"]))
    result = run(pytester, "-k", f"{GUARD} or test_charge_succeeds")
    result.assert_outcomes(passed=1, failed=1, xfailed=1)
    text = failure_text(result)
    assert "FAILED test_contract.py::TestMini::test_charge_succeeds[sync]" in text
    assert (
        "XFAIL test_contract.py::TestMini::test_charge_succeeds[async] - declared exception: "
        "the async charge is known to be wrong"
    ) in text


def test_a_declared_exception_that_passes_fails(pytester: pytest.Pytester) -> None:
    """Strict: an exception the provider no longer needs must be removed."""
    prepare(pytester)
    exceptions = {"test_refund_full": "refunds used to be broken"}
    pytester.makepyfile(test_contract=_declaring(exceptions, []))
    result = run(pytester, "-k", "test_refund_full")
    result.assert_outcomes(failed=2)
    assert "[XPASS(strict)] declared exception: refunds used to be broken" in failure_text(result)


def test_declared_exceptions_must_name_checks_and_give_reasons(pytester: pytest.Pytester) -> None:
    prepare(pytester)
    exceptions = {"test_no_such_check": "why not", "test_refund_full": " ", "test_x[later]": "?"}
    pytester.makepyfile(test_contract=_declaring(exceptions, []))
    result = run(pytester, "-k", GUARD)
    result.assert_outcomes(failed=1)
    text = failure_text(result)
    assert "declared_exceptions names 'test_no_such_check', which is no standard check" in text
    assert "declared_exceptions gives 'test_refund_full' no reason" in text
    assert "declared_exceptions names 'test_x[later]', which is no standard check" in text
