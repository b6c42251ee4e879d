"""Exceptions of the asyncio transport."""

from __future__ import annotations

__all__ = ["ConnectionFailed", "ConnectionUnavailable", "StreamClosed", "TransportError"]


class TransportError(Exception):
    """Base class of the transport's exceptions."""


class ConnectionFailed(TransportError, ConnectionError):
    """A connection could not be established (refused, unreachable, TLS, ALPN, timeout).

    Also an ``OSError`` (``ConnectionError``), so code that handles socket errors catches it.
    """


class ConnectionUnavailable(TransportError):
    """The connection takes no new streams: it is draining (GOAWAY), closing or closed.

    A stream that was never started is safe to start on another connection.
    """


class StreamClosed(TransportError):
    """The stream ended (finished, reset, cancelled or lost); nothing more can be sent.

    ``ClientStream.receive_status()`` tells how the call ended.
    """
