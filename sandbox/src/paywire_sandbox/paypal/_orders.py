"""Orders v2 handlers of the PayPal fake."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from paywire_sandbox.paypal import _ids
from paywire_sandbox.paypal._base import (
    Call,
    PayPalBase,
    json_response,
    loads_or_none,
)
from paywire_sandbox.paypal._errors import PayPalError
from paywire_sandbox.paypal._models import (
    Capture,
    Order,
    PaymentToken,
    PurchaseUnit,
)
from paywire_sandbox.paypal._outcomes import OUTCOMES
from paywire_sandbox.paypal._requests import (
    PATCH_PATH_RE,
    as_enum,
    as_object,
    as_string,
    money_field,
    parse_order,
    require,
)

__all__ = ["OrdersMixin"]


class OrdersMixin(PayPalBase):
    """Orders v2: create, get, patch and capture."""

    def _order(self, call: Call, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None or order.merchant != call.merchant:
            raise self._not_found(call)
        return order

    async def _create_order(self, call: Call) -> Response:
        body = await self._body(call)
        replay = self._replayed(call)
        if replay is not None and replay in self._orders:
            order = self._orders[replay]
            return json_response(
                self._order_response(order, call, minimal_payments=order.status == "COMPLETED"), 200
            )
        parsed = parse_order(body, call.operation)
        used = self._used_invoices.get(call.merchant, set())
        for unit in parsed.units:
            if unit.invoice_id is not None and unit.invoice_id in used:
                raise PayPalError(
                    422,
                    "DUPLICATE_INVOICE_ID",
                    field=f"/purchase_units/@reference_id=='{unit.reference_id}'/invoice_id",
                    value=unit.invoice_id,
                    operation=call.operation,
                )
        token: PaymentToken | None = None
        if parsed.vault_id is not None:
            if call.request_id is None:
                raise PayPalError(
                    400,
                    "PAYPAL_REQUEST_ID_REQUIRED",
                    field="PayPal-Request-Id",
                    location=None,
                    operation=call.operation,
                )
            token = self._payment_tokens.get(parsed.vault_id)
            field = f"/payment_source/{parsed.source_kind}/vault_id"
            if token is None or token.merchant != call.merchant:
                raise PayPalError(
                    422,
                    "PAYMENT_SOURCE_CANNOT_BE_USED",
                    field=field,
                    value=parsed.vault_id,
                    operation=call.operation,
                )
            if token.kind != parsed.source_kind:
                raise PayPalError(
                    422,
                    "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE",
                    field=field,
                    value=parsed.vault_id,
                    operation=call.operation,
                )
        now = self.ctx.clock.now()
        order = Order(
            id=_ids.resource_id(),
            merchant=call.merchant,
            status="CREATED" if parsed.source_kind is None else "PAYER_ACTION_REQUIRED",
            purchase_units=parsed.units,
            created=now,
            updated=now,
            source_kind=parsed.source_kind,
            experience=parsed.experience,
            vault_request=parsed.vault_request,
            vault_customer_id=parsed.vault_customer_id,
            vault_id=parsed.vault_id,
            stored_credential=parsed.stored_credential,
        )
        if token is not None:
            order.payer = token.payer
            order.card = token.card
            order.outcome = token.outcome
            outcome = OUTCOMES[token.outcome]
            if outcome.charge_issue is not None:
                raise PayPalError(422, outcome.charge_issue, operation=call.operation)
            if not outcome.payer_action:
                self._orders[order.id] = order
                self._capture(order)
        self._orders[order.id] = order
        self._remember(call, order.id)
        return json_response(
            self._order_response(order, call, minimal_payments=token is not None), 201
        )

    async def _get_order(self, call: Call) -> Response:
        order = self._order(call, call.request.path_params["id"])
        return json_response(self._render_order(order, call.base))

    async def _patch_order(self, call: Call) -> Response:
        order = self._order(call, call.request.path_params["id"])
        op = call.operation
        patch = loads_or_none(await call.request.body())
        if not isinstance(patch, list) or not patch:
            raise PayPalError(400, "MALFORMED_REQUEST_JSON", operation=op)
        self.check_body(call, patch)
        if order.status == "COMPLETED":
            raise PayPalError(422, "ORDER_ALREADY_COMPLETED", operation=op)
        changes = [self._patch_change(order, entry, index, op) for index, entry in enumerate(patch)]
        used = self._used_invoices.get(call.merchant, set())
        for unit, key, value in changes:
            if key == "invoice_id" and value in used:
                raise PayPalError(422, "DUPLICATE_INVOICE_ID", value=value, operation=op)
            if key == "amount" and order.status == "APPROVED" and value[1] != unit.amount:
                raise PayPalError(422, "AMOUNT_CHANGE_NOT_ALLOWED", operation=op)
        for unit, key, value in changes:
            if key == "amount":
                unit.currency, unit.amount = value
            else:
                setattr(unit, key, value)
        order.updated = self.ctx.clock.now()
        return Response(status_code=204)

    def _patch_change(
        self, order: Order, entry: Any, index: int, op: str
    ) -> tuple[PurchaseUnit, str, Any]:
        """Check one JSON Patch operation; returns (unit, attribute, new value)."""
        entry = as_object(entry, f"/{index}", op)
        verb = as_enum(
            require(entry, "op", f"/{index}/op", op),
            {"add", "replace", "remove"},
            f"/{index}/op",
            op,
        )
        if entry.get("path") is None:
            raise PayPalError(422, "PATCH_PATH_REQUIRED", field=f"/{index}/path", operation=op)
        path = as_string(entry["path"], f"/{index}/path", op, max_len=1000)
        if verb != "remove" and entry.get("value") is None:
            raise PayPalError(422, "PATCH_VALUE_REQUIRED", field=path, operation=op)
        match = PATCH_PATH_RE.fullmatch(path)
        if match is None:
            issue = "NOT_PATCHABLE" if path.startswith("/") else "INVALID_JSON_POINTER_FORMAT"
            raise PayPalError(422, issue, field=path, operation=op)
        unit = next((u for u in order.purchase_units if u.reference_id == match["ref"]), None)
        if unit is None:
            raise PayPalError(422, "REFERENCE_ID_NOT_FOUND", field=path, operation=op)
        key = match["key"]
        present = key == "amount" or getattr(unit, key) is not None
        if (verb == "add" and present) or (verb != "add" and not present):
            raise PayPalError(400, "INVALID_PATCH_OPERATION", field=path, operation=op)
        value: Any = None
        if key == "amount":
            if verb == "remove":
                raise PayPalError(400, "FIELD_NOT_PATCHABLE", field=path, operation=op)
            value = money_field(entry["value"], path, op)
            others = {u.currency for u in order.purchase_units if u is not unit}
            if others and others != {value[0]}:
                raise PayPalError(422, "MULTI_CURRENCY_ORDER", field=path, operation=op)
        elif key == "items":
            if verb != "remove" and not isinstance(entry["value"], list):
                raise PayPalError(400, "INVALID_PARAMETER_SYNTAX", field=path, operation=op)
            value = entry.get("value") if verb != "remove" else None
        elif verb != "remove":
            limit = 22 if key == "soft_descriptor" else 127
            value = as_string(entry["value"], path, op, max_len=limit)
        return unit, key, value

    async def _capture_order(self, call: Call) -> Response:
        order = self._order(call, call.request.path_params["id"])
        body = await self._body(call, allow_empty=True)
        if body.get("payment_source") is not None:
            raise PayPalError(
                400, "NOT_SUPPORTED", field="/payment_source", operation=call.operation
            )
        replay = self._replayed(call)
        if replay == order.id:
            return json_response(self._order_response(order, call, minimal_payments=True), 200)
        if order.status == "COMPLETED":
            raise PayPalError(422, "ORDER_ALREADY_CAPTURED", operation=call.operation)
        if order.status != "APPROVED":
            raise PayPalError(422, "ORDER_NOT_APPROVED", operation=call.operation)
        used = self._used_invoices.get(call.merchant, set())
        for unit in order.purchase_units:
            if unit.invoice_id is not None and unit.invoice_id in used:
                raise PayPalError(422, "DUPLICATE_INVOICE_ID", operation=call.operation)
        outcome = OUTCOMES[order.outcome]
        if outcome.capture_issue is not None:
            raise PayPalError(422, outcome.capture_issue, operation=call.operation)
        self._capture(order)
        self._remember(call, order.id)
        return json_response(self._order_response(order, call, minimal_payments=True), 201)

    def _capture(self, order: Order) -> None:
        """Capture every purchase unit of ``order`` as its outcome says; fire the webhooks."""
        outcome = OUTCOMES[order.outcome]
        status = outcome.capture_status or "COMPLETED"
        now = self.ctx.clock.now()
        for unit in order.purchase_units:
            capture = Capture(
                id=_ids.resource_id(),
                merchant=order.merchant,
                order_id=order.id,
                currency=unit.currency,
                amount=unit.amount,
                status=status,
                created=now,
                updated=now,
                invoice_id=unit.invoice_id,
                custom_id=unit.custom_id,
                reason="PENDING_REVIEW" if status == "PENDING" else None,
                response_code=outcome.response_code,
                is_card=order.source_kind == "card",
            )
            self._captures[capture.id] = capture
            unit.capture_ids.append(capture.id)
            if status != "DECLINED" and unit.invoice_id is not None:
                self._used_invoices.setdefault(order.merchant, set()).add(unit.invoice_id)
        order.status = "COMPLETED"
        order.updated = now
        if order.vault_request is not None and status != "DECLINED":
            token = PaymentToken(
                id=self._new_payment_token_id(),
                merchant=order.merchant,
                customer_id=order.vault_customer_id or _ids.customer_id(),
                kind="paypal",
                created=now,
                outcome=order.outcome,
                wallet={
                    k: v
                    for k, v in order.vault_request.items()
                    if k
                    in {
                        "usage_type",
                        "customer_type",
                        "permit_multiple_payment_tokens",
                        "description",
                    }
                },
                payer=order.payer,
                order_id=order.id,
            )
            self._payment_tokens[token.id] = token
            order.vaulted_token_id = token.id
        for unit in order.purchase_units:
            capture = self._captures[unit.capture_ids[-1]]
            self._emit_capture(capture)
        if order.vaulted_token_id is not None:
            self._emit_token_created(self._payment_tokens[order.vaulted_token_id])
