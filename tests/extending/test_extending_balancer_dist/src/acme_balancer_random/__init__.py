"""acme-grpc-balancer-random: the ``acme_random`` load-balancing policy for plugrpc."""

from __future__ import annotations

from ._policy import RandomConfig, RandomPolicy

__all__ = ["RandomConfig", "RandomPolicy"]
