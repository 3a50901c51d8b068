"""Stripe's error bodies (``{"error": {"type", "code", "message", "param", ...}}``) and statuses."""

from __future__ import annotations

from typing import Any

__all__ = [
    "StripeError",
    "api_error",
    "idempotency_error",
    "invalid_request",
    "mask_key",
    "param_error",
    "resource_missing",
]

_DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An error answer, raised by handlers and turned into Stripe's JSON body by the fake.

    ``replayable`` says whether an idempotent retry gets this same answer back: Stripe saves the
    result once an endpoint has started executing, but not a request that failed validation of
    its parameters (which may be retried with the same key once fixed).
    """

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        replayable: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.replayable = replayable
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The error object, keys in the order Stripe writes them."""
        err: dict[str, Any] = {}
        if self.code is not None:
            err["code"] = self.code
        if self.extra:
            err.update(self.extra)
        if self.code is not None and "doc_url" not in err:
            err["doc_url"] = _DOC_BASE + self.code.replace("_", "-")
        err["message"] = self.message
        if self.param is not None:
            err["param"] = self.param
        err["type"] = self.type
        return {"error": err}


def invalid_request(
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    extra: dict[str, Any] | None = None,
) -> StripeError:
    """A 400 ``invalid_request_error`` raised while executing (so it is saved for replays)."""
    return StripeError(400, "invalid_request_error", message, code=code, param=param, extra=extra)


def param_error(message: str, *, param: str | None = None, code: str | None = None) -> StripeError:
    """A 400 for a malformed request, found before the endpoint runs (never saved for replays)."""
    return StripeError(
        400, "invalid_request_error", message, code=code, param=param, replayable=False
    )


def resource_missing(kind: str, object_id: str, *, param: str) -> StripeError:
    """Stripe's 404 for an id it does not know: ``No such payment_intent: 'pi_x'``."""
    return StripeError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def idempotency_error(message: str) -> StripeError:
    """A key reused with other parameters or on another endpoint (never saved itself)."""
    return StripeError(400, "idempotency_error", message, replayable=False)


def api_error(message: str) -> StripeError:
    """A 500 ``api_error``: the sandbox itself failed, which must never look like a decline."""
    return StripeError(500, "api_error", message)


def mask_key(key: str) -> str:
    """An API key as Stripe echoes it in errors: prefix and last four kept, the rest starred.

    Short keys keep only the prefix, so no more than four characters of a secret ever show.
    """
    prefix_end = key.find("_", key.find("_") + 1) + 1 if key.count("_") >= 2 else 0
    prefix_end = min(prefix_end, 8)
    hidden = len(key) - prefix_end
    if hidden <= 8:
        return key[:prefix_end] + "*" * hidden
    return key[:prefix_end] + "*" * (hidden - 4) + key[-4:]
