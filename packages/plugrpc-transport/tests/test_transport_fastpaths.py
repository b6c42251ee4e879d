"""The transport's fast paths keep the wire and the API exactly as they were.

Shared DATA frames for small messages, memoised request parsing, h2's frames without the
eager hex dump, the stream class without header classification, and the asyncio layer's
write policy (bounded batches, an immediate write at the end of a lone call).
"""

from __future__ import annotations

import asyncio

from hyperframe.frame import DataFrame, HeadersFrame
from plugrpc_core import Address, Metadata, StatusCode
from plugrpc_transport import ServerStream, TransportOptions, connect, serve
from plugrpc_transport._io import FLUSH_BYTES, FLUSH_CALLS
from plugrpc_transport.protocol import (
    CallStatus,
    MessageReceived,
    RequestHead,
    ResponseHead,
    TrailersReceived,
    parse_request_headers,
)
from plugrpc_transport.protocol._h2patch import _QUIET, _Stream

HEAD = RequestHead(path="/pkg.Svc/Method", authority="localhost")


def _data_frames(raw_peer, data):
    return [f for f in raw_peer().parse(data) if f.kind == "DataFrame"]


def test_small_messages_share_one_data_frame(make_pair, raw_peer):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    for i in range(100):
        # Queued, not framed: nothing waits for flow control.
        assert pair.server.send_message(sid, b"m%09d" % i) == 0
    assert pair.server.output_size >= 100 * 15
    wire = bytes(pair.server.data_to_send())
    frames = _data_frames(raw_peer, wire)
    assert len(frames) == 1
    assert len(frames[0].frame.data) == 100 * 15
    # The client sees the 100 messages, in order, then the rest.
    client_events = pair.client.receive(wire, 0.0)
    pair.server.send_message(sid, b"last")
    pair.server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    more, _ = pair.pump()
    client_events += more
    got = [e.payload for e in client_events if type(e) is MessageReceived]
    assert got == [b"m%09d" % i for i in range(100)] + [b"last"]
    assert type(client_events[-1]) is TrailersReceived


def test_trailers_follow_queued_messages_at_once(make_pair, raw_peer):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.client.end_request(sid)
    pair.pump()
    pair.server.send_message(sid, b"one")
    pair.server.send_message(sid, b"two")
    assert pair.server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    assert not pair.server.is_open(sid)  # everything went to h2, the stream is done
    frames = raw_peer().parse(pair.server.data_to_send())
    kinds = [f.kind for f in frames]
    assert kinds == ["HeadersFrame", "DataFrame", "HeadersFrame"]
    assert frames[1].frame.data == b"\x00\x00\x00\x00\x03one\x00\x00\x00\x00\x03two"


def test_a_frame_worth_of_messages_is_framed_at_once(make_pair):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    pair.server.send_message(sid, b"x" * 70000)  # above the 64 KiB coalescing limit
    assert not pair.server._deferred
    assert pair.server.output_size >= 70000


def test_end_of_request_is_sent_at_once_and_small_writes_wait(make_pair, raw_peer):
    pair = make_pair()
    peer = raw_peer()
    sid = pair.client.start_request(HEAD)
    peer.parse(pair.client.data_to_send())
    pair.client.send_message(sid, b"a")
    pair.client.send_message(sid, b"b", end=True)
    frames = peer.parse(pair.client.data_to_send())
    assert [f.kind for f in frames] == ["DataFrame"]
    assert "END_STREAM" in frames[0].frame.flags
    assert frames[0].frame.data == b"\x00\x00\x00\x00\x01a\x00\x00\x00\x00\x01b"


def test_reset_drops_queued_messages(make_pair, raw_peer):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    pair.server.send_message(sid, b"never")
    assert pair.server.reset_stream(sid)
    frames = raw_peer().parse(pair.server.data_to_send())
    assert "DataFrame" not in [f.kind for f in frames]
    assert not pair.server._deferred


def test_blocked_stream_reports_pending_bytes(make_pair):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    big = b"x" * (5 * 1024 * 1024)  # more than the 4 MiB stream window
    pending = pair.server.send_message(sid, big)
    assert pending is not None and pending > 0
    assert pair.server.pending_bytes(sid) == pending


def test_request_parse_memo_hands_out_independent_metadata():
    block = [
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":path", b"/pkg.Svc/Method"),
        (b":authority", b"localhost"),
        (b"content-type", b"application/grpc"),
        (b"te", b"trailers"),
        (b"x-user", b"ann"),
    ]
    first = parse_request_headers(block)
    first.metadata.add("x-added", "by a handler")
    second = parse_request_headers(list(block))
    assert second.metadata.get("x-added") is None
    assert second.metadata.get("x-user") == "ann"
    assert (second.path, second.content_subtype, second.timeout) == ("/pkg.Svc/Method", "", None)
    # A deadline makes the block unique: parsed each time, never memoised.
    timed = parse_request_headers([*block, (b"grpc-timeout", b"5S")])
    assert timed.timeout == 5.0
    assert parse_request_headers(block).timeout is None


def test_received_frames_have_a_short_repr_and_are_dispatched(make_pair):
    for base, quiet in _QUIET.items():
        assert issubclass(quiet, base)
    frame = DataFrame(1, data=b"z" * 100000)
    frame.__class__ = _QUIET[DataFrame]
    assert repr(frame) == "<DataFrame stream 1>"
    assert isinstance(frame, DataFrame) and not isinstance(frame, HeadersFrame)
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.client.send_message(sid, b"hello", end=True)
    _, server_events = pair.pump()
    assert [e.payload for e in server_events if type(e) is MessageReceived] == [b"hello"]
    assert type(pair.server._h2.streams[sid]) is _Stream


async def test_lone_call_is_written_without_waiting_for_the_loop():
    done = asyncio.Event()

    def handler(stream: ServerStream) -> None:
        async def run() -> None:
            await stream.receive_message()
            await stream.send_headers(Metadata())
            await stream.send_message(b"pong")
            await stream.send_status(CallStatus(code=StatusCode.OK))
            stream.handler_done()
            done.set()

        asyncio.get_running_loop().create_task(run())

    listener = await serve(handler, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port))
    try:
        stream = conn.start_stream(HEAD)
        await stream.send_message(b"ping", end=True)
        # The request went out inside send_message: no write is left for the loop.
        assert conn._flush_handle is None
        assert not conn._machine.has_output
        assert await asyncio.wait_for(stream.receive_message(), 5) == (False, b"pong")
        assert (await asyncio.wait_for(stream.receive_status(), 5)).code is StatusCode.OK
        await asyncio.wait_for(done.wait(), 5)
    finally:
        conn.close()
        await listener.close()


async def test_large_bursts_are_written_in_bounded_batches():
    sizes: list[int] = []
    got = asyncio.Event()
    total = 40

    def handler(stream: ServerStream) -> None:
        async def run() -> None:
            count = 0
            while await stream.receive_message() is not None:
                count += 1
            assert count == total + 1  # the empty message that opened the stream
            await stream.send_status(CallStatus(code=StatusCode.OK))
            stream.handler_done()
            got.set()

        asyncio.get_running_loop().create_task(run())

    listener = await serve(handler, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port), options=TransportOptions())
    transport = conn._transport
    assert transport is not None
    original = transport.write

    def spy(data: bytes | bytearray | memoryview) -> None:
        sizes.append(len(data))
        original(data)

    transport.write = spy  # type: ignore[method-assign]
    try:
        stream = conn.start_stream(HEAD)
        await stream.send_message(b"")  # opens the stream
        sizes.clear()
        for _ in range(total):  # 40 x 20 KB within one loop turn
            await stream.send_message(b"y" * 20000)
        assert sizes, "writes happen during the burst, not only at the end of the turn"
        assert max(sizes) < FLUSH_BYTES + 2 * 20000 + 1024
        await stream.send_end()
        status = await asyncio.wait_for(stream.receive_status(), 5)
        assert status.code is StatusCode.OK
        await asyncio.wait_for(got.wait(), 5)
    finally:
        conn.close()
        await listener.close()


async def test_many_finished_calls_are_written_in_bounded_batches():
    calls = 20
    served = 0
    all_served = asyncio.Event()

    def handler(stream: ServerStream) -> None:
        async def run() -> None:
            nonlocal served
            while await stream.receive_message() is not None:
                pass
            await stream.send_status(CallStatus(code=StatusCode.OK))
            stream.handler_done()
            served += 1
            if served == calls:
                all_served.set()

        asyncio.get_running_loop().create_task(run())

    listener = await serve(handler, host="127.0.0.1")
    conn = await connect(Address(host="127.0.0.1", port=listener.port))
    writes: list[int] = []
    transport = conn._transport
    assert transport is not None
    original = transport.write

    def spy(data: bytes | bytearray | memoryview) -> None:
        writes.append(len(data))
        original(data)

    transport.write = spy  # type: ignore[method-assign]
    try:
        streams = [conn.start_stream(HEAD) for _ in range(calls)]
        # 20 requests end within one loop turn: written in batches of FLUSH_CALLS, so the
        # server starts on the first ones while the client still produces the rest.
        await asyncio.gather(*(s.send_message(b"q", end=True) for s in streams))
        assert len(writes) >= calls // FLUSH_CALLS
        statuses = await asyncio.wait_for(asyncio.gather(*(s.receive_status() for s in streams)), 5)
        assert {s.code for s in statuses} == {StatusCode.OK}
        await asyncio.wait_for(all_served.wait(), 5)
    finally:
        conn.close()
        await listener.close()


def test_response_head_still_reaches_the_client(make_pair):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    pair.server.send_headers(sid, ResponseHead(metadata=Metadata([("h", "1")])))
    pair.server.send_message(sid, b"r")
    pair.server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    client_events, _ = pair.pump()
    assert [type(e).__name__ for e in client_events] == [
        "ResponseHeadersReceived",
        "MessageReceived",
        "TrailersReceived",
    ]
