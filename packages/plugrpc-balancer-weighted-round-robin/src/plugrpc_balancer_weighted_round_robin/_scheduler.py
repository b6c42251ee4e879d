"""The schedulers of ``weighted_round_robin``'s picker (gRFC A58 "EDF Scheduler").

Theory of operation: the scheduler turns a list of endpoint weights into a sequence of
indices in which each index appears in proportion to its weight.

``EdfScheduler`` is A58's earliest-deadline-first scheduler: every endpoint is a job whose
period is ``1 / weight``; it starts with a deadline drawn uniformly from ``[0, period]``
(so that clients built at the same moment do not all start on the same backend) and each
pick takes the job with the earliest deadline and moves its deadline one period on. Ties go
to the job queued first. After any number of picks, each endpoint's count differs from
its exact share ``picks * weight / sum(weights)`` by at most one more than the number of
endpoints: the error is bounded and does not grow with the number of picks.

``make_scheduler`` applies A58's rules for weights that are not usable yet:

- one endpoint, or fewer than two endpoints with a weight (weight 0 means "no usable load
  report yet": not received, blacked out or expired), or every endpoint with the same
  weight: plain round robin (``RoundRobinScheduler``) starting at a random index;
- otherwise endpoints without a weight get the mean of the others' weights.
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

__all__ = ["EdfScheduler", "RoundRobinScheduler", "Scheduler", "make_scheduler"]


class Scheduler(Protocol):
    """Chooses the index of the next endpoint."""

    def pick(self) -> int:
        """The index of the endpoint for the next call."""
        ...


class RoundRobinScheduler:
    """Every index in turn.

    Args:
        count: the number of endpoints (at least 1).
        start: the first index.
    """

    __slots__ = ("_count", "_next")

    def __init__(self, count: int, start: int = 0) -> None:
        if count < 1:
            raise ValueError("a scheduler needs at least one endpoint")
        self._count = count
        self._next = start % count

    def pick(self) -> int:
        """The next index, wrapping around."""
        index = self._next
        self._next = index + 1 if index + 1 < self._count else 0
        return index


class EdfScheduler:
    """Earliest deadline first over positive weights (A58).

    Args:
        weights: one positive, finite weight per endpoint.
        rng: draws the initial deadlines.
    """

    __slots__ = ("_heap", "_order")

    def __init__(self, weights: Sequence[float], rng: random.Random) -> None:
        if not weights:
            raise ValueError("a scheduler needs at least one endpoint")
        self._order = itertools.count()
        heap: list[tuple[float, int, int, float]] = []
        for index, weight in enumerate(weights):
            if not weight > 0:
                raise ValueError(f"EDF weights must be positive, got {weight!r} at {index}")
            period = 1.0 / weight
            heap.append((rng.uniform(0.0, period), next(self._order), index, period))
        heapq.heapify(heap)
        self._heap = heap

    def pick(self) -> int:
        """The endpoint whose deadline comes first; its next deadline is one period later."""
        heap = self._heap
        deadline, _, index, period = heap[0]
        heapq.heapreplace(heap, (deadline + period, next(self._order), index, period))
        return index


def make_scheduler(weights: Sequence[float], rng: random.Random) -> Scheduler:
    """The scheduler A58 prescribes for ``weights`` (0 = no usable weight yet).

    Args:
        weights: one non-negative weight per endpoint, at least one.
        rng: the random source for starting points.

    Returns:
        Round robin when fewer than two endpoints have weights or all weights are equal,
        else an ``EdfScheduler`` in which weightless endpoints have the mean weight.
    """
    count = len(weights)
    if count == 0:
        raise ValueError("a scheduler needs at least one endpoint")
    known = [w for w in weights if w > 0]
    if count == 1 or len(known) < 2:
        return RoundRobinScheduler(count, rng.randrange(count))
    mean = sum(known) / len(known)
    filled = [w if w > 0 else mean for w in weights]
    if all(w == filled[0] for w in filled):
        return RoundRobinScheduler(count, rng.randrange(count))
    return EdfScheduler(filled, rng)
