"""Webhook verification: offline (CRC32 + RSA-SHA256 with an allow-listed certificate fetched
through the kernel) and by postback, with every configured webhook id, sync and async; nothing
but InvalidSignature ever comes out."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import zlib

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paypal_fakes import CERT_URL, WEBHOOK_ID, FakePayPal, SigningKit, build, json_response, run

import paywire
from paywire_paypal import PayPalConfig, PayPalProvider, crc32_decimal, signed_message

BODY = json.dumps({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED"}).encode()
CERT_PATH = httpx.URL(CERT_URL).path


def _refused(provider: PayPalProvider, body: bytes, headers: dict[str, str], **kw: str) -> None:
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(body, headers, **kw)


def test_crc_is_unsigned_decimal() -> None:
    body = b"\x00" * 3  # a CRC with the top bit set: as a signed int it would be negative
    assert crc32_decimal(body) == "4282505490"
    assert int(crc32_decimal(body)) == zlib.crc32(body) & 0xFFFFFFFF
    assert signed_message("t", "2026", "WH", body) == f"t|2026|WH|{crc32_decimal(body)}".encode()


def test_valid_signature(fake: FakePayPal, provider: PayPalProvider, kit: SigningKit) -> None:
    kit.serve(fake)
    headers = kit.sign(BODY)
    provider.verify_webhook_signature(BODY, headers)
    provider.verify_webhook_signature(BODY, {k.lower(): v for k, v in headers.items()})
    provider.verify_webhook_signature(BODY, headers, WEBHOOK_ID)
    provider.verify_webhook_signature(BODY, headers, "")  # an empty secret: the configured id
    (download,) = fake.sent("GET", CERT_PATH)  # fetched through the kernel once, then cached
    assert "Authorization" not in download.headers  # no credentials to a certificate host
    assert not fake.sent("POST", "/v1/oauth2/token")


def test_verify_webhook_sync_and_async(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit, mode: str
) -> None:
    kit.serve(fake)
    run(provider, mode, "verify_webhook", BODY, kit.sign(BODY))
    with pytest.raises(paywire.InvalidSignature):
        run(provider, mode, "verify_webhook", BODY + b" ", kit.sign(BODY))
    with pytest.raises(paywire.InvalidSignature):
        run(provider, mode, "verify_webhook", BODY, {})


def test_the_async_path_downloads_the_certificate_itself(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit
) -> None:
    kit.serve(fake)

    async def main() -> None:
        await asyncio.gather(
            *(provider.verify_webhook_async(BODY, kit.sign(BODY)) for _ in range(5))
        )

    asyncio.run(main())
    assert 1 <= len(fake.sent("GET", CERT_PATH)) <= 5
    provider.verify_webhook_signature(BODY, kit.sign(BODY))
    assert len(provider._certificates) == 1


def test_every_configured_webhook_id_is_tried(fake: FakePayPal, kit: SigningKit, mode: str) -> None:
    # Rotation: deliveries for the old listener keep arriving (and being retried) for a while.
    provider = build(fake, webhook_id="NEWLISTENER01", webhook_ids=("OLDLISTENER01", "OLDER02"))
    kit.serve(fake)
    assert provider.webhook_secrets() == ["NEWLISTENER01", "OLDLISTENER01", "OLDER02"]
    for webhook_id in ("NEWLISTENER01", "OLDLISTENER01", "OLDER02"):
        run(provider, mode, "verify_webhook", BODY, kit.sign(BODY, webhook_id=webhook_id))
    with pytest.raises(paywire.InvalidSignature):
        run(provider, mode, "verify_webhook", BODY, kit.sign(BODY, webhook_id="SOMEONEELSE1"))
    # verify_webhook_signature checks one id: the current one unless told.
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, kit.sign(BODY, webhook_id="OLDLISTENER01"))
    provider.close()


def test_the_generic_webhook_secrets_are_webhook_ids_too(fake: FakePayPal, kit: SigningKit) -> None:
    provider = build(fake, webhook_id=None, webhook_secret="CURRENT01", webhook_secrets=["PREV01"])
    kit.serve(fake)
    assert provider.webhook_secrets() == ["CURRENT01", "PREV01"]
    provider.verify_webhook(BODY, kit.sign(BODY, webhook_id="PREV01"))
    provider.verify_webhook_signature(BODY, kit.sign(BODY, webhook_id="CURRENT01"))
    provider.close()


def test_tampered_body(fake: FakePayPal, provider: PayPalProvider, kit: SigningKit) -> None:
    kit.serve(fake)
    headers = kit.sign(BODY)
    _refused(provider, BODY + b" ", headers)
    _refused(provider, BODY.replace(b"WH-1", b"WH-2"), headers)


def test_other_webhook_id(fake: FakePayPal, provider: PayPalProvider, kit: SigningKit) -> None:
    kit.serve(fake)
    _refused(provider, BODY, kit.sign(BODY, webhook_id="SOMEONEELSE1"))
    _refused(provider, BODY, kit.sign(BODY), secret="SOMEONEELSE1")


def test_other_key(fake: FakePayPal, provider: PayPalProvider, kit: SigningKit) -> None:
    kit.serve(fake)
    _refused(provider, BODY, SigningKit.make().sign(BODY))


DAY = 24 * 3600


@pytest.mark.parametrize("offset", [301, 3600, -(3 * DAY + 3601), -30 * DAY])
def test_future_or_too_old_transmission_time(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit, offset: int
) -> None:
    kit.serve(fake)
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)
    _refused(provider, BODY, kit.sign(BODY, when=when))
    assert not fake.sent("GET", CERT_PATH)  # refused before any download


@pytest.mark.parametrize("offset", [-301, -3600, -DAY, -3 * DAY, 299])
def test_paypal_retries_keep_their_transmission_time(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit, offset: int
) -> None:
    # PayPal retries an unanswered delivery for three days with the original, signed
    # transmission time: those deliveries are PayPal's own and verify.
    kit.serve(fake)
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)
    provider.verify_webhook_signature(BODY, kit.sign(BODY, when=when))


def test_the_window_is_configurable(fake: FakePayPal, kit: SigningKit) -> None:
    provider = build(fake, webhook_tolerance=7200, webhook_max_age=600)
    kit.serve(fake)
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3600)
    provider.verify_webhook_signature(BODY, kit.sign(BODY, when=ahead))
    behind = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=900)
    _refused(provider, BODY, kit.sign(BODY, when=behind))
    provider.close()


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/v1/notifications/certs/CERT-1",
        "http://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "https://api-m.sandbox.paypal.com:8443/v1/notifications/certs/CERT-1",
        "https://user@api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",
        "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1?x=1",
        "https://api-m.sandbox.paypal.com/v1/oauth2/token",
        "https://api-m.sandbox.paypal.com.evil.example/v1/notifications/certs/CERT-1",
        "http://127.0.0.1/v1/notifications/certs/CERT-1",
        "file:///etc/passwd",
    ],
)
def test_untrusted_cert_urls_are_never_fetched(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit, url: str
) -> None:
    _refused(provider, BODY, kit.sign(BODY, cert_url=url))
    assert not fake.requests


def test_loopback_is_trusted_only_when_listed(fake: FakePayPal, kit: SigningKit) -> None:
    url = "http://127.0.0.1:8123/paypal/v1/notifications/certs/CERT-sandbox"
    provider = build(fake, cert_hosts=("127.0.0.1", "api-m.paypal.com"))
    kit.serve(fake, url)
    provider.verify_webhook_signature(BODY, kit.sign(BODY, cert_url=url))
    provider.close()


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(404),
        lambda r: httpx.Response(200, content=b"not a certificate"),
        lambda r: httpx.Response(500),
    ],
)
def test_bad_certificate_downloads(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit, answer: object
) -> None:
    fake.on("GET", CERT_PATH, answer)  # type: ignore[arg-type]
    _refused(provider, BODY, kit.sign(BODY))


def test_network_failure_fetching_the_certificate(kit: SigningKit, mode: str) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    config = paywire.load_config(
        PayPalConfig, "paypal", environ={}, webhook_id=WEBHOOK_ID, max_attempts=1
    )
    provider = PayPalProvider.create(config, transport=httpx.MockTransport(down))
    with pytest.raises(paywire.InvalidSignature):
        run(provider, mode, "verify_webhook", BODY, kit.sign(BODY))
    provider.close()


def test_expired_certificate(fake: FakePayPal, provider: PayPalProvider) -> None:
    old = SigningKit.make(not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=60), days=30)
    old.serve(fake)
    _refused(provider, BODY, old.sign(BODY))


def test_certificate_not_issued_to_paypal(fake: FakePayPal, provider: PayPalProvider) -> None:
    other = SigningKit.make(common_name="paypal.com.evil.example")
    other.serve(fake)
    _refused(provider, BODY, other.sign(BODY))


def test_cached_certificate_is_rechecked(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit
) -> None:
    kit.serve(fake)
    provider.verify_webhook_signature(BODY, kit.sign(BODY))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)
    provider.clock = later.timestamp
    _refused(provider, BODY, kit.sign(BODY, when=later))  # the certificate has expired by then


def test_no_webhook_id(fake: FakePayPal, kit: SigningKit) -> None:
    provider = build(fake, webhook_id=None)
    kit.serve(fake)
    _refused(provider, BODY, kit.sign(BODY))
    provider.verify_webhook_signature(BODY, kit.sign(BODY), WEBHOOK_ID)
    provider.close()


@pytest.mark.parametrize(
    "name",
    [
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
    ],
)
def test_each_header_is_required(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit, name: str
) -> None:
    kit.serve(fake)
    headers = kit.sign(BODY)
    _refused(provider, BODY, {k: v for k, v in headers.items() if k != name})
    _refused(provider, BODY, {**headers, name: ""})


def test_other_algorithm(fake: FakePayPal, provider: PayPalProvider, kit: SigningKit) -> None:
    kit.serve(fake)
    _refused(provider, BODY, {**kit.sign(BODY), "PAYPAL-AUTH-ALGO": "SHA1withRSA"})


def test_payload_must_be_bytes(provider: PayPalProvider, kit: SigningKit) -> None:
    _refused(provider, BODY.decode(), kit.sign(BODY))  # type: ignore[arg-type]
    _refused(provider, BODY, "not a mapping")  # type: ignore[arg-type]


header_names = st.sampled_from(
    [
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
    ]
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=200),
    headers=st.dictionaries(
        st.one_of(header_names, st.text(max_size=20)),
        st.one_of(st.text(max_size=200), st.binary(max_size=50), st.none(), st.integers()),
        max_size=7,
    ),
    secret=st.one_of(st.none(), st.text(max_size=40)),
)
def test_garbage_raises_only_invalid_signature(
    fake: FakePayPal, provider: PayPalProvider, body: bytes, headers: dict[str, object], secret: str
) -> None:
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(body, headers, secret)  # type: ignore[arg-type]


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mangled_valid_headers_raise_only_invalid_signature(
    fake: FakePayPal, provider: PayPalProvider, kit: SigningKit, data: st.DataObject
) -> None:
    kit.serve(fake)
    headers = kit.sign(BODY)
    name = data.draw(header_names)
    value = headers[name]
    cut = data.draw(st.integers(0, len(value) - 1))
    extra = data.draw(st.text(max_size=10).filter(lambda s: s.strip() != value[cut:]))
    mangled = {**headers, name: value[:cut] + extra}
    if mangled[name].strip() == value:
        return
    with pytest.raises(paywire.InvalidSignature):
        provider.verify_webhook_signature(BODY, mangled)


# -- postback ----------------------------------------------------------------------------------

VERIFY = "/v1/notifications/verify-webhook-signature"


@pytest.mark.parametrize(("answer", "ok"), [("SUCCESS", True), ("FAILURE", False)])
def test_postback(fake: FakePayPal, kit: SigningKit, answer: str, ok: bool, mode: str) -> None:
    provider = build(fake, webhook_verification="postback")
    fake.on("POST", VERIFY, lambda r: json_response(200, {"verification_status": answer}))
    headers = kit.sign(BODY)
    if ok:
        run(provider, mode, "verify_webhook", BODY, headers)
    else:
        with pytest.raises(paywire.InvalidSignature):
            run(provider, mode, "verify_webhook", BODY, headers)
    sent = json.loads(fake.sent("POST", VERIFY)[0].content)
    assert sent == {
        "auth_algo": "SHA256withRSA",
        "cert_url": CERT_URL,
        "transmission_id": headers["PAYPAL-TRANSMISSION-ID"],
        "transmission_sig": headers["PAYPAL-TRANSMISSION-SIG"],
        "transmission_time": headers["PAYPAL-TRANSMISSION-TIME"],
        "webhook_id": WEBHOOK_ID,
        "webhook_event": json.loads(BODY),
    }
    assert fake.sent("POST", VERIFY)[0].headers["Authorization"] == "Bearer A21AAtoken0001"
    assert not fake.sent("GET", CERT_PATH)
    provider.close()


def test_postback_errors_are_invalid_signature(fake: FakePayPal, kit: SigningKit) -> None:
    provider = build(fake, webhook_verification="postback")
    fake.answer("POST", VERIFY, 500, {"name": "INTERNAL_SERVER_ERROR"})
    _refused(provider, BODY, kit.sign(BODY))
    _refused(provider, b"not json", kit.sign(b"not json"))
    provider.close()
