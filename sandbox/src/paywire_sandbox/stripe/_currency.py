"""The sandbox's own table of Stripe's currency rules (minor units, special cases, minimums).

Amounts are integers in the currency's smallest unit. Zero-decimal currencies are sent as whole
units; three-decimal currencies must end in 0; ISK is two-decimal on the wire but must be a
multiple of 100. Minimum charge amounts are Stripe's published ones where it publishes one, and a
rough $0.50 equivalent (this table's own choice) for the rest.
"""

from __future__ import annotations

from paywire_sandbox.stripe._errors import StripeError, invalid_request

__all__ = [
    "MAX_AMOUNT",
    "SUPPORTED",
    "THREE_DECIMAL",
    "ZERO_DECIMAL",
    "check_amount",
    "check_currency",
    "decimals",
    "format_amount",
    "minimum_amount",
]


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


SUPPORTED: frozenset[str] = _codes(
    "usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl "
    "bsd bwp byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd "
    "fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs "
    "khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk "
    "mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub "
    "rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah "
    "ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw"
)

ZERO_DECIMAL: frozenset[str] = _codes(
    "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf"
)

THREE_DECIMAL: frozenset[str] = _codes("bhd jod kwd omr tnd")

#: Stripe caps a single charge at eight digits of minor units.
MAX_AMOUNT = 99_999_999

_MINIMUMS: dict[str, int] = {
    # Published by Stripe (settlement currencies).
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200,
    "sek": 300, "sgd": 50, "thb": 1000,
    # About $0.50, respecting each currency's own rule (this table's choice).
    "bhd": 200, "jod": 400, "kwd": 200, "omr": 200, "tnd": 2000, "isk": 10000,
    "krw": 700, "vnd": 13000, "clp": 500, "bif": 1500, "djf": 100, "gnf": 5000, "kmf": 250,
    "mga": 2500, "pyg": 4000, "rwf": 700, "ugx": 2000, "vuv": 60, "xaf": 300, "xof": 300,
    "xpf": 60, "idr": 800000, "twd": 1600,
}  # fmt: skip

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "cad": "$", "aud": "$"}


def decimals(currency: str) -> int:
    """How many minor-unit digits the API uses for ``currency``."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def minimum_amount(currency: str) -> int:
    """The smallest chargeable amount in minor units."""
    minimum = _MINIMUMS.get(currency)
    if minimum is not None:
        return minimum
    return 50 if decimals(currency) == 2 else 1


def format_amount(amount: int, currency: str) -> str:
    """``$0.50`` / ``¥50`` / ``0.200`` style rendering for error messages."""
    places = decimals(currency)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if places:
        whole, frac = divmod(amount, 10**places)
        text = f"{whole:,}.{frac:0{places}d}"
    else:
        text = f"{amount:,}"
    return f"{sign}{_SYMBOLS.get(currency, '')}{text}"


def check_currency(raw: str, param: str = "currency") -> str:
    """Lowercase and validate a currency code, or raise Stripe's ``Invalid currency`` error."""
    currency = raw.lower()
    if currency not in SUPPORTED:
        raise invalid_request(
            f"Invalid currency: {raw[:20]}. Stripe currently supports these currencies: "
            + ", ".join(sorted(SUPPORTED)),
            param=param,
        )
    return currency


def _amount_error(message: str, code: str, param: str) -> StripeError:
    return invalid_request(message, param=param, code=code)


def check_amount(
    amount: int, currency: str, param: str = "amount", *, minimum: bool = True
) -> None:
    """Raise Stripe's error when ``amount`` cannot be charged (or refunded) in ``currency``."""
    if amount < 1 and not minimum:
        raise _amount_error(
            "This value must be greater than or equal to 1.", "amount_too_small", param
        )
    if minimum and amount < minimum_amount(currency):
        raise _amount_error(
            f"Amount must be at least {format_amount(minimum_amount(currency), currency)} "
            f"{currency}",
            "amount_too_small",
            param,
        )
    if amount > MAX_AMOUNT:
        raise _amount_error(
            f"Amount must be no more than {format_amount(MAX_AMOUNT, currency)}",
            "amount_too_large",
            param,
        )
    if currency in THREE_DECIMAL and amount % 10:
        raise _amount_error(
            f"Invalid amount. Currency {currency.upper()} is a three-decimal currency and "
            "amounts must end in 0 (a multiple of 10 minor units). See "
            "https://stripe.com/docs/currencies#three-decimal for more information.",
            "invalid_charge_amount",
            param,
        )
    if currency == "isk" and amount % 100:
        raise _amount_error(
            "Invalid amount. Currency ISK has become effectively zero-decimal and charged "
            "amounts must be evenly divisible by 100. See "
            "https://stripe.com/docs/currencies#special-cases for more information.",
            "invalid_charge_amount_no_decimal_compatible",
            param,
        )
