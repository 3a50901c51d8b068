"""An app's billing code under test in the testing how-to: renew a subscription."""

# --8<-- [start:renew]
from typing import Any

from paywire import (
    AuthenticationRequired,
    CardDeclined,
    Invoice,
    Money,
    PaymentMethodExpired,
    PaymentStatus,
    Provider,
    SavedPaymentMethod,
)


def renew(
    provider: Provider[Any], method: SavedPaymentMethod, amount: Money, invoice_id: str
) -> str:
    """Charge one renewal: ``"paid"``, ``"pending"``, ``"needs_authentication"`` or
    ``"failed"`` — what the app records on the invoice."""
    try:
        result = provider.charge_payment_method(
            method, amount, invoice_id=invoice_id, idempotency_key=f"renewal-{invoice_id}"
        )
    except AuthenticationRequired:
        return "needs_authentication"
    except (CardDeclined, PaymentMethodExpired):
        return "failed"
    return "paid" if result.status is PaymentStatus.SUCCEEDED else "pending"


# --8<-- [end:renew]


# --8<-- [start:recover]
def recovery_url(
    provider: Provider[Any], invoice: Invoice, error: AuthenticationRequired, return_url: str
) -> str:
    """Where to send the customer to finish a renewal their bank wants them to approve.

    The provider's own page when it has one; otherwise a hosted checkout for the same invoice,
    where the customer pays with authentication (and saves the method again for next time).
    """
    if error.action_url:
        return error.action_url
    session = provider.create_checkout_session(
        invoice,
        success_url=return_url,
        cancel_url=return_url,
        save_payment_method=True,
        idempotency_key=f"recover-{invoice.id}",
    )
    return session.url


# --8<-- [end:recover]
