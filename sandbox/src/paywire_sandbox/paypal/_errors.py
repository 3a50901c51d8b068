"""PayPal's error bodies: ``{"name", "message", "debug_id", "details": [...], "links": [...]}``.

``name`` and ``message`` follow from the HTTP status; each detail carries PayPal's ``issue`` and the
``description`` PayPal publishes for it (the Orders capture call words a few of them differently,
so descriptions can be looked up per operation).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "NAMES",
    "OAuthError",
    "PayPalError",
    "describe",
    "status_for_issue",
]

#: HTTP status -> (name, message), as PayPal's REST APIs send them.
NAMES: dict[int, tuple[str, str]] = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to missing authorization header, or invalid authentication "
        "credentials.",
    ),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    409: ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
    415: (
        "UNSUPPORTED_MEDIA_TYPE",
        "The server does not support the request payload's media type.",
    ),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business "
        "validation.",
    ),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}

_ISSUES: dict[str, str] = {
    # 400
    "MALFORMED_REQUEST_JSON": "The request JSON is not well formed.",
    "MISSING_REQUIRED_PARAMETER": "A required parameter is missing.",
    "INVALID_PARAMETER_VALUE": "A parameter value is not valid.",
    "INVALID_PARAMETER_SYNTAX": "The value of a field does not conform to the expected format.",
    "INVALID_STRING_LENGTH": "The value of a field is either too short or too long",
    "INVALID_ARRAY_MIN_ITEMS": "The number of items in an array parameter is too small.",
    "INVALID_ARRAY_MAX_ITEMS": "The number of items in an array parameter is too large.",
    "NOT_SUPPORTED": "This field is not currently supported.",
    "PAYPAL_REQUEST_ID_REQUIRED": (
        "A PayPal-Request-Id is required if you are trying to process payment for an Order. "
        "Please specify a PayPal-Request-Id or Create the Order without a 'payment_source' "
        "specified."
    ),
    # 403
    "PERMISSION_DENIED": (
        "You do not have permission to access or perform operations on this resource."
    ),
    # 404
    "INVALID_RESOURCE_ID": (
        "Specified resource ID does not exist. Please check the resource ID and try again."
    ),
    # 409
    "PREVIOUS_REQUEST_IN_PROGRESS": (
        "A previous request on this resource is currently in progress. Please wait for sometime "
        "and try again. It is best to space out the initial and the subsequent request(s) to "
        "avoid receiving this error."
    ),
    # 422: amounts
    "DECIMAL_PRECISION": (
        "If the currency supports decimals, only two decimal place precision is supported."
    ),
    "DECIMALS_NOT_SUPPORTED": (
        "Currency does not support decimals. Please refer to "
        "https://developer.paypal.com/docs/api/reference/currency-codes/ for more information."
    ),
    "INVALID_CURRENCY_CODE": (
        "Currency code is invalid or is not currently supported. Please refer "
        "https://developer.paypal.com/api/rest/reference/currency-codes/ for list of supported "
        "currency codes."
    ),
    "CANNOT_BE_ZERO_OR_NEGATIVE": (
        "Must be greater than zero. If the currency supports decimals, only two decimal place "
        "precision is supported."
    ),
    "MAX_VALUE_EXCEEDED": "Should be less than or equal to 999999999999999.99.",
    "MULTI_CURRENCY_ORDER": (
        "Multiple differing values of currency_code are not supported. Entire Order request must "
        "have the same currency_code."
    ),
    "REFERENCE_ID_REQUIRED": (
        "'reference_id' is required for each 'purchase_unit' if multiple 'purchase_unit' are "
        "provided."
    ),
    "DUPLICATE_REFERENCE_ID": (
        "`reference_id` must be unique if multiple `purchase_unit` are provided."
    ),
    "DUPLICATE_INVOICE_ID": (
        "Duplicate Invoice ID detected. To avoid a potential duplicate transaction your account "
        "setting requires that Invoice Id be unique for each transaction."
    ),
    # 422: payment outcomes
    "INSTRUMENT_DECLINED": (
        "The instrument presented  was either declined by the processor or bank, or it can't be "
        "used for this payment."
    ),
    "CARD_EXPIRED": "The card is expired",
    "REFERENCED_CARD_EXPIRED": (
        "The card underlying the token has expired and hence cannot be used to process a payment."
    ),
    "TRANSACTION_REFUSED": "The request was refused.",
    "PAYER_ACTION_REQUIRED": (
        "Transaction cannot complete successfully, instruct the buyer to return to PayPal."
    ),
    "PAYER_CANNOT_PAY": (
        "Combination of payer and payee settings mean that this buyer cannot pay this seller."
    ),
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING": (
        "Transaction failed. Redirect the payer to select another funding source."
    ),
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": (
        "You have exceeded the maximum number of payment attempts."
    ),
    "COMPLIANCE_VIOLATION": "Transaction is declined due to compliance violation.",
    "PAYMENT_SOURCE_CANNOT_BE_USED": (
        "The provided payment source cannot be used to pay for the order. Please try again with "
        "a different payment source by creating a new order."
    ),
    "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR": (
        "The provided payment source is declined by the processor. Please try again with a "
        "different payment source by creating a new order."
    ),
    "MISMATCHED_VAULT_ID_TO_PAYMENT_SOURCE": (
        "The vault_id does not match the payment_source provided. Please verify that the "
        "vault_id token used refers to the matching payment_source and try again. For example, "
        "a PayPal token cannot be passed in the vault_id field in the payment_source.card object."
    ),
    "MERCHANT_INITIATED_WITH_SECURITY_CODE": (
        "`stored_payment_source.payment_initiator` = `MERCHANT` is not supported if "
        "`payment_source.card.security_code` is present in the order. `security_code` can be "
        "present in the order only when customer is the payment initiator. It is semantically "
        "incorrect to perform a merchant initiated payment with `security_code` is the order."
    ),
    "INCOMPATIBLE_PARAMETER_VALUE": (
        "The value of the field is incompatible/redundant with other fields in the order."
    ),
    # 422: order state
    "ORDER_NOT_APPROVED": (
        "Payer has not yet approved the Order for payment. Please redirect the payer to the "
        "'rel':'approve' url returned as part of the HATEOAS links within the Create Order call."
    ),
    "ORDER_ALREADY_CAPTURED": (
        "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed."
    ),
    # 422: refunds
    "REFUND_AMOUNT_EXCEEDED": (
        "The refund amount must be less than or equal to the capture amount that has not yet "
        "been refunded."
    ),
    "CAPTURE_FULLY_REFUNDED": "The capture has already been fully refunded",
    "REFUND_CAPTURE_CURRENCY_MISMATCH": "Refund must be in the same currency as the capture",
    "PENDING_CAPTURE": (
        "Cannot initiate a refund as the capture is pending. Capture is typically pending when "
        "the payer has funded the transaction using e-check/bank funded."
    ),
    "REFUND_NOT_ALLOWED": "Capture cannot be refunded.",
    # 400/422: PATCH
    "FIELD_NOT_PATCHABLE": "Field cannot be patched.",
    "INVALID_PATCH_OPERATION": (
        "The operation cannot be honored. Cannot add a property that's already present, use "
        "replace. Cannot remove a property thats not present, use add. Cannot replace a property "
        "thats not present, use add."
    ),
    "INVALID_JSON_POINTER_FORMAT": (
        "Path should be a valid JSON Pointer https://tools.ietf.org/html/rfc6901 that references "
        "a location within the request where the operation is performed."
    ),
    "NOT_PATCHABLE": "Cannot be patched.",
    "PATCH_VALUE_REQUIRED": "Please specify a 'value' to for the field that is being patched.",
    "PATCH_PATH_REQUIRED": (
        "Please specify a 'path' for the field for which the operation needs to be performed."
    ),
    "REFERENCE_ID_NOT_FOUND": (
        "Filter expression value is incorrect. Please check the value of the reference_id and "
        "try again."
    ),
    "ORDER_ALREADY_COMPLETED": "The order cannot be patched after it is completed.",
    "AMOUNT_CHANGE_NOT_ALLOWED": (
        "The amount specified is different from the amount authorized by payer."
    ),
    # Vault v3
    "SETUP_TOKEN_ALREADY_TOKENIZED": (
        "The setup token has been used previously to generate a payment token."
    ),
    "TOKEN_ID_NOT_FOUND": (
        "Specified token was not found. Verify the token and try the request again."
    ),
}

# The Orders capture call publishes different wording for a few issues.
_PER_OPERATION: dict[str, dict[str, str]] = {
    "orders.capture": {
        "ORDER_NOT_APPROVED": (
            "Payer has not yet approved the Order for payment. Please redirect the payer to the "
            "'rel':'approve' url returned as part of the HATEOAS links within the Create Order "
            "call or provide a valid `payment_source` in the request."
        ),
        "ORDER_ALREADY_CAPTURED": (
            "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed."
        ),
        "PAYER_CANNOT_PAY": (
            "Payer cannot pay for this transaction. Please contact the payer to find other ways "
            "to pay for this transaction."
        ),
    },
    "orders.patch": {
        "INVALID_PARAMETER_VALUE": "The value of a field is invalid.",
        "MISSING_REQUIRED_PARAMETER": "A required field / parameter is missing.",
    },
    "vault": {
        "PAYER_ACTION_REQUIRED": (
            "Please make sure setup up token is approved. Please complete the approval flow."
        ),
    },
}

# Issues that PayPal reports with another status than 422 (used by negative testing).
_STATUS_OF_ISSUE: dict[str, int] = {
    "MALFORMED_REQUEST_JSON": 400,
    "MISSING_REQUIRED_PARAMETER": 400,
    "INVALID_PARAMETER_VALUE": 400,
    "INVALID_PARAMETER_SYNTAX": 400,
    "INVALID_STRING_LENGTH": 400,
    "INVALID_ARRAY_MIN_ITEMS": 400,
    "INVALID_ARRAY_MAX_ITEMS": 400,
    "NOT_SUPPORTED": 400,
    "FIELD_NOT_PATCHABLE": 400,
    "INVALID_PATCH_OPERATION": 400,
    "PAYPAL_REQUEST_ID_REQUIRED": 400,
    "PERMISSION_DENIED": 403,
    "INVALID_RESOURCE_ID": 404,
    "PREVIOUS_REQUEST_IN_PROGRESS": 409,
    "INTERNAL_SERVER_ERROR": 500,
    "INTERNAL_SERVICE_ERROR": 500,
}


def describe(issue: str, operation: str = "") -> str:
    """PayPal's description of ``issue`` (as ``operation`` words it, if it differs)."""
    specific = _PER_OPERATION.get(operation, {}).get(issue)
    if specific is not None:
        return specific
    return _ISSUES.get(issue, issue.replace("_", " ").capitalize() + ".")


def status_for_issue(issue: str) -> int:
    """The HTTP status PayPal sends ``issue`` with (422 unless known otherwise)."""
    return _STATUS_OF_ISSUE.get(issue, 422)


class PayPalError(Exception):
    """An error the fake answers with, in PayPal's shape; raised by handlers, rendered once."""

    def __init__(
        self,
        status: int,
        issue: str | None = None,
        *,
        field: str | None = None,
        value: object = None,
        location: str | None = "body",
        operation: str = "",
        description: str | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(issue or str(status))
        self.status = status
        self.message = message
        self.details: list[dict[str, str]] = []
        if issue is not None:
            detail: dict[str, str] = {}
            if field is not None:
                detail["field"] = field
            if value is not None:
                detail["value"] = value if isinstance(value, str) else _short_repr(value)
            if location is not None and field is not None:
                detail["location"] = location
            detail["issue"] = issue
            detail["description"] = description or describe(issue, operation)
            self.details.append(detail)

    def body(self, debug_id: str, docs: str) -> dict[str, Any]:
        """The JSON body: ``docs`` is the API's reference page, for the information link."""
        name, default_message = NAMES.get(self.status, NAMES[500])
        body: dict[str, Any] = {
            "name": name,
            "message": self.message or default_message,
            "debug_id": debug_id,
        }
        if self.details:
            body["details"] = self.details
        anchor = self.details[0]["issue"] if self.details else name
        body["links"] = [
            {"href": f"{docs}#error-{anchor}", "rel": "information_link", "method": "GET"}
        ]
        return body


def _short_repr(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class OAuthError(Exception):
    """An OAuth2 error (token endpoint, bad bearer token): ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> Mapping[str, str]:
        """The JSON body PayPal sends."""
        return {"error": self.error, "error_description": self.description}
