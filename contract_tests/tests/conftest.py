"""The suite's own tests: the minipay and shape fakes in the sandbox, and pytester for inner runs.

minipay is imported through ``legacy`` first: its deprecated imports are let through there.
"""

from __future__ import annotations

from typing import Any

import pytest
from legacy import minipay
from shapes import FAKES

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def paywire_sandbox_options() -> dict[str, Any]:
    """Serve the minipay fake and the shapes' fakes."""
    return {"fakes": [minipay.MiniFake, *FAKES], "webhook_retry_delays": (0.05, 0.1)}
