"""The tolerant readers every PayPal answer and event goes through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from paywire_paypal._fields import as_list, as_mapping, aware_time, str_or_none

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(json_values)
def test_readers_never_raise_and_keep_only_their_type(value: object) -> None:
    assert str_or_none(value) == (value if isinstance(value, str) and value else None)
    assert as_mapping(value) == (value if isinstance(value, dict) else {})
    assert as_list(value) == (value if isinstance(value, list) else [])
    assert aware_time(value) is None or isinstance(value, str)


def test_times_need_an_offset() -> None:
    assert aware_time("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert aware_time("2024-05-01T17:30:00+05:30") == datetime(
        2024, 5, 1, 17, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )
    assert aware_time("2024-05-01T12:00:00") is None  # no offset: not an exact moment
    assert aware_time("yesterday") is None
    assert aware_time("") is None
    assert aware_time(1714564800) is None
