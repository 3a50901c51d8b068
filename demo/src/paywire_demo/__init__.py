"""paywire-demo: ``paywire demo``, the hosted checkout flow end to end on the embedded sandbox.

Also a small shop (:class:`Shop`) that ``paywire demo --keep-serving`` leaves running for a person.
"""

from paywire_demo._flow import Demo, Environment, load_harnesses, open_environment
from paywire_demo._invoices import InvoiceBook, InvoiceRecord
from paywire_demo._serve import serve_app
from paywire_demo._shop import Shop

__all__ = [
    "Demo",
    "Environment",
    "InvoiceBook",
    "InvoiceRecord",
    "Shop",
    "load_harnesses",
    "open_environment",
    "serve_app",
]
