"""Building blocks for load-balancing policies, for plugrpc's own and third-party ones.

A policy that chooses between endpoints (a *petiole* policy such as ``round_robin``) or
wraps another policy (``outlier_detection_experimental``) is made of child policies
(gRFC A61). This module has the plumbing that such policies share, so that each policy's own
module holds only its decision logic:

- ``ChildHelper``: the ``BalancerHelper`` a parent gives to a child. It passes subchannel
  creation, timers and re-resolution through to the parent's helper and keeps what the child
  publishes for the parent to combine; closing it mutes the child for good.
- ``aggregate_state``: the parent's state from its children's (gRFC A61).
- ``EndpointSharding``: one child policy (``pick_first`` by default) per endpoint, their
  states aggregated, a round-robin picker over the best ones, and every child's
  ``ChildState`` for a parent that builds its own picker (grpc-go ``endpointsharding``).
- ``GracefulSwitch``: run the policy a config names; on a change, keep the old one serving
  until the new one is ready (grpc-go ``gracefulswitch``; the channel uses it too).
- ``LazyBalancer``: stay IDLE until asked, then build the real policy (grpc-go ``lazy``).
- Pickers: ``QueuePicker``, ``FailPicker``, ``IdlePicker``, and ``add_on_done`` to chain a
  parent's per-call callback onto a child's pick.
- ``Endpoint`` and ``endpoints_from_state``: the endpoints of a resolver result.

``plugrpc_core.lb.testing`` has test doubles (``FakeHelper``, ``FakeSubchannel``,
``SimpleLeaf``) for testing policies without sockets. docs/extending-balancers.md in the
plugrpc repository shows a complete third-party policy built on these.

Everything here is single-threaded, like the channel that drives it: policies, helpers and
pickers run on the channel's event loop and never block.
"""

from __future__ import annotations

from ._child import ChildHelper
from ._lazy import LazyBalancer
from ._pickers import FailPicker, IdlePicker, QueuePicker, add_on_done, aggregate_state
from ._sharding import (
    ChildState,
    Endpoint,
    EndpointSharding,
    ShardingPicker,
    endpoints_from_state,
    resolve_policy,
)
from ._switch import GracefulSwitch

__all__ = [
    "ChildHelper",
    "ChildState",
    "Endpoint",
    "EndpointSharding",
    "FailPicker",
    "GracefulSwitch",
    "IdlePicker",
    "LazyBalancer",
    "QueuePicker",
    "ShardingPicker",
    "add_on_done",
    "aggregate_state",
    "endpoints_from_state",
    "resolve_policy",
]
