"""An in-memory transport pair: plugrpc's client and server connections with no sockets.

``MemoryTransport`` is an ``asyncio.Transport`` whose ``write`` hands the bytes to the peer
protocol's ``data_received`` on a later loop turn, as a socket would (never re-entrantly:
the writer may be in the middle of its own bookkeeping). Flow control of the pair is the
HTTP/2 layer's; ``pause_reading`` queues deliveries until ``resume_reading``.

``memory_channel(server, ...)`` returns a real ``plugrpc.Channel`` (resolver, balancer,
subchannel, call objects) whose connections are ``ServerConnection`` objects of ``server``
wired through such a pair. The cost per call it measures is plugrpc's whole stack minus
the kernel: the figure the in-memory h2 floor is compared with.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import plugrpc
from plugrpc_core import Address
from plugrpc_transport import ClientConnection, TransportOptions
from plugrpc_transport._server import ServerListener
from plugrpc_transport._server_conn import ServerConnection

__all__ = ["MemoryTransport", "memory_channel", "pair"]


class MemoryTransport(asyncio.Transport):
    """One end of an in-memory byte pipe between two ``asyncio.Protocol`` objects."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._loop = loop
        self._protocol = protocol
        self._peer: MemoryTransport | None = None
        self._closing = False
        self._lost = False
        self._paused = False
        self._held: deque[bytes | bytearray | memoryview] = deque()
        self._extra = {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}

    # -- asyncio.Transport -----------------------------------------------------------

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._extra.get(name, default)

    def is_closing(self) -> bool:
        return self._closing

    def write(self, data: bytes | bytearray | memoryview) -> None:
        peer = self._peer
        if self._closing or peer is None or peer._lost:
            return
        # The connections hand over a fresh buffer per write and never touch it again, so
        # it is passed on as is (a socket would copy it into the kernel instead).
        self._loop.call_soon(peer._deliver, data)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.call_soon(self._shutdown)

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        self._paused = False
        while self._held and not self._paused and not self._lost:
            self._protocol.data_received(self._held.popleft())

    def is_reading(self) -> bool:
        return not self._paused

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False

    # -- pipe ------------------------------------------------------------------------

    def _deliver(self, data: bytes | bytearray | memoryview) -> None:
        if self._lost:
            return
        if self._paused or self._held:
            self._held.append(data)
            return
        self._protocol.data_received(data)

    def _shutdown(self) -> None:
        for end in (self, self._peer):
            if end is not None and not end._lost:
                end._lost = True
                end._closing = True
                end._protocol.connection_lost(None)


def pair(
    loop: asyncio.AbstractEventLoop, client: asyncio.Protocol, server: asyncio.Protocol
) -> tuple[MemoryTransport, MemoryTransport]:
    """Connect ``client`` and ``server`` through two transports; ``connection_made`` runs."""
    a = MemoryTransport(loop, client)
    b = MemoryTransport(loop, server)
    a._peer = b
    b._peer = a
    server.connection_made(b)
    client.connection_made(a)
    return a, b


class _MemoryChannel(plugrpc.Channel):
    """A Channel whose connections go to an in-process ``plugrpc.Server``."""

    def __init__(self, target: str, server: plugrpc.Server, **kwargs: Any) -> None:
        self._memory_server = server
        self._listener = ServerListener(server._transport_options)
        super().__init__(target, **kwargs)

    async def _connect(self, address: Address) -> Any:
        loop = asyncio.get_running_loop()
        conn = ClientConnection(loop, self._transport_options)
        server = self._memory_server
        server_conn = ServerConnection(
            loop, self._listener, server._on_stream, server._transport_options
        )
        pair(loop, conn, server_conn)
        return conn


def memory_channel(
    server: plugrpc.Server, options: TransportOptions | None = None, **kwargs: Any
) -> plugrpc.Channel:
    """A real Channel to ``server`` over in-memory transports (must run inside a loop)."""
    if options is not None:
        kwargs["transport_options"] = options
    return _MemoryChannel("passthrough:///127.0.0.1:1", server, **kwargs)
