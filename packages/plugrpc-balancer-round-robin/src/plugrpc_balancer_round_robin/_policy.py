"""The ``round_robin`` load-balancing policy (grpc-go ``balancer/roundrobin``, gRFC A61).

Theory of operation: ``round_robin`` is a petiole policy over ``EndpointSharding``
(``plugrpc_core.lb``): every endpoint gets its own ``pick_first`` child, which connects to it
and reconnects after failures with the connection backoff. The policy publishes what the
sharding publishes: READY as soon as one endpoint is READY, with a picker that takes the
READY endpoints in turn starting from a random one; CONNECTING, IDLE or TRANSIENT_FAILURE
otherwise (gRFC A61 aggregation), in TRANSIENT_FAILURE failing calls with the endpoints'
connection errors in turn. An endpoint whose connection drops goes IDLE and is reconnected
at once. The policy has no configuration.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from plugrpc_core import Balancer
from plugrpc_core.lb import EndpointSharding

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Mapping

    from plugrpc_core import BalancerHelper, ResolverState

__all__ = ["RoundRobin"]

_log = logging.getLogger("plugrpc.balancer.round_robin")


class RoundRobin(Balancer):
    """Spread calls evenly over every endpoint that is READY.

    Args:
        helper: the channel side.
        child_policy: the per-endpoint policy (default: ``pick_first``); tests may pass a
            stand-in such as ``plugrpc_core.lb.testing.SimpleLeaf``.
        rng: the random source for the endpoint rotation and the picker's starting point.
    """

    name = "round_robin"

    def __init__(
        self,
        helper: BalancerHelper,
        *,
        child_policy: type[Balancer] | Callable[[BalancerHelper], Balancer] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(helper)
        self._sharding = EndpointSharding(helper, child_policy=child_policy, rng=rng)

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> None:
        """``round_robin`` takes no configuration; fields in the object are ignored.

        grpc-go logs and ignores a non-empty config for a policy without a config parser.

        Raises:
            ValueError: the config is not a JSON object.
        """
        if not isinstance(config, dict):
            raise ValueError(f"round_robin: config must be a JSON object, got {config!r}")
        if config:
            _log.warning("round_robin takes no configuration; ignoring %s", sorted(config))

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Give each endpoint of ``state`` a child (with its default config)."""
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
