"""plugrpc-transport: gRPC over HTTP/2, on h2.

Two layers: ``plugrpc_transport.protocol`` is sans-I/O (wire functions and the connection
machines: bytes and time in, events and bytes out); this package is the asyncio side, one
``asyncio.Protocol`` per connection: ``connect`` and ``ClientConnection``/``ClientStream``
for clients, ``serve`` and ``ServerListener``/``ServerStream`` for servers.
"""

from __future__ import annotations

from ._client import ClientConnection, connect
from ._client_stream import ClientStream
from ._errors import ConnectionFailed, ConnectionUnavailable, StreamClosed, TransportError
from ._options import TransportOptions
from ._server import ServerListener, serve
from ._server_stream import ServerStream

__version__ = "0.1.0"

__all__ = [
    "ClientConnection",
    "ClientStream",
    "ConnectionFailed",
    "ConnectionUnavailable",
    "ServerListener",
    "ServerStream",
    "StreamClosed",
    "TransportError",
    "TransportOptions",
    "connect",
    "serve",
]
