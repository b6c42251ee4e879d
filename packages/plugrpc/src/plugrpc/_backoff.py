"""The connection backoff schedule (gRPC doc/connection-backoff.md, grpc-go ``internal/backoff``).

Theory of operation: attempt ``n`` (counting from 0 since the last successful connection) waits

    delay(0) = base_delay
    delay(n) = min(base_delay * multiplier**n, max_delay) * (1 + jitter * U(-1, 1))

before the next attempt, and may itself take ``max(min_connect_timeout, delay(n))`` to
connect. The first delay carries no jitter, as in the spec's pseudo-code and in grpc-go.
Defaults are grpc-go's: 1 s, x1.6, +-20 %, at most 120 s, connect timeout at least 20 s.
The object is plain: no clock, no loop; the random source is injectable so that tests can
check the schedule with a seeded generator.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["Backoff", "BackoffConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BackoffConfig:
    """Connection backoff parameters (grpc-go ``backoff.Config`` plus ``MinConnectTimeout``).

    Args:
        base_delay: the delay after the first failure, in seconds.
        multiplier: growth factor per failed attempt (at least 1).
        jitter: the relative spread, in [0, 1).
        max_delay: the cap before jitter, in seconds.
        min_connect_timeout: the least time one connection attempt may take, in seconds.
    """

    base_delay: float = 1.0
    multiplier: float = 1.6
    jitter: float = 0.2
    max_delay: float = 120.0
    min_connect_timeout: float = 20.0

    def __post_init__(self) -> None:
        for name in ("base_delay", "multiplier", "jitter", "max_delay", "min_connect_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise TypeError(f"BackoffConfig.{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"BackoffConfig.{name} must be finite and >= 0, got {value!r}")
        if self.multiplier < 1:
            raise ValueError(f"BackoffConfig.multiplier must be >= 1, got {self.multiplier!r}")
        if self.jitter >= 1:
            raise ValueError(f"BackoffConfig.jitter must be below 1, got {self.jitter!r}")
        if self.max_delay < self.base_delay:
            raise ValueError(
                f"BackoffConfig.max_delay ({self.max_delay}) is below base_delay "
                f"({self.base_delay})"
            )
        if self.min_connect_timeout <= 0:
            raise ValueError("BackoffConfig.min_connect_timeout must be above 0")


class Backoff:
    """The backoff state of one subchannel (or one resolver).

    Args:
        config: the schedule's parameters.
        rng: the random source for jitter (default: a private ``random.Random``).
    """

    __slots__ = ("_config", "_rng", "attempts")

    def __init__(self, config: BackoffConfig | None = None, *, rng: random.Random | None = None):
        self._config = config or BackoffConfig()
        self._rng = rng or random.Random()
        #: Failed attempts since the last reset; the next delay is ``delay_for(attempts)``.
        self.attempts = 0

    @property
    def config(self) -> BackoffConfig:
        """The schedule's parameters."""
        return self._config

    def delay_for(self, attempt: int) -> float:
        """The delay after attempt number ``attempt`` (0-based), with jitter.

        Draws one number from the random source unless ``attempt`` is 0.
        """
        config = self._config
        if attempt <= 0:
            return config.base_delay
        delay = config.base_delay
        if delay > 0:
            try:
                delay = min(delay * config.multiplier**attempt, config.max_delay)
            except OverflowError:  # a very long outage: the cap applies
                delay = config.max_delay
        delay *= 1 + config.jitter * (self._rng.random() * 2 - 1)
        return max(delay, 0.0)

    def next_delay(self) -> float:
        """The delay for the attempt about to start; counts the attempt."""
        delay = self.delay_for(self.attempts)
        self.attempts += 1
        return delay

    def connect_timeout(self, delay: float) -> float:
        """How long an attempt whose backoff is ``delay`` may take to connect."""
        return max(self._config.min_connect_timeout, delay)

    def reset(self) -> None:
        """Start the schedule again (after a successful connection, or on request)."""
        self.attempts = 0
