"""The demo's walk through the flow, for each installed provider, on the embedded sandbox.

invoice in SQLite → ``create_checkout_session`` → the customer pays on the hosted page → signed
webhook → :class:`~paywire.webhooks.WebhookProcessor` → invoice marked paid; then a method saved
with a setup session — the shop learns it through the public interface (``complete_setup`` when
the customer comes back, or the ``SETUP_COMPLETED`` webhook) and keeps it in its own table —,
charged from that record as a renewal (paid through its webhook, after the provider debits it
where it settles later), partly refunded, detached.

The contract harnesses play the *customer* (completing a hosted page through the sandbox) and
register the shop's webhook endpoints with the sandbox; the shop itself uses only ``paywire`` and
``paywire.webhooks``, as a real app does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import attrs
import httpx
from rich.console import Console

import paywire_contract
from paywire import (
    Capability,
    Customer,
    Money,
    NotFound,
    PaymentMethodInfo,
    PaymentStatus,
    Paywire,
    PaywireError,
    Provider,
    SavedPaymentMethod,
    currency_exponent,
)
from paywire.webhooks import SQLiteEventStore, WebhookProcessor
from paywire_contract import Harness, HarnessFailure, ScenarioContext
from paywire_demo._invoices import InvoiceBook
from paywire_demo._serve import serve_app
from paywire_demo._shop import Shop
from paywire_sandbox import RunningSandbox, run_sandbox

__all__ = ["Demo", "Environment", "StepFailed", "load_harnesses", "open_environment"]

T = TypeVar("T")


@attrs.frozen
class Environment:
    """A running sandbox and demo shop, with a scenario context per provider."""

    sandbox: RunningSandbox
    shop: Shop
    contexts: dict[str, ScenarioContext]


@contextmanager
def open_environment(workdir: Path, harnesses: dict[str, Harness]) -> Iterator[Environment]:
    """Serve the embedded sandbox and the shop, with each provider built for the sandbox and its
    webhooks registered to the shop's endpoint. Everything stops when the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    names = sorted(harnesses)
    with run_sandbox() as sandbox:
        settings = {name: harnesses[name].sandbox_settings(sandbox.url) for name in names}
        book = InvoiceBook(workdir / "shop.sqlite3")
        store = SQLiteEventStore(workdir / "events.sqlite3")
        try:
            with Paywire(settings=settings) as pw:
                providers: dict[str, Provider[Any]] = {name: pw.provider(name) for name in names}
                shop = Shop(book, providers, WebhookProcessor(providers, store=store))
                with serve_app(shop.app()) as url:
                    shop.base_url = url
                    contexts = {}
                    for name in names:
                        contexts[name] = ScenarioContext(
                            mode="sandbox",
                            provider=providers[name],
                            sandbox=sandbox,
                            settings=settings[name],
                            control=sandbox.control,
                        )
                        # PayPal signs with its own certificate: no shared secret to give.
                        secret = str(settings[name].get("webhook_secret") or "")
                        harnesses[name].register_webhook(
                            contexts[name], f"{url}/webhooks/{name}", secret
                        )
                    yield Environment(sandbox, shop, contexts)
        finally:
            store.close()
            book.close()


def _describe_method(info: PaymentMethodInfo) -> str:
    if info.last4:
        expiry = f"{info.exp_month}/{info.exp_year}"
        return f"{info.type} {info.brand} ending {info.last4}, expires {expiry}"
    if info.email:
        return f"{info.type} account {info.email}"
    return info.type


class StepFailed(Exception):
    """A step of the walk did not do what it should."""


def load_harnesses(broken: dict[str, str] | None = None) -> dict[str, Harness]:
    """The contract harnesses installed plugins offer (they know how to drive the sandbox).

    A harness that fails to load is left out, its reason put in ``broken``.
    """
    failures: list[HarnessFailure] = []
    found = paywire_contract.load_harnesses(failures=failures)
    if broken is not None:
        broken.update((failure.name, failure.reason) for failure in failures)
    return found


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise StepFailed(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.02)


def _sample_amount(currency: str, major: int, minor: str) -> Money:
    places = currency_exponent(currency)
    digits = minor[:places].rjust(places, "0") if places else ""
    return Money(Decimal(f"{major}.{digits}" if digits else str(major)), currency)


class Demo:
    """Runs the walk and prints each step as it happens."""

    def __init__(
        self,
        console: Console,
        workdir: Path,
        only: list[str] | None = None,
        *,
        webhook_timeout: float = 15.0,
    ) -> None:
        self.console = console
        self.workdir = workdir
        self.only = only
        self.webhook_timeout = webhook_timeout
        self.failures = 0

    def _step(self, label: str, action: Callable[[], T], describe: Callable[[T], str]) -> T:
        started = time.perf_counter()
        try:
            result = action()
        except (PaywireError, StepFailed, httpx.HTTPError, KeyError, ValueError) as exc:
            self.failures += 1
            self.console.print(f"  [red]✗[/red] {label}: [red]{type(exc).__name__}: {exc}[/red]")
            raise StepFailed(label) from exc
        elapsed = (time.perf_counter() - started) * 1000
        self.console.print(
            f"  [green]✓[/green] {label} [dim]({elapsed:.0f} ms)[/dim] — {describe(result)}"
        )
        return result

    def run(self, *, keep_serving: bool = False) -> int:
        """Walk every selected provider; returns the exit code."""
        installed = Paywire()
        for skipped in installed.skipped:
            self.console.print(f"[yellow]plugin {skipped.name} skipped:[/yellow] {skipped.reason}")
        broken: dict[str, str] = {}
        harnesses = load_harnesses(broken)
        for name, reason in sorted(broken.items()):
            self.console.print(
                f"[yellow]{name}: its sandbox harness failed to load:[/yellow] {reason}"
            )
        names = sorted(installed.providers)
        if self.only:
            missing = [name for name in self.only if name not in installed.providers]
            if missing:
                self.console.print(f"[red]not installed: {', '.join(missing)}[/red]")
                return 2
            names = [name for name in names if name in self.only]
        runnable = [name for name in names if name in harnesses]
        for name in names:
            if name not in harnesses:
                self.console.print(
                    f"[yellow]{name}: its plugin has no sandbox harness; not shown[/yellow]"
                )
        if not runnable:
            self.console.print(
                "[red]No provider plugin to demonstrate.[/red] "
                "Install one, e.g. pip install paywire-stripe"
            )
            return 1
        with open_environment(self.workdir, {n: harnesses[n] for n in runnable}) as env:
            self.console.print(f"[bold]Sandbox[/bold] serving at {env.sandbox.url}")
            self.console.print(
                f"[bold]Shop[/bold] serving at {env.shop.base_url} "
                f"(invoices in {env.shop.book.path})"
            )
            for name in runnable:
                self._walk(name, harnesses[name], env.contexts[name], env.shop, env.sandbox)
            if keep_serving:
                self._serve_forever(env.sandbox, env.shop)
        if self.failures:
            self.console.print(f"[red bold]{self.failures} step(s) failed[/red bold]")
            return 1
        self.console.print("[green bold]All steps passed.[/green bold]")
        return 0

    def _walk(
        self, name: str, harness: Harness, ctx: ScenarioContext, shop: Shop, sandbox: RunningSandbox
    ) -> None:
        provider = shop.providers[name]
        caps = provider.capabilities
        currency = harness.charge_currency()
        self.console.rule(f"[bold]{name}[/bold]")
        try:
            invoice = self._step(
                "invoice created in SQLite",
                lambda: shop.new_invoice(_sample_amount(currency, 19, "99")),
                lambda r: f"{r.id} for {r.amount}",
            )
            if Capability.CHECKOUT in caps:
                session = self._step(
                    "create_checkout_session",
                    lambda: shop.start_checkout(invoice, name),
                    lambda s: f"{s.id} → {s.url}",
                )
                self._step(
                    "customer opens the hosted page",
                    lambda: httpx.get(session.url, timeout=10).raise_for_status(),
                    lambda r: f"HTTP {r.status_code}, {len(r.content)} bytes of HTML",
                )
                self._step(
                    "customer pays on the hosted page (test card / approval)",
                    lambda: self._customer_completes(harness, ctx, session.id),
                    lambda url: f"sent back to {url}" if url else "no return page",
                )
                self._step(
                    "signed webhook verified and processed; invoice paid",
                    lambda: _wait_for(
                        "the invoice being marked paid",
                        lambda: shop.book.get(invoice.id).status == "paid",
                        self.webhook_timeout,
                    ),
                    lambda _: f"{invoice.id} is paid ({shop.book.get(invoice.id).transaction_id})",
                )
            if Capability.SETUP not in caps or Capability.CHARGE not in caps:
                self.console.print(f"  [yellow]-[/yellow] {name} does not declare setup + charge")
                return
            customer = Customer(
                id=f"cust-{invoice.id}",
                email="ada@example.com",
                name="Ada Lovelace",
                phone="+919876543210",
            )
            setup = self._step(
                "create_setup_session",
                lambda: shop.start_setup(customer, name),
                lambda s: f"{s.id} → {s.url}",
            )
            self._step(
                "customer saves a payment method on the hosted page",
                lambda: self._customer_completes(harness, ctx, setup.id),
                lambda url: f"sent back to {url}" if url else "the provider has no return page",
            )
            saved = self._step(
                "the shop keeps the saved method (return page or SETUP_COMPLETED webhook)",
                lambda: self._wait_saved(shop, customer.id, name),
                lambda m: f"{m.id} in the shop's own table",
            )
            self._step(
                "get_payment_method_details",
                lambda: provider.get_payment_method_details(saved),
                _describe_method,
            )
            renewal_amount = _sample_amount(currency, 19, "99")
            renewal_id, charge = self._step(
                "charge_payment_method (renewal from the shop's record, customer absent)",
                lambda: shop.renew(customer.id, name, renewal_amount),
                lambda r: f"{r[1].id} {r[1].status.value} {r[1].amount} for {r[0]}",
            )
            if charge.status is PaymentStatus.PENDING:
                self._step(
                    "time passes: the provider debits the renewal (sandbox)",
                    lambda: harness.settle(ctx),
                    lambda _: "settled",
                )
            self._step(
                "renewal invoice paid through its webhook",
                lambda: _wait_for(
                    "the renewal being marked paid",
                    lambda: shop.book.get(renewal_id).status == "paid",
                    self.webhook_timeout,
                ),
                lambda _: f"{renewal_id} is paid",
            )
            if Capability.REFUND in caps:
                part = _sample_amount(currency, 5, "00")
                self._step(
                    "create_refund (part of the renewal)",
                    lambda: provider.create_refund(charge.id, part, reason="requested_by_customer"),
                    lambda r: f"{r.id} {r.status.value} {r.amount}",
                )
            if Capability.DETACH in caps:
                self._step(
                    "detach_payment_method",
                    lambda: provider.detach_payment_method(saved),
                    lambda _: f"{saved.id} detached",
                )
                shop.book.forget_method(customer.id, name)
                self._step(
                    "detached method is gone",
                    lambda: self._expect_not_found(provider, saved),
                    lambda _: "get_payment_method_details raises NotFound",
                )
            sandbox.wait_for_webhooks(timeout=10)
        except StepFailed:
            return

    @staticmethod
    def _customer_completes(harness: Harness, ctx: ScenarioContext, session_id: str) -> str:
        """The customer's part (a person at the hosted page, played through the sandbox): pay or
        save with a test card, then follow the provider's redirect back to the shop like a
        browser. Anything the merchant must do next (PayPal's capture) is the webhook
        processor's follow-up, as in a real app."""
        answer = harness.complete_hosted_page(ctx, session_id)
        redirect = answer.get("redirect_url")
        if not isinstance(redirect, str) or not redirect:
            return ""
        httpx.get(redirect, timeout=30).raise_for_status()
        return redirect

    def _wait_saved(self, shop: Shop, customer_id: str, provider: str) -> SavedPaymentMethod:
        found: list[SavedPaymentMethod] = []

        def saved() -> bool:
            method = shop.book.method_for(customer_id, provider)
            if method is not None:
                found.append(method)
            return method is not None

        _wait_for("the saved method reaching the shop", saved, self.webhook_timeout)
        return found[-1]

    @staticmethod
    def _expect_not_found(provider: Provider[Any], method: SavedPaymentMethod) -> None:
        try:
            provider.get_payment_method_details(method)
        except NotFound:
            return
        raise StepFailed(f"{method.id} can still be retrieved after detach")

    def _serve_forever(self, sandbox: RunningSandbox, shop: Shop) -> None:
        self.console.print(
            f"\n[bold]Serving.[/bold] Shop: {shop.base_url}   Sandbox: {sandbox.url}\n"
            "Create an invoice, pay it with a test card (4242 4242 4242 4242 succeeds, "
            "4000 0000 0000 0002 is declined); Ctrl-C stops."
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.console.print("stopped")
