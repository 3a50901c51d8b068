"""Reading request bodies and validating fields with Razorpay's error wording."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from starlette.requests import Request

from paywire_sandbox.razorpay._errors import RazorpayError

__all__ = [
    "MAX_NOTES",
    "MAX_NOTE_KEY",
    "MAX_NOTE_VALUE",
    "Fields",
    "load_json",
    "nesting_within",
    "query_integer",
    "read_json",
]

MAX_NOTES = 15
MAX_NOTE_KEY = 255
MAX_NOTE_VALUE = 256

_TRUE = {True, "1", "true"}  # 1 == True, so the integer 1 is in the set too
_FALSE = {False, "0", "false"}


_QUERY_INTEGER = re.compile(r"[0-9]{1,15}")
#: Razorpay's bodies nest a few levels (notes, token, customer); far deeper input is malformed
#: and would otherwise exhaust Python's recursion limit in later steps (hashing, copying).
MAX_NESTING = 64


def _no_constant(name: str) -> object:
    # NaN and Infinity are not JSON (Razorpay's PHP decoder refuses them); Python's accepts them.
    raise ValueError(f"{name} is not JSON")


def load_json(raw: bytes) -> object:
    """Decode ``raw`` as strict JSON, or raise Razorpay's error.

    Nesting too deep for the decoder (``RecursionError``) is malformed input like any other, not a
    sandbox failure.
    """
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise RazorpayError("The request body is not valid JSON.") from None
    if not nesting_within(value, MAX_NESTING):
        raise RazorpayError("The request body is not valid JSON.")
    return value


def nesting_within(value: object, limit: int) -> bool:
    """Whether ``value`` nests arrays/objects at most ``limit`` deep (checked without recursion)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = list(item)
        else:
            continue
        if depth >= limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


async def read_json(request: Request) -> dict[str, object]:
    """The request's JSON object; an empty body is an empty object (the SDK sends ``{}``)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    data = load_json(raw)
    if not isinstance(data, dict):
        raise RazorpayError("The request body must be a JSON object.")
    return data


def query_integer(value: str, name: str) -> int:
    """A query parameter made of ASCII digits (``int()`` would also take ``"²"`` or ``" 1"``)."""
    if not _QUERY_INTEGER.fullmatch(value):
        raise RazorpayError(f"The {name} must be an integer.", field=name)
    return int(value)


class Fields:
    """One JSON object's fields, checked one by one; unknown keys are refused up front."""

    def __init__(
        self, data: Mapping[str, object], allowed: Iterable[str], *, prefix: str = ""
    ) -> None:
        allowed_set = set(allowed)
        extra = [key for key in data if key not in allowed_set]
        if extra:
            names = ", ".join(prefix + key for key in extra)
            raise RazorpayError(f"{names} is/are not required and should not be sent")
        self._data = data
        self._prefix = prefix

    def __contains__(self, name: str) -> bool:
        return self._data.get(name) is not None

    def _name(self, name: str) -> str:
        return self._prefix + name

    def name_of(self, name: str) -> str:
        """The field's full name as Razorpay's errors write it (``customer.contact``)."""
        return self._prefix + name

    def raw(self, name: str) -> object:
        """The value as sent (None when absent or null)."""
        return self._data.get(name)

    def require(self, name: str) -> object:
        """The value, or Razorpay's "field is required" error."""
        value = self._data.get(name)
        if value is None or value == "":
            raise RazorpayError(
                f"The {self._name(name)} field is required.", field=self._name(name)
            )
        return value

    def string(
        self, name: str, *, max_length: int | None = None, required: bool = False
    ) -> str | None:
        """A string field, at most ``max_length`` characters."""
        value = self.require(name) if required else self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RazorpayError(f"The {self._name(name)} must be a string.", field=self._name(name))
        if max_length is not None and len(value) > max_length:
            raise RazorpayError(
                f"The {self._name(name)} may not be greater than {max_length} characters.",
                field=self._name(name),
            )
        return value

    def text(self, name: str, *, max_length: int | None = None) -> str:
        """A required string field."""
        value = self.string(name, max_length=max_length, required=True)
        if value is None:  # unreachable: require() refused it; this narrows the type
            raise RazorpayError(
                f"The {self._name(name)} field is required.", field=self._name(name)
            )
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = None
    ) -> int | None:
        """An integer field (JSON booleans and floats are refused)."""
        value = self.require(name) if required else self._data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise RazorpayError(
                f"The {self._name(name)} must be an integer.", field=self._name(name)
            )
        if minimum is not None and value < minimum:
            raise RazorpayError(
                f"The {self._name(name)} must be at least {minimum}.", field=self._name(name)
            )
        return value

    def boolean(self, name: str) -> bool | None:
        """A boolean field; Razorpay also takes ``0``/``1`` and their string forms."""
        value = self._data.get(name)
        if value is None:
            return None
        if isinstance(value, (bool, int, str)):
            if value in _TRUE:
                return True
            if value in _FALSE:
                return False
        raise RazorpayError(
            f"The {self._name(name)} field must be true or false.", field=self._name(name)
        )

    def choice(self, name: str, choices: Iterable[str], *, required: bool = False) -> str | None:
        """A string field that must be one of ``choices``."""
        value = self.string(name, required=required)
        if value is None:
            return None
        if value not in set(choices):
            raise RazorpayError(
                f"The selected {self._name(name)} is invalid.", field=self._name(name)
            )
        return value

    def obj(self, name: str, allowed: Iterable[str], *, required: bool = False) -> Fields | None:
        """A nested object, itself checked for unknown keys."""
        value = self.require(name) if required else self._data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise RazorpayError(f"The {self._name(name)} must be an array.", field=self._name(name))
        return Fields(value, allowed, prefix=f"{self._name(name)}.")

    def section(self, name: str, allowed: Iterable[str]) -> Fields:
        """A required nested object."""
        section = self.obj(name, allowed, required=True)
        if section is None:  # unreachable: require() refused it; this narrows the type
            raise RazorpayError(
                f"The {self._name(name)} field is required.", field=self._name(name)
            )
        return section

    def notes(self, name: str = "notes") -> dict[str, object]:
        """Razorpay's ``notes``: at most 15 scalar values, keys ≤255 and values ≤256 characters."""
        value = self._data.get(name)
        if value is None or value == []:  # PHP clients send an empty array for "no notes"
            return {}
        if not isinstance(value, dict):
            raise RazorpayError("Notes should be provided as a dictionary", field=name)
        if len(value) > MAX_NOTES:
            raise RazorpayError(
                f"Number of fields in notes should be less than or equal to {MAX_NOTES}", field=name
            )
        for key, item in value.items():
            if len(key) > MAX_NOTE_KEY:
                raise RazorpayError(
                    f"Notes key cannot be greater {MAX_NOTE_KEY} characters", field=name
                )
            if isinstance(item, (list, dict)):
                raise RazorpayError("Notes values themselves should not be an array", field=name)
            if isinstance(item, str) and len(item) > MAX_NOTE_VALUE:
                raise RazorpayError(
                    f"Notes value cannot be greater {MAX_NOTE_VALUE} characters", field=name
                )
        return dict(value)
