"""Listening for connections: ``serve`` and ``ServerListener``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ._io import format_peer
from ._options import TransportOptions
from ._server_conn import ServerConnection

if TYPE_CHECKING:
    import ssl as _ssl
    from collections.abc import Callable

    from ._server_stream import ServerStream

__all__ = ["ServerListener", "serve"]

_DEFAULT_OPTIONS = TransportOptions()
_CLOSE_WAIT = 5.0  # seconds to wait for sockets to close after they were told to


class ServerListener:
    """Listening sockets and the connections they accepted. Made by ``serve``.

    Attributes:
        port: the bound TCP port, or 0 for a Unix socket.
        addresses: the bound addresses, e.g. ``["ipv4:127.0.0.1:50051"]``.
    """

    def __init__(self, options: TransportOptions) -> None:
        self.port = 0
        self.addresses: list[str] = []
        self._options = options
        self._servers: list[asyncio.Server] = []
        self._connections: set[ServerConnection] = set()

    def stop_accepting(self) -> None:
        """Close the listening sockets; accepted connections go on."""
        for server in self._servers:
            server.close()

    async def drain(self, grace: float | None) -> None:
        """Stop gracefully: double GOAWAY (+PING) on every connection, in-flight streams
        finish, new ones are refused; after ``grace`` seconds the remaining streams are
        reset (RST_STREAM CANCEL) and their connections closed.
        """
        self.stop_accepting()
        connections = list(self._connections)
        ping_timeout = self._options.drain_ping_timeout
        if grace is not None:
            ping_timeout = min(ping_timeout, grace)
        for conn in connections:
            conn.start_drain(ping_timeout)
        pending = {asyncio.ensure_future(conn._wait_lost()) for conn in connections}
        if pending:
            _done, pending = await asyncio.wait(pending, timeout=grace)
        if pending:
            for conn in list(self._connections):
                conn.abort_streams()
            await asyncio.wait(pending, timeout=_CLOSE_WAIT)
        for task in pending:
            task.cancel()

    async def close(self) -> None:
        """Stop now: stop accepting, reset every stream, close every connection."""
        self.stop_accepting()
        connections = list(self._connections)
        for conn in connections:
            conn.abort_streams()
        if connections:
            waits = {asyncio.ensure_future(conn._wait_lost()) for conn in connections}
            _done, pending = await asyncio.wait(waits, timeout=_CLOSE_WAIT)
            for task in pending:
                task.cancel()


async def serve(
    handler: Callable[[ServerStream], None],
    *,
    host: str | None = None,
    port: int = 0,
    path: str | None = None,
    options: TransportOptions = _DEFAULT_OPTIONS,
    ssl: _ssl.SSLContext | None = None,
    reuse_port: bool = False,
) -> ServerListener:
    """Listen on TCP ``host``:``port`` (every interface when ``host`` is None) or on the
    Unix socket ``path`` (abstract namespace when it starts with NUL).

    ``handler(stream)`` is called synchronously on the loop for every valid request; it
    should start a task and return.
    """
    loop = asyncio.get_running_loop()
    listener = ServerListener(options)

    def factory() -> ServerConnection:
        return ServerConnection(loop, listener, handler, options)

    servers: list[asyncio.Server] = []
    if path is not None:
        servers.append(await loop.create_unix_server(factory, path, ssl=ssl))
    elif host is None and port == 0:
        # One ephemeral port for both families (asyncio would pick one per socket).
        first = await loop.create_server(
            factory, "0.0.0.0", 0, ssl=ssl, reuse_port=reuse_port or None
        )
        servers.append(first)
        port = first.sockets[0].getsockname()[1]
        try:
            servers.append(
                await loop.create_server(
                    factory, "::", port, ssl=ssl, reuse_port=reuse_port or None
                )
            )
        except OSError:
            pass  # no IPv6 here
    else:
        servers.append(
            await loop.create_server(factory, host, port, ssl=ssl, reuse_port=reuse_port or None)
        )
    listener._servers = servers
    for server in servers:
        for sock in server.sockets:
            name = sock.getsockname()
            if path is not None:
                listener.addresses.append(format_peer(name, path))
            else:
                listener.port = name[1]
                listener.addresses.append(format_peer(name))
    return listener
