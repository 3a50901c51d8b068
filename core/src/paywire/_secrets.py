"""Secret values and redaction: keys and tokens never reach repr, str, logs or exceptions."""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from typing import Final

__all__ = ["REDACTED", "Secret", "redact"]

REDACTED: Final = "[REDACTED]"

# Credentials with a recognisable shape are scrubbed even when nobody registered them: a provider's
# error message may echo part of a key, and an app may log a header it built itself.
_PATTERNS: Final = re.compile(
    r"(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9]{6,}"
    r"|whsec_[A-Za-z0-9+/=]{6,}"
    r"|rzp_(?:test|live)_[A-Za-z0-9]{6,}"
    # A credential after "Bearer"/"Basic": long, or with a digit or symbol in it — so that prose
    # such as "Basic authentication failed" survives while tokens and base64 do not.
    r"|(?i:bearer|basic)\s+(?:[A-Za-z0-9._~+/=-]{20,}"
    r"|(?=[A-Za-z.]*[0-9_~+/=-])[A-Za-z0-9._~+/=-]{8,})"
)


class Secret:
    """A credential. Its value is only reachable through :meth:`reveal`.

    ``repr``/``str``/format show a fixed mask, so a secret cannot leak through logging or an
    exception message by accident. Equality is constant-time.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling a secret (to a cache, a task queue) is a leak waiting to happen.
        raise TypeError("Secret values cannot be pickled")


def redact(text: str, secrets: Iterable[Secret | str] = ()) -> str:
    """``text`` with every given secret and every credential-shaped token replaced.

    Secrets shorter than four characters are not searched for: replacing them would mangle
    ordinary text without protecting anything.
    """
    for secret in secrets:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        if len(value) >= 4 and value in text:
            text = text.replace(value, REDACTED)
    return _PATTERNS.sub(REDACTED, text)
