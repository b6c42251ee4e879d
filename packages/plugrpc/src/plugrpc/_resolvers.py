"""The built-in name resolvers: ``passthrough``, ``unix``, ``unix-abstract`` and ``dns``.

gRPC naming (doc/naming.md) with grpc-go's behaviour as the bar:

- ``passthrough:///host:port`` hands the endpoint over as the one address; the host is
  resolved when connecting.
- ``unix:path`` (relative), ``unix:/abs`` and ``unix:///abs`` name a socket file;
  ``unix-abstract:name`` a socket in Linux's abstract namespace. An authority is an error,
  and the default ``:authority`` is ``localhost`` (grpc-go ``determineAuthority``).
- ``dns:[//authority/]host[:port]`` resolves with the system resolver (``getaddrinfo``): A and
  AAAA results in the system's order, de-duplicated, default port 443. IP literals need no
  lookup and never re-resolve; the system resolver normally answers ``localhost`` from the
  hosts file, without a DNS query. A ``resolve_now`` re-resolves at most once per 30 s
  (grpc-go ``MinResolutionInterval``); a failed lookup is reported and retried with the
  connection backoff schedule. A lookup may take 30 s (grpc-go ``ResolvingTimeout``).
  Choosing the DNS server (the authority) and service configs from TXT records need a real
  DNS client: that is the ``plugrpc-resolver-dns`` distribution, which replaces this one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import TYPE_CHECKING, Any, ClassVar

from plugrpc_core import Address, Resolver, ResolverState

from ._backoff import Backoff, BackoffConfig
from ._target import authority_for_endpoint, parse_host_port, uri_path

if TYPE_CHECKING:
    from collections.abc import Iterable

    from plugrpc_core import ResolverListener, ResolverOptions, Target

__all__ = ["DnsResolver", "PassthroughResolver", "UnixAbstractResolver", "UnixResolver"]

_log = logging.getLogger("plugrpc.resolver")

DEFAULT_PORT = 443
MIN_RESOLUTION_INTERVAL = 30.0
LOOKUP_TIMEOUT = 30.0


class _StaticResolver(Resolver):
    """A resolver whose one answer is known from the target alone."""

    def _address(self) -> Address:
        raise NotImplementedError

    def start(self) -> None:
        """Publish the single address."""
        self.listener.update_state(ResolverState(addresses=(self._address(),)))

    def close(self) -> None:
        """Nothing runs, so nothing stops."""


class PassthroughResolver(_StaticResolver):
    """``passthrough:///host:port``: the endpoint is the address."""

    scheme = "passthrough"

    @classmethod
    def validate_target(cls, target: Target) -> None:
        """Check that the endpoint is a host with an optional port."""
        if not target.endpoint:
            raise ValueError(f"invalid target {target.raw!r}: passthrough needs an address")
        try:
            parse_host_port(target.endpoint, DEFAULT_PORT)
        except ValueError as exc:
            raise ValueError(f"invalid target {target.raw!r}: {exc}") from None

    @classmethod
    def default_authority(cls, target: Target) -> str:
        """The endpoint, as grpc-go uses it."""
        return authority_for_endpoint(target.endpoint)

    def _address(self) -> Address:
        host, port = parse_host_port(self.target.endpoint, self.options.default_port)
        return Address(host=host, port=port)


class UnixResolver(_StaticResolver):
    """``unix:path`` or ``unix:///absolute/path``."""

    scheme = "unix"

    @classmethod
    def _path(cls, target: Target) -> str:
        if target.authority:
            raise ValueError(
                f"invalid target {target.raw!r}: {cls.scheme} targets take no authority "
                f"(got {target.authority!r}); write '{cls.scheme}:relative' or "
                f"'{cls.scheme}:///absolute'"
            )
        path = uri_path(target)
        if not path:
            raise ValueError(f"invalid target {target.raw!r}: the socket path is empty")
        if "\0" in path:
            raise ValueError(f"invalid target {target.raw!r}: the path holds a NUL character")
        return path

    @classmethod
    def validate_target(cls, target: Target) -> None:
        """Reject an authority and an empty path."""
        cls._path(target)

    @classmethod
    def default_authority(cls, target: Target) -> str:
        """``localhost``, as in grpc-go and C-core."""
        return "localhost"

    def _address(self) -> Address:
        return Address(path=self._path(self.target))


class UnixAbstractResolver(UnixResolver):
    """``unix-abstract:name``: a socket in Linux's abstract namespace (no NUL in the name)."""

    scheme = "unix-abstract"

    def _address(self) -> Address:
        return Address(path="\0" + self._path(self.target))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class DnsResolver(Resolver):
    """``dns:[//authority/]host[:port]`` through the system resolver (``getaddrinfo``)."""

    scheme = "dns"
    #: Least time between two successful lookups (grpc-go ``MinResolutionInterval``).
    min_resolution_interval: ClassVar[float] = MIN_RESOLUTION_INTERVAL
    #: Longest wait for one lookup (grpc-go ``ResolvingTimeout``).
    lookup_timeout: ClassVar[float] = LOOKUP_TIMEOUT
    #: Retry schedule after failed lookups (grpc-go polls with its default backoff).
    error_backoff: ClassVar[BackoffConfig] = BackoffConfig()

    def __init__(self, target: Target, listener: ResolverListener, options: ResolverOptions):
        super().__init__(target, listener, options)
        self._host, self._port = parse_host_port(target.endpoint, options.default_port)
        self._backoff = Backoff(self.error_backoff)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._next_allowed = 0.0
        self._static = False
        self._closed = False

    @classmethod
    def validate_target(cls, target: Target) -> None:
        """Reject a DNS-server authority and a malformed host or port."""
        if target.authority:
            raise ValueError(
                f"invalid target {target.raw!r}: the built-in dns resolver uses the system "
                f"resolver (getaddrinfo) and cannot send queries to the DNS server "
                f"{target.authority!r}; pip install plugrpc-resolver-dns for that, or write "
                f"'dns:///{target.endpoint}'"
            )
        try:
            parse_host_port(target.endpoint, DEFAULT_PORT)
        except ValueError as exc:
            raise ValueError(f"invalid target {target.raw!r}: {exc}") from None

    @classmethod
    def default_authority(cls, target: Target) -> str:
        """The endpoint (``:port`` meaning ``localhost:port``)."""
        return authority_for_endpoint(target.endpoint)

    def start(self) -> None:
        """Publish an IP literal at once, or start the first lookup."""
        if _is_ip_literal(self._host):
            # No lookup and no re-resolution for literals (grpc-go, gRFC A10).
            self._static = True
            address = Address(host=self._host, port=self._port)
            self.listener.update_state(ResolverState(addresses=(address,)))
            return
        self._loop = asyncio.get_running_loop()
        self._schedule(0.0)

    def resolve_now(self) -> None:
        """Look again, but not sooner than 30 s after the last successful lookup."""
        if self._static or self._closed or self._loop is None:
            return
        if self._task is not None or self._timer is not None:
            return  # a lookup is running or already scheduled
        self._schedule(max(0.0, self._next_allowed - self._loop.time()))

    def close(self) -> None:
        """Stop looking up; no listener calls afterwards."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _schedule(self, delay: float) -> None:
        assert self._loop is not None
        if delay <= 0:
            self._start_lookup()
        else:
            self._timer = self._loop.call_later(delay, self._start_lookup)

    def _start_lookup(self) -> None:
        assert self._loop is not None
        self._timer = None
        if self._closed:
            return
        self._task = self._loop.create_task(self._lookup(), name=f"plugrpc-dns {self._host}")

    async def _lookup(self) -> None:
        loop = self._loop
        assert loop is not None
        try:
            async with asyncio.timeout(self.lookup_timeout):
                infos = await loop.getaddrinfo(
                    self._host, self._port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
                )
            addresses = _addresses_from(infos, self._port)
            if not addresses:
                raise OSError("no A or AAAA records")
        except TimeoutError:
            error = f"dns: looking up {self._host!r} timed out after {self.lookup_timeout:g} s"
        except (OSError, UnicodeError) as exc:
            error = f"dns: cannot resolve {self._host!r}: {exc}"
        else:
            self._task = None
            if self._closed:
                return
            self._backoff.reset()
            self._next_allowed = loop.time() + self.min_resolution_interval
            self.listener.update_state(ResolverState(addresses=addresses))
            return
        self._task = None
        if self._closed:
            return
        _log.debug("%s", error)
        self.listener.report_error(error)
        # grpc-go polls again after a failed lookup, with the exponential backoff.
        self._backoff.attempts = max(self._backoff.attempts, 1)
        self._schedule(self._backoff.next_delay())


def _addresses_from(infos: Iterable[tuple[Any, ...]], port: int) -> tuple[Address, ...]:
    seen: dict[Address, None] = {}
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        seen.setdefault(Address(host=str(sockaddr[0]), port=port), None)
    return tuple(seen)
