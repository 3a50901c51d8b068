"""The request parameters Razorpay documents, per endpoint: one table the fake and tests share.

Razorpay publishes no machine-readable API description, so this table is written from its API
reference (the ``razorpay/markdown-docs`` pages named below) and checked against what the
official ``razorpay`` Python SDK sends (``razorpay/resources/*.py`` pass the caller's dict
through, so the docs decide). The fake refuses a member the table does not list ("<name> is/are
not required and should not be sent", Razorpay's wording) and a missing mandatory one ("The
<name> field is required."); :func:`problems` says the same about a recorded request without
running the fake, which is how the plugins' fixtures are checked.

Sources (``api/…`` paths in ``razorpay/markdown-docs``):

- customers: ``api/customers/create.md``
- orders: ``api/orders/create.md`` (amount, currency, receipt, notes; ``payment_capture`` on the
  recurring order page, ``partial_payment``/``first_payment_min_amount`` from Razorpay's
  partial-payments guide); card mandates ``api/payments/recurring-payments/cards/
  create-authorization-transaction.md`` (§1.1.2); the pre-debit ``notification`` object
  ``…/cards/create-subsequent-payments.md`` (§3.1)
- recurring charges: ``…/cards/create-subsequent-payments.md`` (§3.2), the S2S integration
  guide ``payments/payment-gateway/s2s-integration/recurring-payments/cards/…``, which marks
  ``email`` and ``contact`` mandatory, and razorpay-python's own request fixture
  ``tests/mocks/init_create_recurring.json``, which sends both
- registration links: ``…/cards/create-authorization-transaction.md`` (§1.2.1: a ``customer``
  object, never ``customer_id``; razorpay-python's ``tests/mocks/init_registration_link.json``
  sends the same)
- payment links: ``api/payments/payment-links/create-standard.md``, ``…/update.md``
- refunds: ``api/refunds/create-normal.md``, ``api/refunds/create-instant.md``
- capture: ``api/payments/capture.md``
- list filters: ``count``, ``skip``, ``from``, ``to`` on every collection; ``receipt`` on
  orders; ``expand[]`` on payments
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

__all__ = ["DOCUMENTED", "LIST_QUERY", "Params", "endpoint_for", "problems"]


@attrs.frozen
class Params:
    """An object's documented members: which are mandatory, and the shape of nested objects.

    ``free`` members hold arbitrary key-value data (``notes``), never checked further.
    """

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    nested: Mapping[str, Params] = attrs.field(factory=dict)
    free: frozenset[str] = frozenset({"notes"})

    @property
    def names(self) -> frozenset[str]:
        """Every documented member."""
        return self.required | self.optional | frozenset(self.nested) | self.free


def _p(
    required: str = "",
    optional: str = "",
    nested: Mapping[str, Params] | None = None,
    free: str = "notes",
) -> Params:
    return Params(
        frozenset(required.split()),
        frozenset(optional.split()),
        dict(nested or {}),
        frozenset(free.split()),
    )


_CUSTOMER = _p(optional="name email contact")
_MANDATE_TOKEN = _p(optional="max_amount expire_at frequency")

#: (method, path template) -> the documented body members.
DOCUMENTED: dict[tuple[str, str], Params] = {
    ("POST", "/v1/customers"): _p(optional="name email contact fail_existing gstin"),
    ("POST", "/v1/orders"): _p(
        "amount currency",
        "receipt payment_capture partial_payment first_payment_min_amount customer_id method",
        {"token": _MANDATE_TOKEN, "notification": _p("token_id", "payment_after", free="")},
    ),
    ("POST", "/v1/payments/create/recurring"): _p(
        "email contact amount currency order_id customer_id token recurring", "description"
    ),
    ("POST", "/v1/payments/{id}/capture"): _p("amount currency", free=""),
    ("POST", "/v1/payments/{id}/refund"): _p(optional="amount speed receipt"),
    ("POST", "/v1/payment_links"): _p(
        "amount",
        "currency accept_partial first_min_partial_amount expire_by reference_id description "
        "reminder_enable callback_url callback_method upi_link",
        {"customer": _CUSTOMER, "notify": _p(optional="sms email whatsapp", free="")},
    ),
    ("PATCH", "/v1/payment_links/{id}"): _p(
        optional="reference_id expire_by accept_partial reminder_enable"
    ),
    ("POST", "/v1/payment_links/{id}/cancel"): _p(free=""),
    ("POST", "/v1/subscription_registration/auth_links"): _p(
        "type amount currency description",
        "receipt sms_notify email_notify expire_by",
        {
            "customer": _p("name email contact", free=""),
            "subscription_registration": _p(
                "method max_amount frequency",
                "expire_at auth_type bank_account first_payment_amount",
                free="",
            ),
        },
    ),
}

#: Query parameters every collection takes; extra ones per (method, path template).
LIST_QUERY = frozenset({"count", "skip", "from", "to"})
_EXTRA_QUERY: dict[str, frozenset[str]] = {
    "/v1/orders": frozenset({"receipt"}),
    "/v1/payments": frozenset({"expand[]"}),
}
_COLLECTIONS = (
    "/v1/customers",
    "/v1/orders",
    "/v1/payments",
    "/v1/refunds",
    "/v1/orders/{id}/payments",
    "/v1/payments/{id}/refunds",
    "/v1/payment_links",
)
_SEGMENT = r"[^/]+"


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{[^}]+\}", _SEGMENT, template) + "/?")


_PATTERNS = [(method, template, _pattern(template)) for method, template in DOCUMENTED]


def endpoint_for(method: str, path: str) -> tuple[str, str] | None:
    """The documented (method, template) that ``path`` is an instance of, if any."""
    for known_method, template, pattern in _PATTERNS:
        if known_method == method and pattern.fullmatch(path):
            return known_method, template
    return None


def _object_problems(data: Mapping[str, object], params: Params, prefix: str) -> list[str]:
    found = [f"{prefix}{name}: not documented" for name in data if name not in params.names]
    found += [
        f"{prefix}{name}: mandatory, missing"
        for name in sorted(params.required)
        if data.get(name) in (None, "")
    ]
    for name, inner in params.nested.items():
        value = data.get(name)
        if isinstance(value, dict):
            found += _object_problems(value, inner, f"{prefix}{name}.")
    return found


def problems(
    method: str, path: str, body: object = None, query: Mapping[str, str] | None = None
) -> list[str]:
    """What Razorpay's docs say is wrong with a request: undocumented or missing members."""
    found: list[str] = []
    if query:
        template = next(
            (t for t in _COLLECTIONS if method == "GET" and _pattern(t).fullmatch(path)), None
        )
        allowed = LIST_QUERY | _EXTRA_QUERY.get(template or "", frozenset())
        found += [f"?{name}: not documented" for name in query if name not in allowed]
    endpoint = endpoint_for(method, path)
    if endpoint is not None and isinstance(body, dict):
        found += _object_problems(body, DOCUMENTED[endpoint], "")
    return found
