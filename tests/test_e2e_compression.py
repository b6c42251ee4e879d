"""Compression end to end: gzip and deflate plugins through Channel and Server, over loopback.

Negotiation (grpc-encoding / grpc-accept-encoding, compression.md and census 2.4), the
per-message compressed flag in both directions, the failures (unknown encoding each way, a
compressed flag without an encoding, compression bombs) and interop with grpcio's gzip and
deflate. Raw ``bytes`` methods keep the service free of protobuf; a raw transport peer sends
what a well-behaved plugrpc peer never would.
"""

from __future__ import annotations

import asyncio
import struct
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from concurrent import futures
from typing import Any

import echo_pb2
import echo_pb2_grpc
import echo_plugrpc
import grpc
import plugrpc
import pytest
from plugrpc import MethodHandler, MethodKind, StatusCode
from plugrpc_compress_deflate import DeflateCompressor
from plugrpc_compress_gzip import GzipCompressor
from plugrpc_core import Address, Compressor
from plugrpc_transport import ServerStream, connect, serve
from plugrpc_transport.protocol import CallStatus, RequestHead

MIB = 1 << 20
SERVICE = "plugrpc.testing.Compression"
ALGORITHMS = ["gzip", "deflate"]


# -- a service that reports what it saw ------------------------------------------------------


def _flags(metadata: plugrpc.Metadata) -> list[bool]:
    """``x-compress: 1,0,1`` -> per-response compression switches."""
    value = metadata.get("x-compress")
    return [part == "1" for part in str(value).split(",")] if value else []


async def _unary(request: bytes, context: plugrpc.ServicerContext) -> bytes:
    metadata = context.invocation_metadata()
    name = metadata.get("x-respond-with")
    if name is not None:
        context.set_compression(None if name == "none" else str(name))
    for enabled in _flags(metadata):
        context.set_message_compression(enabled)
    return b"%d|%s" % (context.request_compressed(), request)


async def _server_stream(request: bytes, context: plugrpc.ServicerContext) -> AsyncIterator[bytes]:
    for enabled in _flags(context.invocation_metadata()):
        context.set_message_compression(enabled)
        yield request


async def _client_stream(requests: AsyncIterator[bytes], context: plugrpc.ServicerContext) -> bytes:
    seen = []
    async for _request in requests:
        seen.append(b"1" if context.request_compressed() else b"0")
    return b",".join(seen)


async def _bidi(
    requests: AsyncIterator[bytes], context: plugrpc.ServicerContext
) -> AsyncIterator[bytes]:
    async for request in requests:
        compressed = bool(context.request_compressed())
        context.set_message_compression(compressed)  # answer each message the way it came
        yield request


HANDLERS = {
    "Unary": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=_unary),
    "ServerStream": MethodHandler(kind=MethodKind.UNARY_STREAM, behavior=_server_stream),
    "ClientStream": MethodHandler(kind=MethodKind.STREAM_UNARY, behavior=_client_stream),
    "Bidi": MethodHandler(kind=MethodKind.STREAM_STREAM, behavior=_bidi),
}


@pytest.fixture
async def start() -> AsyncIterator[Any]:
    servers: list[plugrpc.Server] = []

    async def start_server(**options: Any) -> int:
        server = plugrpc.Server(
            generic_handlers=[plugrpc.method_handlers_generic_handler(SERVICE, HANDLERS)],
            **options,
        )
        servers.append(server)
        return await server.start("127.0.0.1:0")

    yield start_server
    for server in servers:
        await server.stop(0.5)


def _methods(channel: plugrpc.Channel) -> dict[str, Any]:
    return {
        "unary": channel.unary_unary(f"/{SERVICE}/Unary", bytes, bytes),
        "server_stream": channel.unary_stream(f"/{SERVICE}/ServerStream", bytes, bytes),
        "client_stream": channel.stream_unary(f"/{SERVICE}/ClientStream", bytes, bytes),
        "bidi": channel.stream_stream(f"/{SERVICE}/Bidi", bytes, bytes),
    }


# -- negotiation -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALGORITHMS)
async def test_compressed_both_ways_answering_in_the_request_encoding(start, name: str) -> None:
    port = await start()
    async with plugrpc.Channel(f"127.0.0.1:{port}", compression=name) as channel:
        call = _methods(channel)["unary"](b"z" * 100_000, timeout=5)
        assert await call == b"1|" + b"z" * 100_000  # the server read it compressed
        assert call.response_compressed() is True  # and answered in kind (grpc-go does)
        plain = _methods(channel)["unary"](b"abc", timeout=5, compression="identity")
        assert await plain == b"0|abc"
        assert plain.response_compressed() is False


@pytest.mark.parametrize("name", ALGORITHMS)
async def test_server_default_and_per_call_response_compression(start, name: str) -> None:
    other = "deflate" if name == "gzip" else "gzip"
    port = await start(compression=name)
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        unary = _methods(channel)["unary"]
        call = unary(b"x", timeout=5)
        assert await call == b"0|x" and call.response_compressed() is True
        call = unary(b"x", timeout=5, metadata=[("x-respond-with", other)])
        assert await call == b"0|x" and call.response_compressed() is True
        call = unary(b"x", timeout=5, metadata=[("x-respond-with", "none")])
        assert await call == b"0|x" and call.response_compressed() is False
        call = unary(b"x", timeout=5, metadata=[("x-compress", "0")])
        assert await call == b"0|x" and call.response_compressed() is False


async def _raw_call(port: int, head: RequestHead, payload: bytes, compressed: bool) -> Any:
    """One unary exchange with a hand-made request; returns (head, messages, status)."""
    conn = await connect(Address(host="127.0.0.1", port=port))
    try:
        stream = conn.start_stream(head)
        await stream.send_message(payload, compressed=compressed, end=True)
        response = await stream.receive_headers()
        messages = []
        while (item := await stream.receive_message()) is not None:
            messages.append(item)
        return response, messages, await stream.receive_status()
    finally:
        conn.close()


async def test_server_never_compresses_with_an_algorithm_the_client_did_not_offer(start) -> None:
    port = await start(compression="gzip")
    path = f"/{SERVICE}/Unary"
    for accept, expect in ((None, None), ("deflate", None), ("deflate, gzip", "gzip")):
        head = RequestHead(path=path, authority="x", accept_encoding=accept)
        response, messages, status = await _raw_call(port, head, b"q", False)
        assert status.code == StatusCode.OK
        assert response.encoding == expect
        [(compressed, data)] = messages
        assert compressed is (expect is not None)
        assert (zlib.decompress(data, 31) if compressed else data) == b"0|q"


async def test_unknown_request_encoding_is_unimplemented_with_accept_encoding(start) -> None:
    class Snappyish(Compressor):
        name = "x-snappyish"

        def compress(self, data: bytes) -> bytes:
            return data[::-1]

        def decompress(self, data: bytes, max_length: int) -> bytes:
            return data[::-1][: max_length + 1]

    port = await start()
    target = f"127.0.0.1:{port}"
    async with plugrpc.Channel(target, compressors=[Snappyish()], compression="x-snappyish") as ch:
        with pytest.raises(plugrpc.RpcError) as info:
            await _methods(ch)["unary"](b"abc", timeout=5)
    assert info.value.code() == StatusCode.UNIMPLEMENTED
    assert "x-snappyish" in info.value.details()
    head = RequestHead(path=f"/{SERVICE}/Unary", authority="x", encoding="x-snappyish")
    response, messages, status = await _raw_call(port, head, b"cba", True)
    assert status.code == StatusCode.UNIMPLEMENTED and not messages
    accepted = {token.strip() for token in response.accept_encoding.split(",")}
    assert {"gzip", "deflate"} <= accepted


async def test_compressed_flag_without_encoding_is_internal_on_the_server(start) -> None:
    port = await start()
    for encoding in (None, "identity"):
        head = RequestHead(path=f"/{SERVICE}/Unary", authority="x", encoding=encoding)
        _, _, status = await _raw_call(port, head, zlib.compress(b"abc", 6, 31), True)
        assert status.code == StatusCode.INTERNAL
        assert "no grpc-encoding" in status.message


@pytest.fixture
async def raw_server() -> AsyncIterator[Any]:
    """A transport-level server answering every call with one hand-made message."""
    listeners = []

    async def start_raw(encoding: str | None, payload: bytes, compressed: bool) -> int:
        async def answer(stream: ServerStream) -> None:
            await stream.receive_message()
            await stream.send_headers(plugrpc.Metadata(), encoding=encoding)
            await stream.send_message(payload, compressed=compressed)
            await stream.send_status(CallStatus(code=StatusCode.OK))
            stream.handler_done()

        def handler(stream: ServerStream) -> None:
            asyncio.get_running_loop().create_task(answer(stream))

        listener = await serve(handler, host="127.0.0.1")
        listeners.append(listener)
        return listener.port

    yield start_raw
    for listener in listeners:
        await listener.close()


async def test_client_rejects_unknown_encoding_and_flag_without_encoding(raw_server) -> None:
    cases = [
        ("x-unknown", b"whatever", "Decompressor is not installed for grpc-encoding 'x-unknown'"),
        (None, zlib.compress(b"abc", 6, 31), "no grpc-encoding"),
        ("identity", zlib.compress(b"abc", 6, 31), "no grpc-encoding"),
        ("gzip", b"\x1f\x8b not really gzip", "failed to decompress"),
    ]
    for encoding, payload, message in cases:
        port = await raw_server(encoding, payload, True)
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(plugrpc.RpcError) as info:
                await _methods(channel)["unary"](b"", timeout=5)
        assert info.value.code() == StatusCode.INTERNAL, encoding
        assert message in info.value.details()
    # An unknown encoding announced but not used (flag 0) is fine, as in grpc-go.
    port = await raw_server("x-unknown", b"plain", False)
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        assert await _methods(channel)["unary"](b"", timeout=5) == b"plain"


# -- the per-message flag ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALGORITHMS)
async def test_per_message_flags_are_sent_and_honoured(start, name: str) -> None:
    port = await start()
    async with plugrpc.Channel(f"127.0.0.1:{port}", compression=name) as channel:
        methods = _methods(channel)
        call = methods["client_stream"](timeout=5)
        for compress in (True, False, True, False):
            await call.write(b"m" * 1000, compress=compress)
        await call.done_writing()
        assert await call == b"1,0,1,0"

        call = methods["server_stream"](b"s" * 500, timeout=5, metadata=[("x-compress", "1,0,0,1")])
        seen = []
        async for response in call:
            assert response == b"s" * 500
            seen.append(call.response_compressed())
        assert seen == [True, False, False, True]

        bidi = methods["bidi"](timeout=5)
        for compress in (False, True, True, False):
            await bidi.write(b"b%d" % compress, compress=compress)
            assert await bidi.read() == b"b%d" % compress
            assert bidi.response_compressed() is compress
        await bidi.done_writing()
        assert await bidi.read() is None
        assert bidi.response_compressed() is False


async def test_compress_false_on_an_uncompressed_call_changes_nothing(start) -> None:
    port = await start()
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        call = _methods(channel)["client_stream"](timeout=5)
        await call.write(b"a", compress=True)
        await call.write(b"b", compress=False)
        await call.done_writing()
        assert await call == b"0,0"
        assert call.response_compressed() is False


# -- levels and instances ---------------------------------------------------------------------


async def test_compressor_instances_replace_the_registered_ones(start) -> None:
    class Counting(GzipCompressor):
        def __init__(self, level: int) -> None:
            super().__init__(level)
            self.calls = 0

        def compress(self, data: bytes) -> bytes:
            self.calls += 1
            return super().compress(data)

    client_side, server_side = Counting(level=1), Counting(level=9)
    port = await start(compressors=[server_side])
    target = f"127.0.0.1:{port}"
    async with plugrpc.Channel(target, compression="gzip", compressors=[client_side]) as channel:
        assert await _methods(channel)["unary"](b"abc" * 100, timeout=5) == b"1|" + b"abc" * 100
    assert client_side.calls == 1 and server_side.calls == 1
    with pytest.raises(ValueError, match="two compressors named 'gzip'"):
        plugrpc.Server(compressors=[GzipCompressor(), GzipCompressor(level=1)])
    with pytest.raises(TypeError, match="not a Compressor"):
        plugrpc.Channel(target, compressors=[object()])  # type: ignore[list-item]


# -- compression bombs ------------------------------------------------------------------------


def _bomb(name: str, total: int = 1 << 30) -> bytes:
    """A valid gzip member or zlib stream of ``total`` zero bytes, about 1 MiB long."""
    chunk = bytes(MIB)
    wbits = 31 if name == "gzip" else 15
    deflater = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    segment = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    end = deflater.flush()
    if name == "gzip":
        crc = 0
        for _ in range(total // MIB):
            crc = zlib.crc32(chunk, crc)
        trailer = struct.pack("<II", crc, total & 0xFFFFFFFF)
        end = end[:-8] + trailer
    else:
        end = end[:-4] + struct.pack(">I", ((total % 65521) << 16) | 1)
    return head + segment * (total // MIB - 1) + end


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {name: _bomb(name) for name in ALGORITHMS}


def _bomber(name: str, bomb: bytes) -> Compressor:
    """A compressor registered as ``name`` whose every message is the bomb."""
    base = GzipCompressor if name == "gzip" else DeflateCompressor

    class Bomber(base):  # type: ignore[valid-type, misc]
        def compress(self, data: bytes) -> bytes:
            return bomb

    return Bomber()


async def _measure(call: Any) -> tuple[plugrpc.RpcError, float, int]:
    """The error of ``call()``, its best CPU time over three runs and its traced peak."""
    best = float("inf")
    error = None
    for _ in range(3):  # the best of three: a loaded machine only makes a run slower
        start = time.process_time()
        with pytest.raises(plugrpc.RpcError) as info:
            await call()
        best = min(best, time.process_time() - start)
        error = info.value
    tracemalloc.start()
    try:
        with pytest.raises(plugrpc.RpcError):
            await call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error is not None
    return error, best, peak


@pytest.mark.parametrize("name", ALGORITHMS)
async def test_request_bomb_is_resource_exhausted_quickly(start, bombs, name: str) -> None:
    port = await start()
    target = f"127.0.0.1:{port}"
    async with plugrpc.Channel(
        target, compression=name, compressors=[_bomber(name, bombs[name])]
    ) as channel:
        unary = _methods(channel)["unary"]
        error, cpu, peak = await _measure(lambda: unary(b"tiny", timeout=10))
    assert error.code() == StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in error.details()
    assert cpu < 0.5  # client and server together, bomb 1 GiB -> stopped at 4 MiB + 1
    assert peak < 32 * MIB  # the ~1 MiB message and a bounded inflate, not 1 GiB


@pytest.mark.parametrize("name", ALGORITHMS)
async def test_response_bomb_is_resource_exhausted_quickly(start, bombs, name: str) -> None:
    port = await start(compression=name, compressors=[_bomber(name, bombs[name])])
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        unary = _methods(channel)["unary"]
        error, cpu, peak = await _measure(lambda: unary(b"tiny", timeout=10))
    assert error.code() == StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in error.details()
    assert cpu < 0.5
    assert peak < 32 * MIB


async def test_inflated_size_is_checked_against_a_smaller_limit(start) -> None:
    port = await start(max_receive_message_length=1000)
    async with plugrpc.Channel(f"127.0.0.1:{port}", compression="gzip") as channel:
        unary = _methods(channel)["unary"]
        assert await unary(b"a" * 1000, timeout=5) == b"1|" + b"a" * 1000
        with pytest.raises(plugrpc.RpcError) as info:
            await unary(b"a" * 1001, timeout=5)  # 30 bytes on the wire, 1001 inflated
    assert info.value.code() == StatusCode.RESOURCE_EXHAUSTED


# -- grpcio's gzip and deflate ----------------------------------------------------------------


_GRPCIO = {"gzip": grpc.Compression.Gzip, "deflate": grpc.Compression.Deflate}


class _GrpcioEcho(echo_pb2_grpc.EchoServicer):
    def Unary(self, request: echo_pb2.EchoRequest, context: grpc.ServicerContext) -> Any:
        if request.message in _GRPCIO:
            context.set_compression(_GRPCIO[request.message])
        return echo_pb2.EchoResponse(message=request.message, payload=request.payload)


@pytest.fixture
def grpcio_port() -> Iterator[int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    echo_pb2_grpc.add_EchoServicer_to_server(_GrpcioEcho(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None)


@pytest.mark.interop
@pytest.mark.parametrize("name", ALGORITHMS)
async def test_plugrpc_client_and_grpcio_server_compress_both_ways(grpcio_port, name) -> None:
    async with plugrpc.Channel(f"127.0.0.1:{grpcio_port}", compression=name) as channel:
        call = echo_plugrpc.EchoStub(channel).Unary(
            echo_pb2.EchoRequest(message=name, payload=b"p" * 50_000), timeout=10
        )
        reply = await call
        assert reply.message == name and reply.payload == b"p" * 50_000
        assert call.response_compressed() is True


@pytest.mark.interop
@pytest.mark.parametrize("name", ALGORITHMS)
async def test_grpcio_client_and_plugrpc_server_compress_both_ways(start, name) -> None:
    port = await start()

    def run() -> bytes:
        with grpc.insecure_channel(f"127.0.0.1:{port}", compression=_GRPCIO[name]) as channel:
            unary = channel.unary_unary(f"/{SERVICE}/Unary")
            return bytes(unary(b"y" * 50_000, timeout=10))

    # The server read a compressed request and answered in the same encoding, which grpcio
    # inflated (a wrong encoding would have failed the call).
    assert await asyncio.to_thread(run) == b"1|" + b"y" * 50_000
