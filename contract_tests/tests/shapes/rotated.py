"""Rotated secrets: a delivery carries one signature per secret the sender holds
(``Rot-Signature: t=…,v1=…,v1=…``), and the provider accepts any of its configured secrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Final

from paywire.plugin import (
    CurrencyRules,
    EventRules,
    Operation,
    get_header,
    immediately,
    verify_timestamped,
)
from paywire_sandbox import WebhookEndpoint
from shapes._base import ShapeFake, ShapeHarness, ShapeProvider, charge_events, hmac_hex

NAME = "rotated"
RULES = CurrencyRules(name=NAME, multiples={"KWD": 10})
HEADER = "Rot-Signature"
#: A secret the sender signs with besides the endpoint's (one it has since retired).
RETIRED: Final = "rotated-shape-retired-secret-0001"


def _header(body: bytes, timestamp: int, secrets: Sequence[str]) -> str:
    message = f"{timestamp}.".encode() + body
    return ",".join([f"t={timestamp}", *(f"v1={hmac_hex(s, message)}" for s in secrets)])


class RotatedFake(ShapeFake):
    """Signs every delivery with a retired secret and with the endpoint's."""

    name: ClassVar[str] = NAME

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        return {HEADER: _header(body, timestamp, [RETIRED, endpoint.secret])}


class RotatedProvider(ShapeProvider):
    """Checks every signature of a delivery against each configured secret."""

    name: ClassVar[str] = NAME
    currency_rules: ClassVar[CurrencyRules] = RULES
    events: ClassVar[EventRules] = EventRules(NAME, charge_events(RULES))

    def webhook_secrets(self) -> Sequence[str | None]:
        secrets = super().webhook_secrets()
        return secrets[:1] if "current_secret_only" in self.bugs else secrets

    def op_verify(
        self, body: bytes, headers: Mapping[str, str], secret: str | None
    ) -> Operation[None]:
        header = get_header(headers, HEADER)
        if header is not None and "first_signature_only" in self.bugs:
            parts = header.split(",")
            header = ",".join(
                [p for p in parts if not p.startswith("v1=")]
                + [next((p for p in parts if p.startswith("v1=")), "")]
            )
        verify_timestamped(body, header, secret, tolerance=300)
        return immediately(None)


class RotatedHarness(ShapeHarness):
    """The rotated-secrets shape's harness: its signatures lead with one that never matches."""

    provider_name: ClassVar[str] = NAME
    provider_class: ClassVar[type[ShapeProvider]] = RotatedProvider

    def sign_webhook(self, payload: bytes, secret: str, *, timestamp: int) -> dict[str, str]:
        return {HEADER: _header(payload, timestamp, [RETIRED, secret])}
