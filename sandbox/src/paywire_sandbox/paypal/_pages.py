"""The hosted approval page a buyer (or headless Chromium) sees for an order or a setup token.

No external assets. Stable element ids: ``#approve`` and ``#cancel`` (buttons), and one radio
button per outcome, ``#outcome-<name>``, to pick a funding source that will behave that way.
"""

from __future__ import annotations

from html import escape

__all__ = ["FUNDING_CHOICES", "approval_page", "message_page"]

#: (outcome, label) in the order the page offers them; the first is checked.
FUNDING_CHOICES: tuple[tuple[str, str], ...] = (
    ("success", "PayPal balance (pays normally)"),
    ("pending", "eCheck (capture stays pending for review)"),
    ("decline", "Card that the bank declines"),
    ("insufficient_funds", "Card without enough funds"),
    ("denied", "Card whose capture is denied"),
    ("expired", "Expired card"),
    ("processing_error", "Funding source PayPal refuses"),
    ("authentication_required", "Card that asks the buyer to come back"),
)

_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f5f7fa;margin:0;padding:2rem}"
    "main{max-width:28rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem;"
    "box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.3rem;color:#003087}"
    "fieldset{border:1px solid #ddd;border-radius:6px;margin:1rem 0}label{display:block;"
    "margin:.3rem 0}button{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem;"
    "border-radius:20px;border:0;cursor:pointer}#approve{background:#ffc439}"
    "#cancel{background:#e0e0e0}.amount{font-size:1.6rem;font-weight:600}"
)


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{escape(title)}"
        f"</title><style>{_STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def approval_page(
    *, heading: str, merchant: str, amount: str | None, action: str, token: str
) -> str:
    """The approval form; it POSTs ``action=approve|cancel`` and ``outcome`` to ``action``."""
    choices = "".join(
        f"<label><input type='radio' name='outcome' id='outcome-{name}' value='{name}'"
        f"{' checked' if i == 0 else ''}> {escape(label)}</label>"
        for i, (name, label) in enumerate(FUNDING_CHOICES)
    )
    amount_html = f"<p class='amount' id='amount'>{escape(amount)}</p>" if amount else ""
    body = (
        f"<h1>{escape(heading)}</h1><p id='merchant'>{escape(merchant)}</p>{amount_html}"
        f"<p>Sandbox buyer · token <code id='token'>{escape(token)}</code></p>"
        f"<form method='post' action='{escape(action, quote=True)}'>"
        f"<fieldset><legend>Pay with</legend>{choices}</fieldset>"
        "<button type='submit' id='approve' name='action' value='approve'>Agree and continue"
        "</button><button type='submit' id='cancel' name='action' value='cancel'>Cancel</button>"
        "</form>"
    )
    return _document(heading, body)


def message_page(title: str, text: str) -> str:
    """A plain page for an outcome without a redirect (no return URL, expired, unknown token)."""
    return _document(
        title, f"<h1 id='title'>{escape(title)}</h1><p id='message'>{escape(text)}</p>"
    )
