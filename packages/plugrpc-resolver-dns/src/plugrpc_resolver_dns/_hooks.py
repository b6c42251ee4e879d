"""The entry point of plugrpc-resolver-dns: registers the ``dns`` resolver.

Its key is the scheme of the getaddrinfo resolver built into ``plugrpc``, which a plugin of
the same key replaces: installing this distribution is all it takes to use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._resolver import DnsResolver

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import Resolver

__all__ = ["plugrpc_register_resolvers"]


@hookimpl
def plugrpc_register_resolvers() -> Sequence[type[Resolver]]:
    """``dns``."""
    return [DnsResolver]
