"""Vault v3 handlers of the PayPal fake."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from paywire_sandbox.paypal import _ids
from paywire_sandbox.paypal._base import (
    Call,
    PayPalBase,
    json_response,
    with_query,
)
from paywire_sandbox.paypal._errors import PayPalError
from paywire_sandbox.paypal._models import (
    PaymentToken,
    SetupToken,
    iso,
    link,
)
from paywire_sandbox.paypal._outcomes import outcome_for_card
from paywire_sandbox.paypal._requests import (
    CARD_NUMBER_RE,
    EXPIRY_RE,
    as_enum,
    as_object,
    as_string,
    card_details,
    check_customer_id,
    optional_string,
    parse_experience,
    positive_int,
    require,
    wallet_preferences,
)

__all__ = ["VaultMixin"]


class VaultMixin(PayPalBase):
    """Vault v3: setup tokens and payment tokens."""

    async def _create_setup_token(self, call: Call) -> Response:
        body = await self._body(call)
        replay = self._replayed(call)
        if replay is not None and replay in self._setup_tokens:
            token = self._setup_tokens[replay]
            return json_response(token.render(call.base, self._setup_url(call.base, token.id)), 200)
        op = call.operation
        customer_id: str | None = None
        merchant_customer_id: str | None = None
        if body.get("customer") is not None:
            customer = as_object(body["customer"], "/customer", op)
            if customer.get("id") is not None:
                customer_id = check_customer_id(customer["id"], "/customer/id", op)
            merchant_customer_id = optional_string(
                customer, "merchant_customer_id", "/customer/merchant_customer_id", op, max_len=64
            )
        source = as_object(
            require(body, "payment_source", "/payment_source", op), "/payment_source", op
        )
        kinds = [k for k in source if source[k] is not None]
        if len(kinds) != 1:
            raise PayPalError(
                400,
                "INVALID_PARAMETER_VALUE" if kinds else "MISSING_REQUIRED_PARAMETER",
                field="/payment_source",
                operation=op,
            )
        kind = kinds[0]
        if kind not in {"paypal", "card"}:
            raise PayPalError(400, "NOT_SUPPORTED", field=f"/payment_source/{kind}", operation=op)
        detail = as_object(source[kind], f"/payment_source/{kind}", op)
        now = self.ctx.clock.now()
        token = SetupToken(
            id=_ids.resource_id(),
            merchant=call.merchant,
            customer_id=customer_id or _ids.customer_id(),
            status="PAYER_ACTION_REQUIRED",
            kind=kind,
            created=now,
            merchant_customer_id=merchant_customer_id,
        )
        field = f"/payment_source/{kind}"
        if kind == "card":
            number = as_string(
                require(detail, "number", f"{field}/number", op),
                f"{field}/number",
                op,
                max_len=19,
                min_len=13,
            )
            if not CARD_NUMBER_RE.fullmatch(number):
                raise PayPalError(
                    400, "INVALID_PARAMETER_SYNTAX", field=f"{field}/number", operation=op
                )
            expiry = as_string(
                require(detail, "expiry", f"{field}/expiry", op), f"{field}/expiry", op, max_len=7
            )
            if not EXPIRY_RE.fullmatch(expiry):
                raise PayPalError(
                    400,
                    "INVALID_PARAMETER_SYNTAX",
                    field=f"{field}/expiry",
                    value=expiry,
                    operation=op,
                )
            if expiry < iso(now)[:7]:
                raise PayPalError(
                    422, "CARD_EXPIRED", field=f"{field}/expiry", value=expiry, operation=op
                )
            name = optional_string(detail, "name", f"{field}/name", op, max_len=300)
            token.card = card_details(number, expiry, name)
            token.outcome = outcome_for_card(number)
            token.status = "APPROVED"
        else:
            wallet = wallet_preferences(detail, field, op)
            token.wallet = wallet
            if detail.get("experience_context") is not None:
                token.experience = parse_experience(
                    detail["experience_context"], f"{field}/experience_context", op
                )
        self._setup_tokens[token.id] = token
        self._remember(call, token.id)
        return json_response(token.render(call.base, self._setup_url(call.base, token.id)), 201)

    async def _get_setup_token(self, call: Call) -> Response:
        token = self._setup_tokens.get(call.request.path_params["id"])
        if token is None or token.merchant != call.merchant:
            raise self._not_found(call)
        return json_response(token.render(call.base, self._setup_url(call.base, token.id)))

    async def _create_payment_token(self, call: Call) -> Response:
        body = await self._body(call)
        replay = self._replayed(call)
        if replay is not None and replay in self._payment_tokens:
            return json_response(self._payment_tokens[replay].render(call.base), 200)
        op = call.operation
        source = as_object(
            require(body, "payment_source", "/payment_source", op), "/payment_source", op
        )
        if source.get("token") is None:
            other = next(iter(source), None)
            if other is not None:
                raise PayPalError(
                    400, "NOT_SUPPORTED", field=f"/payment_source/{other}", operation=op
                )
            raise PayPalError(
                400, "MISSING_REQUIRED_PARAMETER", field="/payment_source/token", operation=op
            )
        ref = as_object(source["token"], "/payment_source/token", op)
        setup_id = as_string(
            require(ref, "id", "/payment_source/token/id", op),
            "/payment_source/token/id",
            op,
            max_len=255,
        )
        token_type = require(ref, "type", "/payment_source/token/type", op)
        as_enum(token_type, {"SETUP_TOKEN"}, "/payment_source/token/type", op)
        setup = self._setup_tokens.get(setup_id)
        if setup is None or setup.merchant != call.merchant:
            raise PayPalError(
                404,
                "INVALID_RESOURCE_ID",
                field="/payment_source/token/id",
                value=setup_id,
                operation=op,
            )
        if setup.payment_token_id is not None:
            raise PayPalError(
                422,
                "SETUP_TOKEN_ALREADY_TOKENIZED",
                field="/payment_source/token/id",
                value=setup_id,
                operation=op,
            )
        if setup.status != "APPROVED":
            raise PayPalError(
                422,
                "PAYER_ACTION_REQUIRED",
                field="/payment_source/token/id",
                value=setup_id,
                operation=op,
            )
        token = PaymentToken(
            id=self._new_payment_token_id(),
            merchant=call.merchant,
            customer_id=setup.customer_id,
            kind=setup.kind,
            created=self.ctx.clock.now(),
            outcome=setup.outcome,
            wallet=dict(setup.wallet),
            card=setup.card,
            payer=setup.payer,
        )
        self._payment_tokens[token.id] = token
        setup.payment_token_id = token.id
        setup.status = "TOKENIZED"
        self._remember(call, token.id)
        self._emit_token_created(token)
        return json_response(token.render(call.base), 201)

    async def _list_payment_tokens(self, call: Call) -> Response:
        params = call.request.query_params
        op = call.operation
        customer_id = params.get("customer_id")
        if customer_id is None:
            raise PayPalError(
                400,
                "MISSING_REQUIRED_PARAMETER",
                field="customer_id",
                location="query",
                operation=op,
            )
        page_size = positive_int(params.get("page_size", "5"), "page_size", op)
        page = positive_int(params.get("page", "1"), "page", op)
        total_required = params.get("total_required", "false").lower()
        if total_required not in {"true", "false"}:
            raise PayPalError(
                400,
                "INVALID_PARAMETER_VALUE",
                field="total_required",
                value=total_required,
                location="query",
                operation=op,
            )
        tokens = [
            t
            for t in self._payment_tokens.values()
            if t.merchant == call.merchant and t.customer_id == customer_id
        ]
        chunk = tokens[(page - 1) * page_size : page * page_size]
        href = f"{call.base}/v3/vault/payment-tokens"
        query = {"customer_id": customer_id, "page_size": str(page_size)}
        pages = max(1, -(-len(tokens) // page_size))
        out: dict[str, Any] = {"customer": {"id": customer_id}}
        if total_required == "true":
            out["total_items"] = len(tokens)
            out["total_pages"] = pages
        out["payment_tokens"] = [t.render(call.base) for t in chunk]
        links = [
            link(with_query(href, {**query, "page": str(page)}), "self"),
            link(with_query(href, {**query, "page": "1"}), "first"),
            link(with_query(href, {**query, "page": str(pages)}), "last"),
        ]
        if page < pages:
            links.append(link(with_query(href, {**query, "page": str(page + 1)}), "next"))
        if page > 1:
            links.append(link(with_query(href, {**query, "page": str(page - 1)}), "prev"))
        out["links"] = links
        return json_response(out)

    def _payment_token_of(self, call: Call) -> PaymentToken:
        token = self._payment_tokens.get(call.request.path_params["id"])
        if token is None or token.merchant != call.merchant:
            raise self._not_found(call)
        return token

    async def _get_payment_token(self, call: Call) -> Response:
        return json_response(self._payment_token_of(call).render(call.base))

    async def _delete_payment_token(self, call: Call) -> Response:
        token = self._payment_tokens.get(call.request.path_params["id"])
        if token is None or token.merchant != call.merchant:
            # PayPal's spec lists 204, 400, 403 and 500 for this call, no 404: an id that names
            # no token (already deleted, or never made) is a bad request here.
            raise PayPalError(
                400,
                "INVALID_RESOURCE_ID",
                field="id",
                value=call.request.path_params["id"],
                location="path",
                operation=call.operation,
            )
        del self._payment_tokens[token.id]
        self._emit(
            "VAULT.PAYMENT-TOKEN.DELETED",
            "payment_token",
            {
                "id": token.id,
                "customer": {"id": token.customer_id},
                "links": [link(f"{call.base}/v3/vault/payment-tokens/{token.id}", "self")],
            },
            "A payment token has been deleted.",
            version="3.0",
        )
        return Response(status_code=204)
