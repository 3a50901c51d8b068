from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from paywire_demo import Demo, Environment, InvoiceBook, Shop, load_harnesses
from rich.console import Console

from paywire import Money, WebhookEvent


def _demo(tmp_path: Path, only: list[str] | None, **kwargs: float) -> tuple[int, str]:
    console = Console(record=True, width=240, force_terminal=False)
    code = Demo(console, tmp_path, only, **kwargs).run()
    return code, console.export_text()


def test_demo_walks_the_whole_stripe_flow(tmp_path: Path) -> None:
    code, text = _demo(tmp_path, ["stripe"])
    assert code == 0, text
    for step in (
        "create_checkout_session",
        "customer pays on the hosted page (test card / approval)",
        "signed webhook verified and processed; invoice paid",
        "customer saves a payment method on the hosted page",
        "the shop keeps the saved method (return page or SETUP_COMPLETED webhook)",
        "get_payment_method_details",
        "charge_payment_method (renewal from the shop's record, customer absent)",
        "renewal invoice paid through its webhook",
        "create_refund",
        "detach_payment_method",
        "detached method is gone",
    ):
        assert f"✓ {step}" in text, f"step {step!r} missing from:\n{text}"
    assert "✗" not in text
    book = InvoiceBook(tmp_path / "shop.sqlite3")
    records = book.all()
    book.close()
    assert {r.description for r in records} == {"Monthly plan", "Renewal"}
    assert all(r.status == "paid" and r.transaction_id for r in records), records


def test_demo_fails_when_the_webhook_handler_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Shop, event: WebhookEvent) -> None:
        raise RuntimeError("the shop's database is down")

    monkeypatch.setattr(Shop, "_payment_succeeded", broken)
    code, text = _demo(tmp_path, ["stripe"], webhook_timeout=3.0)
    assert code == 1, text
    assert "✗ signed webhook verified and processed; invoice paid" in text
    assert "did not happen within 3 s" in text


def test_demo_refuses_an_unknown_provider(tmp_path: Path) -> None:
    code, text = _demo(tmp_path, ["no-such-provider"])
    assert code == 2
    assert "not installed: no-such-provider" in text


def test_a_payment_for_the_wrong_amount_is_refused_and_redelivered(
    stripe_env: Environment,
) -> None:
    """The shop's handler refuses a payment that does not match the invoice: the endpoint answers
    non-2xx, the provider (sandbox) redelivers, and the invoice stays open."""
    shop = stripe_env.shop
    ctx = stripe_env.contexts["stripe"]
    harness = load_harnesses()["stripe"]
    record = shop.new_invoice(Money(Decimal("30.00"), "USD"), "Wrong amount")
    saved = harness.saved_method(ctx, "succeeds")
    charge = ctx.provider.charge_payment_method(
        saved, Money(Decimal("29.00"), "USD"), invoice_id=record.id
    )
    stripe_env.sandbox.wait_for_webhooks(timeout=15)
    assert shop.book.get(record.id).status == "open"
    refused = [
        d
        for d in stripe_env.sandbox.deliveries("stripe")
        if d["event_type"] == "payment_intent.succeeded" and d["status"] == 500
    ]
    assert len(refused) >= 2, "the refused event must be retried by the provider"
    assert charge.id


def test_paywire_demo_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "paywire",
            "demo",
            "--provider",
            "stripe",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All steps passed." in result.stdout
