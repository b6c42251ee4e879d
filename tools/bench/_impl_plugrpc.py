"""plugrpc as a benchmark server and client (tests/protos/echo.proto)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import echo_pb2
import echo_plugrpc
import plugrpc

__all__ = ["Adapter", "EchoServicer", "serve"]

LIMIT = 64 * 1024 * 1024  # every implementation is configured to carry 16 MiB messages


class EchoServicer(echo_plugrpc.EchoBase):
    """The benchmark service: the same behaviour in every implementation."""

    async def Unary(self, request: Any, context: Any) -> Any:
        return echo_pb2.EchoResponse(message=request.message, payload=request.payload)

    async def ServerStream(self, request: Any, context: Any) -> AsyncIterator[Any]:
        response = echo_pb2.EchoResponse(payload=request.payload)
        for _ in range(request.response_count):
            yield response

    async def ClientStream(self, request_iterator: Any, context: Any) -> Any:
        count = 0
        size = 0
        async for request in request_iterator:
            count += 1
            size += len(request.payload)
        return echo_pb2.EchoResponse(received_count=count, received_bytes=size)

    async def Bidi(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for request in request_iterator:
            yield echo_pb2.EchoResponse(message=request.message, payload=request.payload)


def make_server(max_concurrent_streams: int = 100) -> plugrpc.Server:
    return plugrpc.Server(
        [EchoServicer()],
        max_receive_message_length=LIMIT,
        max_concurrent_streams=max_concurrent_streams,
    )


async def serve(announce: Any, options: dict[str, Any]) -> None:
    """Listen on an ephemeral loopback port, ``announce(port)``, serve until killed."""
    server = make_server(options.get("max_concurrent_streams", 100))
    port = await server.start(options.get("address", "127.0.0.1:0"))
    announce(port)
    await server.wait_for_termination()


class _Bidi:
    def __init__(self, call: Any) -> None:
        self._call = call

    async def send(self, request: Any) -> None:
        await self._call.write(request)

    async def recv(self) -> Any:
        return await self._call.read()

    async def end(self) -> None:
        await self._call.done_writing()
        while await self._call.read() is not None:
            pass


class Adapter:
    """The scenarios' view of a plugrpc channel."""

    def __init__(self) -> None:
        self._channel: plugrpc.Channel | None = None
        self._stub: Any = None

    async def open(self, port: int) -> None:
        self._channel = plugrpc.Channel(f"127.0.0.1:{port}", max_receive_message_length=LIMIT)
        self._stub = echo_plugrpc.EchoStub(self._channel)

    async def close(self) -> None:
        assert self._channel is not None
        await self._channel.close()

    async def unary(self, request: Any) -> Any:
        return await self._stub.Unary(request)

    def server_stream(self, request: Any) -> AsyncIterator[Any]:
        return self._stub.ServerStream(request).__aiter__()  # type: ignore[no-any-return]

    async def client_stream(self, requests: AsyncIterator[Any]) -> Any:
        return await self._stub.ClientStream(requests)

    @asynccontextmanager
    async def bidi(self) -> AsyncIterator[_Bidi]:
        call = self._stub.Bidi()
        try:
            yield _Bidi(call)
        finally:
            if not call.done():
                call.cancel()
                await asyncio.sleep(0)
