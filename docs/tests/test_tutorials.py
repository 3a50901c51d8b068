"""Every tutorial runs: its shop, served by the script its page shows, walks from an invoice to
a paid invoice (hosted page and webhook), saves a method, renews with it and refunds — against
the sandbox, for every installed provider.

The customer's part (paying on the hosted page, saving a card) is played through the sandbox's
control API by each provider's contract harness; the shops use only paywire's app API.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import EXAMPLES, Shop, harnesses, provider_environment

from paywire import CheckoutSession, Money, Paywire, currency_exponent
from paywire_contract import Harness, ScenarioContext
from paywire_sandbox import RunningSandbox

PAGES = Path(__file__).resolve().parents[1] / "pages"
TUTORIALS = {"fastapi": "serve_fastapi.sh", "flask": "serve_flask.sh"}
HARNESSES = harnesses()


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)


def _amount(currency: str, major: int) -> str:
    places = currency_exponent(currency)
    return str(Decimal(major) + (Decimal("0.99") if places >= 2 else 0))


@pytest.fixture(params=sorted(TUTORIALS))
def tutorial(request: pytest.FixtureRequest) -> str:
    """Which tutorial's shop."""
    return str(request.param)


@pytest.fixture(params=sorted(HARNESSES))
def provider_name(request: pytest.FixtureRequest) -> str:
    """Which installed provider the shop is paid through."""
    return str(request.param)


@pytest.fixture
def shop(
    tutorial: str, provider_name: str, sandbox: RunningSandbox, tmp_path: Path
) -> Iterator[tuple[Shop, ScenarioContext, Harness]]:
    """The tutorial's shop configured for ``provider_name`` on the sandbox, its webhook endpoint
    registered with the provider, and how the test plays the customer."""
    sandbox.reset()
    harness = HARNESSES[provider_name]
    settings = harness.sandbox_settings(sandbox.url)
    running = Shop(TUTORIALS[tutorial], tmp_path, provider_environment(settings, provider_name))
    pw = Paywire(settings={provider_name: settings}, environ={}, allow=[provider_name])
    try:
        ctx = ScenarioContext(
            mode="sandbox",
            provider=pw.provider(provider_name),
            sandbox=sandbox,
            settings=settings,
            control=sandbox.control,
        )
        secret = str(settings.get("webhook_secret") or "")
        harness.register_webhook(ctx, f"{running.url}/webhooks/{provider_name}", secret)
        yield running, ctx, harness
    finally:
        running.stop()
        pw.close()


def test_the_shop_takes_a_payment_saves_a_method_renews_and_refunds(
    shop: tuple[Shop, ScenarioContext, Harness], provider_name: str
) -> None:
    running, ctx, harness = shop
    with httpx.Client(base_url=running.url, timeout=30.0) as client:
        _walk(client, running, ctx, harness, provider_name)


def _walk(
    client: httpx.Client, running: Shop, ctx: ScenarioContext, harness: Harness, provider_name: str
) -> None:
    currency = harness.charge_currency()

    def invoice(invoice_id: str) -> dict[str, Any]:
        return dict(client.get(f"/invoices/{invoice_id}").json())

    # An invoice, paid on the provider's hosted page; the webhook marks it paid.
    amount = _amount(currency, 19)
    created = client.post(
        "/invoices",
        json={"customer": "ada", "description": "Pro plan", "amount": amount, "currency": currency},
    )
    assert created.status_code == 200, created.text
    invoice_id = created.json()["id"]
    started = client.post(f"/invoices/{invoice_id}/checkout", json={"provider": provider_name})
    assert started.status_code == 200, started.text
    page = started.json()
    assert httpx.get(page["url"], timeout=10.0).status_code == 200  # the customer opens it
    session = CheckoutSession(
        provider_name, page["session_id"], page["url"], invoice_id, Money(amount, currency)
    )
    back = harness.complete_checkout(ctx, session)  # the customer pays
    if back.startswith(running.url):
        assert httpx.get(back, timeout=10.0).status_code == 200  # and comes back to the shop
    _wait_for("the invoice being paid", lambda: invoice(invoice_id)["status"] == "paid")
    assert invoice(invoice_id)["transaction_id"]

    # A payment method saved on the provider's page; the webhook gives the shop the method.
    setup = client.post(
        "/customers/ada/payment-methods",
        json={"provider": provider_name, "name": "Ada Lovelace", "phone": "+919876543210"},
    )
    assert setup.status_code == 200, setup.text
    answer = harness.complete_hosted_page(ctx, setup.json()["session_id"])  # the customer
    redirect = answer.get("redirect_url")
    if isinstance(redirect, str) and redirect.startswith(running.url):
        assert httpx.get(redirect, timeout=10.0).status_code == 200
    method_url = f"/customers/ada/payment-methods/{provider_name}"
    _wait_for("the saved method", lambda: client.get(method_url).status_code == 200)

    # A renewal charged to the saved method, the customer absent.
    renewal = client.post(
        "/customers/ada/renewals",
        json={
            "provider": provider_name,
            "description": "Pro plan, next month",
            "amount": amount,
            "currency": currency,
        },
    )
    assert renewal.status_code == 200, renewal.text
    renewal_id = renewal.json()["id"]
    if renewal.json().get("status") == "open":  # pending with the provider
        harness.settle(ctx)  # time passes: the provider debits the renewal
    _wait_for("the renewal being paid", lambda: invoice(renewal_id)["status"] == "paid")

    # Part of it refunded.
    part = "5" if currency_exponent(currency) == 0 else "5.00"
    refund = client.post(f"/invoices/{renewal_id}/refunds", json={"amount": part})
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] in ("succeeded", "pending")
    assert Decimal(invoice(renewal_id)["refunded"]) == Decimal(part)


def test_every_code_block_of_a_tutorial_is_included_from_code_the_tests_run() -> None:
    """A tutorial page holds no code of its own: each block includes a file these tests run."""
    for page in sorted((PAGES / "tutorials").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
        assert blocks, page
        for block in blocks:
            lines = [line for line in block.splitlines() if line.strip()]
            assert lines, page
            for line in lines:
                match = re.fullmatch(r'--8<-- "docs/examples/([\w./-]+?)(?::\w+)?"', line)
                assert match, f"{page.name}: {line!r} is not an included example"
                assert (EXAMPLES / match.group(1)).is_file(), line
