"""Deadlines as absolute points on the monotonic clock that asyncio's loop uses."""

from __future__ import annotations

import time
from dataclasses import dataclass

__all__ = ["Deadline"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in time on ``time.monotonic()``'s clock after which a call has failed.

    Args:
        when: the monotonic time, in seconds.
    """

    when: float

    @classmethod
    def after(cls, timeout: float, *, now: float | None = None) -> Deadline:
        """The deadline ``timeout`` seconds from ``now`` (default: the monotonic clock)."""
        if now is None:
            now = time.monotonic()
        return cls(now + timeout)

    def remaining(self, *, now: float | None = None) -> float:
        """Seconds left (negative once passed)."""
        if now is None:
            now = time.monotonic()
        return self.when - now

    def expired(self, *, now: float | None = None) -> bool:
        """Whether the deadline has passed."""
        return self.remaining(now=now) <= 0

    def earliest(self, other: Deadline | None) -> Deadline:
        """The sooner of two deadlines (``None`` means no deadline)."""
        if other is None or self.when <= other.when:
            return self
        return other
