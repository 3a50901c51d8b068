"""The Stripe fake: Stripe's ``/v1`` HTTP API, hosted Checkout and 3D Secure pages, webhooks.

Mounted under ``/stripe``: point stripe-python at it with
``stripe.StripeClient("sk_test_...", base_addresses={"api": url + "/stripe"})``.

API: form-encoded bodies with bracketed keys, ``Authorization: Bearer sk_test_...`` (or Basic
``sk_test_...:``), ``Idempotency-Key`` on POST (replays carry ``Idempotent-Replayed: true``),
``Request-Id``/``Stripe-Version`` response headers and Stripe's error bodies. Resources:
customers, payment methods (attach/detach), payment intents (create/confirm/cancel), setup
intents, charges, refunds, disputes (evidence, close), checkout sessions (payment and setup
mode, expire, line items, list) and events; most have list endpoints too. Test cards and
``pm_card_*`` ids decide outcomes (see :mod:`._cards`).

Hosted pages (under ``/stripe``): ``GET|POST /checkout/pay/{cs_id}`` (card form),
``POST /checkout/pay/{cs_id}/cancel``, ``GET|POST /3ds/{intent_id}`` (3D Secure challenge).

Control routes (under ``/_sandbox/stripe``, JSON in and out):

- ``POST /checkout/{cs_id}/complete`` — pay as the customer would on the page. Body:
  ``{"card": "4000000000000002"}`` or ``{"outcome": "success" | "decline" |
  "insufficient_funds" | "expired" | "incorrect_cvc" | "processing_error" |
  "authentication_required"}``, or — for a session whose ``allowed_payment_method_types`` include
  ``us_bank_account`` — ``"async_success"`` / ``"async_failure"`` (an ACH debit: the session
  completes unpaid, then ``checkout.session.async_payment_succeeded``/``_failed`` fire);
  optional ``expiry`` ("MM/YY"), ``cvc``, ``email``, ``name`` and
  ``three_d_secure`` (``"complete"`` — the default for cards that need it —, ``"fail"`` — the
  default for the ``authentication_required`` outcome —, or ``"pending"`` to leave the intent
  in ``requires_action``). Answers ``{"status", "payment_status", "redirect_url", "error",
  "payment_intent", "setup_intent", "customer", "action_url"}``; a decline is a normal answer
  (``status: "open"`` with ``error``), as on the page.
- ``POST /checkout/{cs_id}/cancel`` — ``{"redirect_url": cancel_url}``; the session stays open.
- ``POST /customers/{cus_id}/payment_methods`` — save a card for a customer as a completed
  setup would: body ``{"card": number}`` or ``{"payment_method": "pm_card_visa"}``, optional
  ``expiry``; fires ``payment_method.attached``; answers the PaymentMethod (a card that fails
  setup answers Stripe's 402 card error).
- ``POST /intents/{pi_or_seti_id}/authenticate`` — ``{"result": "complete" | "fail"}`` finishes
  a pending 3D Secure challenge.
- ``POST /expire_due`` — expire the sessions whose ``expires_at`` passed on the sandbox clock
  (any Stripe request does this too); answers ``{"expired": [...ids]}``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from paywire_sandbox._cards import luhn_valid
from paywire_sandbox._fake import Fake, SandboxContext, WebhookEndpoint
from paywire_sandbox._input import InputRejected, parse_form, parse_json, read_body
from paywire_sandbox.stripe import _pages
from paywire_sandbox.stripe._api import ROUTES, Call, route_key
from paywire_sandbox.stripe._cards import (
    AUTH_FAILED,
    OUTCOMES,
    PM_TOKENS,
    Decline,
    brand_of,
    card_for_number,
)
from paywire_sandbox.stripe._engine import Attempt, SessionRecord, StripeEngine
from paywire_sandbox.stripe._errors import StripeError, api_error, idempotency_error, mask_key
from paywire_sandbox.stripe._forms import decode_form
from paywire_sandbox.stripe._official import check_request, official_schemas
from paywire_sandbox.stripe._resources import API_VERSION, JSON, IdMaker

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["StripeFake"]

logger = logging.getLogger(__name__)

_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)
_IDEMPOTENCY_TTL = 24 * 3600
#: Saved idempotent results kept at most (oldest dropped first), besides the 24 h expiry.
MAX_IDEMPOTENCY_KEYS = 50_000
#: Largest API request body, in bytes.
MAX_API_BODY = 2 << 20
#: Largest hosted-page form: a handful of short fields, with room to spare.
MAX_PAGE_BODY = 16 << 10
MAX_PAGE_FIELDS = 20
#: Largest control request body, in bytes.
MAX_CONTROL_BODY = 1 << 20


@attrs.define(slots=True)
class _Saved:
    """A saved idempotent result."""

    method: str
    path: str
    params: dict[str, Any]
    status: int
    body: bytes
    request_id: str
    created: float


@attrs.frozen
class _FormProblem:
    """A card form entry Stripe.js rejects before anything is sent (``validation_error``)."""

    code: str
    message: str


def _json_response(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload).encode(), status, media_type="application/json")


class StripeFake(Fake):
    """A stateful fake of Stripe's API for one test-mode account."""

    name: ClassVar[str] = "stripe"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self._ids = IdMaker()
        self.engine = StripeEngine(ctx, self.name, self._ids)
        self._idempotency: dict[str, _Saved] = {}
        # Read from the SDK once per process (cached), checked on every request.
        self._schemas = official_schemas(frozenset(ROUTES))

    # ------------------------------------------------------------------ Fake interface

    def routes(self) -> Sequence[BaseRoute]:
        """The ``/v1`` API and the hosted pages."""
        return [
            Route("/v1/{path:path}", self._api, methods=["GET", "POST", "DELETE"]),
            Route("/checkout/pay/{csid}", self._checkout_page, methods=["GET", "POST"]),
            Route("/checkout/pay/{csid}/cancel", self._checkout_cancel, methods=["POST"]),
            Route("/3ds/{intent}", self._three_ds_page, methods=["GET", "POST"]),
        ]

    def control_routes(self) -> Sequence[BaseRoute]:
        """Complete/cancel checkouts, save cards, finish 3DS, expire sessions."""
        return [
            Route("/checkout/{csid}/complete", self._control_complete, methods=["POST"]),
            Route("/checkout/{csid}/cancel", self._control_cancel, methods=["POST"]),
            Route("/customers/{cid}/payment_methods", self._control_save_card, methods=["POST"]),
            Route("/intents/{intent}/authenticate", self._control_authenticate, methods=["POST"]),
            Route("/expire_due", self._control_expire_due, methods=["POST"]),
        ]

    def reset(self) -> None:
        """Forget every resource, event and idempotency key (ids are never reused)."""
        self.engine = StripeEngine(self.ctx, self.name, self._ids)
        self._idempotency.clear()

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        """``Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">``."""
        signed = str(timestamp).encode() + b"." + body
        digest = hmac.new(endpoint.secret.encode(), signed, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={timestamp},v1={digest}"}

    def error_body(self, status: int, message: str) -> tuple[bytes, str, dict[str, str]]:
        """Stripe's shape (and ``Request-Id``) for injected faults and the framework's answers."""
        error: JSON
        if status == 429:
            error = {
                "code": "rate_limit",
                "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
                "message": message,
                "type": "invalid_request_error",
            }
        elif status >= 500:
            error = {"message": message, "type": "api_error"}
        else:
            error = {"message": message, "type": "invalid_request_error"}
        body = json.dumps({"error": error}).encode()
        return body, "application/json", {"Request-Id": _request_id()}

    def on_clock_advanced(self) -> None:
        """Fire what the passing of time causes (session expiry); safe to call any time."""
        self.engine.expire_due()

    # ------------------------------------------------------------------ the API

    async def _api(self, request: Request) -> Response:
        request_id = _request_id()
        headers = request.headers
        version = headers.get("stripe-version") or API_VERSION
        out = {"Request-Id": request_id, "Stripe-Version": version, "Cache-Control": "no-store"}
        method = request.method
        path = request.path_params["path"]
        problem = self._authenticate(headers.get("authorization"))
        if problem is not None:
            out["WWW-Authenticate"] = 'Basic realm="Stripe"'
            return Response(
                json.dumps(problem.body()).encode(), 401, out, media_type="application/json"
            )
        if version != API_VERSION:
            out["Stripe-Version"] = API_VERSION
            return self._error_response(_version_error(version), out)
        if method == "POST":
            try:
                raw = await read_body(request, MAX_API_BODY)
            except InputRejected as exc:
                return self._error_response(
                    StripeError(400, "invalid_request_error", f"Invalid request: {exc.message}."),
                    out,
                )
            content_type = headers.get("content-type", "")
            if raw and not content_type.startswith("application/x-www-form-urlencoded"):
                return self._error_response(
                    StripeError(
                        400,
                        "invalid_request_error",
                        "Invalid request: unsupported Content-Type "
                        f"{content_type[:100]}. Send application/x-www-form-urlencoded.",
                    ),
                    out,
                )
        else:
            raw = request.scope["query_string"]
        key = headers.get("idempotency-key") if method == "POST" else None
        if key is not None:
            out["Idempotency-Key"] = key
            replay = self._replay(key, method, path, raw, out)
            if replay is not None:
                return replay
        status, body, params = self._execute(
            method, path, raw, f"{request.base_url}{self.name}/", request_id, key
        )
        if key is not None and params is not None:
            self._save(
                key, _Saved(method, path, params, status, body, request_id, self.ctx.clock.now())
            )
            out["Original-Request"] = request_id
        return Response(body, status, out, media_type="application/json")

    def _execute(
        self, method: str, path: str, raw: bytes, base_url: str, request_id: str, key: str | None
    ) -> tuple[int, bytes, dict[str, Any] | None]:
        """Run one API call; the params come back only if an idempotent retry must replay it."""
        route, ids = route_key(method, path)
        handler = ROUTES.get(route)
        engine = self.engine
        engine.request_id = request_id
        engine.idempotency_key = key
        engine.last_dump = None
        engine.base_url = base_url
        params: dict[str, Any] | None = None
        try:
            engine.expire_due()
            if handler is None:
                raise StripeError(
                    404,
                    "invalid_request_error",
                    f"Unrecognized request URL ({method}: /v1/{path}). Please see "
                    "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    replayable=False,
                )
            params = decode_form(raw)
            check_request(self._schemas[route], params)
            payload = handler(engine, Call(params, ids, base_url))
        except StripeError as exc:
            return exc.status, json.dumps(exc.body()).encode(), params if exc.replayable else None
        except Exception:  # a sandbox bug: a 500 that says so, never a card error
            logger.exception("stripe fake failed on %s /v1/%s", method, path)
            err = api_error("sandbox internal error: the Stripe fake failed to handle this request")
            return err.status, json.dumps(err.body()).encode(), params
        finally:
            engine.request_id = None
            engine.idempotency_key = None
        body = payload if isinstance(payload, bytes) else engine.dump(payload)
        return 200, body, params

    def _authenticate(self, header: str | None) -> StripeError | None:
        if not header:
            return StripeError(401, "invalid_request_error", _NO_KEY)
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer":
            key = credentials
        elif scheme == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return StripeError(401, "invalid_request_error", _NO_KEY)
            key = decoded.partition(":")[0]
        else:
            return StripeError(401, "invalid_request_error", _NO_KEY)
        if not key:
            return StripeError(401, "invalid_request_error", _NO_KEY)
        if key.startswith("sk_test_") and len(key) > len("sk_test_") and key.isprintable():
            return None
        if key.startswith("pk_"):
            return StripeError(
                401,
                "invalid_request_error",
                "This API call cannot be made with a publishable API key. Please use a secret "
                "API key. You can find a list of your API keys at "
                "https://dashboard.stripe.com/account/apikeys.",
            )
        return StripeError(
            401, "invalid_request_error", f"Invalid API Key provided: {mask_key(key)}"
        )

    def _error_response(self, error: StripeError, headers: dict[str, str]) -> Response:
        return Response(
            json.dumps(error.body()).encode(), error.status, headers, media_type="application/json"
        )

    def _replay(
        self, key: str, method: str, path: str, raw: bytes, out: dict[str, str]
    ) -> Response | None:
        if len(key) > 255:
            return self._error_response(
                StripeError(
                    400,
                    "invalid_request_error",
                    "Invalid Idempotency-Key: keys can be at most 255 characters long.",
                    replayable=False,
                ),
                out,
            )
        saved = self._idempotency.get(key)
        if saved is None:
            return None
        if saved.created < self.ctx.clock.now() - _IDEMPOTENCY_TTL:
            del self._idempotency[key]
            return None
        if saved.method != method or saved.path != path:
            return self._error_response(
                idempotency_error(
                    "Keys for idempotent requests can only be used for the same endpoint they "
                    f"were first used for ('{saved.method} /v1/{saved.path}' vs '{method} "
                    f"/v1/{path}'). Try using a key other than '{key}' if you meant to execute "
                    "a different request."
                ),
                out,
            )
        try:
            params = decode_form(raw)
        except StripeError:
            params = None
        if params != saved.params:
            return self._error_response(
                idempotency_error(
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{key}' if you meant to "
                    "execute a different request."
                ),
                out,
            )
        out["Idempotent-Replayed"] = "true"
        out["Original-Request"] = saved.request_id
        return Response(saved.body, saved.status, out, media_type="application/json")

    def _save(self, key: str, saved: _Saved) -> None:
        store = self._idempotency
        store[key] = saved
        # Stripe prunes keys after 24 h; drop the oldest ones as new ones arrive.
        horizon = saved.created - _IDEMPOTENCY_TTL
        while store:
            oldest_key = next(iter(store))
            if store[oldest_key].created >= horizon and len(store) <= MAX_IDEMPOTENCY_KEYS:
                break
            del store[oldest_key]

    # ------------------------------------------------------------------ hosted pages

    def _page_urls(self, request: Request, csid: str) -> tuple[str, str]:
        base = f"{request.base_url}{self.name}"
        return f"{base}/checkout/pay/{csid}", f"{base}/checkout/pay/{csid}/cancel"

    def _page_session(self, csid: str) -> SessionRecord | Response:
        """The checkout session a hosted page is for, or the page saying the link is not valid."""
        try:
            return self.engine.session(csid)
        except StripeError:
            return HTMLResponse(
                _pages.notice_page("Checkout session not found", "This link is not valid."), 404
            )

    async def _checkout_page(self, request: Request) -> Response:
        csid = request.path_params["csid"]
        record = self._page_session(csid)
        if isinstance(record, Response):
            return record
        obj = record.obj
        if obj["status"] != "open":
            if obj["status"] == "complete":
                text = "This checkout session is complete. Thank you!"
            else:
                text = "This checkout session has expired."
            return HTMLResponse(_pages.notice_page(f"Checkout {obj['status']}", text), 410)
        action, cancel_action = self._page_urls(request, csid)
        if request.method == "GET":
            email = obj["customer_email"]
            if obj["customer"] is not None:
                email = self.engine.customers[obj["customer"]]["email"]
            return HTMLResponse(
                _pages.checkout_page(
                    obj,
                    record.line_items,
                    action=action,
                    cancel_action=cancel_action,
                    error=record.error,
                    email=email,
                )
            )
        form = await _page_form(request)
        if isinstance(form, Response):
            return form
        result = self._pay(
            csid,
            number=form.get("card_number", ""),
            expiry=form.get("card_expiry", ""),
            cvc=form.get("card_cvc", ""),
            email=form.get("email") or None,
            name=form.get("name") or None,
            three_d_secure=None,
        )
        if isinstance(result, _FormProblem) or result.status == "open":
            message = (
                result.message
                if isinstance(result, _FormProblem)
                else (
                    result.error.message if result.error else "Your payment could not be completed."
                )
            )
            return HTMLResponse(
                _pages.checkout_page(
                    obj,
                    record.line_items,
                    action=action,
                    cancel_action=cancel_action,
                    error=message,
                    email=form.get("email"),
                ),
                402,
            )
        return self._after_attempt_redirect(request, csid, result)

    def _after_attempt_redirect(self, request: Request, csid: str, result: Attempt) -> Response:
        if result.action_intent is not None:
            return RedirectResponse(
                f"{request.base_url}{self.name}/3ds/{result.action_intent}", 303
            )
        if result.status == "complete":
            if result.redirect_url is None:
                return HTMLResponse(
                    _pages.notice_page("Payment complete", "You can close this page.")
                )
            return RedirectResponse(result.redirect_url, 303)
        action, _ = self._page_urls(request, csid)
        return RedirectResponse(action, 303)

    async def _checkout_cancel(self, request: Request) -> Response:
        csid = request.path_params["csid"]
        record = self._page_session(csid)
        if isinstance(record, Response):
            return record
        url = record.obj["cancel_url"]
        if url is None:
            action, _ = self._page_urls(request, csid)
            return RedirectResponse(action, 303)
        return RedirectResponse(url, 303)

    async def _three_ds_page(self, request: Request) -> Response:
        intent_id = request.path_params["intent"]
        engine = self.engine
        store = engine.setup_intents if intent_id.startswith("seti_") else engine.payment_intents
        record = store.get(intent_id)
        if record is None or record.obj["status"] != "requires_action":
            return HTMLResponse(
                _pages.notice_page(
                    "Nothing to authenticate", "This payment is not waiting for authentication."
                ),
                404,
            )
        if request.method == "GET":
            action = f"{request.base_url}{self.name}/3ds/{intent_id}"
            return HTMLResponse(_pages.three_ds_page(record.obj, action=action))
        form = await _page_form(request)
        if isinstance(form, Response):
            return form
        result = engine.authenticate(intent_id, success=form.get("result") == "complete")
        if record.session is not None:
            return self._after_attempt_redirect(request, record.session, result)
        if result.redirect_url is not None:
            return RedirectResponse(result.redirect_url, 303)
        title = "Authentication complete" if result.error is None else "Authentication failed"
        return HTMLResponse(_pages.notice_page(title, "You can close this page."))

    def _pay(
        self,
        csid: str,
        *,
        number: str,
        expiry: str,
        cvc: str,
        email: str | None,
        name: str | None,
        three_d_secure: bool | None,
    ) -> Attempt | _FormProblem:
        number = "".join(ch for ch in number if ch not in " -")
        if not luhn_valid(number):
            return _FormProblem("invalid_number", "Your card number is invalid.")
        spec = card_for_number(number)
        parsed = _parse_expiry(expiry, self.engine.now())
        if isinstance(parsed, _FormProblem):
            return parsed
        cvc_len = 4 if spec.brand == "amex" else 3
        if not (cvc.isascii() and cvc.isdigit() and len(cvc) == cvc_len):
            return _FormProblem("invalid_cvc", "Your card's security code is invalid.")
        month, year = parsed
        return self.engine.pay_session(
            csid,
            spec,
            exp_month=month,
            exp_year=year,
            email=email,
            name=name,
            three_d_secure=three_d_secure,
        )

    # ------------------------------------------------------------------ control routes

    async def _control(self, request: Request, action: Callable[[dict[str, Any]], Any]) -> Response:
        try:
            raw = await read_body(request, MAX_CONTROL_BODY)
            body = parse_json(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise InputRejected("the body must be a JSON object")
        except InputRejected as exc:
            return _json_response(
                413 if exc.too_large else 400,
                {"error": {"type": "invalid_request_error", "message": f"Invalid JSON: {exc}"}},
            )
        try:
            return _json_response(200, action(body))
        except StripeError as exc:
            return _json_response(exc.status, exc.body())
        except Exception:
            logger.exception("stripe fake control route failed: %s", request.url.path)
            err = api_error("sandbox internal error: the Stripe fake failed on a control request")
            return _json_response(500, err.body())

    async def _control_complete(self, request: Request) -> Response:
        csid = request.path_params["csid"]

        def complete(body: dict[str, Any]) -> JSON:
            self.engine.session(csid)  # an unknown session is a 404 before any card check
            if body.get("outcome") in ("async_success", "async_failure"):
                paid = self.engine.pay_session_by_bank(
                    csid,
                    succeed=body["outcome"] == "async_success",
                    email=_opt_str(body, "email"),
                    name=_opt_str(body, "name"),
                )
                return self._attempt_json(request, csid, paid)
            number, default_3ds = _card_from_body(body)
            mode = _opt_str(body, "three_d_secure") or default_3ds
            if mode not in ("complete", "fail", "pending"):
                raise _bad_control("three_d_secure must be one of complete, fail, pending")
            amex = brand_of(number) == "amex"
            expiry = _opt_str(body, "expiry") or f"12/{(_year(self.engine.now()) + 3) % 100:02d}"
            cvc = _opt_str(body, "cvc") or ("1234" if amex else "123")
            result = self._pay(
                csid,
                number=number,
                expiry=expiry,
                cvc=cvc,
                email=_opt_str(body, "email"),
                name=_opt_str(body, "name"),
                three_d_secure=None if mode == "pending" else mode == "complete",
            )
            return self._attempt_json(request, csid, result)

        return await self._control(request, complete)

    def _attempt_json(self, request: Request, csid: str, result: Attempt | _FormProblem) -> JSON:
        obj = self.engine.sessions[csid].obj
        error: JSON | None
        action_url: str | None = None
        if isinstance(result, _FormProblem):
            status, redirect = "open", None
            error = {"type": "validation_error", "code": result.code, "message": result.message}
        else:
            status, redirect = result.status, result.redirect_url
            error = _decline_json(result.error) if result.error is not None else None
            if result.action_intent is not None:
                action_url = f"{request.base_url}{self.name}/3ds/{result.action_intent}"
        return {
            "status": status,
            "payment_status": obj["payment_status"],
            "redirect_url": redirect,
            "error": error,
            "payment_intent": obj["payment_intent"],
            "setup_intent": obj["setup_intent"],
            "customer": obj["customer"],
            "action_url": action_url,
        }

    async def _control_cancel(self, request: Request) -> Response:
        csid = request.path_params["csid"]

        def cancel(_: dict[str, Any]) -> JSON:
            return {"redirect_url": self.engine.session(csid).obj["cancel_url"]}

        return await self._control(request, cancel)

    async def _control_save_card(self, request: Request) -> Response:
        cid = request.path_params["cid"]

        def save(body: dict[str, Any]) -> JSON:
            engine = self.engine
            engine.customer(cid, param="customer")
            pm_token = _opt_str(body, "payment_method")
            if pm_token is not None:
                if pm_token not in PM_TOKENS:
                    raise _bad_control(f"payment_method must be a pm_card_* test id: {pm_token!r}")
                spec = card_for_number(PM_TOKENS[pm_token])
            else:
                number, _ = _card_from_body(body)
                if not luhn_valid(number):
                    raise _bad_control(f"card is not a valid card number: {number!r}")
                spec = card_for_number(number)
            exp_month: int | None = None
            exp_year: int | None = None
            expiry = _opt_str(body, "expiry")
            if expiry is not None:
                parsed = _parse_expiry(expiry, engine.now())
                if isinstance(parsed, _FormProblem):
                    raise _bad_control(parsed.message)
                exp_month, exp_year = parsed
            record = engine.new_payment_method(spec, exp_month=exp_month, exp_year=exp_year)
            engine.attach(record.obj["id"], cid)
            record.set_up = True
            return record.obj

        return await self._control(request, save)

    async def _control_authenticate(self, request: Request) -> Response:
        intent_id = request.path_params["intent"]

        def authenticate(body: dict[str, Any]) -> JSON:
            result_name = _opt_str(body, "result") or "complete"
            if result_name not in ("complete", "fail"):
                raise _bad_control("result must be complete or fail")
            result = self.engine.authenticate(intent_id, success=result_name == "complete")
            store = (
                self.engine.setup_intents
                if intent_id.startswith("seti_")
                else self.engine.payment_intents
            )
            record = store[intent_id]
            return {
                "status": result.status,
                "intent_status": record.obj["status"],
                "redirect_url": result.redirect_url,
                "error": _decline_json(result.error) if result.error is not None else None,
            }

        return await self._control(request, authenticate)

    async def _control_expire_due(self, request: Request) -> Response:
        def expire(_: dict[str, Any]) -> JSON:
            engine = self.engine
            before = {k for k, r in engine.sessions.items() if r.obj["status"] == "open"}
            engine.expire_due()
            expired = sorted(k for k in before if engine.sessions[k].obj["status"] == "expired")
            return {"expired": expired}

        return await self._control(request, expire)


async def _page_form(request: Request) -> dict[str, str] | Response:
    """A hosted page's posted form, or the page saying it was refused (400/413)."""
    try:
        raw = await read_body(request, MAX_PAGE_BODY)
        pairs = parse_form(raw, max_fields=MAX_PAGE_FIELDS, max_key=100)
    except InputRejected as exc:
        status = 413 if exc.too_large else 400
        return HTMLResponse(
            _pages.notice_page("Request refused", f"The form was refused: {exc}."), status
        )
    return dict(pairs)


def _request_id() -> str:
    """A fresh ``Request-Id`` header value, as Stripe sends on every answer."""
    return "req_" + os.urandom(7).hex()


def _bad_control(message: str) -> StripeError:
    return StripeError(400, "invalid_request_error", message)


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad_control(f"{key} must be a string")
    return value


def _card_from_body(body: dict[str, Any]) -> tuple[str, str]:
    """The card number a control request names, and its default 3DS result."""
    card = body.get("card")
    outcome = body.get("outcome")
    if (card is None) == (outcome is None):
        raise _bad_control("give exactly one of card or outcome")
    if outcome is not None:
        number = OUTCOMES.get(outcome) if isinstance(outcome, str) else None
        if number is None:
            raise _bad_control(f"outcome must be one of {', '.join(OUTCOMES)}")
        return number, "fail" if outcome == "authentication_required" else "complete"
    if not isinstance(card, str):
        raise _bad_control("card must be a string of digits")
    return "".join(ch for ch in card if ch not in " -"), "complete"


def _decline_json(decline: Decline) -> JSON:
    return {
        "type": "invalid_request_error" if decline is AUTH_FAILED else "card_error",
        "code": decline.code,
        "decline_code": decline.decline_code,
        "message": decline.message,
    }


def _year(timestamp: int) -> int:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).year


def _parse_expiry(text: str, now: int) -> tuple[int, int] | _FormProblem:
    compact = text.replace(" ", "")
    if "/" in compact:
        month_text, _, year_text = compact.partition("/")
    else:
        month_text, year_text = compact[:2], compact[2:]
    if not (
        month_text.isascii()
        and month_text.isdigit()
        and len(month_text) <= 2
        and 1 <= int(month_text) <= 12
    ):
        return _FormProblem("invalid_expiry_month", "Your card's expiration month is invalid.")
    if not (year_text.isascii() and year_text.isdigit() and len(year_text) in (2, 4)):
        return _FormProblem("invalid_expiry_year", "Your card's expiration year is invalid.")
    month = int(month_text)
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    today = datetime.datetime.fromtimestamp(now, tz=datetime.UTC)
    if (year, month) < (today.year, today.month):
        return _FormProblem("invalid_expiry_year", "Your card's expiration date is in the past.")
    if year > today.year + 50:
        return _FormProblem("invalid_expiry_year", "Your card's expiration year is invalid.")
    return month, year


_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")


def _version_error(version: str) -> StripeError:
    """A ``Stripe-Version`` the fake does not answer in. Stripe refuses a malformed one with
    this message; a well-formed other version Stripe would answer in that version's shapes,
    which this fake does not have, so it refuses rather than answer in the wrong ones."""
    shown = version[:40]
    if not _VERSION.match(version):
        return StripeError(400, "invalid_request_error", f"Invalid Stripe API version: {shown}")
    return StripeError(
        400,
        "invalid_request_error",
        f"This sandbox answers in Stripe API version {API_VERSION} only, not {shown}: "
        "pin that version (or send none) to test against it.",
    )
