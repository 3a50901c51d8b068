"""A real browser (headless Chromium, driven by Playwright) through the hosted pages.

Uses Debian's ``chromium`` (no browser download). Outside CI, the tests skip when it is missing;
under ``CI=true`` they fail instead, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from paywire_demo import Environment, load_harnesses
from playwright.sync_api import Browser, Page, sync_playwright

from paywire import Money

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium package")
    pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _status(env: Environment, invoice_id: str) -> str:
    return env.shop.book.get(invoice_id).status


def _wait_paid(env: Environment, invoice_id: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while _status(env, invoice_id) != "paid":
        assert time.monotonic() < deadline, f"invoice {invoice_id} was not marked paid"
        time.sleep(0.05)


def test_pay_an_invoice_on_the_stripe_checkout_page(
    browser: Browser, stripe_env: Environment
) -> None:
    shop_url = stripe_env.shop.base_url
    page = browser.new_page()
    try:
        page.goto(shop_url)
        page.fill("#amount", "42.50")
        page.click("#create")
        invoice_id = stripe_env.shop.book.all()[0].id
        assert page.inner_text(f"#status-{invoice_id}") == "open"

        page.click(f"#pay-{invoice_id}-stripe")
        page.wait_for_selector("#card-number")
        assert "/stripe/" in page.url  # the sandbox's hosted checkout page
        assert "42.50" in page.content()

        # A declined card first: the page says so and the customer stays on it.
        page.fill("#card-number", "4000 0000 0000 0002")
        page.fill("#card-expiry", "12 / 34")
        page.fill("#card-cvc", "123")
        page.click("#pay")
        page.wait_for_load_state()
        assert "/stripe/" in page.url
        assert "declined" in page.content().lower()
        assert _status(stripe_env, invoice_id) == "open"

        page.fill("#card-number", "4242 4242 4242 4242")
        page.fill("#card-expiry", "12 / 34")
        page.fill("#card-cvc", "123")
        page.click("#pay")
        page.wait_for_url(f"{shop_url}/success*")
        _wait_paid(stripe_env, invoice_id)
        page.reload()
        assert page.get_attribute("#invoice", "data-status") == "paid"
    finally:
        page.close()


def test_cancel_on_the_stripe_checkout_page_returns_to_the_shop(
    browser: Browser, stripe_env: Environment
) -> None:
    shop_url = stripe_env.shop.base_url
    page = browser.new_page()
    try:
        page.goto(shop_url)
        page.click("#create")
        invoice_id = stripe_env.shop.book.all()[0].id
        page.click(f"#pay-{invoice_id}-stripe")
        page.wait_for_selector("#cancel")
        page.click("#cancel")
        page.wait_for_url(f"{shop_url}/cancel*")
        assert "still open" in page.content()
        assert _status(stripe_env, invoice_id) == "open"
    finally:
        page.close()


def test_the_shop_shows_paid_invoices_without_a_pay_button(
    browser: Browser, stripe_env: Environment
) -> None:
    shop = stripe_env.shop
    record = shop.new_invoice(Money(Decimal("5.00"), "USD"))
    session = shop.start_checkout(record, "stripe")
    load_harnesses()["stripe"].complete_checkout(stripe_env.contexts["stripe"], session)
    _wait_paid(stripe_env, record.id)
    page = browser.new_page()
    try:
        page.goto(shop.base_url)
        assert page.inner_text(f"#status-{record.id}") == "paid"
        assert page.query_selector(f"#pay-{record.id}-stripe") is None
    finally:
        page.close()
    assert httpx.get(f"{shop.base_url}/invoices/{record.id}").json()["status"] == "paid"


def _new_invoice_and_pay_button(page: Page, env: Environment, provider: str, amount: str) -> str:
    page.goto(env.shop.base_url)
    page.fill("#amount", amount)
    page.click("#create")
    invoice_id = env.shop.book.all()[0].id
    assert page.inner_text(f"#status-{invoice_id}") == "open"
    page.click(f"#pay-{invoice_id}-{provider}")
    return invoice_id


def test_pay_an_invoice_on_the_paypal_approval_page(
    browser: Browser, shop_env: Environment
) -> None:
    """PayPal: the buyer approves on the approval page; the processor's follow-up captures the
    order and the capture's webhook marks the invoice paid."""
    page = browser.new_page()
    try:
        invoice_id = _new_invoice_and_pay_button(page, shop_env, "paypal", "30.00")
        page.wait_for_selector("#approve")
        assert "/paypal/" in page.url
        assert "30.00" in page.content()
        page.click("#approve")
        page.wait_for_url(f"{shop_env.shop.base_url}/success*")
        assert "token=" in page.url  # PayPal adds the order id and the payer id
        _wait_paid(shop_env, invoice_id)
        page.reload()
        assert page.get_attribute("#invoice", "data-status") == "paid"
    finally:
        page.close()


def test_cancel_on_the_paypal_approval_page(browser: Browser, shop_env: Environment) -> None:
    page = browser.new_page()
    try:
        invoice_id = _new_invoice_and_pay_button(page, shop_env, "paypal", "12.00")
        page.wait_for_selector("#cancel")
        page.click("#cancel")
        page.wait_for_url(f"{shop_env.shop.base_url}/cancel*")
        assert _status(shop_env, invoice_id) == "open"
    finally:
        page.close()


def test_pay_an_invoice_on_the_razorpay_payment_link_page(
    browser: Browser, shop_env: Environment
) -> None:
    page = browser.new_page()
    try:
        invoice_id = _new_invoice_and_pay_button(page, shop_env, "razorpay", "45.00")
        page.wait_for_selector("#card-number")
        assert "/razorpay/" in page.url
        page.fill("#card-number", "4111 1111 1111 1111")
        page.click("#pay")
        page.wait_for_url(f"{shop_env.shop.base_url}/success*")
        # Razorpay's callback carries the payment, the link and a signature over them.
        assert "razorpay_payment_id=" in page.url
        assert "razorpay_signature=" in page.url
        _wait_paid(shop_env, invoice_id)
        page.reload()
        assert page.get_attribute("#invoice", "data-status") == "paid"
    finally:
        page.close()
