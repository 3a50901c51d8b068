"""One charge per idempotency key, whatever is lost on the way (issue 10, item 1).

Razorpay has no idempotency header for orders or recurring payments; the operation's key (the
caller's, or one the kernel makes) is the order's receipt. These tests plant the sandbox's faults
— a response dropped after the charge was committed, server errors before anything was done,
lookups failing — and count the payments the sandbox made for the customer.
"""

from __future__ import annotations

from typing import Any

import pytest
from razorpay_helpers import call, payments_of, saved_card, unique

import paywire
from paywire import OutcomeUnknown, PaymentStatus
from paywire_razorpay import RazorpayProvider

AMOUNT = paywire.Money("12.34", "INR")
RECURRING = "/v1/payments/create/recurring"
ORDERS = "/v1/orders"
ORDER_PAYMENTS = "/v1/orders/*/payments"


def _live(payments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Payments that took (or will take) money: not failed ones."""
    return [p for p in payments if p["status"] != "failed"]


def _fault(sandbox: Any, method: str, path: str, kind: str, count: int = 1) -> None:
    sandbox.add_fault("razorpay", method=method, path=path, kind=kind, count=count)


def test_a_charge_makes_one_payment(sandbox: Any, served: RazorpayProvider, mode: str) -> None:
    method = saved_card(sandbox)
    result = call(served, mode, "charge_payment_method", method, AMOUNT, invoice_id="INV-1")
    (payment,) = payments_of(sandbox, method.customer_id or "")
    assert payment["id"] == result.id
    assert payment["notes"]["invoice_id"] == "INV-1"
    assert result.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING)


def test_the_same_key_twice_is_one_payment(
    sandbox: Any, served: RazorpayProvider, mode: str
) -> None:
    method = saved_card(sandbox)
    key, other_key = unique("k-one-"), unique("k-two-")
    first = call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=key)
    again = call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=key)
    other = call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=other_key)
    assert again.id == first.id
    assert other.id != first.id
    assert len(payments_of(sandbox, method.customer_id or "")) == 2


def test_a_payment_whose_answer_is_lost_is_found_on_its_order(
    sandbox: Any, served: RazorpayProvider, mode: str
) -> None:
    method = saved_card(sandbox)
    _fault(sandbox, "POST", RECURRING, "drop_after_commit")
    result = call(served, mode, "charge_payment_method", method, AMOUNT)
    (payment,) = payments_of(sandbox, method.customer_id or "")
    assert result.id == payment["id"]


def test_an_order_whose_answer_is_lost_is_found_by_its_receipt(
    sandbox: Any, served: RazorpayProvider, mode: str
) -> None:
    method = saved_card(sandbox)
    _fault(sandbox, "POST", ORDERS, "drop_after_commit")
    result = call(
        served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=unique("k-ord-")
    )
    (payment,) = payments_of(sandbox, method.customer_id or "")
    assert result.id == payment["id"]
    assert not sandbox.faults()  # the fault fired


@pytest.mark.parametrize("given_key", [True, False], ids=["caller-key", "no-key"])
def test_lost_answer_and_failed_lookup_then_retry_is_one_charge(
    sandbox: Any, served: RazorpayProvider, mode: str, given_key: bool
) -> None:
    """Issue 10's scenario: the payment's answer is lost and the lookup on its order fails too.
    Before the kernel, a call without a key had nothing to retry with and charged again."""
    method = saved_card(sandbox)
    _fault(sandbox, "POST", RECURRING, "drop_after_commit")
    _fault(sandbox, "GET", ORDER_PAYMENTS, "server_error", count=3)
    key = unique("k-lost-lookup-") if given_key else None
    with pytest.raises(OutcomeUnknown) as caught:
        call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=key)
    retry_key = caught.value.idempotency_key
    assert retry_key is not None
    if given_key:
        assert retry_key == key
    # The retry finds the order, and the order's payment; nothing is charged again.
    result = call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=retry_key)
    payments = _live(payments_of(sandbox, method.customer_id or ""))
    assert [p["id"] for p in payments] == [result.id]


def test_a_retry_whose_order_lookup_fails_does_not_charge_again(
    sandbox: Any, served: RazorpayProvider, mode: str
) -> None:
    method = saved_card(sandbox)
    _fault(sandbox, "POST", RECURRING, "drop_after_commit")
    _fault(sandbox, "GET", ORDER_PAYMENTS, "server_error", count=3)
    with pytest.raises(OutcomeUnknown) as caught:
        call(served, mode, "charge_payment_method", method, AMOUNT)
    key = caught.value.idempotency_key
    _fault(sandbox, "GET", ORDERS, "server_error", count=3)
    with pytest.raises(OutcomeUnknown) as again:
        call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=key)
    assert again.value.idempotency_key == key
    assert len(payments_of(sandbox, method.customer_id or "")) == 1
    result = call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=key)
    assert [p["id"] for p in payments_of(sandbox, method.customer_id or "")] == [result.id]


def test_a_payment_refused_by_a_server_error_is_made_once_on_the_same_order(
    sandbox: Any, served: RazorpayProvider, mode: str
) -> None:
    method = saved_card(sandbox)
    _fault(sandbox, "POST", RECURRING, "server_error")
    with pytest.raises(OutcomeUnknown) as caught:
        call(served, mode, "charge_payment_method", method, AMOUNT)
    assert not payments_of(sandbox, method.customer_id or "")
    key = caught.value.idempotency_key
    result = call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=key)
    (payment,) = payments_of(sandbox, method.customer_id or "")
    assert payment["id"] == result.id
    orders = served_orders(sandbox, payment["order_id"])
    assert len(orders) == 1  # the retry paid the order the first call made


def test_an_order_refused_by_a_server_error_is_not_charged_twice(
    sandbox: Any, served: RazorpayProvider, mode: str
) -> None:
    method = saved_card(sandbox)
    _fault(sandbox, "POST", ORDERS, "server_error")
    with pytest.raises(OutcomeUnknown) as caught:
        call(served, mode, "charge_payment_method", method, AMOUNT)
    key = caught.value.idempotency_key
    result = call(served, mode, "charge_payment_method", method, AMOUNT, idempotency_key=key)
    assert [p["id"] for p in payments_of(sandbox, method.customer_id or "")] == [result.id]


def test_many_lost_answers_never_charge_twice(sandbox: Any, served: RazorpayProvider) -> None:
    """Issue 10 counted 300 of 300 double charges; here every trial must charge once."""
    method = saved_card(sandbox)
    trials = 30
    for index in range(trials):
        _fault(sandbox, "POST", RECURRING, "drop_after_commit")
        _fault(sandbox, "GET", ORDER_PAYMENTS, "server_error", count=3)
        mode = "sync" if index % 2 else "async"
        try:
            call(served, mode, "charge_payment_method", method, AMOUNT)
        except OutcomeUnknown as exc:
            call(
                served,
                mode,
                "charge_payment_method",
                method,
                AMOUNT,
                idempotency_key=exc.idempotency_key,
            )
    assert len(_live(payments_of(sandbox, method.customer_id or ""))) == trials


def served_orders(sandbox: Any, order_id: str) -> list[dict[str, Any]]:
    """Orders with the receipt of ``order_id``'s order (one per key, when nothing went twice)."""
    import httpx
    from razorpay_helpers import KEY_ID, KEY_SECRET

    with httpx.Client(base_url=sandbox.url + "/razorpay", auth=(KEY_ID, KEY_SECRET)) as client:
        receipt = client.get(f"/v1/orders/{order_id}").json()["receipt"]
        items: list[dict[str, Any]] = client.get(
            "/v1/orders", params={"receipt": receipt, "count": 100}
        ).json()["items"]
    return items


def test_the_harness_counts_the_charges_made_on_a_card(
    sandbox: Any, served: RazorpayProvider
) -> None:
    from paywire_contract import ScenarioContext
    from paywire_razorpay.contract import RazorpayHarness

    method = saved_card(sandbox)
    ctx = ScenarioContext("sandbox", served, sandbox, {})
    harness = RazorpayHarness()
    assert harness.charges_made(ctx, method) == 0
    call(served, "sync", "charge_payment_method", method, AMOUNT)
    call(served, "sync", "charge_payment_method", method, AMOUNT)
    assert harness.charges_made(ctx, method) == 2
    old_form = paywire.SavedPaymentMethod("razorpay", f"{method.customer_id}/{method.id}")
    assert harness.charges_made(ctx, old_form) == 2
