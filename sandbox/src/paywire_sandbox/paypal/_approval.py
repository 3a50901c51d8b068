"""Hosted approval pages and control routes of the PayPal fake."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from paywire_sandbox.paypal import _ids
from paywire_sandbox.paypal._base import (
    APPROVAL_WINDOW,
    Conflict,
    PayPalBase,
    control_error,
    json_response,
    loads_or_none,
    with_query,
)
from paywire_sandbox.paypal._models import (
    Order,
    Payer,
    PaymentToken,
    SetupToken,
    money,
)
from paywire_sandbox.paypal._outcomes import OUTCOMES, outcome_for_card
from paywire_sandbox.paypal._pages import approval_page, message_page
from paywire_sandbox.paypal._requests import (
    CARD_NUMBER_RE,
    CUSTOMER_ID_RE,
    EXPIRY_RE,
    card_details,
)

__all__ = ["ApprovalMixin"]

# The approval form has two fields; far more, or a large body, is not a browser filling it in.
_FORM_FIELDS = 20
_FORM_LIMIT = 16 * 1024


class ApprovalMixin(PayPalBase):
    """The hosted approval pages and the control routes that act as the buyer."""

    def _approve_order(self, order: Order, outcome: str) -> tuple[str | None, str]:
        """The buyer approves ``order``; returns the redirect (if any) and the new status."""
        now = self.ctx.clock.now()
        if order.status == "COMPLETED":
            raise Conflict("This order has already been paid.")
        if order.status != "APPROVED":
            if now - order.created > APPROVAL_WINDOW:
                raise Conflict("This order has expired; the approval window is 3 hours.")
            order.payer = order.payer or Payer(payer_id=_ids.payer_id(), email="")
            if not order.payer.email:
                order.payer.email = f"sb-{order.payer.payer_id.lower()}@personal.example.com"
            order.outcome = outcome
            order.status = "APPROVED"
            order.updated = now
            self._emit(
                "CHECKOUT.ORDER.APPROVED",
                "checkout-order",
                self._render_order(order, self._base),
                "An order has been approved by buyer",
            )
        return_url = order.experience.get("return_url")
        if return_url is None:
            return None, order.status
        payer_id = order.payer.payer_id if order.payer is not None else ""
        return with_query(return_url, {"token": order.id, "PayerID": payer_id}), order.status

    def _approve_setup(self, token: SetupToken, outcome: str) -> tuple[str | None, str]:
        if token.status == "TOKENIZED":
            raise Conflict("This setup token has already been used.")
        if token.status == "PAYER_ACTION_REQUIRED":
            payer_id = _ids.payer_id()
            token.payer = Payer(
                payer_id=payer_id, email=f"sb-{payer_id.lower()}@personal.example.com"
            )
            token.outcome = outcome
            token.status = "APPROVED"
        return_url = token.experience.get("return_url")
        if return_url is None:
            return None, token.status
        return with_query(
            return_url, {"approval_token_id": token.id, "approval_session_id": token.id}
        ), token.status

    def _complete(self, resource_id: str, outcome: str) -> tuple[str | None, str]:
        if resource_id in self._orders:
            return self._approve_order(self._orders[resource_id], outcome)
        if resource_id in self._setup_tokens:
            return self._approve_setup(self._setup_tokens[resource_id], outcome)
        raise KeyError(resource_id)

    def _cancel(self, resource_id: str) -> str | None:
        if resource_id in self._orders:
            url = self._orders[resource_id].experience.get("cancel_url")
            return None if url is None else with_query(url, {"token": resource_id})
        if resource_id in self._setup_tokens:
            url = self._setup_tokens[resource_id].experience.get("cancel_url")
            return None if url is None else with_query(url, {"approval_token_id": resource_id})
        raise KeyError(resource_id)

    async def _order_page(self, request: Request) -> Response:
        return await self._page(request, request.query_params.get("token", ""), self._orders)

    async def _setup_page(self, request: Request) -> Response:
        return await self._page(
            request, request.query_params.get("approval_session_id", ""), self._setup_tokens
        )

    async def _page(self, request: Request, resource_id: str, known: dict[str, Any]) -> Response:
        self._api_base(request)
        if resource_id not in known:
            return HTMLResponse(message_page("Not found", "This PayPal link is not valid."), 404)
        if request.method == "GET":
            return HTMLResponse(self._page_html(request, resource_id))
        raw = await request.body()
        try:
            if len(raw) > _FORM_LIMIT:
                raise ValueError("the form is too large")
            form = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=_FORM_FIELDS)
        except ValueError as error:
            # No browser sends this page such a form: PayPal's page would refuse it too.
            return HTMLResponse(message_page("Invalid request", str(error)), 400)
        action = form.get("action", ["approve"])[0]
        try:
            if action == "cancel":
                url = self._cancel(resource_id)
                if url is None:
                    return HTMLResponse(
                        message_page("Cancelled", "You cancelled; return to the merchant.")
                    )
                return RedirectResponse(url, status_code=303)
            outcome = form.get("outcome", ["success"])[0]
            if outcome not in OUTCOMES:
                return HTMLResponse(
                    message_page("Unknown choice", f"No funding source {outcome!r}."), 400
                )
            url, _status = self._complete(resource_id, outcome)
        except Conflict as conflict:
            return HTMLResponse(message_page("Cannot continue", str(conflict)), 409)
        if url is None:
            return HTMLResponse(message_page("Approved", "You approved; return to the merchant."))
        return RedirectResponse(url, status_code=303)

    def _page_html(self, request: Request, resource_id: str) -> str:
        if resource_id in self._orders:
            order = self._orders[resource_id]
            unit = order.purchase_units[0]
            total = sum((u.amount for u in order.purchase_units), Decimal(0))
            amount = f"{money(total, unit.currency)['value']} {unit.currency}"
            brand = order.experience.get("brand_name") or "Sandbox merchant"
            heading = "Pay with PayPal"
        else:
            token = self._setup_tokens[resource_id]
            amount = None
            brand = token.experience.get("brand_name") or "Sandbox merchant"
            heading = "Save PayPal for future payments"
        return approval_page(
            heading=heading,
            merchant=brand,
            amount=amount,
            action=str(request.url),
            token=resource_id,
        )

    async def _control_json(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        body = loads_or_none(raw)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def _control_complete(self, request: Request) -> Response:
        self._control_base(request)
        resource_id = request.path_params["id"]
        try:
            body = await self._control_json(request)
            outcome = body.get("outcome")
            if outcome is None:
                card = body.get("card")
                outcome = outcome_for_card(card) if isinstance(card, str) else "success"
            if not isinstance(outcome, str) or outcome not in OUTCOMES:
                return control_error(400, f"unknown outcome; one of {sorted(OUTCOMES)}")
            url, status = self._complete(resource_id, outcome)
        except ValueError as error:
            return control_error(400, f"invalid JSON body: {error}")
        except KeyError:
            return control_error(404, f"no order or setup token {resource_id!r}")
        except Conflict as conflict:
            return control_error(409, str(conflict))
        return json_response({"redirect_url": url, "status": status})

    async def _control_cancel(self, request: Request) -> Response:
        self._control_base(request)
        resource_id = request.path_params["id"]
        try:
            url = self._cancel(resource_id)
        except KeyError:
            return control_error(404, f"no order or setup token {resource_id!r}")
        return json_response({"redirect_url": url})

    async def _control_payment_token(self, request: Request) -> Response:
        base = self._control_base(request)
        try:
            body = await self._control_json(request)
        except ValueError as error:
            return control_error(400, f"invalid JSON body: {error}")
        card = body.get("card")
        outcome = body.get("outcome")
        if outcome is None:
            outcome = outcome_for_card(card) if isinstance(card, str) else "success"
        if not isinstance(outcome, str) or outcome not in OUTCOMES:
            return control_error(400, f"unknown outcome; one of {sorted(OUTCOMES)}")
        if card is not None and not (isinstance(card, str) and CARD_NUMBER_RE.fullmatch(card)):
            return control_error(400, "card must be a string of 13 to 19 digits")
        expiry = body.get("expiry", "2030-12")
        if not (isinstance(expiry, str) and EXPIRY_RE.fullmatch(expiry)):
            return control_error(400, "expiry must look like YYYY-MM")
        customer = body.get("customer_id")
        if customer is not None and not (
            isinstance(customer, str) and CUSTOMER_ID_RE.fullmatch(customer)
        ):
            return control_error(400, "customer_id must be 1-22 characters of [0-9a-zA-Z_-]")
        merchant = body.get("merchant")
        if merchant is None:
            owners = {t.client_id for t in self._tokens.values()}
            merchant = owners.pop() if len(owners) == 1 else "sandbox"
        if not isinstance(merchant, str):
            return control_error(400, "merchant must be a client id")
        payer_id = _ids.payer_id()
        token = PaymentToken(
            id=self._new_payment_token_id(),
            merchant=merchant,
            customer_id=customer or _ids.customer_id(),
            kind="card" if card is not None else "paypal",
            created=self.ctx.clock.now(),
            outcome=outcome,
            wallet={
                "usage_type": "MERCHANT",
                "customer_type": "CONSUMER",
                "permit_multiple_payment_tokens": False,
            },
            card=card_details(card, expiry, None) if card is not None else None,
            payer=None
            if card is not None
            else Payer(payer_id=payer_id, email=f"sb-{payer_id.lower()}@personal.example.com"),
        )
        if card is not None:
            token.wallet = {}
        self._payment_tokens[token.id] = token
        self._emit_token_created(token)
        return json_response(token.render(base), 201)

    async def _control_settle(self, request: Request) -> Response:
        self._control_base(request)
        capture = self._captures.get(request.path_params["id"])
        if capture is None:
            return control_error(404, f"no capture {request.path_params['id']!r}")
        try:
            body = await self._control_json(request)
        except ValueError as error:
            return control_error(400, f"invalid JSON body: {error}")
        status = body.get("status")
        if not isinstance(status, str) or status not in {"COMPLETED", "DECLINED"}:
            return control_error(400, "status must be COMPLETED or DECLINED")
        if capture.status != "PENDING":
            return control_error(409, f"capture is {capture.status}, not PENDING")
        capture.status = status
        capture.reason = None
        capture.updated = self.ctx.clock.now()
        if status == "DECLINED" and capture.invoice_id is not None:
            self._used_invoices.get(capture.merchant, set()).discard(capture.invoice_id)
        self._emit_capture(capture)
        return json_response(capture.render(self._base))
