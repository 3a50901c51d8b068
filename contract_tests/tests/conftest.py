"""The suite's own tests: the minipay fake in the sandbox, and pytester for inner runs."""

from __future__ import annotations

from typing import Any

import pytest
from minipay import MiniFake

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def paywire_sandbox_options() -> dict[str, Any]:
    """Serve only the minipay fake."""
    return {"fakes": [MiniFake], "webhook_retry_delays": (0.05, 0.1)}
