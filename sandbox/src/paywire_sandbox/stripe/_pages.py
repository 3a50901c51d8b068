"""The hosted pages: a Checkout card form, a 3D Secure challenge, and plain notices.

Self-contained HTML (no external assets) with stable element ids for browsers and tests:
``#card-number``, ``#card-expiry``, ``#card-cvc``, ``#pay``, ``#cancel`` on the card form;
``#authorize-3ds`` and ``#fail-3ds`` on the challenge.
"""

from __future__ import annotations

from html import escape
from typing import Any

from paywire_sandbox.stripe._currency import format_amount

__all__ = ["checkout_page", "notice_page", "three_ds_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f6f9fc;margin:0;padding:2rem;color:#1a1f36}
main{max-width:28rem;margin:auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 2px 8px rgba(0,0,0,.08)}
label{display:block;margin-top:1rem;font-size:.9rem}
input{width:100%;box-sizing:border-box;padding:.6rem;margin-top:.3rem;border:1px solid #ccd;
border-radius:4px;font-size:1rem}
button{margin-top:1.5rem;width:100%;padding:.8rem;border:0;border-radius:4px;font-size:1rem;
cursor:pointer}
#pay,#authorize-3ds{background:#635bff;color:#fff}
#cancel,#fail-3ds{background:#e3e8ee;color:#1a1f36}
.error{color:#c0123c;margin-top:1rem}
.total{font-size:1.6rem;font-weight:600}
.muted{color:#697386;font-size:.85rem}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def checkout_page(
    session: dict[str, Any],
    line_items: list[dict[str, Any]],
    *,
    action: str,
    cancel_action: str,
    error: str | None,
    email: str | None,
) -> str:
    """The card form for an open Checkout Session."""
    if session["mode"] == "payment":
        currency = session["currency"]
        rows = "".join(
            f"<li>{escape(item['description'])} × {item['quantity']}: "
            f"{escape(format_amount(item['amount_total'], currency))} {currency.upper()}</li>"
            for item in line_items
        )
        heading = (
            f'<p class="muted">Pay sandbox merchant</p><p class="total" id="amount">'
            f"{escape(format_amount(session['amount_total'], currency))} {currency.upper()}</p>"
            f"<ul>{rows}</ul>"
        )
        button = "Pay"
    else:
        heading = (
            '<p class="total">Save your card</p><p class="muted">You will not be charged '
            "now; the card is saved for future payments.</p>"
        )
        button = "Save card"
    problem = f'<p class="error" id="error" role="alert">{escape(error)}</p>' if error else ""
    cancel_disabled = "" if session["cancel_url"] else " disabled"
    return _page(
        "Sandbox Checkout",
        f'{heading}<form method="post" action="{escape(action)}" id="payment-form">'
        f'<label for="email">Email</label><input id="email" name="email" type="email" '
        f'value="{escape(email or "")}" autocomplete="email">'
        '<label for="card-number">Card number</label><input id="card-number" '
        'name="card_number" inputmode="numeric" autocomplete="cc-number" '
        'placeholder="4242 4242 4242 4242" required>'
        '<label for="card-expiry">Expiry (MM/YY)</label><input id="card-expiry" '
        'name="card_expiry" autocomplete="cc-exp" placeholder="MM/YY" required>'
        '<label for="card-cvc">CVC</label><input id="card-cvc" name="card_cvc" '
        'inputmode="numeric" autocomplete="cc-csc" placeholder="123" required>'
        f'{problem}<button id="pay" type="submit">{button}</button></form>'
        f'<form method="post" action="{escape(cancel_action)}">'
        f'<button id="cancel" type="submit"{cancel_disabled}>Cancel and return</button></form>'
        '<p class="muted">Sandbox: use Stripe\'s test cards, e.g. 4242 4242 4242 4242, any '
        "future expiry and any CVC.</p>",
    )


def three_ds_page(intent: dict[str, Any], *, action: str) -> str:
    """The 3D Secure test challenge: the customer completes or fails authentication."""
    if intent["object"] == "payment_intent":
        what = (
            f"Authorise a payment of {escape(format_amount(intent['amount'], intent['currency']))} "
            f"{intent['currency'].upper()}"
        )
    else:
        what = "Authorise saving this card for future payments"
    return _page(
        "3D Secure test authentication",
        f'<p class="total">3D Secure test page</p><p>{what}.</p>'
        f'<form method="post" action="{escape(action)}">'
        '<button id="authorize-3ds" name="result" value="complete" type="submit">'
        "Complete authentication</button>"
        '<button id="fail-3ds" name="result" value="fail" type="submit">'
        "Fail authentication</button></form>",
    )


def notice_page(title: str, text: str) -> str:
    """A page with one message (session complete, expired, unknown)."""
    return _page(title, f'<p class="total" id="notice">{escape(title)}</p><p>{escape(text)}</p>')
