"""Completing a setup through the interface (``complete_setup``), and the follow-up that gives
handlers the saved method (``follow_up``), sync and async (fake Stripe in memory)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from stripe_fakes import FakeStripe, Runner, form, stripe_json

import paywire
from paywire_stripe import StripeProvider
from paywire_stripe._samples import event, objects

SAMPLES = objects()
SESSION = "cs_test_setup1"
INTENT = "seti_1Pgag7B7WZ01zgkWSgwGdb8Z"
METHOD = "pm_1Pgc75B7WZ01zgkWlHVgdEGJ"
CUSTOMER = "cus_QXg1hqf4jFNsqG"
SETUP = paywire.SetupSession("stripe", SESSION, "https://checkout.stripe.com/c/pay/cs_test_setup1")


def setup_session(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": SESSION,
        "mode": "setup",
        "status": "complete",
        "payment_intent": None,
        "amount_total": None,
        "setup_intent": SAMPLES["setup_intent"](),
        **changes,
    }
    session: dict[str, Any] = SAMPLES["checkout.session"](**values)
    return session


def serve_session(fake: FakeStripe, **changes: Any) -> None:
    fake.on("GET", f"/v1/checkout/sessions/{SESSION}", stripe_json(200, setup_session(**changes)))


def test_complete_setup_from_the_session(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    serve_session(fake)
    saved = run(provider, "complete_setup", SETUP)
    assert saved == paywire.SavedPaymentMethod("stripe", METHOD, CUSTOMER)
    (request,) = fake.requests
    # One request: the session with its SetupIntent expanded.
    assert request.url.params.get("expand[0]") == "setup_intent"
    assert "Idempotency-Key" not in request.headers


def test_complete_setup_from_the_id_and_the_success_url_query(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    serve_session(fake)
    saved = run(provider, "complete_setup", SESSION, params={"session_id": SESSION, "x": "1"})
    assert saved.id == METHOD
    assert saved.customer_id == CUSTOMER


def test_a_success_url_naming_another_session_is_refused(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    with pytest.raises(paywire.InvalidRequest, match="cs_test_other"):
        run(provider, "complete_setup", SETUP, params={"session_id": "cs_test_other"})
    assert fake.requests == []


def test_the_setup_intent_is_read_when_stripe_did_not_expand_it(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    serve_session(fake, setup_intent=INTENT, customer=None)
    fake.on("GET", f"/v1/setup_intents/{INTENT}", stripe_json(200, SAMPLES["setup_intent"]()))
    saved = run(provider, "complete_setup", SETUP)
    assert saved == paywire.SavedPaymentMethod("stripe", METHOD, CUSTOMER)
    assert [r.url.path for r in fake.requests] == [
        f"/v1/checkout/sessions/{SESSION}",
        f"/v1/setup_intents/{INTENT}",
    ]


def test_an_unfinished_setup_is_authentication_required_with_its_page(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    waiting = SAMPLES["setup_intent"](status="requires_payment_method", payment_method=None)
    serve_session(fake, status="open", url=SETUP.url, setup_intent=waiting)
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        run(provider, "complete_setup", SETUP)
    assert caught.value.transaction_id == INTENT
    assert caught.value.action_url == SETUP.url
    assert caught.value.raw_code == "requires_payment_method"


def test_a_card_still_being_authenticated_is_not_saved_yet(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    challenge = "https://hooks.stripe.com/3d_secure/authenticate/seti_1"
    authenticating = SAMPLES["setup_intent"](
        status="requires_action",
        next_action={"type": "redirect_to_url", "redirect_to_url": {"url": challenge}},
    )
    serve_session(fake, status="open", url=SETUP.url, setup_intent=authenticating)
    with pytest.raises(paywire.AuthenticationRequired) as caught:
        run(provider, "complete_setup", SETUP)
    assert caught.value.action_url == challenge  # the intent's own page before the session's
    assert caught.value.raw_code == "requires_action"


def test_a_payment_session_is_no_setup(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    serve_session(fake, mode="payment")
    with pytest.raises(paywire.InvalidRequest, match="not a setup"):
        run(provider, "complete_setup", SETUP)


def test_complete_setup_from_a_setup_intent_event_needs_no_request(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    found = provider.parse_webhook(
        json.dumps(event("setup_intent.succeeded", SAMPLES["setup_intent"]())).encode(), {}
    )
    assert isinstance(found, paywire.WebhookEvent)
    saved = run(provider, "complete_setup", found)
    assert saved == paywire.SavedPaymentMethod("stripe", METHOD, CUSTOMER)
    assert fake.requests == []


def setup_event(provider: StripeProvider) -> paywire.WebhookEvent:
    session = setup_session(setup_intent=INTENT)
    found = provider.parse_webhook(
        json.dumps(event("checkout.session.completed", session)).encode(), {}
    )
    assert isinstance(found, paywire.WebhookEvent)
    assert found.type is paywire.EventType.SETUP_COMPLETED
    assert found.saved_payment_method is None  # checkout.session.completed names no method
    return found


def test_complete_setup_from_a_setup_checkout_event(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    fake.on("GET", f"/v1/setup_intents/{INTENT}", stripe_json(200, SAMPLES["setup_intent"]()))
    saved = run(provider, "complete_setup", setup_event(provider))
    assert saved == paywire.SavedPaymentMethod("stripe", METHOD, CUSTOMER)


def test_an_event_that_is_no_setup_is_refused(
    fake: FakeStripe, provider: StripeProvider, run: Runner
) -> None:
    found = provider.parse_webhook(
        json.dumps(event("payment_intent.succeeded", SAMPLES["payment_intent"]())).encode(), {}
    )
    assert isinstance(found, paywire.WebhookEvent)
    with pytest.raises(paywire.InvalidRequest, match="not a completed Stripe setup"):
        run(provider, "complete_setup", found)


# -- follow_up ----------------------------------------------------------------------------------


def follow(provider: StripeProvider, path: str, found: paywire.WebhookEvent) -> Any:
    if path == "sync":
        return provider.follow_up(found)

    async def main() -> Any:
        try:
            return await provider.follow_up_async(found)
        finally:
            await provider.aclose()

    return asyncio.run(main())


@pytest.mark.parametrize("path", ["sync", "async"])
def test_follow_up_gives_a_setup_event_its_saved_method(
    fake: FakeStripe, provider: StripeProvider, path: str
) -> None:
    fake.on("GET", f"/v1/setup_intents/{INTENT}", stripe_json(200, SAMPLES["setup_intent"]()))
    original = setup_event(provider)
    completed = follow(provider, path, original)
    assert completed.saved_payment_method == paywire.SavedPaymentMethod("stripe", METHOD, CUSTOMER)
    assert (completed.id, completed.type, completed.session_id) == (
        original.id,
        original.type,
        original.session_id,
    )


def checkout_event(provider: StripeProvider, **changes: Any) -> paywire.WebhookEvent:
    found = provider.parse_webhook(
        json.dumps(
            event("checkout.session.completed", SAMPLES["checkout.session"](**changes))
        ).encode(),
        {},
    )
    assert isinstance(found, paywire.WebhookEvent)
    return found


@pytest.mark.parametrize("path", ["sync", "async"])
def test_follow_up_gives_a_checkout_that_saved_the_card_its_method(
    fake: FakeStripe, provider: StripeProvider, path: str
) -> None:
    intent = SAMPLES["payment_intent"](setup_future_usage="off_session")
    fake.on("GET", f"/v1/payment_intents/{intent['id']}", stripe_json(200, intent))
    original = checkout_event(provider)
    assert original.type is paywire.EventType.CHECKOUT_COMPLETED
    completed = follow(provider, path, original)
    assert completed.saved_payment_method == paywire.SavedPaymentMethod("stripe", METHOD, CUSTOMER)
    assert completed.invoice_id == original.invoice_id
    assert completed.amount == original.amount


def test_follow_up_leaves_a_checkout_that_saved_nothing_alone(
    fake: FakeStripe, provider: StripeProvider
) -> None:
    intent = SAMPLES["payment_intent"](setup_future_usage=None)
    fake.on("GET", f"/v1/payment_intents/{intent['id']}", stripe_json(200, intent))
    assert provider.follow_up(checkout_event(provider)) is None
    # Without a customer nothing can have been saved: not even a request.
    assert provider.follow_up(checkout_event(provider, customer=None)) is None
    assert len(fake.requests) == 1


def test_follow_up_has_nothing_to_do_for_other_events(
    fake: FakeStripe, provider: StripeProvider
) -> None:
    for payload in (
        event("payment_intent.succeeded", SAMPLES["payment_intent"]()),
        event("refund.created", SAMPLES["refund"]()),
        event("setup_intent.succeeded", SAMPLES["setup_intent"]()),
    ):
        found = provider.parse_webhook(json.dumps(payload).encode(), {})
        assert isinstance(found, paywire.WebhookEvent)
        assert provider.follow_up(found) is None
    assert fake.requests == []


def test_follow_up_reads_the_setup_intent_the_event_names(
    fake: FakeStripe, provider: StripeProvider
) -> None:
    fake.on(
        "GET",
        f"/v1/setup_intents/{INTENT}",
        stripe_json(200, SAMPLES["setup_intent"](payment_method="pm_other", customer=None)),
    )
    completed = provider.follow_up(setup_event(provider))
    assert completed is not None
    # The SetupIntent's method; the customer from the session when the intent names none.
    assert completed.saved_payment_method == paywire.SavedPaymentMethod(
        "stripe", "pm_other", CUSTOMER
    )
    assert not form(fake.requests[0])
