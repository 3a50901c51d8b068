"""No error codes: the provider's errors carry a message only, so declines are told apart by it
(``error_codes = False``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from paywire import AlreadyRefunded, AuthenticationRequired, CardDeclined, PaymentMethodExpired
from paywire.plugin import CurrencyRules, ErrorInfo, ErrorRule, EventRules, Reply
from shapes._base import ShapeFake, ShapeHarness, ShapeProvider, charge_events

NAME = "nocodes"
RULES = CurrencyRules(name=NAME, multiples={"KWD": 10})


class NoCodesFake(ShapeFake):
    """Errors are ``{"error": {"message"}}``."""

    name: ClassVar[str] = NAME
    error_codes: ClassVar[bool] = False


class NoCodesProvider(ShapeProvider):
    """Maps errors by their message."""

    name: ClassVar[str] = NAME
    currency_rules: ClassVar[CurrencyRules] = RULES
    events: ClassVar[EventRules] = EventRules(NAME, charge_events(RULES))
    error_rules: ClassVar[Sequence[ErrorRule]] = (
        ErrorRule(PaymentMethodExpired, message=r"card has expired"),
        ErrorRule(CardDeclined, message=r"card was declined"),
        ErrorRule(AuthenticationRequired, message=r"needs the customer to authenticate"),
        ErrorRule(AlreadyRefunded, message=r"already been refunded|exceeds what is left"),
    )

    def read_error(self, reply: Reply) -> ErrorInfo:
        info = super().read_error(reply)
        if "no_message_rules" in self.bugs:
            return ErrorInfo(code=info.code)  # the message is dropped, so no rule matches
        return info


class NoCodesHarness(ShapeHarness):
    """The no-error-codes shape's harness."""

    provider_name: ClassVar[str] = NAME
    provider_class: ClassVar[type[ShapeProvider]] = NoCodesProvider
    error_codes = False
