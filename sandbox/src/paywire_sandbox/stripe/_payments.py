"""PaymentIntents and refunds: confirmation, test-card outcomes, 3D Secure, refund arithmetic."""

from __future__ import annotations

from typing import Any

from paywire_sandbox.stripe import _resources as res
from paywire_sandbox.stripe._account import (
    CONFIRMABLE,
    UNUSABLE_PM,
    AccountBase,
    IntentRecord,
    PaymentMethodRecord,
    card_error,
    merge_metadata,
)
from paywire_sandbox.stripe._cards import (
    AUTH_FAILED,
    AUTH_REQUIRED,
    Behaviour,
    Decline,
)
from paywire_sandbox.stripe._currency import check_amount, format_amount
from paywire_sandbox.stripe._errors import StripeError, invalid_request, resource_missing
from paywire_sandbox.stripe._resources import JSON

__all__ = ["PaymentsAccount"]


class PaymentsAccount(AccountBase):
    """PaymentIntents (create, confirm, cancel), their charges, and refunds."""

    # ------------------------------------------------------------------ payment intents

    def intent(self, piid: str, param: str = "intent") -> IntentRecord:
        """A PaymentIntent, or Stripe's 404."""
        record = self.payment_intents.get(piid)
        if record is None:
            raise resource_missing("payment_intent", piid, param=param)
        return record

    def setup_intent(self, setiid: str, param: str = "intent") -> IntentRecord:
        """A SetupIntent, or Stripe's 404."""
        record = self.setup_intents.get(setiid)
        if record is None:
            raise resource_missing("setupintent", setiid, param=param)
        return record

    def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        customer: str | None = None,
        payment_method: str | None = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        receipt_email: str | None = None,
        setup_future_usage: str | None = None,
        statement_descriptor: str | None = None,
        statement_descriptor_suffix: str | None = None,
        session: str | None = None,
        payment_method_types: list[str] | None = None,
    ) -> IntentRecord:
        """``POST /v1/payment_intents`` without confirmation."""
        check_amount(amount, currency)
        if customer is not None:
            self.customer(customer, param="customer")
        pm = self.payment_method(payment_method) if payment_method is not None else None
        if pm is not None:
            self._check_usable(pm, customer)
        obj = res.payment_intent(
            self.new_id("pi"),
            self.now(),
            amount=amount,
            currency=currency,
            customer=customer,
            description=description,
            metadata=metadata or {},
            payment_method=pm.obj["id"] if pm else None,
            receipt_email=receipt_email,
            setup_future_usage=setup_future_usage,
            statement_descriptor=statement_descriptor,
            statement_descriptor_suffix=statement_descriptor_suffix,
        )
        if payment_method_types is not None:
            obj["payment_method_types"] = payment_method_types
        record = IntentRecord(obj, session=session, pm=pm)
        self.payment_intents[obj["id"]] = record
        self.emit("payment_intent.created", obj)
        return record

    def update_payment_intent(self, piid: str, changes: dict[str, Any]) -> JSON:
        """``POST /v1/payment_intents/{id}``: description, metadata, receipt_email."""
        obj = self.intent(piid).obj
        for key, value in changes.items():
            if key == "metadata":
                obj["metadata"] = merge_metadata(obj["metadata"], value)
            else:
                obj[key] = value
        return obj

    def confirm(
        self,
        record: IntentRecord,
        *,
        payment_method: str | None = None,
        off_session: bool = False,
        error_on_requires_action: bool = False,
        return_url: str | None = None,
        setup_future_usage: str | None = None,
        receipt_email: str | None = None,
    ) -> JSON:
        """Confirm a PaymentIntent server-side, raising the 402 Stripe answers on a decline."""
        obj = record.obj
        status = obj["status"]
        if status not in CONFIRMABLE:
            if status == "succeeded":
                message = (
                    "You cannot confirm this PaymentIntent because it has already succeeded "
                    "after being previously confirmed."
                )
            else:
                message = (
                    f"You cannot confirm this PaymentIntent because it has a status of {status}. "
                    "Only a PaymentIntent with one of the following statuses may be confirmed: "
                    "requires_confirmation, requires_payment_method, requires_action."
                )
            raise invalid_request(
                message,
                code="payment_intent_unexpected_state",
                extra={"payment_intent": obj},
            )
        pm = self.payment_method(payment_method) if payment_method is not None else record.pm
        if pm is None:
            raise invalid_request(
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "To confirm the PaymentIntent with "
                f"{obj['customer'] or 'a customer'}, specify a payment method attached to this "
                "customer along with the customer ID.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": obj},
            )
        self._check_usable(pm, obj["customer"])
        record.pm = pm
        if setup_future_usage is not None:
            obj["setup_future_usage"] = setup_future_usage
        if receipt_email is not None:
            obj["receipt_email"] = receipt_email
        record.return_url = return_url
        obj["payment_method"] = pm.obj["id"]
        decline = self._attempt(
            record,
            pm,
            off_session=off_session,
            error_on_requires_action=error_on_requires_action,
        )
        if decline is not None:
            raise self._decline_error(obj, pm, decline)
        return obj

    def _check_usable(self, pm: PaymentMethodRecord, customer: str | None) -> None:
        owner = pm.obj["customer"]
        if pm.spent:
            raise invalid_request(UNUSABLE_PM, param="payment_method")
        if owner is not None and owner != customer:
            if customer is None:
                message = (
                    f"The provided PaymentMethod {pm.obj['id']} is attached to a Customer. To use "
                    "it, you must also provide the Customer it is attached to in the `customer` "
                    "parameter."
                )
            else:
                message = (
                    f"The provided PaymentMethod {pm.obj['id']} belongs to a different Customer "
                    f"than {customer}."
                )
            raise invalid_request(message, param="payment_method")

    def _attempt(
        self,
        record: IntentRecord,
        pm: PaymentMethodRecord,
        *,
        off_session: bool,
        error_on_requires_action: bool = False,
    ) -> Decline | None:
        """Run the card; returns the decline, or None (succeeded or now ``requires_action``)."""
        spec = pm.card
        behaviour = spec.behaviour
        if behaviour is Behaviour.DECLINE:
            assert spec.decline is not None
            self._fail(record, pm, spec.decline)
            return spec.decline
        needs_auth = behaviour is Behaviour.AUTH_ALWAYS or (
            behaviour is Behaviour.AUTH_UNLESS_SETUP and not (off_session and pm.set_up)
        )
        if needs_auth:
            if off_session or error_on_requires_action:
                self._fail(record, pm, AUTH_REQUIRED)
                return AUTH_REQUIRED
            self._require_action(record, pm)
            return None
        self._succeed(record, pm, three_d_secure=False)
        return None

    def _require_action(self, record: IntentRecord, pm: PaymentMethodRecord) -> None:
        obj = record.obj
        record.pm = pm
        obj["status"] = "requires_action"
        obj["payment_method"] = pm.obj["id"]
        obj["next_action"] = self._next_action(obj["id"], record.return_url)
        kind = "payment_intent" if obj["object"] == "payment_intent" else "setup_intent"
        self.emit(f"{kind}.requires_action", obj)

    def _next_action(self, intent_id: str, return_url: str | None) -> JSON:
        challenge = f"{self.base_url}3ds/{intent_id}"
        if return_url is not None:
            return {
                "redirect_to_url": {"return_url": return_url, "url": challenge},
                "type": "redirect_to_url",
            }
        return {
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "directory_server_name": "visa",
                "source": intent_id,
                "stripe_js": challenge,
                "type": "stripe_3ds2_fingerprint",
            },
        }

    def _succeed(
        self, record: IntentRecord, pm: PaymentMethodRecord, *, three_d_secure: bool
    ) -> None:
        obj = record.obj
        charge = res.charge(
            self.new_id("ch"),
            self.now(),
            pi=obj,
            pm=pm.obj,
            decline=None,
            balance_transaction=self.new_id("txn"),
            three_d_secure=three_d_secure,
        )
        self.charges[charge["id"]] = charge
        obj["status"] = "succeeded"
        obj["amount_received"] = obj["amount"]
        obj["latest_charge"] = charge["id"]
        obj["last_payment_error"] = None
        obj["next_action"] = None
        obj["payment_method"] = pm.obj["id"]
        customer = obj["customer"]
        if obj["setup_future_usage"] is not None:
            pm.set_up = True
            if customer is not None and pm.obj["customer"] is None:
                self._attach(pm, customer)
        elif pm.obj["customer"] is None:
            pm.spent = True  # used once without a customer: Stripe refuses to reuse it
        self.emit("charge.succeeded", charge)
        self.emit("payment_intent.succeeded", obj)
        if pm.card.behaviour in (Behaviour.DISPUTE, Behaviour.INQUIRY):
            self._open_dispute(charge, inquiry=pm.card.behaviour is Behaviour.INQUIRY)

    def _fail(self, record: IntentRecord, pm: PaymentMethodRecord, decline: Decline) -> None:
        obj = record.obj
        charge_id: str | None = None
        if decline is not AUTH_FAILED:
            charge = res.charge(
                self.new_id("ch"),
                self.now(),
                pi=obj,
                pm=pm.obj,
                decline=decline,
                balance_transaction=None,
                three_d_secure=False,
            )
            self.charges[charge["id"]] = charge
            charge_id = charge["id"]
            obj["latest_charge"] = charge_id
        error: JSON = {}
        if charge_id is not None:
            error["charge"] = charge_id
        error["code"] = decline.code
        if decline.decline_code is not None:
            error["decline_code"] = decline.decline_code
        error["doc_url"] = "https://stripe.com/docs/error-codes/" + decline.code.replace("_", "-")
        error["message"] = decline.message
        if decline.param is not None:
            error["param"] = decline.param
        error["payment_method"] = pm.obj
        error["type"] = "invalid_request_error" if decline is AUTH_FAILED else "card_error"
        obj["status"] = "requires_payment_method"
        obj["next_action"] = None
        obj["payment_method"] = None
        obj["last_payment_error"] = error
        record.pm = None
        if pm.obj["customer"] is None and obj["setup_future_usage"] is None:
            pm.spent = True
        if charge_id is not None:
            self.emit("charge.failed", self.charges[charge_id])
        self.emit("payment_intent.payment_failed", obj)

    def _decline_error(self, pi: JSON, pm: PaymentMethodRecord, decline: Decline) -> StripeError:
        extra: JSON = {}
        charge = pi["latest_charge"]
        if charge is not None and decline is not AUTH_FAILED:
            extra["charge"] = charge
        if decline.decline_code is not None:
            extra["decline_code"] = decline.decline_code
        extra["payment_intent"] = pi
        extra["payment_method"] = pm.obj
        extra["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{self.request_id}"
        return card_error(decline, extra=extra)

    def cancel_payment_intent(self, piid: str, reason: str | None) -> JSON:
        """``POST /v1/payment_intents/{id}/cancel``."""
        obj = self.intent(piid).obj
        if obj["status"] in ("succeeded", "canceled"):
            raise invalid_request(
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{obj['status']}. Only a PaymentIntent with one of the following statuses may "
                "be canceled: requires_payment_method, requires_capture, requires_confirmation, "
                "requires_action, processing.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": obj},
            )
        self._cancel_intent(obj, reason)
        return obj

    def _cancel_intent(self, obj: JSON, reason: str | None) -> None:
        obj["status"] = "canceled"
        obj["canceled_at"] = self.now()
        obj["cancellation_reason"] = reason
        obj["next_action"] = None
        self.emit("payment_intent.canceled", obj)

    # ------------------------------------------------------------------ refunds

    def charge(self, chid: str, param: str = "charge") -> JSON:
        """A Charge, or Stripe's 404."""
        obj = self.charges.get(chid)
        if obj is None:
            raise resource_missing("charge", chid, param=param)
        return obj

    def refund(self, reid: str) -> JSON:
        """A Refund, or Stripe's 404."""
        obj = self.refunds.get(reid)
        if obj is None:
            raise resource_missing("refund", reid, param="id")
        return obj

    def create_refund(
        self,
        *,
        payment_intent: str | None,
        charge: str | None,
        amount: int | None,
        reason: str | None,
        metadata: dict[str, str] | None,
    ) -> JSON:
        """``POST /v1/refunds``: full or partial, repeated until the charge is used up."""
        if payment_intent is not None:
            pi = self.intent(payment_intent, param="payment_intent").obj
            latest = pi["latest_charge"]
            target = self.charges.get(latest) if latest else None
            if target is None or target["status"] != "succeeded":
                raise invalid_request(
                    f"This PaymentIntent ({payment_intent}) does not have a successful charge to "
                    "refund.",
                    param="payment_intent",
                    code="charge_not_refundable" if target is not None else None,
                )
            if charge is not None and charge != target["id"]:
                raise invalid_request(
                    f"The charge {charge} does not belong to the PaymentIntent {payment_intent}.",
                    param="charge",
                )
        elif charge is not None:
            target = self.charge(charge)
            if target["status"] != "succeeded":
                raise invalid_request(
                    f"Charge {charge} has not been captured successfully and cannot be refunded.",
                    param="charge",
                    code="charge_not_refundable",
                )
        else:
            raise invalid_request(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        if target["disputed"]:
            dispute = next(d for d in self.disputes.values() if d["charge"] == target["id"])
            if not dispute["is_charge_refundable"]:
                raise invalid_request(
                    f"Charge {target['id']} has been charged back; cannot issue a refund.",
                    code="charge_disputed",
                )
        currency = target["currency"]
        remaining = target["amount"] - target["amount_refunded"]
        if remaining <= 0:
            raise invalid_request(
                f"Charge {target['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount is None:
            amount = remaining
        else:
            check_amount(amount, currency, minimum=False)
            if amount > remaining:
                raise invalid_request(
                    f"Refund amount ({format_amount(amount, currency)}) is greater than "
                    f"unrefunded amount on charge ({format_amount(remaining, currency)})",
                    param="amount",
                    code="amount_too_large",
                )
        refund = res.refund(
            self.new_id("re"),
            self.now(),
            amount=amount,
            charge=target,
            reason=reason,
            metadata=metadata or {},
            balance_transaction=self.new_id("txn"),
        )
        self.refunds[refund["id"]] = refund
        previous = {"amount_refunded": target["amount_refunded"], "refunded": target["refunded"]}
        target["amount_refunded"] += amount
        target["refunded"] = target["amount_refunded"] == target["amount"]
        self.emit("refund.created", refund)
        self.emit("charge.refunded", target, previous)
        snapshot = dict(refund)
        pm = self.payment_methods.get(target["payment_method"])
        if pm is not None and pm.card.behaviour is Behaviour.REFUND_FAILS:
            self._fail_refund(refund, target)
        return snapshot

    def _fail_refund(self, refund: JSON, charge: JSON) -> None:
        # 4000000000005126: the refund is accepted, then fails "some time later" — here, at once.
        refund["status"] = "failed"
        refund["failure_reason"] = "expired_or_canceled_card"
        refund["failure_balance_transaction"] = self.new_id("txn")
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
        self.emit("refund.updated", refund, {"status": "succeeded", "failure_reason": None})
        self.emit("refund.failed", refund)
        self.emit("charge.refund.updated", refund, {"status": "succeeded"})

    def update_refund(self, reid: str, metadata: dict[str, str | None]) -> JSON:
        """``POST /v1/refunds/{id}``: only metadata can change; fires ``refund.updated``."""
        obj = self.refund(reid)
        old = dict(obj["metadata"])
        merged = merge_metadata(obj["metadata"], metadata)
        if merged != old:
            obj["metadata"] = merged
            self.emit("refund.updated", obj, {"metadata": old})
        return obj

    # ------------------------------------------------------------------ disputes

    def dispute(self, duid: str) -> JSON:
        """A Dispute, or Stripe's 404."""
        obj = self.disputes.get(duid)
        if obj is None:
            raise resource_missing("dispute", duid, param="dispute")
        return obj

    def _open_dispute(self, charge: JSON, *, inquiry: bool) -> None:
        now = self.now()
        obj = res.dispute(
            self.new_id("du"), now, charge=charge, inquiry=inquiry, due_by=now + 7 * 86400
        )
        self.disputes[obj["id"]] = obj
        charge["disputed"] = True
        self.emit("charge.dispute.created", obj)
        if not inquiry:
            obj["balance_transactions"].append(self._dispute_transaction(obj, -obj["amount"]))
            self.emit("charge.dispute.funds_withdrawn", obj)

    def _dispute_transaction(self, dispute: JSON, amount: int) -> JSON:
        return {
            "id": self.new_id("txn"),
            "object": "balance_transaction",
            "amount": amount,
            "created": self.now(),
            "currency": dispute["currency"],
            "description": f"Chargeback {'withdrawal' if amount < 0 else 'reversal'} for "
            f"{dispute['charge']}",
            "fee": 1500 if amount < 0 else 0,
            "net": amount - (1500 if amount < 0 else 0),
            "reporting_category": "dispute" if amount < 0 else "dispute_reversal",
            "source": dispute["id"],
            "status": "available",
            "type": "adjustment",
        }

    def update_dispute(
        self,
        duid: str,
        *,
        evidence: dict[str, str | None],
        metadata: dict[str, str | None] | None,
        submit: bool,
    ) -> JSON:
        """``POST /v1/disputes/{id}``: add evidence and (by default) submit it.

        As in Stripe's test mode, submitting ``uncategorized_text`` of ``winning_evidence`` or
        ``losing_evidence`` decides the dispute at once.
        """
        obj = self.dispute(duid)
        self._check_open(obj)
        previous: JSON = {}
        if metadata is not None:
            previous["metadata"] = dict(obj["metadata"])
            obj["metadata"] = merge_metadata(obj["metadata"], metadata)
        if evidence:
            previous["evidence"] = dict(obj["evidence"])
            obj["evidence"].update(evidence)
            obj["evidence_details"]["has_evidence"] = True
        inquiry = obj["payment_method_details"]["card"]["case_type"] == "inquiry"
        if submit:
            previous["status"] = obj["status"]
            obj["status"] = "warning_under_review" if inquiry else "under_review"
            obj["evidence_details"]["submission_count"] += 1
            obj["evidence_details"]["submission_method"] = "manual"
        self.emit("charge.dispute.updated", obj, previous)
        text = obj["evidence"]["uncategorized_text"]
        if submit and text in ("winning_evidence", "losing_evidence"):
            self._close_dispute(obj, won=text == "winning_evidence")
        return obj

    def close_dispute(self, duid: str) -> JSON:
        """``POST /v1/disputes/{id}/close``: accept the dispute (it is lost)."""
        obj = self.dispute(duid)
        self._check_open(obj)
        self._close_dispute(obj, won=False)
        return obj

    def _check_open(self, obj: JSON) -> None:
        if obj["status"] in ("won", "lost", "warning_closed"):
            raise invalid_request(
                f"This dispute is already closed (status: {obj['status']}).",
                param="dispute",
            )

    def _close_dispute(self, obj: JSON, *, won: bool) -> None:
        inquiry = obj["payment_method_details"]["card"]["case_type"] == "inquiry"
        if inquiry:
            obj["status"] = "warning_closed"
        else:
            obj["status"] = "won" if won else "lost"
        obj["is_charge_refundable"] = False
        self.emit("charge.dispute.closed", obj)
        if won and not inquiry:
            obj["balance_transactions"].append(self._dispute_transaction(obj, obj["amount"]))
            self.emit("charge.dispute.funds_reinstated", obj)
