"""EDF and round-robin schedulers, and A58's rules for choosing between them."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_balancer_weighted_round_robin import (
    EdfScheduler,
    RoundRobinScheduler,
    make_scheduler,
)


def _counts(scheduler, picks: int) -> Counter[int]:
    return Counter(scheduler.pick() for _ in range(picks))


def test_edf_follows_the_weights_exactly_over_a_whole_cycle() -> None:
    scheduler = EdfScheduler([1.0, 2.0, 4.0], random.Random(7))
    counts = _counts(scheduler, 7000)
    for index, share in enumerate([1 / 7, 2 / 7, 4 / 7]):
        assert abs(counts[index] - 7000 * share) <= 4


@settings(max_examples=200, deadline=None)
@given(
    weights=st.lists(st.floats(min_value=0.01, max_value=1000.0), min_size=1, max_size=8),
    picks=st.integers(min_value=1, max_value=600),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_edf_error_is_bounded_by_the_number_of_endpoints(
    weights: list[float], picks: int, seed: int
) -> None:
    scheduler = EdfScheduler(weights, random.Random(seed))
    counts = _counts(scheduler, picks)
    total = sum(weights)
    for index, weight in enumerate(weights):
        assert abs(counts[index] - picks * weight / total) <= len(weights) + 1 + 1e-9


def test_edf_interleaves_rather_than_bursting() -> None:
    scheduler = EdfScheduler([1.0, 1.0, 2.0], random.Random(3))
    sequence = [scheduler.pick() for _ in range(400)]
    # The heaviest endpoint never gets more than 2 picks in a row (its period is half).
    longest = run = 0
    for previous, current in itertools.pairwise(sequence):
        run = run + 1 if previous == current == 2 else 0
        longest = max(longest, run)
    assert longest <= 2


def test_edf_rejects_non_positive_weights() -> None:
    with pytest.raises(ValueError):
        EdfScheduler([1.0, 0.0], random.Random())
    with pytest.raises(ValueError):
        EdfScheduler([], random.Random())


def test_round_robin_takes_turns_from_its_start() -> None:
    scheduler = RoundRobinScheduler(3, start=2)
    assert [scheduler.pick() for _ in range(7)] == [2, 0, 1, 2, 0, 1, 2]


@pytest.mark.parametrize(
    "weights",
    [
        [5.0],  # one endpoint
        [0.0, 0.0, 0.0],  # no weights yet
        [0.0, 3.0, 0.0],  # only one endpoint has a weight
        [2.0, 2.0, 2.0],  # all the same
        [0.0, 2.0, 2.0],  # the weightless one gets the mean: all the same
    ],
)
def test_round_robin_when_weights_cannot_tell_endpoints_apart(weights: list[float]) -> None:
    scheduler = make_scheduler(weights, random.Random(1))
    assert isinstance(scheduler, RoundRobinScheduler)
    counts = _counts(scheduler, 300 * len(weights))
    assert set(counts.values()) == {300}


def test_weightless_endpoints_get_the_mean_weight() -> None:
    scheduler = make_scheduler([0.0, 1.0, 3.0], random.Random(5))
    assert isinstance(scheduler, EdfScheduler)
    counts = _counts(scheduler, 6000)
    # weights become 2, 1, 3
    assert abs(counts[0] - 2000) <= 4
    assert abs(counts[1] - 1000) <= 4
    assert abs(counts[2] - 3000) <= 4


def test_starting_points_differ_between_schedulers() -> None:
    rng = random.Random(11)
    firsts = {make_scheduler([1.0, 1.0, 1.0, 1.0], rng).pick() for _ in range(50)}
    assert len(firsts) > 1
    firsts = {make_scheduler([1.0, 2.0, 3.0, 4.0], rng).pick() for _ in range(50)}
    assert len(firsts) > 1
