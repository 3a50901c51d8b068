"""PayPal's published OpenAPI request schemas, used to check what clients send.

PayPal publishes an OpenAPI 3.0 document per REST API (Orders v2, Payments v2, Vault v3,
Webhooks v1). When those documents are present the fake checks every request body and query
against the operation's request schema and answers what PayPal answers for a request that
violates it: a 400 ``INVALID_REQUEST`` whose detail names the field (a JSON pointer) and the
issue. The documents are looked for in ``$PAYWIRE_PAYPAL_SPECS``, else in
``shared/reference/paypal`` beside the repository the sandbox runs from (where CI and
development machines lay them); without them the fake's own checks (``_requests``) still apply.
The sandbox ships no copy: the documents are PayPal's.

Mapping of schema keywords to PayPal's issues: ``required`` → ``MISSING_REQUIRED_PARAMETER``;
``type``, ``pattern``, ``format`` → ``INVALID_PARAMETER_SYNTAX``; ``enum``, ``minimum``,
``maximum`` → ``INVALID_PARAMETER_VALUE``; ``minLength``/``maxLength`` →
``INVALID_STRING_LENGTH``; ``minItems``/``maxItems`` → ``INVALID_ARRAY_MIN_ITEMS``/``MAX_ITEMS``.
A member the schema does not declare (PayPal's documents never say ``additionalProperties:
false``, so plain JSON Schema would let anything through) is ``NOT_SUPPORTED`` ("This field is
not currently supported."), so that a client relying on an undocumented parameter finds out here.
``null`` members count as absent, as in the fake's own parsing.

Where a published document contradicts PayPal's own integration guides, or lags behind the API
definitions PayPal's server SDK is generated from, :data:`ERRATA` corrects the loaded copy (in
memory) and says why; each correction is listed in ``sandbox/FIDELITY.md``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from jsonschema import Draft4Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import (  # type: ignore[import-untyped]
    ValidationError,
    best_match,
)
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from paywire_sandbox.paypal._errors import PayPalError

__all__ = ["ERRATA", "SPEC_FILES", "Erratum", "Problem", "RequestSchemas", "default_spec_dir"]

SPEC_FILES = (
    "checkout_orders_v2.json",
    "payments_payment_v2.json",
    "vault_payment_tokens_v3.json",
    "notifications_webhooks_v1.json",
)

_ISSUES = {
    "required": "MISSING_REQUIRED_PARAMETER",
    "type": "INVALID_PARAMETER_SYNTAX",
    "pattern": "INVALID_PARAMETER_SYNTAX",
    "format": "INVALID_PARAMETER_SYNTAX",
    "enum": "INVALID_PARAMETER_VALUE",
    "minimum": "INVALID_PARAMETER_VALUE",
    "maximum": "INVALID_PARAMETER_VALUE",
    "minLength": "INVALID_STRING_LENGTH",
    "maxLength": "INVALID_STRING_LENGTH",
    "minItems": "INVALID_ARRAY_MIN_ITEMS",
    "maxItems": "INVALID_ARRAY_MAX_ITEMS",
}
_UNKNOWN = "NOT_SUPPORTED"


@attrs.frozen
class Erratum:
    """A correction to a published document: set ``member`` of the schema at ``pointer``."""

    document: str
    pointer: str
    member: str
    value: object
    reason: str


_SDK = "PayPal's server SDK (paypal-server-sdk, generated from PayPal's current API definitions)"
_USAGE_PATTERNS = [
    "IMMEDIATE",
    "DEFERRED",
    "RECURRING_PREPAID",
    "RECURRING_POSTPAID",
    "THRESHOLD_PREPAID",
    "THRESHOLD_POSTPAID",
]

#: Known contradictions between the published documents and PayPal's own guides or SDK.
ERRATA: tuple[Erratum, ...] = (
    Erratum(
        "vault_payment_tokens_v3.json",
        "/components/schemas/token_id_request/properties/type",
        "enum",
        ["BILLING_AGREEMENT", "SETUP_TOKEN"],
        "PayPal's Vault guide creates a payment token from an approved setup token with "
        '"type": "SETUP_TOKEN"; the published enum lists only BILLING_AGREEMENT.',
    ),
    Erratum(
        "notifications_webhooks_v1.json",
        "/components/schemas/verify_webhook_signature/properties/transmission_sig",
        "pattern",
        None,
        "The signature is base64 (the PAYPAL-TRANSMISSION-SIG header); the published pattern "
        "(^(?!\\d+$)\\w+\\S+) refuses the signatures that start with '+' or '/'.",
    ),
    Erratum(
        "checkout_orders_v2.json",
        "/components/schemas/paypal_wallet/properties",
        "stored_credential",
        {
            "type": "object",
            "properties": {
                "payment_initiator": {"$ref": "#/components/schemas/payment_initiator"},
                "charge_pattern": {"type": "string", "enum": _USAGE_PATTERNS},
                "usage_pattern": {"type": "string", "enum": _USAGE_PATTERNS},
                "usage": {"$ref": "#/components/schemas/stored_payment_source_usage_type"},
            },
            "required": ["payment_initiator"],
        },
        f"{_SDK} has payment_source.paypal.stored_credential (model PaypalWalletStoredCredential:"
        " payment_initiator, charge_pattern, usage_pattern, usage); the published document, "
        "older, has none.",
    ),
    Erratum(
        "vault_payment_tokens_v3.json",
        "/components/schemas/customer/properties",
        "merchant_customer_id",
        {"type": "string"},
        f"{_SDK} has customer.merchant_customer_id on setup tokens (model CustomerRequest); the "
        "published document, older, has only customer.id.",
    ),
)


def _apply_errata(name: str, document: dict[str, Any]) -> None:
    for erratum in ERRATA:
        if erratum.document != name:
            continue
        target: Any = document
        for part in erratum.pointer[1:].split("/"):
            target = target[part]
        if erratum.value is None:
            target.pop(erratum.member, None)
        else:
            target[erratum.member] = erratum.value


def default_spec_dir() -> Path:
    """``$PAYWIRE_PAYPAL_SPECS``, else ``<repository>/../shared/reference/paypal``."""
    configured = os.environ.get("PAYWIRE_PAYPAL_SPECS")
    if configured:
        return Path(configured)
    # sandbox/src/paywire_sandbox/paypal/_schemas.py -> the repository is four levels up.
    return Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "paypal"


@attrs.frozen
class Problem:
    """One way a request breaks its schema: the field (JSON pointer or query name) and issue."""

    field: str
    issue: str
    location: str = "body"

    def error(self, operation: str) -> PayPalError:
        """The 400 PayPal answers with."""
        return PayPalError(
            400, self.issue, field=self.field, location=self.location, operation=operation
        )


@attrs.frozen
class _Operation:
    pattern: re.Pattern[str]
    method: str
    template: str
    body: dict[str, Any] | None
    query: Mapping[str, dict[str, Any]]


def _pointer(parts: Iterator[object] | list[object]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


class RequestSchemas:
    """The request schemas of PayPal's OpenAPI documents, looked up by method and path."""

    def __init__(self, documents: Mapping[str, dict[str, Any]]) -> None:
        resources = []
        self._operations: list[_Operation] = []
        for name, original in documents.items():
            document = json.loads(json.dumps(original))  # corrected copy; the caller's is kept
            _apply_errata(name, document)
            uri = f"urn:paypal:{name}"
            resources.append((uri, Resource.from_contents(document, default_specification=DRAFT4)))
            for template, item in document.get("paths", {}).items():
                pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
                for method, operation in item.items():
                    if isinstance(operation, dict) and "responses" in operation:
                        self._operations.append(
                            _Operation(
                                pattern,
                                method.upper(),
                                template,
                                self._body_schema(uri, document, template, method),
                                self._query_schemas(uri, document, operation),
                            )
                        )
        self._registry: Registry[Any] = Registry().with_resources(resources)

    @classmethod
    def load(cls, directory: Path | None = None) -> RequestSchemas | None:
        """The documents in ``directory`` (default :func:`default_spec_dir`), or None if absent."""
        where = directory if directory is not None else default_spec_dir()
        if not all((where / name).is_file() for name in SPEC_FILES):
            return None
        return cls({name: json.loads((where / name).read_text()) for name in SPEC_FILES})

    @staticmethod
    def _resolve(document: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """``node`` with local ``$ref``s followed, and the JSON pointer it was found at."""
        where = ""
        while "$ref" in node and node["$ref"].startswith("#/"):
            where = node["$ref"][1:]
            target: Any = document
            for part in where[1:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node, where

    def _body_schema(
        self, uri: str, document: dict[str, Any], template: str, method: str
    ) -> dict[str, Any] | None:
        operation = document["paths"][template][method]
        if "requestBody" not in operation:
            return None
        body, where = self._resolve(document, operation["requestBody"])
        if not where:
            escaped = template.replace("~", "~0").replace("/", "~1")
            where = f"/paths/{escaped}/{method}/requestBody"
        if "schema" not in body.get("content", {}).get("application/json", {}):
            return None
        return {"$ref": f"{uri}#{where}/content/application~1json/schema"}

    def _query_schemas(
        self, uri: str, document: dict[str, Any], operation: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for raw in operation.get("parameters", []):
            parameter, _ = self._resolve(document, raw)
            if parameter.get("in") == "query" and "schema" in parameter:
                schema = dict(parameter["schema"])
                schema["x-required"] = bool(parameter.get("required"))
                found[parameter["name"]] = schema
        return found

    def _operation(self, method: str, path: str) -> _Operation | None:
        for operation in self._operations:
            if operation.method == method and operation.pattern.fullmatch(path):
                return operation
        return None

    def documents(self, method: str, path: str) -> bool:
        """Whether a document describes ``method path``."""
        return self._operation(method, path) is not None

    def body_problems(self, method: str, path: str, body: Any) -> list[Problem]:
        """Every way ``body`` breaks the request schema of ``method path``, first one first.

        Schema violations come in the order a validator walking the schema meets them (members
        as the schema declares them, then missing ones; a failed oneOf/anyOf reports its
        closest branch), then undocumented members.
        """
        operation = self._operation(method, path)
        if operation is None or operation.body is None:
            return []
        instance = _strip_nulls(body)
        validator = Draft4Validator(operation.body, registry=self._registry)
        problems: list[Problem] = []
        for error in validator.iter_errors(instance):
            closest = best_match(error.context) if error.context else None
            problems.append(self._problem(closest if closest is not None else error))
        problems.extend(self._unknown(instance, operation.body, self._registry.resolver(), []))
        return problems

    def query_problems(self, method: str, path: str, query: Mapping[str, str]) -> list[Problem]:
        """Query parameters that are undocumented, missing or of the wrong form."""
        operation = self._operation(method, path)
        if operation is None:
            return []
        problems = [
            Problem(name, _UNKNOWN, "query") for name in query if name not in operation.query
        ]
        for name, schema in operation.query.items():
            if name not in query:
                if schema["x-required"]:
                    problems.append(Problem(name, "MISSING_REQUIRED_PARAMETER", "query"))
                continue
            value: Any = query[name]
            kind = schema.get("type")
            if kind == "integer":
                if not re.fullmatch(r"-?[0-9]{1,18}", value):
                    problems.append(Problem(name, "INVALID_PARAMETER_SYNTAX", "query"))
                    continue
                value = int(value)
            elif kind == "boolean":
                if value not in {"true", "false"}:
                    problems.append(Problem(name, "INVALID_PARAMETER_VALUE", "query"))
                continue
            checked = {k: v for k, v in schema.items() if k != "x-required"}
            error = best_match(Draft4Validator(checked).iter_errors(value))
            if error is not None:
                problems.append(Problem(name, _ISSUES.get(str(error.validator), _UNKNOWN), "query"))
        return problems

    @staticmethod
    def _problem(error: ValidationError) -> Problem:
        keyword = str(error.validator)
        where = list(error.absolute_path)
        if keyword == "required" and isinstance(error.validator_value, list):
            instance = error.instance if isinstance(error.instance, dict) else {}
            missing = next((n for n in error.validator_value if n not in instance), "")
            where.append(missing)
        return Problem(_pointer(where) or "/", _ISSUES.get(keyword, "INVALID_PARAMETER_VALUE"))

    @staticmethod
    def _deref(schema: dict[str, Any], resolver: Any) -> tuple[dict[str, Any], Any]:
        while "$ref" in schema:
            resolved = resolver.lookup(schema["$ref"])
            schema, resolver = resolved.contents, resolved.resolver
        return schema, resolver

    def _parts(self, schema: dict[str, Any], resolver: Any) -> Iterator[tuple[dict[str, Any], Any]]:
        """``schema`` and every schema it combines (allOf/anyOf/oneOf), dereferenced."""
        schema, resolver = self._deref(schema, resolver)
        yield schema, resolver
        for key in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(key, []):
                yield from self._parts(part, resolver)

    def _unknown(
        self, instance: Any, schema: dict[str, Any], resolver: Any, where: list[object]
    ) -> list[Problem]:
        """Members of ``instance`` that ``schema`` does not declare, depth first."""
        parts = list(self._parts(schema, resolver))
        problems: list[Problem] = []
        if isinstance(instance, dict):
            declared = [p for p in parts if "properties" in p[0]]
            open_ended = any(p[0].get("additionalProperties") not in (None, False) for p in parts)
            if not declared:
                return problems  # the schema says nothing about members
            for name, value in instance.items():
                members = [
                    (p["properties"][name], r) for p, r in declared if name in p["properties"]
                ]
                if not members and not open_ended:
                    problems.append(Problem(_pointer([*where, name]), _UNKNOWN))
                for member, member_resolver in members:
                    problems.extend(self._unknown(value, member, member_resolver, [*where, name]))
        elif isinstance(instance, list):
            for part, part_resolver in parts:
                if isinstance(part.get("items"), dict):
                    for index, item in enumerate(instance):
                        problems.extend(
                            self._unknown(item, part["items"], part_resolver, [*where, index])
                        )
        return problems
