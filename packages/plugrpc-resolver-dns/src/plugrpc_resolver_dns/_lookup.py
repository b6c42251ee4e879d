"""DNS queries with dnspython's asyncio resolver, and the order of the addresses found.

Theory of operation:

- A and AAAA are asked in parallel; the answer is their union. A name that does not exist
  (NXDOMAIN) or has no record of a type (NODATA) is an answer, not a failure: it contributes
  no address. A query that times out or that every server refuses (SERVFAIL, REFUSED) is a
  failure. With addresses from one family and a failure in the other, the addresses are
  used (Go's resolver does the same); with no address and a failure, the failure is what
  the resolver reports.
- With the system's configuration, dnspython reads ``/etc/resolv.conf`` (servers, ``search``,
  ``ndots``, ``timeout``, ``rotate``) at every lookup, so changes apply without a restart,
  and relative names go through the search list as the system resolver would. With a DNS
  server from the target, only that server is asked and names are taken as absolute.
- A truncated UDP answer (a long TXT record) is asked again over TCP by dnspython.
- Order: a subset of RFC 6724 destination address selection. Addresses the system has no
  route to go last (rule 1, checked by connecting a UDP socket, which sends nothing), then
  higher precedence in the default policy table first (rule 6: ``::1``, then global IPv6,
  then IPv4, then 6to4, Teredo and ULA); DNS order is kept otherwise.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "AddressAnswer",
    "LookupFailedError",
    "make_resolver",
    "query_addresses",
    "query_txt",
    "sort_addresses",
]


class LookupFailedError(Exception):
    """A query failed for a reason other than the name or record not existing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AddressAnswer:
    """The result of the A and AAAA queries.

    Attributes:
        addresses: the IP addresses found, de-duplicated, in DNS order (A first).
        failure: why a query failed, when one did.
    """

    addresses: tuple[str, ...]
    failure: str | None = None


def make_resolver(
    server: tuple[str, int] | None, *, lifetime: float, resolv_conf: str
) -> dns.asyncresolver.Resolver:
    """A dnspython resolver for one lookup.

    Args:
        server: the DNS server ``(ip, port)`` to ask, or None for the system's.
        lifetime: the longest time one query may take, retries included.
        resolv_conf: the system configuration file, read when ``server`` is None.

    Raises:
        LookupFailedError: the system configuration names no server or cannot be read.
    """
    if server is None:
        try:
            resolver = dns.asyncresolver.Resolver(filename=resolv_conf)
        except dns.resolver.NoResolverConfiguration as exc:
            raise LookupFailedError(f"no DNS server configured in {resolv_conf} ({exc})") from None
        resolver.use_search_by_default = True
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [server[0]]
        resolver.port = server[1]
    resolver.lifetime = lifetime
    resolver.timeout = min(resolver.timeout, lifetime)
    return resolver


def _describe(exc: BaseException) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return "the query timed out"
    if isinstance(exc, dns.resolver.NoNameservers):
        return f"no DNS server answered ({exc})"
    return str(exc) or type(exc).__name__


async def _query(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: dns.rdatatype.RdataType
) -> dns.resolver.Answer | None:
    """One query; None when the name or the record type does not exist."""
    try:
        return await resolver.resolve(name, rdtype)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except (dns.exception.DNSException, OSError, UnicodeError) as exc:
        kind = dns.rdatatype.to_text(rdtype)
        raise LookupFailedError(f"{kind} lookup of {name!r} failed: {_describe(exc)}") from exc


async def query_addresses(resolver: dns.asyncresolver.Resolver, host: str) -> AddressAnswer:
    """Ask for ``host``'s A and AAAA records in parallel."""
    answers = await asyncio.gather(
        _query(resolver, host, dns.rdatatype.A),
        _query(resolver, host, dns.rdatatype.AAAA),
        return_exceptions=True,
    )
    found: dict[str, None] = {}
    failures: list[str] = []
    for answer in answers:
        if isinstance(answer, LookupFailedError):
            failures.append(str(answer))
        elif isinstance(answer, BaseException):
            raise answer  # a bug or a cancellation: not a DNS outcome
        elif answer is not None:
            for rdata in answer:
                found.setdefault(str(rdata.address), None)
    return AddressAnswer(addresses=tuple(found), failure="; ".join(failures) or None)


async def query_txt(resolver: dns.asyncresolver.Resolver, name: str) -> list[tuple[bytes, ...]]:
    """The TXT records at ``name``, each as its strings; empty when there are none.

    Raises:
        LookupFailedError: the query failed (timeout, SERVFAIL, REFUSED).
    """
    answer = await _query(resolver, name, dns.rdatatype.TXT)
    if answer is None:
        return []
    return [tuple(rdata.strings) for rdata in answer]


# RFC 6724 section 2.1, the default policy table: (prefix, precedence), longest prefix first.
_POLICY = [
    (ipaddress.IPv6Network(prefix), precedence)
    for prefix, precedence in (
        ("::1/128", 50),
        ("::ffff:0:0/96", 35),
        ("2001::/32", 5),
        ("::/96", 1),
        ("2002::/16", 30),
        ("fc00::/7", 3),
        ("fec0::/10", 1),
        ("3ffe::/16", 1),
        ("::/0", 40),
    )
]


def _precedence(address: str) -> int:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        ip = ipaddress.IPv6Address(f"::ffff:{ip}")
    elif ip.scope_id is not None:
        ip = ipaddress.IPv6Address(address.partition("%")[0])
    for network, precedence in _POLICY:
        if ip in network:
            return precedence
    return 40  # pragma: no cover - ::/0 matches everything


def _reachable(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 9))  # a route lookup only: UDP connect sends nothing
    except OSError:
        return False
    return True


def sort_addresses(addresses: Iterable[str]) -> list[str]:
    """Order destination addresses by RFC 6724 rules 1 and 6, stably."""
    items = list(addresses)
    if len(items) < 2:
        return items
    return sorted(items, key=lambda a: (not _reachable(a), -_precedence(a)))
