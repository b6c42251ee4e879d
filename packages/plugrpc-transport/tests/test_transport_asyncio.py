"""The asyncio client and server over real loopback sockets (TCP and Unix)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from plugrpc_core import Address, Metadata, StatusCode
from plugrpc_transport import (
    ConnectionFailed,
    ConnectionUnavailable,
    StreamClosed,
    TransportOptions,
    connect,
    serve,
)
from plugrpc_transport.protocol import RequestHead

MiB = 1024 * 1024


def head(method: str, **kwargs: object) -> RequestHead:
    return RequestHead(path=f"/test.Echo/{method}", authority="localhost", **kwargs)  # type: ignore[arg-type]


async def unary(conn, method="Echo", payload=b"ping", **kwargs):
    stream = conn.start_stream(head(method, **kwargs))
    await stream.send_message(payload, end=True)
    response = await stream.receive_headers()
    messages = []
    while (item := await stream.receive_message()) is not None:
        messages.append(item[1])
    status = await stream.receive_status()
    return response, messages, status


@pytest.fixture
async def tcp(echo_service):
    listener = await serve(echo_service, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port))
    yield listener, conn
    conn.close()
    await listener.close()


async def test_unary_tcp_metadata_both_ways(tcp, echo_service):
    listener, conn = tcp
    md = Metadata([("x-echo", "hi"), ("x-data-bin", b"\x00\x01\x02")])
    response, messages, status = await unary(conn, payload=b"hello", metadata=md, timeout=5.0)
    assert response is not None and response.metadata.get("x-echo") == "hi"
    assert messages == [b"hello"]
    assert status.code is StatusCode.OK and status.message == "1 messages"
    assert status.metadata.get("x-trailer") == "done"
    assert status.metadata.get("x-trailer-bin") == b"\x00\xff"
    server_head = echo_service.heads[0]
    assert server_head.metadata.get("x-data-bin") == b"\x00\x01\x02"
    assert server_head.timeout is not None and 4.0 < server_head.timeout <= 5.0
    assert conn.peer == f"ipv4:127.0.0.1:{listener.port}"
    assert echo_service.peers[0].startswith("ipv4:127.0.0.1:")
    assert listener.addresses == [f"ipv4:127.0.0.1:{listener.port}"]


async def test_trailers_only_error_with_details(tcp):
    _, conn = tcp
    response, messages, status = await unary(conn, "Fail")
    assert response is None and messages == []
    assert status.code is StatusCode.PERMISSION_DENIED
    assert status.message == "nope \u263a"
    assert status.details_bin == b"\x08\x07"
    assert status.metadata.get("x-why-bin") == b"\x00\x01"


async def test_unix_socket(echo_service, unix_path):
    listener = await serve(echo_service, path=unix_path)
    try:
        conn = await connect(Address(path=unix_path))
        assert conn.peer == f"unix:{unix_path}"
        assert listener.port == 0 and listener.addresses == [f"unix:{unix_path}"]
        _, messages, status = await unary(conn, payload=b"over unix")
        assert messages == [b"over unix"] and status.code is StatusCode.OK
        conn.close()
    finally:
        await listener.close()


async def test_abstract_unix_socket(echo_service):
    path = f"\0plugrpc-test-{id(echo_service)}"
    listener = await serve(echo_service, path=path)
    try:
        conn = await connect(Address(path=path))
        assert conn.peer.startswith("unix-abstract:plugrpc-test-")
        _, messages, _ = await unary(conn, payload=b"abstract")
        assert messages == [b"abstract"]
        conn.close()
    finally:
        await listener.close()


async def test_client_streaming(tcp):
    _, conn = tcp
    stream = conn.start_stream(head("Echo"))
    for i in range(100):
        await stream.send_message(b"m%d" % i)
    await stream.send_end()
    got = []
    while (item := await stream.receive_message()) is not None:
        got.append(item[1])
    assert got == [b"m%d" % i for i in range(100)]
    assert (await stream.receive_status()).message == "100 messages"
    with pytest.raises(StreamClosed):
        await stream.send_message(b"late")


async def test_server_streaming(tcp):
    _, conn = tcp
    stream = conn.start_stream(head("Stream"))
    await stream.send_message(b"500,100", end=True)
    count = 0
    while (item := await stream.receive_message()) is not None:
        assert item[1].startswith(b"%d:" % count)
        count += 1
    assert count == 500
    assert (await stream.receive_status()).code is StatusCode.OK


async def test_bidi_ping_pong(tcp):
    _, conn = tcp
    stream = conn.start_stream(head("Echo"))
    for i in range(50):
        await stream.send_message(b"p%d" % i, compressed=bool(i % 2))
        item = await stream.receive_message()
        assert item == (bool(i % 2), b"p%d" % i)
    await stream.send_end()
    assert await stream.receive_message() is None
    assert (await stream.receive_status()).code is StatusCode.OK


async def test_sixteen_mib_both_ways(echo_service):
    options = TransportOptions(max_receive_message_length=32 * MiB)
    listener = await serve(echo_service, host="127.0.0.1", options=options)
    try:
        conn = await connect(Address(host="127.0.0.1", port=listener.port), options=options)
        payload = bytes(range(256)) * (16 * MiB // 256)
        _, messages, status = await unary(conn, payload=payload)
        assert status.code is StatusCode.OK
        assert len(messages) == 1 and messages[0] == payload
        conn.close()
    finally:
        await listener.close()


async def test_receive_limit_both_sides(echo_service):
    small = TransportOptions(max_receive_message_length=1000)
    listener = await serve(echo_service, host="127.0.0.1", options=small)
    try:
        conn = await connect(Address(host="127.0.0.1", port=listener.port), options=small)
        _, _, status = await unary(conn, payload=b"x" * 1001)
        assert status.code is StatusCode.RESOURCE_EXHAUSTED
        assert "1001 vs. 1000" in status.message
        # Client side: the server streams back more than the client's limit.
        stream = conn.start_stream(head("Stream"))
        await stream.send_message(b"1,2000", end=True)
        assert await stream.receive_message() is None
        status = await stream.receive_status()
        assert status.code is StatusCode.RESOURCE_EXHAUSTED
        _, messages, status = await unary(conn, payload=b"fine")
        assert messages == [b"fine"] and status.code is StatusCode.OK
        conn.close()
    finally:
        await listener.close()


async def test_thousand_concurrent_streams_queue_at_server_limit(echo_service):
    options = TransportOptions(max_concurrent_streams=100)
    listener = await serve(echo_service, host="127.0.0.1", options=options)
    try:
        conn = await connect(Address(host="127.0.0.1", port=listener.port))
        results = await asyncio.gather(*(unary(conn, payload=b"c%d" % i) for i in range(1000)))
        assert [r[1] for r in results] == [[b"c%d" % i] for i in range(1000)]
        assert all(r[2].code is StatusCode.OK for r in results)
        assert echo_service.started == 1000
        assert echo_service.max_running <= 100
        assert conn._client_machine.max_concurrent_streams == 100
        conn.close()
    finally:
        await listener.close()


async def test_client_cancel(tcp, echo_service):
    _, conn = tcp
    stream = conn.start_stream(head("Hang"))
    await stream.send_message(b"x")
    await asyncio.wait_for(echo_service.hang_started.wait(), 5)
    stream.cancel()
    assert stream.done()
    status = await stream.receive_status()
    assert status.code is StatusCode.CANCELLED
    with pytest.raises(StreamClosed):
        await stream.send_message(b"y")
    for _ in range(100):
        if echo_service.cancelled:
            break
        await asyncio.sleep(0.01)
    assert echo_service.cancelled == ["/test.Echo/Hang"]
    _, messages, _ = await unary(conn)  # the connection is still fine
    assert messages == [b"ping"]


async def test_server_cancel(echo_service):
    cancelled_streams = []

    def handler(stream):
        cancelled_streams.append(stream)
        stream.cancel()
        stream.handler_done()

    listener = await serve(handler, host="127.0.0.1")
    try:
        conn = await connect(Address(host="127.0.0.1", port=listener.port))
        _, _, status = await unary(conn)
        assert status.code is StatusCode.CANCELLED
        assert cancelled_streams[0].cancelled
        conn.close()
    finally:
        await listener.close()


async def test_cancel_queued_stream(echo_service):
    options = TransportOptions(max_concurrent_streams=1)
    listener = await serve(echo_service, host="127.0.0.1", options=options)
    try:
        conn = await connect(Address(host="127.0.0.1", port=listener.port))
        hang = conn.start_stream(head("Hang"))
        await hang.send_message(b"x")
        await asyncio.wait_for(echo_service.hang_started.wait(), 5)
        queued = conn.start_stream(head("Echo"))
        assert queued.stream_id is None
        queued.cancel()
        assert (await queued.receive_status()).code is StatusCode.CANCELLED
        hang.cancel()
        _, messages, _ = await unary(conn)
        assert messages == [b"ping"]
        conn.close()
    finally:
        await listener.close()


async def test_connect_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectionFailed) as info:
        await connect(Address(host="127.0.0.1", port=port), timeout=5)
    assert isinstance(info.value, OSError)
    assert str(port) in str(info.value)


async def test_server_close_fails_calls_unavailable(echo_service):
    listener = await serve(echo_service, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port))
    reasons = []
    conn.add_close_listener(reasons.append)
    stream = conn.start_stream(head("Hang"))
    await stream.send_message(b"x")
    await asyncio.wait_for(echo_service.hang_started.wait(), 5)
    await listener.close()
    status = await asyncio.wait_for(stream.receive_status(), 5)
    assert status.code in (StatusCode.UNAVAILABLE, StatusCode.CANCELLED)
    await asyncio.wait_for(conn.wait_closed(), 5)
    assert not conn.available
    assert len(reasons) == 1 and reasons[0] is not None
    assert echo_service.cancelled == ["/test.Echo/Hang"]
    with pytest.raises(ConnectionUnavailable):
        conn.start_stream(head("Echo"))


async def test_client_close_and_drain(tcp):
    listener, conn = tcp
    reasons = []
    conn.add_close_listener(reasons.append)
    slow = asyncio.ensure_future(unary(conn, "Slow", b"s"))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(conn.drain(timeout=5), 5)
    assert reasons == [None]
    _, messages, status = await slow
    assert messages == [b"s"] and status.code is StatusCode.OK
    with pytest.raises(ConnectionUnavailable):
        conn.start_stream(head("Echo"))
    conn2 = await connect(Address(host="127.0.0.1", port=listener.port))
    hang = conn2.start_stream(head("Hang"))
    await hang.send_message(b"h")
    conn2.close()
    status = await hang.receive_status()
    assert status.code is StatusCode.UNAVAILABLE


async def test_handshake_timeout_drops_silent_clients(echo_service):
    options = TransportOptions(handshake_timeout=0.2)
    listener = await serve(echo_service, host="127.0.0.1", options=options)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        data = await asyncio.wait_for(reader.read(), 5)  # our SETTINGS, then EOF
        assert data[3] == 0x4  # a SETTINGS frame
        writer.close()
    finally:
        await listener.close()


async def test_malformed_request_on_raw_socket_neighbour_succeeds(
    echo_service, raw_peer, read_until
):
    listener = await serve(echo_service, host="127.0.0.1")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        peer = raw_peer()
        writer.write(
            peer.preface()
            + peer.request(1, b"/test.Echo/Echo")
            + peer.request(3, b"/test.Echo/Echo", extra=[(b"connection", b"close")])
            + peer.request(5, b"/test.Echo/Echo", replace={b":method": b"GET"})
        )
        frames = await read_until(
            reader,
            peer,
            lambda fs: (
                sum(1 for f in fs if f.stream_id in (3, 5) and f.kind != "WindowUpdateFrame") >= 3
            ),
        )
        rst3 = [f for f in frames if f.stream_id == 3]
        assert rst3[0].kind == "RstStreamFrame" and rst3[0].frame.error_code == 1
        answer5 = [f for f in frames if f.stream_id == 5]
        assert answer5[0].header(b":status") == b"405"
        writer.write(peer.message(1, b"neighbour", end_stream=True))
        frames = await read_until(
            reader,
            peer,
            lambda fs: any(f.stream_id == 1 and f.header(b"grpc-status") for f in fs),
        )
        data = [f.frame.data for f in frames if f.kind == "DataFrame" and f.stream_id == 1]
        assert b"".join(data) == b"\x00\x00\x00\x00\x09neighbour"
        assert [f.header(b"grpc-status") for f in frames if f.stream_id == 1][-1] == b"0"
        assert echo_service.started == 1
        writer.close()
    finally:
        await listener.close()


async def test_ipv6_and_both_families(echo_service):
    listener = await serve(echo_service)  # every interface, one port for both families
    try:
        conn = await connect(Address(host="127.0.0.1", port=listener.port))
        _, messages, _ = await unary(conn)
        assert messages == [b"ping"]
        conn.close()
        if any(a.startswith("ipv6:") for a in listener.addresses):
            conn6 = await connect(Address(host="::1", port=listener.port))
            assert conn6.peer == f"ipv6:[::1]:{listener.port}"
            _, messages, _ = await unary(conn6)
            assert messages == [b"ping"]
            conn6.close()
    finally:
        await listener.close()


async def test_stream_ids_running_out_retires_the_connection(tcp):
    _listener, conn = tcp
    reasons = []
    conn.add_close_listener(reasons.append)
    h2conn = conn._client_machine._h2
    # Jump close to 3/4 of the id space, where grpc-go replaces a connection.
    h2conn.highest_outbound_stream_id = (2**31 - 1) * 3 // 4 - 2  # odd: a client id
    h2conn.streams.clear()
    stream = conn.start_stream(head("Echo"))
    assert not conn.available
    assert reasons and "stream ids" in reasons[0]
    # The last stream still completes; then the idle connection closes itself.
    await stream.send_message(b"last", end=True)
    assert await stream.receive_message() == (False, b"last")
    assert (await stream.receive_status()).code is StatusCode.OK
    await asyncio.wait_for(conn.wait_closed(), 5)


async def test_rapid_reset_flood_is_cut_off(echo_service, raw_peer, read_until):
    options = TransportOptions(max_concurrent_streams=20)
    listener = await serve(echo_service, host="127.0.0.1", options=options)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        peer = raw_peer()
        writer.write(peer.preface())
        pairs = b"".join(
            peer.request(sid, b"/test.Echo/Hang") + peer.rst(sid) for sid in range(1, 4001, 2)
        )
        writer.write(pairs)
        frames = await read_until(
            reader, peer, lambda fs: any(f.kind == "GoAwayFrame" for f in fs), timeout=20
        )
        [goaway] = [f for f in frames if f.kind == "GoAwayFrame"]
        assert goaway.frame.error_code == 0xB  # ENHANCE_YOUR_CALM
        assert goaway.frame.additional_data == b"too_many_resets"
        await asyncio.wait_for(reader.read(), 5)  # then the server hangs up
        # Handlers never exceeded the limit, however fast the streams came and went.
        assert echo_service.max_running <= 20
        assert echo_service.started <= 1100, echo_service.started
        writer.close()
    finally:
        await listener.close()


async def test_ping_flood_while_not_reading_is_cut_off(echo_service, raw_peer, read_until):
    listener = await serve(echo_service, host="127.0.0.1")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        peer = raw_peer()
        writer.write(peer.preface())
        await writer.drain()
        for _ in range(100):
            if listener._connections:
                break
            await asyncio.sleep(0.01)
        [server_conn] = listener._connections
        # The kernel pushes back: the transport asks the protocol to stop writing.
        server_conn.pause_writing()
        writer.write(peer.ping() * 1200)
        frames = await read_until(
            reader, peer, lambda fs: any(f.kind == "GoAwayFrame" for f in fs), timeout=10
        )
        goaway = next(f for f in frames if f.kind == "GoAwayFrame")
        assert goaway.frame.error_code == 0xB
        assert goaway.frame.additional_data == b"too_many_control_frames"
        writer.close()
    finally:
        await listener.close()
