"""A ready-made webhook handler that captures approved PayPal orders."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import paywire

if TYPE_CHECKING:
    from paywire_paypal._provider import PayPalProvider

__all__ = ["capture_approved_orders"]

_log = logging.getLogger("paywire_paypal")

# A failed payment is final for this approval: retrying the webhook cannot change it (the buyer
# has to approve again), so it is logged, not raised. Transient failures are raised, so the
# event is delivered (and the capture tried) again.
_FINAL = (
    paywire.CardDeclined,
    paywire.PaymentMethodExpired,
    paywire.AuthenticationRequired,
    paywire.InvalidRequest,
    paywire.NotFound,
)


def capture_approved_orders(
    provider: PayPalProvider,
) -> Callable[[paywire.WebhookEvent], paywire.ChargeResult | None]:
    """A handler for :class:`paywire.webhooks.WebhookProcessor` that captures every order whose
    ``CHECKOUT.ORDER.APPROVED`` event it sees (other events are ignored)::

        processor.on(EventType.CHECKOUT_COMPLETED)(capture_approved_orders(paypal))

    Capturing is idempotent, so it may run alongside a capture on the return page.
    """

    def capture(event: paywire.WebhookEvent) -> paywire.ChargeResult | None:
        if (
            event.provider != provider.name
            or event.raw_type != "CHECKOUT.ORDER.APPROVED"
            or not event.session_id
        ):
            return None
        try:
            return provider.capture_order(event.session_id)
        except _FINAL as exc:
            _log.warning(
                "PayPal order %s was approved but could not be captured: %s", event.session_id, exc
            )
            return None

    return capture
