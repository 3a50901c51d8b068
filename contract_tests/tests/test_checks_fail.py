"""Every check of the suite can fail: a minipay provider with one deliberate bug makes the
targeted standard test fail, with a message that says what was wrong."""

from __future__ import annotations

import pytest
from _inner import failure_text, prepare, run, suite_module

# (bug, the standard test that must catch it, what its failure message must say)
CASES = [
    (
        "charge_amount",
        "test_charge_succeeds",
        "charge_payment_method returned 10.00 USD, expected 12.34 USD",
    ),
    (
        "decline_type",
        "test_charge_declined",
        "charge_payment_method with the 'declines' method raised InvalidRequest",
    ),
    (
        "no_raw_code",
        "test_charge_declined",
        "CardDeclined from charge_payment_method ('declines' method) has no raw_code",
    ),
    (
        "expired_as_declined",
        "test_charge_expired_method",
        "raised CardDeclined: charge failed: expired_card",
    ),
    ("auth_as_declined", "test_charge_needs_authentication", "expected AuthenticationRequired"),
    (
        "refund_partial_ignored",
        "test_refund_partial",
        "create_refund returned 12.34 USD, expected 5.00 USD",
    ),
    (
        "refund_partial_ignored",
        "test_refund_two_partials",
        "create_refund returned 12.34 USD, expected 5.00 USD",
    ),
    (
        "already_refunded_type",
        "test_refund_more_than_left",
        "create_refund of 10.00 USD when 7.34 USD of 12.34 USD is left raised InvalidRequest",
    ),
    (
        "already_refunded_type",
        "test_refund_already_refunded",
        "create_refund of a fully refunded transaction raised InvalidRequest",
    ),
    (
        "detach_noop",
        "test_detach_then_not_found",
        "get_payment_method_details after detach returned PaymentMethodInfo(",
    ),
    (
        "details_wrong_id",
        "test_payment_method_details",
        "get_payment_method_details returned id 'pm_other', expected 'pm_000001'",
    ),
    (
        "details_wrong_id",
        "test_setup_session_saves_method",
        "get_payment_method_details returned id 'pm_other', expected 'pm_000002'",
    ),
    (
        "checkout_no_invoice",
        "test_checkout_session_created",
        "create_checkout_session returned invoice_id '', expected 'inv_contract_checkout_1'",
    ),
    (
        "webhook_no_invoice",
        "test_checkout_completion_sends_webhooks",
        "checkout.completed event carries invoice_id None, expected 'inv_contract_checkout_2'",
    ),
    (
        "webhook_amount",
        "test_checkout_completion_sends_webhooks",
        "checkout.completed event carries amount 1.00 USD, expected 12.34 USD",
    ),
    (
        "samples_wrong",
        "test_checkout_completion_sends_webhooks",
        "no payment.succeeded event among the webhooks delivered after checkout",
    ),
    (
        "samples_wrong",
        "test_webhook_samples_normalize",
        "'payment.ok' normalized to payment.pending, expected payment.succeeded",
    ),
    (
        "unknown_keyerror",
        "test_webhook_unknown_event",
        "handle_webhook_event of an unmapped event type raised KeyError",
    ),
    (
        "verify_accepts_anything",
        "test_webhook_tampered_body",
        "verify_webhook_signature accepted a tampered body; expected InvalidSignature",
    ),
    (
        "verify_accepts_anything",
        "test_webhook_wrong_secret",
        "verify_webhook_signature accepted a signature made with another secret",
    ),
    (
        "verify_no_tolerance",
        "test_webhook_stale_timestamp",
        "verify_webhook_signature accepted a timestamp one hour old",
    ),
    (
        "verify_keyerror",
        "test_webhook_missing_headers",
        "verify_webhook_signature with no headers at all raised KeyError",
    ),
    (
        "verify_decode",
        "test_webhook_garbage_raises_only_invalid_signature",
        "raised UnicodeDecodeError",
    ),
    (
        "no_idempotency",
        "test_idempotent_charge_same_key",
        "charging twice with the same idempotency key made two charges",
    ),
    (
        "no_idempotency",
        "test_idempotent_charge_after_dropped_response",
        "OutcomeUnknown carries idempotency_key None, expected 'contract-drop-1'",
    ),
    (
        "jpy_scale",
        "test_zero_decimal_currency",
        "charge_payment_method returned 5 JPY, expected 500 JPY",
    ),
    (
        "http_before_amount_check",
        "test_inexpressible_amount_refused_before_http",
        "charge_payment_method of 1.001 KWD sent GET /minipay/v1/methods/pm_000001 before "
        "refusing the amount",
    ),
    (
        "checkout_http_first",
        "test_inexpressible_amount_refused_before_http",
        "create_checkout_session for 1.001 KWD sent GET /minipay/v1/ping before refusing the "
        "amount",
    ),
    (
        "jpy_scale",
        "test_three_decimal_currency",
        "charge_payment_method returned 12.300 KWD, expected 1.230 KWD",
    ),
    (
        "verify_rejects_all",
        "test_webhook_valid_signature",
        "verify_webhook_signature of a valid webhook (configured secret) raised InvalidSignature",
    ),
    (
        "verify_rejects_all",
        "test_checkout_completion_sends_webhooks",
        "webhook #1 delivered after checkout failed verification with the configured secret",
    ),
    (
        "available_always",
        "test_available_only_with_credentials",
        "available() returned True without credentials (settings without: api_key, webhook_secret)",
    ),
    (
        "leak_repr",
        "test_no_secret_in_repr_or_str",
        "repr(provider) contains secret #1 of the harness's secrets()",
    ),
    ("leak_log", "test_no_secret_in_logs_or_errors", "log record minipay contains secret #1"),
    ("leak_error", "test_no_secret_in_logs_or_errors", "AlreadyRefunded args contains secret #1"),
]


@pytest.mark.parametrize(("bug", "test", "message"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_bug_fails_the_check(pytester: pytest.Pytester, bug: str, test: str, message: str) -> None:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module([bug]))
    result = run(pytester, "-k", test)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1, failure_text(result)
    assert f"FAILED test_contract.py::TestMini::{test}" in failure_text(result)
    assert message in failure_text(result), failure_text(result)


def test_without_bugs_the_targeted_checks_pass(pytester: pytest.Pytester) -> None:
    """The control: the same inner runs pass when minipay has no bug (so the failures above are
    caused by the bugs, not by the setup)."""
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module())
    result = run(pytester)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") is None, failure_text(result)
    assert outcomes.get("passed", 0) >= len({c[1] for c in CASES}), failure_text(result)
