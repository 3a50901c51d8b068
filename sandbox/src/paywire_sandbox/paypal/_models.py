"""The fake's resources and how each is written as PayPal JSON.

Renderers take ``base``, the absolute address the PayPal API is served under (for example
``http://127.0.0.1:8000/paypal``), because PayPal's HATEOAS links are absolute.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import attrs

from paywire_sandbox.paypal._money import fee_for, format_value, refund_fee

__all__ = [
    "AccessToken",
    "Capture",
    "Order",
    "Payer",
    "PaymentToken",
    "PurchaseUnit",
    "Refund",
    "SetupToken",
    "iso",
    "link",
    "merchant_id",
    "money",
]

#: The merchant every order is paid to (the sandbox has one business account per client id).
MERCHANT_EMAIL = "sb-merchant@business.example.com"


def iso(ts: float) -> str:
    """``ts`` as PayPal writes times: ISO 8601, UTC, whole seconds, ``Z``."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def money(amount: Decimal, currency: str) -> dict[str, str]:
    """A PayPal ``Money`` object."""
    return {"currency_code": currency, "value": format_value(amount, currency)}


def link(href: str, rel: str, method: str = "GET") -> dict[str, str]:
    """One HATEOAS link."""
    return {"href": href, "rel": rel, "method": method}


@attrs.define
class AccessToken:
    """An OAuth2 access token issued to ``client_id``, valid until ``expires_at``."""

    client_id: str
    expires_at: float


@attrs.define
class Payer:
    """The PayPal buyer who approved an order or a setup token."""

    payer_id: str
    email: str
    given_name: str = "Sandbox"
    surname: str = "Buyer"
    country_code: str = "US"

    def wallet(self) -> dict[str, Any]:
        """The ``payment_source.paypal`` fields describing this payer."""
        return {
            "email_address": self.email,
            "account_id": self.payer_id,
            "account_status": "VERIFIED",
            "name": {"given_name": self.given_name, "surname": self.surname},
            "address": {"country_code": self.country_code},
        }

    def order_payer(self) -> dict[str, Any]:
        """The order's ``payer`` object."""
        return {
            "name": {"given_name": self.given_name, "surname": self.surname},
            "email_address": self.email,
            "payer_id": self.payer_id,
            "address": {"country_code": self.country_code},
        }


@attrs.define
class PurchaseUnit:
    """One purchase unit of an order."""

    reference_id: str
    currency: str
    amount: Decimal
    invoice_id: str | None = None
    custom_id: str | None = None
    description: str | None = None
    soft_descriptor: str | None = None
    #: Passed through from the request as given (PayPal echoes them).
    breakdown: dict[str, Any] | None = None
    items: list[Any] | None = None
    capture_ids: list[str] = attrs.field(factory=list)


@attrs.define
class Order:
    """A Checkout order (intent ``CAPTURE``)."""

    id: str
    merchant: str
    status: str
    purchase_units: list[PurchaseUnit]
    created: float
    updated: float
    #: ``"paypal"``, ``"card"`` or ``None`` (legacy request without payment_source).
    source_kind: str | None = None
    experience: dict[str, Any] = attrs.field(factory=dict)
    #: ``attributes.vault`` of the request, when the payer's wallet is to be saved.
    vault_request: dict[str, Any] | None = None
    vault_customer_id: str | None = None
    #: The payment token charged (one-step order) or created (vault during purchase).
    vault_id: str | None = None
    vaulted_token_id: str | None = None
    stored_credential: dict[str, Any] | None = None
    payer: Payer | None = None
    outcome: str = "success"
    #: Card details for a card-token order: brand, last_digits, expiry, name.
    card: dict[str, str] | None = None

    def approval_rel(self) -> str:
        """``payer-action`` when the order was created with a payment source, else ``approve``."""
        return "payer-action" if self.source_kind is not None else "approve"


@attrs.define
class Capture:
    """A capture of an order's purchase unit."""

    id: str
    merchant: str
    order_id: str
    currency: str
    amount: Decimal
    status: str
    created: float
    updated: float
    invoice_id: str | None = None
    custom_id: str | None = None
    reason: str | None = None
    response_code: str | None = None
    is_card: bool = False
    refunded: Decimal = Decimal(0)
    refund_ids: list[str] = attrs.field(factory=list)

    def render(self, base: str, *, for_order: bool = False) -> dict[str, Any]:
        """The capture as ``GET /v2/payments/captures/{id}`` (or inside an order) shows it."""
        fee = fee_for(self.amount, self.currency) if self.status != "DECLINED" else Decimal(0)
        out: dict[str, Any] = {"id": self.id, "status": self.status}
        if self.reason is not None:
            out["status_details"] = {"reason": self.reason}
        out["amount"] = money(self.amount, self.currency)
        out["final_capture"] = True
        if self.invoice_id is not None:
            out["invoice_id"] = self.invoice_id
        if self.custom_id is not None:
            out["custom_id"] = self.custom_id
        out["seller_protection"] = (
            {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            }
            if not self.is_card
            else {"status": "NOT_ELIGIBLE"}
        )
        if self.status != "DECLINED":
            out["seller_receivable_breakdown"] = {
                "gross_amount": money(self.amount, self.currency),
                "paypal_fee": money(fee, self.currency),
                "net_amount": money(self.amount - fee, self.currency),
            }
        if self.response_code is not None or self.is_card:
            out["processor_response"] = {
                "avs_code": "Y",
                "cvv_code": "N" if self.response_code == "00N7" else "M",
                "response_code": self.response_code or "0000",
            }
        links = [link(f"{base}/v2/payments/captures/{self.id}", "self")]
        if self.status in {"COMPLETED", "PARTIALLY_REFUNDED"}:
            links.append(link(f"{base}/v2/payments/captures/{self.id}/refund", "refund", "POST"))
        links.append(link(f"{base}/v2/checkout/orders/{self.order_id}", "up"))
        out["links"] = links
        out["create_time"] = iso(self.created)
        out["update_time"] = iso(self.updated)
        out["supplementary_data"] = {"related_ids": {"order_id": self.order_id}}
        if not for_order:
            out["payee"] = {
                "email_address": MERCHANT_EMAIL,
                "merchant_id": merchant_id(self.merchant),
            }
        return out


@attrs.define
class Refund:
    """A refund of (part of) a capture."""

    id: str
    merchant: str
    capture_id: str
    currency: str
    amount: Decimal
    #: The capture's refunded total just after this refund.
    total_refunded: Decimal
    created: float
    invoice_id: str | None = None
    custom_id: str | None = None
    note_to_payer: str | None = None
    status: str = "COMPLETED"

    def render(self, base: str) -> dict[str, Any]:
        """The refund as ``GET /v2/payments/refunds/{id}`` shows it."""
        fee = refund_fee(self.amount, self.currency)
        out: dict[str, Any] = {"id": self.id, "amount": money(self.amount, self.currency)}
        if self.invoice_id is not None:
            out["invoice_id"] = self.invoice_id
        if self.custom_id is not None:
            out["custom_id"] = self.custom_id
        if self.note_to_payer is not None:
            out["note_to_payer"] = self.note_to_payer
        out["seller_payable_breakdown"] = {
            "gross_amount": money(self.amount, self.currency),
            "paypal_fee": money(fee, self.currency),
            "net_amount": money(self.amount - fee, self.currency),
            "total_refunded_amount": money(self.total_refunded, self.currency),
        }
        out["status"] = self.status
        out["create_time"] = iso(self.created)
        out["update_time"] = iso(self.created)
        out["links"] = [
            link(f"{base}/v2/payments/refunds/{self.id}", "self"),
            link(f"{base}/v2/payments/captures/{self.capture_id}", "up"),
        ]
        return out


@attrs.define
class SetupToken:
    """A Vault v3 setup token (save a PayPal wallet or a card without paying)."""

    id: str
    merchant: str
    customer_id: str
    status: str
    #: ``"paypal"`` or ``"card"``.
    kind: str
    created: float
    experience: dict[str, Any] = attrs.field(factory=dict)
    wallet: dict[str, Any] = attrs.field(factory=dict)
    card: dict[str, str] | None = None
    payer: Payer | None = None
    outcome: str = "success"
    payment_token_id: str | None = None
    merchant_customer_id: str | None = None

    def render(self, base: str, hosted: str) -> dict[str, Any]:
        """The setup token as create and get return it; ``hosted`` is the approval page."""
        source: dict[str, Any]
        if self.kind == "card":
            source = {"card": dict(self.card or {})}
        else:
            paypal = dict(self.wallet)
            if self.payer is not None:
                paypal.update(
                    {
                        "email_address": self.payer.email,
                        "payer_id": self.payer.payer_id,
                        "name": {
                            "given_name": self.payer.given_name,
                            "surname": self.payer.surname,
                        },
                    }
                )
            source = {"paypal": paypal}
        customer: dict[str, Any] = {"id": self.customer_id}
        if self.merchant_customer_id is not None:
            customer["merchant_customer_id"] = self.merchant_customer_id
        links = []
        if self.status == "PAYER_ACTION_REQUIRED":
            links.append(link(hosted, "approve"))
        links.append(link(f"{base}/v3/vault/setup-tokens/{self.id}", "self"))
        if self.status == "APPROVED":
            links.append(link(f"{base}/v3/vault/payment-tokens", "confirm", "POST"))
        return {
            "id": self.id,
            "customer": customer,
            "status": self.status,
            "payment_source": source,
            "links": links,
        }


@attrs.define
class PaymentToken:
    """A vaulted payment method (a PayPal wallet or a card)."""

    id: str
    merchant: str
    customer_id: str
    kind: str
    created: float
    outcome: str = "success"
    wallet: dict[str, Any] = attrs.field(factory=dict)
    card: dict[str, str] | None = None
    payer: Payer | None = None
    #: The order this token was saved during, if any (webhook ``metadata``).
    order_id: str | None = None

    def source(self) -> dict[str, Any]:
        """``payment_source`` as the Vault API shows it."""
        if self.kind == "card":
            return {"card": dict(self.card or {})}
        paypal = dict(self.wallet)
        if self.payer is not None:
            paypal.update(
                {
                    "email_address": self.payer.email,
                    "payer_id": self.payer.payer_id,
                    "name": {"given_name": self.payer.given_name, "surname": self.payer.surname},
                }
            )
        return {"paypal": paypal}

    def render(self, base: str) -> dict[str, Any]:
        """The token as ``GET /v3/vault/payment-tokens/{id}`` shows it."""
        href = f"{base}/v3/vault/payment-tokens/{self.id}"
        return {
            "id": self.id,
            "customer": {"id": self.customer_id},
            "payment_source": self.source(),
            "links": [link(href, "self"), link(href, "delete", "DELETE")],
        }


def merchant_id(client_id: str) -> str:
    """A stable merchant (payee) account id for a client id, in PayPal's account-id alphabet."""
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    digest = hashlib.sha256(client_id.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:13])
