"""plugrpc-balancer-weighted-round-robin: the ``weighted_round_robin`` policy (gRFC A58).

Installing the distribution registers ``WeightedRoundRobin`` under the policy name
``weighted_round_robin``; a service config selects it::

    {"loadBalancingConfig": [{"weighted_round_robin": {"blackoutPeriod": "10s"}}]}

Weights come from the ORCA load reports of the backends (``plugrpc-orca``): per call by
default, out of band with ``"enableOobLoadReport": true``.
"""

from __future__ import annotations

from ._config import MIN_WEIGHT_UPDATE_PERIOD, WeightedRoundRobinConfig, parse_config
from ._policy import WeightedRoundRobin
from ._scheduler import EdfScheduler, RoundRobinScheduler, Scheduler, make_scheduler
from ._weights import EndpointWeight

__version__ = "0.1.0"

__all__ = [
    "EdfScheduler",
    "EndpointWeight",
    "MIN_WEIGHT_UPDATE_PERIOD",
    "RoundRobinScheduler",
    "Scheduler",
    "WeightedRoundRobin",
    "WeightedRoundRobinConfig",
    "make_scheduler",
    "parse_config",
]
