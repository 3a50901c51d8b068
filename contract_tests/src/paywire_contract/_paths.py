"""The two paths every check runs on: the provider's sync operations, and their ``_async`` twins.

The async path is driven from an event loop running in a background thread
(:class:`EventLoopThread`, one per test session): a check stays ordinary sync code and waits for
each coroutine's result, so the same check body serves both paths. :class:`Operations` is that
body's view of the provider: the same method names on either path.

A provider written against API 1.0 has no coroutines of its own: paywire runs its sync code in a
worker thread, so on the async path such a provider is exercised through that offloading.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

if TYPE_CHECKING:
    import paywire

__all__ = ["PATHS", "EventLoopThread", "Operations", "PathName"]

T = TypeVar("T")

#: ``"sync"``: the provider's methods; ``"async"``: their ``_async`` twins.
PathName = Literal["sync", "async"]
#: Both paths, in the order the checks run on them.
PATHS: Final[tuple[PathName, ...]] = ("sync", "async")

#: How long one awaited operation may take before the check gives up on it (a hung provider
#: must fail the check, not the whole run).
OPERATION_TIMEOUT: Final = 300.0


class EventLoopThread:
    """An asyncio event loop running in a daemon thread; :meth:`run` waits for a coroutine."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="paywire-contract-loop", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = OPERATION_TIMEOUT) -> T:
        """Run ``coroutine`` on the loop and return its result (or raise its exception)."""
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("the contract suite's event loop is closed")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TimeoutError(f"an awaited operation took more than {timeout:g} s") from None

    def close(self) -> None:
        """Stop the loop once its worker threads (``asyncio.to_thread``) are done."""
        if self._loop.is_closed():
            return
        try:
            self.run(self._loop.shutdown_default_executor(), timeout=60)
            self.run(self._loop.shutdown_asyncgens(), timeout=60)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=60)
            self._loop.close()

    def __enter__(self) -> EventLoopThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Operations:
    """A provider's operations on one path: on ``"sync"`` its methods, on ``"async"`` their
    ``_async`` twins awaited on ``loop``. Checks and harnesses call these as an app would."""

    def __init__(
        self,
        provider: paywire.Provider[Any],
        path: PathName = "sync",
        loop: EventLoopThread | None = None,
    ) -> None:
        if path == "async" and loop is None:
            raise ValueError("the async path needs an event loop")
        self.provider = provider
        self.path: PathName = path
        self._loop = loop

    def __repr__(self) -> str:
        return f"<Operations {self.provider.name!r} {self.path}>"

    def _await(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the sync path has no event loop")
        return self._loop.run(coroutine)

    @property
    def is_async(self) -> bool:
        """Whether the ``_async`` twins are run."""
        return self.path == "async"

    def create_checkout_session(
        self,
        invoice: paywire.Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> paywire.CheckoutSession:
        """:meth:`paywire.Provider.create_checkout_session` on this path."""
        p = self.provider
        args: dict[str, Any] = {
            "success_url": success_url,
            "cancel_url": cancel_url,
            "save_payment_method": save_payment_method,
            "idempotency_key": idempotency_key,
        }
        if self.is_async:
            return self._await(p.create_checkout_session_async(invoice, **args))
        return p.create_checkout_session(invoice, **args)

    def create_setup_session(
        self, customer: paywire.Customer, *, success_url: str, cancel_url: str
    ) -> paywire.SetupSession:
        """:meth:`paywire.Provider.create_setup_session` on this path."""
        p = self.provider
        if self.is_async:
            return self._await(
                p.create_setup_session_async(
                    customer, success_url=success_url, cancel_url=cancel_url
                )
            )
        return p.create_setup_session(customer, success_url=success_url, cancel_url=cancel_url)

    def complete_setup(
        self,
        source: paywire.SetupSession | paywire.WebhookEvent | str,
        *,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> paywire.SavedPaymentMethod:
        """:meth:`paywire.Provider.complete_setup` on this path."""
        p = self.provider
        if self.is_async:
            return self._await(
                p.complete_setup_async(source, params=params, idempotency_key=idempotency_key)
            )
        return p.complete_setup(source, params=params, idempotency_key=idempotency_key)

    def charge_payment_method(
        self,
        payment_method: paywire.SavedPaymentMethod,
        amount: paywire.Money,
        *,
        description: str | None = None,
        invoice_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> paywire.ChargeResult:
        """:meth:`paywire.Provider.charge_payment_method` on this path."""
        p = self.provider
        args: dict[str, Any] = {
            "description": description,
            "invoice_id": invoice_id,
            "metadata": metadata,
            "idempotency_key": idempotency_key,
        }
        if self.is_async:
            return self._await(p.charge_payment_method_async(payment_method, amount, **args))
        return p.charge_payment_method(payment_method, amount, **args)

    def create_refund(
        self,
        transaction_id: str,
        amount: paywire.Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> paywire.RefundResult:
        """:meth:`paywire.Provider.create_refund` on this path."""
        p = self.provider
        args: dict[str, Any] = {
            "reason": reason,
            "metadata": metadata,
            "idempotency_key": idempotency_key,
        }
        if self.is_async:
            return self._await(p.create_refund_async(transaction_id, amount, **args))
        return p.create_refund(transaction_id, amount, **args)

    def get_payment_method_details(
        self, method: paywire.SavedPaymentMethod | str
    ) -> paywire.PaymentMethodInfo:
        """:meth:`paywire.Provider.get_payment_method_details` on this path."""
        p = self.provider
        if self.is_async:
            return self._await(p.get_payment_method_details_async(method))
        return p.get_payment_method_details(method)

    def detach_payment_method(self, method: paywire.SavedPaymentMethod | str) -> None:
        """:meth:`paywire.Provider.detach_payment_method` on this path."""
        p = self.provider
        if self.is_async:
            self._await(p.detach_payment_method_async(method))
        else:
            p.detach_payment_method(method)

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """:meth:`paywire.Provider.verify_webhook` on this path (every configured secret)."""
        p = self.provider
        if self.is_async:
            self._await(p.verify_webhook_async(body, headers))
        else:
            p.verify_webhook(body, headers)

    def fetch_webhook_event(self, reference: paywire.EventReference) -> paywire.WebhookEvent:
        """:meth:`paywire.Provider.fetch_webhook_event` on this path."""
        p = self.provider
        if self.is_async:
            return self._await(p.fetch_webhook_event_async(reference))
        return p.fetch_webhook_event(reference)

    def follow_up(self, event: paywire.WebhookEvent) -> paywire.WebhookEvent | None:
        """:meth:`paywire.Provider.follow_up` on this path."""
        p = self.provider
        if self.is_async:
            return self._await(p.follow_up_async(event))
        return p.follow_up(event)

    def close(self) -> None:
        """Close the provider's connections on this path (the loop's async clients first)."""
        try:
            if self._loop is not None:
                self._await(self.provider.aclose())
        finally:
            self.provider.close()
