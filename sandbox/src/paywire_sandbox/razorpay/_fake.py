"""The Razorpay fake: payment links, customers, orders, payments, tokens, refunds and webhooks.

API base: ``http://HOST:PORT/razorpay`` (the official SDK's ``base_url``); paths are Razorpay's
own (``/v1/payment_links`` …). JSON bodies only.

Authentication
    HTTP Basic ``key_id:key_secret``. Any key id of the form ``rzp_test_<something>`` with a
    non-empty secret is accepted, unless the key was registered through the control API
    (``POST /_sandbox/razorpay/keys`` ``{"key_id", "key_secret"}``), in which case only that secret
    is. No header → 401 "Please provide your api key for authentication purposes."; a malformed or
    non-test key → 401 "The api key provided is invalid"; a registered key with another secret →
    401 "Authentication failed". All with code ``BAD_REQUEST_ERROR``, as Razorpay answers; the
    secret is never echoed. The secret of the key that creates a payment link (or order) signs its
    callback (``razorpay_signature``).

Errors
    ``{"error": {"code", "description", "source", "step", "reason", "metadata", "field"?}}``.
    Razorpay answers **400** (not 404) with "The id provided does not exist" for an unknown id, and
    400 "The requested URL was not found on the server." for an unknown path; the fake does the
    same. Body members Razorpay does not document (:mod:`._params`) → "<names> is/are not
    required and should not be sent". A request body that is not a JSON object (or nests deeper
    than 64 levels) → 400 (the wording for that one is the sandbox's own); so is a hosted-page
    form no browser would send. Customer names: 3-50 letters, digits, spaces and ``.'/@()``;
    contacts: at least 8 digits. An
    unexpected exception is a 500 ``SERVER_ERROR`` whose description starts "sandbox internal
    error", never a card error.

Supported API (each path also with a trailing slash; lists are Razorpay's ``collection``
with ``count``/``skip``/``from``/``to``: ``GET /v1/customers``, ``/v1/orders``, ``/v1/payments``,
``/v1/refunds``)
    - ``POST /v1/payment_links`` (amount, currency (default INR), accept_partial,
      first_min_partial_amount, expire_by (≥15 min ahead, ≤ 6 months), reference_id (≤40, unique:
      a repeat is "payment link creation with reference ID already attempted"), description,
      customer, notify, reminder_enable, notes, callback_url + callback_method ``"get"``;
      ``upi_link: true`` is refused as in test mode), ``GET /v1/payment_links``,
      ``GET /v1/payment_links/{id}``, ``PATCH /v1/payment_links/{id}`` (reference_id, expire_by,
      notes, accept_partial, reminder_enable), ``POST /v1/payment_links/{id}/cancel``,
      ``POST /v1/payment_links/{id}/notify_by/{sms|email}`` (a no-op). Each link gets an
      order at creation. ``short_url`` is the hosted page ``/razorpay/pay/{plink_id}``. A link
      whose ``expire_by`` has passed on the sandbox clock becomes ``expired`` (and fires
      ``payment_link.expired``) the next time it is read or paid.
    - ``POST /v1/customers`` (name, email, contact, fail_existing, gstin, notes; a customer with the
      same email or contact exists → "Customer already exists for the merchant" unless
      ``fail_existing`` is ``"0"``, which returns it), ``GET /v1/customers/{id}``.
    - ``POST /v1/orders`` (amount, currency, receipt, notes, payment_capture (default true),
      partial_payment, first_payment_min_amount, and for a card mandate registration
      ``customer_id`` + ``method: "card"`` + ``token{max_amount, expire_at, frequency, notes}``
      (INR only), and the pre-debit ``notification{token_id, payment_after}``, recorded),
      ``GET /v1/orders/{id}``, ``GET /v1/orders/{id}/payments``; ``GET /v1/orders`` also
      takes Razorpay's ``receipt`` filter (exact match).
    - ``GET /v1/payments/{id}``, ``POST /v1/payments/{id}/capture`` (amount, currency),
      ``POST /v1/payments/create/recurring`` (order_id, customer_id, token, amount = order amount,
      currency = order currency = INR, recurring, email, contact, description, notes) →
      ``{razorpay_payment_id, razorpay_order_id, razorpay_signature}`` where the signature is
      hex HMAC-SHA256(key_secret, "order_id|payment_id"). **Asynchronous, as on Razorpay:** the
      payment stays ``created`` (order ``attempted``) until its debit 36 h 5 min later (see
      :mod:`._timing`); then the token's card decides (:mod:`._cards`): ``payment.authorized``,
      ``payment.captured`` (if the order captures) and ``order.paid``, or ``payment.failed``
      with the card's ``error_reason``/``error_source``/``error_step``. A second charge on an
      order whose first is pending is refused. Amount above the token's ``max_amount`` or a
      token past ``expired_at`` is refused at once with Razorpay's card-mandate wording.
    - ``GET /v1/customers/{id}/tokens``, ``GET``/``DELETE /v1/customers/{id}/tokens/{token_id}``
      (delete → ``{"deleted": true}`` and, as an assumption, a ``token.cancelled`` webhook).
    - ``POST /v1/payments/{id}/refund`` (amount (default: what is left), speed normal|optimum,
      notes, receipt (unique per payment)), ``GET /v1/payments/{id}/refunds[/{refund_id}]``,
      ``GET /v1/refunds/{id}``. Refunds start ``pending`` (``refund.created``) and become
      ``processed`` later (``refund.processed``; optimum after 5 min, normal after 24 h), or
      ``failed`` (``refund.failed``) for a normal refund of a payment over six months old.
      **Advancing the sandbox clock by 48 h settles every pending recurring payment and
      refund** (a stable contract); anything due also settles on the next request. Header
      ``X-Refund-Idempotency`` (≥10 of ``[A-Za-z0-9_-]``): the same
      key and body replay the first successful answer; the same key with another body (or
      payment) → 409 "Different request with the same idempotency key has already been
      processed.". Failed requests are not remembered, so they can be retried under their key.
    - ``POST /v1/subscription_registration/auth_links`` (card registration link: customer{name,
      email, contact} (all mandatory; ``customer_id`` is not accepted), type ``link``, amount
      (≥ ₹1), currency INR, description, subscription_registration{method ``card``,
      max_amount, frequency, expire_at?}, receipt, sms_notify, email_notify, expire_by, notes)
      → ``invoice`` entity with ``short_url``;
      ``GET /v1/invoices/{id}``.

Hosted pages (``GET``/``POST /razorpay/pay/{id}``, form ``#card-number``, ``#pay``)
    - ``plink_…``: paying authorizes and captures a payment (``payment.authorized``,
      ``payment.captured``, ``order.paid``, then ``payment_link.paid`` or
      ``payment_link.partially_paid``) and redirects (303) to ``callback_url`` with
      ``razorpay_payment_id``, ``razorpay_payment_link_id``,
      ``razorpay_payment_link_reference_id``, ``razorpay_payment_link_status`` and
      ``razorpay_signature`` = hex HMAC-SHA256(key_secret,
      "plink_id|reference_id|status|payment_id"). A declining card shows the failure on the page
      and fires ``payment.failed``; the link stays payable.
    - ``inv_…`` (registration link) and ``order_…`` (an order, typically one with a ``token``
      registration): paying captures the auth payment and, when the order registers a mandate,
      creates a confirmed card token for the customer (``payment.authorized``,
      ``payment.captured``, ``order.paid``, ``token.confirmed``, and ``invoice.paid`` for a
      registration link). Registration links have no callback URL, as on Razorpay.

Control routes (``/_sandbox/razorpay``, JSON)
    - ``POST /checkout/{id}/complete`` ``{"card": "4111…"}`` or ``{"outcome": …}`` (optional
      ``"amount"`` for a partial payment on a link with ``accept_partial``) — the same code path
      as the hosted form. Answers ``{"redirect_url", "status", "payment_id"}`` plus
      ``"token_id"``/``"customer_id"`` after a registration and
      ``"razorpay_order_id"``/``"razorpay_signature"`` for an order; a failed payment answers
      ``{"redirect_url": null, "status": "failed", "payment_id", "error": {...}}``.
    - ``POST /checkout/{id}/cancel`` — Razorpay has no cancel URL: this cancels the payment link
      (or registration link) and answers ``{"redirect_url": null, "status": "cancelled"}``.
    - ``POST /tokens`` ``{"card", "customer_id"? | "customer"{name,email,contact}?, "max_amount"?,
      "frequency"?, "expire_at"?, "expiry_month"?, "expiry_year"?}`` — creates (or reuses) a
      customer and a confirmed recurring card token directly, without webhooks; answers
      ``{"customer": …, "token": …}``. Use a declining card here to get a token whose recurring
      charges fail. The token's card expiry is December eight years after the sandbox clock's
      year, or last year for the expired-card test card, unless given.
    - ``POST /keys`` ``{"key_id", "key_secret"}`` — pin the secret of a key (see Authentication).

Webhooks
    ``{"entity": "event", "account_id", "event", "contains", "payload": {name: {"entity": …}},
    "created_at"}``, signed with ``X-Razorpay-Signature`` = hex HMAC-SHA256(endpoint secret, raw
    body) and carrying ``X-Razorpay-Event-Id``, derived from the body so that every retry of an
    event carries the same id.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from paywire_sandbox._fake import Fake, SandboxContext, WebhookEndpoint
from paywire_sandbox.razorpay import _entities as entities
from paywire_sandbox.razorpay import _pages
from paywire_sandbox.razorpay._cards import OUTCOME_CARDS, CardFailure, TestCard, card_for_number
from paywire_sandbox.razorpay._entities import Entity
from paywire_sandbox.razorpay._errors import BAD_REQUEST, SERVER, RazorpayError, error_body
from paywire_sandbox.razorpay._ids import digest_id, new_id
from paywire_sandbox.razorpay._input import Fields, query_integer, read_json
from paywire_sandbox.razorpay._money import check_amount, check_currency
from paywire_sandbox.razorpay._params import DOCUMENTED
from paywire_sandbox.razorpay._timing import (
    NORMAL_REFUND_DELAY,
    OPTIMUM_REFUND_DELAY,
    RECURRING_DEBIT_DELAY,
    REFUND_WINDOW,
)

__all__ = ["ACCOUNT_ID", "RazorpayFake"]

logger = logging.getLogger(__name__)


#: The merchant account every sandbox event names.
ACCOUNT_ID = "acc_SandboxRzp0001"

_TEST_KEY_PREFIX = "rzp_test_"
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MIN_EXPIRY_LEAD = 15 * 60
_MAX_LINK_LIFETIME = 183 * 24 * 3600  # "six months"
_FREQUENCIES = (
    "daily",
    "weekly",
    "fortnightly",
    "monthly",
    "bimonthly",
    "quarterly",
    "half_yearly",
    "yearly",
    "as_presented",
)
_DEFAULT_TOKEN_LIFETIME = 10 * 365 * 24 * 3600
# Razorpay's customer name rule: "Alphanumeric value with period (.), apostrophe ('), forward
# slash (/), at (@) and parentheses are allowed. The name must be between 3-50 characters".
_CUSTOMER_NAME = re.compile(r"[A-Za-z0-9 .'/@()]*")
_CUSTOMER_NAME_LENGTH = (3, 50)
# "Contact number should be at least 8 digits, including country code" (at most 15 characters).
_CONTACT = re.compile(r"\+?[0-9]{8,15}")
# A hosted page's form has one field; anything much bigger is not a browser filling it in.
_PAGE_FORM_FIELDS = 20
_PAGE_FORM_PART = 4096
_BODY = DOCUMENTED
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@attrs.frozen
class _Caller:
    """Who is calling: the key id and its secret (kept out of repr)."""

    key_id: str
    secret: str = attrs.field(repr=False)


@attrs.define
class _Idempotent:
    """A remembered refund answer under an ``X-Refund-Idempotency`` key."""

    fingerprint: str
    status: int
    body: bytes


@attrs.frozen
class _Outcome:
    """What paying a hosted page did."""

    status: str
    payment_id: str | None
    redirect_url: str | None = None
    failure: CardFailure | None = None
    extra: Mapping[str, str] = attrs.field(factory=dict)

    def as_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            "redirect_url": self.redirect_url,
            "status": self.status,
            "payment_id": self.payment_id,
            **self.extra,
        }
        if self.failure is not None:
            result["error"] = _failure_error(self.failure, self.payment_id, None)["error"]
        return result


def _failure_error(failure: CardFailure, payment_id: str | None, order_id: str | None) -> Entity:
    metadata = {}
    if payment_id is not None:
        metadata["payment_id"] = payment_id
    if order_id is not None:
        metadata["order_id"] = order_id
    return error_body(
        failure.code,
        failure.description,
        source=failure.source,
        step=failure.step,
        reason=failure.reason,
        metadata=metadata,
    )


def _check_unpaid(order: Entity) -> None:
    """Razorpay's answer to a payment on an order that is already paid."""
    if order["status"] == "paid":
        raise RazorpayError(
            "Your payment has been declined as the order is already paid. "
            "Please initiate the payment with a new order."
        )


def _check_recurring_currency(currency: str) -> None:
    """Card mandates and their debits are INR only ("Currently, only INR is supported")."""
    if currency != "INR":
        raise RazorpayError(
            "Currency is not supported. Recurring card payments accept only INR",
            field="currency",
        )


def _json(data: object, status: int = 200) -> Response:
    return Response(json.dumps(data), status_code=status, media_type="application/json")


def _hmac_hex(secret: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _contact(fields: Fields, name: str = "contact", *, required: bool = False) -> str | None:
    value = fields.require(name) if required else fields.raw(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    else:
        value = fields.string(name, max_length=15)
    if value is None or not _CONTACT.fullmatch(value):
        raise RazorpayError(
            "Contact number should be at least 8 digits, including country code",
            field=fields.name_of(name),
        )
    return value


def _customer_name(fields: Fields, name: str = "name", *, required: bool = False) -> str | None:
    """A customer's name under Razorpay's rule (3-50 letters, digits, spaces and ``.'/@()``)."""
    value = fields.string(name, required=required)
    if value is None:
        return None
    shortest, longest = _CUSTOMER_NAME_LENGTH
    where = fields.name_of(name)
    if len(value) < shortest:
        raise RazorpayError(f"The {where} must be at least {shortest} characters.", field=where)
    if len(value) > longest:
        raise RazorpayError(
            f"The {where} may not be greater than {longest} characters.", field=where
        )
    if not _CUSTOMER_NAME.fullmatch(value):
        raise RazorpayError(f"The {where} format is invalid.", field=where)
    return value


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class RazorpayFake(Fake):
    """A stateful fake of Razorpay's API; see the module docstring for what it covers."""

    name = "razorpay"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self.reset()

    # ------------------------------------------------------------------ framework contract

    def reset(self) -> None:
        """Forget every resource, registered key and idempotency record."""
        self._keys: dict[str, str] = {}
        self._customers: dict[str, Entity] = {}
        self._orders: dict[str, Entity] = {}
        self._order_secret: dict[str, str] = {}
        self._order_capture: dict[str, bool] = {}
        self._registrations: dict[str, entities.Registration] = {}
        self._links: dict[str, Entity] = {}
        self._link_secret: dict[str, str] = {}
        self._link_references: dict[str, str] = {}
        self._payments: dict[str, Entity] = {}
        self._refunds: dict[str, Entity] = {}
        self._refund_receipts: set[tuple[str, str]] = set()
        self._idempotency: dict[tuple[str, str], _Idempotent] = {}
        self._tokens: dict[str, Entity] = {}
        self._token_cards: dict[str, TestCard] = {}
        self._token_customer: dict[str, str] = {}
        self._invoices: dict[str, Entity] = {}
        # What settles later, by the sandbox clock: payment id / refund id -> when.
        self._debits_due: dict[str, int] = {}
        self._refunds_due: dict[str, int] = {}

    def on_clock_advanced(self) -> None:
        """Debit the recurring payments and process the refunds whose time has come."""
        self._settle_due()

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        """``X-Razorpay-Signature`` (hex HMAC-SHA256 of the body) and ``X-Razorpay-Event-Id``."""
        return {
            "X-Razorpay-Signature": _hmac_hex(endpoint.secret, body),
            "X-Razorpay-Event-Id": digest_id(body),
        }

    def error_body(self, status: int, message: str) -> tuple[bytes, str]:
        """Razorpay's error shape for the framework's own answers (injected faults, guards)."""
        if status >= 500:
            body = error_body(SERVER, message)
        elif status == 429:
            body = error_body(BAD_REQUEST, "Request failed. Please try after sometime.")
        else:
            body = error_body(BAD_REQUEST, message)
        return json.dumps(body).encode(), "application/json"

    def routes(self) -> Sequence[BaseRoute]:
        """Razorpay's API paths plus the hosted pages, mounted under ``/razorpay``."""
        api_table: list[tuple[str, str, Callable[[Request, _Caller], Awaitable[Response]]]] = [
            ("POST", "/v1/payment_links", self._create_link),
            ("GET", "/v1/payment_links", self._list_links),
            ("GET", "/v1/payment_links/{id}", self._get_link),
            ("PATCH", "/v1/payment_links/{id}", self._update_link),
            ("POST", "/v1/payment_links/{id}/cancel", self._cancel_link),
            ("POST", "/v1/payment_links/{id}/notify_by/{medium}", self._notify_link),
            ("POST", "/v1/customers", self._create_customer),
            ("GET", "/v1/customers", self._list_customers),
            ("GET", "/v1/customers/{id}", self._get_customer),
            ("GET", "/v1/customers/{id}/tokens", self._list_tokens),
            ("GET", "/v1/customers/{id}/tokens/{token_id}", self._get_token),
            ("DELETE", "/v1/customers/{id}/tokens/{token_id}", self._delete_token),
            ("POST", "/v1/orders", self._create_order),
            ("GET", "/v1/orders", self._list_orders),
            ("GET", "/v1/orders/{id}", self._get_order),
            ("GET", "/v1/orders/{id}/payments", self._order_payments),
            ("POST", "/v1/payments/create/recurring", self._create_recurring),
            ("GET", "/v1/payments", self._list_payments),
            ("GET", "/v1/payments/{id}", self._get_payment),
            ("POST", "/v1/payments/{id}/capture", self._capture),
            ("POST", "/v1/payments/{id}/refund", self._refund),
            ("GET", "/v1/payments/{id}/refunds", self._payment_refunds),
            ("GET", "/v1/payments/{id}/refunds/{refund_id}", self._payment_refund),
            ("GET", "/v1/refunds", self._list_refunds),
            ("GET", "/v1/refunds/{id}", self._get_refund),
            ("POST", "/v1/subscription_registration/auth_links", self._create_auth_link),
            ("GET", "/v1/invoices/{id}", self._get_invoice),
        ]
        routes: list[BaseRoute] = []
        for method, path, handler in api_table:
            endpoint = self._api(handler)
            # Razorpay's own examples use a trailing slash (``/v1/payment_links/``).
            routes.append(Route(path, endpoint, methods=[method]))
            routes.append(Route(path + "/", endpoint, methods=[method]))
        routes += [
            Route("/pay/{id}", self._guard(self._page), methods=["GET"]),
            Route("/pay/{id}", self._guard(self._page_submit), methods=["POST"]),
            Route("/{path:path}", self._guard(self._unknown_path), methods=_ALL_METHODS),
        ]
        return routes

    def control_routes(self) -> Sequence[BaseRoute]:
        """Complete/cancel a hosted page, create a confirmed token, pin a key's secret, settle
        what is pending now."""
        return [
            Route("/checkout/{id}/complete", self._guard(self._ctl_complete), methods=["POST"]),
            Route("/checkout/{id}/cancel", self._guard(self._ctl_cancel), methods=["POST"]),
            Route("/tokens", self._guard(self._ctl_token), methods=["POST"]),
            Route("/keys", self._guard(self._ctl_key), methods=["POST"]),
            Route("/settle", self._guard(self._ctl_settle), methods=["POST"]),
        ]

    async def _ctl_settle(self, request: Request) -> Response:
        """``POST /_sandbox/razorpay/settle``: debit every pending recurring payment and settle
        every pending refund now, as if their time had come — without moving the sandbox clock,
        which every fake shares (a clock 48 h ahead signs other providers' webhooks in the
        future). Answers how many of each settled."""
        debits, refunds = len(self._debits_due), len(self._refunds_due)
        now = self._now()
        self._debits_due = dict.fromkeys(self._debits_due, now)
        self._refunds_due = dict.fromkeys(self._refunds_due, now)
        self._settle_due()
        return _json({"debited": debits, "refunds_settled": refunds})

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> int:
        return int(self.ctx.clock.now())

    def _guard(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                # Time passes on its own too (a served sandbox left running for two days).
                self._settle_due()
                return await handler(request)
            except RazorpayError as exc:
                return exc.response()
            except Exception as exc:  # a sandbox bug must not look like a decline
                logger.exception("razorpay fake: unexpected error on %s", request.url.path)
                body = error_body(SERVER, f"sandbox internal error: {type(exc).__name__}")
                return _json(body, status=500)

        return endpoint

    def _api(
        self, handler: Callable[[Request, _Caller], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def authenticated(request: Request) -> Response:
            return await handler(request, self._authenticate(request))

        return self._guard(authenticated)

    def _authenticate(self, request: Request) -> _Caller:
        header = request.headers.get("authorization")
        if not header:
            raise RazorpayError(
                "Please provide your api key for authentication purposes.", status=401
            )
        invalid = RazorpayError("The api key provided is invalid", status=401)
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise invalid
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise invalid from None
        key_id, separator, secret = decoded.partition(":")
        if not separator or not key_id.startswith(_TEST_KEY_PREFIX) or key_id == _TEST_KEY_PREFIX:
            raise invalid
        if not secret:
            raise invalid
        pinned = self._keys.get(key_id)
        if pinned is not None and not hmac.compare_digest(pinned.encode(), secret.encode()):
            raise RazorpayError("Authentication failed", status=401)
        return _Caller(key_id, secret)

    def _emit(self, event: str, entities: Mapping[str, Entity]) -> None:
        envelope = {
            "entity": "event",
            "account_id": ACCOUNT_ID,
            "event": event,
            "contains": list(entities),
            "payload": {name: {"entity": copy.deepcopy(value)} for name, value in entities.items()},
            "created_at": self._now(),
        }
        body = json.dumps(envelope).encode()
        self.ctx.webhooks.emit(self.name, digest_id(body), event, body)

    async def _unknown_path(self, request: Request) -> Response:
        raise RazorpayError("The requested URL was not found on the server.")

    @staticmethod
    def _collection(
        request: Request, items: Sequence[Entity], filters: Sequence[str] = ()
    ) -> Response:
        """Razorpay's ``{"entity": "collection", ...}``, newest first.

        Query: ``count`` (default 10, at most 100), ``skip``, ``from``/``to`` (``created_at``),
        and the ``filters`` the caller has already applied to ``items``.
        """
        query = request.query_params
        fields = Fields(dict(query), ["count", "skip", "from", "to", "expand[]", *filters])
        limits: dict[str, int] = {}
        for name in ("count", "skip", "from", "to"):
            raw = fields.raw(name)
            if isinstance(raw, str):
                limits[name] = query_integer(raw, name)
        count = limits.get("count", 10)
        if count > 100:
            raise RazorpayError("The count may not be greater than 100.", field="count")
        chosen = [
            item
            for item in reversed(items)
            if limits.get("from", 0) <= item["created_at"] <= limits.get("to", 2**63)
        ]
        skip = limits.get("skip", 0)
        page = chosen[skip : skip + count]
        return _json({"entity": "collection", "count": len(page), "items": page})

    @staticmethod
    def _lookup(table: Mapping[str, Entity], entity_id: str) -> Entity:
        found = table.get(entity_id)
        if found is None:
            raise RazorpayError.not_found()
        return found

    # ------------------------------------------------------------------ customers

    async def _create_customer(self, request: Request, caller: _Caller) -> Response:
        fields = Fields(await read_json(request), _BODY["POST", "/v1/customers"].names)
        name = _customer_name(fields)
        email = fields.string("email", max_length=64)
        contact = _contact(fields)
        fail_existing = fields.boolean("fail_existing")
        gstin = fields.string("gstin", max_length=15)
        notes = fields.notes()
        existing = self._find_customer(email, contact)
        if existing is not None:
            if fail_existing is False:
                return _json(existing)
            raise RazorpayError("Customer already exists for the merchant")
        return _json(self._new_customer(name, email, contact, gstin=gstin, notes=notes))

    def _find_customer(self, email: str | None, contact: str | None) -> Entity | None:
        for customer in self._customers.values():
            if (email and customer["email"] == email) or (
                contact and customer["contact"] == contact
            ):
                return customer
        return None

    def _new_customer(
        self,
        name: str | None,
        email: str | None,
        contact: str | None,
        *,
        gstin: str | None = None,
        notes: Mapping[str, object] | None = None,
    ) -> Entity:
        customer = entities.customer(
            name, email, contact, gstin=gstin, notes=notes, now=self._now()
        )
        self._customers[customer["id"]] = customer
        return customer

    async def _list_customers(self, request: Request, caller: _Caller) -> Response:
        return self._collection(request, list(self._customers.values()))

    async def _get_customer(self, request: Request, caller: _Caller) -> Response:
        return _json(self._lookup(self._customers, request.path_params["id"]))

    # ------------------------------------------------------------------ tokens

    def _new_token(
        self,
        customer_id: str,
        card: TestCard,
        *,
        max_amount: int,
        expire_at: int,
        frequency: str,
        name: str = "",
        expiry: tuple[int, int] | None = None,
    ) -> Entity:
        token = entities.token(
            card,
            max_amount=max_amount,
            expire_at=expire_at,
            frequency=frequency,
            name=name,
            expiry=expiry,
            now=self._now(),
        )
        self._tokens[token["id"]] = token
        self._token_cards[token["id"]] = card
        self._token_customer[token["id"]] = customer_id
        return token

    def _customer_token(self, customer_id: str, token_id: str) -> Entity:
        self._lookup(self._customers, customer_id)
        token = self._tokens.get(token_id)
        if token is None or self._token_customer.get(token_id) != customer_id:
            raise RazorpayError.not_found()
        return token

    async def _list_tokens(self, request: Request, caller: _Caller) -> Response:
        customer_id = request.path_params["id"]
        self._lookup(self._customers, customer_id)
        items = [
            token
            for token_id, token in self._tokens.items()
            if self._token_customer[token_id] == customer_id
        ]
        return _json({"entity": "collection", "count": len(items), "items": items})

    async def _get_token(self, request: Request, caller: _Caller) -> Response:
        params = request.path_params
        return _json(self._customer_token(params["id"], params["token_id"]))

    async def _delete_token(self, request: Request, caller: _Caller) -> Response:
        params = request.path_params
        token = self._customer_token(params["id"], params["token_id"])
        del self._tokens[token["id"]]
        token["recurring_details"] = {"status": "cancelled", "failure_reason": None}
        self._emit("token.cancelled", {"token": token})
        return _json({"deleted": True})

    # ------------------------------------------------------------------ orders

    async def _create_order(self, request: Request, caller: _Caller) -> Response:
        documented = _BODY["POST", "/v1/orders"]
        fields = Fields(await read_json(request), documented.names)
        currency = check_currency(fields.require("currency"))
        amount = check_amount(fields.require("amount"), currency)
        receipt = fields.string("receipt", max_length=40)
        notes = fields.notes()
        capture = fields.boolean("payment_capture")
        partial = fields.boolean("partial_payment")
        first_min = fields.integer("first_payment_min_amount", minimum=1)
        customer_id = fields.string("customer_id")
        if customer_id is not None:
            self._lookup(self._customers, customer_id)
        method = fields.choice("method", ["card"])
        token_fields = fields.obj("token", documented.nested["token"].names)
        notification = self._notification(fields, documented.nested["notification"].names)
        registration: entities.Registration | None = None
        if token_fields is not None:
            if customer_id is None:
                raise RazorpayError("The customer_id field is required.", field="customer_id")
            if method is None:
                raise RazorpayError("The method field is required.", field="method")
            _check_recurring_currency(currency)
            registration = self._registration(token_fields, customer_id, currency)
        order = self._new_order(
            amount,
            currency,
            caller.secret,
            receipt=receipt,
            notes=notes,
            capture=capture is not False,
            partial=bool(partial),
            first_min=first_min,
            registration=registration,
        )
        if notification is not None:
            order["notification"] = notification
        return _json(order)

    def _notification(self, fields: Fields, allowed: frozenset[str]) -> Entity | None:
        """An order's pre-debit ``notification`` object (recorded; the debit timing is the
        sandbox's fixed delay, see ``_timing``)."""
        details = fields.obj("notification", allowed)
        if details is None:
            return None
        token_id = details.text("token_id")
        if token_id not in self._tokens:
            raise RazorpayError.not_found()
        payment_after = details.integer("payment_after")
        if payment_after is None:
            payment_after = self._now() + RECURRING_DEBIT_DELAY
        return {"token_id": token_id, "payment_after": payment_after, "id": new_id("notification")}

    def _registration(
        self, token: Fields, customer_id: str, currency: str
    ) -> entities.Registration:
        max_amount = check_amount(token.require("max_amount"), currency, field="token.max_amount")
        now = self._now()
        expire_at = token.integer("expire_at")
        if expire_at is None:
            expire_at = now + _DEFAULT_TOKEN_LIFETIME
        elif expire_at <= now:
            raise RazorpayError("expire_at should be a future timestamp", field="token.expire_at")
        frequency = token.choice("frequency", _FREQUENCIES) or "as_presented"
        return entities.Registration(
            customer_id=customer_id,
            max_amount=max_amount,
            expire_at=expire_at,
            frequency=frequency,
            notes=token.notes(),
        )

    def _new_order(
        self,
        amount: int,
        currency: str,
        secret: str,
        *,
        receipt: str | None = None,
        notes: Mapping[str, object] | None = None,
        capture: bool = True,
        partial: bool = False,
        first_min: int | None = None,
        registration: entities.Registration | None = None,
    ) -> Entity:
        order = entities.order(
            amount,
            currency,
            receipt=receipt,
            notes=notes,
            partial=partial,
            first_min=first_min,
            registration=registration,
            now=self._now(),
        )
        if registration is not None:
            self._registrations[order["id"]] = registration
        self._orders[order["id"]] = order
        self._order_secret[order["id"]] = secret
        self._order_capture[order["id"]] = capture
        return order

    async def _list_orders(self, request: Request, caller: _Caller) -> Response:
        # Razorpay documents ``receipt`` as a filter of this list (exact match).
        receipt = request.query_params.get("receipt")
        orders = [o for o in self._orders.values() if receipt is None or o["receipt"] == receipt]
        return self._collection(request, orders, filters=("receipt",))

    async def _get_order(self, request: Request, caller: _Caller) -> Response:
        return _json(self._lookup(self._orders, request.path_params["id"]))

    async def _order_payments(self, request: Request, caller: _Caller) -> Response:
        order = self._lookup(self._orders, request.path_params["id"])
        items = [p for p in self._payments.values() if p["order_id"] == order["id"]]
        return self._collection(request, items)

    # ------------------------------------------------------------------ payments

    def _new_payment(
        self,
        order: Entity,
        card: TestCard,
        amount: int,
        *,
        description: str | None,
        email: str | None,
        contact: str | None,
        notes: Mapping[str, object] | None,
        customer_id: str | None = None,
        token_id: str | None = None,
        invoice_id: str | None = None,
        recurring: bool = False,
    ) -> Entity:
        payment = entities.payment(
            order,
            card,
            amount,
            description=description,
            email=email,
            contact=contact,
            notes=notes,
            customer_id=customer_id,
            token_id=token_id,
            invoice_id=invoice_id,
            recurring=recurring,
            now=self._now(),
        )
        self._payments[payment["id"]] = payment
        order["attempts"] += 1
        if order["status"] == "created":
            order["status"] = "attempted"
        return payment

    def _attempt(self, payment: Entity, order: Entity, card: TestCard) -> CardFailure | None:
        """Authorize (and capture, if the order says so) ``payment``; fire the webhooks."""
        failure = card.failure
        if failure is not None:
            payment.update(
                status="failed",
                error_code=failure.code,
                error_description=failure.description,
                error_source=failure.source,
                error_step=failure.step,
                error_reason=failure.reason,
            )
            self._emit("payment.failed", {"payment": payment})
            return failure
        payment["status"] = "authorized"
        payment["acquirer_data"] = {"auth_code": new_id("")[:6].upper()}
        self._emit("payment.authorized", {"payment": payment})
        if self._order_capture.get(order["id"], True):
            self._capture_payment(payment, order)
        return None

    def _capture_payment(self, payment: Entity, order: Entity) -> None:
        payment["status"] = "captured"
        payment["captured"] = True
        # Razorpay's test-mode fee: 2% plus 18% GST on it; what matters is that it is an integer.
        fee = payment["amount"] * 2 // 100
        payment["tax"] = fee * 18 // 100
        payment["fee"] = fee + payment["tax"]
        self._emit("payment.captured", {"payment": payment})
        order["amount_paid"] += payment["amount"]
        order["amount_due"] = max(order["amount"] - order["amount_paid"], 0)
        if order["amount_due"] == 0:
            order["status"] = "paid"
            self._emit("order.paid", {"payment": payment, "order": order})

    async def _list_payments(self, request: Request, caller: _Caller) -> Response:
        return self._collection(request, list(self._payments.values()))

    async def _get_payment(self, request: Request, caller: _Caller) -> Response:
        return _json(self._lookup(self._payments, request.path_params["id"]))

    async def _capture(self, request: Request, caller: _Caller) -> Response:
        payment = self._lookup(self._payments, request.path_params["id"])
        fields = Fields(await read_json(request), _BODY["POST", "/v1/payments/{id}/capture"].names)
        amount = check_amount(fields.require("amount"), payment["currency"])
        currency = fields.require("currency")  # mandatory in Razorpay's capture reference
        if check_currency(currency) != payment["currency"]:
            raise RazorpayError("Currency should be same as payment currency", field="currency")
        if payment["status"] != "authorized":
            raise RazorpayError(
                "Only payments which have been authorized and not yet captured can be captured"
            )
        if amount != payment["amount"]:
            raise RazorpayError(
                "Capture amount must be equal to the amount authorized", field="amount"
            )
        self._capture_payment(payment, self._orders[payment["order_id"]])
        return _json(payment)

    async def _create_recurring(self, request: Request, caller: _Caller) -> Response:
        fields = Fields(
            await read_json(request), _BODY["POST", "/v1/payments/create/recurring"].names
        )
        order_id = fields.text("order_id")
        customer_id = fields.text("customer_id")
        token_id = fields.text("token")
        currency = check_currency(fields.require("currency"))
        amount = check_amount(fields.require("amount"), currency)
        recurring = fields.boolean("recurring")
        if recurring is None:
            raise RazorpayError("The recurring field is required.", field="recurring")
        if not recurring:
            raise RazorpayError("The selected recurring is invalid.", field="recurring")
        email = fields.text("email", max_length=64)
        contact = _contact(fields, required=True)
        description = fields.string("description", max_length=255)
        notes = fields.notes()
        _check_recurring_currency(currency)
        order = self._lookup(self._orders, order_id)
        token = self._customer_token(customer_id, token_id)
        _check_unpaid(order)
        if any(self._payments[p]["order_id"] == order_id for p in self._debits_due):
            raise RazorpayError("A payment for this order is already being processed")
        if currency != order["currency"]:
            raise RazorpayError("Currency should be same as order currency", field="currency")
        if amount != order["amount"]:
            raise RazorpayError("The amount does not match with order amount", field="amount")
        if amount > token["max_amount"]:
            raise RazorpayError("Payment amount is greater than card mandate's max amount")
        if token["expired_at"] <= self._now():
            raise RazorpayError("Card mandate is not active, it is expired")
        card = self._token_cards[token_id]
        payment = self._new_payment(
            order,
            card,
            amount,
            description=description,
            email=email,
            contact=contact,
            notes=notes,
            customer_id=customer_id,
            token_id=token_id,
            recurring=True,
        )
        token["used_at"] = self._now()
        # The debit happens later (see _timing): the payment stays ``created`` until then.
        self._debits_due[payment["id"]] = self._now() + RECURRING_DEBIT_DELAY
        return _json(
            {
                "razorpay_payment_id": payment["id"],
                "razorpay_order_id": order["id"],
                "razorpay_signature": _hmac_hex(caller.secret, f"{order['id']}|{payment['id']}"),
            }
        )

    # ------------------------------------------------------------------ settlement

    def _settle_due(self) -> None:
        """Debit due recurring payments and settle due refunds, oldest first."""
        now = self._now()
        for payment_id, due in sorted(self._debits_due.items(), key=lambda item: item[1]):
            if due <= now:
                del self._debits_due[payment_id]
                self._debit(self._payments[payment_id])
        for refund_id, due in sorted(self._refunds_due.items(), key=lambda item: item[1]):
            if due <= now:
                del self._refunds_due[refund_id]
                self._settle_refund(self._refunds[refund_id])

    def _debit(self, payment: Entity) -> None:
        """The bank debits a recurring payment: its token's card decides (payment.failed or
        payment.authorized, then payment.captured and order.paid if the order captures)."""
        order = self._orders[payment["order_id"]]
        self._attempt(payment, order, self._token_cards[payment["token_id"]])

    def _settle_refund(self, refund: Entity) -> None:
        payment = self._payments[refund["payment_id"]]
        too_old = refund["created_at"] - payment["created_at"] > REFUND_WINDOW
        if refund["speed_requested"] == "normal" and too_old:
            refund["status"] = "failed"
            payment["amount_refunded"] -= refund["amount"]
            if payment["amount_refunded"] == 0:
                payment["refund_status"] = None
            else:
                payment["refund_status"] = "partial"
            payment["status"] = "captured"
            self._emit("refund.failed", {"refund": refund, "payment": payment})
            return
        refund["status"] = "processed"
        instant = refund["speed_requested"] == "optimum"
        refund["speed_processed"] = "instant" if instant else "normal"
        refund["acquirer_data"] = {"arn": new_id("")[:10].upper()}
        self._emit("refund.processed", {"refund": refund, "payment": payment})

    # ------------------------------------------------------------------ refunds

    async def _refund(self, request: Request, caller: _Caller) -> Response:
        payment_id = request.path_params["id"]
        key = request.headers.get("x-refund-idempotency")
        data = await read_json(request)
        if key is None:
            return self._do_refund(payment_id, data)
        if len(key) < 10:
            raise RazorpayError("The idempotency key must be at least 10 characters long.")
        if not _IDEMPOTENCY_KEY.fullmatch(key):
            raise RazorpayError(
                "The idempotency key must only contain alphanumeric characters, "
                "underscores, and hyphens"
            )
        fingerprint = json.dumps([payment_id, data], sort_keys=True)
        remembered = self._idempotency.get((caller.key_id, key))
        if remembered is not None:
            if remembered.fingerprint != fingerprint:
                raise RazorpayError(
                    "Different request with the same idempotency key has already been processed.",
                    status=409,
                )
            return Response(
                remembered.body, status_code=remembered.status, media_type="application/json"
            )
        response = self._do_refund(payment_id, data)
        self._idempotency[(caller.key_id, key)] = _Idempotent(
            fingerprint, response.status_code, bytes(response.body)
        )
        return response

    def _do_refund(self, payment_id: str, data: Mapping[str, object]) -> Response:
        payment = self._lookup(self._payments, payment_id)
        fields = Fields(data, _BODY["POST", "/v1/payments/{id}/refund"].names)
        currency = payment["currency"]
        remaining = payment["amount"] - payment["amount_refunded"]
        raw_amount = fields.raw("amount")
        amount = remaining if raw_amount is None else check_amount(raw_amount, currency)
        speed = fields.choice("speed", ["normal", "optimum"]) or "normal"
        notes = fields.notes()
        receipt = fields.string("receipt", max_length=40)
        if payment["status"] not in ("captured", "refunded"):
            raise RazorpayError("The payment status should be captured for action to be taken")
        if remaining <= 0:
            raise RazorpayError("The payment has been fully refunded already")
        if amount > payment["amount"]:
            raise RazorpayError(
                "The refund amount provided is greater than amount captured", field="amount"
            )
        if amount > remaining:
            raise RazorpayError(
                "The total refund amount is greater than the refund payment amount", field="amount"
            )
        if receipt is not None:
            if (payment_id, receipt) in self._refund_receipts:
                raise RazorpayError("Duplicate receipt found for this refund request.")
            self._refund_receipts.add((payment_id, receipt))
        refund = entities.refund(
            payment, amount, speed=speed, notes=notes, receipt=receipt, now=self._now()
        )
        self._refunds[refund["id"]] = refund
        payment["amount_refunded"] += amount
        fully = payment["amount_refunded"] >= payment["amount"]
        payment["refund_status"] = "full" if fully else "partial"
        if fully:
            payment["status"] = "refunded"
        self._emit("refund.created", {"refund": refund, "payment": payment})
        delay = OPTIMUM_REFUND_DELAY if speed == "optimum" else NORMAL_REFUND_DELAY
        self._refunds_due[refund["id"]] = self._now() + delay
        return _json(refund)

    async def _payment_refunds(self, request: Request, caller: _Caller) -> Response:
        payment = self._lookup(self._payments, request.path_params["id"])
        items = [r for r in self._refunds.values() if r["payment_id"] == payment["id"]]
        return self._collection(request, items)

    async def _payment_refund(self, request: Request, caller: _Caller) -> Response:
        payment = self._lookup(self._payments, request.path_params["id"])
        refund = self._lookup(self._refunds, request.path_params["refund_id"])
        if refund["payment_id"] != payment["id"]:
            raise RazorpayError.not_found()
        return _json(refund)

    async def _list_refunds(self, request: Request, caller: _Caller) -> Response:
        return self._collection(request, list(self._refunds.values()))

    async def _get_refund(self, request: Request, caller: _Caller) -> Response:
        return _json(self._lookup(self._refunds, request.path_params["id"]))

    # ------------------------------------------------------------------ payment links

    async def _create_link(self, request: Request, caller: _Caller) -> Response:
        fields = Fields(await read_json(request), _BODY["POST", "/v1/payment_links"].names)
        currency = check_currency(fields.string("currency") or "INR")
        amount = check_amount(fields.require("amount"), currency)
        if fields.boolean("upi_link"):
            raise RazorpayError(
                "UPI Payment Links is not supported in Test Mode. "
                "Please experience the product in Live Mode."
            )
        accept_partial = bool(fields.boolean("accept_partial"))
        first_min = fields.integer("first_min_partial_amount", minimum=1)
        if first_min is not None:
            if not accept_partial:
                raise RazorpayError(
                    "first_min_partial_amount is/are not required and should not be sent"
                )
            if first_min > amount:
                raise RazorpayError(
                    "first_min_partial_amount should be less than or equal to amount",
                    field="first_min_partial_amount",
                )
        now = self._now()
        expire_by = fields.integer("expire_by")
        if expire_by is not None:
            if expire_by < now + _MIN_EXPIRY_LEAD:
                raise RazorpayError(
                    "timestamp must be atleast 15 minutes in future", field="expire_by"
                )
            if expire_by > now + _MAX_LINK_LIFETIME:
                raise RazorpayError(
                    "expire_by cannot exceed six months from the date of creation",
                    field="expire_by",
                )
        reference_id = fields.string("reference_id", max_length=40)
        if reference_id and reference_id in self._link_references:
            raise RazorpayError(
                "payment link creation with reference ID already attempted", field="reference_id"
            )
        description = fields.string("description", max_length=2048)
        customer_out = self._link_customer(fields)
        notify = fields.obj("notify", _BODY["POST", "/v1/payment_links"].nested["notify"].names)
        notify_out = {
            name: bool(notify.boolean(name)) if notify else False
            for name in ("sms", "email", "whatsapp")
        }
        reminder = bool(fields.boolean("reminder_enable"))
        notes = fields.notes()
        callback_url, callback_method = self._link_callback(fields)
        options = entities.LinkOptions(
            amount=amount,
            currency=currency,
            accept_partial=accept_partial,
            first_min_partial_amount=first_min,
            expire_by=expire_by,
            reference_id=reference_id,
            description=description,
            customer=customer_out,
            notify=notify_out,
            reminder_enable=reminder,
            notes=notes,
            callback_url=callback_url,
            callback_method=callback_method,
        )
        order = self._new_order(amount, currency, caller.secret, notes=notes)
        link_id = new_id("plink")
        link = entities.payment_link(
            options,
            link_id=link_id,
            order_id=order["id"],
            short_url=f"{request.base_url}{self.name}/pay/{link_id}",
            now=now,
        )
        self._links[link_id] = link
        self._link_secret[link_id] = caller.secret
        if reference_id:
            self._link_references[reference_id] = link_id
        return _json(link)

    @staticmethod
    def _link_customer(fields: Fields) -> dict[str, str]:
        allowed = _BODY["POST", "/v1/payment_links"].nested["customer"].names
        customer = fields.obj("customer", allowed)
        result: dict[str, str] = {}
        if customer is None:
            return result
        for key in ("name", "email"):
            value = customer.string(key, max_length=255)
            if value is not None:
                result[key] = value
        contact = _contact(customer)
        if contact is not None:
            result["contact"] = contact
        return result

    @staticmethod
    def _link_callback(fields: Fields) -> tuple[str | None, str | None]:
        callback_url = fields.string("callback_url", max_length=2048)
        callback_method = fields.string("callback_method")
        if callback_url is not None:
            parts = urlsplit(callback_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise RazorpayError("The callback url format is invalid.", field="callback_url")
            if callback_method is None:
                raise RazorpayError(
                    "The callback method field is required when callback url is present.",
                    field="callback_method",
                )
        if callback_method is not None and callback_method != "get":
            raise RazorpayError("The selected callback method is invalid.", field="callback_method")
        return callback_url, callback_method

    def _link(self, link_id: str) -> Entity:
        link = self._lookup(self._links, link_id)
        self._expire_link(link)
        return link

    def _expire_link(self, link: Entity) -> None:
        if link["status"] not in ("created", "partially_paid") or not link["expire_by"]:
            return
        if self._now() < link["expire_by"]:
            return
        link["status"] = "expired"
        link["expired_at"] = link["expire_by"]
        link["updated_at"] = self._now()
        self._emit("payment_link.expired", {"payment_link": link})

    async def _get_link(self, request: Request, caller: _Caller) -> Response:
        return _json(self._link(request.path_params["id"]))

    async def _list_links(self, request: Request, caller: _Caller) -> Response:
        links = [self._link(link_id) for link_id in list(self._links)]
        return _json({"payment_links": links})

    async def _update_link(self, request: Request, caller: _Caller) -> Response:
        link = self._link(request.path_params["id"])
        fields = Fields(await read_json(request), _BODY["PATCH", "/v1/payment_links/{id}"].names)
        reference_id = fields.string("reference_id", max_length=40)
        expire_by = fields.integer("expire_by")
        notes = fields.notes() if "notes" in fields else None
        accept_partial = fields.boolean("accept_partial")
        reminder = fields.boolean("reminder_enable")
        if link["status"] not in ("created", "partially_paid"):
            raise RazorpayError("update can only be made in created or partially paid state")
        now = self._now()
        if expire_by is not None and expire_by < now + _MIN_EXPIRY_LEAD:
            raise RazorpayError("timestamp must be atleast 15 minutes in future", field="expire_by")
        if reference_id and reference_id != link["reference_id"]:
            if reference_id in self._link_references:
                raise RazorpayError(
                    "payment link creation with reference ID already attempted",
                    field="reference_id",
                )
            self._link_references.pop(link["reference_id"], None)
            self._link_references[reference_id] = link["id"]
            link["reference_id"] = reference_id
        if expire_by is not None:
            link["expire_by"] = expire_by
        if notes is not None:
            link["notes"] = notes or None
        if accept_partial is not None:
            link["accept_partial"] = accept_partial
        if reminder is not None:
            link["reminder_enable"] = reminder
        link["updated_at"] = now
        return _json(link)

    async def _notify_link(self, request: Request, caller: _Caller) -> Response:
        link = self._link(request.path_params["id"])
        if request.path_params["medium"] not in ("sms", "email"):
            raise RazorpayError("The requested URL was not found on the server.")
        if link["status"] not in ("created", "partially_paid"):
            raise RazorpayError(f"Cannot send notification for a {link['status']} payment link")
        return _json({"success": True})

    async def _cancel_link(self, request: Request, caller: _Caller) -> Response:
        # The SDK sends "{}"; Razorpay documents no member for this call.
        documented = _BODY["POST", "/v1/payment_links/{id}/cancel"]
        Fields(await read_json(request), documented.names)
        return _json(self._do_cancel_link(request.path_params["id"]))

    def _do_cancel_link(self, link_id: str) -> Entity:
        link = self._link(link_id)
        if link["status"] in ("paid", "partially_paid"):
            raise RazorpayError("cannot cancel or expire an already paid/partially paid link")
        if link["status"] in ("expired", "cancelled"):
            raise RazorpayError("cannot cancel or expire an expired link")
        now = self._now()
        link.update(status="cancelled", cancelled_at=now, updated_at=now)
        self._emit("payment_link.cancelled", {"payment_link": link})
        return link

    def _pay_link(self, link_id: str, card: TestCard, amount: int | None) -> _Outcome:
        link = self._link(link_id)
        if link["status"] not in ("created", "partially_paid"):
            raise RazorpayError(f"This payment link is {link['status']} and cannot be paid")
        due = link["amount"] - link["amount_paid"]
        if amount is None:
            amount = due
        elif not link["accept_partial"] and amount != due:
            raise RazorpayError("Partial payment is not allowed for this payment link")
        elif not 0 < amount <= due:
            raise RazorpayError("The amount must be at most the amount due", field="amount")
        elif link["amount_paid"] == 0 and amount < (link["first_min_partial_amount"] or 0):
            raise RazorpayError(
                "The amount must be at least the first minimum partial amount", field="amount"
            )
        order = self._orders[link["order_id"]]
        customer = link["customer"]
        payment = self._new_payment(
            order,
            card,
            amount,
            description=link["description"] or None,
            email=customer.get("email"),
            contact=customer.get("contact"),
            notes=link["notes"],
        )
        failure = self._attempt(payment, order, card)
        if failure is not None:
            return _Outcome("failed", payment["id"], failure=failure)
        now = self._now()
        link["amount_paid"] += amount
        link["status"] = "paid" if link["amount_paid"] >= link["amount"] else "partially_paid"
        link["updated_at"] = now
        link["payments"] = [
            *(link["payments"] or []),
            {
                "amount": amount,
                "created_at": now,
                "method": "card",
                "payment_id": payment["id"],
                "plink_id": link["id"],
                "status": "captured",
                "updated_at": now,
            },
        ]
        event = "payment_link.paid" if link["status"] == "paid" else "payment_link.partially_paid"
        self._emit(event, {"payment_link": link, "order": order, "payment": payment})
        redirect = None
        if link["callback_url"]:
            message = f"{link['id']}|{link['reference_id']}|{link['status']}|{payment['id']}"
            redirect = _with_query(
                link["callback_url"],
                {
                    "razorpay_payment_id": payment["id"],
                    "razorpay_payment_link_id": link["id"],
                    "razorpay_payment_link_reference_id": link["reference_id"],
                    "razorpay_payment_link_status": link["status"],
                    "razorpay_signature": _hmac_hex(self._link_secret[link["id"]], message),
                },
            )
        return _Outcome(link["status"], payment["id"], redirect_url=redirect)

    # ------------------------------------------------------------------ registration links

    async def _create_auth_link(self, request: Request, caller: _Caller) -> Response:
        # Razorpay documents a ``customer`` object here, never ``customer_id`` (it only returns
        # one); see _params for the table and its sources.
        documented = _BODY["POST", "/v1/subscription_registration/auth_links"]
        fields = Fields(await read_json(request), documented.names)
        customer_fields = fields.section("customer", documented.nested["customer"].names)
        fields.choice("type", ["link"], required=True)
        currency = check_currency(fields.require("currency"))
        if currency != "INR":
            raise RazorpayError("Currency is not supported", field="currency")
        amount = check_amount(fields.require("amount"), "INR")
        description = fields.text("description", max_length=2048)
        receipt = fields.string("receipt", max_length=40)
        sms_notify = fields.boolean("sms_notify")
        email_notify = fields.boolean("email_notify")
        notes = fields.notes()
        now = self._now()
        expire_by = fields.integer("expire_by")
        if expire_by is not None and expire_by <= now:
            raise RazorpayError("expire_by should be a future timestamp", field="expire_by")
        registration_fields = fields.section(
            "subscription_registration", documented.nested["subscription_registration"].names
        )
        registration_fields.choice("method", ["card"], required=True)
        registration_fields.require("frequency")
        customer = self._auth_link_customer(customer_fields)
        registration = self._registration(registration_fields, customer["id"], "INR")
        order = self._new_order(
            amount, "INR", caller.secret, receipt=receipt, notes=notes, registration=registration
        )
        invoice_id = new_id("inv")
        registration.invoice_id = invoice_id
        invoice = entities.invoice(
            customer,
            order,
            invoice_id=invoice_id,
            short_url=f"{request.base_url}{self.name}/pay/{invoice_id}",
            description=description,
            expire_by=expire_by,
            sms_notify=sms_notify,
            email_notify=email_notify,
            notes=notes,
            now=now,
        )
        self._invoices[invoice_id] = invoice
        return _json(invoice)

    def _auth_link_customer(self, details: Fields) -> Entity:
        """The link's customer: name, email and contact are all mandatory (Razorpay's docs)."""
        name = _customer_name(details, required=True)
        email = details.text("email", max_length=64)
        contact = _contact(details, required=True)
        # A registration link reuses the merchant's customer with that email/contact.
        return self._find_customer(email, contact) or self._new_customer(name, email, contact)

    def _invoice(self, invoice_id: str) -> Entity:
        invoice = self._lookup(self._invoices, invoice_id)
        expire_by = invoice["expire_by"]
        if invoice["status"] == "issued" and expire_by and self._now() >= expire_by:
            invoice["status"] = "expired"
            invoice["expired_at"] = expire_by
            self._emit("invoice.expired", {"invoice": invoice})
        return invoice

    async def _get_invoice(self, request: Request, caller: _Caller) -> Response:
        return _json(self._invoice(request.path_params["id"]))

    def _pay_order(self, order: Entity, card: TestCard) -> _Outcome:
        """Pay an order on a hosted page; an order carrying a mandate registers a token."""
        _check_unpaid(order)
        registration = self._registrations.get(order["id"])
        customer = self._customers.get(registration.customer_id) if registration else None
        invoice = self._invoices.get(registration.invoice_id or "") if registration else None
        payment = self._new_payment(
            order,
            card,
            order["amount_due"],
            description=f"Invoice #{invoice['id']}" if invoice else None,
            email=customer["email"] if customer else None,
            contact=customer["contact"] if customer else None,
            notes=order["notes"] or None,
            customer_id=customer["id"] if customer else None,
            invoice_id=invoice["id"] if invoice else None,
            recurring=registration is not None,
        )
        token: Entity | None = None
        if registration is not None and card.failure is None:
            # The token exists before the payment events so that they carry its id.
            token = self._new_token(
                registration.customer_id,
                card,
                max_amount=registration.max_amount,
                expire_at=registration.expire_at,
                frequency=registration.frequency,
                name=customer["name"] if customer else "",
            )
            payment["token_id"] = token["id"]
        failure = self._attempt(payment, order, card)
        if failure is not None:
            return _Outcome("failed", payment["id"], failure=failure)
        extra: dict[str, str] = {
            "razorpay_order_id": order["id"],
            "razorpay_signature": _hmac_hex(
                self._order_secret[order["id"]], f"{order['id']}|{payment['id']}"
            ),
        }
        if token is not None and registration is not None:
            order["token"]["recurring_status"] = "confirmed"
            self._emit("token.confirmed", {"token": token})
            extra["token_id"] = token["id"]
            extra["customer_id"] = registration.customer_id
        if invoice is not None:
            invoice.update(
                status="paid",
                payment_id=payment["id"],
                paid_at=self._now(),
                amount_paid=payment["amount"],
                amount_due=0,
            )
            self._emit("invoice.paid", {"payment": payment, "order": order, "invoice": invoice})
        return _Outcome("paid", payment["id"], extra=extra)

    # ------------------------------------------------------------------ hosted pages

    def _complete(self, target_id: str, card: TestCard, amount: int | None = None) -> _Outcome:
        if target_id.startswith("plink_"):
            return self._pay_link(target_id, card, amount)
        if target_id.startswith("inv_"):
            invoice = self._invoice(target_id)
            if invoice["status"] != "issued":
                raise RazorpayError(f"This registration link is {invoice['status']}")
            return self._pay_order(self._orders[invoice["order_id"]], card)
        return self._pay_order(self._lookup(self._orders, target_id), card)

    def _page_context(self, target_id: str) -> tuple[str, str, int, str, str | None]:
        """(title, description, amount due, currency, closed-status or None) for a hosted page."""
        if target_id.startswith("plink_"):
            link = self._link(target_id)
            closed = None if link["status"] in ("created", "partially_paid") else link["status"]
            due = link["amount"] - link["amount_paid"]
            return "Payment link", link["description"], due, link["currency"], closed
        if target_id.startswith("inv_"):
            invoice = self._invoice(target_id)
            closed = None if invoice["status"] == "issued" else invoice["status"]
            description = invoice["description"] or "Authorize recurring payments"
            return "Registration link", description, invoice["amount"], "INR", closed
        order = self._lookup(self._orders, target_id)
        closed = "paid" if order["status"] == "paid" else None
        return (
            "Checkout",
            order["receipt"] or order["id"],
            order["amount_due"],
            order["currency"],
            closed,
        )

    async def _page(self, request: Request) -> Response:
        target_id = request.path_params["id"]
        try:
            title, description, due, currency, closed = self._page_context(target_id)
        except RazorpayError:
            return HTMLResponse(
                _pages.status_page(title="Not found", status="not_found", message="Invalid link"),
                status_code=404,
            )
        if closed is not None:
            return HTMLResponse(
                _pages.status_page(title=title, status=closed, message=f"This link is {closed}.")
            )
        page = _pages.pay_page(
            title=title,
            description=description,
            amount=due,
            currency=currency,
            action=str(request.url.path),
        )
        return HTMLResponse(page)

    async def _page_submit(self, request: Request) -> Response:
        target_id = request.path_params["id"]
        form = await self._page_form(request)
        try:
            raw_number = form.get("card_number")
            card = card_for_number(raw_number if isinstance(raw_number, str) else "")
        finally:
            await form.close()
        try:
            title, description, due, currency, _ = self._page_context(target_id)
        except RazorpayError:
            return HTMLResponse(
                _pages.status_page(title="Not found", status="not_found", message="Invalid link"),
                status_code=404,
            )

        def again(error: str) -> Response:
            page = _pages.pay_page(
                title=title,
                description=description,
                amount=due,
                currency=currency,
                action=str(request.url.path),
                error=error,
            )
            return HTMLResponse(page)

        if card is None:
            return again("Invalid card number")
        try:
            outcome = self._complete(target_id, card)
        except RazorpayError as exc:
            return again(exc.description)
        if outcome.failure is not None:
            return again(f"Payment failed: {outcome.failure.description}")
        if outcome.redirect_url is not None:
            return RedirectResponse(outcome.redirect_url, status_code=303)
        message = f"Payment successful. Payment id: {outcome.payment_id}"
        return HTMLResponse(_pages.status_page(title=title, status=outcome.status, message=message))

    @staticmethod
    async def _page_form(request: Request) -> FormData:
        """The hosted form's fields; a form no browser would send is a 400 in Razorpay's shape."""
        try:
            return await request.form(
                max_files=0, max_fields=_PAGE_FORM_FIELDS, max_part_size=_PAGE_FORM_PART
            )
        except (HTTPException, MultiPartException) as exc:
            detail = exc.detail if isinstance(exc, HTTPException) else exc.message
            raise RazorpayError(f"The payment form is invalid: {detail}") from None

    # ------------------------------------------------------------------ control routes

    async def _ctl_complete(self, request: Request) -> Response:
        fields = Fields(await read_json(request), ["card", "outcome", "amount"])
        card = self._control_card(fields)
        amount = fields.integer("amount", minimum=1)
        return _json(self._complete(request.path_params["id"], card, amount).as_json())

    @staticmethod
    def _control_card(fields: Fields) -> TestCard:
        number = fields.string("card")
        outcome = fields.choice("outcome", OUTCOME_CARDS)
        if number is None:
            if outcome is None:
                raise RazorpayError("The card field is required.", field="card")
            number = OUTCOME_CARDS[outcome]
        card = card_for_number(number)
        if card is None:
            raise RazorpayError("Invalid card number", field="card")
        return card

    async def _ctl_cancel(self, request: Request) -> Response:
        target_id = request.path_params["id"]
        if target_id.startswith("inv_"):
            invoice = self._invoice(target_id)
            if invoice["status"] != "issued":
                raise RazorpayError(f"This registration link is {invoice['status']}")
            invoice.update(status="cancelled", cancelled_at=self._now())
            return _json({"redirect_url": None, "status": "cancelled"})
        if not target_id.startswith("plink_"):
            raise RazorpayError.not_found()
        link = self._do_cancel_link(target_id)
        return _json({"redirect_url": None, "status": link["status"]})

    async def _ctl_token(self, request: Request) -> Response:
        fields = Fields(
            await read_json(request),
            [
                "card",
                "outcome",
                "customer_id",
                "customer",
                "max_amount",
                "frequency",
                "expire_at",
                "expiry_month",
                "expiry_year",
            ],
        )
        card = self._control_card(fields)
        month = fields.integer("expiry_month", minimum=1)
        year = fields.integer("expiry_year", minimum=2000)
        if month is not None and month > 12:
            raise RazorpayError(
                "The expiry_month may not be greater than 12.", field="expiry_month"
            )
        expiry = (month, year) if month is not None and year is not None else None
        customer_id = fields.string("customer_id")
        if customer_id is not None:
            customer = self._lookup(self._customers, customer_id)
        else:
            details = fields.obj("customer", ["name", "email", "contact"])
            name = _customer_name(details) if details else None
            email = details.string("email") if details else None
            contact = _contact(details) if details else None
            customer = self._find_customer(email, contact) or self._new_customer(
                name or "Sandbox Customer", email, contact
            )
        max_amount = fields.integer("max_amount", minimum=100) or 1_500_000
        frequency = fields.choice("frequency", _FREQUENCIES) or "as_presented"
        expire_at = fields.integer("expire_at") or self._now() + _DEFAULT_TOKEN_LIFETIME
        token = self._new_token(
            customer["id"],
            card,
            max_amount=max_amount,
            expire_at=expire_at,
            frequency=frequency,
            name=customer["name"],
            expiry=expiry,
        )
        return _json({"customer": customer, "token": token})

    async def _ctl_key(self, request: Request) -> Response:
        fields = Fields(await read_json(request), ["key_id", "key_secret"])
        key_id = fields.text("key_id")
        secret = fields.text("key_secret")
        if not key_id.startswith(_TEST_KEY_PREFIX) or key_id == _TEST_KEY_PREFIX:
            raise RazorpayError("The api key provided is invalid", field="key_id")
        self._keys[key_id] = secret
        return _json({"key_id": key_id})
