"""The fault set on its own: validation of arbitrary input, matching, counts, the fast path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire_sandbox import FaultKind
from paywire_sandbox._faults import Fault, FaultSet


def fault_set() -> FaultSet:
    return FaultSet(lambda: {"echo": object(), "other": object()})


scalars = st.none() | st.booleans() | st.integers(-5, 700) | st.floats() | st.text(max_size=8)
values = (
    scalars
    | st.sampled_from([k.value for k in FaultKind])
    | st.sampled_from(["echo", "other", "*", "/v1/*", "GET", "post", 0.5, 429, 503])
)
keys = st.sampled_from(
    ["provider", "kind", "method", "path", "count", "status", "retry_after", "delay", "other"]
)


@given(st.dictionaries(keys, values, max_size=8) | scalars | st.lists(scalars, max_size=2))
def test_any_input_is_a_fault_or_a_value_error(data: Any) -> None:
    faults = fault_set()
    try:
        fault = faults.add_from_json(data)
    except ValueError as exc:
        message = str(exc)
    else:
        message = ""
    if message:
        assert len(faults) == 0
        assert not faults.http_active
        return
    assert isinstance(fault, Fault)
    assert list(faults) == [fault]
    assert faults.http_active is not fault.kind.is_webhook
    assert fault.count is None or fault.count >= 1
    if fault.kind is FaultKind.SERVER_ERROR:
        assert fault.status is not None
        assert 500 <= fault.status <= 599
    if fault.kind is FaultKind.DELAY:
        assert fault.delay is not None
        assert 0 < fault.delay <= 300


def test_the_fast_path_flag_follows_the_http_faults() -> None:
    faults = fault_set()
    faults.add_from_json({"provider": "echo", "kind": "duplicate_webhook"})
    assert not faults.http_active  # webhook faults never slow requests down
    faults.add_from_json({"provider": "echo", "kind": "server_error", "count": 2, "path": "/a"})
    assert faults.http_active
    assert faults.take_http("echo", "POST", "/a") is not None
    assert faults.http_active
    assert faults.take_http("echo", "POST", "/a") is not None
    assert not faults.http_active  # used up
    assert faults.take_http("echo", "POST", "/a") is None


@pytest.mark.parametrize(
    ("fault", "request_", "matches"),
    [
        ({"method": "POST", "path": "/v1/payment_intents"}, ("POST", "/v1/payment_intents"), True),
        ({"method": "post", "path": "/v1/payment_intents"}, ("POST", "/v1/payment_intents"), True),
        ({"method": "GET", "path": "/v1/payment_intents"}, ("POST", "/v1/payment_intents"), False),
        ({"method": "*", "path": "/v1/*"}, ("DELETE", "/v1/customers/cus_1"), True),
        (
            {"method": None, "path": "/v1/*/confirm"},
            ("POST", "/v1/payment_intents/pi_1/confirm"),
            True,
        ),
        ({"path": "/v1/payment_intents"}, ("POST", "/v1/payment_intents/pi_1"), False),
        ({"path": "/v1/payment_intents*"}, ("POST", "/v1/payment_intents/pi_1"), True),
        ({"path": "/V1/*"}, ("POST", "/v1/x"), False),
    ],
)
def test_http_matching(fault: dict[str, Any], request_: tuple[str, str], matches: bool) -> None:
    faults = fault_set()
    faults.add_from_json({"provider": "echo", "kind": "rate_limit", **fault})
    assert faults.take_http("other", *request_) is None  # another provider never matches
    assert (faults.take_http("echo", *request_) is not None) is matches


def test_webhook_faults_match_event_types_and_are_consumed_explicitly() -> None:
    faults = fault_set()
    fault = faults.add_from_json(
        {"provider": "echo", "kind": "duplicate_webhook", "path": "payment_intent.*", "count": 2}
    )
    kind = FaultKind.DUPLICATE_WEBHOOK
    assert faults.matching_webhook("echo", "charge.succeeded", kind) is None
    assert (
        faults.matching_webhook("echo", "payment_intent.succeeded", FaultKind.REORDER_WEBHOOKS)
        is None
    )
    assert faults.matching_webhook("echo", "payment_intent.succeeded", kind) is fault
    assert (
        faults.matching_webhook("echo", "payment_intent.succeeded", kind) is fault
    )  # not consumed
    faults.consume(fault)
    faults.consume(fault)
    assert faults.matching_webhook("echo", "payment_intent.succeeded", kind) is None
    assert fault.hits == 2
