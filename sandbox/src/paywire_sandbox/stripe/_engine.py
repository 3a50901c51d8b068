"""The whole Stripe account the fake serves: hosted Checkout and SetupIntents on top of payments.

:class:`StripeEngine` adds Checkout Sessions (payment and setup mode, expiry on the sandbox
clock, delayed-notification bank debits) and 3D Secure completion to :class:`PaymentsAccount`.
"""

from __future__ import annotations

import heapq

from paywire_sandbox.stripe import _resources as res
from paywire_sandbox.stripe._account import (
    CONFIRMABLE,
    Attempt,
    IntentRecord,
    PaymentMethodRecord,
    SessionRecord,
    setup_decline,
)
from paywire_sandbox.stripe._cards import (
    AUTH_FAILED,
    Behaviour,
    CardSpec,
    Decline,
    card_for_number,
    fingerprint,
)
from paywire_sandbox.stripe._errors import invalid_request, resource_missing
from paywire_sandbox.stripe._payments import PaymentsAccount
from paywire_sandbox.stripe._resources import JSON

__all__ = [
    "Attempt",
    "PaymentMethodRecord",
    "SessionRecord",
    "StripeEngine",
    "success_redirect",
]

#: ACH return R01, as the test account 000111111113 produces.
BANK_INSUFFICIENT = Decline(
    "insufficient_funds",
    None,
    "The customer's account has insufficient funds to cover this payment.",
    outcome_type="issuer_declined",
)


class StripeEngine(PaymentsAccount):
    """One Stripe test-mode account: customers, payment methods, intents, sessions, events."""

    def authenticate(self, intent_id: str, *, success: bool) -> Attempt:
        """Finish a 3D Secure challenge for an intent in ``requires_action``."""
        is_setup = intent_id.startswith("seti_")
        record = self.setup_intent(intent_id) if is_setup else self.intent(intent_id)
        obj = record.obj
        pm = record.pm
        if obj["status"] != "requires_action" or pm is None:
            kind = "SetupIntent" if is_setup else "PaymentIntent"
            raise invalid_request(
                f"This {kind} is not waiting for authentication (status: {obj['status']}).",
                code=(
                    "setup_intent_unexpected_state"
                    if is_setup
                    else "payment_intent_unexpected_state"
                ),
            )
        decline: Decline | None = None
        if is_setup:
            if success:
                self._setup_succeed(record, pm)
            else:
                decline = AUTH_FAILED
                self._setup_fail(record, pm, AUTH_FAILED)
        elif success:
            self._succeed(record, pm, three_d_secure=True)
        else:
            decline = AUTH_FAILED
            self._fail(record, pm, AUTH_FAILED)
        if record.session is not None:
            return self._after_session_attempt(self.sessions[record.session], decline)
        status = obj["status"]
        redirect = record.return_url
        if redirect is not None:
            key = "setup_intent" if is_setup else "payment_intent"
            sep = "&" if "?" in redirect else "?"
            redirect = (
                f"{redirect}{sep}{key}={obj['id']}&{key}_client_secret={obj['client_secret']}"
                f"&redirect_status={'succeeded' if success else 'failed'}"
            )
        return Attempt(status, redirect, decline)

    # ------------------------------------------------------------------ checkout

    def session(self, csid: str, param: str = "session") -> SessionRecord:
        """A Checkout Session (expired first if its time is up), or Stripe's 404."""
        self.expire_due()
        record = self.sessions.get(csid)
        if record is None:
            raise resource_missing("checkout.session", csid, param=param)
        return record

    def add_session(self, record: SessionRecord) -> None:
        """Store a newly created session and schedule its expiry."""
        obj = record.obj
        self.sessions[obj["id"]] = record
        heapq.heappush(self._expiry, (obj["expires_at"], obj["id"]))

    def expire_due(self) -> None:
        """Expire every open session whose ``expires_at`` has passed on the sandbox clock."""
        heap = self._expiry
        if not heap or heap[0][0] > self.ctx.clock.now():
            return
        now = self.ctx.clock.now()
        while heap and heap[0][0] <= now:
            _, csid = heapq.heappop(heap)
            record = self.sessions.get(csid)
            if record is not None and record.obj["status"] == "open":
                self._expire(record)

    def expire_session(self, csid: str) -> JSON:
        """``POST /v1/checkout/sessions/{id}/expire``."""
        record = self.session(csid)
        status = record.obj["status"]
        if status != "open":
            raise invalid_request(
                f'Only Checkout Sessions with a status in ["open"] can be expired. This '
                f'session has status "{status}".',
                param="session",
            )
        self._expire(record)
        return record.obj

    def _expire(self, record: SessionRecord) -> None:
        obj = record.obj
        obj["status"] = "expired"
        obj["url"] = None
        piid = obj["payment_intent"]
        if piid is not None:
            pi = self.payment_intents[piid].obj
            if pi["status"] in CONFIRMABLE:
                self._cancel_intent(pi, "abandoned")
        setiid = obj["setup_intent"]
        if setiid is not None:
            seti = self.setup_intents[setiid].obj
            if seti["status"] in CONFIRMABLE:
                seti["status"] = "canceled"
                seti["cancellation_reason"] = "abandoned"
                self.emit("setup_intent.canceled", seti)
        self.emit("checkout.session.expired", obj)

    def create_setup_intent(
        self,
        *,
        customer: str | None,
        description: str | None,
        metadata: dict[str, str],
        session: str | None,
    ) -> IntentRecord:
        """A SetupIntent (made by a setup-mode Checkout Session)."""
        obj = res.setup_intent(
            self.new_id("seti"),
            self.now(),
            customer=customer,
            description=description,
            metadata=metadata,
        )
        record = IntentRecord(obj, session=session)
        self.setup_intents[obj["id"]] = record
        self.emit("setup_intent.created", obj)
        return record

    def pay_session(
        self,
        csid: str,
        spec: CardSpec,
        *,
        exp_month: int,
        exp_year: int,
        email: str | None,
        name: str | None = None,
        three_d_secure: bool | None = None,
    ) -> Attempt:
        """The customer submits a card on the hosted page (or the control API does for them).

        ``three_d_secure`` decides a challenge at once (control API); ``None`` leaves the session
        waiting on the challenge page.
        """
        record = self._open_session(csid)
        obj = record.obj
        customer, email = self._session_customer(record, email, name)
        pm = self.new_payment_method(
            spec, exp_month=exp_month, exp_year=exp_year, email=email, name=name
        )
        intent: IntentRecord
        if obj["mode"] == "payment":
            intent = self._session_payment_intent(record, customer)
            intent.pm = pm
            intent.obj["payment_method"] = pm.obj["id"]
            decline = self._attempt(intent, pm, off_session=False)
        else:
            intent = self.setup_intents[obj["setup_intent"]]
            intent.obj["customer"] = customer
            decline = self._setup_attempt(intent, pm)
        if intent.obj["status"] == "requires_action":
            if three_d_secure is None:
                return Attempt("requires_action", None, None, action_intent=intent.obj["id"])
            return self.authenticate(intent.obj["id"], success=three_d_secure)
        return self._after_session_attempt(record, decline)

    def _open_session(self, csid: str) -> SessionRecord:
        record = self.session(csid)
        status = record.obj["status"]
        if status != "open":
            raise invalid_request(
                f"This Checkout Session is no longer available (status: {status}).",
                param="session",
            )
        return record

    def _session_customer(
        self, record: SessionRecord, email: str | None, name: str | None
    ) -> tuple[str | None, str]:
        """The paying customer (created now for ``customer_creation=always``) and email."""
        obj = record.obj
        customer = obj["customer"]
        if customer is not None:
            email = email or self.customers[customer]["email"]
        email = email or obj["customer_email"] or "customer@example.com"
        if customer is None and obj["customer_creation"] == "always":
            customer = self.create_customer(email=email, name=name)["id"]
            obj["customer"] = customer
        obj["customer_details"] = {
            "address": None,
            "email": email,
            "name": name,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        }
        return customer, email

    def _session_payment_intent(self, record: SessionRecord, customer: str | None) -> IntentRecord:
        """The session's PaymentIntent: made at the first attempt, reused after a decline."""
        obj = record.obj
        piid = obj["payment_intent"]
        if piid is not None:
            intent = self.payment_intents[piid]
            intent.obj["customer"] = customer
            return intent
        data = record.pi_data
        intent = self.create_payment_intent(
            amount=obj["amount_total"],
            currency=obj["currency"],
            customer=customer,
            description=data.get("description"),
            metadata=dict(data.get("metadata") or {}),
            receipt_email=data.get("receipt_email"),
            setup_future_usage=data.get("setup_future_usage"),
            statement_descriptor=data.get("statement_descriptor"),
            statement_descriptor_suffix=data.get("statement_descriptor_suffix"),
            session=obj["id"],
            payment_method_types=list(obj["payment_method_types"]),
        )
        obj["payment_intent"] = intent.obj["id"]
        return intent

    def pay_session_by_bank(
        self, csid: str, *, succeed: bool, email: str | None, name: str | None = None
    ) -> Attempt:
        """The customer pays by ACH debit: a delayed-notification method.

        Checkout completes at once with ``payment_status: unpaid`` (``checkout.session.completed``)
        and the debit settles right after, firing ``checkout.session.async_payment_succeeded``
        or ``..._failed`` with the PaymentIntent's and Charge's own events.
        """
        record = self._open_session(csid)
        obj = record.obj
        if obj["mode"] != "payment" or "us_bank_account" not in obj["payment_method_types"]:
            raise invalid_request(
                "This Checkout Session does not accept us_bank_account payments (create it in "
                "payment mode with allowed_payment_method_types including us_bank_account).",
                param="payment_method_types",
            )
        customer, email = self._session_customer(record, email, name)
        account = "000123456789" if succeed else "000111111113"
        pm = PaymentMethodRecord(
            res.bank_payment_method(
                self.new_id("pm"),
                self.now(),
                account_number=account,
                fingerprint=fingerprint(account),
                email=email,
                name=name,
            ),
            card_for_number("4242424242424242"),
            spent=True,  # bank accounts are not saved for reuse by this fake
        )
        self.payment_methods[pm.obj["id"]] = pm
        intent = self._session_payment_intent(record, customer)
        pi = intent.obj
        pi["payment_method"] = pm.obj["id"]
        pi["status"] = "processing"
        charge = res.charge(
            self.new_id("py"),
            self.now(),
            pi=pi,
            pm=pm.obj,
            decline=None,
            balance_transaction=self.new_id("txn"),
            three_d_secure=False,
        )
        self.charges[charge["id"]] = charge
        pi["latest_charge"] = charge["id"]
        self.emit("payment_intent.processing", pi)
        self.emit("charge.pending", charge)
        obj["status"] = "complete"
        obj["url"] = None
        self.emit("checkout.session.completed", obj)
        if succeed:
            charge["status"] = "succeeded"
            charge["paid"] = True
            self.emit("charge.succeeded", charge)
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
            self.emit("payment_intent.succeeded", pi)
            obj["payment_status"] = "paid"
            self.emit("checkout.session.async_payment_succeeded", obj)
            return Attempt("complete", success_redirect(obj), None)
        decline = BANK_INSUFFICIENT
        charge["status"] = "failed"
        charge["captured"] = False
        charge["amount_captured"] = 0
        charge["failure_code"] = decline.code
        charge["failure_message"] = decline.message
        self.emit("charge.failed", charge)
        pi["status"] = "requires_payment_method"
        pi["payment_method"] = None
        pi["last_payment_error"] = {
            "code": decline.code,
            "message": decline.message,
            "payment_method": pm.obj,
            "type": "card_error",
        }
        self.emit("payment_intent.payment_failed", pi)
        self.emit("checkout.session.async_payment_failed", obj)
        return Attempt("complete", success_redirect(obj), decline)

    def _setup_attempt(self, record: IntentRecord, pm: PaymentMethodRecord) -> Decline | None:
        record.pm = pm
        record.obj["payment_method"] = pm.obj["id"]
        spec = pm.card
        decline = setup_decline(spec)
        if decline is not None:
            self._setup_fail(record, pm, decline)
            return decline
        if spec.behaviour in (Behaviour.AUTH_ALWAYS, Behaviour.AUTH_UNLESS_SETUP):
            self._require_action(record, pm)
            return None
        self._setup_succeed(record, pm)
        return None

    def _setup_succeed(self, record: IntentRecord, pm: PaymentMethodRecord) -> None:
        obj = record.obj
        obj["status"] = "succeeded"
        obj["payment_method"] = pm.obj["id"]
        obj["next_action"] = None
        obj["last_setup_error"] = None
        obj["latest_attempt"] = self.new_id("setatt")
        pm.set_up = True
        customer = obj["customer"]
        if customer is not None and pm.obj["customer"] is None:
            self._attach(pm, customer)
        self.emit("setup_intent.succeeded", obj)

    def _setup_fail(self, record: IntentRecord, pm: PaymentMethodRecord, decline: Decline) -> None:
        obj = record.obj
        error: JSON = {"code": decline.code}
        if decline.decline_code is not None:
            error["decline_code"] = decline.decline_code
        error["doc_url"] = "https://stripe.com/docs/error-codes/" + decline.code.replace("_", "-")
        error["message"] = decline.message
        error["payment_method"] = pm.obj
        error["type"] = "invalid_request_error" if decline is AUTH_FAILED else "card_error"
        obj["status"] = "requires_payment_method"
        obj["payment_method"] = None
        obj["next_action"] = None
        obj["last_setup_error"] = error
        obj["latest_attempt"] = self.new_id("setatt")
        record.pm = None
        pm.spent = True
        self.emit("setup_intent.setup_failed", obj)

    def _after_session_attempt(self, record: SessionRecord, decline: Decline | None) -> Attempt:
        obj = record.obj
        if decline is not None:
            record.error = decline.message
            return Attempt("open", None, decline)
        record.error = None
        obj["status"] = "complete"
        if obj["mode"] == "payment":
            obj["payment_status"] = "paid"
        obj["collected_information"] = {
            "business_name": None,
            "individual_name": None,
            "shipping_details": None,
        }
        obj["url"] = None
        self.emit("checkout.session.completed", obj)
        return Attempt("complete", success_redirect(obj), None)


def success_redirect(session: JSON) -> str | None:
    """The success URL with ``{CHECKOUT_SESSION_ID}`` filled in, as Checkout redirects."""
    url = session["success_url"]
    if url is None:
        return None
    result: str = url.replace("{CHECKOUT_SESSION_ID}", session["id"])
    return result
