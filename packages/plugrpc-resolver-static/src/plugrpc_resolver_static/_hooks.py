"""The entry point of plugrpc-resolver-static: registers the ``ipv4`` and ``ipv6`` schemes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._resolvers import Ipv4Resolver, Ipv6Resolver

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import Resolver

__all__ = ["plugrpc_register_resolvers"]


@hookimpl
def plugrpc_register_resolvers() -> Sequence[type[Resolver]]:
    """``ipv4`` and ``ipv6``."""
    return [Ipv4Resolver, Ipv6Resolver]
