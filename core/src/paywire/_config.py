"""Per-provider settings, from code or ``PAYWIRE_<PROVIDER>_<SETTING>`` environment variables."""

from __future__ import annotations

import math
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from paywire._errors import ConfigurationError
from paywire._secrets import Secret, redact

__all__ = ["ProviderConfig", "load_config", "secret_field", "secrets_field"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _secret_or_none(value: Secret | str | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


def secret_field() -> Any:
    """An optional :class:`Secret` field: plain strings are wrapped, repr shows only a mask."""
    return attrs.field(default=None, converter=_secret_or_none)


def _secret_tuple(values: Any) -> tuple[Secret, ...]:
    if values is None:
        return ()
    if isinstance(values, str | Secret):
        values = (values,)
    out: list[Secret] = []
    for value in values:
        secret = Secret(value) if isinstance(value, str) else value
        if not isinstance(secret, Secret):
            raise TypeError("webhook secrets must be str or Secret values")
        if secret:
            out.append(secret)
    return tuple(out)


def secrets_field() -> Any:
    """A field holding several :class:`Secret` values (a tuple; strings are wrapped)."""
    return attrs.field(factory=tuple, converter=_secret_tuple)


@attrs.frozen
class ProviderConfig:
    """Settings every provider has. Plugins subclass it (frozen attrs) and add their own.

    Attributes:
        enabled: a disabled provider reports ``available() == False``.
        base_url: where the provider's API is (the sandbox's URL in tests); ``None`` = the real one.
        webhook_secret: the secret webhooks are signed with.
        webhook_secrets: more secrets that are accepted too — while a secret is rotated, the old
            one and the new one (``PAYWIRE_<PROVIDER>_WEBHOOK_SECRETS``, comma-separated). A
            webhook verifies when any configured secret matches.
        timeout: seconds to wait for the provider on each attempt.
        max_attempts: how many times one operation may be sent (1 = no retries).
    """

    enabled: bool = True
    base_url: str | None = None
    webhook_secret: Secret | None = secret_field()  # noqa: RUF009 - attrs field, not a dataclass
    webhook_secrets: tuple[Secret, ...] = secrets_field()
    timeout: float = attrs.field(default=30.0)
    max_attempts: int = attrs.field(default=3)

    @timeout.validator
    def _check_timeout(self, _: attrs.Attribute[float], value: float) -> None:
        if not 0 < value < math.inf:
            raise ConfigurationError("timeout must be a positive, finite number of seconds")

    @max_attempts.validator
    def _check_max_attempts(self, _: attrs.Attribute[int], value: int) -> None:
        if value < 1:
            raise ConfigurationError("max_attempts must be at least 1")

    def secrets(self) -> tuple[Secret, ...]:
        """Every secret in this config, for redaction."""
        found: list[Secret] = []
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if isinstance(value, Secret):
                found.append(value)
            elif isinstance(value, tuple):
                found.extend(item for item in value if isinstance(item, Secret))
        return tuple(found)

    def all_webhook_secrets(self) -> tuple[Secret, ...]:
        """``webhook_secret`` and then ``webhook_secrets``: every secret a webhook may be signed
        with, the current one first."""
        first = (self.webhook_secret,) if self.webhook_secret else ()
        return first + tuple(s for s in self.webhook_secrets if s != self.webhook_secret)


ConfigT = TypeVar("ConfigT", bound=ProviderConfig)


def _parse(raw: str, annotation: Any, env_name: str) -> Any:
    """``raw`` converted to the setting's type. Errors name the variable and never repeat the
    value: a secret typed into the wrong variable must not end up in a log."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if raw == "":
            return None
        annotation = options[0] if len(options) == 1 else str
    if annotation is Secret:
        return Secret(raw)
    if typing.get_origin(annotation) is tuple:
        item = typing.get_args(annotation)[0]
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        return tuple(Secret(part) if item is Secret else part for part in parts)
    if annotation is bool:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigurationError(f"{env_name} must be true or false (its value was not shown)")
    if annotation in (int, float):
        try:
            return annotation(raw)
        except ValueError:
            raise ConfigurationError(
                f"{env_name} must be a number ({annotation.__name__}); its value was not shown"
            ) from None
    return raw


def _is_secret(annotation: Any) -> bool:
    """Whether a setting holds a :class:`Secret` (``Secret`` or ``Secret | None``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        options = set(typing.get_args(annotation)) - {type(None)}
        return options == {Secret}
    return annotation is Secret


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def _matches(value: object, annotation: Any) -> bool:
    """Whether a value given in code has the setting's type (the simple types settings use)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_matches(value, option) for option in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is Secret:
        return isinstance(value, Secret | str)  # the field's converter wraps a str
    if typing.get_origin(annotation) is tuple:
        item = typing.get_args(annotation)[0]
        if isinstance(value, str | Secret) and item is Secret:
            return True  # one secret given for the list
        return isinstance(value, tuple | list) and all(_matches(v, item) for v in value)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True  # richer annotations are the config class's own validators' business


def load_config(
    config_class: type[ConfigT],
    provider: str,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> ConfigT:
    """Build ``config_class`` for ``provider`` from ``overrides`` and the environment.

    A setting given in code wins over ``PAYWIRE_<PROVIDER>_<SETTING>`` (upper case). Values read
    from the environment are converted to the field's type; secrets are wrapped in :class:`Secret`.
    Raises :class:`ConfigurationError` for an unknown setting or a value of the wrong shape.
    """
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(config_class)
    names = {field.name for field in attrs.fields(config_class)}
    unknown = set(overrides) - names
    if unknown:
        raise ConfigurationError(
            f"unknown {provider} setting(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(names))}"
        )
    values: dict[str, Any] = {}
    prefix = f"PAYWIRE_{provider.upper().replace('-', '_')}_"
    for name in names:
        if name in overrides:
            value = overrides[name]
            # Checked here because attrs does not: enabled="no" would otherwise mean True.
            if not _matches(value, hints[name]):
                raise ConfigurationError(
                    f"{provider} setting {name} must be {_type_name(hints[name])}, "
                    f"got {type(value).__name__}"
                )
            if isinstance(value, str) and _is_secret(hints[name]):
                value = Secret(value)  # also when the field lacks secret_field()'s converter
            values[name] = value
            continue
        env_name = prefix + name.upper()
        if env_name in env:
            values[name] = _parse(env[env_name], hints[name], env_name)
    try:
        return config_class(**values)
    except (TypeError, ValueError) as exc:
        # Validators may quote the value they refused; secrets are masked by Secret itself, and
        # credential-shaped text is scrubbed here too.
        raise ConfigurationError(
            redact(f"invalid {provider} settings: {exc}", _secret_values(values))
        ) from None


def _secret_values(values: Mapping[str, Any]) -> list[Secret]:
    found: list[Secret] = []
    for value in values.values():
        if isinstance(value, Secret):
            found.append(value)
        elif isinstance(value, tuple):
            found.extend(v for v in value if isinstance(v, Secret))
    return found
