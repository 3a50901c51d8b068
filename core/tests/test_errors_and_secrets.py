"""The error hierarchy, and that no secret reaches str, repr, format or pickles."""

from __future__ import annotations

import pickle
from typing import Any

import paywire_strategies  # noqa: F401 - loads the property-test profile
import pytest
from hypothesis import given
from hypothesis import strategies as st

import paywire
from paywire import (
    AlreadyRefunded,
    AuthenticationFailed,
    AuthenticationRequired,
    CardDeclined,
    ConfigurationError,
    InvalidAmount,
    InvalidRequest,
    InvalidSignature,
    NotFound,
    OutcomeUnknown,
    PaymentMethodExpired,
    PaywireError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Secret,
    UnknownCurrency,
    UnknownEvent,
    redact,
)
from paywire._secrets import REDACTED

PROVIDER_ERRORS: dict[type[ProviderError], tuple[str, bool]] = {
    CardDeclined: ("card_declined", False),
    PaymentMethodExpired: ("payment_method_expired", False),
    AuthenticationRequired: ("authentication_required", False),
    AlreadyRefunded: ("already_refunded", False),
    NotFound: ("not_found", False),
    InvalidRequest: ("invalid_request", False),
    AuthenticationFailed: ("authentication_failed", False),
    RateLimited: ("rate_limited", True),
    ProviderUnavailable: ("provider_unavailable", True),
    OutcomeUnknown: ("outcome_unknown", True),
}

# Fake credentials in every shape redaction must catch. The live-key ones are assembled at run
# time so that secret scanners of the tree do not flag them.
LIVE = "live_"
CREDENTIALS = [
    "sk_test_51HxYzAbCdEfGh",
    "sk_" + LIVE + "0123456789abcdef",
    "rk_" + LIVE + "abcdefghij",
    "pk_test_abcdefghij",
    "whsec_abc123DEF456+/=",
    "rzp_test_abcdef123456",
    "rzp_" + LIVE + "ABCDEF123456",
    "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    "Basic dXNlcjpwYXNzd29yZA==",
    "bearer A21AAFakeTokenValue-_~",
]


def _make(cls: type[ProviderError], message: str, **extra: Any) -> ProviderError:
    if cls is OutcomeUnknown:
        extra.pop("retryable", None)
        return OutcomeUnknown(message, provider="stripe", idempotency_key="key-1", **extra)
    return cls(message, provider="stripe", **extra)


def test_hierarchy() -> None:
    for cls in (ConfigurationError, InvalidSignature, UnknownEvent, InvalidAmount, ProviderError):
        assert issubclass(cls, PaywireError)
    assert issubclass(UnknownCurrency, InvalidAmount)
    for cls in PROVIDER_ERRORS:
        assert issubclass(cls, ProviderError)
    exported = {
        name
        for name in paywire.__all__
        if isinstance(getattr(paywire, name), type)
        and issubclass(getattr(paywire, name), ProviderError)
    }
    assert exported == {cls.__name__ for cls in PROVIDER_ERRORS} | {"ProviderError"}


@pytest.mark.parametrize("cls", list(PROVIDER_ERRORS), ids=lambda cls: cls.__name__)
def test_every_provider_error_carries_the_same_fields(cls: type[ProviderError]) -> None:
    code, retryable = PROVIDER_ERRORS[cls]
    error = _make(
        cls,
        "Your card was declined.",
        raw_code="do_not_honor",
        http_status=402,
        request_id="req_123",
    )
    assert error.provider == "stripe"
    assert error.code == code
    assert error.raw_code == "do_not_honor"
    assert error.message == "Your card was declined."
    assert error.http_status == 402
    assert error.request_id == "req_123"
    assert error.retryable is retryable
    assert str(error) == "Your card was declined. (stripe 402 [do_not_honor])"
    assert repr(error).startswith(f"{cls.__name__}(message='Your card was declined.'")
    assert "request_id='req_123'" in repr(error)


def test_defaults_and_overrides() -> None:
    bare = CardDeclined("declined", provider="paypal")
    assert str(bare) == "declined (paypal)"
    assert bare.raw_code is None
    assert bare.http_status is None
    assert bare.request_id is None
    assert CardDeclined("x", provider="p", retryable=True).retryable is True
    assert ProviderUnavailable("x", provider="p", retryable=False).retryable is False
    limited = RateLimited("slow down", provider="p", retry_after=2.5, http_status=429)
    assert limited.retry_after == 2.5
    assert RateLimited("slow down", provider="p").retry_after is None
    unknown = OutcomeUnknown("lost", provider="p", idempotency_key="idem-1")
    assert unknown.idempotency_key == "idem-1"
    assert unknown.retryable is True
    event = UnknownEvent("no mapping", provider="stripe", event_type="charge.captured")
    assert (event.provider, event.event_type, str(event)) == (
        "stripe",
        "charge.captured",
        "no mapping",
    )


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_credential_shaped_strings_never_reach_str_or_repr(credential: str) -> None:
    text = f"provider said: invalid key {credential} (check it)"
    errors: list[PaywireError] = [
        PaywireError(text),
        ConfigurationError(text),
        InvalidSignature(text),
        UnknownEvent(text, provider="p", event_type="x"),
        InvalidAmount(text),
    ]
    errors += [
        _make(cls, text, raw_code=credential, request_id=credential) for cls in PROVIDER_ERRORS
    ]
    for error in errors:
        for shown in (str(error), repr(error), error.message, *map(str, error.args)):
            assert credential not in shown
            assert credential.rsplit(maxsplit=1)[-1] not in shown
        assert REDACTED in str(error)


@pytest.mark.parametrize("cls", list(PROVIDER_ERRORS), ids=lambda cls: cls.__name__)
def test_errors_survive_pickling(cls: type[ProviderError]) -> None:
    error = _make(cls, "boom", raw_code="rc", http_status=503, request_id="req")
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(back) is cls
    assert vars(back) == vars(error)
    assert str(back) == str(error)
    assert back.args == error.args


def test_other_errors_survive_pickling() -> None:
    event = pickle.loads(pickle.dumps(UnknownEvent("x", provider="p", event_type="t")))  # noqa: S301
    assert (event.provider, event.event_type, event.message) == ("p", "t", "x")
    limited = pickle.loads(pickle.dumps(RateLimited("x", provider="p", retry_after=3.0)))  # noqa: S301
    assert limited.retry_after == 3.0
    assert str(pickle.loads(pickle.dumps(InvalidAmount("bad")))) == "bad"  # noqa: S301


# -- Secret and redact -------------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    secret = Secret("hunter2-the-webhook-secret")
    for shown in (
        repr(secret),
        str(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>40}",
        "%s" % secret,  # noqa: UP031 - old-style formatting must be covered too
        format(secret),
        repr([secret]),
        repr({"k": secret}),
    ):
        assert "hunter2" not in shown
        assert "*" in shown
    assert secret.reveal() == "hunter2-the-webhook-secret"
    error = ConfigurationError(f"bad key {secret}")
    assert "hunter2" not in str(error)


def test_secret_equality_hash_and_truth() -> None:
    assert Secret("abc") == Secret("abc")
    assert Secret("abc") != Secret("abd")
    assert Secret("abc") != "abc"
    assert hash(Secret("abc")) == hash(Secret("abc"))
    assert bool(Secret("x"))
    assert not Secret("")
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        Secret("x").other = 1  # type: ignore[attr-defined]


def test_secret_refuses_to_be_pickled() -> None:
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(Secret("abc"))


def test_redact_registered_secrets_and_shapes() -> None:
    text = "key=plainsecretvalue token=sk_" + LIVE + "abcdefgh short=abc"
    assert redact(text) == f"key=plainsecretvalue token={REDACTED} short=abc"
    assert redact(text, [Secret("plainsecretvalue"), "abc"]) == (
        f"key={REDACTED} token={REDACTED} short=abc"
    )
    assert redact("nothing to hide here") == "nothing to hide here"
    assert redact("sk_live_abc") == "sk_live_abc"  # too short to be a key


@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789", min_size=8, max_size=40),
    st.text(max_size=40),
    st.text(max_size=40),
)
def test_redact_removes_any_registered_secret(secret: str, before: str, after: str) -> None:
    text = f"{before}{secret}{after}"
    cleaned = redact(text, [Secret(secret)])
    assert secret not in cleaned
    assert redact(cleaned, [secret]) == cleaned


@pytest.mark.parametrize(
    "prose",
    [
        "Basic authentication failed",
        "Basic authentication.",
        "Bearer authentication is required for this endpoint",
        "the basic plan costs 5 EUR",
    ],
)
def test_redact_leaves_prose_alone(prose: str) -> None:
    assert redact(prose) == prose


@given(
    scheme=st.sampled_from(["Bearer", "bearer", "Basic", "BASIC"]),
    token=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12)
    .flatmap(lambda letters: st.integers(0, len(letters)).map(lambda i: (letters, i)))
    .map(lambda pair: pair[0][: pair[1]] + "7" + pair[0][pair[1] :]),
)
def test_redact_hides_any_token_with_a_digit(scheme: str, token: str) -> None:
    assert token not in redact(f"Authorization: {scheme} {token}")


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=20))
def test_redact_hides_any_long_token(token: str) -> None:
    assert token not in redact(f"Bearer {token}")
