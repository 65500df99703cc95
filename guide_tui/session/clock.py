"""Clocks that give events their ``t``: seconds on the recording's own clock.

While audio is being recorded, the recorder *is* the clock (frames written / sample rate), so an
event's ``t`` lines up with the audio exactly; while paused the recorder clock stands still.
Without a recorder (notes-only sessions, tests) a monotonic clock stands in. A reopened session
continues from the last ``t`` written (``offset``), so ``t`` never goes backwards.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds on the session's clock."""
        ...


class MonotonicClock:
    """``time.monotonic()`` since construction, plus ``offset`` seconds."""

    def __init__(self, offset: float = 0.0) -> None:
        self._start = time.monotonic()
        self.offset = offset

    def now(self) -> float:
        return self.offset + (time.monotonic() - self._start)


class FrozenClock:
    """A clock tests move by hand."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
