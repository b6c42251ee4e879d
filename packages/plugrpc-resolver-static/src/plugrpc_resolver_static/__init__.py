"""plugrpc-resolver-static: the ``ipv4:`` and ``ipv6:`` address-list schemes of gRPC naming.

Installing the distribution registers ``Ipv4Resolver`` (scheme ``ipv4``) and
``Ipv6Resolver`` (scheme ``ipv6``) through the ``plugrpc`` entry-point group, so that
``plugrpc.Channel("ipv4:10.0.0.1:50051,10.0.0.2:50051")`` works as it does in C-core.
"""

from __future__ import annotations

from ._resolvers import DEFAULT_PORT, Ipv4Resolver, Ipv6Resolver, parse_address_list

__version__ = "0.1.0"

__all__ = ["DEFAULT_PORT", "Ipv4Resolver", "Ipv6Resolver", "parse_address_list"]
