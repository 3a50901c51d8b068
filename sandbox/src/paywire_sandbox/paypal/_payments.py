"""Payments v2 handlers of the PayPal fake: captures and refunds."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from paywire_sandbox.paypal import _ids
from paywire_sandbox.paypal._base import (
    Call,
    PayPalBase,
    json_response,
)
from paywire_sandbox.paypal._errors import PayPalError
from paywire_sandbox.paypal._models import (
    Capture,
    Refund,
    money,
)
from paywire_sandbox.paypal._requests import (
    money_field,
    optional_string,
)

__all__ = ["PaymentsMixin"]


class PaymentsMixin(PayPalBase):
    """Payments v2: captures and refunds."""

    def _capture_of(self, call: Call) -> Capture:
        capture = self._captures.get(call.request.path_params["id"])
        if capture is None or capture.merchant != call.merchant:
            raise self._not_found(call)
        return capture

    async def _get_capture(self, call: Call) -> Response:
        return json_response(self._capture_of(call).render(call.base))

    async def _refund_capture(self, call: Call) -> Response:
        capture = self._capture_of(call)
        body = await self._body(call, allow_empty=True)
        replay = self._replayed(call)
        if replay is not None and replay in self._refunds:
            return json_response(self._refund_response(self._refunds[replay], call), 201)
        op = call.operation
        amount = capture.amount - capture.refunded
        if body.get("amount") is not None:
            currency, amount = money_field(
                body["amount"], "/amount", op, no_decimals_issue="DECIMALS_NOT_SUPPORTED"
            )
            if currency != capture.currency:
                raise PayPalError(
                    422,
                    "REFUND_CAPTURE_CURRENCY_MISMATCH",
                    field="/amount/currency_code",
                    value=currency,
                    operation=op,
                )
        extras = {
            key: optional_string(
                body, key, f"/{key}", op, max_len=255 if key == "note_to_payer" else 127
            )
            for key in ("invoice_id", "custom_id", "note_to_payer")
        }
        if capture.status == "DECLINED":
            raise PayPalError(422, "REFUND_NOT_ALLOWED", operation=op)
        if capture.status == "PENDING":
            raise PayPalError(422, "PENDING_CAPTURE", operation=op)
        if capture.status == "REFUNDED" or capture.refunded >= capture.amount:
            raise PayPalError(422, "CAPTURE_FULLY_REFUNDED", operation=op)
        if capture.refunded + amount > capture.amount:
            raise PayPalError(422, "REFUND_AMOUNT_EXCEEDED", field="/amount/value", operation=op)
        now = self.ctx.clock.now()
        capture.refunded += amount
        capture.status = "REFUNDED" if capture.refunded == capture.amount else "PARTIALLY_REFUNDED"
        capture.updated = now
        refund = Refund(
            id=_ids.resource_id(),
            merchant=call.merchant,
            capture_id=capture.id,
            currency=capture.currency,
            amount=amount,
            total_refunded=capture.refunded,
            created=now,
            invoice_id=extras["invoice_id"] or capture.invoice_id,
            custom_id=extras["custom_id"] or capture.custom_id,
            note_to_payer=extras["note_to_payer"],
        )
        self._refunds[refund.id] = refund
        capture.refund_ids.append(refund.id)
        self._remember(call, refund.id)
        value = f"{money(amount, capture.currency)['value']} {capture.currency}"
        self._emit(
            "PAYMENT.CAPTURE.REFUNDED",
            "refund",
            refund.render(call.base),
            f"A {value} capture payment was refunded",
        )
        return json_response(self._refund_response(refund, call), 201)

    def _refund_response(self, refund: Refund, call: Call) -> dict[str, Any]:
        full = refund.render(call.base)
        if call.representation:
            return full
        return {"id": full["id"], "status": full["status"], "links": full["links"]}

    async def _get_refund(self, call: Call) -> Response:
        refund = self._refunds.get(call.request.path_params["id"])
        if refund is None or refund.merchant != call.merchant:
            raise self._not_found(call)
        return json_response(refund.render(call.base))
