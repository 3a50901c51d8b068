"""When the Razorpay fake settles what Razorpay settles later (recurring debits, refunds).

Razorpay documents card recurring debits as asynchronous: the merchant's request only starts the
debit, the customer's bank sends a pre-debit notification, and "the amount will be debited 36
hours after the notification" — "if you do not pass [the order's ``notification``] object, we
will automatically try to debit after 36 hours and 5 minutes" (``api/payments/recurring-payments/
cards/create-subsequent-payments.md``; ``payments/recurring-payments/cards/faqs.md`` §7, §9).
Refunds are created ``pending`` and become ``processed`` (or ``failed``) later; normal refunds
take "5-7 working days", ``optimum`` ones are instant when possible (``api/refunds/entity.md``).

The sandbox keeps those shapes but compresses the refund delays so that one documented step
settles everything: **advancing the sandbox clock by 48 hours (172800 s) settles every pending
recurring payment and refund** (:data:`SETTLE_ALL`).
"""

from __future__ import annotations

__all__ = [
    "NORMAL_REFUND_DELAY",
    "OPTIMUM_REFUND_DELAY",
    "RECURRING_DEBIT_DELAY",
    "REFUND_WINDOW",
    "SETTLE_ALL",
]

#: A recurring charge is debited 36 h 5 min after it is created (Razorpay's default when the
#: order carries no ``notification`` object; the sandbox sends the pre-debit notice at once).
RECURRING_DEBIT_DELAY = 36 * 3600 + 5 * 60

#: A ``normal`` refund is processed a day after it is created (Razorpay: 5-7 working days,
#: compressed so that :data:`SETTLE_ALL` holds).
NORMAL_REFUND_DELAY = 24 * 3600

#: An ``optimum`` refund is processed (``speed_processed: instant``) five minutes after it is
#: created.
OPTIMUM_REFUND_DELAY = 5 * 60

#: A normal refund of a payment captured longer ago than this fails (Razorpay: "Normal refund is
#: not possible for a payment which is more than 6 months old").
REFUND_WINDOW = 183 * 24 * 3600

#: Advancing the clock by this much settles everything pending: a stable contract.
SETTLE_ALL = 48 * 3600
