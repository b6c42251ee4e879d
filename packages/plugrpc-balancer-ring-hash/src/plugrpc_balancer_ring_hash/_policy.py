"""The ``ring_hash_experimental`` policy (gRFC A42, A61, A76; grpc-go ``balancer/ringhash``).

Theory of operation: every endpoint gets a ``pick_first`` child through ``EndpointSharding``
(``plugrpc_core.lb``), wrapped in ``LazyBalancer`` so that it stays IDLE, unconnected, until
a call hashes to it; the sharding's automatic reconnection is off for the same reason. The
policy places the endpoints on a ``Ring`` and publishes its own picker:

- The request hash is XXH64 of the call's ``requestHashHeader`` values joined with ","
  (A76). Without that header in the call, a random hash is used and the walk below looks for
  a READY endpoint (connecting at most one IDLE one on the way, and queueing the call if it
  did). Without a configured ``requestHashHeader`` grpc-go takes the hash from xDS routing,
  which plugrpc does not have: such picks fail with UNAVAILABLE (wait-for-ready calls wait),
  exactly as grpc-go's do without xDS.
- From the entry the hash lands on, the picker walks the ring to the first endpoint that is
  not in TRANSIENT_FAILURE and delegates to its picker (an IDLE child's picker starts its
  connection and queues the call). If all are failing, the first endpoint's failure is the
  answer.
- The aggregate state follows A42: READY if any endpoint is READY; else TRANSIENT_FAILURE if
  two or more are failing; else CONNECTING if any is connecting, or if exactly one of several
  is failing; else IDLE if any is IDLE; else TRANSIENT_FAILURE. In CONNECTING or
  TRANSIENT_FAILURE, when no endpoint is connecting, the first IDLE one (in hash-key order)
  is asked to connect, so that the policy always makes progress (A61).

The ring is rebuilt only when the set of endpoints, a weight, a hash key or the ring sizes
change. Endpoint weights come from the ``weight`` address attribute (default 1), hash keys
from ``hash_key`` (default ``host:port``).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from plugrpc_core import Balancer, ConnectivityState, Picker, PickQueue
from plugrpc_core.lb import ChildHelper, EndpointSharding, FailPicker, LazyBalancer, resolve_policy

from ._config import NAME, RingHashConfig, parse_ring_hash_config
from ._ring import Ring, hash_key_of, xxh64

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from plugrpc_core import BalancerHelper, PickInfo, PickResult, ResolverState
    from plugrpc_core.lb import ChildState

__all__ = ["RingHash"]

_IDLE = ConnectivityState.IDLE
_CONNECTING = ConnectivityState.CONNECTING
_READY = ConnectivityState.READY
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE
_QUEUE = PickQueue()
_NO_HASH_MESSAGE = (
    f"{NAME}: no request hash: set requestHashHeader in the policy's config (without xDS "
    "there is no other source of the hash)"
)


def _weight(attributes: Mapping[str, Any]) -> int:
    weight = attributes.get("weight", 1) if attributes else 1
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
        return 1
    return weight


def aggregate_ring_state(states: list[ConnectivityState]) -> ConnectivityState:
    """gRFC A42's aggregation for ring hash (see the module notes)."""
    failing = states.count(_TRANSIENT_FAILURE)
    if _READY in states:
        return _READY
    if failing > 1:
        return _TRANSIENT_FAILURE
    if _CONNECTING in states or (failing == 1 and len(states) > 1):
        return _CONNECTING
    if _IDLE in states:
        return _IDLE
    return _TRANSIENT_FAILURE


class _RingPicker(Picker):
    __slots__ = ("_by_key", "_connecting", "_header", "_random", "_ring")

    def __init__(
        self,
        ring: Ring,
        by_key: dict[str, ChildState],
        header: str,
        connecting: bool,
        rng: random.Random,
    ) -> None:
        self._ring = ring
        self._by_key = by_key
        self._header = header
        self._connecting = connecting
        self._random = rng.getrandbits

    def pick(self, info: PickInfo) -> PickResult:
        header = self._header
        if not header:
            return _NO_HASH
        values = info.metadata.get_all(header)
        ring, by_key = self._ring, self._by_key
        keys, size = ring.keys, len(ring)
        if values:
            # A76: several values of the header are joined with "," before hashing.
            text = ",".join(v if isinstance(v, str) else v.decode("latin-1") for v in values)
            start = ring.index_for(xxh64(text))
            for step in range(size):
                child = by_key[keys[(start + step) % size]]
                if child.state is not _TRANSIENT_FAILURE:
                    return child.picker.pick(info)
        else:
            # A76: a random hash; look for a READY endpoint, waking at most one IDLE one.
            start = ring.index_for(self._random(64))
            requested = self._connecting
            for step in range(size):
                child = by_key[keys[(start + step) % size]]
                if child.state is _READY:
                    return child.picker.pick(info)
                if not requested and child.state is _IDLE:
                    requested = True
                    child.exit_idle()
            if requested:
                return _QUEUE
        return by_key[keys[start]].picker.pick(info)


_NO_HASH = FailPicker(_NO_HASH_MESSAGE).result


class RingHash(Balancer):
    """Consistent hashing: calls with the same request hash go to the same endpoint.

    Args:
        helper: the channel side.
        child_policy: the per-endpoint policy, built lazily (default: ``pick_first``).
        rng: the random source for requests without the hash header and the rotation.
    """

    name = NAME

    def __init__(
        self,
        helper: BalancerHelper,
        *,
        child_policy: type[Balancer] | Callable[[BalancerHelper], Balancer] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(helper)
        self._rng = rng or random.Random()
        self._config = RingHashConfig()
        self._ring: Ring | None = None
        self._ring_key: tuple[Any, ...] | None = None
        self._inhibit = False
        leaf = child_policy

        def lazy_child(child_helper: BalancerHelper) -> Balancer:
            return LazyBalancer(child_helper, resolve_policy(leaf))

        self._children = ChildHelper(helper, self._children_updated, label=NAME)
        self._sharding = EndpointSharding(
            self._children, child_policy=lazy_child, auto_reconnect=False, rng=self._rng
        )

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> RingHashConfig:
        """Parse ``{"minRingSize", "maxRingSize", "requestHashHeader"}`` as grpc-go does.

        Raises:
            ValueError: a field is malformed or out of range.
        """
        return parse_ring_hash_config(config)

    @property
    def ring(self) -> Ring | None:
        """The current ring (None before the first endpoint)."""
        return self._ring

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Take the config, reconcile the endpoints, then publish once."""
        if not isinstance(config, RingHashConfig):
            config = self.parse_config(dict(config or {}))
        self._config = config
        self._inhibit = True
        try:
            self._sharding.update_state(state, None)
        finally:
            self._inhibit = False
        self._children_updated(self._children)

    def resolver_error(self, error: str) -> None:
        """Pass the error on; with no endpoints yet, calls fail with it."""
        self._sharding.resolver_error(error)

    def exit_idle(self) -> None:
        """Nothing: connections start when calls hash to endpoints (grpc-go does the same)."""

    def close(self) -> None:
        """Close every child; their connections drain."""
        self._sharding.close()
        self._children.close()

    # -- internals ------------------------------------------------------------------------

    def _children_updated(self, children: ChildHelper) -> None:
        if self._inhibit:
            return
        states = self._sharding.children
        if not states:
            self.helper.update_state(children.state, children.picker)
            return
        by_key: dict[str, ChildState] = {}
        weights: list[tuple[str, int]] = []
        for child in states:
            endpoint = child.endpoint
            key = hash_key_of(str(endpoint.addresses[0]), endpoint.attributes)
            by_key[key] = child
            weights.append((key, _weight(endpoint.attributes)))
        config = self._config
        ring_key = (tuple(sorted(weights)), config.min_ring_size, config.max_ring_size)
        if ring_key != self._ring_key or self._ring is None:
            self._ring = Ring(weights, config.min_ring_size, config.max_ring_size)
            self._ring_key = ring_key
        state = aggregate_ring_state([c.state for c in states])
        connecting = any(c.state is _CONNECTING for c in states)
        if state in (_CONNECTING, _TRANSIENT_FAILURE) and not connecting:
            # A61: keep one endpoint connecting so the policy makes progress.
            for key in sorted(by_key):
                if by_key[key].state is _IDLE:
                    by_key[key].exit_idle()
                    break
        picker = _RingPicker(self._ring, by_key, config.request_hash_header, connecting, self._rng)
        self.helper.update_state(state, picker)
