"""``EndpointSharding``: one child policy per endpoint, their states aggregated (gRFC A61).

Theory of operation (grpc-go ``balancer/endpointsharding``): a *petiole* policy such as
``round_robin`` does not manage subchannels itself. It gives each endpoint (a backend, with
one or more addresses) a child policy, normally ``pick_first``, which connects to that
endpoint and handles its reconnection and backoff. The petiole only chooses between children.

- Each resolver update is split into endpoints (``endpoints_from_state``); children are kept
  for endpoints still listed (matched by their set of addresses), created for new ones and
  closed for the rest. The list is rotated by a random amount first, as grpc-go does, so that
  clients with the same resolver answer do not all start with the same backend.
- While an update, a resolver error or ``exit_idle`` is passed to the children, their own
  publications are only recorded; one aggregate publication follows at the end.
- The aggregate state is ``aggregate_state`` of the children's. The published
  ``ShardingPicker`` goes round robin over the pickers of the children that are in that state
  (so it spreads calls over READY children, or reports the errors of failing ones), starting
  at a random child, and carries every child's ``ChildState`` for parents that build their
  own picker (grpc-go's ``ChildStatesFromPicker``).
- A child that goes IDLE is asked to connect again at once (from a zero-delay timer), unless
  ``auto_reconnect`` is off: then the parent decides, with ``ChildState.exit_idle``
  (``ring_hash_experimental`` connects only the endpoints that calls hash to).
- No endpoints at all is TRANSIENT_FAILURE with a re-resolution request.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._balancing import Balancer, ConnectivityState, Picker
from .._naming import ResolverState
from ._child import ChildHelper
from ._pickers import FailPicker, aggregate_state

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .._balancing import BalancerHelper, PickInfo, PickResult
    from .._naming import Address

__all__ = [
    "ChildState",
    "Endpoint",
    "EndpointSharding",
    "ShardingPicker",
    "endpoints_from_state",
    "resolve_policy",
]

_IDLE = ConnectivityState.IDLE
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE
_DEFAULT_CHILD = "pick_first"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One backend and the addresses it can be reached at, in preference order (gRFC A61).

    Args:
        addresses: at least one address.
        attributes: plugin data for the endpoint (a weight, a hash key); no part of equality.
    """

    addresses: tuple[Address, ...]
    attributes: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> frozenset[Address]:
        """What identifies the endpoint across updates: the set of its addresses."""
        return frozenset(self.addresses)

    def __str__(self) -> str:
        return ",".join(str(a) for a in self.addresses)


def endpoints_from_state(state: ResolverState) -> tuple[Endpoint, ...]:
    """The endpoints of a resolver result: one per distinct address, in order.

    Resolvers report flat address lists; like grpc-go's channel for such resolvers, every
    address is an endpoint of its own, with that address's attributes.

    Args:
        state: a resolver result.

    Returns:
        The endpoints, duplicates removed.
    """
    return tuple(
        Endpoint(addresses=(address,), attributes=address.attributes)
        for address in dict.fromkeys(state.addresses)
    )


def resolve_policy(
    policy: type[Balancer] | Callable[[BalancerHelper], Balancer] | str | None,
) -> Callable[[BalancerHelper], Balancer]:
    """A factory for a child policy given as a class, a factory, a registry name or None.

    ``None`` means ``pick_first``, the universal leaf policy (gRFC A61); a name is looked up
    in ``plugrpc_core.plugins.balancers`` now.

    Raises:
        plugrpc_core.plugins.PluginNotFoundError: no policy is registered under the name.
    """
    if policy is None or isinstance(policy, str):
        from .._registries import balancers

        return balancers.get(policy or _DEFAULT_CHILD)
    return policy


def _default_config(factory: Callable[[BalancerHelper], Balancer]) -> Any:
    if isinstance(factory, type) and issubclass(factory, Balancer):
        return factory.parse_config({})
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildState:
    """What a parent may know about one child of an ``EndpointSharding``.

    Args:
        endpoint: the child's endpoint.
        state: the state the child published last.
        picker: the picker the child published last.
        exit_idle: asks the child to connect (from a zero-delay timer, so calling it from a
            picker is safe); a no-op once the child is gone.
    """

    endpoint: Endpoint
    state: ConnectivityState
    picker: Picker
    exit_idle: Callable[[], None]


class ShardingPicker(Picker):
    """Round robin over some children's pickers; carries every child's ``ChildState``.

    Args:
        pickers: the pickers to take turns with (at least one).
        children: every child of the publishing ``EndpointSharding``.
        start: the index of the first picker to use.
    """

    __slots__ = ("_count", "_next", "_pickers", "children")

    def __init__(
        self, pickers: tuple[Picker, ...], children: tuple[ChildState, ...], start: int = 0
    ) -> None:
        if not pickers:
            raise ValueError("ShardingPicker needs at least one picker")
        self._pickers = pickers
        self._count = len(pickers)
        self._next = start % self._count
        #: Every child's state when this picker was made.
        self.children = children

    def pick(self, info: PickInfo) -> PickResult:
        """Ask the next child picker in turn."""
        index = self._next
        self._next = index + 1 if index + 1 < self._count else 0
        return self._pickers[index].pick(info)


class _Child:
    __slots__ = ("balancer", "closed", "endpoint", "helper")

    def __init__(
        self, endpoint: Endpoint, parent: BalancerHelper, sharding: EndpointSharding
    ) -> None:
        self.endpoint = endpoint
        self.closed = False
        self.balancer: Balancer | None = None
        self.helper = ChildHelper(
            parent, lambda _helper: sharding._child_updated(self), label=str(endpoint)
        )

    def request_exit_idle(self) -> None:
        if not self.closed:
            self.helper.call_later(0.0, self._exit_idle_now)

    def _exit_idle_now(self) -> None:
        if not self.closed and self.balancer is not None:
            self.balancer.exit_idle()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.balancer is not None:
            self.balancer.close()
        self.helper.close()


class EndpointSharding(Balancer):
    """One child policy per endpoint; publishes their aggregate (grpc-go endpointsharding).

    Use it as the child of a petiole policy, through a ``ChildHelper`` whose ``on_update``
    reads ``children`` (or the published ``ShardingPicker.children``) to build the petiole's
    own picker; or publish what it publishes (``round_robin`` does exactly that).

    Args:
        helper: the helper to create subchannels through and to publish to.
        child_policy: the per-endpoint policy: a ``Balancer`` class, a factory taking a helper,
            a registry name, or None for ``pick_first``.
        auto_reconnect: ask a child that goes IDLE to connect again at once.
        rng: the random source for the rotation and the picker's starting point.

    The config passed to ``update_state`` is the children's (parsed) config; None means the
    child policy's default (``parse_config({})`` of a ``Balancer`` class).
    """

    name = "endpoint_sharding"

    def __init__(
        self,
        helper: BalancerHelper,
        *,
        child_policy: type[Balancer] | Callable[[BalancerHelper], Balancer] | str | None = None,
        auto_reconnect: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(helper)
        self._policy = child_policy
        self._factory: Callable[[BalancerHelper], Balancer] | None = None
        self._auto_reconnect = auto_reconnect
        self._rng = rng or random.Random()
        self._children: dict[frozenset[Address], _Child] = {}
        self._snapshot: tuple[ChildState, ...] = ()
        self._inhibit = False
        self._closed = False
        self._resolver_error: str | None = None

    @property
    def children(self) -> tuple[ChildState, ...]:
        """Every child's state as last published, in the (rotated) resolver order."""
        return self._snapshot

    # -- Balancer -------------------------------------------------------------------------

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Reconcile the children with the endpoints of ``state``; give each its endpoint."""
        if self._closed:
            return
        if self._factory is None:
            self._factory = resolve_policy(self._policy)
        if config is None:
            config = _default_config(self._factory)
        endpoints = list(endpoints_from_state(state))
        if endpoints:
            shift = self._rng.randrange(len(endpoints))
            endpoints = endpoints[shift:] + endpoints[:shift]
        self._resolver_error = None
        self._inhibit = True
        try:
            old, new = self._children, {}
            for endpoint in endpoints:
                key = endpoint.key
                if key in new:
                    continue
                child = old.get(key)
                if child is None:
                    child = self._new_child(endpoint)
                child.endpoint = endpoint
                new[key] = child
                assert child.balancer is not None
                child.balancer.update_state(
                    ResolverState(addresses=endpoint.addresses, attributes=state.attributes),
                    config,
                )
            self._children = new
            for key, child in old.items():
                if key not in new:
                    child.close()
        finally:
            self._inhibit = False
        if not new:
            self.helper.request_reresolution()
        self._publish()

    def resolver_error(self, error: str) -> None:
        """Pass the error to every child; with none, fail calls with it."""
        if self._closed:
            return
        self._resolver_error = error
        self._inhibit = True
        try:
            for child in list(self._children.values()):
                if child.balancer is not None:
                    child.balancer.resolver_error(error)
        finally:
            self._inhibit = False
        self._publish()

    def exit_idle(self) -> None:
        """Ask every child to connect."""
        if self._closed:
            return
        self._inhibit = True
        try:
            for child in list(self._children.values()):
                if child.balancer is not None:
                    child.balancer.exit_idle()
        finally:
            self._inhibit = False
        self._publish()

    def close(self) -> None:
        """Close every child (their subchannels shut down)."""
        self._closed = True
        children, self._children = self._children, {}
        for child in children.values():
            child.close()

    # -- internals ------------------------------------------------------------------------

    def _new_child(self, endpoint: Endpoint) -> _Child:
        assert self._factory is not None
        child = _Child(endpoint, self.helper, self)
        child.balancer = self._factory(child.helper)
        return child

    def _child_updated(self, child: _Child) -> None:
        if self._closed or child.closed:
            return
        if child.helper.state is _IDLE and self._auto_reconnect:
            child.request_exit_idle()
        if not self._inhibit:
            self._publish()

    def _publish(self) -> None:
        if self._closed:
            return
        children = tuple(
            ChildState(
                endpoint=child.endpoint,
                state=child.helper.state,
                picker=child.helper.picker,
                exit_idle=child.request_exit_idle,
            )
            for child in self._children.values()
        )
        self._snapshot = children
        if not children:
            if self._resolver_error is not None:
                message = f"name resolver error: {self._resolver_error}"
            else:
                message = "the name resolver produced zero addresses"
            self.helper.update_state(_TRANSIENT_FAILURE, FailPicker(message))
            return
        state = aggregate_state(c.state for c in children)
        pickers = tuple(c.picker for c in children if c.state is state)
        start = self._rng.randrange(len(pickers))
        self.helper.update_state(state, ShardingPicker(pickers, children, start))
