"""The connection backoff schedule against connection-backoff.md's bounds."""

from __future__ import annotations

import random

import pytest
from plugrpc._backoff import Backoff, BackoffConfig


def test_defaults_are_grpc_go_s() -> None:
    config = BackoffConfig()
    assert (config.base_delay, config.multiplier, config.jitter) == (1.0, 1.6, 0.2)
    assert (config.max_delay, config.min_connect_timeout) == (120.0, 20.0)


@pytest.mark.parametrize("seed", [0, 1, 42, 2024])
def test_thirteen_attempts_stay_within_the_spec_bounds(seed: int) -> None:
    backoff = Backoff(rng=random.Random(seed))
    delays = [backoff.next_delay() for _ in range(13)]
    assert backoff.attempts == 13
    # The first retry waits exactly INITIAL_BACKOFF.
    assert delays[0] == 1.0
    for n, delay in enumerate(delays[1:], start=1):
        unjittered = min(1.6**n, 120.0)
        assert unjittered * 0.8 <= delay <= unjittered * 1.2, (n, delay)
    # From attempt 11 on (1.6**11 > 120) the cap holds, jitter included.
    assert all(96.0 <= d <= 144.0 for d in delays[11:])
    # Jitter is real: the capped delays are not all equal.
    assert len(set(delays[10:])) > 1


def test_same_seed_same_schedule() -> None:
    first = Backoff(rng=random.Random(7))
    second = Backoff(rng=random.Random(7))
    assert [first.next_delay() for _ in range(13)] == [second.next_delay() for _ in range(13)]


def test_no_jitter_gives_the_exact_geometric_schedule() -> None:
    backoff = Backoff(BackoffConfig(jitter=0.0), rng=random.Random(0))
    delays = [backoff.next_delay() for _ in range(13)]
    expected = [min(1.6**n, 120.0) for n in range(13)]
    assert delays == pytest.approx(expected)


def test_reset_starts_again() -> None:
    backoff = Backoff(rng=random.Random(3))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 1.0


def test_connect_timeout_is_at_least_min_connect_timeout() -> None:
    backoff = Backoff()
    assert backoff.connect_timeout(1.0) == 20.0
    assert backoff.connect_timeout(100.0) == 100.0


def test_a_very_long_outage_does_not_overflow() -> None:
    backoff = Backoff(BackoffConfig(jitter=0.0))
    assert backoff.delay_for(100_000) == 120.0


def test_zero_base_delay_retries_at_once() -> None:
    backoff = Backoff(BackoffConfig(base_delay=0.0, max_delay=1.0))
    assert [backoff.next_delay() for _ in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_delay": -1.0},
        {"multiplier": 0.5},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"max_delay": 0.5},
        {"min_connect_timeout": 0.0},
        {"base_delay": float("inf")},
    ],
)
def test_invalid_configs_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="BackoffConfig"):
        BackoffConfig(**kwargs)


def test_non_numbers_are_rejected() -> None:
    with pytest.raises(TypeError, match="base_delay"):
        BackoffConfig(base_delay="1")  # type: ignore[arg-type]
