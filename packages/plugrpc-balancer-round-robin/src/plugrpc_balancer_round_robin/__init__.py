"""plugrpc-balancer-round-robin: the ``round_robin`` load-balancing policy.

Installing the distribution registers ``RoundRobin`` under the key ``round_robin`` through
the ``plugrpc`` entry-point group; a service config selects it with
``{"loadBalancingConfig": [{"round_robin": {}}]}``.
"""

from __future__ import annotations

from ._policy import RoundRobin

__version__ = "0.1.0"

__all__ = ["RoundRobin"]
