"""The standard tests every provider plugin must pass: :class:`ProviderContractSuite`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, NoReturn, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from paywire import (
    AlreadyRefunded,
    AuthenticationRequired,
    Capability,
    CardDeclined,
    ChargeResult,
    ConfigurationError,
    EventType,
    InvalidAmount,
    InvalidSignature,
    Invoice,
    LineItem,
    Money,
    NotFound,
    OutcomeUnknown,
    PaymentMethodExpired,
    PaymentStatus,
    ProviderError,
    RefundStatus,
    SavedPaymentMethod,
    Secret,
    UnknownEvent,
    WebhookEvent,
    known_currencies,
)
from paywire_contract._guard import weakened_tests
from paywire_contract._harness import Harness, MethodKind, SandboxUnavailable
from paywire_contract._recording import find_secrets

if TYPE_CHECKING:
    import paywire
    from paywire_contract._session import ContractEnv

__all__ = [
    "GUARD_TEST",
    "ProviderContractSuite",
    "capability_group",
    "standard_tests",
    "suite_helpers",
]

E = TypeVar("E", bound=BaseException)
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: The guard test's name (the plugin makes sure it cannot be switched off).
GUARD_TEST: Final = "test_standard_tests_not_weakened"

SUCCESS_URL: Final = "https://app.example/paywire/success"
CANCEL_URL: Final = "https://app.example/paywire/cancel"

_GROUP_ATTR: Final = "_paywire_group"
# Signs webhooks that must not verify; deliberately not a real credential.
_WRONG_SECRET: Final = "not-the-configured-webhook-secret"  # noqa: S105 - a wrong one on purpose


def _group(name: str) -> Callable[[F], F]:
    """Tag a standard test with the report group (a capability's value, or an extra group)."""

    def tag(func: F) -> F:
        setattr(func, _GROUP_ATTR, name)
        return func

    return tag


def capability_group(func: object) -> str:
    """The report group of a standard test function ("other" when untagged)."""
    return str(getattr(func, _GROUP_ATTR, "other"))


def _describe(value: object) -> str:
    if isinstance(value, ChargeResult):
        return f"ChargeResult(id={value.id!r}, amount={value.amount}, status={value.status.value})"
    return repr(value)


def _expect(error: type[E], what: str, call: Callable[[], object]) -> E:
    """Run ``call``; it must raise ``error``. Fails with what happened instead."""
    try:
        result = call()
    except error as exc:
        return exc
    except Exception as exc:
        _fail(f"{what} raised {type(exc).__name__}: {exc}; expected {error.__name__}")
    message = f"{what} returned {_describe(result)}; expected it to raise {error.__name__}"
    raise pytest.fail.Exception(message, pytrace=False)


def _call(what: str, call: Callable[[], T]) -> T:
    """Run ``call``; an exception fails the test saying which operation raised what (a scenario
    that needs the sandbox in live mode skips it)."""
    try:
        return call()
    except SandboxUnavailable as exc:
        pytest.skip(f"{what}: {exc}")
    except Exception as exc:
        _fail(f"{what} raised {type(exc).__name__}: {exc}")


def _fail(message: str) -> NoReturn:
    """Fail the test with ``message`` alone: no traceback, no chained exception."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def _check(condition: bool, message: str) -> None:
    if not condition:
        _fail(message)


class ProviderContractSuite:
    """The contract every provider plugin is certified against.

    Subclass it in the plugin's tests and set :attr:`harness`::

        class TestStripeContract(ProviderContractSuite):
            harness = StripeHarness()

    Every test checks one declared capability and is skipped, with the reason, when the provider
    does not declare it. A standard test may only be replaced by an override marked
    ``pytest.mark.xfail(reason="…")``; the guard test fails otherwise.
    """

    #: The plugin's harness.
    harness: ClassVar[Harness]
    #: Where this class's fixtures live; ``None``: ``fixtures/contract`` beside the test module.
    paywire_fixtures_dir: ClassVar[Path | None] = None

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _require(env: ContractEnv, *capabilities: Capability) -> None:
        declared = env.provider.capabilities
        for capability in capabilities:
            if capability not in declared:
                pytest.skip(f"{env.name} does not declare the {capability.value!r} capability")

    @staticmethod
    def _money(env: ContractEnv, minor: int, currency: str | None = None) -> Money:
        code = currency or env.harness.charge_currency()
        return Money.from_minor_units(minor, code, type(env.provider).currency_rules)

    def _invoice(self, env: ContractEnv, invoice_id: str) -> Invoice:
        currency = env.harness.charge_currency()
        return Invoice(
            id=invoice_id,
            currency=currency,
            line_items=(
                LineItem("Contract plan", self._money(env, 1000)),
                LineItem("Contract seat", self._money(env, 117), quantity=2),
            ),
            customer=env.harness.customer(),
            description="paywire contract suite",
        )

    @staticmethod
    def _method(env: ContractEnv, kind: MethodKind) -> SavedPaymentMethod:
        return _call(
            f"harness.saved_method({kind!r})", lambda: env.harness.saved_method(env.ctx, kind)
        )

    def _charge(
        self, env: ContractEnv, minor: int = 1234, currency: str | None = None, **kwargs: Any
    ) -> tuple[Money, ChargeResult]:
        method = self._method(env, "succeeds")
        amount = self._money(env, minor, currency)
        result = _call(
            "charge_payment_method",
            lambda: env.provider.charge_payment_method(method, amount, **kwargs),
        )
        self._check_charge(env, result, amount)
        return amount, result

    @staticmethod
    def _check_charge(env: ContractEnv, result: object, amount: Money) -> None:
        _check(
            isinstance(result, ChargeResult),
            f"charge_payment_method returned {result!r}; expected a ChargeResult",
        )
        assert isinstance(result, ChargeResult)
        _check(
            result.amount == amount,
            f"charge_payment_method returned {result.amount}, expected {amount}",
        )
        _check(
            result.status is PaymentStatus.SUCCEEDED,
            f"charge_payment_method returned status {result.status.value} "
            f"(raw {result.raw_status!r}) for a method that succeeds; expected succeeded",
        )
        _check(bool(result.id), "charge_payment_method returned an empty transaction id")
        _check(
            result.provider == env.name,
            f"charge_payment_method returned provider {result.provider!r}, expected {env.name!r}",
        )

    def _declined(self, env: ContractEnv, kind: MethodKind, error: type[ProviderError]) -> None:
        self._require(env, Capability.CHARGE)
        method = self._method(env, kind)
        amount = self._money(env, 1234)
        exc = _expect(
            error,
            f"charge_payment_method with the {kind!r} method",
            lambda: env.provider.charge_payment_method(method, amount),
        )
        _check(
            bool(exc.raw_code),
            f"{type(exc).__name__} from charge_payment_method ({kind!r} method) has no raw_code; "
            "the provider's own code must be kept",
        )
        _check(
            exc.provider == env.name,
            f"{type(exc).__name__}.provider is {exc.provider!r}, expected {env.name!r}",
        )

    def _refund(
        self, env: ContractEnv, transaction_id: str, amount: Money | None, expected: Money
    ) -> paywire.RefundResult:
        what = f"create_refund({transaction_id!r}, {amount})"
        refund = _call(what, lambda: env.provider.create_refund(transaction_id, amount))
        _check(
            refund.amount == expected,
            f"create_refund returned {refund.amount}, expected {expected}",
        )
        _check(
            refund.transaction_id == transaction_id,
            f"create_refund returned transaction_id {refund.transaction_id!r}, "
            f"expected {transaction_id!r}",
        )
        _check(
            refund.status in (RefundStatus.SUCCEEDED, RefundStatus.PENDING),
            f"create_refund returned status {refund.status.value} (raw {refund.raw_status!r}); "
            "expected succeeded or pending",
        )
        _check(bool(refund.id), "create_refund returned an empty refund id")
        return refund

    def _signed(
        self,
        env: ContractEnv,
        body: bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> dict[str, str]:
        return dict(
            env.harness.sign_webhook(
                body,
                env.webhook_secret if secret is None else secret,
                timestamp=int(time.time()) if timestamp is None else timestamp,
            )
        )

    @staticmethod
    def _sample_body(env: ContractEnv) -> bytes:
        samples = env.harness.webhook_samples()
        _check(bool(samples), "harness.webhook_samples() is empty")
        return json.dumps(dict(samples[0][0])).encode()

    def _invalid_signature(
        self,
        env: ContractEnv,
        what: str,
        body: bytes,
        headers: Mapping[str, str],
        secret: str | None = None,
    ) -> None:
        try:
            env.provider.verify_webhook_signature(body, headers, secret)
        except InvalidSignature:
            return
        except Exception as exc:
            _fail(
                f"verify_webhook_signature with {what} raised {type(exc).__name__}: {exc}; "
                "expected InvalidSignature and nothing else"
            )
        _fail(f"verify_webhook_signature accepted {what}; expected InvalidSignature")

    # -- checkout ----------------------------------------------------------------------------

    @_group(Capability.CHECKOUT.value)
    def test_checkout_session_created(self, paywire_env: ContractEnv) -> None:
        """A checkout session has an id and a URL and carries the invoice id and total."""
        env = paywire_env
        self._require(env, Capability.CHECKOUT)
        invoice = self._invoice(env, "inv_contract_checkout_1")
        session = _call(
            "create_checkout_session",
            lambda: env.provider.create_checkout_session(
                invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            ),
        )
        _check(bool(session.id), "create_checkout_session returned an empty session id")
        _check(
            session.url.startswith(("http://", "https://")),
            f"create_checkout_session returned url {session.url!r}; expected an http(s) URL",
        )
        _check(
            session.invoice_id == invoice.id,
            f"create_checkout_session returned invoice_id {session.invoice_id!r}, "
            f"expected {invoice.id!r}",
        )
        _check(
            session.amount == invoice.total,
            f"create_checkout_session returned amount {session.amount}, expected {invoice.total}",
        )

    @_group(Capability.CHECKOUT.value)
    def test_checkout_completion_sends_webhooks(self, paywire_env: ContractEnv) -> None:
        """Completing a checkout delivers webhooks that verify and normalize to checkout-completed
        and payment-succeeded, each with the invoice id and the exact amount."""
        env = paywire_env
        self._require(env, Capability.CHECKOUT, Capability.WEBHOOKS)
        if not env.receives_webhooks:
            pytest.skip("live mode: webhook delivery needs a publicly reachable receiver")
        invoice = self._invoice(env, "inv_contract_checkout_2")
        _call("harness.register_webhook", env.register_receiver)
        session = _call(
            "create_checkout_session",
            lambda: env.provider.create_checkout_session(
                invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            ),
        )
        redirect = _call(
            "harness.complete_checkout", lambda: env.harness.complete_checkout(env.ctx, session)
        )
        _check(
            redirect.startswith(SUCCESS_URL),
            f"completing the checkout redirected to {redirect!r}; expected {SUCCESS_URL}",
        )
        received = env.received_webhooks()
        _check(bool(received), "completing the checkout delivered no webhook to the receiver")
        events: list[WebhookEvent] = []
        for index, hook in enumerate(received, 1):
            try:
                env.provider.verify_webhook_signature(hook.body, hook.headers)
            except Exception as exc:
                _fail(
                    f"webhook #{index} delivered after checkout failed verification with the "
                    f"configured secret: {type(exc).__name__}: {exc}"
                )
            payload = json.loads(hook.body)
            try:
                events.append(env.provider.handle_webhook_event(payload))
            except UnknownEvent:
                continue  # providers send more event types than are normalized
            except Exception as exc:
                _fail(
                    f"handle_webhook_event raised {type(exc).__name__}: {exc} for webhook "
                    f"#{index} delivered after checkout"
                )
        summary = (
            ", ".join(
                f"{e.type.value}(invoice_id={e.invoice_id!r}, amount={e.amount})" for e in events
            )
            or "none"
        )
        for wanted in (EventType.CHECKOUT_COMPLETED, EventType.PAYMENT_SUCCEEDED):
            matching = [e for e in events if e.type is wanted]
            _check(
                bool(matching),
                f"no {wanted.value} event among the webhooks delivered after checkout "
                f"(normalized: {summary})",
            )
            _check(
                any(e.invoice_id == invoice.id for e in matching),
                f"{wanted.value} event carries invoice_id "
                f"{', '.join(repr(e.invoice_id) for e in matching)}, expected {invoice.id!r}",
            )
            _check(
                any(e.amount == invoice.total for e in matching),
                f"{wanted.value} event carries amount "
                f"{', '.join(str(e.amount) for e in matching)}, expected {invoice.total}",
            )
            for event in matching:
                _check(
                    event.provider == env.name and bool(event.id),
                    f"{wanted.value} event has provider {event.provider!r} and id {event.id!r}; "
                    f"expected {env.name!r} and a non-empty id",
                )

    # -- setup -------------------------------------------------------------------------------

    @_group(Capability.SETUP.value)
    def test_setup_session_saves_method(self, paywire_env: ContractEnv) -> None:
        """After a setup session is completed, the saved method can be retrieved."""
        env = paywire_env
        self._require(env, Capability.SETUP, Capability.PAYMENT_METHOD_DETAILS)
        customer = env.harness.customer()
        session = _call(
            "create_setup_session",
            lambda: env.provider.create_setup_session(
                customer, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            ),
        )
        _check(bool(session.id), "create_setup_session returned an empty session id")
        _check(
            session.url.startswith(("http://", "https://")),
            f"create_setup_session returned url {session.url!r}; expected an http(s) URL",
        )
        saved = _call(
            "harness.complete_setup", lambda: env.harness.complete_setup(env.ctx, session)
        )
        info = _call(
            "get_payment_method_details after setup",
            lambda: env.provider.get_payment_method_details(saved.id),
        )
        _check(
            info.id == saved.id,
            f"get_payment_method_details returned id {info.id!r}, expected {saved.id!r}",
        )

    # -- charge ------------------------------------------------------------------------------

    @_group(Capability.CHARGE.value)
    def test_charge_succeeds(self, paywire_env: ContractEnv) -> None:
        """Charging a good saved method returns a ChargeResult for the exact amount."""
        env = paywire_env
        self._require(env, Capability.CHARGE)
        _amount, result = self._charge(env, invoice_id="inv_contract_charge_1")
        _check(
            result.invoice_id in (None, "inv_contract_charge_1"),
            f"charge_payment_method returned invoice_id {result.invoice_id!r}, "
            "expected 'inv_contract_charge_1'",
        )

    @_group(Capability.CHARGE.value)
    def test_charge_declined(self, paywire_env: ContractEnv) -> None:
        """A declining method raises CardDeclined, keeping the provider's code."""
        self._declined(paywire_env, "declines", CardDeclined)

    @_group(Capability.CHARGE.value)
    def test_charge_expired_method(self, paywire_env: ContractEnv) -> None:
        """An expired method raises PaymentMethodExpired, keeping the provider's code."""
        self._declined(paywire_env, "expired", PaymentMethodExpired)

    @_group(Capability.CHARGE.value)
    def test_charge_needs_authentication(self, paywire_env: ContractEnv) -> None:
        """A method that needs the customer raises AuthenticationRequired with the raw code."""
        self._declined(paywire_env, "needs_authentication", AuthenticationRequired)

    # -- refund ------------------------------------------------------------------------------

    @_group(Capability.REFUND.value)
    def test_refund_full(self, paywire_env: ContractEnv) -> None:
        """Refunding without an amount refunds everything."""
        env = paywire_env
        self._require(env, Capability.CHARGE, Capability.REFUND)
        amount, charge = self._charge(env)
        self._refund(env, charge.id, None, amount)

    @_group(Capability.REFUND.value)
    def test_refund_partial(self, paywire_env: ContractEnv) -> None:
        """A partial refund refunds exactly the amount asked."""
        env = paywire_env
        self._require(env, Capability.CHARGE, Capability.REFUND, Capability.PARTIAL_REFUND)
        _amount, charge = self._charge(env)
        self._refund(env, charge.id, self._money(env, 500), self._money(env, 500))

    @_group(Capability.REFUND.value)
    def test_refund_two_partials(self, paywire_env: ContractEnv) -> None:
        """Two partial refunds that add up to the charge both succeed, as two refunds."""
        env = paywire_env
        self._require(env, Capability.CHARGE, Capability.REFUND, Capability.PARTIAL_REFUND)
        _amount, charge = self._charge(env)
        first = self._refund(env, charge.id, self._money(env, 500), self._money(env, 500))
        second = self._refund(env, charge.id, self._money(env, 734), self._money(env, 734))
        _check(
            first.id != second.id,
            f"two partial refunds returned the same refund id {first.id!r}",
        )

    @_group(Capability.REFUND.value)
    def test_refund_more_than_left(self, paywire_env: ContractEnv) -> None:
        """Refunding more than what is left raises AlreadyRefunded."""
        env = paywire_env
        self._require(env, Capability.CHARGE, Capability.REFUND, Capability.PARTIAL_REFUND)
        amount, charge = self._charge(env)
        first = self._money(env, 500)
        self._refund(env, charge.id, first, first)
        too_much = self._money(env, 1000)
        _expect(
            AlreadyRefunded,
            f"create_refund of {too_much} when {amount - first} of {amount} is left",
            lambda: env.provider.create_refund(charge.id, too_much),
        )

    @_group(Capability.REFUND.value)
    def test_refund_already_refunded(self, paywire_env: ContractEnv) -> None:
        """Refunding a fully refunded transaction again raises AlreadyRefunded."""
        env = paywire_env
        self._require(env, Capability.CHARGE, Capability.REFUND)
        amount, charge = self._charge(env)
        self._refund(env, charge.id, None, amount)
        _expect(
            AlreadyRefunded,
            "create_refund of a fully refunded transaction",
            lambda: env.provider.create_refund(charge.id),
        )

    # -- payment methods ---------------------------------------------------------------------

    @_group(Capability.PAYMENT_METHOD_DETAILS.value)
    def test_payment_method_details(self, paywire_env: ContractEnv) -> None:
        """A saved method's details come back for its id."""
        env = paywire_env
        self._require(env, Capability.PAYMENT_METHOD_DETAILS)
        method = self._method(env, "succeeds")
        info = _call(
            "get_payment_method_details",
            lambda: env.provider.get_payment_method_details(method.id),
        )
        _check(
            info.id == method.id,
            f"get_payment_method_details returned id {info.id!r}, expected {method.id!r}",
        )
        _check(
            info.provider == env.name,
            f"get_payment_method_details returned provider {info.provider!r}, "
            f"expected {env.name!r}",
        )
        _check(bool(info.type), "get_payment_method_details returned an empty type")
        _check(
            info.last4 is None or (len(info.last4) == 4 and info.last4.isdigit()),
            f"get_payment_method_details returned last4 {info.last4!r}; expected four digits",
        )

    @_group(Capability.DETACH.value)
    def test_detach_then_not_found(self, paywire_env: ContractEnv) -> None:
        """A detached method is gone: details and a second detach raise NotFound."""
        env = paywire_env
        self._require(env, Capability.DETACH, Capability.PAYMENT_METHOD_DETAILS)
        method = self._method(env, "succeeds")
        result = _call(
            "detach_payment_method", lambda: env.provider.detach_payment_method(method.id)
        )
        _check(result is None, f"detach_payment_method returned {result!r}; expected None")
        _expect(
            NotFound,
            "get_payment_method_details after detach",
            lambda: env.provider.get_payment_method_details(method.id),
        )
        _expect(
            NotFound,
            "a second detach_payment_method",
            lambda: env.provider.detach_payment_method(method.id),
        )

    # -- webhooks ----------------------------------------------------------------------------

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_valid_signature(self, paywire_env: ContractEnv) -> None:
        """A correctly signed webhook verifies, with the configured and with an explicit secret."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        body = self._sample_body(env)
        headers = self._signed(env, body)
        _call(
            "verify_webhook_signature of a valid webhook (configured secret)",
            lambda: env.provider.verify_webhook_signature(body, headers),
        )
        _call(
            "verify_webhook_signature of a valid webhook (explicit secret)",
            lambda: env.provider.verify_webhook_signature(body, headers, env.webhook_secret),
        )
        upper = {k.upper(): v for k, v in headers.items()}
        _call(
            "verify_webhook_signature of a valid webhook with upper-case header names",
            lambda: env.provider.verify_webhook_signature(body, upper),
        )

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_tampered_body(self, paywire_env: ContractEnv) -> None:
        """A body changed after signing is refused."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        body = self._sample_body(env)
        headers = self._signed(env, body)
        self._invalid_signature(env, "a tampered body", body + b" ", headers)
        self._invalid_signature(env, "a tampered body", body.replace(b"{", b'{"x":1,', 1), headers)

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_wrong_secret(self, paywire_env: ContractEnv) -> None:
        """A webhook signed with another secret is refused."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        body = self._sample_body(env)
        other = "whsec_" + "0" * 32 if not env.webhook_secret.startswith("whsec_0") else "x" * 32
        headers = self._signed(env, body, secret=other)
        self._invalid_signature(env, "a signature made with another secret", body, headers)
        good = self._signed(env, body)
        self._invalid_signature(
            env, "a valid signature but the wrong secret passed explicitly", body, good, other
        )

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_stale_timestamp(self, paywire_env: ContractEnv) -> None:
        """A webhook signed an hour ago is refused (replay protection)."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        body = self._sample_body(env)
        now = int(time.time())
        stale = self._signed(env, body, timestamp=now - 3600)
        if stale == self._signed(env, body, timestamp=now):
            pytest.skip(f"{env.name}'s webhook signature carries no timestamp")
        self._invalid_signature(env, "a timestamp one hour old", body, stale)

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_missing_headers(self, paywire_env: ContractEnv) -> None:
        """Without its signature headers (all, or any one of them) a webhook is refused."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        body = self._sample_body(env)
        headers = self._signed(env, body)
        self._invalid_signature(env, "no headers at all", body, {})
        for name in headers:
            rest = {k: v for k, v in headers.items() if k != name}
            self._invalid_signature(env, f"the {name!r} header missing", body, rest)
            self._invalid_signature(env, f"an empty {name!r} header", body, {**headers, name: ""})

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_garbage_raises_only_invalid_signature(self, paywire_env: ContractEnv) -> None:
        """Arbitrary bytes and header values never verify and never raise anything but
        InvalidSignature."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        signed_body = self._sample_body(env)
        good = self._signed(env, signed_body)
        names = sorted(good)

        @settings(
            max_examples=150,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            body = data.draw(st.one_of(st.binary(max_size=300), st.just(signed_body)), "body")
            value = st.one_of(
                st.text(max_size=120),
                st.sampled_from(list(good.values())).flatmap(
                    lambda v: st.builds(
                        lambda cut, extra: v[:cut] + extra,
                        st.integers(0, len(v)),
                        st.text(max_size=10),
                    )
                ),
            )
            key = st.one_of(st.sampled_from(names), st.text(max_size=30))
            headers = data.draw(st.dictionaries(key, value, max_size=6), "headers")
            if body == signed_body:
                # Every signature header present with its valid value (perhaps followed by
                # extra text, such as a trailing comma) may rightly verify: not garbage.
                assume(
                    not all(
                        any(
                            k.lower() == n.lower() and v.strip().startswith(good[n])
                            for k, v in headers.items()
                        )
                        for n in names
                    )
                )
            self._invalid_signature(
                env, f"garbage (body={body[:60]!r}, headers={headers!r})", body, headers
            )

        check()

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_samples_normalize(self, paywire_env: ContractEnv) -> None:
        """Every documented event type normalizes to its expected type."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        samples = env.harness.webhook_samples()
        _check(bool(samples), "harness.webhook_samples() is empty")
        wrong: list[str] = []
        for payload, expected in samples:
            raw = payload.get("type") or payload.get("event_type") or payload.get("event")
            try:
                event = env.provider.handle_webhook_event(payload)
            except Exception as exc:
                wrong.append(
                    f"{raw!r} raised {type(exc).__name__}: {exc}, expected {expected.value}"
                )
                continue
            if event.type is not expected:
                wrong.append(f"{raw!r} normalized to {event.type.value}, expected {expected.value}")
            elif event.provider != env.name or not event.id:
                wrong.append(
                    f"{raw!r} normalized with provider {event.provider!r}, id {event.id!r}"
                )
        _check(not wrong, "handle_webhook_event: " + "; ".join(wrong))

    @_group(Capability.WEBHOOKS.value)
    def test_webhook_unknown_event(self, paywire_env: ContractEnv) -> None:
        """An event type the provider does not map raises UnknownEvent."""
        env = paywire_env
        self._require(env, Capability.WEBHOOKS)
        payload = env.harness.unknown_event()
        _expect(
            UnknownEvent,
            "handle_webhook_event of an unmapped event type",
            lambda: env.provider.handle_webhook_event(payload),
        )
        _expect(
            UnknownEvent,
            "handle_webhook_event of a payload that is not an event ({})",
            lambda: env.provider.handle_webhook_event({}),
        )

    # -- idempotency -------------------------------------------------------------------------

    @_group(Capability.IDEMPOTENCY.value)
    def test_idempotent_charge_same_key(self, paywire_env: ContractEnv) -> None:
        """The same idempotency key twice makes one charge; another key makes another."""
        env = paywire_env
        self._require(env, Capability.CHARGE, Capability.IDEMPOTENCY)
        method = self._method(env, "succeeds")
        amount = self._money(env, 1234)
        first = _call(
            "charge_payment_method (key A)",
            lambda: env.provider.charge_payment_method(
                method, amount, idempotency_key="contract-idem-A"
            ),
        )
        again = _call(
            "charge_payment_method (key A again)",
            lambda: env.provider.charge_payment_method(
                method, amount, idempotency_key="contract-idem-A"
            ),
        )
        other = _call(
            "charge_payment_method (key B)",
            lambda: env.provider.charge_payment_method(
                method, amount, idempotency_key="contract-idem-B"
            ),
        )
        self._check_charge(env, again, amount)
        _check(
            first.id == again.id,
            f"charging twice with the same idempotency key made two charges "
            f"({first.id!r} and {again.id!r})",
        )
        _check(
            other.id != first.id,
            f"charging with a different idempotency key returned the same transaction {other.id!r}",
        )

    @_group(Capability.IDEMPOTENCY.value)
    def test_idempotent_charge_after_dropped_response(self, paywire_env: ContractEnv) -> None:
        """A charge whose response is lost after the provider committed it, retried (by the core,
        or by the caller with the same key after OutcomeUnknown), is one charge."""
        env = paywire_env
        self._require(env, Capability.CHARGE, Capability.IDEMPOTENCY)
        if env.against == "live":
            pytest.skip("live mode: faults can only be injected into the sandbox")
        method = self._method(env, "succeeds")
        amount = self._money(env, 1234)
        # Learn the charge's path from a warm-up charge: the last POST it made.
        start = len(env.http.requests)
        self._charge_once(env, method, amount, "contract-drop-warmup")
        posts = [r for r in env.http.requests[start:] if r.method == "POST"]
        _check(bool(posts), "charge_payment_method sent no POST request")
        path = env.fault_path(posts[-1])
        fault = env.ctx.control(
            "POST",
            "/faults",
            {
                "provider": env.name,
                "method": "POST",
                "path": path,
                "kind": "drop_after_commit",
                "count": 1,
            },
        )
        _check(fault.status_code < 300, f"arming the sandbox fault failed: {fault.text}")
        key = "contract-drop-1"
        try:
            first = env.provider.charge_payment_method(method, amount, idempotency_key=key)
        except OutcomeUnknown as exc:
            _check(
                exc.idempotency_key == key,
                f"OutcomeUnknown carries idempotency_key {exc.idempotency_key!r}, expected {key!r}",
            )
            first = self._charge_once(env, method, amount, key)
        except Exception as exc:
            _fail(
                f"charge_payment_method whose response was dropped after commit raised "
                f"{type(exc).__name__}: {exc}; expected the core's retry to return the charge "
                "(or OutcomeUnknown)"
            )
        self._check_charge(env, first, amount)
        armed = env.ctx.control("GET", "/faults")
        left = (
            [
                f
                for f in armed.json()
                if f.get("kind") == "drop_after_commit" and (f.get("count") or 0) > 0
            ]
            if armed.status_code == 200
            else []
        )
        _check(
            not left,
            f"the drop_after_commit fault on POST {path} was never triggered; the charge did not "
            "go where the warm-up charge went",
        )
        later = self._charge_once(env, method, amount, key)
        _check(
            later.id == first.id,
            f"after a dropped response, retrying with the same key returned {later.id!r} but the "
            f"first call returned {first.id!r}: the charge was made twice",
        )

    def _charge_once(
        self, env: ContractEnv, method: SavedPaymentMethod, amount: Money, key: str
    ) -> ChargeResult:
        return _call(
            f"charge_payment_method (idempotency key {key!r})",
            lambda: env.provider.charge_payment_method(method, amount, idempotency_key=key),
        )

    # -- money -------------------------------------------------------------------------------

    def _currency_charge(self, env: ContractEnv, currency: str | None, kind: str) -> None:
        self._require(env, Capability.CHARGE)
        if currency is None:
            pytest.skip(f"the {env.name} harness names no {kind} currency")
        rules = type(env.provider).currency_rules
        minor = 500 if rules.exponent(currency) == 0 else 1230
        self._charge(env, minor, currency)

    @_group("money")
    def test_zero_decimal_currency(self, paywire_env: ContractEnv) -> None:
        """A zero-decimal currency is charged for the exact amount."""
        env = paywire_env
        self._currency_charge(env, env.harness.zero_decimal_currency(), "zero-decimal")

    @_group("money")
    def test_three_decimal_currency(self, paywire_env: ContractEnv) -> None:
        """A three-decimal currency is charged for the exact amount."""
        env = paywire_env
        self._currency_charge(env, env.harness.three_decimal_currency(), "three-decimal")

    @staticmethod
    def _inexpressible(env: ContractEnv) -> Money | None:
        """An amount ISO 4217 allows but the provider cannot take (KWD 1.001 at Stripe)."""
        rules = type(env.provider).currency_rules
        preferred = [
            env.harness.three_decimal_currency(),
            env.harness.zero_decimal_currency(),
            env.harness.charge_currency(),
        ]
        candidates = [c for c in preferred if c] + sorted(known_currencies())
        for currency in candidates:
            for amount in ("1.001", "1.01", "1.1", "1"):
                try:
                    money = Money(amount, currency)
                except InvalidAmount:
                    continue
                try:
                    rules.to_minor_units(money)
                except InvalidAmount:
                    return money
        return None

    @_group("money")
    def test_inexpressible_amount_refused_before_http(self, paywire_env: ContractEnv) -> None:
        """An amount the provider cannot express raises InvalidAmount without any HTTP."""
        env = paywire_env
        self._require(env, Capability.CHARGE)
        money = self._inexpressible(env)
        if money is None:
            pytest.skip(f"{env.name} takes every amount ISO 4217 allows")
        method = self._method(env, "succeeds")
        before = len(env.http.requests)
        _expect(
            InvalidAmount,
            f"charge_payment_method of {money.amount} {money.currency}",
            lambda: env.provider.charge_payment_method(method, money),
        )
        sent = env.http.requests[before:]
        _check(
            not sent,
            f"charge_payment_method of {money.amount} {money.currency} sent "
            f"{', '.join(f'{r.method} {r.url.path}' for r in sent)} before refusing the amount",
        )
        if Capability.CHECKOUT not in env.provider.capabilities:
            return
        invoice = Invoice(
            id="inv_contract_inexpressible",
            currency=money.currency,
            line_items=(LineItem("Contract plan", money),),
        )
        _expect(
            InvalidAmount,
            f"create_checkout_session for an invoice of {money.amount} {money.currency}",
            lambda: env.provider.create_checkout_session(
                invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            ),
        )
        sent = env.http.requests[before:]
        _check(
            not sent,
            f"create_checkout_session for {money.amount} {money.currency} sent "
            f"{', '.join(f'{r.method} {r.url.path}' for r in sent)} before refusing the amount",
        )

    # -- availability and secrets ------------------------------------------------------------

    @_group("secrets")
    def test_available_only_with_credentials(self, paywire_env: ContractEnv) -> None:
        """available() is true when configured and false without credentials, with no HTTP."""
        env = paywire_env
        _check(env.provider.available(), "available() is false with the harness's settings")
        secrets = set(env.harness.secrets(env.settings))
        _check(bool(secrets), "harness.secrets(settings) names no secret")

        def is_secret(value: object) -> bool:
            raw = value.reveal() if isinstance(value, Secret) else value
            return isinstance(raw, str) and raw in secrets

        bare = {k: v for k, v in env.settings.items() if not is_secret(v)}
        sent: list[httpx.Request] = []

        def refuse(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(500)

        try:
            provider = env.harness.build_provider(bare, transport=httpx.MockTransport(refuse))
        except ConfigurationError:
            return  # refusing to build without credentials is also "not available"
        try:
            available = provider.available()
        finally:
            provider.close()
        _check(
            available is False,
            f"available() returned {available!r} without credentials "
            f"(settings without: {', '.join(sorted(set(env.settings) - set(bare)))})",
        )
        _check(not sent, "available() made HTTP requests")

    def _assert_no_secret(self, env: ContractEnv, where: str, text: str) -> None:
        found = find_secrets(text, env.harness.secrets(env.settings))
        _check(not found, f"{where} contains {', '.join(found)}")

    @_group("secrets")
    def test_no_secret_in_repr_or_str(self, paywire_env: ContractEnv) -> None:
        """The provider, its config and its HTTP client never show a secret."""
        env = paywire_env
        for name, obj in (
            ("provider", env.provider),
            ("provider.config", env.provider.config),
            ("provider.http", env.provider.http),
        ):
            self._assert_no_secret(env, f"repr({name})", repr(obj))
            self._assert_no_secret(env, f"str({name})", str(obj))

    @_group("secrets")
    def test_no_secret_in_logs_or_errors(
        self, paywire_env: ContractEnv, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A whole flow logged at DEBUG, and the errors it raises, never show a secret."""
        env = paywire_env
        caplog.set_level(logging.DEBUG)
        errors: list[BaseException] = []
        caps = env.provider.capabilities
        if Capability.CHECKOUT in caps:
            invoice = self._invoice(env, "inv_contract_secrets")
            env.provider.create_checkout_session(
                invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            )
        if Capability.CHARGE in caps:
            _amount, charge = self._charge(env)
            if Capability.REFUND in caps:
                self._refund(env, charge.id, None, charge.amount)
                try:
                    env.provider.create_refund(charge.id)
                except Exception as exc:
                    errors.append(exc)
            declining = self._method(env, "declines")
            try:
                env.provider.charge_payment_method(declining, self._money(env, 1234))
            except Exception as exc:
                errors.append(exc)
        if Capability.WEBHOOKS in caps:
            body = self._sample_body(env)
            for headers in ({}, self._signed(env, body, secret=_WRONG_SECRET)):
                try:
                    env.provider.verify_webhook_signature(body, headers)
                except Exception as exc:
                    errors.append(exc)
        for record in caplog.records:
            self._assert_no_secret(env, f"log record {record.name}", record.getMessage())
        self._assert_no_secret(env, "the captured log", caplog.text)
        for error in errors:
            kind = type(error).__name__
            self._assert_no_secret(env, f"{kind} str()", str(error))
            self._assert_no_secret(env, f"{kind} repr()", repr(error))
            self._assert_no_secret(env, f"{kind} args", repr(error.args))

    @_group("secrets")
    def test_no_secret_in_fixtures(self, paywire_env: ContractEnv) -> None:
        """No recorded fixture holds a secret (the harness's, or anything credential-shaped)."""
        env = paywire_env
        folder = env.fixtures
        if folder is None or not folder.is_dir():
            pytest.skip(f"no recorded fixtures (no folder {folder})")
        leaking = []
        for path in sorted(folder.glob("*.json")):
            text = path.read_text(encoding="utf-8")
            found = find_secrets(text, env.harness.secrets(env.settings))
            if found:
                leaking.append(f"{path.name} ({', '.join(found)})")
        _check(not leaking, f"fixtures contain secrets: {'; '.join(leaking)}")

    # -- the guard ---------------------------------------------------------------------------

    @_group("guard")
    def test_standard_tests_not_weakened(self) -> None:
        """No standard test is overridden or deleted without an explicit, reasoned xfail, and
        none of the suite's checking helpers is replaced."""
        problems = weakened_tests(
            type(self), ProviderContractSuite, standard_tests(), helpers=suite_helpers()
        )
        _check(not problems, "the contract suite was weakened: " + "; ".join(problems))


def _standard() -> tuple[str, ...]:
    return tuple(sorted(n for n in vars(ProviderContractSuite) if n.startswith("test_")))


_STANDARD = _standard()
# The checking helpers: a subclass that replaced one could weaken every test at once.
_HELPERS = tuple(
    sorted(
        n
        for n, v in vars(ProviderContractSuite).items()
        if n.startswith("_") and not n.startswith("__") and callable(v)
    )
)


def suite_helpers() -> tuple[str, ...]:
    """The names of the suite's checking helpers (a subclass may not replace them)."""
    return _HELPERS


def standard_tests() -> tuple[str, ...]:
    """The names of the standard tests (fixed when the suite was defined)."""
    return _STANDARD
