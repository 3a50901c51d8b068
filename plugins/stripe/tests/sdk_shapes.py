"""Test helpers that hold the plugin to the stripe SDK's own description of Stripe's API.

The plugin builds its requests and reads Stripe's answers without the SDK. These helpers check,
with the SDK installed at test time (generated from Stripe's OpenAPI description for the API
version the plugin pins):

- :func:`check_request`: every request's endpoint is one the SDK knows, and its parameters fit
  the SDK's parameter ``TypedDict`` for that endpoint (names, nesting, required keys, scalar
  types, enum values); it carries ``Stripe-Version`` and, when it is a POST, an
  ``Idempotency-Key``.
- :class:`Tracked` / :func:`unknown_reads`: every field the plugin reads from an answer or an
  event's object is a field of the SDK's resource class for that object.
"""

from __future__ import annotations

import re
import types
import typing
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin

import httpx
import stripe
import stripe.params as sdk
import stripe.params.checkout as sdk_checkout
from stripe._object_classes import OBJECT_CLASSES
from stripe._request_options import RequestOptions

from paywire_stripe import API_VERSION

#: (method, path below /v1 with ``*`` for an id) → the SDK's parameter type for it.
ENDPOINTS: dict[tuple[str, str], type[Any]] = {
    ("POST", "customers"): sdk.CustomerCreateParams,
    ("POST", "checkout/sessions"): sdk_checkout.SessionCreateParams,
    ("GET", "checkout/sessions/*"): sdk_checkout.SessionRetrieveParams,
    ("POST", "payment_intents"): sdk.PaymentIntentCreateParams,
    ("GET", "payment_intents/*"): sdk.PaymentIntentRetrieveParams,
    ("GET", "setup_intents/*"): sdk.SetupIntentRetrieveParams,
    ("GET", "charges/*"): sdk.ChargeRetrieveParams,
    ("POST", "refunds"): sdk.RefundCreateParams,
    ("GET", "payment_methods/*"): sdk.PaymentMethodRetrieveParams,
    ("POST", "payment_methods/*/attach"): sdk.PaymentMethodAttachParams,
    ("POST", "payment_methods/*/detach"): sdk.PaymentMethodDetachParams,
}

# What the SDK takes beside the parameters (api_key, idempotency_key…): never in a request body.
_OPTIONS = frozenset(RequestOptions.__annotations__)
_INDEX = re.compile(r"\d+")
_ID_SEGMENT = re.compile(r"[a-z]+_[A-Za-z0-9_]+")


class ShapeError(AssertionError):
    """A request or a read that the SDK's types do not allow."""


def endpoint(method: str, path: str) -> tuple[str, str]:
    """``("POST", "/stripe/v1/payment_methods/pm_1/detach")`` → ``("POST",
    "payment_methods/*/detach")``."""
    below = path.split("/v1/", 1)
    if len(below) != 2:
        raise ShapeError(f"{method} {path} is not a /v1 endpoint")
    parts = below[1].split("/")
    shape = []
    for index, part in enumerate(parts):
        # checkout/sessions/{id}: the id is where a resource name cannot be.
        known = index == 0 or (index == 1 and parts[0] == "checkout")
        shape.append(part if known or not _ID_SEGMENT.fullmatch(part) else "*")
    return method, "/".join(shape)


def nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Bracketed form fields as the nested mapping they encode (``a[b][0]=1`` →
    ``{"a": {"b": {"0": "1"}}}``)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        names = [head] + (rest[:-1].split("][") if rest else [])
        node = root
        for name in names[:-1]:
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise ShapeError(f"{key}: {name} is both a value and an object")
            node = child
        if names[-1] in node:
            raise ShapeError(f"{key} is sent twice")
        node[names[-1]] = value
    return root


def _namespace(owner: type[Any]) -> dict[str, Any]:
    module = __import__(owner.__module__, fromlist=["_"])
    from stripe._stripe_context import StripeContext

    return {**vars(typing), **vars(module), "StripeContext": StripeContext}


def _resolve(annotation: Any, owner: type[Any]) -> Any:
    if isinstance(annotation, str):
        annotation = typing.ForwardRef(annotation)
    if isinstance(annotation, typing.ForwardRef):
        return eval(annotation.__forward_arg__, _namespace(owner))  # noqa: S307 - SDK's types
    return annotation


def _unwrap(annotation: Any, owner: type[Any]) -> Any:
    annotation = _resolve(annotation, owner)
    while get_origin(annotation) in (NotRequired, Required):
        annotation = _resolve(get_args(annotation)[0], owner)
    return annotation


def _arms(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return list(get_args(annotation))
    return [annotation]


def check_value(value: Any, annotation: Any, owner: type[Any], where: str) -> None:
    """Raise :class:`ShapeError` unless the decoded form ``value`` fits ``annotation``."""
    annotation = _unwrap(annotation, owner)
    arms = [_unwrap(arm, owner) for arm in _arms(annotation)]
    literals = [arm for arm in arms if get_origin(arm) is Literal]
    if literals:
        # The SDK adds "|str" to every enum so that new values do not break old code; a request
        # the plugin builds must use a documented value.
        arms = [arm for arm in arms if arm is not str]
    problems = []
    for arm in arms:
        try:
            _check_arm(value, arm, owner, where)
        except ShapeError as exc:
            problems.append(str(exc))
            continue
        return
    raise ShapeError(f"{where}={value!r} fits none of {annotation}: {'; '.join(problems)}")


def _check_arm(value: Any, arm: Any, owner: type[Any], where: str) -> None:
    origin = get_origin(arm)
    if arm is type(None):
        raise ShapeError(f"{where}: a form cannot send null")
    if origin is Literal:
        allowed = [
            "true" if v is True else "false" if v is False else str(v) for v in get_args(arm)
        ]
        if value not in allowed:
            raise ShapeError(f"{where}: {value!r} is not one of {allowed}")
        return
    if arm is str:
        if not isinstance(value, str):
            raise ShapeError(f"{where}: expected a string")
        return
    if arm is bool:
        if value not in ("true", "false"):
            raise ShapeError(f"{where}: expected true or false")
        return
    if arm is int:
        if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
            raise ShapeError(f"{where}: expected an integer")
        return
    if origin is list:
        (item,) = get_args(arm)
        if not isinstance(value, dict) or sorted(value, key=int) != [
            str(i) for i in range(len(value))
        ]:
            raise ShapeError(f"{where}: expected a list written [0], [1], …")
        for index, element in value.items():
            check_value(element, item, owner, f"{where}[{index}]")
        return
    if origin is dict:
        _, item = get_args(arm)
        if not isinstance(value, dict):
            raise ShapeError(f"{where}: expected an object")
        for key, element in value.items():
            check_value(element, item, owner, f"{where}[{key}]")
        return
    if isinstance(arm, type) and hasattr(arm, "__required_keys__"):  # a TypedDict
        check_params(value, arm, where)
        return
    raise ShapeError(f"{where}: the check does not know {arm}")


def check_params(params: Any, typed: type[Any], where: str = "") -> None:
    """Raise :class:`ShapeError` unless the nested ``params`` fit the SDK's ``typed`` dict."""
    if not isinstance(params, dict):
        raise ShapeError(f"{where or 'the parameters'}: expected an object")
    annotations = typed.__annotations__
    top = not where
    for key, value in params.items():
        name = f"{where}[{key}]" if where else key
        if top and key in _OPTIONS:
            raise ShapeError(f"{name} is a request option, not a parameter")
        if key not in annotations:
            raise ShapeError(f"{name} is not a parameter of {typed.__name__}")
        check_value(value, annotations[key], typed, name)
    missing = set(typed.__required_keys__) - set(params) - (_OPTIONS if top else set())
    if missing:
        raise ShapeError(f"{where or typed.__name__} lacks required {sorted(missing)}")


def check_request(request: httpx.Request) -> None:
    """Raise :class:`ShapeError` unless ``request`` is one the SDK could have sent."""
    key = endpoint(request.method, request.url.path)
    typed = ENDPOINTS.get(key)
    if typed is None:
        raise ShapeError(f"{key} is not an endpoint the plugin is known to use")
    if request.headers.get("Stripe-Version") != API_VERSION:
        raise ShapeError(f"{key}: Stripe-Version is {request.headers.get('Stripe-Version')!r}")
    if request.method == "POST":
        if not request.headers.get("Idempotency-Key"):
            raise ShapeError(f"{key}: a POST without an Idempotency-Key")
        if request.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            raise ShapeError(f"{key}: not form-encoded")
        body = request.content.decode("ascii")
    else:
        body = request.url.query.decode("ascii")
    pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
    check_params(nest(pairs), typed)


# -- reads --------------------------------------------------------------------------------------


class Tracked(Mapping[str, Any]):
    """A read-only mapping that writes down the path of every key asked of it (present or not);
    nested mappings (and mappings in lists) are tracked too."""

    def __init__(
        self, data: Mapping[str, Any], reads: set[tuple[str, ...]], path: tuple[str, ...] = ()
    ):
        self._data = data
        self._reads = reads
        self._path = path

    def _wrap(self, key: str, value: Any) -> Any:
        path = (*self._path, key)
        if isinstance(value, Mapping):
            return Tracked(value, self._reads, path)
        if isinstance(value, list):
            return [
                Tracked(v, self._reads, (*path, "*")) if isinstance(v, Mapping) else v
                for v in value
            ]
        return value

    def __getitem__(self, key: str) -> Any:
        self._reads.add((*self._path, key))
        return self._wrap(key, self._data[key])

    def get(self, key: str, default: Any = None) -> Any:
        self._reads.add((*self._path, key))
        return self._wrap(key, self._data[key]) if key in self._data else default

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._reads.add((*self._path, key))
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        raise ShapeError(f"the plugin iterates over {'.'.join(self._path) or 'an object'}")

    def __len__(self) -> int:
        return len(self._data)


def resource(object_name: str) -> type[Any]:
    """The SDK's class for Stripe's ``object`` name (``"payment_intent"``)."""
    module, name = OBJECT_CLASSES[object_name]
    return getattr(__import__(module, fromlist=[name]), name)  # type: ignore[no-any-return]


def _fields(cls: type[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        found.update(getattr(klass, "__annotations__", {}))
    return {k: v for k, v in found.items() if not k.startswith("_") and k != "OBJECT_NAME"}


def _classes(annotation: Any, owner: type[Any]) -> list[type[Any]]:
    """The SDK object classes an annotation names (through Optional, Union, lists…)."""
    found: list[type[Any]] = []
    stack = [annotation]
    while stack:
        item = stack.pop()
        if isinstance(item, typing.ForwardRef):
            name = item.__forward_arg__
            target = getattr(owner, name, None) or getattr(stripe, name, None)
            if target is None:
                target = next(
                    (resource(o) for o, (_, n) in OBJECT_CLASSES.items() if n == name), None
                )
            if isinstance(target, type):
                found.append(target)
            continue
        if isinstance(item, type) and issubclass(item, stripe.StripeObject):
            found.append(item)
            continue
        stack.extend(get_args(item))
    return found


def _free_form(annotation: Any) -> bool:
    """Whether a field is a mapping of the account's own keys (``Dict[str, str]``…)."""
    from stripe._stripe_object import UntypedStripeObject

    stack = [annotation]
    while stack:
        item = stack.pop()
        origin = get_origin(item)
        if origin is dict or item is dict or origin is UntypedStripeObject:
            return True
        stack.extend(get_args(item))
    return False


#: Fields the SDK still describes but Stripe no longer includes unless asked to (``expand``):
#: reading them from an object that was not expanded finds nothing.
#: 2022-11-15: "Charge.refunds is no longer included by default" (Stripe's API changelog).
NOT_INCLUDED: frozenset[tuple[str, str]] = frozenset({("Charge", "refunds")})


def unknown_reads(cls: type[Any], reads: set[tuple[str, ...]]) -> list[str]:
    """The paths of ``reads`` that are not fields of the SDK class ``cls`` (or that it does not
    include by default)."""
    bad = []
    for path in sorted(reads):
        owner = cls
        for depth, key in enumerate(path):
            if key == "*":
                continue
            fields = _fields(owner)
            if key not in fields or (owner.__name__, key) in NOT_INCLUDED:
                bad.append(".".join(path[: depth + 1]) + f" (not in {owner.__qualname__})")
                break
            if depth + 1 == len(path):
                break
            if _free_form(fields[key]):
                break  # metadata and the like: any key is the account's own
            nested = _classes(fields[key], owner)
            if not nested:
                bad.append(".".join(path[: depth + 2]) + f" (below a plain {key})")
                break
            owner = nested[0]
    return bad
