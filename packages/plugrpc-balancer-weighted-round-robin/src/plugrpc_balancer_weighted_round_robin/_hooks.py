"""The entry point of plugrpc-balancer-weighted-round-robin: ``weighted_round_robin``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._policy import WeightedRoundRobin

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import Balancer

__all__ = ["plugrpc_register_balancers"]


@hookimpl
def plugrpc_register_balancers() -> Sequence[type[Balancer]]:
    """``weighted_round_robin`` (gRFC A58)."""
    return [WeightedRoundRobin]
