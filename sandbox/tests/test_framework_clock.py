"""The sandbox clock."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paywire_sandbox import SandboxClock


@given(st.lists(st.floats(min_value=0, max_value=1e9), max_size=5))
def test_advancing_adds_up(steps: list[float]) -> None:
    clock = SandboxClock()
    for step in steps:
        clock.advance(step)
    assert math.isclose(clock.offset, math.fsum(steps), rel_tol=1e-9, abs_tol=1e-6)
    assert clock.now() >= time.time() + clock.offset - 1
    clock.reset()
    assert clock.offset == 0


@pytest.mark.parametrize("seconds", [-1.0, -1e-9, math.nan, -math.inf])
def test_the_clock_never_moves_back(seconds: float) -> None:
    clock = SandboxClock()
    with pytest.raises(ValueError, match="forward"):
        clock.advance(seconds)
    assert clock.offset == 0
