"""plugrpc-balancer-least-request: the ``least_request_experimental`` policy (gRFC A48).

Installing the distribution registers ``LeastRequest`` under the key
``least_request_experimental`` through the ``plugrpc`` entry-point group; a service config
selects it with ``{"loadBalancingConfig": [{"least_request_experimental": {}}]}``.
"""

from __future__ import annotations

from ._policy import LeastRequest, LeastRequestConfig

__version__ = "0.1.0"

__all__ = ["LeastRequest", "LeastRequestConfig"]
