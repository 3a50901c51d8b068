"""A short run of the chaos soak (``core/benchmarks/chaos_webhooks.py``) for each store: events
through the ASGI endpoint under uvicorn while worker processes are SIGKILLed — none lost, none
acknowledged before it was recorded, none handled twice outside the at-least-once window. The
figures of the full run (100,000 events) are in the docs; this only checks the guarantees."""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def chaos() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("chaos_webhooks")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_a_short_chaos_soak_loses_nothing(
    chaos: Any, store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if store == "postgres" else None
    logging.getLogger("procrastinate").setLevel(logging.ERROR)
    lines: list[str] = []
    figures = chaos.run(
        store,
        200,
        tmp_path,
        dsn=dsn,
        kill_every=1.5,
        lease=4.0,
        settle_timeout=120,
        workers=2,  # the suite's server allows 60 connections in all
        log=lines.append,
    )
    assert figures["problems"] == [], lines
    assert figures["kills"] >= 1
    assert figures["lost"] == 0
    assert figures["waiting"] == 0
    assert figures["statuses"] == {"processed": 200}
