"""plugrpc-balancer-ring-hash: the ``ring_hash_experimental`` policy (gRFC A42, A61, A76).

Installing the distribution registers ``RingHash`` under the key ``ring_hash_experimental``
through the ``plugrpc`` entry-point group. A service config selects it with a request hash
header, e.g. ``{"loadBalancingConfig": [{"ring_hash_experimental":
{"requestHashHeader": "x-user-id"}}]}``.
"""

from __future__ import annotations

from ._config import RingHashConfig
from ._policy import RingHash, aggregate_ring_state
from ._ring import Ring, xxh64

__version__ = "0.1.0"

__all__ = ["Ring", "RingHash", "RingHashConfig", "aggregate_ring_state", "xxh64"]
