"""An app's billing code under test in the testing how-to: renew a subscription."""

# --8<-- [start:renew]
from typing import Any

from paywire import (
    AuthenticationRequired,
    CardDeclined,
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
