"""PayPal's settings: webhook ids (PayPal's "secret") and how they are validated, the freshness
window, certificate hosts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import paywire
from paywire_paypal import PayPalConfig
from paywire_paypal._config import DEFAULT_WEBHOOK_MAX_AGE, DEFAULT_WEBHOOK_TOLERANCE


def _load(**settings: object) -> PayPalConfig:
    return paywire.load_config(PayPalConfig, "paypal", environ={}, **settings)


@pytest.mark.parametrize("webhook_id", ["8PT597110X687430LKGECATA", "0EH40505U7160970P", "a" * 50])
def test_webhook_ids_are_letters_and_digits(webhook_id: str) -> None:
    assert _load(webhook_id=webhook_id).webhook_id == webhook_id


def test_an_event_id_is_not_a_webhook_id() -> None:
    with pytest.raises(paywire.ConfigurationError) as caught:
        _load(webhook_id="WH-9UG43882HX7271132-6E0871324L7949614")
    assert "event" in str(caught.value)
    assert "9UG43882HX7271132" not in str(caught.value)


@pytest.mark.parametrize("webhook_id", ["a" * 51, "8PT5 9711", "8PT5-9711", "ünïcode1"])
def test_other_webhook_ids_are_refused(webhook_id: str) -> None:
    with pytest.raises(paywire.ConfigurationError):
        _load(webhook_id=webhook_id)
    with pytest.raises(paywire.ConfigurationError):
        _load(webhook_ids=(webhook_id,))


@given(st.text(max_size=60))
def test_webhook_id_validation_matches_paypals_pattern(webhook_id: str) -> None:
    valid = 1 <= len(webhook_id) <= 50 and webhook_id.isascii() and webhook_id.isalnum()
    try:
        PayPalConfig(webhook_id=webhook_id)
    except ValueError:
        assert not valid
    else:
        assert valid


def test_several_webhook_ids_from_the_environment() -> None:
    config = paywire.load_config(
        PayPalConfig,
        "paypal",
        environ={
            "PAYWIRE_PAYPAL_WEBHOOK_ID": "NEW0001",
            "PAYWIRE_PAYPAL_WEBHOOK_IDS": "OLD0001, OLD0002,,",
        },
    )
    assert config.webhook_ids == ("OLD0001", "OLD0002")
    assert config.all_webhook_ids() == ("NEW0001", "OLD0001", "OLD0002")


def test_the_generic_secrets_are_read_as_webhook_ids_without_being_shown() -> None:
    config = _load(webhook_id="NEW0001", webhook_secret="NEW0001", webhook_secrets=["SECOND02"])
    assert config.all_webhook_ids() == ("NEW0001", "SECOND02")  # no repeats
    with pytest.raises(paywire.ConfigurationError) as caught:
        _load(webhook_secrets=["whsec_notAnId-SHOWN"])
    assert "notAnId" not in str(caught.value)


def test_the_freshness_window_defaults_to_paypals_retry_window() -> None:
    config = _load()
    assert config.webhook_tolerance == DEFAULT_WEBHOOK_TOLERANCE == 300
    assert config.webhook_max_age == DEFAULT_WEBHOOK_MAX_AGE == 3 * 24 * 3600 + 3600
    assert _load(webhook_max_age=600, webhook_tolerance=60).webhook_max_age == 600


@pytest.mark.parametrize(
    "settings",
    [
        {"webhook_verification": "sometimes"},
        {"webhook_tolerance": 0},
        {"webhook_max_age": 0},
        {"webhook_max_age": True},
        {"cert_hosts": ()},
    ],
)
def test_bad_settings(settings: dict[str, object]) -> None:
    with pytest.raises(paywire.ConfigurationError):
        _load(**settings)
