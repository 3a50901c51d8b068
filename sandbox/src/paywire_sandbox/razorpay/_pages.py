"""The hosted pages (payment link, registration link, order checkout): plain HTML, no assets."""

from __future__ import annotations

from html import escape

from paywire_sandbox.razorpay._cards import OUTCOME_CARDS
from paywire_sandbox.razorpay._money import CURRENCY_EXPONENTS

__all__ = ["format_amount", "pay_page", "status_page"]

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
    "label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}"
    "button{margin-top:1rem;padding:.6rem 1.2rem}.error{color:#b00020}.amount{font-size:1.6rem}"
    ".muted{color:#555;font-size:.9rem}"
)


def _spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


_PLACEHOLDER = _spaced(OUTCOME_CARDS["success"])

# For a person clicking through: which numbers do what (the module _cards has them all).
_HINT = (
    "<p id=test-cards class=muted>Sandbox: "
    + "; ".join(
        f"{_spaced(OUTCOME_CARDS[outcome])} {what}"
        for outcome, what in (
            ("success", "pays"),
            ("decline", "is declined"),
            ("insufficient_funds", "has insufficient funds"),
        )
    )
    + ". Expiry and CVV are not checked: the number decides.</p>"
)


def format_amount(amount: int, currency: str) -> str:
    """``12345, "INR"`` → ``"INR 123.45"``."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    if exponent == 0:
        return f"{currency} {amount}"
    whole, fraction = divmod(amount, 10**exponent)
    return f"{currency} {whole}.{fraction:0{exponent}d}"


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><p>Razorpay sandbox</p>{body}</body></html>"
    )


def pay_page(
    *,
    title: str,
    description: str,
    amount: int,
    currency: str,
    action: str,
    error: str | None = None,
) -> str:
    """The card form: ``#card-number``, ``#card-expiry``, ``#card-cvc`` and ``#pay``."""
    error_html = f"<p id=error class=error role=alert>{escape(error)}</p>" if error else ""
    body = (
        f"<h1 id=title>{escape(title)}</h1>"
        f"<p id=description>{escape(description)}</p>"
        f"<p id=amount class=amount>{escape(format_amount(amount, currency))}</p>"
        f"{error_html}"
        f'<form id=payment-form method=post action="{escape(action)}">'
        "<label for=card-number>Card number</label>"
        "<input id=card-number name=card_number inputmode=numeric autocomplete=cc-number "
        f'placeholder="{_PLACEHOLDER}" required>'
        "<label for=card-expiry>Expiry (MM/YY)</label>"
        '<input id=card-expiry name=card_expiry value="12/34" autocomplete=cc-exp>'
        "<label for=card-cvc>CVV</label>"
        '<input id=card-cvc name=card_cvc value="123" autocomplete=cc-csc>'
        "<button id=pay type=submit>Pay</button></form>"
        f"{_HINT}"
    )
    return _document(title, body)


def status_page(*, title: str, status: str, message: str) -> str:
    """A page with no form: paid, cancelled or expired."""
    body = (
        f"<h1 id=title>{escape(title)}</h1>"
        f'<p id=status data-status="{escape(status)}">{escape(message)}</p>'
    )
    return _document(title, body)
