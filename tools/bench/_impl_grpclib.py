"""grpclib (0.4.9) as a benchmark server and client.

The service mapping and the client methods are written here by hand (what grpclib's
protoc plugin would generate for tests/protos/echo.proto), over the same ``echo_pb2``
messages the other implementations use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import echo_pb2
from grpclib.client import (
    Channel,
    StreamStreamMethod,
    StreamUnaryMethod,
    UnaryStreamMethod,
    UnaryUnaryMethod,
)
from grpclib.const import Cardinality, Handler
from grpclib.server import Server

__all__ = ["Adapter", "serve"]

_SERVICE = "/plugrpc.testing.Echo/"
_REQ = echo_pb2.EchoRequest
_RESP = echo_pb2.EchoResponse


class EchoService:
    async def unary(self, stream: Any) -> None:
        request = await stream.recv_message()
        await stream.send_message(_RESP(message=request.message, payload=request.payload))

    async def server_stream(self, stream: Any) -> None:
        request = await stream.recv_message()
        response = _RESP(payload=request.payload)
        for _ in range(request.response_count):
            await stream.send_message(response)

    async def client_stream(self, stream: Any) -> None:
        count = 0
        size = 0
        async for request in stream:
            count += 1
            size += len(request.payload)
        await stream.send_message(_RESP(received_count=count, received_bytes=size))

    async def bidi(self, stream: Any) -> None:
        async for request in stream:
            await stream.send_message(_RESP(message=request.message, payload=request.payload))

    def __mapping__(self) -> dict[str, Handler]:
        return {
            _SERVICE + "Unary": Handler(self.unary, Cardinality.UNARY_UNARY, _REQ, _RESP),
            _SERVICE + "ServerStream": Handler(
                self.server_stream, Cardinality.UNARY_STREAM, _REQ, _RESP
            ),
            _SERVICE + "ClientStream": Handler(
                self.client_stream, Cardinality.STREAM_UNARY, _REQ, _RESP
            ),
            _SERVICE + "Bidi": Handler(self.bidi, Cardinality.STREAM_STREAM, _REQ, _RESP),
        }


async def serve(announce: Any, options: dict[str, Any]) -> None:
    server = Server([EchoService()])
    await server.start("127.0.0.1", 0)
    assert server._server is not None
    announce(server._server.sockets[0].getsockname()[1])
    await server.wait_closed()


class _Bidi:
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def send(self, request: Any) -> None:
        await self._stream.send_message(request)

    async def recv(self) -> Any:
        return await self._stream.recv_message()

    async def end(self) -> None:
        await self._stream.end()
        while await self._stream.recv_message() is not None:
            pass


class Adapter:
    def __init__(self) -> None:
        self._channel: Channel | None = None

    async def open(self, port: int) -> None:
        channel = self._channel = Channel("127.0.0.1", port)
        self._unary = UnaryUnaryMethod(channel, _SERVICE + "Unary", _REQ, _RESP)
        self._server_stream = UnaryStreamMethod(channel, _SERVICE + "ServerStream", _REQ, _RESP)
        self._client_stream = StreamUnaryMethod(channel, _SERVICE + "ClientStream", _REQ, _RESP)
        self._bidi = StreamStreamMethod(channel, _SERVICE + "Bidi", _REQ, _RESP)

    async def close(self) -> None:
        assert self._channel is not None
        self._channel.close()

    async def unary(self, request: Any) -> Any:
        return await self._unary(request)

    async def server_stream(self, request: Any) -> AsyncIterator[Any]:
        async with self._server_stream.open() as stream:
            await stream.send_message(request, end=True)
            async for response in stream:
                yield response

    async def client_stream(self, requests: AsyncIterator[Any]) -> Any:
        async with self._client_stream.open() as stream:
            async for request in requests:
                await stream.send_message(request)
            await stream.end()
            return await stream.recv_message()

    @asynccontextmanager
    async def bidi(self) -> AsyncIterator[_Bidi]:
        async with self._bidi.open() as stream:
            await stream.send_request()
            yield _Bidi(stream)
