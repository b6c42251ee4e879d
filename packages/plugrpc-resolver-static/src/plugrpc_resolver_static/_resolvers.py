"""The ``ipv4:`` and ``ipv6:`` address-list resolvers (gRPC naming.md; C-core's sockaddr resolver).

Syntax (naming.md):

- ``ipv4:address[:port][,address[:port],...]``, e.g. ``ipv4:10.0.0.1:50051,10.0.0.2:50052``;
- ``ipv6:address[:port][,address[:port],...]``, where an address with a port is written in
  brackets: ``ipv6:[2001:db8::1]:50051,[::1],::2``.

The default port is 443, as naming.md says (C-core itself insists on a port). Rules, as in
C-core's ``sockaddr_resolver`` and ``parse_address``:

- the list follows the scheme as an opaque part (``ipv4:1.2.3.4``) or a path
  (``ipv4:///1.2.3.4``); an authority (``ipv4://host/...``) is an error;
- percent-escapes are decoded (RFC 3986), so an IPv6 zone is written ``%25`` (RFC 6874):
  ``ipv6:[fe80::1%25eth0]:50051``;
- empty items (``a,,b`` or a trailing comma) are skipped; a list with no address is an error;
- every item must be an address of the scheme's family: a host name or an IPv4 address in
  an ``ipv6:`` list is an error (write ``dns:`` or ``ipv4:``);
- duplicates are kept, in order: deciding what to do with them is the balancer's business.

Everything is checked when the channel is built (``validate_target``), so a malformed list
fails there with a message naming the bad item. The addresses never change: ``start``
publishes them once and ``resolve_now`` has nothing to do.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from typing import TYPE_CHECKING

from plugrpc_core import Address, Resolver, ResolverState

if TYPE_CHECKING:
    from plugrpc_core import ResolverListener, ResolverOptions, Target

__all__ = ["DEFAULT_PORT", "Ipv4Resolver", "Ipv6Resolver", "parse_address_list"]

#: The port of an address written without one (naming.md).
DEFAULT_PORT = 443

_PORT = re.compile(r"[0-9]{1,5}\Z")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})?")
# RFC 3986 unreserved and sub-delims, ":", "@" and brackets stay as they are in an authority.
_AUTHORITY_SAFE = "!$&'()*+,;=:@[]-._~"


def _port(text: str, item: str, scheme: str) -> int:
    if not _PORT.match(text):
        raise ValueError(f"{scheme}: port {text!r} of {item!r} is not a number")
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(f"{scheme}: port {port} of {item!r} is not in 1-65535")
    return port


def _ipv4(item: str, default_port: int) -> Address:
    host, colon, port_text = item.partition(":")
    if ":" in port_text or host.startswith("["):
        raise ValueError(f"ipv4: {item!r} is not an IPv4 address (IPv6 goes in an ipv6: target)")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ValueError(
            f"ipv4: {host!r} in {item!r} is not an IPv4 address (dotted quad, e.g. 10.0.0.1; "
            "host names go in a dns: target)"
        ) from None
    port = _port(port_text, item, "ipv4") if colon else default_port
    return Address(host=host, port=port)


def _ipv6(item: str, default_port: int) -> Address:
    port = default_port
    host = item
    if item.startswith("["):
        host, bracket, rest = item[1:].partition("]")
        if not bracket:
            raise ValueError(f"ipv6: missing ']' in {item!r}")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"ipv6: expected ':port' after ']' in {item!r}")
            port = _port(rest[1:], item, "ipv6")
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        hint = ""
        if item.count(":") == 1 or _is_ipv4(host):
            hint = " (IPv4 addresses go in an ipv4: target; a port needs brackets: [::1]:50051)"
        raise ValueError(f"ipv6: {host!r} in {item!r} is not an IPv6 address{hint}") from None
    return Address(host=host, port=port)


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text.partition(":")[0])
    except ValueError:
        return False
    return True


def _unescape(text: str, scheme: str) -> str:
    for match in _ESCAPE.finditer(text):
        if match.group(1) is None:
            raise ValueError(
                f"{scheme}: '%' must start a two-digit hex escape in {text!r} "
                "(write an IPv6 zone as %25, RFC 6874)"
            )
    return urllib.parse.unquote(text)


_PARSERS = {"ipv4": _ipv4, "ipv6": _ipv6}


def parse_address_list(
    scheme: str, text: str, default_port: int = DEFAULT_PORT
) -> tuple[Address, ...]:
    """Parse the comma-separated list of an ``ipv4:`` or ``ipv6:`` target.

    Args:
        scheme: ``ipv4`` or ``ipv6``.
        text: the list, percent-escapes already decoded.
        default_port: the port of addresses written without one.

    Raises:
        ValueError: an item is malformed or of the other family, or there is no item.
    """
    parse = _PARSERS.get(scheme)
    if parse is None:
        raise ValueError(f"unknown address-list scheme {scheme!r}; expected ipv4 or ipv6")
    addresses = tuple(parse(item, default_port) for item in text.split(",") if item)
    if not addresses:
        example = "10.0.0.1:50051" if scheme == "ipv4" else "[::1]:50051"
        raise ValueError(f"{scheme}: the target lists no address (e.g. '{scheme}:{example}')")
    return addresses


class _AddressListResolver(Resolver):
    """Publishes the addresses listed in the target, once."""

    def __init__(self, target: Target, listener: ResolverListener, options: ResolverOptions):
        super().__init__(target, listener, options)
        self._addresses = self._parse(target, options.default_port)

    @classmethod
    def _list_text(cls, target: Target) -> str:
        if target.authority:
            raise ValueError(
                f"invalid target {target.raw!r}: {cls.scheme} targets take no authority "
                f"(got {target.authority!r}); write '{cls.scheme}:<addresses>'"
            )
        text = target.endpoint
        # The channel decodes the escapes of a path (ipv4:///...) but not of an opaque part
        # (ipv4:...); C-core decodes both.
        rest = target.raw.partition(":")[2]
        if not rest.startswith("/"):
            text = _unescape(text, cls.scheme)
        return text

    @classmethod
    def _parse(cls, target: Target, default_port: int) -> tuple[Address, ...]:
        try:
            return parse_address_list(cls.scheme, cls._list_text(target), default_port)
        except ValueError as exc:
            message = str(exc)
            if not message.startswith("invalid target"):
                message = f"invalid target {target.raw!r}: {message}"
            raise ValueError(message) from None

    @classmethod
    def validate_target(cls, target: Target) -> None:
        """Check every address of the list (with the default port 443)."""
        cls._parse(target, DEFAULT_PORT)

    @classmethod
    def default_authority(cls, target: Target) -> str:
        """The list as written, percent-encoded where an authority needs it (as C-core)."""
        return urllib.parse.quote(cls._list_text(target), safe=_AUTHORITY_SAFE)

    @property
    def addresses(self) -> tuple[Address, ...]:
        """The addresses this resolver publishes."""
        return self._addresses

    def start(self) -> None:
        """Publish the list."""
        self.listener.update_state(ResolverState(addresses=self._addresses))

    def close(self) -> None:
        """Nothing runs, so nothing stops."""


class Ipv4Resolver(_AddressListResolver):
    """``ipv4:10.0.0.1:50051,10.0.0.2`` (default port 443)."""

    scheme = "ipv4"


class Ipv6Resolver(_AddressListResolver):
    """``ipv6:[2001:db8::1]:50051,[::1],::2`` (default port 443)."""

    scheme = "ipv6"
