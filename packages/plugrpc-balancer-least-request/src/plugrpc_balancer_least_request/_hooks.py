"""The entry point of plugrpc-balancer-least-request: registers ``least_request_experimental``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._policy import LeastRequest

if TYPE_CHECKING:
    from plugrpc_core import Balancer

__all__ = ["plugrpc_register_balancers"]


@hookimpl
def plugrpc_register_balancers() -> list[type[Balancer]]:
    """The policies of this distribution."""
    return [LeastRequest]
