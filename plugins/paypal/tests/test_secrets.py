"""The client secret and access tokens never show in repr, str, logs or errors."""

from __future__ import annotations

import logging

import httpx
import pytest
from paypal_fakes import CLIENT_SECRET, FakePayPal, build, json_response, paypal_error

import paywire
from paywire import Money
from paywire_paypal import PayPalConfig, PayPalProvider

METHOD = paywire.SavedPaymentMethod("paypal", "tok1")


def test_repr_and_str(provider: PayPalProvider) -> None:
    for obj in (provider, provider.config, provider.http):
        assert CLIENT_SECRET not in repr(obj)
        assert CLIENT_SECRET not in str(obj)


def test_secret_field_from_the_environment() -> None:
    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={
            "PAYWIRE_PAYPAL_CLIENT_ID": "cid",
            "PAYWIRE_PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
            "PAYWIRE_PAYPAL_CERT_HOSTS": "api-m.paypal.com, 127.0.0.1",
            "PAYWIRE_PAYPAL_WEBHOOK_VERIFICATION": "postback",
        },
    )
    assert isinstance(config.client_secret, paywire.Secret)
    assert config.client_secret.reveal() == CLIENT_SECRET
    assert config.cert_hosts == ("api-m.paypal.com", "127.0.0.1")
    assert CLIENT_SECRET not in repr(config)


@pytest.mark.parametrize(
    "settings",
    [{"webhook_verification": "sometimes"}, {"webhook_tolerance": 0}, {"cert_hosts": ""}],
)
def test_bad_settings(settings: dict[str, object]) -> None:
    with pytest.raises(paywire.ConfigurationError):
        paywire.load_config(PayPalConfig, "paypal", environ={}, **settings)


def test_a_whole_flow_logged_at_debug(fake: FakePayPal, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    provider = build(fake, max_attempts=2)
    errors: list[BaseException] = []
    fake.on(
        "POST",
        "/v2/checkout/orders",
        lambda r: json_response(503, paypal_error(503, None, "SERVICE_UNAVAILABLE")),
        lambda r: json_response(
            422,
            {
                "name": "UNPROCESSABLE_ENTITY",
                "message": f"echo Bearer A21AAtoken0001 and {CLIENT_SECRET}",
                "details": [{"issue": "INSTRUMENT_DECLINED"}],
            },
        ),
    )
    try:
        provider.charge_payment_method(METHOD, Money("1.00", "USD"))
    except paywire.ProviderError as exc:
        errors.append(exc)
    provider.close()
    refusing = FakePayPal()
    refusing.on(
        "POST",
        "/v1/oauth2/token",
        lambda r: httpx.Response(
            401, json={"error": "invalid_client", "error_description": f"bad {CLIENT_SECRET}"}
        ),
    )
    second = build(refusing)
    try:
        second.get_payment_method_details("tok1")
    except paywire.ProviderError as exc:
        errors.append(exc)
    second.close()
    assert [type(e) for e in errors] == [paywire.CardDeclined, paywire.AuthenticationFailed]
    texts = [r.getMessage() for r in caplog.records] + [caplog.text]
    for error in errors:
        texts += [str(error), repr(error), repr(error.args)]
    for text in texts:
        assert CLIENT_SECRET not in text
        assert "A21AAtoken" not in text
