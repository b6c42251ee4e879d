"""``acme_random``: each call goes to a random READY endpoint.

A petiole policy in the style of gRPC's own (gRFC A61): ``EndpointSharding`` gives every
endpoint a ``pick_first`` child that connects and reconnects; a ``ChildHelper`` between the
sharding and this policy lets the policy see every child's state and publish its own picker.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plugrpc_core import Balancer, ConnectivityState, Picker
from plugrpc_core.lb import ChildHelper, EndpointSharding

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from plugrpc_core import BalancerHelper, PickInfo, PickResult, ResolverState

READY = ConnectivityState.READY


@dataclass(frozen=True, slots=True, kw_only=True)
class RandomConfig:
    """The parsed config: ``{"seed": int}`` (optional)."""

    seed: int | None = None


class _RandomPicker(Picker):
    """An immutable snapshot: the READY children's pickers and a random source."""

    def __init__(self, pickers: list[Picker], rng: random.Random) -> None:
        self._pickers = pickers
        self._choice = rng.choice

    def pick(self, info: PickInfo) -> PickResult:
        return self._choice(self._pickers).pick(info)


class RandomPolicy(Balancer):
    """Send each call to a READY endpoint chosen uniformly at random."""

    name = "acme_random"

    def __init__(
        self,
        helper: BalancerHelper,
        *,
        child_policy: Callable[[BalancerHelper], Balancer] | None = None,
    ) -> None:
        super().__init__(helper)
        self._rng = random.Random()
        self._children = ChildHelper(helper, self._children_updated)
        self._sharding = EndpointSharding(self._children, child_policy=child_policy)

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> RandomConfig:
        """Validate ``{"seed": int}``; a bad value fails the whole service config."""
        if not isinstance(config, dict):
            raise ValueError(f"acme_random: config must be a JSON object, got {config!r}")
        seed = config.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"acme_random: seed must be an integer, got {seed!r}")
        return RandomConfig(seed=seed)

    def update_state(self, state: ResolverState, config: Any) -> None:
        if isinstance(config, RandomConfig) and config.seed is not None:
            self._rng.seed(config.seed)
        self._sharding.update_state(state, None)

    def resolver_error(self, error: str) -> None:
        self._sharding.resolver_error(error)

    def exit_idle(self) -> None:
        self._sharding.exit_idle()

    def close(self) -> None:
        self._sharding.close()
        self._children.close()

    def _children_updated(self, children: ChildHelper) -> None:
        ready = [c.picker for c in self._sharding.children if c.state is READY]
        if not ready:
            # Nothing READY: publish the sharding's own state and picker (queue or fail).
            self.helper.update_state(children.state, children.picker)
            return
        self.helper.update_state(READY, _RandomPicker(ready, self._rng))
