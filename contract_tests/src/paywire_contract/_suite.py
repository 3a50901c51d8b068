"""The standard checks every provider plugin must pass: :class:`ProviderContractSuite`.

Each check states what an app relies on, runs on the sync path and on the async path, and adapts
what it expects to the provider's declared shape (:class:`~paywire_contract.Harness`) — never by
skipping what the app depends on. :mod:`paywire_contract.checks` renders them as one table.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeVar

import attrs
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
    EventReference,
    EventType,
    InvalidAmount,
    InvalidSignature,
    Invoice,
    LineItem,
    MalformedWebhook,
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
from paywire_contract._checking import call, check, describe, expect, fail
from paywire_contract._guard import bad_exceptions, weakened_tests
from paywire_contract._harness import Harness, MethodKind
from paywire_contract._meta import check_info, standard_check
from paywire_contract._paths import Operations
from paywire_contract._pipeline import (
    Delivery,
    delivery,
    events_after,
    fetch_authenticated,
    find,
    read,
    sample,
    signed,
    summary,
)
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

T = TypeVar("T")

#: The guard test's name (the plugin makes sure it cannot be switched off).
GUARD_TEST: Final = "test_standard_tests_not_weakened"

SUCCESS_URL: Final = "https://app.example/paywire/success"
CANCEL_URL: Final = "https://app.example/paywire/cancel"

# Signs webhooks that must not verify; deliberately not a real credential.
_WRONG_SECRET: Final = "not-the-configured-webhook-secret"  # noqa: S105 - a wrong one on purpose
# Examples of the garbage check per path: the async path repeats the sync one's reasoning, each
# example costing a hop to the event loop.
_GARBAGE_EXAMPLES: Final = {"sync": 150, "async": 50}

# JSON objects that are no event a provider sends (for the parsers, past the first byte).
_JSON_GARBAGE: Final = st.dictionaries(
    st.text(max_size=12),
    st.one_of(st.integers(), st.text(max_size=12), st.none(), st.lists(st.integers(), max_size=2)),
    max_size=4,
).map(lambda value: json.dumps(value).encode())

# Which event a failing charge of each kind may end in, when charges settle asynchronously.
_FAILED_KINDS: Final[Mapping[str, tuple[EventType, ...]]] = {
    "declines": (EventType.PAYMENT_FAILED,),
    "expired": (EventType.PAYMENT_FAILED,),
    "needs_authentication": (EventType.PAYMENT_REQUIRES_ACTION, EventType.PAYMENT_FAILED),
}

# Declarations the table names.
_CHECKOUT_EVENTS = "harness.checkout_events"
_CHARGES = "harness.charge_settlement"
_REFUNDS = "harness.refund_settlement"
_TIMESTAMP = "harness.signature_timestamp"
_CODES = "harness.error_codes"
_AUTH = "provider.webhook_authentication"


def capability_group(func: object) -> str:
    """The report group of a standard test function ("other" when it is not one)."""
    info = check_info(func)
    return info.group if info is not None else "other"


def _declared(env: ContractEnv, name: str, allowed: tuple[object, ...]) -> object:
    value = getattr(env.harness, name)
    check(
        value in allowed,
        f"harness.{name} is {value!r}; it must be one of {', '.join(map(repr, allowed))}",
    )
    return value


def _asynchronous(env: ContractEnv, name: str) -> bool:
    return _declared(env, name, ("immediate", "asynchronous")) == "asynchronous"


def _check_status(
    env: ContractEnv, declaration: str, what: str, *, settled: bool, pending: bool
) -> None:
    """A result must be final (succeeded), or — when ``declaration`` is asynchronous — pending."""
    if _asynchronous(env, declaration):
        check(
            settled or pending,
            f"{what}; expected succeeded or pending ({declaration} is asynchronous)",
        )
    else:
        check(
            settled,
            f"{what}; expected succeeded (declare {declaration} = 'asynchronous' if it settles "
            "later by webhook)",
        )


class ProviderContractSuite:
    """The contract every provider plugin is certified against.

    Subclass it in the plugin's tests and set :attr:`harness`::

        class TestStripeContract(ProviderContractSuite):
            harness = StripeHarness()

    Every check runs on both paths (``[sync]`` and ``[async]``) and checks one declared
    capability; it is skipped, with the reason, when the provider does not declare it. A check
    may only be replaced by an override marked ``pytest.mark.xfail(reason="…")`` — or, so that
    ``paywire certify`` sees it too, be named in ``Harness.declared_exceptions``; the guard test
    fails otherwise.
    """

    #: The plugin's harness.
    harness: ClassVar[Harness]
    #: Where this class's fixtures live; ``None``: ``fixtures/contract`` beside the test module.
    paywire_fixtures_dir: ClassVar[Path | None] = None

    # -- helpers -----------------------------------------------------------------------------

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
        return call(
            f"harness.saved_method({kind!r})", lambda: env.harness.saved_method(env.ctx, kind)
        )

    @staticmethod
    def _listen(env: ContractEnv, why: str) -> None:
        """Register the receiver before something whose outcome arrives by webhook."""
        check(
            Capability.WEBHOOKS in env.provider.capabilities,
            f"{why}, but {env.name} does not declare the 'webhooks' capability that would "
            "deliver the outcome",
        )
        if not env.receives_webhooks:
            pytest.skip(f"live mode: {why} and webhooks need a publicly reachable receiver")
        call("harness.register_webhook", env.register_receiver)

    @staticmethod
    def _settle(env: ContractEnv, what: str, *, read_events: bool) -> list[WebhookEvent]:
        call("harness.settle", lambda: env.harness.settle(env.ctx))
        return events_after(env, what) if read_events else []

    def _charge(
        self,
        env: ContractEnv,
        minor: int = 1234,
        currency: str | None = None,
        *,
        method: SavedPaymentMethod | None = None,
        confirm: bool = False,
        **kwargs: Any,
    ) -> tuple[Money, ChargeResult]:
        """Charge a good method; a pending charge (asynchronous settlement) is settled, and with
        ``confirm`` the webhook that settles it must name the charge."""
        asynchronous = _asynchronous(env, "charge_settlement")
        if asynchronous and confirm:
            self._listen(env, "charges settle asynchronously")
        method = method or self._method(env, "succeeds")
        amount = self._money(env, minor, currency)
        result = call(
            "charge_payment_method",
            lambda: env.ops.charge_payment_method(method, amount, **kwargs),
        )
        self._check_charge(env, result, amount)
        if result.status is PaymentStatus.PENDING:
            events = self._settle(env, f"settling charge {result.id!r}", read_events=confirm)
            if confirm:
                invoice_id = kwargs.get("invoice_id")
                self._check_ended(
                    events,
                    result,
                    invoice_id,
                    amount,
                    (EventType.PAYMENT_SUCCEEDED,),
                    what=f"charge {result.id!r}",
                    also=f" (or invoice {invoice_id!r} with {amount})",
                )
        return amount, result

    @staticmethod
    def _check_charge(env: ContractEnv, result: object, amount: Money) -> None:
        check(
            isinstance(result, ChargeResult),
            f"charge_payment_method returned {result!r}; expected a ChargeResult",
        )
        assert isinstance(result, ChargeResult)
        check(
            result.amount == amount,
            f"charge_payment_method returned {result.amount}, expected {amount}",
        )
        _check_status(
            env,
            "charge_settlement",
            f"charge_payment_method returned status {result.status.value} "
            f"(raw {result.raw_status!r}) for a method that succeeds",
            settled=result.status is PaymentStatus.SUCCEEDED,
            pending=result.status is PaymentStatus.PENDING,
        )
        check(bool(result.id), "charge_payment_method returned an empty transaction id")
        check(
            result.provider == env.name,
            f"charge_payment_method returned provider {result.provider!r}, expected {env.name!r}",
        )

    @staticmethod
    def _check_ended(
        events: list[WebhookEvent],
        result: ChargeResult,
        invoice_id: str | None,
        amount: Money | None,
        ended: tuple[EventType, ...],
        *,
        what: str,
        also: str,
    ) -> None:
        """A pending charge, once settled, ended as ``ended`` says (and not the other way)."""
        found = find(events, ended, transaction_id=result.id, invoice_id=invoice_id, amount=amount)
        check(
            bool(found),
            f"{what} came back pending and, once settled, no "
            f"{' or '.join(k.value for k in ended)} event named it{also}; normalized: "
            f"{summary(events)}",
        )
        opposite = (
            EventType.PAYMENT_FAILED
            if EventType.PAYMENT_SUCCEEDED in ended
            else EventType.PAYMENT_SUCCEEDED
        )
        wrong = find(events, (opposite,), transaction_id=result.id, invoice_id=invoice_id)
        check(not wrong, f"{what} came back pending and settled with {opposite.value}")

    def _declined(self, env: ContractEnv, kind: MethodKind, error: type[ProviderError]) -> None:
        asynchronous = _asynchronous(env, "charge_settlement")
        codes = _declared(env, "error_codes", (True, False))
        if asynchronous:
            self._listen(env, "charges settle asynchronously")
        method = self._method(env, kind)
        amount = self._money(env, 1234)
        # An asynchronous failure may name the invoice rather than the transaction.
        invoice_id = f"inv_contract_{kind}" if asynchronous else None
        what = f"charge_payment_method with the {kind!r} method"
        try:
            result = env.ops.charge_payment_method(method, amount, invoice_id=invoice_id)
        except error as exc:
            check(
                bool(exc.raw_code) or not codes,
                f"{type(exc).__name__} from charge_payment_method ({kind!r} method) has no "
                "raw_code; the provider's own code must be kept (declare error_codes = False "
                "if the provider has none)",
            )
            check(
                exc.provider == env.name,
                f"{type(exc).__name__}.provider is {exc.provider!r}, expected {env.name!r}",
            )
            return
        except Exception as exc:
            fail(f"{what} raised {type(exc).__name__}: {exc}; expected {error.__name__}")
        if not (asynchronous and result.status is PaymentStatus.PENDING):
            fail(f"{what} returned {describe(result)}; expected it to raise {error.__name__}")
        events = self._settle(env, f"settling charge {result.id!r}", read_events=True)
        self._check_ended(
            events,
            result,
            invoice_id,
            None,
            _FAILED_KINDS[kind],
            what=what,
            also=f" (nor raised {error.__name__})",
        )

    def _refund(
        self, env: ContractEnv, transaction_id: str, amount: Money | None, expected: Money
    ) -> paywire.RefundResult:
        what = f"create_refund({transaction_id!r}, {amount})"
        refund = call(what, lambda: env.ops.create_refund(transaction_id, amount))
        check(
            refund.amount == expected,
            f"create_refund returned {refund.amount}, expected {expected}",
        )
        check(
            refund.transaction_id == transaction_id,
            f"create_refund returned transaction_id {refund.transaction_id!r}, "
            f"expected {transaction_id!r}",
        )
        _check_status(
            env,
            "refund_settlement",
            f"create_refund returned status {refund.status.value} (raw {refund.raw_status!r})",
            settled=refund.status is RefundStatus.SUCCEEDED,
            pending=refund.status is RefundStatus.PENDING,
        )
        check(bool(refund.id), "create_refund returned an empty refund id")
        return refund

    @staticmethod
    def _verify(ops: Operations, what: str, item: Delivery, headers: Mapping[str, str]) -> None:
        call(f"verify_webhook of {what}", lambda: ops.verify_webhook(item.body, headers))

    @staticmethod
    def _invalid_signature(
        env: ContractEnv,
        what: str,
        body: bytes,
        headers: Mapping[str, str],
        secret: str | None = None,
        ops: Operations | None = None,
    ) -> None:
        """The delivery must be refused with InvalidSignature and nothing else: through
        ``verify_webhook`` (every configured secret) on the check's path, or, given an explicit
        ``secret``, through ``verify_webhook_signature``."""
        operation = "verify_webhook" if secret is None else "verify_webhook_signature"
        try:
            if secret is None:
                (ops or env.ops).verify_webhook(body, headers)
            else:
                env.provider.verify_webhook_signature(body, headers, secret)
        except InvalidSignature:
            return
        except Exception as exc:
            fail(
                f"{operation} with {what} raised {type(exc).__name__}: {exc}; "
                "expected InvalidSignature and nothing else"
            )
        fail(f"{operation} accepted {what}; expected InvalidSignature")

    @staticmethod
    def _not_trusted(env: ContractEnv, what: str, item: Delivery) -> None:
        """A notification of a fetch-authenticated provider never parses into an event: only
        into a reference to fetch, or UnknownEvent / MalformedWebhook."""
        try:
            parsed = env.provider.parse_webhook(item.body, item.headers)
        except (UnknownEvent, MalformedWebhook):
            return
        except Exception as exc:
            fail(
                f"parse_webhook of {what} raised {type(exc).__name__}: {exc}; expected an "
                "EventReference, UnknownEvent or MalformedWebhook"
            )
        check(
            isinstance(parsed, EventReference),
            f"parse_webhook of {what} returned {parsed!r}: an event taken from an unsigned "
            "notification (webhook_authentication is 'fetch'); expected an EventReference",
        )

    def _charge_once(
        self, env: ContractEnv, method: SavedPaymentMethod, amount: Money, key: str
    ) -> ChargeResult:
        return call(
            f"charge_payment_method (idempotency key {key!r})",
            lambda: env.ops.charge_payment_method(method, amount, idempotency_key=key),
        )

    def _charge_path(
        self, env: ContractEnv, method: SavedPaymentMethod, amount: Money, warmup: str
    ) -> str:
        """The fault glob of the request a charge makes last (learned from a warm-up charge
        with the key ``warmup``)."""
        start = len(env.http.requests)
        self._charge_once(env, method, amount, warmup)
        posts = [r for r in env.http.requests[start:] if r.method == "POST"]
        check(bool(posts), "charge_payment_method sent no POST request")
        return env.fault_path(posts[-1])

    @staticmethod
    def _arm(env: ContractEnv, **fault: Any) -> str:
        answer = env.ctx.control("POST", "/faults", {"provider": env.name, **fault})
        check(answer.status_code < 300, f"arming the sandbox fault failed: {answer.text}")
        armed = answer.json()
        return str(armed.get("id", "")) if isinstance(armed, dict) else ""

    @staticmethod
    def _drop_fired(env: ContractEnv, path: str) -> None:
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
        check(
            not left,
            f"the drop_after_commit fault on POST {path} was never triggered; the charge did not "
            "go where the warm-up charge went",
        )

    def _completed_checkout(
        self, env: ContractEnv, invoice_id: str, *, save: bool
    ) -> tuple[Invoice, str]:
        """With the receiver listening, a checkout for a new invoice, completed by the customer;
        returns the invoice and the URL the customer was sent back to."""
        if not env.receives_webhooks:
            pytest.skip("live mode: webhook delivery needs a publicly reachable receiver")
        invoice = self._invoice(env, invoice_id)
        call("harness.register_webhook", env.register_receiver)
        session = call(
            "create_checkout_session" + ("(save_payment_method=True)" if save else ""),
            lambda: env.ops.create_checkout_session(
                invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL, save_payment_method=save
            ),
        )
        redirect = call(
            "harness.complete_checkout", lambda: env.harness.complete_checkout(env.ctx, session)
        )
        return invoice, redirect

    # -- checkout ----------------------------------------------------------------------------

    @standard_check(
        Capability.CHECKOUT.value,
        needs=(Capability.CHECKOUT,),
        troubleshooting="""
        The session's fields come from the provider's answer: map its id, hosted-page URL,
        the invoice id sent with it (metadata, a reference field) and the total in minor units
        converted with the provider's currency rules.
        """,
    )
    def test_checkout_session_created(self, paywire_env: ContractEnv) -> None:
        """A checkout session has an id and an http(s) URL and carries the invoice id and the
        invoice's exact total."""
        env = paywire_env
        invoice = self._invoice(env, "inv_contract_checkout_1")
        session = call(
            "create_checkout_session",
            lambda: env.ops.create_checkout_session(
                invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            ),
        )
        check(bool(session.id), "create_checkout_session returned an empty session id")
        check(
            session.url.startswith(("http://", "https://")),
            f"create_checkout_session returned url {session.url!r}; expected an http(s) URL",
        )
        check(
            session.invoice_id == invoice.id,
            f"create_checkout_session returned invoice_id {session.invoice_id!r}, "
            f"expected {invoice.id!r}",
        )
        check(
            session.amount == invoice.total,
            f"create_checkout_session returned amount {session.amount}, expected {invoice.total}",
        )

    @standard_check(
        Capability.CHECKOUT.value,
        needs=(Capability.CHECKOUT, Capability.WEBHOOKS),
        declarations=(_CHECKOUT_EVENTS, _AUTH),
        troubleshooting="""
        The app learns that an invoice is paid from this event. If no event names the invoice,
        the invoice id is not sent with the checkout or not read back from the webhook (map it
        in the event rules). A missing event means the provider's event type is not mapped, or
        a follow-up the provider needs (capturing an approved order) is not done in
        ``follow_up``. Declare ``checkout_events = "single"`` if the provider sends one status
        event. "Delivered again … another event id": derive the event id from the delivery
        (the provider's event id, or the resource's id and state), never from the time.
        """,
    )
    def test_checkout_completion_sends_webhooks(self, paywire_env: ContractEnv) -> None:
        """Once the customer completes the hosted checkout and the delivered webhooks are
        processed as an app's processor does (verify with the configured secret, parse, fetch
        what a notification names, the provider's follow-up, and the webhooks that causes), a
        payment-succeeded event names the invoice id and the exact amount — and, with
        ``checkout_events = "separate"``, so does a checkout-completed event. Each delivery,
        delivered again, is the same event (same id)."""
        env = paywire_env
        single = _declared(env, "checkout_events", ("separate", "single")) == "single"
        invoice, redirect = self._completed_checkout(env, "inv_contract_checkout_2", save=False)
        check(
            redirect.startswith(SUCCESS_URL),
            f"completing the checkout redirected to {redirect!r}; expected {SUCCESS_URL}",
        )
        events = events_after(env, "checkout", redeliver=True)
        check(bool(events), "completing the checkout delivered no webhook the provider maps")
        wanted = (
            (EventType.PAYMENT_SUCCEEDED,)
            if single
            else (EventType.CHECKOUT_COMPLETED, EventType.PAYMENT_SUCCEEDED)
        )
        for kind in wanted:
            matching = [e for e in events if e.type is kind]
            check(
                bool(matching),
                f"no {kind.value} event among the webhooks delivered after checkout "
                f"(normalized: {summary(events)})",
            )
            check(
                any(e.invoice_id == invoice.id for e in matching),
                f"{kind.value} event carries invoice_id "
                f"{', '.join(repr(e.invoice_id) for e in matching)}, expected {invoice.id!r}",
            )
            check(
                any(e.amount == invoice.total for e in matching),
                f"{kind.value} event carries amount "
                f"{', '.join(str(e.amount) for e in matching)}, expected {invoice.total}",
            )

    @standard_check(
        Capability.SAVE_ON_CHECKOUT.value,
        needs=(Capability.CHECKOUT, Capability.SAVE_ON_CHECKOUT, Capability.WEBHOOKS),
        declarations=(_CHECKOUT_EVENTS, _CHARGES),
        troubleshooting="""
        With ``save_payment_method=True`` the provider must keep the method (Stripe:
        ``setup_future_usage``; a vault flag) and an event of the checkout must say which one:
        set ``payment_method_id`` (and ``customer_id``) with ``method_saved=True`` in the event
        rules, or complete the event in ``follow_up``. If the charge fails, the method was not
        saved for off-session use. Do not declare ``save_on_checkout`` if the provider cannot.
        """,
    )
    def test_checkout_saves_method(self, paywire_env: ContractEnv) -> None:
        """A checkout created with ``save_payment_method=True``, once completed, yields an event
        naming the saved method (``WebhookEvent.saved_payment_method``); its details come back
        for it (when declared) and it can be charged for an exact amount (when declared)."""
        env = paywire_env
        self._completed_checkout(env, "inv_contract_checkout_save", save=True)
        events = events_after(env, "a checkout that saves the payment method")
        saved = [e.saved_payment_method for e in events if e.saved_payment_method is not None]
        check(
            bool(saved),
            "no event delivered after a checkout with save_payment_method=True names a saved "
            f"payment method (payment_method_id with method_saved); normalized: {summary(events)}",
        )
        method = saved[0]
        assert method is not None
        check(
            method.provider == env.name,
            f"the saved method names provider {method.provider!r}, expected {env.name!r}",
        )
        caps = env.provider.capabilities
        if Capability.PAYMENT_METHOD_DETAILS in caps:
            info = call(
                "get_payment_method_details of the method saved at checkout",
                lambda: env.ops.get_payment_method_details(method),
            )
            check(
                info.id == method.id,
                f"get_payment_method_details returned id {info.id!r}, expected {method.id!r}",
            )
        if Capability.CHARGE in caps:
            self._charge(env, 2500, method=method, invoice_id="inv_contract_checkout_save_2")

    # -- setup -------------------------------------------------------------------------------

    @standard_check(
        Capability.SETUP.value,
        needs=(Capability.SETUP,),
        troubleshooting="""
        The default ``Harness.complete_setup`` completes the hosted page and calls
        ``provider.complete_setup(session, params=<the success URL's query>)``: implement
        ``complete_setup`` (``op_complete_setup``) to read the saved method from the provider
        and return it with its ``customer_id``, idempotently. Details failing for the returned
        method usually mean the method or its customer is not the one the setup saved.
        """,
    )
    def test_setup_session_saves_method(self, paywire_env: ContractEnv) -> None:
        """A setup session has an id and an http(s) URL; once completed
        (``Harness.complete_setup``, by default through ``provider.complete_setup``) it yields a
        saved method of this provider, whose details come back for it (when declared)."""
        env = paywire_env
        customer = env.harness.customer()
        session = call(
            "create_setup_session",
            lambda: env.ops.create_setup_session(
                customer, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            ),
        )
        check(bool(session.id), "create_setup_session returned an empty session id")
        check(
            session.url.startswith(("http://", "https://")),
            f"create_setup_session returned url {session.url!r}; expected an http(s) URL",
        )
        saved = call("harness.complete_setup", lambda: env.harness.complete_setup(env.ctx, session))
        check(
            isinstance(saved, SavedPaymentMethod) and saved.provider == env.name,
            f"completing the setup returned {saved!r}; expected a SavedPaymentMethod of "
            f"{env.name!r}",
        )
        if Capability.PAYMENT_METHOD_DETAILS in env.provider.capabilities:
            info = call(
                "get_payment_method_details after setup",
                lambda: env.ops.get_payment_method_details(saved),
            )
            check(
                info.id == saved.id,
                f"get_payment_method_details returned id {info.id!r}, expected {saved.id!r}",
            )

    # -- charge ------------------------------------------------------------------------------

    @standard_check(
        Capability.CHARGE.value,
        needs=(Capability.CHARGE,),
        declarations=(_CHARGES,),
        troubleshooting="""
        The result's amount must be what was charged, converted back from minor units with the
        provider's currency rules. A pending result needs ``charge_settlement =
        "asynchronous"``, and then a webhook after ``Harness.settle`` must name the transaction
        (or the invoice and amount).
        """,
    )
    def test_charge_succeeds(self, paywire_env: ContractEnv) -> None:
        """Charging a good saved method returns a ChargeResult for the exact amount: succeeded,
        or — with ``charge_settlement = "asynchronous"`` — pending, and then a webhook settles
        it as payment-succeeded naming the transaction (or the invoice id and amount)."""
        env = paywire_env
        _amount, result = self._charge(env, invoice_id="inv_contract_charge_1", confirm=True)
        check(
            result.invoice_id in (None, "inv_contract_charge_1"),
            f"charge_payment_method returned invoice_id {result.invoice_id!r}, "
            "expected 'inv_contract_charge_1'",
        )

    @standard_check(
        Capability.CHARGE.value,
        needs=(Capability.CHARGE,),
        declarations=(_CHARGES, _CODES),
        troubleshooting="""
        Map the provider's decline to ``CardDeclined`` in ``error_rules`` (by code, or by
        message when the provider has no codes — then declare ``error_codes = False``), and
        keep its code as ``raw_code``.
        """,
    )
    def test_charge_declined(self, paywire_env: ContractEnv) -> None:
        """A declining method raises CardDeclined with the provider's code (``raw_code``,
        unless ``error_codes = False``) — or, with asynchronous charges, comes back pending and
        settles as payment-failed."""
        self._declined(paywire_env, "declines", CardDeclined)

    @standard_check(
        Capability.CHARGE.value,
        needs=(Capability.CHARGE,),
        declarations=(_CHARGES, _CODES),
        troubleshooting="""
        Map the provider's expired-card error to ``PaymentMethodExpired`` (before any generic
        decline rule: the first matching rule wins).
        """,
    )
    def test_charge_expired_method(self, paywire_env: ContractEnv) -> None:
        """An expired method raises PaymentMethodExpired with the provider's code — or, with
        asynchronous charges, settles as payment-failed."""
        self._declined(paywire_env, "expired", PaymentMethodExpired)

    @standard_check(
        Capability.CHARGE.value,
        needs=(Capability.CHARGE,),
        declarations=(_CHARGES, _CODES),
        troubleshooting="""
        Map the provider's "customer must authenticate" answer to ``AuthenticationRequired``
        (with the transaction and action URL when the provider gives them), before generic
        decline rules.
        """,
    )
    def test_charge_needs_authentication(self, paywire_env: ContractEnv) -> None:
        """A method that needs the customer raises AuthenticationRequired with the provider's
        code — or, with asynchronous charges, settles as payment-requires-action or
        payment-failed."""
        self._declined(paywire_env, "needs_authentication", AuthenticationRequired)

    # -- refund ------------------------------------------------------------------------------

    @standard_check(
        Capability.REFUND.value,
        needs=(Capability.CHARGE, Capability.REFUND),
        declarations=(_REFUNDS, _CHARGES),
        troubleshooting="""
        Without an amount the whole transaction is refunded. A pending refund needs
        ``refund_settlement = "asynchronous"`` and a refund-succeeded webhook naming the
        transaction (``transaction_id``) or the refund (``refund_id``) after
        ``Harness.settle``.
        """,
    )
    def test_refund_full(self, paywire_env: ContractEnv) -> None:
        """Refunding without an amount refunds everything: succeeded, or — with
        ``refund_settlement = "asynchronous"`` — pending, and then a webhook settles it as
        refund-succeeded naming the transaction or the refund."""
        env = paywire_env
        amount, charge = self._charge(env)
        if _asynchronous(env, "refund_settlement"):
            self._listen(env, "refunds settle asynchronously")
        refund = self._refund(env, charge.id, None, amount)
        if refund.status is not RefundStatus.PENDING:
            return
        events = self._settle(env, f"settling refund {refund.id!r}", read_events=True)
        kinds = (EventType.REFUND_SUCCEEDED,)
        check(
            bool(find(events, kinds, transaction_id=charge.id, refund_id=refund.id)),
            f"refund {refund.id!r} came back pending and, once settled, no refund.succeeded "
            f"event named transaction {charge.id!r} or the refund; normalized: {summary(events)}",
        )

    @standard_check(
        Capability.PARTIAL_REFUND.value,
        needs=(Capability.CHARGE, Capability.REFUND, Capability.PARTIAL_REFUND),
        declarations=(_REFUNDS,),
        troubleshooting="""
        Send the refund's amount in minor units; a refund that ignores it refunds everything.
        """,
    )
    def test_refund_partial(self, paywire_env: ContractEnv) -> None:
        """A partial refund refunds exactly the amount asked."""
        env = paywire_env
        _amount, charge = self._charge(env)
        self._refund(env, charge.id, self._money(env, 500), self._money(env, 500))

    @standard_check(
        Capability.PARTIAL_REFUND.value,
        needs=(Capability.CHARGE, Capability.REFUND, Capability.PARTIAL_REFUND),
        declarations=(_REFUNDS,),
        troubleshooting="""
        Each refund is its own operation with its own idempotency key: reusing one key for both
        returns the first refund again.
        """,
    )
    def test_refund_two_partials(self, paywire_env: ContractEnv) -> None:
        """Two partial refunds that add up to the charge both succeed, as two refunds."""
        env = paywire_env
        _amount, charge = self._charge(env)
        first = self._refund(env, charge.id, self._money(env, 500), self._money(env, 500))
        second = self._refund(env, charge.id, self._money(env, 734), self._money(env, 734))
        check(
            first.id != second.id, f"two partial refunds returned the same refund id {first.id!r}"
        )

    @standard_check(
        Capability.PARTIAL_REFUND.value,
        needs=(Capability.CHARGE, Capability.REFUND, Capability.PARTIAL_REFUND),
        declarations=(_REFUNDS,),
        troubleshooting="""
        Map the provider's "amount exceeds what is left" error to ``AlreadyRefunded``.
        """,
    )
    def test_refund_more_than_left(self, paywire_env: ContractEnv) -> None:
        """Refunding more than what is left raises AlreadyRefunded."""
        env = paywire_env
        amount, charge = self._charge(env)
        first = self._money(env, 500)
        self._refund(env, charge.id, first, first)
        too_much = self._money(env, 1000)
        expect(
            AlreadyRefunded,
            f"create_refund of {too_much} when {amount - first} of {amount} is left",
            lambda: env.ops.create_refund(charge.id, too_much),
        )

    @standard_check(
        Capability.REFUND.value,
        needs=(Capability.CHARGE, Capability.REFUND),
        declarations=(_REFUNDS,),
        troubleshooting="""
        Map the provider's "already refunded" error to ``AlreadyRefunded``.
        """,
    )
    def test_refund_already_refunded(self, paywire_env: ContractEnv) -> None:
        """Refunding a fully refunded transaction again raises AlreadyRefunded."""
        env = paywire_env
        amount, charge = self._charge(env)
        self._refund(env, charge.id, None, amount)
        expect(
            AlreadyRefunded,
            "create_refund of a fully refunded transaction",
            lambda: env.ops.create_refund(charge.id),
        )

    # -- payment methods ---------------------------------------------------------------------

    @standard_check(
        Capability.PAYMENT_METHOD_DETAILS.value,
        needs=(Capability.PAYMENT_METHOD_DETAILS,),
        troubleshooting="""
        ``get_payment_method_details`` is given the ``SavedPaymentMethod`` (with its
        ``customer_id``): a provider whose methods live under customers reads both from it.
        """,
    )
    def test_payment_method_details(self, paywire_env: ContractEnv) -> None:
        """A saved method's details come back for it: its id, this provider, a type, and four
        digits when a ``last4`` is given."""
        env = paywire_env
        method = self._method(env, "succeeds")
        info = call(
            "get_payment_method_details", lambda: env.ops.get_payment_method_details(method)
        )
        check(
            info.id == method.id,
            f"get_payment_method_details returned id {info.id!r}, expected {method.id!r}",
        )
        check(
            info.provider == env.name,
            f"get_payment_method_details returned provider {info.provider!r}, "
            f"expected {env.name!r}",
        )
        check(bool(info.type), "get_payment_method_details returned an empty type")
        check(
            info.last4 is None or (len(info.last4) == 4 and info.last4.isdigit()),
            f"get_payment_method_details returned last4 {info.last4!r}; expected four digits",
        )

    @standard_check(
        Capability.DETACH.value,
        needs=(Capability.DETACH, Capability.PAYMENT_METHOD_DETAILS),
        troubleshooting="""
        Detaching must remove the method at the provider; the provider's "no such method"
        answer (often 404, sometimes 400) maps to ``NotFound``.
        """,
    )
    def test_detach_then_not_found(self, paywire_env: ContractEnv) -> None:
        """A detached method is gone: its details and a second detach raise NotFound."""
        env = paywire_env
        method = self._method(env, "succeeds")
        result = call("detach_payment_method", lambda: env.ops.detach_payment_method(method))
        check(result is None, f"detach_payment_method returned {result!r}; expected None")
        expect(
            NotFound,
            "get_payment_method_details after detach",
            lambda: env.ops.get_payment_method_details(method),
        )
        expect(
            NotFound,
            "a second detach_payment_method",
            lambda: env.ops.detach_payment_method(method),
        )

    # -- webhooks ----------------------------------------------------------------------------

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_AUTH,),
        troubleshooting="""
        Compare ``Harness.sign_webhook`` with the provider's documented signing; header names
        are case-insensitive (use ``get_header``). Fetch-authenticated providers must accept
        their unsigned notifications.
        """,
    )
    def test_webhook_valid_signature(self, paywire_env: ContractEnv) -> None:
        """A correctly signed delivery verifies — through ``verify_webhook`` (every configured
        secret) on the check's path, through ``verify_webhook_signature`` with the secret given,
        and with upper-case header names. With ``webhook_authentication = "fetch"``: an
        unsigned notification is accepted (what it names is fetched)."""
        env = paywire_env
        item = sample(env)
        headers = signed(env, item)
        self._verify(env.ops, "a valid webhook", item, headers)
        if fetch_authenticated(env):
            return
        call(
            "verify_webhook_signature of a valid webhook (explicit secret)",
            lambda: env.provider.verify_webhook_signature(item.body, headers, env.webhook_secret),
        )
        upper = {k.upper(): v for k, v in headers.items()}
        self._verify(env.ops, "a valid webhook with upper-case header names", item, upper)

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_AUTH,),
        troubleshooting="""
        Verify the signature over the exact raw body, before parsing it. A fetch-authenticated
        provider's ``parse_webhook`` must return an ``EventReference``, never an event read
        from the notification.
        """,
    )
    def test_webhook_tampered_body(self, paywire_env: ContractEnv) -> None:
        """A body changed after signing is refused. With ``webhook_authentication = "fetch"``:
        a tampered notification never parses into an event (only into a reference to fetch, or
        UnknownEvent / MalformedWebhook)."""
        env = paywire_env
        item = sample(env)
        headers = signed(env, item)
        tampered = (item.body + b" ", item.body.replace(b"{", b'{"x":1,', 1) + b"&status=paid")
        for body in tampered:
            if fetch_authenticated(env):
                self._not_trusted(env, "a tampered notification", Delivery(body, headers))
            else:
                self._invalid_signature(env, "a tampered body", body, headers)

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_AUTH,),
        troubleshooting="""
        Verify with the configured secret, never with anything taken from the delivery. A
        fetch-authenticated provider must let the provider's "no such resource" answer raise
        ``NotFound`` from ``fetch_webhook_event``.
        """,
    )
    def test_webhook_wrong_secret(self, paywire_env: ContractEnv) -> None:
        """A delivery signed with another secret is refused (also when that secret is passed to
        ``verify_webhook_signature``). With ``webhook_authentication = "fetch"``: a notification
        naming a resource the provider does not have raises NotFound when fetched."""
        env = paywire_env
        item = sample(env)
        if fetch_authenticated(env):
            parsed = call(
                "parse_webhook of the first sample",
                lambda: env.provider.parse_webhook(item.body, item.headers),
            )
            check(
                isinstance(parsed, EventReference),
                f"parse_webhook of the first sample returned {parsed!r}; expected an "
                "EventReference",
            )
            assert isinstance(parsed, EventReference)
            forged = attrs.evolve(parsed, resource_id=parsed.resource_id + "forged")
            expect(
                NotFound,
                f"fetch_webhook_event of a notification naming {forged.resource_id!r}, which "
                f"{env.name} does not have",
                lambda: env.ops.fetch_webhook_event(forged),
            )
            return
        other = "whsec_" + "0" * 32 if not env.webhook_secret.startswith("whsec_0") else "x" * 32
        headers = signed(env, item, secret=other)
        self._invalid_signature(env, "a signature made with another secret", item.body, headers)
        good = signed(env, item)
        self._invalid_signature(
            env, "a valid signature but the wrong secret passed explicitly", item.body, good, other
        )

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_TIMESTAMP, _AUTH),
        troubleshooting="""
        Refuse signatures older than a few minutes. If the provider signs no timestamp, declare
        ``signature_timestamp = False``: then the same delivery must always normalize to the
        same event id, so the app's event store answers it "duplicate".
        """,
    )
    def test_webhook_stale_timestamp(self, paywire_env: ContractEnv) -> None:
        """A delivery signed an hour ago is refused. With ``signature_timestamp = False``: the
        old signed delivery verifies, and processed twice it normalizes to the same event id
        (the app's store deduplicates it). With ``webhook_authentication = "fetch"``: the same
        notification twice names the same resource."""
        env = paywire_env
        timestamped = _declared(env, "signature_timestamp", (True, False))
        item = sample(env)
        now = int(time.time())
        stale = signed(env, item, timestamp=now - 3600)
        if fetch_authenticated(env):
            first = call("parse_webhook", lambda: env.provider.parse_webhook(item.body, stale))
            again = call("parse_webhook", lambda: env.provider.parse_webhook(item.body, stale))
            check(
                first == again,
                f"the same notification parsed twice named {first!r} and then {again!r}",
            )
            return
        if timestamped:
            check(
                stale != signed(env, item, timestamp=now),
                "harness.sign_webhook ignores the timestamp, yet the harness declares "
                "signature_timestamp = True; declare False if the provider signs none",
            )
            self._invalid_signature(env, "a timestamp one hour old", item.body, stale)
            return
        ids = []
        for attempt in ("first", "second"):
            self._verify(env.ops, f"an old delivery ({attempt} time)", item, stale)
            event = read(env, item.body, stale, f"an old delivery ({attempt} time)")
            check(event is not None, "the first webhook sample normalizes to no event")
            assert event is not None
            ids.append(event.id)
        check(
            ids[0] == ids[1],
            f"the same delivery processed twice normalized to event ids {ids[0]!r} and "
            f"{ids[1]!r}: without a signed timestamp, a replayed delivery is only caught by its "
            "event id",
        )

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_AUTH,),
        troubleshooting="""
        A missing or empty signature header must raise ``InvalidSignature``, not ``KeyError``
        or ``IndexError``. Fetch-authenticated providers have no signature headers.
        """,
    )
    def test_webhook_missing_headers(self, paywire_env: ContractEnv) -> None:
        """Without its signature headers (all, or any one of them, or with one empty) a delivery
        is refused. (Not applicable to fetch-authenticated notifications, which carry none.)"""
        env = paywire_env
        if fetch_authenticated(env):
            pytest.skip(f"{env.name}'s notifications are authenticated by fetching: no headers")
        item = sample(env)
        headers = signed(env, item)
        self._invalid_signature(env, "no headers at all", item.body, {})
        for name in headers:
            if name in item.headers:
                continue  # the sample's own headers (an event id), not the signature
            rest = {k: v for k, v in headers.items() if k != name}
            self._invalid_signature(env, f"the {name!r} header missing", item.body, rest)
            self._invalid_signature(
                env, f"an empty {name!r} header", item.body, {**headers, name: ""}
            )

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_AUTH,),
        troubleshooting="""
        Any failure while verifying (bad base64, odd header types, bytes that are not UTF-8)
        must become ``InvalidSignature``; ``parse_webhook`` must turn unreadable bodies into
        ``MalformedWebhook`` (``parse_json_body`` / ``parse_form_body`` do).
        """,
    )
    def test_webhook_garbage_raises_only_invalid_signature(self, paywire_env: ContractEnv) -> None:
        """Arbitrary bytes and header values never verify and never raise anything but
        InvalidSignature; ``parse_webhook`` of them raises nothing but UnknownEvent or
        MalformedWebhook. (Fetch-authenticated: verification may accept anything, and parsing
        never yields an event.)"""
        env = paywire_env
        by_fetch = fetch_authenticated(env)
        item = sample(env)
        good = {k: v for k, v in signed(env, item).items() if k not in item.headers}
        names = sorted(good) or ["x-signature"]
        values = list(good.values()) or ["v1=0"]

        @settings(
            max_examples=_GARBAGE_EXAMPLES[env.path],
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(data=st.data())
        def garbage(data: st.DataObject) -> None:
            body = data.draw(
                st.one_of(st.binary(max_size=300), _JSON_GARBAGE, st.just(item.body)), "body"
            )
            value = st.one_of(
                st.text(max_size=120),
                st.sampled_from(values).flatmap(
                    lambda v: st.builds(
                        lambda cut, extra: v[:cut] + extra,
                        st.integers(0, len(v)),
                        st.text(max_size=10),
                    )
                ),
            )
            key = st.one_of(st.sampled_from(names), st.text(max_size=30))
            headers = data.draw(st.dictionaries(key, value, max_size=6), "headers")
            what = f"garbage (body={body[:60]!r}, headers={headers!r})"
            if by_fetch:
                try:
                    env.ops.verify_webhook(body, headers)
                except InvalidSignature:
                    pass
                except Exception as exc:
                    fail(f"verify_webhook with {what} raised {type(exc).__name__}: {exc}")
                self._not_trusted(env, what, Delivery(body, headers))
                return
            if body == item.body:
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
            self._invalid_signature(env, what, body, headers)
            try:
                env.provider.parse_webhook(body, headers)
            except (UnknownEvent, MalformedWebhook):
                pass
            except Exception as exc:
                fail(f"parse_webhook of {what} raised {type(exc).__name__}: {exc}")

        garbage()

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_AUTH,),
        troubleshooting="""
        Map every provider event type the harness lists in the provider's event rules. A
        fetch-authenticated provider returns references here; what they become is checked where
        real notifications are fetched (checkout, settlement).
        """,
    )
    def test_webhook_samples_normalize(self, paywire_env: ContractEnv) -> None:
        """Every documented delivery (``Harness.webhook_samples``) parses to its expected type,
        with this provider and an event id — or, for a notification that only names a
        resource, to a reference to fetch."""
        env = paywire_env
        samples = env.harness.webhook_samples()
        check(bool(samples), "harness.webhook_samples() is empty")
        wrong: list[str] = []
        for payload, expected in samples:
            item = delivery(payload)
            raw: object = item.body[:40]
            if isinstance(payload, Mapping):
                raw = payload.get("type") or payload.get("event_type") or payload.get("event")
            try:
                parsed = env.provider.parse_webhook(item.body, item.headers)
            except Exception as exc:
                wrong.append(
                    f"{raw!r} raised {type(exc).__name__}: {exc}, expected {expected.value}"
                )
                continue
            if isinstance(parsed, EventReference):
                if parsed.provider != env.name or not parsed.resource_id:
                    wrong.append(f"{raw!r} parsed to a reference {parsed!r}")
                continue
            if parsed.type is not expected:
                wrong.append(
                    f"{raw!r} normalized to {parsed.type.value}, expected {expected.value}"
                )
            elif parsed.provider != env.name or not parsed.id:
                wrong.append(
                    f"{raw!r} normalized with provider {parsed.provider!r}, id {parsed.id!r}"
                )
        check(not wrong, "parse_webhook: " + "; ".join(wrong))

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        troubleshooting="""
        An event type missing from the event rules must raise ``UnknownEvent`` (the processor
        then answers 200 and ignores it), never ``KeyError``.
        """,
    )
    def test_webhook_unknown_event(self, paywire_env: ContractEnv) -> None:
        """A well-formed event of a type the provider does not map raises UnknownEvent from
        ``parse_webhook``; a body that is no event (``{}``) raises UnknownEvent or
        MalformedWebhook."""
        env = paywire_env
        item = delivery(env.harness.unknown_event())
        expect(
            UnknownEvent,
            "parse_webhook of an unmapped event type",
            lambda: env.provider.parse_webhook(item.body, item.headers),
        )
        try:
            env.provider.parse_webhook(b"{}", {})
        except (UnknownEvent, MalformedWebhook):
            return
        except Exception as exc:
            fail(
                f"parse_webhook of a body that is not an event ({{}}) raised "
                f"{type(exc).__name__}: {exc}; expected UnknownEvent or MalformedWebhook"
            )
        fail("parse_webhook of a body that is not an event ({}) returned a result")

    @standard_check(
        Capability.WEBHOOKS.value,
        needs=(Capability.WEBHOOKS,),
        declarations=(_AUTH, "harness.rotation_settings"),
        troubleshooting="""
        ``verify_webhook`` must try every configured secret (``webhook_secret`` and
        ``webhook_secrets``), and every signature a delivery carries. Override
        ``Harness.rotation_settings`` if the provider's previous secret is configured another
        way.
        """,
    )
    def test_webhook_secret_rotation(self, paywire_env: ContractEnv) -> None:
        """While a secret is rotated (``Harness.rotation_settings``: the previous secret
        accepted besides the current one), a delivery signed with the previous secret verifies,
        one signed with the current one verifies, and one signed with neither is refused. (Not
        applicable to fetch-authenticated notifications, which carry no signature.)"""
        env = paywire_env
        if fetch_authenticated(env):
            pytest.skip(f"{env.name}'s notifications are authenticated by fetching: no secret")
        previous = env.harness.previous_webhook_secret()
        check(
            bool(previous) and previous != env.webhook_secret,
            "harness.previous_webhook_secret() must differ from the current secret",
        )
        rotated = env.extra_provider(env.harness.rotation_settings(env.settings, previous))
        item = sample(env)
        for label, secret in (("the previous secret", previous), ("the current secret", None)):
            headers = signed(env, item, secret=secret)
            self._verify(rotated, f"a webhook signed with {label} while rotating", item, headers)
        neither = signed(env, item, secret=_WRONG_SECRET)
        self._invalid_signature(
            env, "a signature made with neither secret", item.body, neither, ops=rotated
        )
        self._invalid_signature(
            env,
            "a signature made with the previous secret, once it is no longer configured",
            item.body,
            signed(env, item, secret=previous),
        )

    # -- idempotency -------------------------------------------------------------------------

    @standard_check(
        Capability.IDEMPOTENCY.value,
        needs=(Capability.CHARGE, Capability.IDEMPOTENCY),
        declarations=(_CHARGES,),
        troubleshooting="""
        Send the caller's key with the charge (``Call(..., key=key)``) in the header the
        provider honours; a provider without one needs a lookup by a reference derived from
        the key.
        """,
    )
    def test_idempotent_charge_same_key(self, paywire_env: ContractEnv) -> None:
        """The same idempotency key twice makes one charge; another key makes another."""
        env = paywire_env
        method = self._method(env, "succeeds")
        amount = self._money(env, 1234)
        first = self._charge_once(env, method, amount, "contract-idem-A")
        again = self._charge_once(env, method, amount, "contract-idem-A")
        other = self._charge_once(env, method, amount, "contract-idem-B")
        self._check_charge(env, again, amount)
        check(
            first.id == again.id,
            f"charging twice with the same idempotency key made two charges "
            f"({first.id!r} and {again.id!r})",
        )
        check(
            other.id != first.id,
            f"charging with a different idempotency key returned the same transaction {other.id!r}",
        )

    @standard_check(
        Capability.IDEMPOTENCY.value,
        needs=(Capability.CHARGE, Capability.IDEMPOTENCY),
        declarations=(_CHARGES,),
        troubleshooting="""
        A response lost after the provider committed the charge must be retried with the same
        key (the core does this for requests that carry one) or end in ``OutcomeUnknown``
        carrying the key.
        """,
    )
    def test_idempotent_charge_after_dropped_response(self, paywire_env: ContractEnv) -> None:
        """A charge whose response is lost after the provider committed it, retried (by the core,
        or by the caller with the same key after OutcomeUnknown), is one charge."""
        env = paywire_env
        if env.against == "live":
            pytest.skip("live mode: faults can only be injected into the sandbox")
        method = self._method(env, "succeeds")
        amount = self._money(env, 1234)
        path = self._charge_path(env, method, amount, "contract-drop-warmup")
        self._arm(env, method="POST", path=path, kind="drop_after_commit", count=1)
        key = "contract-drop-1"
        try:
            first = env.ops.charge_payment_method(method, amount, idempotency_key=key)
        except OutcomeUnknown as exc:
            check(
                exc.idempotency_key == key,
                f"OutcomeUnknown carries idempotency_key {exc.idempotency_key!r}, expected {key!r}",
            )
            first = self._charge_once(env, method, amount, key)
        except Exception as exc:
            fail(
                f"charge_payment_method whose response was dropped after commit raised "
                f"{type(exc).__name__}: {exc}; expected the core's retry to return the charge "
                "(or OutcomeUnknown)"
            )
        self._check_charge(env, first, amount)
        self._drop_fired(env, path)
        later = self._charge_once(env, method, amount, key)
        check(
            later.id == first.id,
            f"after a dropped response, retrying with the same key returned {later.id!r} but the "
            f"first call returned {first.id!r}: the charge was made twice",
        )

    @standard_check(
        Capability.IDEMPOTENCY.value,
        needs=(Capability.CHARGE,),
        declarations=(_CHARGES, "harness.charges_made"),
        troubleshooting="""
        Every charge needs a key before its first attempt even when the caller gives none (the
        kernel makes one: put it on the charge's ``Call``), and ``OutcomeUnknown`` must carry
        it. Retrying with that key must find the charge the lost attempt made: send the same
        key (not a fresh one) on every request that can charge, or look the charge up by a
        reference derived from it.
        """,
    )
    def test_charge_without_key_after_double_fault(self, paywire_env: ContractEnv) -> None:
        """Charging without an idempotency key while the sandbox drops the charge's answer after
        committing it and then fails every request of the provider ends in OutcomeUnknown
        carrying an idempotency key; once the faults clear, retrying with that key returns one
        charge (charging with it again returns the same transaction, and
        ``Harness.charges_made``, when given, counts one more charge)."""
        env = paywire_env
        if env.against == "live":
            pytest.skip("live mode: faults can only be injected into the sandbox")
        method = self._method(env, "succeeds")
        amount = self._money(env, 1234)
        path = self._charge_path(env, method, amount, "contract-double-warmup")
        before = call("harness.charges_made", lambda: env.harness.charges_made(env.ctx, method))
        what = (
            "charge_payment_method without an idempotency key, its answer lost after the charge "
            "was made and every later request failing,"
        )
        # The answer to the charging request is lost after it took effect, and from then on
        # every request fails (the plugin's own recovery lookups included); what comes before
        # the charge (a customer or order lookup) goes through, whatever the provider's steps.
        drop = self._arm(env, method="POST", path=path, kind="drop_after_commit", count=1)
        self._arm(env, method="*", path="*", kind="server_error", count=None, after=drop)
        try:
            try:
                result = env.ops.charge_payment_method(method, amount)
            except OutcomeUnknown as exc:
                key = exc.idempotency_key
            except Exception as exc:
                fail(f"{what} raised {type(exc).__name__}: {exc}; expected OutcomeUnknown")
            else:
                fail(f"{what} returned {describe(result)}; expected OutcomeUnknown")
            self._drop_fired(env, path)
        finally:
            env.ctx.control("DELETE", "/faults")
        check(
            key is not None,
            f"{what} raised OutcomeUnknown without an idempotency key: the app cannot retry "
            "without charging twice (every operation that moves money needs a key before its "
            "first attempt)",
        )
        assert key is not None
        retried = self._charge_once(env, method, amount, key)
        self._check_charge(env, retried, amount)
        again = self._charge_once(env, method, amount, key)
        check(
            again.id == retried.id,
            f"retrying with the key OutcomeUnknown carried returned {retried.id!r}, and again "
            f"{again.id!r}: the key does not reach the provider, so every retry charges again",
        )
        after = call("harness.charges_made", lambda: env.harness.charges_made(env.ctx, method))
        if before is not None and after is not None:
            check(
                after - before == 1,
                f"{what} and retried with the key OutcomeUnknown carried, made {after - before} "
                "charges; expected one",
            )

    # -- money -------------------------------------------------------------------------------

    def _currency_charge(self, env: ContractEnv, currency: str | None, kind: str) -> None:
        if currency is None:
            pytest.skip(f"the {env.name} harness names no {kind} currency")
        rules = type(env.provider).currency_rules
        minor = 500 if rules.exponent(currency) == 0 else 1230
        self._charge(env, minor, currency)

    @standard_check(
        "money",
        needs=(Capability.CHARGE,),
        declarations=("harness.zero_decimal_currency",),
        troubleshooting="""
        Convert with the provider's ``currency_rules`` (``Money.to_minor_units``), never by
        multiplying by 100.
        """,
    )
    def test_zero_decimal_currency(self, paywire_env: ContractEnv) -> None:
        """A zero-decimal currency is charged for the exact amount."""
        env = paywire_env
        self._currency_charge(env, env.harness.zero_decimal_currency(), "zero-decimal")

    @standard_check(
        "money",
        needs=(Capability.CHARGE,),
        declarations=("harness.three_decimal_currency",),
        troubleshooting="""
        Convert with the provider's ``currency_rules``; declare a multiple (KWD amounts in tens
        of fils) where the provider rounds.
        """,
    )
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

    @standard_check(
        "money",
        needs=(Capability.CHARGE,),
        troubleshooting="""
        Convert the amount (``to_minor_units``) before building any request, so that
        ``InvalidAmount`` is raised before the first HTTP call.
        """,
    )
    def test_inexpressible_amount_refused_before_http(self, paywire_env: ContractEnv) -> None:
        """An amount the provider cannot express raises InvalidAmount without any HTTP, for a
        charge and (when declared) a checkout."""
        env = paywire_env
        money = self._inexpressible(env)
        if money is None:
            pytest.skip(f"{env.name} takes every amount ISO 4217 allows")
        method = self._method(env, "succeeds")
        before = len(env.http.requests)
        expect(
            InvalidAmount,
            f"charge_payment_method of {money.amount} {money.currency}",
            lambda: env.ops.charge_payment_method(method, money),
        )
        sent = env.http.requests[before:]
        check(
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
        expect(
            InvalidAmount,
            f"create_checkout_session for an invoice of {money.amount} {money.currency}",
            lambda: env.ops.create_checkout_session(
                invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL
            ),
        )
        sent = env.http.requests[before:]
        check(
            not sent,
            f"create_checkout_session for {money.amount} {money.currency} sent "
            f"{', '.join(f'{r.method} {r.url.path}' for r in sent)} before refusing the amount",
        )

    # -- availability and secrets ------------------------------------------------------------

    @standard_check(
        "secrets",
        troubleshooting="""
        ``available()`` reads the config only: enabled and credentials present. It must not
        call the provider.
        """,
    )
    def test_available_only_with_credentials(self, paywire_env: ContractEnv) -> None:
        """available() is true when configured and false without credentials, with no HTTP."""
        env = paywire_env
        check(env.provider.available(), "available() is false with the harness's settings")
        secrets = set(env.harness.secrets(env.settings))
        check(bool(secrets), "harness.secrets(settings) names no secret")

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
        check(
            available is False,
            f"available() returned {available!r} without credentials "
            f"(settings without: {', '.join(sorted(set(env.settings) - set(bare)))})",
        )
        check(not sent, "available() made HTTP requests")

    @staticmethod
    def _assert_no_secret(secrets: list[str], where: str, text: str) -> None:
        found = find_secrets(text, secrets)
        check(not found, f"{where} contains {', '.join(found)}")

    @standard_check(
        "secrets",
        troubleshooting="""
        Keep credentials in ``paywire.Secret`` fields (``secret_field``) and never put them in
        ``__repr__``.
        """,
    )
    def test_no_secret_in_repr_or_str(self, paywire_env: ContractEnv) -> None:
        """The provider, its config and its HTTP client never show a secret."""
        env = paywire_env
        secrets = env.harness.secrets(env.settings)
        for name, obj in (
            ("provider", env.provider),
            ("provider.config", env.provider.config),
            ("provider.http", env.provider.http),
        ):
            self._assert_no_secret(secrets, f"repr({name})", repr(obj))
            self._assert_no_secret(secrets, f"str({name})", str(obj))

    @standard_check(
        "secrets",
        troubleshooting="""
        Log through the core's HTTP client (it redacts); never format a credential into a log
        record or an exception's arguments.
        """,
    )
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
            env.ops.create_checkout_session(invoice, success_url=SUCCESS_URL, cancel_url=CANCEL_URL)
        if Capability.CHARGE in caps:
            _amount, charge = self._charge(env)
            if Capability.REFUND in caps:
                self._refund(env, charge.id, None, charge.amount)
                try:
                    env.ops.create_refund(charge.id)
                except Exception as exc:
                    errors.append(exc)
            declining = self._method(env, "declines")
            try:
                env.ops.charge_payment_method(declining, self._money(env, 1234))
            except Exception as exc:
                errors.append(exc)
        if Capability.WEBHOOKS in caps:
            item = sample(env)
            for headers in ({}, signed(env, item, secret=_WRONG_SECRET)):
                try:
                    env.ops.verify_webhook(item.body, headers)
                except Exception as exc:
                    errors.append(exc)
        secrets = env.harness.secrets(env.settings)
        for record in caplog.records:
            self._assert_no_secret(secrets, f"log record {record.name}", record.getMessage())
        self._assert_no_secret(secrets, "the captured log", caplog.text)
        for error in errors:
            kind = type(error).__name__
            self._assert_no_secret(secrets, f"{kind} str()", str(error))
            self._assert_no_secret(secrets, f"{kind} repr()", repr(error))
            self._assert_no_secret(secrets, f"{kind} args", repr(error.args))

    @standard_check(
        "secrets",
        troubleshooting="""
        Re-record: the recorder redacts declared secrets, every credential sent in an
        ``Authorization`` header and every issued credential field (``access_token``,
        ``client_secret`` …). A secret the provider echoes elsewhere must be declared in
        ``Harness.secrets``.
        """,
    )
    def test_no_secret_in_fixtures(self, paywire_env: ContractEnv) -> None:
        """No recorded fixture holds a secret: the harness's, an issued credential
        (``access_token``, ``client_secret`` … not redacted), or anything credential-shaped."""
        env = paywire_env
        folder = env.fixtures
        if folder is None or not folder.is_dir():
            pytest.skip(f"no recorded fixtures (no folder {folder})")
        leaking = []
        secrets = env.harness.secrets(env.settings)
        for path in sorted(folder.glob("*.json")):
            text = path.read_text(encoding="utf-8")
            found = find_secrets(text, secrets, fixture=True)
            if found:
                leaking.append(f"{path.name} ({', '.join(found)})")
        check(not leaking, f"fixtures contain secrets: {'; '.join(leaking)}")

    # -- the guard ---------------------------------------------------------------------------

    @standard_check(
        "guard",
        troubleshooting="""
        Do not override or delete a standard check. Declare a check the provider cannot pass in
        ``Harness.declared_exceptions`` with the reason (or override it with
        ``pytest.mark.xfail(reason=...)``).
        """,
    )
    def test_standard_tests_not_weakened(self) -> None:
        """No standard test is overridden or deleted without an explicit, reasoned xfail, none
        of the suite's checking helpers is replaced, and every declared exception names a
        standard check and gives a reason."""
        problems = weakened_tests(
            type(self), ProviderContractSuite, standard_tests(), helpers=suite_helpers()
        )
        harness = getattr(type(self), "harness", None)
        if isinstance(harness, Harness):
            problems += bad_exceptions(harness.declared_exceptions, standard_tests())
        check(not problems, "the contract suite was weakened: " + "; ".join(problems))


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
