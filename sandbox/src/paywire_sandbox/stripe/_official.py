"""What Stripe's API accepts, read from the official ``stripe`` SDK rather than written by hand.

stripe-python is generated from Stripe's OpenAPI description. Its services name, for every
endpoint, the HTTP method, the path and the parameter type (``self._request("post",
"/v1/payment_intents/{intent}/confirm", ...)`` with ``params: "PaymentIntentConfirmParams"``),
and each parameter type is a ``TypedDict`` whose keys are the parameter names, whose
``Required``/``NotRequired`` say what must be sent, and whose value types say what may be sent:
``str``, ``int``, ``bool``, ``Literal[...]`` enums, ``List[...]``, ``Dict[str, ...]`` hashes,
nested ``TypedDict`` objects, and ``Literal['']`` for the parameters that an empty value unsets.
An enum is typed ``Literal[...] | str`` so that an old SDK passes values Stripe adds later; the
API accepts only the listed values, so the ``str`` is dropped.

:func:`official_schemas` turns that into one :class:`Obj` per endpoint, once per process. The fake
checks every request against it before its own handlers run, so a parameter Stripe does not
document is ``parameter_unknown``, a missing required one ``parameter_missing`` and a value of
the wrong type or outside an enum the error Stripe gives — whatever the handler implements. The
handlers' own validators (:mod:`._params`) then check what the SDK types cannot say (lengths,
formats, the subset of values the sandbox implements).
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final, ForwardRef, Literal, Union

import attrs
import stripe
import typing_extensions as te
from stripe._request_options import RequestOptions

from paywire_sandbox.stripe._errors import StripeError, param_error

__all__ = [
    "SDK_API_VERSION",
    "SDK_VERSION",
    "AnyOf",
    "Array",
    "Enum",
    "Map",
    "Node",
    "Obj",
    "Scalar",
    "check_request",
    "official_schemas",
    "sdk_endpoints",
]

#: The stripe-python release the schemas come from, and the API version it is generated for.
SDK_VERSION: Final[str] = stripe.VERSION
SDK_API_VERSION: Final[str] = stripe.api_version

#: Keys of ``RequestOptions`` (api_key, idempotency_key, …): client options, never sent.
_OPTION_KEYS: Final = frozenset(RequestOptions.__annotations__)


def _empty(name: str) -> StripeError:
    return param_error(
        f"You passed an empty string for '{name}'. We assume empty values are an attempt to "
        f"unset a parameter; however '{name}' cannot be unset. You should remove '{name}' from "
        "your request or supply a non-empty value.",
        param=name,
        code="parameter_invalid_empty",
    )


def _shape(value: Any) -> str:
    return "hash" if isinstance(value, dict) else "array" if isinstance(value, list) else "string"


@attrs.frozen
class Scalar:
    """A form value: ``string``, ``integer``, ``boolean``, ``number`` or ``decimal``."""

    kind: str

    def check(self, value: Any, name: str) -> None:
        """Raise Stripe's error if ``value`` (as decoded from the form) is not of this kind."""
        if not isinstance(value, str):
            raise param_error(
                f"Invalid {self.kind}: {name} must be a {self.kind}, not a {_shape(value)}.",
                param=name,
            )
        if value == "":
            raise _empty(name)
        if self.kind == "integer" and not _INTEGER.fullmatch(value):
            raise param_error(
                f"Invalid integer: {value[:40]}", param=name, code="parameter_invalid_integer"
            )
        if self.kind == "boolean" and value not in _BOOLEANS:
            raise param_error(f"Invalid boolean: {value[:40]}", param=name)
        if self.kind in ("number", "decimal") and not _DECIMAL.fullmatch(value):
            raise param_error(f"Invalid {self.kind}: {value[:40]}", param=name)


_INTEGER: Final = re.compile(r"[+-]?[0-9]{1,18}", re.ASCII)
_DECIMAL: Final = re.compile(r"[+-]?(?:[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})", re.ASCII)
_BOOLEANS: Final = frozenset({"true", "false", "1", "0"})


@attrs.frozen
class Enum:
    """One of a fixed set of strings (a ``Literal``)."""

    values: frozenset[str]

    def check(self, value: Any, name: str) -> None:
        """Raise Stripe's error for a value outside the set."""
        if not isinstance(value, str):
            raise param_error(
                f"Invalid {name}: must be a string, not a {_shape(value)}.", param=name
            )
        if value not in self.values:
            if value == "":
                raise _empty(name)
            ordered = sorted(self.values)
            listed = ", ".join(ordered[:-1]) + f", or {ordered[-1]}" if len(ordered) > 1 else ""
            raise param_error(
                f"Invalid {name}: must be one of {listed or ordered[0]}",
                param=name,
            )


@attrs.frozen
class Array:
    """A list, sent indexed (``a[0]=``) or as ``a[]=``."""

    item: Node

    def check(self, value: Any, name: str) -> None:
        """Check each item, named with its index."""
        for index, item in _indexed(value, name):
            self.item.check(item, f"{name}[{index}]")


@attrs.frozen
class Map:
    """A hash with free keys (``metadata``): only the values are typed."""

    value: Node

    def check(self, value: Any, name: str) -> None:
        """Check each value; the keys are the caller's."""
        if not isinstance(value, dict):
            raise param_error(
                f"Invalid {name}: must be a hash of key-value pairs (e.g. {name}[key]=value).",
                param=name,
            )
        for key, item in value.items():
            if item != "":  # Stripe documents an empty value as unsetting that key
                self.value.check(item, f"{name}[{key}]")


@attrs.frozen
class Obj:
    """A hash with known keys, some required (a ``TypedDict``)."""

    fields: Mapping[str, Node]
    required: frozenset[str]

    def check(self, value: Any, name: str) -> None:
        """Raise for a non-hash, an unknown key, a missing required key or a bad value."""
        if not isinstance(value, dict):
            raise param_error(f"Invalid object: {name} must be a hash.", param=name)
        self.check_fields(value, name)

    def check_fields(self, value: Mapping[str, Any], prefix: str) -> None:
        """Check the keys of a hash (the whole request when ``prefix`` is empty)."""
        for key, item in value.items():
            full = f"{prefix}[{key}]" if prefix else key
            node = self.fields.get(key)
            if node is None:
                raise param_error(
                    f"Received unknown parameter: {full}", param=full, code="parameter_unknown"
                )
            node.check(item, full)
        for key in sorted(self.required - value.keys()):
            full = f"{prefix}[{key}]" if prefix else key
            raise param_error(
                f"Missing required param: {full}.", param=full, code="parameter_missing"
            )


@attrs.frozen
class AnyOf:
    """A union (``str | SomeParams``), ``emptyable`` when ``Literal['']`` is one of its members."""

    options: tuple[Node, ...]
    emptyable: bool

    def check(self, value: Any, name: str) -> None:
        """Pass if any member accepts ``value``; else raise the error of the best-fitting one."""
        if value == "" and self.emptyable:
            return
        first: StripeError | None = None
        for option in sorted(self.options, key=lambda o: _fit(o, value)):
            try:
                option.check(value, name)
            except StripeError as exc:
                first = first or exc
            else:
                return
        if first is None:  # no members besides '': only the empty value was allowed
            raise param_error(f"Invalid {name}: only an empty value is allowed.", param=name)
        raise first


Node = Scalar | Enum | Array | Map | Obj | AnyOf


def _fit(node: Node, value: Any) -> int:
    """Order a union's members so the one matching the value's shape reports the error."""
    takes_hash = isinstance(node, Obj | Map | Array)
    return 0 if takes_hash == isinstance(value, dict | list) else 1


def _indexed(value: Any, name: str) -> list[tuple[str, Any]]:
    if isinstance(value, list):
        return [(str(i), v) for i, v in enumerate(value)]
    if isinstance(value, dict) and all(k.isascii() and k.isdigit() for k in value):
        return sorted(value.items(), key=lambda kv: int(kv[0]))
    raise param_error(f"Invalid array: {name} must be an array (e.g. {name}[0]=...).", param=name)


# ---------------------------------------------------------------------- reading the SDK


class _Reader:
    """Turns the SDK's annotations into nodes, resolving its string annotations lazily."""

    def __init__(self) -> None:
        self._objects: dict[type, Obj] = {}

    def resolve(self, annotation: Any, namespace: Mapping[str, Any]) -> Any:
        if isinstance(annotation, ForwardRef):
            annotation = annotation.__forward_arg__
        if isinstance(annotation, str):
            # The SDK's own generated annotations, evaluated in its module like typing does.
            return eval(annotation, dict(namespace))  # noqa: S307
        return annotation

    def node(self, annotation: Any, namespace: Mapping[str, Any]) -> Node:
        tp = self.resolve(annotation, namespace)
        origin = te.get_origin(tp)
        args = te.get_args(tp)
        if origin in (te.Required, te.NotRequired):
            return self.node(args[0], namespace)
        if te.is_typeddict(tp):
            return self.typed_dict(tp)
        if origin is Union or type(tp).__name__ == "UnionType":
            return self.union(args, namespace)
        if origin in (Literal, te.Literal):
            return Enum(frozenset(str(a) for a in args))
        if origin is list:
            return Array(self.node(args[0], namespace))
        if origin is dict:
            return Map(self.node(args[1], namespace))
        if isinstance(origin, type) and origin.__name__ == "UntypedStripeObject":
            return Map(self.node(args[0], namespace) if args else Scalar("string"))
        scalar = {str: "string", int: "integer", bool: "boolean", float: "number"}.get(tp)
        if scalar is not None:
            return Scalar(scalar)
        if getattr(tp, "__name__", "") == "Decimal":
            return Scalar("decimal")
        raise TypeError(f"no rule for the SDK parameter type {tp!r}")

    def union(self, args: tuple[Any, ...], namespace: Mapping[str, Any]) -> Node:
        options: list[Node] = []
        emptyable = False
        for arg in args:
            node = self.node(arg, namespace)
            if isinstance(node, Enum) and "" in node.values:
                emptyable = True
                rest = node.values - {""}
                if not rest:
                    continue
                node = Enum(rest)
            options.append(node)
        if any(isinstance(o, Enum) for o in options):
            # The generator adds ``| str`` beside every enum so that old SDKs accept values
            # Stripe adds later; the API itself takes only the listed ones.
            options = [o for o in options if o != Scalar("string")]
        if len(options) == 1 and not emptyable:
            return options[0]
        return AnyOf(tuple(options), emptyable)

    def typed_dict(self, cls: type) -> Obj:
        known = self._objects.get(cls)
        if known is not None:
            return known
        namespace = vars(sys.modules[cls.__module__])
        fields: dict[str, Node] = {}
        # Placeholder first: a type that contains itself reuses the object being built.
        obj = Obj(fields, frozenset(cls.__required_keys__) - _OPTION_KEYS)  # type: ignore[attr-defined]
        self._objects[cls] = obj
        for key, annotation in cls.__annotations__.items():
            if key not in _OPTION_KEYS:
                fields[key] = self.node(annotation, namespace)
        return obj


#: ``self._request("post", "/v1/...")`` in a service method whose params type is named.
_METHOD = re.compile(
    r'params: (?:Optional\[)?"(?P<params>\w+Params)"\]?.*?'
    r'self\._request\(\s*"(?P<verb>\w+)",\s*"(?P<path>/v1/[^"]*)"',
    re.DOTALL,
)
_IMPORT = re.compile(r"from (stripe\.params[\w.]*) import \(?\s*(\w+Params)\b")


def _service_files() -> Iterator[Path]:
    root = Path(stripe.__file__).parent
    yield from sorted(root.glob("_*_service.py"))
    yield from sorted(root.glob("*/_*_service.py"))


def route_key_for(verb: str, path: str) -> tuple[str, ...]:
    """``("post", "/v1/payment_intents/{intent}/confirm")`` -> the fake's route key."""
    parts = path.removeprefix("/v1/").split("/")
    if parts[:2] == ["checkout", "sessions"]:
        parts = ["checkout/sessions", *parts[2:]]
    return (verb.upper(), *("*" if p.startswith("{") else p for p in parts))


@functools.cache
def sdk_endpoints() -> dict[tuple[str, ...], tuple[str, str]]:
    """Every v1 endpoint the SDK's services call: route key -> (params module, class name).

    Read from the service modules' source text (the SDK's generated code), once per process.
    """
    endpoints: dict[tuple[str, ...], tuple[str, str]] = {}
    for file in _service_files():
        text = file.read_text(encoding="utf-8")
        modules = {name: module for module, name in _IMPORT.findall(text)}
        for method in re.split(r"\n    (?:async )?def ", text):
            match = _METHOD.search(method)
            if match is None:
                continue
            name = match["params"]
            module = modules.get(name)
            if module is not None:
                key = route_key_for(match["verb"], match["path"])
                endpoints.setdefault(key, (module, name))
    return endpoints


@functools.cache
def official_schemas(routes: frozenset[tuple[str, ...]]) -> dict[tuple[str, ...], Obj]:
    """The SDK's parameter schema for each of ``routes`` (route keys the SDK must know)."""
    endpoints = sdk_endpoints()
    reader = _Reader()
    schemas: dict[tuple[str, ...], Obj] = {}
    for route in sorted(routes):
        module, name = endpoints[route]
        __import__(module)
        schemas[route] = reader.typed_dict(getattr(sys.modules[module], name))
    return schemas


def check_request(schema: Obj, params: Mapping[str, Any]) -> None:
    """Raise Stripe's error if ``params`` (decoded form) break the SDK's schema."""
    schema.check_fields(params, "")
