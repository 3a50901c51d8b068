"""Settings from code or PAYWIRE_<PROVIDER>_<SETTING> variables; secrets stay hidden."""

from __future__ import annotations

import logging
from typing import Any, Optional

import attrs
import pytest

from paywire import ConfigurationError, ProviderConfig, Secret, load_config
from paywire.plugin import secret_field


@attrs.frozen
class ShopConfig(ProviderConfig):
    """A plugin's settings: every kind of field a config uses."""

    api_key: Secret | None = secret_field()  # noqa: RUF009 - attrs field
    region: str = "eu"
    account: str | None = None
    page_size: int = 20
    limit: int | None = None
    fee_rate: float = 0.0
    legacy: Optional[bool] = None  # noqa: UP045 - typing.Optional must work too
    token: Optional[Secret] = secret_field()  # noqa: UP045, RUF009
    scopes: tuple[str, ...] = ("read",)


def test_defaults() -> None:
    config = load_config(ShopConfig, "shop", environ={})
    assert config == ShopConfig()
    assert config.enabled is True
    assert config.base_url is None
    assert config.webhook_secret is None
    assert config.timeout == 30.0
    assert config.max_attempts == 3
    assert config.secrets() == ()


def test_every_type_from_the_environment() -> None:
    environ = {
        "PAYWIRE_SHOP_ENABLED": "off",
        "PAYWIRE_SHOP_BASE_URL": "http://127.0.0.1:9/shop",
        "PAYWIRE_SHOP_WEBHOOK_SECRET": "whsec_abcdefgh",
        "PAYWIRE_SHOP_TIMEOUT": "2.5",
        "PAYWIRE_SHOP_MAX_ATTEMPTS": "5",
        "PAYWIRE_SHOP_API_KEY": "sk_test_abcdefgh",
        "PAYWIRE_SHOP_REGION": "us",
        "PAYWIRE_SHOP_ACCOUNT": "",
        "PAYWIRE_SHOP_PAGE_SIZE": " 50 ",
        "PAYWIRE_SHOP_LIMIT": "7",
        "PAYWIRE_SHOP_FEE_RATE": "1",
        "PAYWIRE_SHOP_LEGACY": "Yes",
        "PAYWIRE_SHOP_TOKEN": "tok-value-1234",
        "PAYWIRE_OTHER_REGION": "ignored",
        "paywire_shop_region": "ignored too",
    }
    config = load_config(ShopConfig, "shop", environ=environ)
    assert config.enabled is False
    assert config.base_url == "http://127.0.0.1:9/shop"
    assert config.webhook_secret == Secret("whsec_abcdefgh")
    assert config.timeout == 2.5
    assert config.max_attempts == 5
    assert config.api_key == Secret("sk_test_abcdefgh")
    assert config.region == "us"
    assert config.account is None  # empty means unset for an optional setting
    assert config.page_size == 50
    assert config.limit == 7
    assert config.fee_rate == 1.0
    assert isinstance(config.fee_rate, float)
    assert config.legacy is True
    assert config.token == Secret("tok-value-1234")
    assert set(config.secrets()) == {
        Secret("whsec_abcdefgh"),
        Secret("sk_test_abcdefgh"),
        Secret("tok-value-1234"),
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_booleans(raw: str, expected: bool) -> None:
    assert (
        load_config(ShopConfig, "shop", environ={"PAYWIRE_SHOP_ENABLED": raw}).enabled is expected
    )


def test_provider_names_with_dashes_use_underscores() -> None:
    config = load_config(ShopConfig, "my-shop", environ={"PAYWIRE_MY_SHOP_REGION": "ap"})
    assert config.region == "ap"


def test_code_wins_over_the_environment() -> None:
    environ = {"PAYWIRE_SHOP_REGION": "us", "PAYWIRE_SHOP_API_KEY": "from-env-123"}
    config = load_config(ShopConfig, "shop", environ=environ, region="br", api_key="from-code-123")
    assert config.region == "br"
    assert config.api_key == Secret("from-code-123")
    assert isinstance(config.api_key, Secret)


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYWIRE_SHOP_PAGE_SIZE", "99")
    assert load_config(ShopConfig, "shop").page_size == 99


@pytest.mark.parametrize(
    ("name", "raw", "needle"),
    [
        ("ENABLED", "maybe", "true or false"),
        ("PAGE_SIZE", "twenty", "number"),
        ("PAGE_SIZE", "2.5", "number"),
        ("LIMIT", "x", "number"),
        ("FEE_RATE", "1,5", "number"),
        ("TIMEOUT", "0", "timeout"),
        ("TIMEOUT", "-1", "timeout"),
        ("TIMEOUT", "nan", "timeout"),
        ("TIMEOUT", "inf", "timeout"),
        ("MAX_ATTEMPTS", "0", "max_attempts"),
    ],
)
def test_bad_environment_values(name: str, raw: str, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle) as caught:
        load_config(ShopConfig, "shop", environ={f"PAYWIRE_SHOP_{name}": raw})
    if name not in {"TIMEOUT", "MAX_ATTEMPTS"}:
        assert f"PAYWIRE_SHOP_{name}" in str(caught.value)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"enabled": "no"}, "enabled"),
        ({"enabled": 1}, "enabled"),
        ({"timeout": "5"}, "timeout"),
        ({"max_attempts": 2.5}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"api_key": 12345}, "api_key"),
        ({"region": None}, "region"),
        ({"regoin": "eu"}, "unknown shop setting"),
        ({"max_attempts": 0}, "max_attempts"),
    ],
)
def test_bad_values_from_code(overrides: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        load_config(ShopConfig, "shop", environ={}, **overrides)


def test_good_values_from_code() -> None:
    config = load_config(
        ShopConfig,
        "shop",
        environ={},
        timeout=5,
        fee_rate=2,
        limit=None,
        legacy=False,
        token=Secret("abcd-efgh"),
        webhook_secret=None,
        scopes=("read", "write"),
    )
    assert config.scopes == ("read", "write")
    assert config.timeout == 5
    assert config.legacy is False
    assert config.token == Secret("abcd-efgh")


def test_constructing_in_code_is_validated_too() -> None:
    with pytest.raises(ConfigurationError):
        ShopConfig(timeout=-1)
    with pytest.raises(ConfigurationError):
        ShopConfig(max_attempts=0)


def test_errors_from_construction_become_configuration_errors() -> None:
    @attrs.frozen
    class Strict(ProviderConfig):
        account: str = attrs.field(
            default="acct_x", validator=attrs.validators.matches_re("acct_.+")
        )

    with pytest.raises(ConfigurationError, match="invalid strict settings"):
        load_config(Strict, "strict", environ={"PAYWIRE_STRICT_ACCOUNT": "nope"})


def test_secrets_stay_out_of_repr_str_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    environ = {"PAYWIRE_SHOP_API_KEY": "super-secret-key-value", "PAYWIRE_SHOP_TOKEN": "tok-777777"}
    config = load_config(ShopConfig, "shop", environ=environ, webhook_secret="hook-secret-value")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug("config: %s %r", config, config)
    for shown in (repr(config), str(config), caplog.text):
        assert "super-secret-key-value" not in shown
        assert "hook-secret-value" not in shown
        assert "tok-777777" not in shown
    assert "api_key=Secret('**********')" in repr(config)


def test_unknown_setting_error_names_the_known_ones() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_config(ShopConfig, "shop", environ={}, api_kye="x")
    assert "api_key" in str(caught.value)
    assert "api_kye" in str(caught.value)


def test_plain_secret_fields_get_wrapped_too() -> None:
    @attrs.frozen
    class Bare(ProviderConfig):
        api_key: Secret | None = None  # no secret_field(): no converter
        password: Secret = Secret("default-pass")  # noqa: RUF009 - immutable

    config = load_config(Bare, "bare", environ={}, api_key="plain-text-key", password="pw-1234")
    assert config.api_key == Secret("plain-text-key")
    assert config.password == Secret("pw-1234")
    assert "plain-text-key" not in repr(config)
    from_env = load_config(Bare, "bare", environ={"PAYWIRE_BARE_API_KEY": "env-key-123"})
    assert from_env.api_key == Secret("env-key-123")


# -- webhook secret rotation and what errors may say ---------------------------------------------


def test_several_webhook_secrets_from_code_and_environment() -> None:
    config = load_config(
        ShopConfig,
        "shop",
        environ={"PAYWIRE_SHOP_WEBHOOK_SECRETS": " whsec_old1 , whsec_older2 ,"},
        webhook_secret="whsec_new0",
    )
    assert config.webhook_secrets == (Secret("whsec_old1"), Secret("whsec_older2"))
    assert config.all_webhook_secrets() == (
        Secret("whsec_new0"),
        Secret("whsec_old1"),
        Secret("whsec_older2"),
    )
    assert set(config.secrets()) >= set(config.all_webhook_secrets())
    assert "whsec_old1" not in repr(config)
    single = load_config(ShopConfig, "shop", environ={}, webhook_secrets="whsec_only1")
    assert single.all_webhook_secrets() == (Secret("whsec_only1"),)
    same = load_config(
        ShopConfig, "shop", environ={}, webhook_secret="whsec_a", webhook_secrets=["whsec_a"]
    )
    assert same.all_webhook_secrets() == (Secret("whsec_a"),)
    with pytest.raises(ConfigurationError, match="webhook_secrets must be"):
        load_config(ShopConfig, "shop", environ={}, webhook_secrets=[1, 2])


@pytest.mark.parametrize("setting", ["TIMEOUT", "MAX_ATTEMPTS", "PAGE_SIZE", "FEE_RATE", "LEGACY"])
def test_a_secret_typed_into_the_wrong_setting_is_never_echoed(setting: str) -> None:
    leaked = "sk" + "_live_" + "abcdefghijklmnop"  # built: scanners flag the literal
    plain = "hunter2-is-my-password"
    for value in (leaked, plain):
        with pytest.raises(ConfigurationError) as caught:
            load_config(ShopConfig, "shop", environ={f"PAYWIRE_SHOP_{setting}": value})
        text = str(caught.value) + repr(caught.value)
        assert value not in text
        assert f"PAYWIRE_SHOP_{setting}" in text  # the variable is named instead
