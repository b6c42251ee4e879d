"""End-to-end calls over loopback sockets: every kind, metadata, status, deadlines, cancel."""

from __future__ import annotations

import asyncio

import echo_pb2
import plugrpc
import pytest
from plugrpc import StatusCode


async def test_unary_round_trip_with_metadata_both_ways(echo_stub) -> None:
    call = echo_stub.Unary(
        echo_pb2.EchoRequest(message="hi", payload=b"abc"),
        metadata=[("x-echo-user", "ann"), ("x-echo-blob-bin", b"\x00\x01\x02")],
        timeout=5,
    )
    response = await call
    assert response.message == "hi"
    assert response.payload == b"abc"
    initial = await call.initial_metadata()
    assert initial.get("x-echo-user") == "ann"
    assert initial.get("x-echo-blob-bin") == b"\x00\x01\x02"
    trailing = await call.trailing_metadata()
    assert trailing.get("x-trailer") == "done"
    assert trailing.get("x-trailer-bin") == b"\x00\xff"
    assert await call.code() == StatusCode.OK
    assert call.done()


async def test_server_streaming(echo_stub) -> None:
    call = echo_stub.ServerStream(
        echo_pb2.EchoRequest(message="s", response_count=25, response_size=10)
    )
    indexes = [r.index async for r in call]
    assert indexes == list(range(25))
    assert await call.code() == StatusCode.OK
    assert (await call.trailing_metadata()).get("x-trailer") == "done"


async def test_server_streaming_read_api(echo_stub) -> None:
    call = echo_stub.ServerStream(echo_pb2.EchoRequest(response_count=2))
    assert (await call.read()).index == 0
    assert (await call.read()).index == 1
    assert await call.read() is None


async def test_client_streaming_with_iterator(echo_stub) -> None:
    async def requests():
        for i in range(10):
            yield echo_pb2.EchoRequest(payload=b"x" * i)

    response = await echo_stub.ClientStream(requests())
    assert response.received_count == 10
    assert response.received_bytes == sum(range(10))


async def test_client_streaming_with_writes(echo_stub) -> None:
    call = echo_stub.ClientStream()
    for _ in range(3):
        await call.write(echo_pb2.EchoRequest(payload=b"ab"))
    await call.done_writing()
    response = await call
    assert (response.received_count, response.received_bytes) == (3, 6)


async def test_bidi_ping_pong(echo_stub) -> None:
    call = echo_stub.Bidi(metadata=[("x-echo-mode", "pingpong")])
    for i in range(5):
        await call.write(echo_pb2.EchoRequest(message=f"m{i}"))
        reply = await call.read()
        assert reply.message == f"m{i}"
        assert reply.index == i
    await call.done_writing()
    assert await call.read() is None
    assert await call.code() == StatusCode.OK
    assert (await call.initial_metadata()).get("x-echo-mode") == "pingpong"


async def test_bidi_with_sync_iterator(echo_stub) -> None:
    requests = [echo_pb2.EchoRequest(message=str(i)) for i in range(4)]
    got = [r.message async for r in echo_stub.Bidi(iter(requests))]
    assert got == ["0", "1", "2", "3"]


async def test_empty_bidi_stream(echo_stub) -> None:
    call = echo_stub.Bidi(iter(()))
    assert [r async for r in call] == []
    assert await call.code() == StatusCode.OK


async def test_status_with_details_and_rich_details(echo_stub) -> None:
    with pytest.raises(plugrpc.RpcError) as info:
        await echo_stub.Unary(
            echo_pb2.EchoRequest(fail_code=StatusCode.FAILED_PRECONDITION, fail_message="nope ☺\n%")
        )
    err = info.value
    assert err.code() == StatusCode.FAILED_PRECONDITION
    assert err.details() == "nope ☺\n%"
    assert err.status_details_bin() == b"rich:" + "nope ☺\n%".encode()
    assert err.trailing_metadata().get("x-trailer") == "failed"


async def test_error_status_after_streamed_messages(echo_stub) -> None:
    call = echo_stub.ServerStream(
        echo_pb2.EchoRequest(response_count=2, fail_code=StatusCode.ABORTED, fail_message="late")
    )
    got = []
    with pytest.raises(plugrpc.RpcError) as info:
        async for response in call:
            got.append(response.index)
    assert got == [0, 1]
    assert info.value.code() == StatusCode.ABORTED
    assert info.value.details() == "late"


async def test_deadline_exceeded_and_server_sees_cancellation(echo_stub, echo_service) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(plugrpc.RpcError) as info:
        await echo_stub.Unary(echo_pb2.EchoRequest(sleep_ms=5000), timeout=0.2)
    assert info.value.code() == StatusCode.DEADLINE_EXCEEDED
    assert loop.time() - started < 3.0
    for _ in range(100):
        if "Unary" in echo_service.cancelled:
            break
        await asyncio.sleep(0.02)
    assert "Unary" in echo_service.cancelled


async def test_deadline_on_streaming_call(echo_stub) -> None:
    call = echo_stub.ServerStream(
        echo_pb2.EchoRequest(response_count=100, sleep_ms=100), timeout=0.3
    )
    with pytest.raises(plugrpc.RpcError) as info:
        async for _ in call:
            pass
    assert info.value.code() == StatusCode.DEADLINE_EXCEEDED
    assert call.time_remaining() == 0.0


async def test_client_cancel_reaches_the_server_handler(echo_stub, echo_service) -> None:
    call = echo_stub.Bidi()
    await call.write(echo_pb2.EchoRequest(message="one"))
    assert (await call.read()).message == "one"
    assert call.cancel() is True
    assert await call.code() == StatusCode.CANCELLED
    with pytest.raises(plugrpc.RpcError) as info:
        await call.read()
    assert info.value.code() == StatusCode.CANCELLED
    for _ in range(100):
        if "Bidi" in echo_service.cancelled:
            break
        await asyncio.sleep(0.02)
    assert "Bidi" in echo_service.cancelled


async def test_cancelling_the_awaiting_task_cancels_the_call(echo_stub, echo_service) -> None:
    task = asyncio.ensure_future(echo_stub.Unary(echo_pb2.EchoRequest(sleep_ms=5000)))
    await asyncio.wait_for(echo_service.started_event.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if "Unary" in echo_service.cancelled:
            break
        await asyncio.sleep(0.02)
    assert "Unary" in echo_service.cancelled


async def test_server_side_cancellation_reaches_the_client() -> None:
    async def handler(request: bytes, context: plugrpc.ServicerContext) -> bytes:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()  # the handler's task is cancelled: the server resets the stream
        await asyncio.sleep(1)
        return b""

    server = plugrpc.Server(
        generic_handlers=[
            plugrpc.method_handlers_generic_handler(
                "t.S",
                {"M": plugrpc.MethodHandler(kind=plugrpc.MethodKind.UNARY_UNARY, behavior=handler)},
            )
        ]
    )
    port = await server.start()
    try:
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            method = channel.unary_unary("/t.S/M", bytes, bytes)
            with pytest.raises(plugrpc.RpcError) as info:
                await method(b"x", timeout=5)
            assert info.value.code() == StatusCode.CANCELLED
    finally:
        await server.stop()


async def test_unknown_service_and_method_are_unimplemented(echo_channel) -> None:
    missing_service = echo_channel.unary_unary("/nope.Service/Call", bytes, bytes)
    with pytest.raises(plugrpc.RpcError) as info:
        await missing_service(b"")
    assert info.value.code() == StatusCode.UNIMPLEMENTED
    assert "nope.Service" in info.value.details()
    missing_method = echo_channel.unary_unary("/plugrpc.testing.Echo/Nope", bytes, bytes)
    with pytest.raises(plugrpc.RpcError) as info:
        await missing_method(b"")
    assert info.value.code() == StatusCode.UNIMPLEMENTED
    assert "Nope" in info.value.details()


async def test_raw_bytes_methods_need_no_codec(echo_channel) -> None:
    method = echo_channel.unary_unary("/plugrpc.testing.Echo/Unary", bytes, bytes)
    raw = echo_pb2.EchoRequest(message="raw").SerializeToString()
    response = echo_pb2.EchoResponse.FromString(await method(raw))
    assert response.message == "raw"


async def test_thousand_concurrent_calls_on_one_channel(echo_stub) -> None:
    async def one(i: int) -> str:
        response = await echo_stub.Unary(echo_pb2.EchoRequest(message=str(i)), timeout=60)
        return response.message

    results = await asyncio.gather(*(one(i) for i in range(1000)))
    assert results == [str(i) for i in range(1000)]


async def test_sixteen_mib_messages_both_ways(echo_service) -> None:
    limit = 32 * 1024 * 1024
    server = plugrpc.Server([echo_service], max_receive_message_length=limit)
    port = await server.start()
    try:
        async with plugrpc.Channel(
            f"127.0.0.1:{port}", max_receive_message_length=limit
        ) as channel:
            stub = __import__("echo_plugrpc").EchoStub(channel)
            payload = bytes(range(256)) * (16 * 1024 * 1024 // 256)
            response = await stub.Unary(echo_pb2.EchoRequest(payload=payload), timeout=60)
            assert response.payload == payload
    finally:
        await server.stop(grace=1)


async def test_receive_limits_give_resource_exhausted(echo_stub) -> None:
    big = b"x" * (4 * 1024 * 1024 + 10)
    with pytest.raises(plugrpc.RpcError) as info:
        await echo_stub.Unary(echo_pb2.EchoRequest(payload=big), timeout=10)
    assert info.value.code() == StatusCode.RESOURCE_EXHAUSTED
    with pytest.raises(plugrpc.RpcError) as info:
        await echo_stub.Unary(echo_pb2.EchoRequest(response_size=4 * 1024 * 1024 + 10), timeout=10)
    assert info.value.code() == StatusCode.RESOURCE_EXHAUSTED
    # the connection is still good for the next call
    assert (await echo_stub.Unary(echo_pb2.EchoRequest(message="ok"))).message == "ok"


async def test_send_limit(echo_server) -> None:
    _, port = echo_server
    async with plugrpc.Channel(f"127.0.0.1:{port}", max_send_message_length=100) as channel:
        stub = __import__("echo_plugrpc").EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(payload=b"x" * 200))
        assert info.value.code() == StatusCode.RESOURCE_EXHAUSTED


async def test_metadata_before_awaiting_a_unary_call(echo_stub) -> None:
    call = echo_stub.Unary(echo_pb2.EchoRequest(message="m"), metadata=[("x-echo-a", "b")])
    assert (await call.initial_metadata()).get("x-echo-a") == "b"
    assert (await call).message == "m"
    assert await call.code() == StatusCode.OK


async def test_code_of_an_unread_stream_does_not_consume_or_hang(echo_stub) -> None:
    call = echo_stub.Bidi()
    await call.write(echo_pb2.EchoRequest(message="x"))
    await call.done_writing()
    assert await asyncio.wait_for(call.code(), 10) == StatusCode.OK
    assert (await call.read()).message == "x"
    assert await call.read() is None


async def test_code_starts_a_call_nobody_awaited(echo_stub) -> None:
    call = echo_stub.Unary(echo_pb2.EchoRequest(fail_code=StatusCode.NOT_FOUND))
    assert await asyncio.wait_for(call.code(), 10) == StatusCode.NOT_FOUND
    with pytest.raises(plugrpc.RpcError):
        await call
