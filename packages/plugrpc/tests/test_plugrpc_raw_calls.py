"""Raw-bytes calls of every kind through Channel and Server, with no codec plugin needed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import plugrpc
from plugrpc import MethodHandler, MethodKind, StatusCode


async def _unary(request: bytes, context: plugrpc.ServicerContext) -> bytes:
    return request[::-1]


async def _server_stream(request: bytes, context: plugrpc.ServicerContext) -> AsyncIterator[bytes]:
    for i in range(int(request)):
        yield str(i).encode()


async def _client_stream(requests: AsyncIterator[bytes], context: plugrpc.ServicerContext) -> bytes:
    return b"".join([r async for r in requests])


async def _bidi(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request.upper()


HANDLERS = {
    "Unary": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=_unary),
    "ServerStream": MethodHandler(kind=MethodKind.UNARY_STREAM, behavior=_server_stream),
    "ClientStream": MethodHandler(kind=MethodKind.STREAM_UNARY, behavior=_client_stream),
    "Bidi": MethodHandler(kind=MethodKind.STREAM_STREAM, behavior=_bidi),
}


async def test_raw_calls_of_every_kind() -> None:
    server = plugrpc.Server(
        generic_handlers=[plugrpc.method_handlers_generic_handler("raw.Svc", HANDLERS)]
    )
    port = await server.start("127.0.0.1:0")
    try:
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            unary = channel.unary_unary("/raw.Svc/Unary", bytes, bytes)
            assert await unary(b"abc", timeout=5) == b"cba"
            server_stream = channel.unary_stream("/raw.Svc/ServerStream", bytes, bytes)
            assert [m async for m in server_stream(b"3")] == [b"0", b"1", b"2"]
            client_stream = channel.stream_unary("/raw.Svc/ClientStream", bytes, bytes)
            assert await client_stream(iter([b"a", b"b", b"c"])) == b"abc"
            bidi = channel.stream_stream("/raw.Svc/Bidi", bytes, bytes)
            assert [m async for m in bidi(iter([b"x", b"y"]))] == [b"X", b"Y"]
            try:
                await channel.unary_unary("/raw.Svc/Nope", bytes, bytes)(b"")
            except plugrpc.RpcError as err:
                assert err.code() == StatusCode.UNIMPLEMENTED
            else:
                raise AssertionError("expected UNIMPLEMENTED")
    finally:
        await server.stop(grace=1)


def test_a_raw_call_imports_no_protobuf() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        import plugrpc

        async def handler(request, context):
            return request

        async def main():
            server = plugrpc.Server(generic_handlers=[plugrpc.method_handlers_generic_handler(
                "raw.Svc", {"Echo": plugrpc.MethodHandler(
                    kind=plugrpc.MethodKind.UNARY_UNARY, behavior=handler)})])
            port = await server.start("127.0.0.1:0")
            async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
                assert await channel.unary_unary("/raw.Svc/Echo", bytes, bytes)(b"hi") == b"hi"
            await server.stop()

        asyncio.run(main())
        print("protobuf imported:", "google.protobuf" in sys.modules)
        """
    )
    # Only the built-in plugins load, so an installed codec plugin cannot pull protobuf in.
    env = {**os.environ, "PLUGRPC_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    assert out.stdout.strip() == "protobuf imported: False", out.stdout + out.stderr
