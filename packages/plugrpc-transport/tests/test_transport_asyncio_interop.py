"""Wire evidence: our client against a real grpcio (C-core) server, and our server against a
real grpcio client. Unary, streaming, statuses with messages and details, metadata both
ways, and graceful shutdown in both directions."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent import futures

import pytest
from plugrpc_core import Address, Metadata, StatusCode
from plugrpc_transport import ConnectionUnavailable, TransportOptions, connect, serve
from plugrpc_transport.protocol import RequestHead

# grpcio is in the workspace env, not in the per-distribution one (hatch.toml).
grpc = pytest.importorskip("grpc")

pytestmark = pytest.mark.interop

SPECIAL = "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001f608\t\n"


# --------------------------------------------------------------------------- grpcio server


def _unary(request: bytes, context: grpc.ServicerContext) -> bytes:
    md = dict(context.invocation_metadata())
    if "x-echo" in md:
        context.send_initial_metadata((("x-echo", md["x-echo"]),))
    context.set_trailing_metadata((("x-trailer", "done"), ("x-trailer-bin", b"\x00\xff")))
    if "x-data-bin" in md:
        return md["x-data-bin"] + request
    return request


def _fail(request: bytes, context: grpc.ServicerContext) -> bytes:
    context.set_trailing_metadata((("x-why-bin", b"\x00\x01"),))
    context.abort(grpc.StatusCode.PERMISSION_DENIED, SPECIAL)


def _server_stream(request: bytes, context: grpc.ServicerContext):
    count, size = (int(x) for x in request.split(b","))
    for i in range(count):
        yield b"%d:" % i + b"s" * size


def _client_stream(requests, context: grpc.ServicerContext) -> bytes:
    return b"".join(requests)


def _bidi(requests, context: grpc.ServicerContext):
    yield from requests


def _slow(request: bytes, context: grpc.ServicerContext) -> bytes:
    time.sleep(0.5)
    return request


@pytest.fixture
def grpcio_server():
    handler = grpc.method_handlers_generic_handler(
        "test.Echo",
        {
            "Unary": grpc.unary_unary_rpc_method_handler(_unary),
            "Fail": grpc.unary_unary_rpc_method_handler(_fail),
            "Stream": grpc.unary_stream_rpc_method_handler(_server_stream),
            "Concat": grpc.stream_unary_rpc_method_handler(_client_stream),
            "Bidi": grpc.stream_stream_rpc_method_handler(_bidi),
            "Slow": grpc.unary_unary_rpc_method_handler(_slow),
        },
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=16),
        options=[("grpc.max_receive_message_length", 32 * 1024 * 1024)],
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield server, port
    server.stop(None)


def _head(method: str, **kwargs: object) -> RequestHead:
    return RequestHead(path=f"/test.Echo/{method}", authority="localhost", **kwargs)  # type: ignore[arg-type]


async def _call(conn, method, messages, **kwargs):
    stream = conn.start_stream(_head(method, **kwargs))
    for i, payload in enumerate(messages):
        await stream.send_message(payload, end=i == len(messages) - 1)
    if not messages:
        await stream.send_end()
    response = await stream.receive_headers()
    got = []
    while (item := await stream.receive_message()) is not None:
        got.append(item[1])
    return response, got, await stream.receive_status()


async def test_our_client_grpcio_server_unary_and_metadata(grpcio_server):
    _, port = grpcio_server
    conn = await connect(Address(host="127.0.0.1", port=port))
    try:
        md = Metadata([("x-echo", "hello"), ("x-data-bin", b"\x01\x02")])
        response, got, status = await _call(conn, "Unary", [b"payload"], metadata=md, timeout=5)
        assert response is not None and response.metadata.get("x-echo") == "hello"
        assert got == [b"\x01\x02payload"]
        assert status.code is StatusCode.OK
        assert status.metadata.get("x-trailer") == "done"
        assert status.metadata.get("x-trailer-bin") == b"\x00\xff"
        # Many calls over the one connection, concurrently.
        results = await asyncio.gather(*(_call(conn, "Unary", [b"%d" % i]) for i in range(300)))
        assert [r[1] for r in results] == [[b"%d" % i] for i in range(300)]
    finally:
        conn.close()


async def test_our_client_grpcio_server_error_status(grpcio_server):
    _, port = grpcio_server
    conn = await connect(Address(host="127.0.0.1", port=port))
    try:
        _response, got, status = await _call(conn, "Fail", [b"x"])
        assert got == []
        assert status.code is StatusCode.PERMISSION_DENIED
        assert status.message == SPECIAL
        assert status.metadata.get("x-why-bin") == b"\x00\x01"
        _, _, status = await _call(conn, "NoSuchMethod", [b"x"])
        assert status.code is StatusCode.UNIMPLEMENTED
    finally:
        conn.close()


async def test_our_client_grpcio_server_streaming(grpcio_server):
    _, port = grpcio_server
    options = TransportOptions(max_receive_message_length=32 * 1024 * 1024)
    conn = await connect(Address(host="127.0.0.1", port=port), options=options)
    try:
        _, got, status = await _call(conn, "Stream", [b"300,50"])
        assert len(got) == 300 and got[299].startswith(b"299:")
        assert status.code is StatusCode.OK
        _, got, status = await _call(conn, "Concat", [b"a" * 1000, b"b" * 2000, b"c"])
        assert got == [b"a" * 1000 + b"b" * 2000 + b"c"]
        stream = conn.start_stream(_head("Bidi"))
        for i in range(20):
            await stream.send_message(b"bidi-%d" % i)
            assert await stream.receive_message() == (False, b"bidi-%d" % i)
        await stream.send_end()
        assert await stream.receive_message() is None
        assert (await stream.receive_status()).code is StatusCode.OK
        big = bytes(range(256)) * 65536  # 16 MiB
        _, got, status = await _call(conn, "Unary", [big])
        assert status.code is StatusCode.OK and got == [big]
    finally:
        conn.close()


async def test_our_client_survives_grpcio_graceful_stop(grpcio_server):
    server, port = grpcio_server
    conn = await connect(Address(host="127.0.0.1", port=port))
    reasons = []
    conn.add_close_listener(reasons.append)
    in_flight = [asyncio.ensure_future(_call(conn, "Slow", [b"%d" % i])) for i in range(5)]
    await asyncio.sleep(0.2)
    stopped = threading.Event()
    threading.Thread(target=lambda: (server.stop(5).wait(), stopped.set()), daemon=True).start()
    results = await asyncio.wait_for(asyncio.gather(*in_flight), 10)
    # Every accepted call completed with its data (reliability row 22b; h2#1181).
    assert [r[1] for r in results] == [[b"%d" % i] for i in range(5)]
    assert all(r[2].code is StatusCode.OK for r in results)
    for _ in range(100):
        if reasons:
            break
        await asyncio.sleep(0.02)
    assert reasons and "GOAWAY" in reasons[0]
    with pytest.raises(ConnectionUnavailable):
        conn.start_stream(_head("Unary"))
    await asyncio.wait_for(conn.wait_closed(), 10)
    await asyncio.to_thread(stopped.wait, 10)


# --------------------------------------------------------------------------- grpcio client


@pytest.fixture
async def our_server(echo_service):
    listener = await serve(echo_service, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{listener.port}")
    yield listener, channel
    channel.close()
    await listener.close()


async def test_grpcio_client_our_server_unary(our_server, echo_service):
    _, channel = our_server
    method = channel.unary_unary("/test.Echo/Echo")

    def call():
        return method.with_call(
            b"hello",
            metadata=[("x-echo", "hi"), ("x-data-bin", b"\x00\x01")],
            timeout=5,
        )

    response, call_info = await asyncio.to_thread(call)
    assert response == b"hello"
    assert call_info.code() == grpc.StatusCode.OK
    # (C-core reports no details for an OK status, whatever grpc-message says.)
    assert ("x-echo", "hi") in call_info.initial_metadata()
    trailing = dict(call_info.trailing_metadata())
    assert trailing["x-trailer"] == "done" and trailing["x-trailer-bin"] == b"\x00\xff"
    head = echo_service.heads[0]
    assert head.metadata.get("x-data-bin") == b"\x00\x01"
    assert head.user_agent.startswith("grpc-python/")
    assert head.timeout is not None and 0 < head.timeout <= 5


async def test_grpcio_client_our_server_error(our_server):
    _, channel = our_server
    method = channel.unary_unary("/test.Echo/Fail")
    with pytest.raises(grpc.RpcError) as info:
        await asyncio.to_thread(method, b"x", timeout=5)
    error = info.value
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "nope \u263a"
    assert dict(error.trailing_metadata())["x-why-bin"] == b"\x00\x01"


async def test_grpcio_client_our_server_streaming(our_server):
    _, channel = our_server
    server_stream = channel.unary_stream("/test.Echo/Stream")
    got = await asyncio.to_thread(lambda: list(server_stream(b"200,30", timeout=5)))
    assert len(got) == 200 and got[-1].startswith(b"199:")
    concat = channel.stream_unary("/test.Echo/Concat")
    result = await asyncio.to_thread(concat, iter([b"x" * 10, b"y" * 20000, b"z"]), timeout=5)
    assert result == b"x" * 10 + b"y" * 20000 + b"z"
    bidi = channel.stream_stream("/test.Echo/Echo")
    echoed = await asyncio.to_thread(
        lambda: list(bidi(iter([b"m%d" % i for i in range(100)]), timeout=5))
    )
    assert echoed == [b"m%d" % i for i in range(100)]
    big = bytes(range(256)) * 8192  # 2 MiB, under both sides' 4 MiB default
    assert await asyncio.to_thread(channel.unary_unary("/test.Echo/Echo"), big, timeout=10) == big


async def test_grpcio_client_many_concurrent_calls(our_server, echo_service):
    _, channel = our_server
    method = channel.unary_unary("/test.Echo/Echo")
    futures_ = [method.future(b"%d" % i, timeout=10) for i in range(300)]
    results = await asyncio.to_thread(lambda: [f.result() for f in futures_])
    assert results == [b"%d" % i for i in range(300)]
    assert echo_service.max_running <= 100


async def test_grpcio_client_sees_our_graceful_drain(our_server, echo_service):
    listener, channel = our_server
    slow = channel.unary_unary("/test.Echo/Slow")
    pending = [slow.future(b"%d" % i, timeout=10) for i in range(5)]
    for _ in range(200):
        if echo_service.started == 5:
            break
        await asyncio.sleep(0.01)
    assert echo_service.started == 5
    await asyncio.wait_for(listener.drain(grace=5), 10)
    results = await asyncio.to_thread(lambda: [f.result() for f in pending])
    assert results == [b"%d" % i for i in range(5)]
    assert echo_service.cancelled == []
