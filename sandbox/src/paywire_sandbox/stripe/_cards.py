"""Stripe's documented test cards and ``pm_card_*`` test PaymentMethods, and what each one does.

The behaviours follow https://docs.stripe.com/testing: a card either succeeds, declines every
charge with a fixed code, needs 3D Secure authentication, or succeeds and is then disputed or
has its refunds fail. Setting a card up (SetupIntent) runs
a zero-amount check, which the hard declines fail and ``chargeCustomerFail`` /
``insufficient_funds`` pass.
"""

from __future__ import annotations

import enum
import functools
import hashlib

import attrs

__all__ = [
    "AUTH_FAILED",
    "CARDS",
    "OUTCOMES",
    "PM_TOKENS",
    "Behaviour",
    "CardSpec",
    "Decline",
    "brand_of",
    "card_for_number",
    "fingerprint",
]


@attrs.frozen
class Decline:
    """How a declined charge is reported: ``code``, ``decline_code``, message and ``param``."""

    code: str
    decline_code: str | None
    message: str
    param: str | None = None
    #: Charge.outcome.type for the failed charge.
    outcome_type: str = "issuer_declined"
    #: Whether a zero-amount setup check fails too (a hard decline) or only real charges.
    fails_setup: bool = True


class Behaviour(enum.Enum):
    """What happens when a card is charged or set up."""

    SUCCEED = "succeed"
    DECLINE = "decline"
    #: 3D Secure on every payment, on- or off-session, even after setup (4000002760003184).
    AUTH_ALWAYS = "auth_always"
    #: 3D Secure unless the card was set up for off-session use first (4000002500003155).
    AUTH_UNLESS_SETUP = "auth_unless_setup"
    #: Charges succeed; a refund is accepted and then fails asynchronously (4000000000005126).
    REFUND_FAILS = "refund_fails"
    #: Charges succeed, then the cardholder disputes them as fraudulent (4000000000000259).
    DISPUTE = "dispute"
    #: Charges succeed, then the issuer opens an inquiry (4000000000002685).
    INQUIRY = "inquiry"


@attrs.frozen
class CardSpec:
    """One card number's public details and behaviour."""

    number: str
    brand: str
    funding: str = "credit"
    country: str = "US"
    behaviour: Behaviour = Behaviour.SUCCEED
    decline: Decline | None = None

    @property
    def last4(self) -> str:
        """The last four digits, as PaymentMethods show them."""
        return self.number[-4:]


GENERIC = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT = Decline(
    "card_declined", "insufficient_funds", "Your card has insufficient funds.", fails_setup=False
)
LOST = Decline("card_declined", "lost_card", "Your card was declined.")
STOLEN = Decline("card_declined", "stolen_card", "Your card was declined.")
EXPIRED = Decline("expired_card", "expired_card", "Your card has expired.", param="exp_month")
INCORRECT_CVC = Decline(
    "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", param="cvc"
)
PROCESSING = Decline(
    "processing_error",
    "processing_error",
    "An error occurred while processing your card. Try again in a little bit.",
)
CUSTOMER_FAIL = Decline(
    "card_declined", "generic_decline", "Your card was declined.", fails_setup=False
)
AUTH_REQUIRED = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)
#: The customer failed (or abandoned) the 3D Secure challenge.
AUTH_FAILED = Decline(
    "payment_intent_authentication_failure",
    None,
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again.",
    outcome_type="blocked",
)
VELOCITY = Decline(
    "card_declined",
    "card_velocity_exceeded",
    "Your card was declined for making repeated attempts too frequently or exceeding its amount "
    "limit.",
)
#: Radar blocks the payment (4100000000000019 always; 4000000000004954 as "highest" risk).
BLOCKED = Decline("card_declined", "fraudulent", "Your card was declined.", outcome_type="blocked")
LIVE_CARD = Decline(
    "card_declined",
    "test_mode_live_card",
    "Your card was declined. Your request was in test mode, but used a non test (live) card. "
    "For a list of valid test cards, visit: https://stripe.com/docs/testing.",
    outcome_type="invalid",
)


def _decline(number: str, decline: Decline) -> CardSpec:
    return CardSpec(number, "visa", behaviour=Behaviour.DECLINE, decline=decline)


CARDS: dict[str, CardSpec] = {
    spec.number: spec
    for spec in (
        CardSpec("4242424242424242", "visa"),
        CardSpec("4000056655665556", "visa", funding="debit"),
        CardSpec("5555555555554444", "mastercard"),
        CardSpec("2223003122003222", "mastercard"),
        CardSpec("5200828282828210", "mastercard", funding="debit"),
        CardSpec("5105105105105100", "mastercard", funding="prepaid"),
        CardSpec("378282246310005", "amex"),
        CardSpec("371449635398431", "amex"),
        CardSpec("6011111111111117", "discover"),
        CardSpec("3056930009020004", "diners"),
        CardSpec("3566002020360505", "jcb"),
        CardSpec("6200000000000005", "unionpay"),
        _decline("4000000000000002", GENERIC),
        _decline("4000000000009995", INSUFFICIENT),
        _decline("4000000000009987", LOST),
        _decline("4000000000009979", STOLEN),
        _decline("4000000000000069", EXPIRED),
        _decline("4000000000000127", INCORRECT_CVC),
        _decline("4000000000000119", PROCESSING),
        _decline("4000000000000341", CUSTOMER_FAIL),
        _decline("4000000000006975", VELOCITY),
        _decline("4100000000000019", BLOCKED),
        _decline("4000000000004954", BLOCKED),
        # Radar's risk and the CVC/address checks are reported on the charge; with the default
        # rules these payments go through.
        CardSpec("4000000000009235", "visa"),  # elevated risk
        CardSpec("4000000000000101", "visa"),  # cvc_check fails
        CardSpec("4000000000000036", "visa"),  # postal code check fails
        CardSpec("4000000000000028", "visa"),  # line1 check fails
        CardSpec("4000000000000010", "visa"),  # address checks fail
        CardSpec("4000000000000044", "visa"),  # address unavailable
        # Funds go straight to the available balance (domestic and international).
        CardSpec("4000000000000077", "visa"),
        CardSpec("4000003720000278", "visa"),
        CardSpec("4000000000003220", "visa", behaviour=Behaviour.AUTH_ALWAYS),  # 3DS2 required
        CardSpec("4000002760003184", "visa", behaviour=Behaviour.AUTH_ALWAYS),
        CardSpec("4000002500003155", "visa", behaviour=Behaviour.AUTH_UNLESS_SETUP),
        CardSpec("4000000000005126", "visa", behaviour=Behaviour.REFUND_FAILS),
        CardSpec("4000000000000259", "visa", behaviour=Behaviour.DISPUTE),
        CardSpec("4000000000002685", "visa", behaviour=Behaviour.INQUIRY),
    )
}

#: Test PaymentMethod ids usable directly as ``payment_method``; each use makes a fresh PM.
#: The ids and outcomes are those of Stripe's testing documentation (docs.stripe.com/testing,
#: "payment methods"); the ``pm_card_chargeDeclined…`` spellings without ``visa_`` are kept for
#: tests written against earlier versions of this fake.
PM_TOKENS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_mastercard_prepaid": "5105105105105100",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_diners": "3056930009020004",
    "pm_card_jcb": "3566002020360505",
    "pm_card_unionpay": "6200000000000005",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_visa_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_visa_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_visa_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_visa_chargeDeclinedVelocityLimitExceeded": "4000000000006975",
    "pm_card_radarBlock": "4100000000000019",
    "pm_card_riskLevelHighest": "4000000000004954",
    "pm_card_riskLevelElevated": "4000000000009235",
    "pm_card_cvcCheckFail": "4000000000000101",
    "pm_card_avsZipFail": "4000000000000036",
    "pm_card_avsLine1Fail": "4000000000000028",
    "pm_card_avsFail": "4000000000000010",
    "pm_card_avsUnchecked": "4000000000000044",
    "pm_card_bypassPending": "4000000000000077",
    "pm_card_bypassPendingInternational": "4000003720000278",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_authenticationRequiredSetupForOffSession": "4000002500003155",
    "pm_card_refundFail": "4000000000005126",
    "pm_card_createDispute": "4000000000000259",
    "pm_card_createDisputeInquiry": "4000000000002685",
}

#: The control API's ``outcome`` names, as the card a customer would type.
OUTCOMES: dict[str, str] = {
    "success": "4242424242424242",
    "decline": "4000000000000002",
    "insufficient_funds": "4000000000009995",
    "expired": "4000000000000069",
    "incorrect_cvc": "4000000000000127",
    "processing_error": "4000000000000119",
    "authentication_required": "4000002760003184",
}


def brand_of(number: str) -> str:
    """The card brand from the number's prefix (IIN ranges); ``unknown`` for anything else."""
    if not (number.isascii() and number.isdigit()):
        return "unknown"
    if number.startswith("4"):
        return "visa"
    two = int(number[:2]) if len(number) >= 2 else 0
    four = int(number[:4]) if len(number) >= 4 else 0
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if number.startswith("6011") or two == 65:
        return "discover"
    if two == 35:
        return "jcb"
    if two in (30, 36, 38):
        return "diners"
    if two == 62:
        return "unionpay"
    return "unknown"


def card_for_number(number: str) -> CardSpec:
    """The spec for a (Luhn-valid) number; real cards decline as test-mode live cards."""
    spec = CARDS.get(number)
    if spec is not None:
        return spec
    return CardSpec(number, brand_of(number), behaviour=Behaviour.DECLINE, decline=LIVE_CARD)


@functools.lru_cache(maxsize=1024)
def fingerprint(number: str) -> str:
    """A stable 16-character fingerprint: the same card number always gives the same one."""
    digest = hashlib.sha256(b"paywire-sandbox-card:" + number.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % 62] for b in digest[:16])
