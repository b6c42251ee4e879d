"""Plugin interfaces for channel, call and server credentials."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import ssl
    from collections.abc import Sequence

__all__ = [
    "CallCredentials",
    "CallCredentialsInfo",
    "ChannelCredentials",
    "ServerCredentials",
]


class ChannelCredentials(abc.ABC):
    """How a channel secures its connections.

    ``client_ssl_context`` returning None means plaintext HTTP/2 with prior knowledge.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def client_ssl_context(self) -> ssl.SSLContext | None:
        """The context for the next new connection (called per connection, so files may reload)."""

    def server_hostname(self, authority_host: str) -> str | None:
        """The name to send as SNI and to verify; defaults to the target's host."""
        return authority_host

    def authority_override(self) -> str | None:
        """A ``:authority`` to use instead of the target's, or None."""
        return None

    @property
    def is_secure(self) -> bool:
        """Whether calls on these credentials are protected (call credentials need it)."""
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class CallCredentialsInfo:
    """What call credentials may look at: ``service_url`` is ``https://authority/package.Service``."""

    service_url: str
    method: str


class CallCredentials(abc.ABC):
    """Per-call metadata, usually an auth token (grpc-go ``PerRPCCredentials``)."""

    name: ClassVar[str]
    requires_secure_transport: ClassVar[bool] = True

    @abc.abstractmethod
    async def get_metadata(self, info: CallCredentialsInfo) -> Sequence[tuple[str, str | bytes]]:
        """Metadata pairs to add to the call; raising fails the call with UNAUTHENTICATED."""


class ServerCredentials(abc.ABC):
    """How a server secures the connections it accepts (None: plaintext)."""

    name: ClassVar[str]

    @abc.abstractmethod
    def server_ssl_context(self) -> ssl.SSLContext | None:
        """The context for new connections (called when a listener starts)."""
