"""The ``least_request_experimental`` policy (gRFC A48; grpc-go ``balancer/leastrequest``).

Theory of operation: like ``round_robin``, the policy gives every endpoint a ``pick_first``
child through ``EndpointSharding`` (``plugrpc_core.lb``). It counts the calls outstanding on
each READY endpoint: a pick samples ``choiceCount`` READY endpoints uniformly at random
(with replacement) and uses the one with the fewest (the first sampled wins a tie): the
"power of two choices" when ``choiceCount`` is 2. The counter goes up when the endpoint's
picker hands out a subchannel and down when that call ends, whatever its status (A48); the
channel also ends picks it could not use, so no count leaks. With no endpoint READY the policy
publishes what the sharding does (round robin over the endpoints in the best state, gRFC A61).

Counters of endpoints that stop being READY are dropped, as in grpc-go: an endpoint that
comes back starts from zero.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plugrpc_core import Balancer, ConnectivityState, PickComplete, Picker
from plugrpc_core.lb import ChildHelper, EndpointSharding, add_on_done

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from plugrpc_core import (
        Address,
        BalancerHelper,
        Metadata,
        PickInfo,
        PickResult,
        ResolverState,
        StatusCode,
    )

__all__ = ["LeastRequest", "LeastRequestConfig"]

_READY = ConnectivityState.READY
#: A48: the default number of endpoints sampled per pick, and the largest value honoured.
DEFAULT_CHOICE_COUNT = 2
MAX_CHOICE_COUNT = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class LeastRequestConfig:
    """``least_request_experimental``'s parsed config: ``{"choiceCount": int}``.

    Args:
        choice_count: endpoints sampled per pick, 2 to 10.
    """

    choice_count: int = DEFAULT_CHOICE_COUNT


class _Counter:
    """Calls outstanding on one endpoint; shared by every picker made while it is READY."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def done(self, code: StatusCode, trailing_metadata: Metadata) -> None:
        self.value -= 1


class _LeastRequestPicker(Picker):
    __slots__ = ("_count", "_endpoints", "_more", "_random")

    def __init__(
        self,
        choice_count: int,
        endpoints: list[tuple[Picker, _Counter]],
        rng: random.Random,
    ) -> None:
        self._more = range(choice_count - 1)  # samples after the first
        self._endpoints = endpoints
        self._count = len(endpoints)
        self._random = rng.random

    def pick(self, info: PickInfo) -> PickResult:
        endpoints, count, rand = self._endpoints, self._count, self._random
        best_picker, best = endpoints[int(rand() * count)]
        for _ in self._more:
            picker, counter = endpoints[int(rand() * count)]
            if counter.value < best.value:
                best_picker, best = picker, counter
        result = best_picker.pick(info)
        if type(result) is PickComplete:
            best.value += 1
            return add_on_done(result, best.done)
        return result


class LeastRequest(Balancer):
    """Send each call to the less loaded of ``choiceCount`` random READY endpoints.

    Args:
        helper: the channel side.
        child_policy: the per-endpoint policy (default: ``pick_first``).
        rng: the random source for sampling, the endpoint rotation and the fallback picker.
    """

    name = "least_request_experimental"

    def __init__(
        self,
        helper: BalancerHelper,
        *,
        child_policy: type[Balancer] | Callable[[BalancerHelper], Balancer] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(helper)
        self._rng = rng or random.Random()
        self._choice_count = DEFAULT_CHOICE_COUNT
        self._counters: dict[frozenset[Address], _Counter] = {}
        self._children = ChildHelper(helper, self._children_updated, label=self.name)
        self._sharding = EndpointSharding(self._children, child_policy=child_policy, rng=self._rng)

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> LeastRequestConfig:
        """Parse ``{"choiceCount": int}`` as grpc-go does (A48).

        Missing means 2; below 2 (0 included) is rejected; above 10 becomes 10. Like grpc-go,
        which reads it into an unsigned integer, only a JSON integer is accepted (``4.0`` is
        not). Other fields are ignored.

        Raises:
            ValueError: the config is not an object, or ``choiceCount`` is not an integer
                from 2 up.
        """
        if not isinstance(config, dict):
            raise ValueError(f"{cls.name}: config must be a JSON object, got {config!r}")
        count = config.get("choiceCount")
        if count is None:
            return LeastRequestConfig()
        if isinstance(count, bool) or not isinstance(count, int):
            raise ValueError(f"{cls.name}: choiceCount must be an integer, got {count!r}")
        if count < 2:
            raise ValueError(f"{cls.name}: choiceCount must be at least 2, got {count} (A48)")
        return LeastRequestConfig(choice_count=min(count, MAX_CHOICE_COUNT))

    @property
    def outstanding(self) -> dict[str, int]:
        """Calls in flight per READY endpoint, by endpoint (for tests and debugging)."""
        out: dict[str, int] = {}
        for child in self._sharding.children:
            counter = self._counters.get(child.endpoint.key)
            if counter is not None:
                out[str(child.endpoint)] = counter.value
        return out

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Take the choice count, then give each endpoint of ``state`` a child."""
        if not isinstance(config, LeastRequestConfig):
            config = self.parse_config(dict(config or {}))
        self._choice_count = config.choice_count
        self._sharding.update_state(state, None)

    def resolver_error(self, error: str) -> None:
        """Pass the error on; with no endpoints yet, calls fail with it."""
        self._sharding.resolver_error(error)

    def exit_idle(self) -> None:
        """Ask every endpoint to connect."""
        self._sharding.exit_idle()

    def close(self) -> None:
        """Close every child; their connections drain."""
        self._sharding.close()
        self._children.close()
        self._counters.clear()

    def _children_updated(self, children: ChildHelper) -> None:
        ready = [c for c in self._sharding.children if c.state is _READY]
        if not ready:
            self.helper.update_state(children.state, children.picker)
            return
        counters: dict[frozenset[Address], _Counter] = {}
        endpoints: list[tuple[Picker, _Counter]] = []
        for child in ready:
            key = child.endpoint.key
            counter = self._counters.get(key) or _Counter()
            counters[key] = counter
            endpoints.append((child.picker, counter))
        self._counters = counters
        self.helper.update_state(
            _READY, _LeastRequestPicker(self._choice_count, endpoints, self._rng)
        )
