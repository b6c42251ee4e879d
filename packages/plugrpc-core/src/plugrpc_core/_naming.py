"""Plugin interface for name resolvers (naming.md, gRFC L9/A21).

A channel parses its target URI into a ``Target``, looks the scheme up in the resolver
registry and builds one resolver per channel. The resolver pushes ``ResolverState`` updates
(addresses and an optional service config) to the channel's ``ResolverListener``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._service_config import ServiceConfig

__all__ = [
    "Address",
    "Resolver",
    "ResolverListener",
    "ResolverOptions",
    "ResolverState",
    "Target",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A parsed channel target (RFC 3986 shape, as gRPC's naming.md uses it).

    ``dns://8.8.8.8/example.com:443`` has scheme ``dns``, authority ``8.8.8.8`` and endpoint
    ``example.com:443``. ``unix:relative/path`` has an empty authority and the endpoint as given.
    """

    scheme: str
    authority: str
    endpoint: str
    raw: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """One place to connect to.

    Either a TCP ``host`` and ``port`` (``host`` may be a name, resolved at connect time, or an
    IP literal without brackets), or a Unix socket ``path`` (abstract namespace when it starts
    with a NUL byte). ``attributes`` carry plugin data (weights, hash keys) and take no part
    in equality.
    """

    host: str = ""
    port: int = 0
    path: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        if self.path is not None:
            if self.path.startswith("\0"):
                return "unix-abstract:" + self.path[1:]
            return "unix:" + self.path
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolverState:
    """What a resolver found.

    Args:
        addresses: the backends, in the resolver's order.
        service_config: a parsed config, or None when the resolver has none.
        service_config_error: why a config the resolver found was rejected (A21: the channel
            keeps its last good config, or fails if it has none).
        attributes: plugin data for balancers.
    """

    addresses: tuple[Address, ...]
    service_config: ServiceConfig | None = None
    service_config_error: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


class ResolverListener(Protocol):
    """The channel side of a resolver."""

    def update_state(self, state: ResolverState) -> None:
        """Publish a new resolution result."""

    def report_error(self, error: str) -> None:
        """Publish a failed resolution (the channel keeps the previous addresses, if any)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolverOptions:
    """Channel settings a resolver may use."""

    default_port: int = 443
    disable_service_config: bool = False


class Resolver(abc.ABC):
    """Watches a target and reports its addresses.

    ``scheme`` is the registry key. Subclasses run on the channel's asyncio loop and may
    start tasks in ``start``; ``close`` must stop them.
    """

    scheme: ClassVar[str]

    def __init__(
        self, target: Target, listener: ResolverListener, options: ResolverOptions
    ) -> None:
        self.target = target
        self.listener = listener
        self.options = options

    @classmethod
    def default_authority(cls, target: Target) -> str:
        """The ``:authority`` for calls on this target (default: the endpoint)."""
        return target.endpoint

    @classmethod
    def validate_target(cls, target: Target) -> None:
        """Raise ``ValueError`` with a clear message if the target is malformed for this scheme."""

    @abc.abstractmethod
    def start(self) -> None:
        """Begin resolving; the first result goes to the listener."""

    def resolve_now(self) -> None:
        """A hint to resolve again soon (after a connection failed); may be ignored."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop resolving; no listener calls after this returns."""
