"""The one error hierarchy every provider maps onto.

``PaywireError`` → ``ConfigurationError``, ``InvalidSignature``, ``UnknownEvent``,
``MalformedWebhook``, ``InvalidAmount`` (``UnknownCurrency``), ``ProviderError`` → ``CardDeclined``,
``PaymentMethodExpired``, ``AuthenticationRequired``, ``AlreadyRefunded``, ``NotFound``,
``InvalidRequest``, ``AuthenticationFailed``, ``RateLimited``, ``ProviderUnavailable``,
``OutcomeUnknown``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from paywire._secrets import redact

__all__ = [
    "AlreadyRefunded",
    "AuthenticationFailed",
    "AuthenticationRequired",
    "CardDeclined",
    "ConfigurationError",
    "InvalidAmount",
    "InvalidRequest",
    "InvalidSignature",
    "MalformedWebhook",
    "NotFound",
    "OutcomeUnknown",
    "PaymentMethodExpired",
    "PaywireDeprecationWarning",
    "PaywireError",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "UnknownCurrency",
    "UnknownEvent",
]


def _rebuild(cls: type[PaywireError], state: dict[str, Any]) -> PaywireError:
    error = cls.__new__(cls)
    Exception.__init__(error, state["message"])
    error.__dict__.update(state)
    return error


class PaywireDeprecationWarning(DeprecationWarning):
    """A name or behaviour that paywire will remove in its next major version (plugins written
    against API 1.0 trigger it by importing plugin helpers from ``paywire`` rather than
    ``paywire.plugin``). Filter it by this class (``default::paywire.PaywireDeprecationWarning``)
    in a pytest configuration that turns warnings into errors."""


class PaywireError(Exception):
    """Base class of every error paywire raises on purpose."""

    def __init__(self, message: str) -> None:
        self.message = redact(message)
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        # The subclasses take keyword-only arguments, which Exception's default pickling drops;
        # errors cross process boundaries (task queues, process pools) and must survive it.
        return (_rebuild, (type(self), dict(self.__dict__)))


class ConfigurationError(PaywireError):
    """Settings are missing or wrong (no API key, an unknown provider, a bad value)."""


class InvalidSignature(PaywireError):
    """A webhook's signature is missing, malformed, stale or does not match."""


class UnknownEvent(PaywireError):
    """A webhook event type the provider plugin does not normalize."""

    def __init__(self, message: str, *, provider: str, event_type: str | None) -> None:
        super().__init__(message)
        self.provider = provider
        self.event_type = event_type


class MalformedWebhook(PaywireError):
    """A verified webhook body that cannot be read: not the format the provider sends, nested
    deeper or larger than paywire accepts, or carrying text that is not valid (a NUL, a lone
    surrogate) where an id or a type must be.

    Unlike :class:`UnknownEvent` (well formed, of a type nobody maps) it is a client error: sending
    the same body again cannot help. The webhook processor records it once and answers 400.
    """

    def __init__(self, message: str, *, provider: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider


class InvalidAmount(PaywireError, ValueError):
    """An amount the currency (or a provider's rules for it) cannot express exactly.

    paywire never rounds money; it refuses it.
    """


class UnknownCurrency(InvalidAmount):
    """A currency code that is not an active ISO 4217 code, or that a provider does not take."""


class ProviderError(PaywireError):
    """An error reported by (or about reaching) a payment provider.

    Attributes:
        provider: the provider's name, e.g. ``"stripe"``.
        code: the normalized code, one per subclass (``"card_declined"`` …).
        raw_code: the provider's own code (``decline_code``, ``issue``, ``reason``…), verbatim.
        message: the provider's message, with anything credential-shaped redacted.
        http_status: the HTTP status, when there was a response.
        request_id: the provider's request id, for its support desk.
        retryable: whether trying again later (with the same idempotency key) may succeed.
    """

    code: ClassVar[str] = "provider_error"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        raw_code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.raw_code = raw_code
        self.http_status = http_status
        self.request_id = request_id
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        where = f"{self.provider} {self.http_status}" if self.http_status else self.provider
        raw = f" [{self.raw_code}]" if self.raw_code else ""
        # raw_code and request_id are kept verbatim, but what is printed is scrubbed as a whole.
        return redact(f"{self.message} ({where}{raw})")

    def __repr__(self) -> str:
        return redact(
            f"{type(self).__name__}(message={self.message!r}, provider={self.provider!r}, "
            f"raw_code={self.raw_code!r}, http_status={self.http_status!r}, "
            f"request_id={self.request_id!r}, retryable={self.retryable!r})"
        )


class CardDeclined(ProviderError):
    """The issuer or provider refused the payment (generic decline, insufficient funds, …)."""

    code = "card_declined"


class PaymentMethodExpired(ProviderError):
    """The saved method has expired; ask the customer for a new one."""

    code = "payment_method_expired"


class AuthenticationRequired(ProviderError):
    """The issuer wants the customer present (3-D Secure, payer action): bring them on-session.

    Attributes:
        transaction_id: the provider's transaction that waits for the customer (Stripe's
            PaymentIntent, PayPal's order), when the provider made one — what a later webhook
            names, and what to look up.
        action_url: where to send the customer to authenticate, where the provider offers such
            a page (PayPal's payer-action link). Without one, start a hosted checkout for the
            invoice (``create_checkout_session``): the customer authenticates there.
    """

    code = "authentication_required"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        transaction_id: str | None = None,
        action_url: str | None = None,
        raw_code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            raw_code=raw_code,
            http_status=http_status,
            request_id=request_id,
            retryable=retryable,
        )
        self.transaction_id = transaction_id
        self.action_url = action_url


class AlreadyRefunded(ProviderError):
    """The refund exceeds what is left to refund on the transaction."""

    code = "already_refunded"


class NotFound(ProviderError):
    """The provider does not know the id (or it was deleted / detached)."""

    code = "not_found"


class InvalidRequest(ProviderError):
    """The provider rejected the request's parameters; fix the call, do not retry it as is."""

    code = "invalid_request"


class AuthenticationFailed(ProviderError):
    """The provider rejected our credentials."""

    code = "authentication_failed"


class RateLimited(ProviderError):
    """Too many requests; ``retry_after`` says when to try again, when the provider said."""

    code = "rate_limited"
    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        retry_after: float | None = None,
        raw_code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            raw_code=raw_code,
            http_status=http_status,
            request_id=request_id,
            retryable=retryable,
        )
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or failed (5xx) and the request did not take effect."""

    code = "provider_unavailable"
    default_retryable = True


class OutcomeUnknown(ProviderError):
    """A request that changes state may or may not have reached the provider.

    Retry the same operation later with ``idempotency_key`` to learn (or complete) its outcome
    without doing it twice.
    """

    code = "outcome_unknown"
    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        idempotency_key: str | None,
        raw_code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            raw_code=raw_code,
            http_status=http_status,
            request_id=request_id,
        )
        self.idempotency_key = idempotency_key
