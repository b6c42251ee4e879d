"""The built-in plugins of ``plugrpc``, registered through the same hooks as any plugin.

The entry point ``builtins`` (group ``plugrpc``) names this module. Other distributions may
replace any of these by registering a class with the same key (``plugrpc-resolver-dns``
replaces ``dns``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._insecure import InsecureChannelCredentials, InsecureServerCredentials
from ._pick_first import PickFirst
from ._resolvers import DnsResolver, PassthroughResolver, UnixAbstractResolver, UnixResolver

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import Balancer, ChannelCredentials, Resolver, ServerCredentials

__all__ = [
    "plugrpc_register_balancers",
    "plugrpc_register_channel_credentials",
    "plugrpc_register_resolvers",
    "plugrpc_register_server_credentials",
]


@hookimpl
def plugrpc_register_resolvers() -> Sequence[type[Resolver]]:
    """``passthrough``, ``unix``, ``unix-abstract`` and ``dns`` (getaddrinfo)."""
    return [PassthroughResolver, UnixResolver, UnixAbstractResolver, DnsResolver]


@hookimpl
def plugrpc_register_balancers() -> Sequence[type[Balancer]]:
    """``pick_first``."""
    return [PickFirst]


@hookimpl
def plugrpc_register_channel_credentials() -> Sequence[type[ChannelCredentials]]:
    """``insecure``."""
    return [InsecureChannelCredentials]


@hookimpl
def plugrpc_register_server_credentials() -> Sequence[type[ServerCredentials]]:
    """``insecure``."""
    return [InsecureServerCredentials]
