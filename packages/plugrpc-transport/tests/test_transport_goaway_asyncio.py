"""Graceful drain over real sockets: in-flight streaming calls lose nothing, new calls are
turned away as unprocessed, and the grace period ends in cancellation, never a hang."""

from __future__ import annotations

import asyncio

import pytest
from plugrpc_core import Address, StatusCode
from plugrpc_transport import ConnectionUnavailable, connect, serve
from plugrpc_transport.protocol import RequestHead


def head(method: str) -> RequestHead:
    return RequestHead(path=f"/test.Echo/{method}", authority="localhost")


async def test_drain_in_flight_streams_lose_nothing(echo_service):
    listener = await serve(echo_service, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port))
    reasons = []
    conn.add_close_listener(reasons.append)
    streams = [conn.start_stream(head("Echo")) for _ in range(20)]
    for i, stream in enumerate(streams):
        await stream.send_message(b"first-%d" % i)
        assert await stream.receive_message() == (False, b"first-%d" % i)

    drain = asyncio.ensure_future(listener.drain(grace=10))
    for _ in range(200):
        if reasons:
            break
        await asyncio.sleep(0.01)
    assert reasons and "GOAWAY" in reasons[0]
    with pytest.raises(ConnectionUnavailable):
        conn.start_stream(head("Echo"))

    # Both GOAWAYs are out; the accepted streams keep going both ways (h2#1181).
    await asyncio.sleep(0.05)
    for i, stream in enumerate(streams):
        for j in range(5):
            await stream.send_message(b"more-%d-%d" % (i, j))
        await stream.send_end()
    for i, stream in enumerate(streams):
        got = []
        while (item := await stream.receive_message()) is not None:
            got.append(item[1])
        assert got == [b"more-%d-%d" % (i, j) for j in range(5)]
        status = await stream.receive_status()
        assert status.code is StatusCode.OK and status.message == "6 messages"
    await asyncio.wait_for(drain, 10)
    await asyncio.wait_for(conn.wait_closed(), 5)
    assert echo_service.cancelled == []
    assert echo_service.completed == 20


async def test_drain_grace_expiry_cancels_remaining_streams(echo_service):
    listener = await serve(echo_service, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port))
    stream = conn.start_stream(head("Hang"))
    await stream.send_message(b"x")
    await asyncio.wait_for(echo_service.hang_started.wait(), 5)
    await asyncio.wait_for(listener.drain(grace=0.3), 10)
    status = await asyncio.wait_for(stream.receive_status(), 5)
    assert status.code in (StatusCode.CANCELLED, StatusCode.UNAVAILABLE)
    assert echo_service.cancelled == ["/test.Echo/Hang"]
    await asyncio.wait_for(conn.wait_closed(), 5)


async def test_stream_started_during_drain_is_unprocessed(echo_service):
    listener = await serve(echo_service, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port))
    slow = conn.start_stream(head("Slow"))
    await slow.send_message(b"s", end=True)
    await asyncio.sleep(0.05)
    # The server's GOAWAYs and the client's new stream cross on the wire.
    for c in list(listener._connections):
        c.start_drain(0.0)
    racing = conn.start_stream(head("Echo"))
    await racing.send_message(b"r", end=True)
    status = await asyncio.wait_for(racing.receive_status(), 5)
    if status.code is not StatusCode.OK:
        assert status.code is StatusCode.UNAVAILABLE and racing.unprocessed
    assert (await asyncio.wait_for(slow.receive_status(), 5)).code is StatusCode.OK
    conn.close()
    await listener.close()
