"""The ``dns`` resolver on dnspython: addresses, service config from TXT, re-resolution.

Theory of operation (gRPC naming.md, gRFC A2, A10, A21; grpc-go ``internal/resolver/dns`` is
the reference):

- An IP literal is published once and never looked up again (A10).
- Otherwise a lookup runs at ``start``: A and AAAA in parallel, and the TXT record
  ``_grpc_config.<host>`` alongside them unless service configs are off (the channel's
  ``disable_service_config``, or ``GRPC_ENABLE_TXT_SERVICE_CONFIG=false`` as in grpc-go) or
  the host is ``localhost`` (A10). Without a DNS server in the target, the hosts file answers
  first and the system's DNS configuration is used; ``localhost`` names never reach DNS
  (RFC 6761) and fall back to loopback when the hosts file does not list them.
- The whole lookup is bounded by ``lookup_timeout`` (grpc-go ``ResolvingTimeout``, 30 s).
- A lookup with addresses publishes them with the config chosen from TXT (see ``_txt``); a
  config that does not parse is published as ``service_config_error`` so that the channel
  keeps the config it has (A21). A failed TXT query keeps the previous TXT outcome (no config
  on the first lookup): grpc-go ignores TXT errors by default (``GRPC_GO_IGNORE_TXT_ERRORS``).
- After a lookup with addresses the resolver waits for ``resolve_now`` (a connection
  failed); like grpc-go it does not poll, and it looks again no sooner than
  ``min_resolution_interval`` (30 s) after the previous lookup. A ``resolve_now`` that comes
  while a lookup runs is kept for after it.
- A lookup that fails (time-out, server failure) is reported with ``report_error``; one that
  finds no address (NXDOMAIN, no records) is published as an empty address list, which
  balancers reject, and an invalid config as said above. All three are retried with grpc-go's
  backoff (1 s x 1.6 with 20 % jitter, at most 120 s) until a lookup gives addresses and a
  usable config: grpc-go's channel rejects such states (``ErrBadResolverState``) and its
  resolver then polls, so that a fixed record is found without waiting for a failure.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from typing import TYPE_CHECKING, ClassVar

from plugrpc_core import (
    Address,
    Resolver,
    ResolverState,
    ServiceConfig,
    ServiceConfigError,
    parse_service_config,
)

from ._hosts import LOOPBACK, HostsFile
from ._lookup import (
    AddressAnswer,
    LookupFailedError,
    make_resolver,
    query_addresses,
    query_txt,
    sort_addresses,
)
from ._names import default_authority, is_localhost, parse_dns_target
from ._txt import choose_service_config, grpc_config_value, txt_record_name

if TYPE_CHECKING:
    import dns.asyncresolver
    from plugrpc_core import ResolverListener, ResolverOptions, Target

__all__ = ["ENV_ENABLE_TXT", "DnsResolver"]

_log = logging.getLogger("plugrpc.resolver.dns")

#: grpc-go's switch for TXT service configs: anything but "false" leaves them on.
ENV_ENABLE_TXT = "GRPC_ENABLE_TXT_SERVICE_CONFIG"

# The TXT outcome: a config, an error, or neither (no record, or no matching choice).
_TxtOutcome = tuple[ServiceConfig | None, str | None]
_NO_CONFIG: _TxtOutcome = (None, None)


def txt_enabled() -> bool:
    """Whether ``GRPC_ENABLE_TXT_SERVICE_CONFIG`` leaves TXT lookups on (grpc-go rules)."""
    return os.environ.get(ENV_ENABLE_TXT, "").lower() != "false"


class DnsResolver(Resolver):
    """``dns:[//dns-server[:port]/]host[:port]``, resolved with dnspython.

    The class attributes are the knobs (set them on a subclass, or on this class in tests).
    """

    scheme = "dns"
    #: Least time from a successful lookup to the next (grpc-go ``MinResolutionInterval``).
    min_resolution_interval: ClassVar[float] = 30.0
    #: Longest time one lookup may take (grpc-go ``ResolvingTimeout``).
    lookup_timeout: ClassVar[float] = 30.0
    #: First retry delay after a failed lookup; later ones grow x1.6 up to ``max_retry_delay``.
    retry_delay: ClassVar[float] = 1.0
    #: Longest retry delay after failed lookups (grpc-go's backoff maximum).
    max_retry_delay: ClassVar[float] = 120.0
    #: The hosts file consulted before DNS when the target names no DNS server.
    hosts_path: ClassVar[str] = "/etc/hosts"
    #: The system's DNS configuration, used when the target names no DNS server.
    resolv_conf_path: ClassVar[str] = "/etc/resolv.conf"

    def __init__(self, target: Target, listener: ResolverListener, options: ResolverOptions):
        super().__init__(target, listener, options)
        self._dns = parse_dns_target(target, options.default_port)
        self._txt_wanted = (
            not options.disable_service_config and not is_localhost(self._dns.host)
        ) and txt_enabled()
        # The hosts file answers first for the system's resolver, and for localhost always.
        self._hosts: HostsFile | None = None
        if self._dns.server is None or is_localhost(self._dns.host):
            self._hosts = HostsFile(self.hosts_path)
        self._hostname = socket.gethostname()
        # One draw per client for A2's percentage (see _txt).
        self._roll = random.randrange(100)
        self._last_txt: _TxtOutcome = _NO_CONFIG
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._next_allowed = 0.0
        self._failures = 0
        self._pending = False
        self._closed = False

    @classmethod
    def validate_target(cls, target: Target) -> None:
        """Reject a malformed host, port or DNS-server authority."""
        parse_dns_target(target)

    @classmethod
    def default_authority(cls, target: Target) -> str:
        """The endpoint (``:port`` meaning ``localhost:port``), as grpc-go uses it."""
        return default_authority(target.endpoint)

    # -- Resolver interface ---------------------------------------------------------------

    def start(self) -> None:
        """Publish an IP literal at once, or start the first lookup."""
        if self._dns.ip_literal:
            address = Address(host=self._dns.host, port=self._dns.port)
            self.listener.update_state(ResolverState(addresses=(address,)))
            return
        self._loop = asyncio.get_running_loop()
        self._start_lookup()

    def resolve_now(self) -> None:
        """Look again soon, but no sooner than ``min_resolution_interval`` after the last."""
        if self._loop is None or self._closed:
            return
        if self._task is not None:
            self._pending = True  # look again after the running lookup
        elif self._timer is None:
            self._schedule(self._next_allowed - self._loop.time())

    def close(self) -> None:
        """Stop; no listener calls after this returns."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # -- scheduling -----------------------------------------------------------------------

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
        self._pending = False
        self._task = self._loop.create_task(self._run(), name=f"plugrpc-dns {self._dns.host}")

    def _retry_delay(self) -> float:
        # grpc-go's exponential backoff; its watcher starts at the second step (1.6 s).
        self._failures += 1
        delay = min(self.retry_delay * 1.6**self._failures, self.max_retry_delay)
        return delay * random.uniform(0.8, 1.2)

    async def _run(self) -> None:
        answer, txt = AddressAnswer(addresses=()), _NO_CONFIG
        error: str | None = None
        try:
            # dnspython bounds each query by lookup_timeout; this only backs it up, and lets
            # a query that failed alone (AAAA timing out) leave the others' answers usable.
            async with asyncio.timeout(self.lookup_timeout + 1.0):
                answer, txt = await self._lookup()
        except TimeoutError:
            error = f"looking up {self._dns.host!r} timed out after {self.lookup_timeout:g} s"
        except LookupFailedError as exc:
            error = f"cannot resolve {self._dns.host!r}: {exc}"
        except Exception as exc:  # a bug must not end re-resolution silently
            _log.exception("dns: looking up %r failed", self._dns.host)
            error = f"looking up {self._dns.host!r} failed: {exc!r}"
        else:
            if not answer.addresses and answer.failure:
                error = f"cannot resolve {self._dns.host!r}: {answer.failure}"
        self._task = None
        if self._closed:
            return
        loop = self._loop
        assert loop is not None
        if error is not None:
            _log.debug("dns: %s", error)
            self.listener.report_error(f"dns: {error}")
        else:
            port = self._dns.port
            addresses = tuple(Address(host=ip, port=port) for ip in answer.addresses)
            config, config_error = txt
            state = ResolverState(
                addresses=addresses, service_config=config, service_config_error=config_error
            )
            self.listener.update_state(state)
            # grpc-go's channel answers a state without addresses or with an invalid config
            # with ErrBadResolverState, and its resolver then polls as after an error.
            if addresses and config_error is None:
                # grpc-go counts the interval from the end of a successful lookup.
                self._failures = 0
                self._next_allowed = loop.time() + self.min_resolution_interval
                if self._pending and not self._closed and self._timer is None:
                    self._schedule(self._next_allowed - loop.time())
                return
            _log.debug("dns: %r: no addresses or an invalid config; retrying", self._dns.host)
        if not self._closed and self._timer is None:
            self._schedule(self._retry_delay())

    # -- one lookup -----------------------------------------------------------------------

    def _resolver(self) -> dns.asyncresolver.Resolver:
        return make_resolver(
            self._dns.server, lifetime=self.lookup_timeout, resolv_conf=self.resolv_conf_path
        )

    async def _lookup(self) -> tuple[AddressAnswer, _TxtOutcome]:
        host = self._dns.host
        listed: tuple[str, ...] = ()
        if self._hosts is not None:
            listed = self._hosts.lookup(host)
            if not listed and is_localhost(host):
                listed = LOOPBACK
        if listed:
            txt = await self._txt(None) if self._txt_wanted else _NO_CONFIG
            return AddressAnswer(addresses=tuple(sort_addresses(listed))), txt
        resolver = self._resolver()
        if self._txt_wanted:
            answer, txt = await asyncio.gather(query_addresses(resolver, host), self._txt(resolver))
        else:
            answer, txt = await query_addresses(resolver, host), _NO_CONFIG
        ordered = tuple(sort_addresses(answer.addresses))
        return AddressAnswer(addresses=ordered, failure=answer.failure), txt

    async def _txt(self, resolver: dns.asyncresolver.Resolver | None) -> _TxtOutcome:
        name = txt_record_name(self._dns.host)
        try:
            records = await query_txt(resolver or self._resolver(), name)
        except LookupFailedError as exc:
            _log.debug("dns: keeping the previous service config: %s", exc)
            return self._last_txt
        outcome = self._service_config(name, records)
        self._last_txt = outcome
        return outcome

    def _service_config(self, name: str, records: list[tuple[bytes, ...]]) -> _TxtOutcome:
        try:
            value = grpc_config_value(records)
            if value is None:
                return _NO_CONFIG
            choice = choose_service_config(value, hostname=self._hostname, roll=self._roll)
            if choice is None:
                return _NO_CONFIG
            return parse_service_config(choice), None
        except (ServiceConfigError, ValueError) as exc:
            error = f"invalid service config in the TXT record {name}: {exc}"
            if error != self._last_txt[1]:  # once per new problem, not at every retry
                _log.warning("dns: %s", error)
            return None, error
