"""What a ``dns`` target names: the host and port to look up, and the DNS server to ask.

``dns:[//server[:port]/]host[:port]`` (gRPC naming.md). The endpoint follows grpc-go's
``parseTarget``: an IP literal (IPv6 with or without brackets) takes the default port 443;
``host:port`` and ``[v6]:port`` split at the last colon; an empty host (``:50051``) means
``localhost``; a trailing colon is an error. The authority, when present, is the DNS server
to query instead of the system's: an IP address with an optional port (default 53).
grpc-go also accepts a host name there; we ask for an address, because a DNS server found
through DNS would make the lookup depend on the system resolver it is meant to replace.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.exception
import dns.name

if TYPE_CHECKING:
    from plugrpc_core import Target

__all__ = [
    "DEFAULT_DNS_PORT",
    "DEFAULT_PORT",
    "DnsTarget",
    "default_authority",
    "is_ip_literal",
    "is_localhost",
    "parse_dns_target",
]

#: gRPC's default port for ``dns`` targets without one (naming.md, grpc-go ``defaultPort``).
DEFAULT_PORT = 443
#: The port of a DNS server named without one (grpc-go ``defaultDNSSvrPort``).
DEFAULT_DNS_PORT = 53

_PORT = re.compile(r"[0-9]{1,5}\Z")
# RFC 3986 unreserved and sub-delims plus ":", "@" and brackets: what grpc-go leaves
# unescaped in a default authority.
_AUTHORITY_SAFE = "!$&'()*+,;=:@[]-._~"


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsTarget:
    """A parsed ``dns`` target.

    Attributes:
        host: the name or IP literal to resolve (no brackets).
        port: the port every resolved address gets.
        server: the DNS server ``(ip, port)`` from the authority, or None for the system's.
        ip_literal: ``host`` is an IP address: nothing to look up (gRFC A10).
    """

    host: str
    port: int
    server: tuple[str, int] | None
    ip_literal: bool


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 address (IPv6 without brackets)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_localhost(host: str) -> bool:
    """``localhost`` and names under it (RFC 6761 section 6.3), in any case."""
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def _port(text: str, where: str) -> int:
    if not text:
        raise ValueError(f"{where}: missing port after ':'")
    if not _PORT.match(text):
        raise ValueError(f"{where}: port {text!r} is not a number")
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(f"{where}: port {port} is not in 1-65535")
    return port


def _split(text: str, default_port: int, where: str) -> tuple[str, int]:
    """Split ``host[:port]``, ``[v6][:port]`` or a bare IP literal, as Go's SplitHostPort."""
    if is_ip_literal(text):
        return text, default_port
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise ValueError(f"{where}: missing ']'")
        if not is_ip_literal(host) or ":" not in host:
            raise ValueError(f"{where}: {host!r} in brackets is not an IPv6 address")
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ValueError(f"{where}: expected ':port' after ']'")
        return host, _port(rest[1:], where)
    if text.count(":") > 1:
        raise ValueError(
            f"{where}: too many colons; write IPv6 addresses with a port in brackets, "
            "e.g. '[::1]:50051'"
        )
    host, colon, port_text = text.partition(":")
    return host, (_port(port_text, where) if colon else default_port)


def _check_name(host: str, where: str) -> None:
    if any(c.isspace() or c in "/\\@" for c in host):
        raise ValueError(f"{where}: {host!r} is not a valid host name")
    try:
        dns.name.from_text(host)
    except (dns.exception.DNSException, UnicodeError) as exc:
        raise ValueError(f"{where}: {host!r} is not a valid host name ({exc})") from None


def parse_dns_target(target: Target, default_port: int = DEFAULT_PORT) -> DnsTarget:
    """Parse a ``dns`` target.

    Args:
        target: the channel's parsed target.
        default_port: the port for endpoints without one.

    Raises:
        ValueError: a malformed endpoint or DNS-server authority; the message quotes the
            target and says what is wrong.
    """
    where = f"invalid target {target.raw!r}"
    endpoint = target.endpoint
    if not endpoint:
        raise ValueError(
            f"{where}: missing address: the target names no host (e.g. 'dns:///example.com:443')"
        )
    host, port = _split(endpoint, default_port, where)
    if not host:
        host = "localhost"  # ":50051", as Go's net.Dial and grpc-go read it
    literal = is_ip_literal(host)
    if not literal:
        _check_name(host, where)
    server = None
    if target.authority:
        server_host, server_port = _split(target.authority, DEFAULT_DNS_PORT, where)
        if not is_ip_literal(server_host):
            raise ValueError(
                f"{where}: the DNS server {target.authority!r} must be an IP address with an "
                f"optional port (e.g. 'dns://8.8.8.8/{endpoint}' or "
                f"'dns://[2001:4860:4860::8888]:53/{endpoint}')"
            )
        server = (server_host, server_port)
    return DnsTarget(host=host, port=port, server=server, ip_literal=literal)


def default_authority(endpoint: str) -> str:
    """The ``:authority`` of calls: the endpoint, ``:port`` meaning ``localhost:port``.

    grpc-go's ``determineAuthority``: characters an authority cannot hold are
    percent-encoded.
    """
    if endpoint.startswith(":"):
        endpoint = "localhost" + endpoint
    return urllib.parse.quote(endpoint, safe=_AUTHORITY_SAFE)
