"""The operation kernel: one place that runs a provider operation, for sync and async callers.

A plugin built on :class:`KernelProvider` writes each operation as a generator that yields
:class:`Call` objects (what to send) and receives :class:`Reply` objects (what came back), and
returns the operation's result::

    def op_charge(self, method, amount, *, description, invoice_id, metadata, key):
        reply = yield Call.post("/v1/charges", json={...}, key=key, operation="charge")
        return ChargeResult(..., id=reply.data["id"], ...)

The plugin does no I/O (sans-I/O, as h11 does): the kernel turns each call into an HTTP request
with the provider's credentials and idempotency header, sends it under the retry policy (the
provider's own retry advice included) through the provider's transport (so record and replay
need no special path), reads the answer, and — when the provider answered an error — raises the
error its :attr:`KernelProvider.error_rules` give *inside* the operation, where the plugin may
catch it (``try: reply = yield …``). The same generator is run by a sync driver
(``httpx.Client``, ``time.sleep``) and an async one (``httpx.AsyncClient``, ``asyncio.sleep``), so
every operation exists as a method and as an ``_async`` coroutine from one piece of plugin code.

What the kernel owns so that no plugin repeats it: the operation's idempotency key (made before
the first attempt of anything that creates or moves something, and carried by every
:class:`~paywire.OutcomeUnknown`), keys for the steps of multi-request operations
(:func:`derived_key`), retries, unreadable or unexpected bodies, the provider's request id,
redaction, and credentials that expire (a rejected token is renewed once).
"""

from __future__ import annotations

import json as _json
import re
import urllib.parse
from collections.abc import Callable, Generator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypeVar

import attrs

from paywire._errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    ConfigurationError,
    InvalidRequest,
    InvalidSignature,
    MalformedWebhook,
    NotFound,
    OutcomeUnknown,
    PaywireError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    UnknownEvent,
)
from paywire._keys import new_idempotency_key
from paywire._provider import Capability, ConfigT, Provider, accepts_saved_methods, keyed
from paywire._secrets import redact
from paywire._types import SavedPaymentMethod, SetupSession, WebhookEvent

if TYPE_CHECKING:
    import httpx

    from paywire._http import Steps
    from paywire._money import Money
    from paywire._types import (
        ChargeResult,
        CheckoutSession,
        Customer,
        EventReference,
        Invoice,
        PaymentMethodInfo,
        RefundResult,
    )

__all__ = [
    "Call",
    "ErrorInfo",
    "ErrorRule",
    "KernelProvider",
    "Operation",
    "Reply",
    "UnexpectedAnswer",
    "derived_key",
    "encode_form",
    "immediately",
]

T = TypeVar("T")

#: What an operation is: a generator of calls, answered with replies, returning its result.
Operation = Generator["Call", "Reply", T]


_NO_BODY: Final = object()

Expect = Literal["json", "empty", "any"]


@attrs.frozen(slots=True)
class Call:
    """One request an operation asks the kernel to send.

    Attributes:
        method: the HTTP method.
        path: below the provider's base URL (``"/v1/charges"``), or an absolute URL.
        params: query parameters.
        json: a JSON body. ``form``: a form body (nested mappings and lists written the
            provider's way, :meth:`KernelProvider.encode_form`). ``content``: raw bytes.
        headers: extra headers (credentials are added by the kernel).
        key: an idempotency key the provider honours for *this* request; sent in ``key_header``
            (default: the provider's :attr:`~KernelProvider.idempotency_header`), and what makes
            a state-changing request safe to retry. ``None`` for requests the provider cannot
            deduplicate (they are never retried once sent).
        operation: what is being done (``"charge"``, ``"refund"``…), for the error rules.
        expect: ``"json"``: the answer must be a JSON object (``Reply.data``); ``"empty"``: no
            body is needed; ``"any"``: JSON when it is JSON.
        accept: error statuses handed to the operation as replies instead of raised.
        authenticate: whether the provider's credentials are added (not for a token request or a
            public certificate).
        repeatable: sending it twice changes nothing whatever its method (an OAuth token
            request, a verification postback): retried like a ``GET``; a lost answer is
            :class:`~paywire.ProviderUnavailable`, never ``OutcomeUnknown``.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = _NO_BODY
    form: Mapping[str, Any] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    key: str | None = None
    key_header: str | None = None
    operation: str = "other"
    expect: Expect = "json"
    accept: frozenset[int] = frozenset()
    authenticate: bool = True
    repeatable: bool = False

    @classmethod
    def get(cls, path: str, **kwargs: Any) -> Call:
        """A ``GET``."""
        return cls("GET", path, **kwargs)

    @classmethod
    def post(cls, path: str, **kwargs: Any) -> Call:
        """A ``POST``."""
        return cls("POST", path, **kwargs)

    @classmethod
    def delete(cls, path: str, **kwargs: Any) -> Call:
        """A ``DELETE``."""
        return cls("DELETE", path, **kwargs)

    @classmethod
    def patch(cls, path: str, **kwargs: Any) -> Call:
        """A ``PATCH``."""
        return cls("PATCH", path, **kwargs)

    def describe(self) -> str:
        """``POST /v1/charges``, for messages."""
        return f"{self.method} {self.path.split('?', 1)[0]}"


@attrs.frozen(slots=True)
class Reply:
    """What came back for a :class:`Call`.

    ``data`` is the parsed JSON object for ``expect="json"`` (always a mapping then), the parsed
    JSON for ``"any"`` when the body is JSON, else ``None``.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes
    data: Any = None
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300


@attrs.frozen
class ErrorInfo:
    """What a provider's error body says, read by :meth:`KernelProvider.read_error`.

    ``code`` is the provider's own code, kept as the error's ``raw_code`` (``None`` for providers
    without machine-readable codes); ``codes`` every code the body carries (a Stripe error has a
    ``code`` and a ``decline_code``), which rules match on. ``transaction_id`` and
    ``action_url`` go to :class:`~paywire.AuthenticationRequired`.
    """

    code: str | None = None
    message: str | None = None
    codes: frozenset[str] = frozenset()
    transaction_id: str | None = None
    action_url: str | None = None
    request_id: str | None = None

    def all_codes(self) -> frozenset[str]:
        """``codes`` with ``code``."""
        return self.codes | {self.code} if self.code else self.codes


@attrs.frozen
class ErrorRule:
    """One row of a provider's error table: when a failed answer matches, raise ``error``.

    A rule matches when each of its non-empty conditions holds: one of ``codes`` is among the
    body's codes; the status is one of ``statuses``; the call's operation is one of
    ``operations``; ``message`` (a regular expression, for providers without codes) is found in
    the body's message. ``retryable`` overrides the error class's default.
    """

    error: type[ProviderError]
    codes: frozenset[str] = frozenset()
    statuses: frozenset[int] = frozenset()
    operations: frozenset[str] = frozenset()
    message: str | None = None
    retryable: bool | None = None

    def matches(self, info: ErrorInfo, status: int, operation: str) -> bool:
        """Whether this rule applies."""
        if self.codes and not (self.codes & info.all_codes()):
            return False
        if self.statuses and status not in self.statuses:
            return False
        if self.operations and operation not in self.operations:
            return False
        return not (
            self.message is not None
            and not re.search(self.message, info.message or "", re.IGNORECASE)
        )


class UnexpectedAnswer(Exception):
    """Raise from an operation when an answer lacks what the provider documents (an id, a
    link, a status): the kernel turns it into :class:`~paywire.OutcomeUnknown` with the
    operation's key when the last request could have changed something, and into
    :class:`~paywire.ProviderUnavailable` when it was a read. A ``KeyError``, ``TypeError``,
    ``ValueError``, ``AttributeError`` or ``IndexError`` escaping an operation while it reads an
    answer is treated the same way."""


# Exceptions that mean "the answer did not have the shape the operation expected".
_READING_ERRORS = (UnexpectedAnswer, KeyError, TypeError, ValueError, AttributeError, IndexError)


def immediately(value: T) -> Operation[T]:
    """An operation that sends nothing and returns ``value`` (for an op with no I/O)."""
    return value
    yield  # unreachable; it makes this function a generator


def derived_key(key: str, step: str, *, max_length: int = 255) -> str:
    """The idempotency key of one step of a multi-request operation: stable across retries of
    the operation, different from its other steps', and at most ``max_length`` characters."""
    derived = f"{key}:{step}"
    if len(derived) <= max_length:
        return derived
    import hashlib

    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{digest[: max(8, max_length - len(step) - 1)]}:{step}"[:max_length]


def _scalar(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        raise TypeError("form values are never floats (money is Decimal or minor units)")
    if isinstance(value, int | str | Decimal):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} in a form")


def encode_form(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Nested mappings and lists as bracketed form fields: ``{"a": {"b": [1]}}`` →
    ``[("a[b][0]", "1")]``; ``None`` values are left out, booleans written ``true``/``false``."""
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{prefix}[{key}]" if prefix else str(key), item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            out.append((prefix, _scalar(value)))

    walk("", params)
    return out


def _default_read_error(reply: Reply) -> ErrorInfo:
    """``{"error": {"code", "message"}}`` or ``{"code", "message"}``; nothing when unreadable."""
    body = reply.data if isinstance(reply.data, Mapping) else None
    if body is None:
        return ErrorInfo()
    error = body.get("error")
    source = error if isinstance(error, Mapping) else body
    code, message = source.get("code"), source.get("message")
    return ErrorInfo(
        code=code if isinstance(code, str) and code else None,
        message=message if isinstance(message, str) and message else None,
    )


# Operations each declared capability needs a KernelProvider to implement.
_NEEDED: Final[Mapping[Capability, tuple[str, ...]]] = {
    Capability.CHECKOUT: ("op_checkout",),
    Capability.SETUP: ("op_setup", "op_complete_setup"),
    Capability.CHARGE: ("op_charge",),
    Capability.REFUND: ("op_refund",),
    Capability.PAYMENT_METHOD_DETAILS: ("op_method_details",),
    Capability.DETACH: ("op_detach",),
    Capability.WEBHOOKS: ("op_verify", "parse_webhook"),
}


class KernelProvider(Provider[ConfigT]):
    """A provider whose operations are kernel operations (see the module's documentation).

    Subclasses set the usual class attributes (``name``, ``capabilities``, ``config_class``,
    ``currency_rules``, ``default_base_url``, ``request_id_header``) and

    - :attr:`idempotency_header` (``None`` when the provider has none), :attr:`error_rules`;
    - :meth:`auth_headers` (static credentials) or :meth:`authorize` (credentials that take a
      request, such as an OAuth token), with :meth:`credentials_expired` /
      :meth:`forget_credentials` when a token can expire;
    - :meth:`read_error` (what its error bodies say);
    - the operations of every capability it declares: ``op_checkout``, ``op_setup`` and
      ``op_complete_setup``, ``op_charge``, ``op_refund``, ``op_method_details``, ``op_detach``,
      ``op_verify`` and :meth:`parse_webhook`; optionally ``op_fetch_event`` and
      ``op_follow_up``.

    The public operations (and their ``_async`` twins) are this class's; a plugin does not
    override them.
    """

    native_async: ClassVar[bool] = True
    #: The header an idempotency key travels in; ``None`` when the provider has none.
    idempotency_header: ClassVar[str | None] = "Idempotency-Key"
    #: The provider's error table, first match wins (see :class:`ErrorRule`).
    error_rules: ClassVar[Sequence[ErrorRule]] = ()

    # -- what a plugin supplies ---------------------------------------------------------------

    def auth_headers(self) -> Mapping[str, str]:
        """Headers that authenticate a call (``Authorization: …``). Default: none."""
        return {}

    def authorize(self, call: Call) -> Operation[Mapping[str, str]]:
        """The headers authenticating ``call``; may itself send calls (fetching a token).
        Default: :meth:`auth_headers`."""
        return immediately(self.auth_headers())

    def credentials_expired(self, reply: Reply) -> bool:
        """Whether a 401 ``reply`` means the credential :meth:`authorize` gave has expired (it is
        then forgotten and the call sent once more with a new one). Default: never."""
        return False

    def forget_credentials(self) -> None:
        """Drop a cached credential (see :meth:`credentials_expired`)."""
        return

    def read_error(self, reply: Reply) -> ErrorInfo:
        """What a failed answer says. Default: ``{"error": {"code", "message"}}`` or a top-level
        ``code`` and ``message``."""
        return _default_read_error(reply)

    def encode_form(self, params: Mapping[str, Any]) -> list[tuple[str, str]]:
        """A :attr:`Call.form` as form fields. Default: :func:`encode_form` (brackets)."""
        return encode_form(params)

    # Operations. A capability the provider does not declare keeps the default, which refuses.

    def op_checkout(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool,
        key: str,
    ) -> Operation[CheckoutSession]:
        """See :meth:`~paywire.Provider.create_checkout_session`."""
        raise self._unsupported(Capability.CHECKOUT)

    def op_setup(
        self, customer: Customer, *, success_url: str, cancel_url: str, key: str
    ) -> Operation[SetupSession]:
        """See :meth:`~paywire.Provider.create_setup_session`."""
        raise self._unsupported(Capability.SETUP)

    def op_complete_setup(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str],
        key: str,
    ) -> Operation[SavedPaymentMethod]:
        """See :meth:`~paywire.Provider.complete_setup`."""
        raise self._unsupported(Capability.SETUP)

    def op_charge(
        self,
        method: SavedPaymentMethod,
        amount: Money,
        *,
        description: str | None,
        invoice_id: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[ChargeResult]:
        """See :meth:`~paywire.Provider.charge_payment_method`."""
        raise self._unsupported(Capability.CHARGE)

    def op_refund(
        self,
        transaction_id: str,
        amount: Money | None,
        *,
        reason: str | None,
        metadata: Mapping[str, str],
        key: str,
    ) -> Operation[RefundResult]:
        """See :meth:`~paywire.Provider.create_refund`."""
        raise self._unsupported(Capability.REFUND)

    def op_method_details(self, method: SavedPaymentMethod) -> Operation[PaymentMethodInfo]:
        """See :meth:`~paywire.Provider.get_payment_method_details`."""
        raise self._unsupported(Capability.PAYMENT_METHOD_DETAILS)

    def op_detach(self, method: SavedPaymentMethod, *, key: str) -> Operation[None]:
        """See :meth:`~paywire.Provider.detach_payment_method`."""
        raise self._unsupported(Capability.DETACH)

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        """Check one signature with ``secret``; raise :class:`~paywire.InvalidSignature` (only).
        A check that needs no I/O returns :func:`immediately`."""
        raise InvalidSignature(f"{self.name} does not receive webhooks")

    def op_fetch_event(self, reference: EventReference) -> Operation[WebhookEvent]:
        """See :meth:`~paywire.Provider.fetch_webhook_event`."""
        raise ConfigurationError(f"the {self.name} provider cannot fetch notified resources")

    def op_follow_up(self, event: WebhookEvent) -> Operation[WebhookEvent | None]:
        """See :meth:`~paywire.Provider.follow_up`. Default: nothing to do."""
        return immediately(None)

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> WebhookEvent | EventReference:
        """See :meth:`~paywire.Provider.parse_webhook`. A kernel provider implements it."""
        raise UnknownEvent(
            f"{self.name} does not receive webhooks", provider=self.name, event_type=None
        )

    @classmethod
    def missing_operations(cls) -> list[str]:
        """The operations its declared capabilities need that the class does not implement."""
        needed = {n for c in cls.capabilities.supported for n in _NEEDED.get(c, ())}
        return sorted(n for n in needed if getattr(cls, n) is getattr(KernelProvider, n))

    def _unsupported(self, capability: Capability) -> InvalidRequest:
        return InvalidRequest(
            f"{self.name} does not support {capability.value!r}", provider=self.name
        )

    # -- running operations --------------------------------------------------------------------

    def run(self, operation: Operation[T], *, key: str | None = None) -> T:
        """Run ``operation`` to its result with the sync client. ``key`` is the operation's
        idempotency key, which an :class:`~paywire.OutcomeUnknown` carries."""
        result: T = _http().drive(self.http, self._steps(operation, key))
        return result

    async def run_async(self, operation: Operation[T], *, key: str | None = None) -> T:
        """:meth:`run`, with the running event loop's async client."""
        result: T = await _http().drive_async(self.http, self._steps(operation, key))
        return result

    def _steps(self, operation: Operation[T], key: str | None) -> Steps[T]:
        reply: Reply | None = None
        failure: ProviderError | None = None
        last: Call | None = None
        while True:
            try:
                call = operation.send(reply) if failure is None else operation.throw(failure)  # type: ignore[arg-type]
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            except OutcomeUnknown as exc:
                raise self._rekeyed(exc, key) from None
            except PaywireError:
                raise
            except _READING_ERRORS as exc:
                if last is None:
                    raise  # nothing was read yet: the operation's own mistake
                raise self._unexpected(last, reply, key, exc) from None
            reply, failure, last = None, None, call
            try:
                reply = yield from self._perform(call, key)
            except ProviderError as exc:
                failure = exc

    def _unexpected(
        self, call: Call, reply: Reply | None, key: str | None, exc: Exception
    ) -> ProviderError:
        """The error for an answer the operation could not read (``exc`` says why)."""
        detail = str(exc) if isinstance(exc, UnexpectedAnswer) else type(exc).__name__
        text = f"unexpected answer from {self.name} to {call.describe()} ({detail})"
        common: dict[str, Any] = {
            "provider": self.name,
            "http_status": None if reply is None else reply.status,
            "request_id": None if reply is None else reply.request_id,
        }
        if call.repeatable or call.method.upper() in ("GET", "HEAD"):
            return ProviderUnavailable(redact(text), **common)
        return OutcomeUnknown(redact(text), idempotency_key=key, **common)

    def _rekeyed(self, exc: OutcomeUnknown, key: str | None) -> OutcomeUnknown:
        """``exc`` carrying the operation's key (a step's own key is not what to retry with)."""
        if key is None or exc.idempotency_key == key:
            return exc
        return OutcomeUnknown(
            exc.message,
            provider=exc.provider,
            idempotency_key=key,
            raw_code=exc.raw_code,
            http_status=exc.http_status,
            request_id=exc.request_id,
        )

    def _perform(self, call: Call, key: str | None) -> Steps[Reply]:
        renewed = False
        while True:
            auth: Mapping[str, str] = {}
            if call.authenticate:
                if type(self).authorize is KernelProvider.authorize:
                    auth = self.auth_headers()  # static credentials: no operation to run
                else:
                    auth = yield from self._steps(self.authorize(call), key)
            request = self._request(call, auth)
            try:
                response = yield from self.http.exchange(
                    request, idempotency_key=call.key, repeatable=call.repeatable
                )
            except OutcomeUnknown as exc:
                raise self._rekeyed(exc, key) from None
            reply = self._reply(response, call)
            if (
                reply.status == 401
                and call.authenticate
                and not renewed
                and self.credentials_expired(reply)
            ):
                self.forget_credentials()
                renewed = True
                continue
            if reply.ok or reply.status in call.accept:
                return self._checked(reply, call, key)
            raise self._error(reply, call, key)

    def _request(self, call: Call, auth: Mapping[str, str]) -> httpx.Request:
        headers = {**call.headers, **auth}
        header = call.key_header or self.idempotency_header
        if call.key is not None and header is not None:
            headers[header] = call.key
        content = call.content
        json_body: Any = None
        if call.form is not None:
            content = urllib.parse.urlencode(self.encode_form(call.form)).encode("ascii")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif call.json is not _NO_BODY:
            json_body = call.json
        params: Any = call.params
        if params is not None and any(
            isinstance(v, Mapping | list | tuple) for v in params.values()
        ):
            params = self.encode_form(params)  # nested query parameters, written like forms
        return self.http.build_request(
            call.method,
            call.path,
            headers=headers,
            params=params,
            json=json_body,
            content=content,
        )

    def _reply(self, response: httpx.Response, call: Call) -> Reply:
        content = response.content
        data: Any = None
        # An error's body is read whatever the call expects: read_error needs it.
        if content and (call.expect != "empty" or response.status_code >= 400):
            try:
                data = _json.loads(content)
            except (ValueError, RecursionError):
                data = None
        return Reply(
            status=response.status_code,
            headers=response.headers,
            content=content,
            data=data,
            request_id=self.http.request_id(response),
        )

    def _checked(self, reply: Reply, call: Call, key: str | None) -> Reply:
        """A successful reply, or the error for one whose body is not what ``call`` expects."""
        if call.expect != "json" or isinstance(reply.data, Mapping) or not reply.ok:
            return reply
        text = f"unreadable answer from {self.name} to {call.describe()}"
        common: dict[str, Any] = {
            "provider": self.name,
            "http_status": reply.status,
            "request_id": reply.request_id,
        }
        if call.repeatable or call.method.upper() in ("GET", "HEAD"):
            raise ProviderUnavailable(text, **common)
        raise OutcomeUnknown(text, idempotency_key=key, **common)

    def _error(self, reply: Reply, call: Call, key: str | None) -> ProviderError:
        """The paywire error for a failed ``reply``: 5xx and 429 by status, then the provider's
        rules."""
        info = self.read_error(reply)
        if reply.status >= 500:
            message, common = self._error_parts(info, reply.status, reply.request_id)
            if call.repeatable or call.method.upper() in ("GET", "HEAD"):
                return ProviderUnavailable(message, **common)
            return OutcomeUnknown(message, idempotency_key=key, **common)
        if reply.status == 429:
            from paywire._http import parse_retry_after

            message, common = self._error_parts(info, reply.status, reply.request_id)
            return RateLimited(
                message, retry_after=parse_retry_after(reply.headers.get("Retry-After")), **common
            )
        return self.error_from(
            info,
            status=reply.status,
            operation=call.operation,
            request_id=reply.request_id,
            idempotency_key=key,
        )

    def error_from(
        self,
        info: ErrorInfo,
        *,
        status: int | None = None,
        operation: str = "other",
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> ProviderError:
        """The paywire error the provider's :attr:`error_rules` give for what ``info`` says (the
        first matching rule; else by HTTP ``status``: 401/403 → AuthenticationFailed, 404 →
        NotFound, anything else → InvalidRequest). For failures the provider reports inside a
        successful answer (a failed payment object), call it from the operation and raise it.
        A rule may name :class:`~paywire.OutcomeUnknown` (a provider's "a request with this key
        is still in progress"): it carries ``idempotency_key``."""
        message, common = self._error_parts(info, status, request_id)
        code = status or 0
        for rule in self.error_rules:
            if rule.matches(info, code, operation):
                if issubclass(rule.error, OutcomeUnknown):
                    return rule.error(message, idempotency_key=idempotency_key, **common)
                return self._build(rule.error, message, info, rule.retryable, common)
        if code in (401, 403):
            return AuthenticationFailed(message, **common)
        if code == 404:
            return NotFound(message, **common)
        return InvalidRequest(message, **common)

    def _error_parts(
        self, info: ErrorInfo, status: int | None, request_id: str | None
    ) -> tuple[str, dict[str, Any]]:
        text = info.message or f"{self.name} answered HTTP {status}"
        common: dict[str, Any] = {
            "provider": self.name,
            "raw_code": info.code,
            "http_status": status,
            "request_id": request_id or info.request_id,
        }
        return redact(text, self.config.secrets()), common

    @staticmethod
    def _build(
        error: type[ProviderError],
        message: str,
        info: ErrorInfo,
        retryable: bool | None,
        common: dict[str, Any],
    ) -> ProviderError:
        if issubclass(error, AuthenticationRequired):
            return error(
                message,
                transaction_id=info.transaction_id,
                action_url=info.action_url,
                retryable=retryable,
                **common,
            )
        return error(message, retryable=retryable, **common)

    # -- the public operations -----------------------------------------------------------------

    @keyed
    def create_checkout_session(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """See :meth:`paywire.Provider.create_checkout_session`."""
        key = _key(idempotency_key)
        op = self.op_checkout(
            invoice,
            success_url=success_url,
            cancel_url=cancel_url,
            save_payment_method=save_payment_method,
            key=key,
        )
        return self.run(op, key=key)

    async def create_checkout_session_async(
        self,
        invoice: Invoice,
        *,
        success_url: str,
        cancel_url: str,
        save_payment_method: bool = False,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """See :meth:`paywire.Provider.create_checkout_session`."""
        key = _key(idempotency_key)
        op = self.op_checkout(
            invoice,
            success_url=success_url,
            cancel_url=cancel_url,
            save_payment_method=save_payment_method,
            key=key,
        )
        return await self.run_async(op, key=key)

    def create_setup_session(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        """See :meth:`paywire.Provider.create_setup_session`."""
        key = _key(None)
        op = self.op_setup(customer, success_url=success_url, cancel_url=cancel_url, key=key)
        return self.run(op, key=key)

    async def create_setup_session_async(
        self, customer: Customer, *, success_url: str, cancel_url: str
    ) -> SetupSession:
        """See :meth:`paywire.Provider.create_setup_session`."""
        key = _key(None)
        op = self.op_setup(customer, success_url=success_url, cancel_url=cancel_url, key=key)
        return await self.run_async(op, key=key)

    def complete_setup(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> SavedPaymentMethod:
        """See :meth:`paywire.Provider.complete_setup`. The default key is derived from the
        session, so completing the same setup twice saves one method."""
        key = idempotency_key or _setup_key(source)
        return self.run(self.op_complete_setup(source, params=params or {}, key=key), key=key)

    async def complete_setup_async(
        self,
        source: SetupSession | WebhookEvent | str,
        *,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> SavedPaymentMethod:
        """See :meth:`paywire.Provider.complete_setup`."""
        key = idempotency_key or _setup_key(source)
        op = self.op_complete_setup(source, params=params or {}, key=key)
        return await self.run_async(op, key=key)

    @keyed
    def charge_payment_method(
        self,
        payment_method: SavedPaymentMethod,
        amount: Money,
        *,
        description: str | None = None,
        invoice_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ChargeResult:
        """See :meth:`paywire.Provider.charge_payment_method`. Without ``idempotency_key`` a key
        is made before the first attempt; :class:`~paywire.OutcomeUnknown` carries it."""
        key = _key(idempotency_key)
        op = self.op_charge(
            payment_method,
            amount,
            description=description,
            invoice_id=invoice_id,
            metadata=metadata or {},
            key=key,
        )
        return self.run(op, key=key)

    async def charge_payment_method_async(
        self,
        payment_method: SavedPaymentMethod,
        amount: Money,
        *,
        description: str | None = None,
        invoice_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> ChargeResult:
        """See :meth:`paywire.Provider.charge_payment_method`."""
        key = _key(idempotency_key)
        op = self.op_charge(
            payment_method,
            amount,
            description=description,
            invoice_id=invoice_id,
            metadata=metadata or {},
            key=key,
        )
        return await self.run_async(op, key=key)

    @keyed
    def create_refund(
        self,
        transaction_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        """See :meth:`paywire.Provider.create_refund`."""
        key = _key(idempotency_key)
        op = self.op_refund(transaction_id, amount, reason=reason, metadata=metadata or {}, key=key)
        return self.run(op, key=key)

    async def create_refund_async(
        self,
        transaction_id: str,
        amount: Money | None = None,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        """See :meth:`paywire.Provider.create_refund`."""
        key = _key(idempotency_key)
        op = self.op_refund(transaction_id, amount, reason=reason, metadata=metadata or {}, key=key)
        return await self.run_async(op, key=key)

    @accepts_saved_methods
    def get_payment_method_details(
        self, payment_method: SavedPaymentMethod | str
    ) -> PaymentMethodInfo:
        """See :meth:`paywire.Provider.get_payment_method_details`."""
        return self.run(self.op_method_details(self._saved(payment_method)))

    async def get_payment_method_details_async(
        self, payment_method: SavedPaymentMethod | str
    ) -> PaymentMethodInfo:
        """See :meth:`paywire.Provider.get_payment_method_details`."""
        return await self.run_async(self.op_method_details(self._saved(payment_method)))

    @accepts_saved_methods
    def detach_payment_method(self, payment_method: SavedPaymentMethod | str) -> None:
        """See :meth:`paywire.Provider.detach_payment_method`."""
        key = _key(None)
        self.run(self.op_detach(self._saved(payment_method), key=key), key=key)

    async def detach_payment_method_async(self, payment_method: SavedPaymentMethod | str) -> None:
        """See :meth:`paywire.Provider.detach_payment_method`."""
        key = _key(None)
        await self.run_async(self.op_detach(self._saved(payment_method), key=key), key=key)

    def _saved(self, method: SavedPaymentMethod | str) -> SavedPaymentMethod:
        if isinstance(method, SavedPaymentMethod):
            return method
        if not isinstance(method, str) or not method:
            raise NotFound("no saved payment method given", provider=self.name)
        return SavedPaymentMethod(self.name, method)

    # -- webhooks ------------------------------------------------------------------------------

    def verify_webhook_signature(
        self, payload: bytes, headers: Mapping[str, str], secret: str | None = None
    ) -> None:
        """See :meth:`paywire.Provider.verify_webhook_signature` (``secret`` defaults to the
        current configured one)."""
        if secret is None:
            secret = self._secrets()[0]
        self._verified(lambda: self._verify_once(payload, headers, secret))

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """See :meth:`paywire.Provider.verify_webhook`."""
        failure: InvalidSignature | None = None
        for secret in self._secrets():
            try:
                self._verify_once(body, headers, secret)
            except InvalidSignature as exc:
                failure = exc
                continue
            except Exception as exc:  # the next secret may still verify it
                failure = _not_verified(exc)
                continue
            return
        raise failure or InvalidSignature("no webhook secret configured")

    def _secrets(self) -> Sequence[str | None]:
        # The configuration is frozen: the secrets are read (and revealed) once.
        found: Sequence[str | None] | None = self.__dict__.get("_paywire_secrets")
        if found is None:
            found = self.__dict__["_paywire_secrets"] = tuple(self.webhook_secrets())
        return found

    def _verify_once(self, body: bytes, headers: Mapping[str, str], secret: str | None) -> None:
        op = self.op_verify(body, headers, secret)
        try:
            first = next(op)
        except StopIteration:
            return  # a check without I/O (the usual HMAC): no driver needed
        self.run(_resumed(op, first))

    async def verify_webhook_async(self, body: bytes, headers: Mapping[str, str]) -> None:
        """See :meth:`paywire.Provider.verify_webhook`."""
        failure: InvalidSignature | None = None
        for secret in self._secrets():
            try:
                await self.run_async(self.op_verify(body, headers, secret))
            except InvalidSignature as exc:
                failure = exc
                continue
            except Exception as exc:  # the next secret may still verify it
                failure = _not_verified(exc)
                continue
            return
        raise failure or InvalidSignature("no webhook secret configured")

    @staticmethod
    def _verified(check: Callable[[], None]) -> None:
        try:
            check()
        except InvalidSignature:
            raise
        except Exception as exc:
            raise _not_verified(exc) from None

    def handle_webhook_event(self, payload: Mapping[str, Any]) -> WebhookEvent:
        """See :meth:`paywire.Provider.handle_webhook_event`: ``payload`` written as JSON and
        read by :meth:`parse_webhook`."""
        if not isinstance(payload, Mapping):
            raise UnknownEvent("the payload is not an object", provider=self.name, event_type=None)
        try:
            body = _json.dumps(payload).encode()
        except (TypeError, ValueError, RecursionError):
            raise MalformedWebhook(
                "the payload cannot be written as JSON", provider=self.name
            ) from None
        event = self.parse_webhook(body, {})
        if not isinstance(event, WebhookEvent):
            raise UnknownEvent(
                "the notification only names a resource: use fetch_webhook_event",
                provider=self.name,
                event_type=None,
            )
        return event

    def fetch_webhook_event(self, reference: EventReference) -> WebhookEvent:
        """See :meth:`paywire.Provider.fetch_webhook_event`."""
        return self.run(self.op_fetch_event(reference))

    async def fetch_webhook_event_async(self, reference: EventReference) -> WebhookEvent:
        """See :meth:`paywire.Provider.fetch_webhook_event`."""
        return await self.run_async(self.op_fetch_event(reference))

    def follow_up(self, event: WebhookEvent) -> WebhookEvent | None:
        """See :meth:`paywire.Provider.follow_up`."""
        return self.run(self.op_follow_up(event))

    async def follow_up_async(self, event: WebhookEvent) -> WebhookEvent | None:
        """See :meth:`paywire.Provider.follow_up`."""
        return await self.run_async(self.op_follow_up(event))


def _http() -> Any:
    """The HTTP module, imported on first use (loading a plugin must not import httpx)."""
    global _HTTP  # noqa: PLW0603 - a one-time lazy import
    if _HTTP is None:
        import paywire._http as module

        _HTTP = module
    return _HTTP


_HTTP: Any = None


def _key(given: str | None) -> str:
    return given or new_idempotency_key()


def _resumed(operation: Operation[T], first: Call) -> Operation[T]:
    """``operation`` once its first call has been taken from it, as an operation again."""
    call = first
    while True:
        try:
            reply = yield call
        except ProviderError as exc:
            try:
                call = operation.throw(exc)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            continue
        try:
            call = operation.send(reply)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def _setup_key(source: object) -> str:
    if isinstance(source, SetupSession):
        ident = source.id
    elif isinstance(source, WebhookEvent):
        ident = source.session_id or source.id
    else:
        ident = str(source)
    return f"paywire-setup-{ident}"


def _not_verified(exc: Exception) -> InvalidSignature:
    # Whatever went wrong (a certificate server down, odd header types), the delivery is not
    # verified: that is the only thing a caller may learn.
    return InvalidSignature(f"the webhook could not be verified ({type(exc).__name__})")
