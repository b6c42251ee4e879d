"""plugrpc-resolver-dns: the ``dns`` name resolver on dnspython, with service configs from TXT.

Installing the distribution registers ``DnsResolver`` under the scheme ``dns`` through the
``plugrpc`` entry-point group; it replaces the getaddrinfo resolver built into ``plugrpc``.
It adds what the system resolver cannot do: a DNS server named in the target
(``dns://10.0.0.53/svc.example:443``), service configs published in TXT records (gRFC A2)
and lookups that asyncio can cancel.
"""

from __future__ import annotations

from ._names import DEFAULT_DNS_PORT, DEFAULT_PORT, DnsTarget, parse_dns_target
from ._resolver import ENV_ENABLE_TXT, DnsResolver
from ._txt import (
    CLIENT_LANGUAGE,
    TXT_ATTRIBUTE,
    TXT_PREFIX,
    choose_service_config,
    grpc_config_value,
    txt_record_name,
)

__version__ = "0.1.0"

__all__ = [
    "CLIENT_LANGUAGE",
    "DEFAULT_DNS_PORT",
    "DEFAULT_PORT",
    "DnsResolver",
    "DnsTarget",
    "ENV_ENABLE_TXT",
    "TXT_ATTRIBUTE",
    "TXT_PREFIX",
    "choose_service_config",
    "grpc_config_value",
    "parse_dns_target",
    "txt_record_name",
]
