"""Razorpay's error bodies, and the exception the fake raises to answer with one."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

__all__ = [
    "BAD_REQUEST",
    "GATEWAY",
    "NOT_FOUND_DESCRIPTION",
    "SERVER",
    "RazorpayError",
    "error_body",
]

BAD_REQUEST = "BAD_REQUEST_ERROR"
GATEWAY = "GATEWAY_ERROR"
SERVER = "SERVER_ERROR"

#: Razorpay's wording for an unknown id (``BAD_REQUEST_INVALID_ID`` in its API).
NOT_FOUND_DESCRIPTION = "The id provided does not exist"


def error_body(
    code: str,
    description: str,
    *,
    field: str | None = None,
    source: str = "NA",
    step: str = "NA",
    reason: str = "NA",
    metadata: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The ``{"error": {...}}`` object Razorpay answers with.

    ``field`` is present only when one request field is at fault, as in Razorpay's answers;
    ``source``/``step``/``reason`` are ``"NA"`` unless a payment attempt failed.
    """
    error: dict[str, object] = {
        "code": code,
        "description": description,
        "source": source,
        "step": step,
        "reason": reason,
        "metadata": dict(metadata or {}),
    }
    if field is not None:
        error["field"] = field
    return {"error": error}


class RazorpayError(Exception):
    """Raised inside a handler to answer with Razorpay's error shape."""

    def __init__(
        self,
        description: str,
        *,
        status: int = 400,
        code: str = BAD_REQUEST,
        field: str | None = None,
        source: str = "NA",
        step: str = "NA",
        reason: str = "NA",
        metadata: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.code = code
        self.field = field
        self.source = source
        self.step = step
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.headers = dict(headers or {})

    @classmethod
    def not_found(cls) -> RazorpayError:
        """An id that names nothing (Razorpay answers 400 for this; see the fake's docstring)."""
        return cls(NOT_FOUND_DESCRIPTION, status=400)

    def body(self) -> dict[str, object]:
        """The JSON object for this error."""
        return error_body(
            self.code,
            self.description,
            field=self.field,
            source=self.source,
            step=self.step,
            reason=self.reason,
            metadata=self.metadata,
        )

    def response(self) -> Response:
        """This error as an HTTP response."""
        return Response(
            json.dumps(self.body()),
            status_code=self.status,
            media_type="application/json",
            headers=self.headers,
        )
