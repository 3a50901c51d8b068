"""No key secret or webhook secret (and no clear key id) in repr, str, logs or errors."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st
from razorpay_helpers import KEY_ID, KEY_SECRET, METHOD, WEBHOOK_SECRET, build_provider

import paywire
from paywire_razorpay import RazorpayConfig, RazorpayProvider

SECRETS = (KEY_SECRET, WEBHOOK_SECRET, KEY_ID)


def _config(**values: object) -> RazorpayConfig:
    return paywire.load_config(RazorpayConfig, "razorpay", environ={}, **values)


def test_reprs_hide_secrets_and_the_key_id(provider: RazorpayProvider) -> None:
    config = _config(key_id=KEY_ID, key_secret=KEY_SECRET, webhook_secret=WEBHOOK_SECRET)
    texts = [repr(config), str(config), repr(provider), str(provider), repr(provider.http)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
    assert "rzp_test_…" in repr(config)


@given(
    key_id=st.from_regex(r"rzp_(test|live)_[A-Za-z0-9]{8,20}", fullmatch=True),
    secret=st.text(min_size=4, max_size=40),
)
def test_no_setting_value_shows_in_the_config_repr(key_id: str, secret: str) -> None:
    config = _config(key_id=key_id, key_secret=secret, webhook_secret=secret)
    text = repr(config)
    assert "Secret('**********')" in text
    assert key_id not in text
    assert f"'{key_id.rpartition('_')[0]}_…'" in text


def test_environment_settings_are_read_and_secrets_wrapped() -> None:
    config = paywire.load_config(
        RazorpayConfig,
        "razorpay",
        environ={
            "PAYWIRE_RAZORPAY_KEY_ID": KEY_ID,
            "PAYWIRE_RAZORPAY_KEY_SECRET": KEY_SECRET,
            "PAYWIRE_RAZORPAY_SETUP_AMOUNT": "200",
        },
    )
    assert config.key_id == KEY_ID
    assert isinstance(config.key_secret, paywire.Secret)
    assert config.key_secret.reveal() == KEY_SECRET
    assert config.setup_amount == 200


@pytest.mark.parametrize(
    "values",
    [
        {"setup_amount": 0},
        {"mandate_max_amount": -1},
        {"mandate_frequency": "hourly"},
        {"mandate_frequency": "quarterly"},
    ],
)
def test_bad_settings_are_configuration_errors(values: dict[str, object]) -> None:
    with pytest.raises(paywire.ConfigurationError):
        _config(**values)


def test_nothing_secret_is_logged_or_raised(
    router: respx.Router, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = build_provider(httpx.MockTransport(router.handler))
    router.post("/v1/payments/pay_P1/refund").respond(
        401,
        json={
            "error": {
                "code": "BAD_REQUEST_ERROR",
                "description": f"The api key {KEY_ID} with secret {KEY_SECRET} is invalid",
            }
        },
    )
    router.get("/v1/customers/cust_Abc123/tokens/token_Def456").mock(
        side_effect=httpx.ConnectError(f"cannot reach {KEY_SECRET}")
    )
    errors: list[BaseException] = []
    for call in (
        lambda: provider.create_refund("pay_P1"),
        lambda: provider.get_payment_method_details(METHOD),
        lambda: provider.verify_webhook_signature(b"{}", {"X-Razorpay-Signature": "00"}),
    ):
        with pytest.raises(paywire.PaywireError) as caught:
            call()
        errors.append(caught.value)
    provider.close()
    assert isinstance(errors[0], paywire.AuthenticationFailed)
    assert caplog.records
    texts = [caplog.text, *(str(e) for e in errors), *(repr(e) for e in errors)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_the_provider_keeps_its_authorization_header_as_a_secret(
    provider: RazorpayProvider,
) -> None:
    import base64

    header = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
    assert header not in str(vars(provider))
    assert provider.auth_headers() == {"Authorization": f"Basic {header}"}
