"""The entry point's target: registers ``acme_random`` with plugrpc."""

from __future__ import annotations

from plugrpc_core import Balancer
from plugrpc_core.plugins import hookimpl

from ._policy import RandomPolicy


@hookimpl
def plugrpc_register_balancers() -> list[type[Balancer]]:
    """The policies of this distribution."""
    return [RandomPolicy]
