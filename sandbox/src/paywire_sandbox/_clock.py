"""The sandbox clock: real time plus an offset the control API can advance."""

from __future__ import annotations

import time

__all__ = ["SandboxClock"]


class SandboxClock:
    """Real time shifted by an offset, so tests can move time forward (never backward).

    Implements the :class:`paywire_sandbox.Clock` protocol that fakes use.
    """

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the fakes must see it."""
        return time.time() + self._offset

    @property
    def offset(self) -> float:
        """How many seconds the clock has been advanced since the last reset."""
        return self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (>= 0) and return the new :meth:`now`."""
        if not seconds >= 0:  # also rejects NaN
            raise ValueError("the clock can only move forward")
        self._offset += seconds
        return self.now()

    def reset(self) -> None:
        """Return to real time."""
        self._offset = 0.0
