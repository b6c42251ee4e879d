"""Channel targets and addresses: gRPC naming (doc/naming.md) with grpc-go ``NewClient`` rules.

A target is an RFC 3986 URI, ``scheme:[//authority/]endpoint``. grpc-go's ``NewClient`` (the
reference) first tries the string as a URI: when it has a scheme that a resolver is registered
for, that URI is the target. Anything else (``localhost:50051``, ``[::1]:50051``, ``10.0.0.1:80``)
is the endpoint of ``dns:///<string>``. We add one rule: a string that is unmistakably a URI
(``scheme://...``) with an unknown scheme keeps that scheme, so that the channel can say which
resolver plugin to install instead of failing on a strange DNS name.

The endpoint is what grpc-go's ``Target.Endpoint()`` returns: the URI path, or the opaque part
when there is no path, with one leading ``/`` removed. ``unix:///tmp/s`` therefore has the
endpoint ``tmp/s``; resolvers that need the path as written use ``uri_path``.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plugrpc_core import Target

if TYPE_CHECKING:
    from collections.abc import Container

__all__ = ["authority_for_endpoint", "parse_host_port", "parse_target", "uri_path"]

# RFC 3986 section 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ":".
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PORT = re.compile(r"[0-9]+\Z")
# Characters grpc-go leaves unescaped in a default authority: RFC 3986 unreserved and
# sub-delims, plus ":", "@" and the brackets of IPv6 literals.
_AUTHORITY_SAFE = "!$&'()*+,;=:@[]-._~"
_DEFAULT_SCHEME = "dns"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Uri:
    scheme: str
    authority: str
    path: str
    opaque: str
    has_authority: bool

    @property
    def endpoint(self) -> str:
        value = self.path or self.opaque
        return value.removeprefix("/")


def _split_uri(raw: str) -> _Uri | None:
    """Split ``raw`` like Go's ``url.Parse``; None when it has no scheme."""
    match = _SCHEME.match(raw)
    if match is None:
        return None
    scheme = match.group(1).lower()
    rest = raw[match.end() :]
    rest = rest.partition("#")[0]
    rest = rest.partition("?")[0]
    if not rest.startswith("/"):
        return _Uri(scheme=scheme, authority="", path="", opaque=rest, has_authority=False)
    authority = ""
    has_authority = rest.startswith("//")
    if has_authority:
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        # Go's URL.Host leaves the userinfo out.
        authority = authority.rpartition("@")[2]
    if _BAD_ESCAPE.search(rest):
        raise ValueError(f"invalid target {raw!r}: '%' must start a two-digit hex escape")
    path = urllib.parse.unquote(rest)
    return _Uri(scheme=scheme, authority=authority, path=path, opaque="", has_authority=True)


def parse_target(
    target: str,
    *,
    schemes: Container[str] | None = None,
    default_scheme: str = _DEFAULT_SCHEME,
) -> Target:
    """Parse a channel target the way grpc-go's ``NewClient`` does.

    Args:
        target: what the user gave the channel.
        schemes: the schemes that have a resolver (default: the resolver registry).
        default_scheme: the scheme for strings that are not URIs with a known scheme.

    Returns:
        The parsed target; ``raw`` is ``target`` unchanged.

    Raises:
        ValueError: the target is empty or has a bad percent-escape.
    """
    if not isinstance(target, str):
        raise TypeError(f"a target must be a str, got {type(target).__name__}")
    if not target:
        raise ValueError("the target is empty; use e.g. 'localhost:50051' or 'dns:///host:443'")
    if schemes is None:
        from plugrpc_core import plugins

        schemes = plugins.resolvers
    uri = _split_uri(target)
    if uri is None or not (uri.scheme in schemes or uri.has_authority):
        uri = _split_uri(f"{default_scheme}:///{target}")
        assert uri is not None
    return Target(scheme=uri.scheme, authority=uri.authority, endpoint=uri.endpoint, raw=target)


def uri_path(target: Target) -> str:
    """The target's path as written (``/tmp/s`` for ``unix:///tmp/s``), or its opaque part.

    grpc-go's unix resolver reads the URI this way because the endpoint loses the leading
    ``/`` of absolute paths.
    """
    uri = _split_uri(target.raw)
    if uri is None or uri.scheme != target.scheme:
        return target.endpoint
    return uri.path or uri.opaque


def authority_for_endpoint(endpoint: str) -> str:
    """The default ``:authority`` for a host-and-port endpoint (grpc-go ``determineAuthority``).

    ``:50051`` means the local host, and characters an authority cannot hold are
    percent-encoded.
    """
    if endpoint.startswith(":"):
        endpoint = "localhost" + endpoint
    return urllib.parse.quote(endpoint, safe=_AUTHORITY_SAFE)


def _parse_port(text: str, endpoint: str) -> int:
    if not text:
        raise ValueError(f"invalid address {endpoint!r}: missing port after ':'")
    if not _PORT.match(text):
        raise ValueError(f"invalid address {endpoint!r}: port {text!r} is not a number")
    port = int(text)
    if not 0 < port < 65536:
        raise ValueError(f"invalid address {endpoint!r}: port {port} is not in 1-65535")
    return port


def _check_host(host: str, endpoint: str) -> None:
    if any(c.isspace() or ord(c) < 0x20 or c in "/\\" for c in host):
        raise ValueError(f"invalid address {endpoint!r}: host {host!r} is not a valid name")


def parse_host_port(endpoint: str, default_port: int) -> tuple[str, int]:
    """Split ``host:port``, ``[v6]:port``, ``v6``, ``v4`` or ``name`` into a host and a port.

    The host comes back without brackets; an empty host (``:50051``) means ``localhost``, as
    in grpc-go's dns resolver.

    Raises:
        ValueError: the endpoint is empty, has a bad port or an ambiguous IPv6 form.
    """
    if not endpoint:
        raise ValueError("missing address: the target names no host")
    if endpoint.startswith("["):
        host, bracket, rest = endpoint[1:].partition("]")
        if not bracket:
            raise ValueError(f"invalid address {endpoint!r}: missing ']'")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(
                f"invalid address {endpoint!r}: {host!r} in brackets is not an IPv6 address"
            ) from None
        if not rest:
            return host, default_port
        if not rest.startswith(":"):
            raise ValueError(f"invalid address {endpoint!r}: expected ':port' after ']'")
        return host, _parse_port(rest[1:], endpoint)
    colons = endpoint.count(":")
    if colons > 1:
        try:
            ipaddress.IPv6Address(endpoint)
        except ValueError:
            raise ValueError(
                f"invalid address {endpoint!r}: too many colons; write IPv6 addresses with a "
                "port in brackets, e.g. '[::1]:50051'"
            ) from None
        return endpoint, default_port
    if colons == 1:
        host, _, port_text = endpoint.partition(":")
        port = _parse_port(port_text, endpoint)
        host = host or "localhost"
        _check_host(host, endpoint)
        return host, port
    _check_host(endpoint, endpoint)
    return endpoint, default_port
