"""Webhook delivery: signing at send time, retries, records, redelivery, webhook faults."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
from collections.abc import Sequence
from typing import ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from paywire_sandbox import Fake, RunningSandbox, WebhookEndpoint, run_sandbox
from paywire_sandbox.testing import WebhookReceiver

SECRET = "whsec_test_secret"


def fire(sb: RunningSandbox, event_type: str = "thing.created", provider: str = "echo") -> str:
    response = sb.control("POST", f"/{provider}/emit", json={"type": event_type})
    assert response.status_code == 200, response.text
    event_id: str = response.json()["event_id"]
    return event_id


def verify(headers: dict[str, str], body: bytes, secret: str) -> int:
    """Check an Echo-Signature header; returns its timestamp."""
    parts = dict(part.split("=", 1) for part in headers["Echo-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())
    return int(parts["t"])


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def test_event_is_delivered_signed_with_exact_body(echo: RunningSandbox) -> None:
    with WebhookReceiver() as rx:
        endpoint = echo.register_webhook("echo", rx.url, SECRET)
        with httpx.Client(base_url=echo.url) as client:
            thing = client.post("/echo/v1/things").json()
        echo.wait_for_webhooks()
        [(headers, body)] = rx.wait_for(1)
    event = json.loads(body)
    assert event["type"] == "thing.created"
    assert event["data"] == thing
    assert headers["content-type"] == "application/json"
    timestamp = verify(headers, body, SECRET)
    assert abs(timestamp - echo.now()) < 5
    [record] = echo.deliveries()
    assert record["endpoint_id"] == endpoint["id"]
    assert record["event_id"] == event["id"]
    assert record["event_type"] == "thing.created"
    assert record["url"] == rx.url
    assert (record["attempt"], record["status"], record["delivered"], record["error"]) == (
        1,
        200,
        True,
        None,
    )
    assert SECRET not in json.dumps(echo.deliveries()) + json.dumps(echo.webhook_endpoints())


def test_signature_uses_the_advanced_clock_at_send_time(echo: RunningSandbox) -> None:
    with WebhookReceiver(statuses=[500]) as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        fire(echo)
        first = rx.wait_for(1)[0]
        # The first attempt failed; advance the clock before the retry is signed.
        echo.advance_clock(7200)
        echo.wait_for_webhooks()
        second = rx.requests[1]
    t1 = verify(first[0], first[1], SECRET)
    t2 = verify(second[0], second[1], SECRET)
    assert first[1] == second[1]
    assert t2 - t1 >= 7200


def test_failures_are_retried_on_the_schedule_and_each_attempt_recorded(
    echo: RunningSandbox,
) -> None:
    with WebhookReceiver(statuses=[500, 503, 200]) as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        fire(echo)
        echo.wait_for_webhooks()
        assert len(rx.requests) == 3
    records = echo.deliveries()
    assert [(r["attempt"], r["status"], r["delivered"]) for r in records] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(records)]
    assert gaps[0] >= 0.01
    assert gaps[1] >= 0.02


def test_retries_stop_after_the_schedule_is_exhausted(echo: RunningSandbox) -> None:
    delays = echo.info()["webhook_retry_delays"]
    with WebhookReceiver(default=400) as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        fire(echo)
        echo.wait_for_webhooks()
        assert len(rx.requests) == len(delays) + 1
    records = echo.deliveries()
    assert [r["attempt"] for r in records] == list(range(1, len(delays) + 2))
    assert not any(r["delivered"] for r in records)


def test_connection_errors_are_recorded_and_retried(echo: RunningSandbox) -> None:
    echo.register_webhook("echo", closed_port_url(), SECRET)
    fire(echo)
    echo.wait_for_webhooks()
    records = echo.deliveries()
    assert len(records) == len(echo.info()["webhook_retry_delays"]) + 1
    assert all(r["status"] is None and r["error"] for r in records)
    assert "ConnectError" in records[0]["error"]


def test_receiver_timeout_is_a_failed_attempt(echo: RunningSandbox) -> None:
    # The echo sandbox gives receivers 1 s; the first answer comes after 1.5 s.
    with WebhookReceiver(delays=[1.5]) as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        fire(echo)
        with pytest.raises(TimeoutError):
            echo.wait_for_webhooks(timeout=0.2)
        echo.wait_for_webhooks(timeout=10)
        assert len(rx.requests) == 2
    first, second = echo.deliveries()
    assert first["status"] is None
    assert "Timeout" in first["error"]
    assert (second["attempt"], second["delivered"]) == (2, True)


def test_no_endpoint_no_delivery(echo: RunningSandbox) -> None:
    fire(echo)
    echo.wait_for_webhooks(timeout=0.1)
    assert echo.deliveries() == []


def test_every_endpoint_of_the_provider_gets_the_event(echo: RunningSandbox) -> None:
    with WebhookReceiver() as a, WebhookReceiver() as b, WebhookReceiver() as other:
        echo.register_webhook("echo", a.url, "secret-a")
        echo.register_webhook("echo", b.url, "secret-b")
        echo.register_webhook("plain", other.url, "secret-c")
        fire(echo)
        echo.wait_for_webhooks()
        assert len(a.requests) == len(b.requests) == 1
        assert other.requests == []
        verify(*a.requests[0], "secret-a")
        verify(*b.requests[0], "secret-b")
    assert {r["provider"] for r in echo.deliveries()} == {"echo"}
    assert echo.deliveries(provider="plain") == []


def test_redeliver_sends_the_same_event_again(echo: RunningSandbox) -> None:
    with WebhookReceiver() as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        fire(echo)
        echo.wait_for_webhooks()
        [original] = echo.deliveries()
        record = echo.redeliver(original["id"])
        assert len(rx.requests) == 2
    assert rx.requests[0][1] == rx.requests[1][1]
    assert record["event_id"] == original["event_id"]
    assert record["id"] != original["id"]
    assert record["redelivery_of"] == original["id"]
    assert record["delivered"] is True
    assert [r["id"] for r in echo.deliveries()] == [original["id"], record["id"]]


def test_removed_endpoint_gets_nothing_more(echo: RunningSandbox) -> None:
    with WebhookReceiver(default=500) as rx:
        endpoint = echo.register_webhook("echo", rx.url, SECRET)
        echo.remove_webhook(endpoint["id"])
        fire(echo)
        echo.wait_for_webhooks()
        assert rx.requests == []
    assert echo.webhook_endpoints() == []


def test_duplicate_webhook_fault_delivers_matching_events_twice(echo: RunningSandbox) -> None:
    with WebhookReceiver() as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        echo.add_fault("echo", path="thing.*", kind="duplicate_webhook", count=1)
        fire(echo, "other.event")  # does not match
        fire(echo, "thing.created")  # delivered twice
        fire(echo, "thing.created")  # the fault is used up
        echo.wait_for_webhooks()
        types = [json.loads(body)["id"] for _, body in rx.requests]
    assert types == ["evt_1", "evt_2", "evt_2", "evt_3"]
    assert echo.faults() == []


def test_reorder_webhooks_fault_reverses_the_next_events(echo: RunningSandbox) -> None:
    with WebhookReceiver() as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        echo.add_fault("echo", path="*", kind="reorder_webhooks", count=3)
        fire(echo)
        fire(echo)
        [fault] = echo.faults()
        assert fault["held"] == 2
        assert rx.requests == []
        fire(echo)
        fire(echo)
        echo.wait_for_webhooks()
        ids = [json.loads(body)["id"] for _, body in rx.wait_for(4)]
    assert ids == ["evt_3", "evt_2", "evt_1", "evt_4"]


def test_clearing_a_reorder_fault_releases_what_it_held(echo: RunningSandbox) -> None:
    with WebhookReceiver() as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        echo.add_fault("echo", path="thing.*", kind="reorder_webhooks", count=5)
        fire(echo)
        fire(echo)
        echo.wait_for_webhooks()  # held events are not pending
        assert rx.requests == []
        echo.clear_faults()
        echo.wait_for_webhooks()
        ids = [json.loads(body)["id"] for _, body in rx.wait_for(2)]
    assert ids == ["evt_2", "evt_1"]


def test_reset_drops_pending_deliveries_and_endpoints(echo: RunningSandbox) -> None:
    with WebhookReceiver(default=500) as rx:
        echo.register_webhook("echo", rx.url, SECRET)
        fire(echo)
        rx.wait_for(1)
        echo.reset()
        assert echo.deliveries() == []
        assert echo.webhook_endpoints() == []
        echo.wait_for_webhooks(timeout=0.1)
        count = len(rx.requests)
        fire(echo)
        echo.wait_for_webhooks()
        assert len(rx.requests) == count


def test_reset_can_keep_endpoints(echo: RunningSandbox) -> None:
    with WebhookReceiver() as rx:
        endpoint = echo.register_webhook("echo", rx.url, SECRET)
        echo.reset(keep_endpoints=True)
        assert [e["id"] for e in echo.webhook_endpoints()] == [endpoint["id"]]
        fire(echo)
        echo.wait_for_webhooks()
        assert len(rx.requests) == 1


def test_the_fake_fills_in_endpoint_extras(echo: RunningSandbox) -> None:
    """The framework asks the provider's fake (``Fake.endpoint_extra``) what to add to a new
    endpoint (PayPal assigns a webhook id); a fake without such data keeps what was given."""
    generated = echo.register_webhook("listener", "http://127.0.0.1:9/hook", SECRET)
    given = echo.register_webhook("listener", "http://127.0.0.1:9/hook", SECRET, listener_id="X")
    other = echo.register_webhook("echo", "http://127.0.0.1:9/hook", SECRET, note="kept")
    assert generated["extra"] == {"listener_id": "L1"}
    assert given["extra"] == {"listener_id": "X"}
    assert other["extra"] == {"note": "kept"}


class FlakyFake(Fake):
    """Fires an event per request; cannot sign for endpoints whose secret is ``"broken"``; its
    ``error_body`` misbehaves (raises for 5xx, returns the wrong type otherwise)."""

    name: ClassVar[str] = "flaky"

    def routes(self) -> Sequence[BaseRoute]:
        async def fire_event(request: Request) -> Response:
            self.ctx.webhooks.emit(self.name, "evt_flaky", "flaky.event", b'{"id":"evt_flaky"}')
            return PlainTextResponse("fired")

        return [Route("/fire", fire_event, methods=["POST"])]

    def reset(self) -> None:
        return None

    def sign_webhook(
        self, body: bytes, endpoint: WebhookEndpoint, timestamp: int
    ) -> dict[str, str]:
        if endpoint.secret == "broken":
            raise KeyError("no key")
        return {"Flaky-Signature": str(timestamp), "Content-Type": "application/vnd.flaky+json"}

    def error_body(self, status: int, message: str) -> tuple[bytes, str]:
        if status >= 500:
            raise RuntimeError("error_body is broken too")
        return "not bytes", "text/plain"  # type: ignore[return-value]


def test_a_signing_failure_is_recorded_once_and_not_retried() -> None:
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    with run_sandbox(
        [FlakyFake], webhook_retry_delays=(0.01,), webhook_transport=httpx.MockTransport(receive)
    ) as sb:
        sb.register_webhook("flaky", "http://receiver.test/broken", "broken")
        sb.register_webhook("flaky", "http://receiver.test/ok", "fine")
        assert httpx.post(f"{sb.url}/flaky/fire").text == "fired"
        sb.wait_for_webhooks()
        records = {r["url"]: r for r in sb.deliveries()}
    assert len(records) == 2
    broken = records["http://receiver.test/broken"]
    assert broken["status"] is None
    assert broken["error"] == "sandbox internal error: signing failed (KeyError)"
    assert broken["delivered"] is False
    [request] = sent  # through the injected transport; nothing sent for the broken endpoint
    assert str(request.url) == "http://receiver.test/ok"
    assert request.headers["content-type"] == "application/vnd.flaky+json"  # the fake's wins
    assert request.content == b'{"id":"evt_flaky"}'
    assert records["http://receiver.test/ok"]["status"] == 204


def test_a_broken_error_body_hook_falls_back_to_the_generic_body() -> None:
    with run_sandbox([FlakyFake]) as sb, httpx.Client(base_url=sb.url) as client:
        sb.add_fault("flaky", path="/fire", kind="server_error")
        sb.add_fault("flaky", path="/fire", kind="rate_limit")
        for status in (500, 429):
            response = client.post("/flaky/fire")
            assert response.status_code == status
            assert response.json()["error"]["type"] == "sandbox_error"


def test_the_receiver_drops_a_request_whose_body_was_cut_off() -> None:
    with WebhookReceiver() as rx:
        port = int(rx.url.split(":")[2].split("/")[0])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                b"POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
                b'{"id": "evt_cut'
            )
            sock.shutdown(socket.SHUT_WR)
            assert sock.recv(1024) == b""  # closed without an answer
        whole = httpx.post(rx.url, content=b'{"id": "evt_whole"}')
        assert whole.status_code == 200
        assert [body for _, body in rx.requests] == [b'{"id": "evt_whole"}']
