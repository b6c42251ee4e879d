"""Interop with grpcio 1.85 (gRPC C-core) in both directions, over loopback.

plugrpc client -> grpcio server, and grpcio client -> plugrpc server: the four call kinds,
metadata both ways (text and -bin), status codes with details (including the interop
special message), deadlines and cancellation.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import echo_pb2
import echo_pb2_grpc
import echo_plugrpc
import grpc
import plugrpc
import pytest
from plugrpc import StatusCode

pytestmark = pytest.mark.interop

SPECIAL = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"


class GrpcioEcho(echo_pb2_grpc.EchoServicer):
    """The Echo service written against grpcio."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.terminated_codes: list[object] = []

    def _prologue(self, context: grpc.ServicerContext) -> None:
        echo = tuple((k, v) for k, v in context.invocation_metadata() if k.startswith("x-echo-"))
        if echo:
            context.send_initial_metadata(echo)
        context.set_trailing_metadata((("x-trailer", "done"), ("x-trailer-bin", b"\x00\xff")))

    def Unary(self, request, context):
        self._prologue(context)
        if request.sleep_ms:
            deadline = time.monotonic() + request.sleep_ms / 1000
            while time.monotonic() < deadline:
                if not context.is_active():
                    self.cancelled.set()
                    return echo_pb2.EchoResponse()
                time.sleep(0.01)
        if request.fail_code:
            context.abort(grpc.StatusCode(_grpc_code(request.fail_code)), request.fail_message)
        return echo_pb2.EchoResponse(
            message=request.message, payload=request.payload or b"r" * request.response_size
        )

    def _on_bidi_done(self, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
        def done() -> None:
            self.terminated_codes.append(context.code())
            if not context.is_active():
                self.cancelled.set()

        return done

    def ServerStream(self, request, context):
        self._prologue(context)
        for index in range(request.response_count):
            yield echo_pb2.EchoResponse(payload=b"s" * request.response_size, index=index)

    def ClientStream(self, request_iterator, context):
        self._prologue(context)
        count = size = 0
        for request in request_iterator:
            count += 1
            size += len(request.payload)
        return echo_pb2.EchoResponse(received_count=count, received_bytes=size)

    def Bidi(self, request_iterator, context):
        self._prologue(context)
        context.add_callback(self._on_bidi_done(context))
        try:
            for index, request in enumerate(request_iterator):
                yield echo_pb2.EchoResponse(message=request.message, index=index)
        finally:
            if not context.is_active():
                self.cancelled.set()


def _grpc_code(value: int) -> tuple[int, str]:
    for code in grpc.StatusCode:
        if code.value[0] == value:
            return code.value
    raise ValueError(value)


@pytest.fixture
def grpcio_server() -> Iterator[tuple[GrpcioEcho, int]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    servicer = GrpcioEcho()
    echo_pb2_grpc.add_EchoServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield servicer, port
    finally:
        server.stop(grace=None)


# -- plugrpc client -> grpcio server ------------------------------------------------------


async def test_plugrpc_client_four_kinds_against_grpcio(grpcio_server) -> None:
    _, port = grpcio_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        call = stub.Unary(
            echo_pb2.EchoRequest(message="hi", payload=b"\x00" * 271828),
            metadata=[("x-echo-text", "v"), ("x-echo-data-bin", b"\xab\xab\xab")],
            timeout=10,
        )
        response = await call
        assert response.message == "hi" and len(response.payload) == 271828
        initial = await call.initial_metadata()
        assert initial.get("x-echo-text") == "v"
        assert initial.get("x-echo-data-bin") == b"\xab\xab\xab"
        trailing = await call.trailing_metadata()
        assert trailing.get("x-trailer") == "done"
        assert trailing.get("x-trailer-bin") == b"\x00\xff"

        sizes = [31415, 9, 2653, 58979]
        got = [
            len(r.payload)
            async for r in stub.ServerStream(
                echo_pb2.EchoRequest(response_count=4, response_size=31415)
            )
        ]
        assert got == [31415] * 4

        requests = [echo_pb2.EchoRequest(payload=b"x" * n) for n in (27182, 8, 1828, 45904)]
        aggregate = await stub.ClientStream(iter(requests))
        assert aggregate.received_bytes == 74922

        bidi = stub.Bidi()
        for n in sizes:
            await bidi.write(echo_pb2.EchoRequest(message=str(n)))
            assert (await bidi.read()).message == str(n)
        await bidi.done_writing()
        assert await bidi.read() is None
        assert await bidi.code() == StatusCode.OK


async def test_plugrpc_client_status_and_special_message_from_grpcio(grpcio_server) -> None:
    _, port = grpcio_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(fail_code=2, fail_message=SPECIAL))
        assert info.value.code() == StatusCode.UNKNOWN
        assert info.value.details() == SPECIAL
        with pytest.raises(plugrpc.RpcError) as info:
            await channel.unary_unary("/plugrpc.testing.Echo/Missing", bytes, bytes)(b"")
        assert info.value.code() == StatusCode.UNIMPLEMENTED


async def test_plugrpc_client_deadline_and_cancel_against_grpcio(grpcio_server) -> None:
    servicer, port = grpcio_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(sleep_ms=3000), timeout=0.2)
        assert info.value.code() == StatusCode.DEADLINE_EXCEEDED
        assert await asyncio.to_thread(servicer.cancelled.wait, 5)

        servicer.cancelled.clear()
        bidi = stub.Bidi()
        await bidi.write(echo_pb2.EchoRequest(message="a"))
        assert (await bidi.read()).message == "a"
        bidi.cancel()
        assert await bidi.code() == StatusCode.CANCELLED
        assert await asyncio.to_thread(servicer.cancelled.wait, 5)


# -- grpcio client -> plugrpc server ------------------------------------------------------


async def test_grpcio_client_four_kinds_against_plugrpc(echo_server) -> None:
    _, port = echo_server

    def run() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = echo_pb2_grpc.EchoStub(channel)
            response, call = stub.Unary.with_call(
                echo_pb2.EchoRequest(message="hi", payload=b"p" * 271828),
                metadata=(("x-echo-text", "v"), ("x-echo-data-bin", b"\xab\xab\xab")),
                timeout=10,
            )
            assert response.message == "hi" and len(response.payload) == 271828
            initial = dict(call.initial_metadata())
            assert initial["x-echo-text"] == "v"
            assert initial["x-echo-data-bin"] == b"\xab\xab\xab"
            trailing = dict(call.trailing_metadata())
            assert trailing["x-trailer"] == "done"
            assert trailing["x-trailer-bin"] == b"\x00\xff"

            streamed = list(
                stub.ServerStream(echo_pb2.EchoRequest(response_count=4, response_size=58979))
            )
            assert [r.index for r in streamed] == [0, 1, 2, 3]
            assert all(len(r.payload) == 58979 for r in streamed)

            requests = [echo_pb2.EchoRequest(payload=b"x" * n) for n in (27182, 8, 1828, 45904)]
            assert stub.ClientStream(iter(requests)).received_bytes == 74922

            replies = list(
                stub.Bidi(iter([echo_pb2.EchoRequest(message=str(i)) for i in range(4)]))
            )
            assert [r.message for r in replies] == ["0", "1", "2", "3"]
            assert list(stub.Bidi(iter(()))) == []

    await asyncio.to_thread(run)


async def test_grpcio_client_status_deadline_cancel_against_plugrpc(
    echo_server, echo_service
) -> None:
    _, port = echo_server

    def run() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = echo_pb2_grpc.EchoStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                stub.Unary(echo_pb2.EchoRequest(fail_code=2, fail_message=SPECIAL))
            assert info.value.code() == grpc.StatusCode.UNKNOWN
            assert info.value.details() == SPECIAL
            assert dict(info.value.trailing_metadata())["x-trailer"] == "failed"

            with pytest.raises(grpc.RpcError) as info:
                stub.Unary(echo_pb2.EchoRequest(sleep_ms=3000), timeout=0.2)
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

            release = threading.Event()

            def requests() -> Iterator[echo_pb2.EchoRequest]:
                yield echo_pb2.EchoRequest(message="a")
                release.wait(5)

            call = stub.Bidi(requests())
            first = next(call)
            assert first.message == "a"
            call.cancel()
            release.set()
            with pytest.raises(grpc.RpcError) as info:
                next(call)
            assert info.value.code() == grpc.StatusCode.CANCELLED

            missing = channel.unary_unary("/plugrpc.testing.Echo/Missing")
            with pytest.raises(grpc.RpcError) as info:
                missing(b"")
            assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED

    await asyncio.to_thread(run)
    for _ in range(100):
        if "Unary" in echo_service.cancelled:
            break
        await asyncio.sleep(0.02)
    assert "Unary" in echo_service.cancelled
    for _ in range(100):
        if "Bidi" in echo_service.cancelled:
            break
        await asyncio.sleep(0.02)
    assert "Bidi" in echo_service.cancelled
