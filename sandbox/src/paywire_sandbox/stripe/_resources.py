"""Builders for Stripe's JSON objects, field for field as the API returns them.

Objects are plain dicts kept in the engine's stores and mutated in place as their state
changes; responses and events serialise them once, when sent.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import string
from typing import Any

from paywire_sandbox.stripe._cards import CardSpec, Decline, fingerprint

__all__ = [
    "API_VERSION",
    "EVIDENCE_FIELDS",
    "JSON",
    "IdMaker",
    "bank_payment_method",
    "charge",
    "checkout_session",
    "customer",
    "dispute",
    "event_bytes",
    "payment_intent",
    "payment_method",
    "refund",
    "setup_intent",
]

JSON = dict[str, Any]

#: The account's default API version: events carry it, responses echo it unless overridden.
API_VERSION = "2026-10-28.endive"

_ALNUM = string.ascii_letters + string.digits

_DISPLAY_BRAND = {
    "amex": "american_express",
    "diners": "diners_club",
    "unionpay": "union_pay",
}


class IdMaker:
    """Stripe-looking ids (``pi_`` + 24 characters), unique for the life of the fake.

    A random per-instance tag plus a counter: cheap, and never reused after a reset, so a stale
    id from before a reset is a clean 404.
    """

    __slots__ = ("_counter", "_tag")

    def __init__(self) -> None:
        self._tag = "".join(secrets.choice(_ALNUM) for _ in range(10))
        self._counter = itertools.count(1)

    def __call__(self, prefix: str) -> str:
        """A new id with ``prefix`` (``pi``, ``cs_test``, ...)."""
        return f"{prefix}_{self._tag}{next(self._counter):014X}"

    @staticmethod
    def secret() -> str:
        """The random tail of a client secret."""
        return os.urandom(12).hex()


def _null_address() -> JSON:
    return {
        "city": None,
        "country": None,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


def customer(
    cid: str,
    created: int,
    *,
    email: str | None,
    name: str | None,
    description: str | None,
    phone: str | None,
    metadata: dict[str, str],
) -> JSON:
    """A Customer."""
    return {
        "id": cid,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": created,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": description,
        "discount": None,
        "email": email,
        "invoice_prefix": cid[-8:].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": metadata,
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def _billing_details(email: str | None, name: str | None) -> JSON:
    return {"address": _null_address(), "email": email, "name": name, "phone": None, "tax_id": None}


def _checks() -> JSON:
    return {"address_line1_check": None, "address_postal_code_check": None, "cvc_check": "pass"}


def payment_method(
    pmid: str,
    created: int,
    spec: CardSpec,
    *,
    exp_month: int,
    exp_year: int,
    email: str | None = None,
    name: str | None = None,
) -> JSON:
    """A card PaymentMethod (not attached to any customer yet)."""
    return {
        "id": pmid,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": _billing_details(email, name),
        "card": {
            "brand": spec.brand,
            "checks": _checks(),
            "country": spec.country,
            "display_brand": _DISPLAY_BRAND.get(spec.brand, spec.brand),
            "exp_month": exp_month,
            "exp_year": exp_year,
            "fingerprint": fingerprint(spec.number),
            "funding": spec.funding,
            "generated_from": None,
            "last4": spec.last4,
            "networks": {"available": [spec.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": created,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def bank_payment_method(
    pmid: str,
    created: int,
    *,
    account_number: str,
    fingerprint: str,
    email: str | None,
    name: str | None,
) -> JSON:
    """A ``us_bank_account`` PaymentMethod (a delayed-notification method: ACH debit)."""
    return {
        "id": pmid,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": _billing_details(email, name),
        "created": created,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "us_bank_account",
        "us_bank_account": {
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "financial_connections_account": None,
            "fingerprint": fingerprint,
            "last4": account_number[-4:],
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": "110000000",
            "status_details": {},
        },
    }


def payment_intent(
    piid: str,
    created: int,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    description: str | None,
    metadata: dict[str, str],
    payment_method: str | None,
    receipt_email: str | None,
    setup_future_usage: str | None,
    statement_descriptor: str | None,
    statement_descriptor_suffix: str | None,
) -> JSON:
    """A PaymentIntent in its initial status (``requires_payment_method``/``_confirmation``)."""
    return {
        "id": piid,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{piid}_secret_{IdMaker.secret()}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": customer,
        "description": description,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": setup_future_usage,
        "shipping": None,
        "source": None,
        "statement_descriptor": statement_descriptor,
        "statement_descriptor_suffix": statement_descriptor_suffix,
        "status": "requires_confirmation" if payment_method else "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(
    chid: str,
    created: int,
    *,
    pi: JSON,
    pm: JSON,
    decline: Decline | None,
    balance_transaction: str | None,
    three_d_secure: bool,
) -> JSON:
    """The Charge a PaymentIntent confirmation makes: ``succeeded``, or ``failed`` with why.

    A bank debit (``us_bank_account``) starts ``pending`` and settles later.
    """
    ok = decline is None
    bank = pm["type"] == "us_bank_account"
    details = (
        _bank_details(pm["us_bank_account"])
        if bank
        else _card_details(pm["card"], pi["amount"], ok, three_d_secure)
    )
    amount = pi["amount"]
    failure_code: str | None = None
    failure_message: str | None = None
    if decline is None:
        outcome = {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    else:
        failure_code, failure_message = decline.code, decline.message
        outcome = {
            "advice_code": "do_not_try_again" if decline.code == "expired_card" else None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": (
                "declined_by_network"
                if decline.outcome_type == "issuer_declined"
                else "not_sent_to_network"
            ),
            "reason": decline.decline_code or decline.code,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "The bank did not return any further details with this decline.",
            "type": decline.outcome_type,
        }
    return {
        "id": chid,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if ok else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": pm["billing_details"],
        "calculated_statement_descriptor": "PAYWIRE SANDBOX",
        "captured": ok,
        "created": created,
        "currency": pi["currency"],
        "customer": pi["customer"],
        "description": pi["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": failure_code,
        "failure_message": failure_message,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(pi["metadata"]),
        "on_behalf_of": None,
        "outcome": outcome,
        "paid": ok and not bank,
        "payment_intent": pi["id"],
        "payment_method": pm["id"],
        "payment_method_details": details,
        "radar_options": {},
        "receipt_email": pi["receipt_email"],
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{chid}" if ok else None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": pi["statement_descriptor"],
        "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
        "status": ("pending" if bank else "succeeded") if ok else "failed",
        "transfer_data": None,
        "transfer_group": None,
    }


def _card_details(card: JSON, amount: int, ok: bool, three_d_secure: bool) -> JSON:
    return {
        "card": {
            "amount_authorized": amount if ok else None,
            "authorization_code": None,
            "brand": card["brand"],
            "checks": card["checks"],
            "country": card["country"],
            "exp_month": card["exp_month"],
            "exp_year": card["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": card["fingerprint"],
            "funding": card["funding"],
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card["last4"],
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card["brand"],
            "network_token": {"used": False},
            "network_transaction_id": None,
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": (
                {
                    "authentication_flow": "challenge",
                    "electronic_commerce_indicator": "05",
                    "exemption_indicator": None,
                    "result": "authenticated",
                    "result_reason": None,
                    "transaction_id": None,
                    "version": "2.2.0",
                }
                if three_d_secure
                else None
            ),
            "wallet": None,
        },
        "type": "card",
    }


def _bank_details(account: JSON) -> JSON:
    return {
        "type": "us_bank_account",
        "us_bank_account": {
            "account_holder_type": account["account_holder_type"],
            "account_type": account["account_type"],
            "bank_name": account["bank_name"],
            "fingerprint": account["fingerprint"],
            "last4": account["last4"],
            "mandate": None,
            "payment_reference": None,
            "routing_number": account["routing_number"],
        },
    }


_EVIDENCE_FIELDS = (
    "access_activity_log", "billing_address", "cancellation_policy",
    "cancellation_policy_disclosure", "cancellation_rebuttal", "customer_communication",
    "customer_email_address", "customer_name", "customer_purchase_ip", "customer_signature",
    "duplicate_charge_documentation", "duplicate_charge_explanation", "duplicate_charge_id",
    "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
    "refund_refusal_explanation", "service_date", "service_documentation", "shipping_address",
    "shipping_carrier", "shipping_date", "shipping_documentation", "shipping_tracking_number",
    "uncategorized_file", "uncategorized_text",
)  # fmt: skip

#: The evidence fields the sandbox accepts on ``POST /v1/disputes/{id}`` (all text).
EVIDENCE_FIELDS = frozenset(_EVIDENCE_FIELDS)


def dispute(duid: str, created: int, *, charge: JSON, inquiry: bool, due_by: int) -> JSON:
    """A card Dispute opened against ``charge`` (a fraud chargeback, or an inquiry)."""
    card = charge["payment_method_details"]["card"]
    return {
        "id": duid,
        "object": "dispute",
        "amount": charge["amount"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**dict.fromkeys(_EVIDENCE_FIELDS), "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": due_by,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "is_charge_refundable": inquiry,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4",
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": card["brand"],
                "case_type": "inquiry" if inquiry else "chargeback",
                "network": card["network"],
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        "reason": "fraudulent",
        "status": "warning_needs_response" if inquiry else "needs_response",
    }


def refund(
    reid: str,
    created: int,
    *,
    amount: int,
    charge: JSON,
    reason: str | None,
    metadata: dict[str, str],
    balance_transaction: str,
) -> JSON:
    """A card Refund; card refunds succeed at once in test mode.

    ``customer`` and ``payment_method`` are the charge's, as the API returns since they were
    added to the Refund object.
    """
    return {
        "id": reid,
        "object": "refund",
        "amount": amount,
        "balance_transaction": balance_transaction,
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "destination_details": {
            "card": {
                "reference": None,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def setup_intent(
    setiid: str,
    created: int,
    *,
    customer: str | None,
    description: str | None,
    metadata: dict[str, str],
    usage: str = "off_session",
) -> JSON:
    """A SetupIntent waiting for a payment method."""
    return {
        "id": setiid,
        "object": "setup_intent",
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": f"{setiid}_secret_{IdMaker.secret()}",
        "created": created,
        "customer": customer,
        "description": description,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": None,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": ["card"],
        "single_use_mandate": None,
        "status": "requires_payment_method",
        "usage": usage,
    }


def checkout_session(
    csid: str,
    created: int,
    *,
    mode: str,
    url: str,
    expires_at: int,
    amount_total: int | None,
    currency: str | None,
    customer: str | None,
    customer_creation: str | None,
    customer_email: str | None,
    client_reference_id: str | None,
    metadata: dict[str, str],
    success_url: str | None,
    cancel_url: str | None,
    locale: str | None,
    submit_type: str | None,
) -> JSON:
    """An open hosted Checkout Session."""
    payment = mode == "payment"
    return {
        "id": csid,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_creation": customer_creation,
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": (
            {
                "enabled": False,
                "invoice_data": {
                    "account_tax_ids": None,
                    "custom_fields": None,
                    "description": None,
                    "footer": None,
                    "issuer": None,
                    "metadata": {},
                    "rendering_options": None,
                },
            }
            if payment
            else None
        ),
        "livemode": False,
        "locale": locale,
        "metadata": metadata,
        "mode": mode,
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required" if payment else "always",
        "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid" if payment else "no_payment_required",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": submit_type,
        "subscription": None,
        "success_url": success_url,
        "total_details": (
            {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0} if payment else None
        ),
        "ui_mode": "hosted_page",
        "url": url,
        "wallet_options": None,
    }


def event_bytes(
    evid: str,
    created: int,
    type_: str,
    obj_json: str,
    *,
    previous_attributes: JSON | None,
    pending_webhooks: int,
    request_id: str | None,
    idempotency_key: str | None,
) -> bytes:
    """An Event wrapping ``obj_json`` (the object's JSON at the time of the event).

    Written as text around the already-serialised object, so each event costs one
    serialisation of its object; only the free-form parts go through ``json.dumps``.
    """
    data = f'{{"object": {obj_json}'
    if previous_attributes is not None:
        data += f', "previous_attributes": {json.dumps(previous_attributes)}'
    request = json.dumps(request_id) if request_id is not None else "null"
    key = json.dumps(idempotency_key) if idempotency_key is not None else "null"
    return (
        f'{{"id": "{evid}", "object": "event", "api_version": "{API_VERSION}", '
        f'"created": {created}, "data": {data}}}, "livemode": false, '
        f'"pending_webhooks": {pending_webhooks}, '
        f'"request": {{"id": {request}, "idempotency_key": {key}}}, "type": "{type_}"}}'
    ).encode()
