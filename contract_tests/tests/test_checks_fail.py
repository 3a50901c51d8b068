"""Every check of the suite can fail: a provider with one deliberate bug makes the targeted
standard test fail — on both paths — with a message that says what was wrong.

minipay (the API 1.0 provider) carries the bugs of the checks the first suite had; the shapes
(``shapes/``) carry those of the checks that adapt to a declared shape.
"""

from __future__ import annotations

import pytest
from _inner import failure_text, prepare, run, suite_module

from paywire_contract._paths import PATHS

# (harness, bug, the standard test that must catch it, what its failure message must say)
CASES = [
    (
        "minipay",
        "charge_amount",
        "test_charge_succeeds",
        "charge_payment_method returned 10.00 USD, expected 12.34 USD",
    ),
    (
        "minipay",
        "decline_type",
        "test_charge_declined",
        "charge_payment_method with the 'declines' method raised InvalidRequest",
    ),
    (
        "minipay",
        "no_raw_code",
        "test_charge_declined",
        "CardDeclined from charge_payment_method ('declines' method) has no raw_code",
    ),
    (
        "minipay",
        "expired_as_declined",
        "test_charge_expired_method",
        "raised CardDeclined: charge failed: expired_card",
    ),
    (
        "minipay",
        "auth_as_declined",
        "test_charge_needs_authentication",
        "expected AuthenticationRequired",
    ),
    (
        "minipay",
        "refund_partial_ignored",
        "test_refund_partial",
        "create_refund returned 12.34 USD, expected 5.00 USD",
    ),
    (
        "minipay",
        "refund_partial_ignored",
        "test_refund_two_partials",
        "create_refund returned 12.34 USD, expected 5.00 USD",
    ),
    (
        "minipay",
        "already_refunded_type",
        "test_refund_more_than_left",
        "create_refund of 10.00 USD when 7.34 USD of 12.34 USD is left raised InvalidRequest",
    ),
    (
        "minipay",
        "already_refunded_type",
        "test_refund_already_refunded",
        "create_refund of a fully refunded transaction raised InvalidRequest",
    ),
    (
        "minipay",
        "detach_noop",
        "test_detach_then_not_found",
        "get_payment_method_details after detach returned PaymentMethodInfo(",
    ),
    (
        "minipay",
        "details_wrong_id",
        "test_payment_method_details",
        "get_payment_method_details returned id 'pm_other', expected 'pm_000001'",
    ),
    (
        "minipay",
        "details_wrong_id",
        "test_setup_session_saves_method",
        "get_payment_method_details returned id 'pm_other', expected 'pm_000002'",
    ),
    (
        "minipay",
        "checkout_no_invoice",
        "test_checkout_session_created",
        "create_checkout_session returned invoice_id '', expected 'inv_contract_checkout_1'",
    ),
    (
        "minipay",
        "webhook_no_invoice",
        "test_checkout_completion_sends_webhooks",
        "checkout.completed event carries invoice_id None, expected 'inv_contract_checkout_2'",
    ),
    (
        "minipay",
        "webhook_amount",
        "test_checkout_completion_sends_webhooks",
        "checkout.completed event carries amount 1.00 USD, expected 12.34 USD",
    ),
    (
        "minipay",
        "samples_wrong",
        "test_checkout_completion_sends_webhooks",
        "no payment.succeeded event among the webhooks delivered after checkout",
    ),
    (
        "minipay",
        "samples_wrong",
        "test_webhook_samples_normalize",
        "'payment.ok' normalized to payment.pending, expected payment.succeeded",
    ),
    (
        "minipay",
        "unknown_keyerror",
        "test_webhook_unknown_event",
        "parse_webhook of an unmapped event type raised KeyError",
    ),
    (
        "minipay",
        "verify_accepts_anything",
        "test_webhook_tampered_body",
        "verify_webhook accepted a tampered body; expected InvalidSignature",
    ),
    (
        "minipay",
        "verify_accepts_anything",
        "test_webhook_wrong_secret",
        "verify_webhook accepted a signature made with another secret",
    ),
    (
        "minipay",
        "verify_accepts_anything",
        "test_webhook_secret_rotation",
        "verify_webhook accepted a signature made with neither secret",
    ),
    (
        "minipay",
        "verify_no_tolerance",
        "test_webhook_stale_timestamp",
        "verify_webhook accepted a timestamp one hour old",
    ),
    (
        "minipay",
        "verify_keyerror",
        "test_webhook_missing_headers",
        "verify_webhook with no headers at all raised KeyError",
    ),
    (
        "minipay",
        "verify_decode",
        "test_webhook_garbage_raises_only_invalid_signature",
        "raised UnicodeDecodeError",
    ),
    (
        "minipay",
        "no_idempotency",
        "test_idempotent_charge_same_key",
        "charging twice with the same idempotency key made two charges",
    ),
    (
        "minipay",
        "no_idempotency",
        "test_idempotent_charge_after_dropped_response",
        # The core gives the OutcomeUnknown the key (issue 10 item 1); the key never reached
        # the provider, so the retry charges again — and the check says so.
        "after a dropped response, retrying with the same key returned 'ch_000006' but the "
        "first call returned 'ch_000005': the charge was made twice",
    ),
    (
        "minipay",
        "jpy_scale",
        "test_zero_decimal_currency",
        "charge_payment_method returned 5 JPY, expected 500 JPY",
    ),
    (
        "minipay",
        "http_before_amount_check",
        "test_inexpressible_amount_refused_before_http",
        "charge_payment_method of 1.001 KWD sent GET /minipay/v1/methods/pm_000001 before "
        "refusing the amount",
    ),
    (
        "minipay",
        "checkout_http_first",
        "test_inexpressible_amount_refused_before_http",
        "create_checkout_session for 1.001 KWD sent GET /minipay/v1/ping before refusing the "
        "amount",
    ),
    (
        "minipay",
        "jpy_scale",
        "test_three_decimal_currency",
        "charge_payment_method returned 12.300 KWD, expected 1.230 KWD",
    ),
    (
        "minipay",
        "verify_rejects_all",
        "test_webhook_valid_signature",
        "verify_webhook of a valid webhook raised InvalidSignature",
    ),
    (
        "minipay",
        "verify_rejects_all",
        "test_checkout_completion_sends_webhooks",
        "webhook #1 delivered after checkout failed verification with the configured secret",
    ),
    (
        "minipay",
        "available_always",
        "test_available_only_with_credentials",
        "available() returned True without credentials (settings without: api_key, webhook_secret)",
    ),
    (
        "minipay",
        "leak_repr",
        "test_no_secret_in_repr_or_str",
        "repr(provider) contains secret #1 of the harness's secrets()",
    ),
    (
        "minipay",
        "leak_log",
        "test_no_secret_in_logs_or_errors",
        "log record minipay contains secret #1",
    ),
    (
        "minipay",
        "leak_error",
        "test_no_secret_in_logs_or_errors",
        "AlreadyRefunded args contains secret #1",
    ),
    # -- the shapes: checks that adapt to a declaration still fail where they should --------
    (
        "singleevent",
        "single_no_invoice",
        "test_checkout_completion_sends_webhooks",
        "payment.succeeded event carries invoice_id None, expected 'inv_contract_checkout_2'",
    ),
    (
        "singleevent",
        "checkout_forgets_method",
        "test_checkout_saves_method",
        "no event delivered after a checkout with save_payment_method=True names a saved "
        "payment method",
    ),
    (
        "singleevent",
        "no_key_on_charge",
        "test_charge_without_key_after_double_fault",
        "retrying with the key OutcomeUnknown carried returned 'ch_000005', and again "
        "'ch_000006': the key does not reach the provider",
    ),
    (
        "singleevent",
        "fresh_key",
        "test_charge_without_key_after_double_fault",
        "retrying with the key OutcomeUnknown carried returned 'ch_000005', and again "
        "'ch_000006': the key does not reach the provider",
    ),
    (
        "singleevent",
        "second_key",
        "test_charge_without_key_after_double_fault",
        "retried with the key OutcomeUnknown carried, made 2 charges; expected one",
    ),
    (
        "singleevent",
        "parse_keyerror",
        "test_webhook_unknown_event",
        "parse_webhook of a body that is not an event ({}) raised KeyError",
    ),
    (
        "singleevent",
        "parse_keyerror",
        "test_webhook_garbage_raises_only_invalid_signature",
        "raised KeyError",
    ),
    (
        "asyncsettle",
        "settled_unmapped",
        "test_charge_succeeds",
        "charge 'ch_000003' came back pending and, once settled, no payment.succeeded event "
        "named it (or invoice 'inv_contract_charge_1' with 12.34 USD); normalized: none",
    ),
    (
        "asyncsettle",
        "refund_event_no_transaction",
        "test_refund_full",
        "refund 're_000005' came back pending and, once settled, no refund.succeeded event named "
        "transaction 'ch_000003' or the refund",
    ),
    (
        "idonly",
        "trust_notification",
        "test_webhook_tampered_body",
        "an event taken from an unsigned notification (webhook_authentication is 'fetch')",
    ),
    (
        "idonly",
        "no_fetch",
        "test_checkout_completion_sends_webhooks",
        "parse_webhook of webhook #1 delivered after checkout returned an event built from the "
        "notification itself, but idonly's webhook_authentication is 'fetch'",
    ),
    (
        "idonly",
        "event_id_random",
        "test_checkout_completion_sends_webhooks",
        "webhook #1 delivered after checkout, delivered again, normalized to event id",
    ),
    (
        "idonly",
        "missing_as_pending",
        "test_webhook_wrong_secret",
        "fetch_webhook_event of a notification naming 'ch_sample1forged', which idonly does not "
        "have returned WebhookEvent(",
    ),
    (
        "mandates",
        "setup_drops_customer",
        "test_setup_session_saves_method",
        "get_payment_method_details after setup raised NotFound: mandate mdt_000003 is named "
        "without its customer",
    ),
    (
        "mandates",
        "event_id_per_read",
        "test_webhook_stale_timestamp",
        "the same delivery processed twice normalized to event ids",
    ),
    (
        "nocodes",
        "no_message_rules",
        "test_charge_declined",
        "charge_payment_method with the 'declines' method raised InvalidRequest",
    ),
    (
        "rotated",
        "first_signature_only",
        "test_webhook_valid_signature",
        "verify_webhook of a valid webhook raised InvalidSignature",
    ),
    (
        "rotated",
        "current_secret_only",
        "test_webhook_secret_rotation",
        "verify_webhook of a webhook signed with the previous secret while rotating raised "
        "InvalidSignature",
    ),
]


@pytest.mark.parametrize(
    ("harness", "bug", "test", "message"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES],
)
def test_bug_fails_the_check(
    pytester: pytest.Pytester, harness: str, bug: str, test: str, message: str
) -> None:
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module([bug], harness=harness))
    result = run(pytester, "-k", test)
    text = failure_text(result)
    assert result.parseoutcomes().get("failed") == len(PATHS), text
    for path in PATHS:
        assert f"FAILED test_contract.py::TestMini::{test}[{path}]" in text
    assert text.count(message) >= len(PATHS), text


@pytest.mark.parametrize("harness", sorted({c[0] for c in CASES}))
def test_without_bugs_the_targeted_checks_pass(pytester: pytest.Pytester, harness: str) -> None:
    """The control: the same checks pass when the provider has no bug (so the failures above
    are caused by the bugs, not by the setup)."""
    targeted = sorted({c[2] for c in CASES if c[0] == harness})
    prepare(pytester)
    pytester.makepyfile(test_contract=suite_module(harness=harness))
    result = run(pytester, "-k", " or ".join(targeted))
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") is None, failure_text(result)
    assert outcomes.get("passed", 0) == len(targeted) * len(PATHS), failure_text(result)
