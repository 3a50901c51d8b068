"""Event rules: a provider's table from its own event names to normalized :class:`WebhookEvent`\\ s.

Each rule says which :class:`~paywire.EventType` a provider event is (fixed, or decided from the
event's object) and how to read the normalized fields from that object. The table is data: its
:attr:`EventRules.types` is the set of event names the plugin maps (what ``EVENT_TYPES`` used to
be, in several shapes), and :meth:`EventRules.normalize` builds the event, turning a rule that
cannot read its object into :class:`~paywire.MalformedWebhook` rather than a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict

import attrs

from paywire._errors import InvalidAmount, MalformedWebhook, UnknownEvent
from paywire._types import EventType, WebhookEvent
from paywire._webhook_body import check_text, valid_text

if TYPE_CHECKING:
    from paywire._money import Money

__all__ = ["EventFields", "EventRule", "EventRules"]


class EventFields(TypedDict, total=False):
    """The normalized fields a rule reads from an event's object (all optional)."""

    invoice_id: str | None
    amount: Money | None
    transaction_id: str | None
    refund_id: str | None
    payment_method_id: str | None
    customer_id: str | None
    session_id: str | None
    method_saved: bool


#: How an event's type is decided: a fixed type, or a function of the event's object.
Kind = EventType | Callable[[Mapping[str, Any]], EventType]
#: Reads the normalized fields from the event's object; raises (KeyError, TypeError, ValueError,
#: InvalidAmount) when the object does not have the provider's shape.
Reader = Callable[[Mapping[str, Any]], EventFields]


@attrs.frozen
class EventRule:
    """One provider event name's normalization: its ``kind`` and its field ``read``\\ er."""

    kind: Kind
    read: Reader


_TEXT_FIELDS = (
    "invoice_id",
    "transaction_id",
    "refund_id",
    "payment_method_id",
    "customer_id",
    "session_id",
)


class EventRules(Mapping[str, EventRule]):
    """A provider's event table: event name → :class:`EventRule`."""

    def __init__(self, provider: str, rules: Mapping[str, EventRule]) -> None:
        self.provider = provider
        self._rules = dict(rules)
        #: Every provider event name the table maps.
        self.types: frozenset[str] = frozenset(self._rules)

    def __getitem__(self, name: str) -> EventRule:
        return self._rules[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"<EventRules {self.provider!r} {len(self._rules)} types>"

    def normalize(
        self,
        raw_type: str,
        obj: Mapping[str, Any],
        *,
        event_id: str,
        created_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> WebhookEvent:
        """The normalized event for provider event ``raw_type`` about ``obj``.

        Raises :class:`~paywire.UnknownEvent` for a name the table does not map, and
        :class:`~paywire.MalformedWebhook` when ``obj`` cannot be read or an id is not valid text.
        """
        rule = self._rules.get(raw_type)
        if rule is None:
            raise UnknownEvent(
                f"{self.provider} event type {raw_type!r} is not normalized",
                provider=self.provider,
                event_type=raw_type,
            )
        if not isinstance(event_id, str) or not event_id:
            raise MalformedWebhook(
                f"{self.provider} {raw_type} event without an id", provider=self.provider
            )
        try:
            kind = rule.kind if isinstance(rule.kind, EventType) else rule.kind(obj)
            fields = rule.read(obj)
        except (KeyError, TypeError, ValueError, AttributeError, InvalidAmount) as exc:
            raise MalformedWebhook(
                f"malformed {self.provider} {raw_type} event ({type(exc).__name__})",
                provider=self.provider,
            ) from None
        if not isinstance(fields.get("method_saved", False), bool):
            raise MalformedWebhook(f"malformed {self.provider} {raw_type} event (method_saved)")
        texts = [event_id, raw_type]
        for name in _TEXT_FIELDS:
            value = fields.get(name)
            if value is None:
                continue
            if not isinstance(value, str):
                raise MalformedWebhook(
                    f"malformed {self.provider} {raw_type} event ({name})", provider=self.provider
                )
            texts.append(value)
        # One look at all of them (every event pays it): only a failure looks for which field.
        if not valid_text("".join(texts)):
            check_text(event_id, "the event id", provider=self.provider)
            check_text(raw_type, "the event type", provider=self.provider)
            for name in _TEXT_FIELDS:
                check_text(fields.get(name), name, provider=self.provider)
        return WebhookEvent(
            provider=self.provider,
            id=event_id,
            type=kind,
            raw_type=raw_type,
            created_at=created_at,
            data=obj if data is None else data,
            **fields,
        )
