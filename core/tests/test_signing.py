"""Webhook signature helpers: hex HMAC-SHA256 and the timestamped t=…,v1=… scheme."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import paywire_strategies  # noqa: F401 - loads the property-test profile
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire import (
    InvalidSignature,
    Secret,
)
from paywire.plugin import (
    get_header,
    hmac_sha256_hex,
    sign_timestamped,
    verify_hmac_sha256_hex,
    verify_timestamped,
)

SECRET = "whsec_test_secret_value"
BODY = b'{"id": "evt_1", "type": "payment.captured"}'
NOW = 1_800_000_000


def _reference(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# -- hex HMAC ----------------------------------------------------------------------------------


def test_hmac_sha256_hex_is_the_standard_digest() -> None:
    # RFC 4231 test case 2.
    assert hmac_sha256_hex("Jefe", b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert hmac_sha256_hex(b"Jefe", b"x") == hmac_sha256_hex("Jefe", b"x")
    assert hmac_sha256_hex(Secret("Jefe"), b"x") == hmac_sha256_hex("Jefe", b"x")


def test_verify_hmac_sha256_hex() -> None:
    signature = _reference(SECRET, BODY)
    verify_hmac_sha256_hex(BODY, signature, SECRET)
    verify_hmac_sha256_hex(bytearray(BODY), f" {signature.upper()} ", SECRET.encode())  # type: ignore[arg-type]
    verify_hmac_sha256_hex(BODY, signature, Secret(SECRET))


@pytest.mark.parametrize(
    ("payload", "signature", "secret", "reason"),
    [
        (BODY + b" ", "good", SECRET, "does not match"),
        (BODY, "good", "other-secret", "does not match"),
        (BODY, "0" * 64, SECRET, "does not match"),
        (BODY, "", SECRET, "missing signature"),
        (BODY, None, SECRET, "missing signature"),
        (BODY, "a" * 9000, SECRET, "missing signature"),
        (BODY, b"bytes", SECRET, "missing signature"),
        (BODY, "good", "", "no webhook secret"),
        (BODY, "good", None, "no webhook secret"),
        (BODY, "good", Secret(""), "no webhook secret"),
        (BODY.decode(), "good", SECRET, "raw request body"),
        (BODY, "ünïcode", SECRET, "does not match"),
    ],
)
def test_verify_hmac_sha256_hex_failures(
    payload: Any, signature: Any, secret: Any, reason: str
) -> None:
    if signature == "good":
        signature = _reference(SECRET, BODY)
    with pytest.raises(InvalidSignature, match=reason):
        verify_hmac_sha256_hex(payload, signature, secret)


def test_hmac_helpers_refuse_a_non_key() -> None:
    with pytest.raises(InvalidSignature):
        hmac_sha256_hex(None, BODY)  # type: ignore[arg-type]


# -- timestamped -------------------------------------------------------------------------------


def test_sign_timestamped_format() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)
    assert header == f"t={NOW},v1={_reference(SECRET, f'{NOW}.'.encode() + BODY)}"
    assert sign_timestamped(BODY, SECRET, NOW, scheme="v0").startswith(f"t={NOW},v0=")


def test_verify_timestamped_returns_the_timestamp() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)
    assert verify_timestamped(BODY, header, SECRET, now=NOW) == NOW
    assert verify_timestamped(BODY, header, Secret(SECRET), now=NOW + 10) == NOW


def test_any_of_several_v1_values_may_match() -> None:
    good = sign_timestamped(BODY, SECRET, NOW).split(",v1=")[1]
    old = sign_timestamped(BODY, "old-secret", NOW).split(",v1=")[1]
    for header in (
        f"t={NOW},v1={old},v1={good}",
        f"t={NOW},v1={good},v1={old}",
        f"v1={old}, t={NOW}, v0=ignored, v1={good}, junk",
    ):
        assert verify_timestamped(BODY, header, SECRET, now=NOW) == NOW
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_timestamped(BODY, f"t={NOW},v1={old},v1={old}", SECRET, now=NOW)


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_tolerance_inside_both_directions(offset: int) -> None:
    header = sign_timestamped(BODY, SECRET, NOW)
    assert verify_timestamped(BODY, header, SECRET, now=NOW + offset, tolerance=300) == NOW


@pytest.mark.parametrize("offset", [-301, 301, -100_000, 100_000])
def test_tolerance_outside_both_directions(offset: int) -> None:
    header = sign_timestamped(BODY, SECRET, NOW)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify_timestamped(BODY, header, SECRET, now=NOW + offset, tolerance=300)


def test_default_now_is_the_clock() -> None:
    import time

    fresh = int(time.time())
    assert verify_timestamped(BODY, sign_timestamped(BODY, SECRET, fresh), SECRET) == fresh
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify_timestamped(BODY, sign_timestamped(BODY, SECRET, fresh - 3600), SECRET)


def test_custom_scheme() -> None:
    header = sign_timestamped(BODY, SECRET, NOW, scheme="v2")
    assert verify_timestamped(BODY, header, SECRET, now=NOW, scheme="v2") == NOW
    with pytest.raises(InvalidSignature, match="no v1 signature"):
        verify_timestamped(BODY, header, SECRET, now=NOW)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing signature header"),
        ("", "missing signature header"),
        (b"t=1,v1=00", "missing signature header"),
        ("x" * 9000, "missing signature header"),
        ("v1=abc", "no timestamp"),
        (f"t={NOW}", "no v1 signature"),
        (f"t={NOW},v1", "no v1 signature"),
        ("t=abc,v1=00", "unparsable timestamp"),
        ("t=-5,v1=00", "unparsable timestamp"),
        ("t=١٢٣,v1=00", "unparsable timestamp"),  # Arabic-Indic digits are digits, but not ASCII
        ("t=1234567890123,v1=00", "unparsable timestamp"),
    ],
)
def test_malformed_headers(header: Any, reason: str) -> None:
    with pytest.raises(InvalidSignature, match=reason):
        verify_timestamped(BODY, header, SECRET, now=NOW)


def test_timestamped_wrong_secret_tampered_body_or_missing_secret() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_timestamped(BODY, header, "wrong", now=NOW)
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_timestamped(BODY.replace(b"1", b"2"), header, SECRET, now=NOW)
    with pytest.raises(InvalidSignature, match="no webhook secret"):
        verify_timestamped(BODY, header, None, now=NOW)
    with pytest.raises(InvalidSignature, match="raw request body"):
        verify_timestamped("text", header, SECRET, now=NOW)  # type: ignore[arg-type]


def test_the_timestamp_is_signed() -> None:
    header = sign_timestamped(BODY, SECRET, NOW)
    moved = header.replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify_timestamped(BODY, moved, SECRET, now=NOW)


def test_comparisons_are_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("paywire._signing.hmac.compare_digest", spy)
    good = sign_timestamped(BODY, SECRET, NOW).split(",v1=")[1]
    verify_timestamped(BODY, f"t={NOW},v1={good},v1={'0' * 64}", SECRET, now=NOW)
    assert len(calls) == 2  # every candidate is compared, even after a match
    verify_hmac_sha256_hex(BODY, _reference(SECRET, BODY), SECRET)
    assert len(calls) == 3


# -- garbage in, InvalidSignature out ----------------------------------------------------------


@given(
    payload=st.binary(max_size=256),
    header=st.text(max_size=300) | st.none(),
    secret=st.text(max_size=20) | st.binary(max_size=20) | st.none(),
)
def test_garbage_only_ever_raises_invalid_signature(
    payload: bytes, header: str | None, secret: str | bytes | None
) -> None:
    for verify in (verify_hmac_sha256_hex, verify_timestamped):
        with contextlib.suppress(InvalidSignature):
            verify(payload, header, secret)


@given(
    payload=st.binary(max_size=128),
    timestamp=st.integers(0, 10**12 - 1),
    extra=st.lists(
        st.tuples(st.sampled_from(["t", "v1", "v0", "x", ""]), st.text(max_size=70)), max_size=5
    ),
)
def test_garbage_around_a_timestamped_header(
    payload: bytes, timestamp: int, extra: list[tuple[str, str]]
) -> None:
    header = ",".join([f"t={timestamp}", *(f"{k}={v}" for k, v in extra)])
    with contextlib.suppress(InvalidSignature):
        verify_timestamped(payload, header, SECRET, now=timestamp)


@given(
    payload=st.binary(max_size=256),
    secret=st.text(min_size=1, max_size=40),
    timestamp=st.integers(0, 10**12 - 1),
)
def test_what_is_signed_verifies(payload: bytes, secret: str, timestamp: int) -> None:
    header = sign_timestamped(payload, secret, timestamp)
    assert verify_timestamped(payload, header, secret, now=timestamp) == timestamp
    verify_hmac_sha256_hex(payload, hmac_sha256_hex(secret, payload), secret)


# -- headers -----------------------------------------------------------------------------------


def test_get_header_ignores_case() -> None:
    # Webhook frameworks hand over all sorts of mappings; only str (or latin-1 bytes) is a value.
    headers: Mapping[str, Any] = {"Stripe-Signature": "abc", "X-Raw": b"bytes\xff", "X-List": ["a"]}
    assert get_header(headers, "Stripe-Signature") == "abc"
    assert get_header(headers, "stripe-signature") == "abc"
    assert get_header(headers, "STRIPE-SIGNATURE") == "abc"
    assert get_header(headers, "x-raw") == "bytes\xff"
    assert get_header(headers, "X-List") is None
    assert get_header(headers, "missing") is None
    assert get_header({1: "x"}, "1") is None  # type: ignore[dict-item]


@given(
    st.dictionaries(st.text(max_size=20), st.text(max_size=40) | st.binary(max_size=40)),
    st.text(max_size=20),
)
def test_get_header_on_garbage_returns_a_str_or_none(headers: dict[str, Any], name: str) -> None:
    value = get_header(headers, name)
    assert value is None or isinstance(value, str)
