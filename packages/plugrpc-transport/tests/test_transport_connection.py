"""Sans-I/O tests of the connection machines: a client machine against a server machine,
bytes passed in memory, events checked."""

from __future__ import annotations

import pytest
from h2.settings import SettingCodes
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_core import Metadata, StatusCode
from plugrpc_transport.protocol._client_machine import ClientMachine
from plugrpc_transport.protocol._config import ConnectionConfig, TokenBucket
from plugrpc_transport.protocol._events import (
    ConnectionTerminated,
    MessageReceived,
    PingAcked,
    PingReceived,
    RequestEnded,
    RequestReceived,
    ResponseHeadersReceived,
    ResponseSent,
    SendWindowAvailable,
    SettingsReceived,
    StreamFailed,
    StreamReset,
    TrailersReceived,
)
from plugrpc_transport.protocol._headers import CallStatus, RequestHead, ResponseHead
from plugrpc_transport.protocol._server_machine import ServerMachine

HEAD = RequestHead(path="/pkg.Svc/Method", authority="localhost", metadata=Metadata([("k", "v")]))
MiB = 1024 * 1024


def of(events: list[object], kind: type) -> list[object]:
    return [e for e in events if type(e) is kind]


def test_settings_exchange(make_pair):
    pair = make_pair(handshake=False)
    client_events, server_events = pair.pump()
    assert of(client_events, SettingsReceived) == [SettingsReceived(max_concurrent_streams=100)]
    assert of(server_events, SettingsReceived) == [SettingsReceived(max_concurrent_streams=None)]
    # The connection window was raised at start (h2 would keep it at 64 KiB, h2#1280).
    assert pair.server._h2.outbound_flow_control_window == 16 * MiB
    assert pair.client._h2.outbound_flow_control_window == 16 * MiB
    assert pair.client.max_concurrent_streams == 100


def test_unary_exchange(make_pair):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    assert pair.client.send_message(sid, b"request", end=True) == 0
    _, server_events = pair.pump()
    assert [type(e) for e in server_events] == [RequestReceived, MessageReceived, RequestEnded]
    request = server_events[0]
    assert request.head.path == "/pkg.Svc/Method"
    assert request.head.metadata.get("k") == "v"
    assert server_events[1].payload == b"request" and not server_events[1].compressed

    server = pair.server
    assert server.send_headers(sid, ResponseHead(metadata=Metadata([("h", "1")])))
    assert server.send_message(sid, b"response", compressed=False) == 0
    status = CallStatus(code=StatusCode.OK, metadata=Metadata([("t", "2")]))
    assert server.send_trailers(sid, status)
    assert not server.is_open(sid)
    client_events, _ = pair.pump()
    assert [type(e) for e in client_events] == [
        ResponseHeadersReceived,
        MessageReceived,
        TrailersReceived,
    ]
    assert client_events[0].head.metadata.get("h") == "1"
    assert client_events[1].payload == b"response"
    assert client_events[2].status.code is StatusCode.OK
    assert client_events[2].status.metadata.get("t") == "2"
    assert not client_events[2].trailers_only
    assert pair.client.active_streams == 0 and pair.server.active_streams == 0
    # Both h2 state machines closed the stream cleanly: nothing was reset.
    assert pair.client._h2.streams[sid].closed and pair.server._h2.streams[sid].closed


def test_trailers_only_error(make_pair):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.client.end_request(sid)
    pair.pump()
    status = CallStatus(code=StatusCode.NOT_FOUND, message="no such thing \u263a")
    assert pair.server.send_trailers(sid, status)
    client_events, _ = pair.pump()
    [event] = client_events
    assert type(event) is TrailersReceived and event.trailers_only
    assert event.status.code is StatusCode.NOT_FOUND
    assert event.status.message == "no such thing \u263a"


def test_trailers_before_client_half_close_reset_no_error(make_pair, raw_peer):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    pair.server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    data = bytes(pair.server.data_to_send())
    wire = raw_peer().parse(data)
    # PROTOCOL-HTTP2: trailers-only response, then RST_STREAM(NO_ERROR).
    assert [f.kind for f in wire] == ["HeadersFrame", "RstStreamFrame"]
    assert "END_STREAM" in wire[0].frame.flags
    assert wire[1].frame.error_code == 0
    events = pair.client.receive(data, 0.0)
    # The client does not report the RST after the status it already has.
    assert [type(e) for e in events] == [TrailersReceived]
    assert pair.client.active_streams == 0


def test_streaming_both_directions(make_pair):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    for i in range(50):
        pair.client.send_message(sid, b"up-%d" % i)
    pair.client.end_request(sid)
    _, server_events = pair.pump()
    ups = [e.payload for e in of(server_events, MessageReceived)]
    assert ups == [b"up-%d" % i for i in range(50)]
    assert type(server_events[-1]) is RequestEnded
    for i in range(70):
        pair.server.send_message(sid, b"down-%d" % i, compressed=bool(i % 2))
    pair.server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    client_events, _ = pair.pump()
    downs = of(client_events, MessageReceived)
    assert [e.payload for e in downs] == [b"down-%d" % i for i in range(70)]
    assert [e.compressed for e in downs] == [bool(i % 2) for i in range(70)]
    assert type(client_events[-1]) is TrailersReceived


def test_messages_coalesce_into_frames(make_pair, raw_peer):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    for _ in range(100):
        pair.server.send_message(sid, b"x" * 10)
    frames = raw_peer().parse(pair.server.data_to_send())
    # One HEADERS block; each message becomes its own DATA frame only as written, but never
    # more than one frame per message and never a frame above the peer's max frame size.
    data = [f for f in frames if f.kind == "DataFrame"]
    assert 1 <= len(data) <= 100
    assert sum(len(f.frame.data) for f in data) == 100 * 15


def test_sixteen_mib_both_ways_with_flow_control(make_pair):
    config = ConnectionConfig(max_receive_message_length=32 * MiB)
    pair = make_pair(config, config)
    payload = bytes(range(256)) * (16 * MiB // 256)
    sid = pair.client.start_request(HEAD)
    pending = pair.client.send_message(sid, payload, end=True)
    # Only the 64 KiB initial window (then the 4 MiB settings window) may go at once.
    assert pending is not None and pending > 10 * MiB
    _, server_events = pair.pump()
    [message] = of(server_events, MessageReceived)
    assert message.payload == payload
    assert pair.client.pending_bytes(sid) == 0
    pair.server.send_message(sid, payload)
    pair.server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    client_events, _ = pair.pump()
    [reply] = of(client_events, MessageReceived)
    assert reply.payload == payload
    assert of(client_events, TrailersReceived)[0].status.code is StatusCode.OK


def test_frames_respect_peer_max_frame_size(make_pair, raw_peer):
    config = ConnectionConfig(max_frame_size=65536)
    pair = make_pair(ConnectionConfig(), config)
    sid = pair.client.start_request(HEAD)
    pair.client.send_message(sid, b"a" * 200_000, end=True)
    frames = raw_peer().parse(pair.client.data_to_send())
    sizes = [len(f.frame.data) for f in frames if f.kind == "DataFrame"]
    assert sizes == [65536] * 3 + [200_005 - 3 * 65536]


def test_receive_window_returned_as_app_consumes(make_pair):
    config = ConnectionConfig(initial_stream_window_size=65535)
    pair = make_pair(ConnectionConfig(), config)
    pair.auto_consume = False
    sid = pair.client.start_request(HEAD)
    for _ in range(20):
        pair.client.send_message(sid, b"m" * 10_000)
    _, server_events = pair.pump()
    got = of(server_events, MessageReceived)
    # The application consumed nothing: the stream window (64 KiB) bounds what arrived.
    assert 5 <= len(got) <= 7
    assert pair.client.pending_bytes(sid) > 0
    total = len(got)
    writable = []
    for _ in range(20):
        for event in got:
            pair.server.consume(sid, event.flow_size)
        client_events, server_events = pair.pump()
        writable += of(client_events, SendWindowAvailable)
        got = of(server_events, MessageReceived)
        assert sum(e.flow_size for e in got) <= 65535
        total += len(got)
        if total == 20:
            break
    assert total == 20
    assert pair.client.pending_bytes(sid) == 0
    # The writer was over its 64 KiB quota and was told once when it fell below.
    assert writable == [SendWindowAvailable(stream_id=sid)]


def test_big_message_over_small_window_is_not_a_deadlock(make_pair):
    # A message larger than the stream window completes because bytes of the message the
    # application waits for are returned as they arrive.
    config = ConnectionConfig(initial_stream_window_size=65535)
    pair = make_pair(ConnectionConfig(), config)
    pair.auto_consume = False
    sid = pair.client.start_request(HEAD)
    pair.client.send_message(sid, b"b" * 1_000_000, end=True)
    _, server_events = pair.pump()
    [message] = of(server_events, MessageReceived)
    assert len(message.payload) == 1_000_000
    assert message.flow_size < 65535  # most of it was returned while it arrived


@pytest.mark.parametrize("side", ["server", "client"])
def test_oversized_prefix(make_pair, raw_peer, side):
    small = ConnectionConfig(max_receive_message_length=1000)
    if side == "server":
        pair = make_pair(ConnectionConfig(), small)
        sid = pair.client.start_request(HEAD)
        pair.pump()
        # The prefix alone declares 4 GiB - 1: rejected before any body byte is kept.
        events = pair.server.receive(raw_peer().data(sid, b"\x00\xff\xff\xff\xff" + b"x" * 10), 0)
        [failed] = events
        assert type(failed) is StreamFailed
        assert failed.status.code is StatusCode.RESOURCE_EXHAUSTED
        assert "4294967295 vs. 1000" in failed.status.message
        data = bytes(pair.server.data_to_send())
        frames = raw_peer().parse(data)
        assert [f.kind for f in frames] == ["HeadersFrame", "RstStreamFrame"]
        assert frames[0].header(b"grpc-status") == b"8"
        [ended] = pair.client.receive(data, 0)
        assert ended.status.code is StatusCode.RESOURCE_EXHAUSTED
        assert frames[1].frame.error_code == 0
        # Flow control for the dropped bytes came back on the connection.
        assert pair.server._h2._inbound_flow_control_window_manager._bytes_processed == 15
    else:
        pair = make_pair(small, ConnectionConfig())
        sid = pair.client.start_request(HEAD)
        pair.client.end_request(sid)
        pair.pump()
        pair.server.send_message(sid, b"y" * 1001)
        client_events, _ = pair.pump()
        [failed] = of(client_events, StreamFailed)
        assert failed.status.code is StatusCode.RESOURCE_EXHAUSTED
        # The client cancelled the stream; the server saw the reset.
        assert [e.error_code for e in of(pair.server_events, StreamReset)] == [8]
    # The connection still works.
    sid2 = pair.client.start_request(HEAD)
    pair.client.send_message(sid2, b"ok", end=True)
    pair.pump()
    pair.server.send_trailers(sid2, CallStatus(code=StatusCode.OK))
    client_events, _ = pair.pump()
    assert of(client_events, TrailersReceived)[-1].status.code is StatusCode.OK


def test_bad_compressed_flag_and_truncated_message(make_pair, raw_peer):
    pair = make_pair()
    peer = raw_peer()
    sid = pair.client.start_request(HEAD)
    sid2 = pair.client.start_request(HEAD)
    pair.pump()
    [failed] = pair.server.receive(peer.data(sid, b"\x02\x00\x00\x00\x01x"), 0)
    assert failed.status.code is StatusCode.INTERNAL
    truncated = peer.data(sid2, b"\x00\x00\x00\x00\x09abc", end_stream=True)
    events = pair.server.receive(truncated, 0)
    assert [type(e) for e in events] == [StreamFailed]
    assert events[0].status.code is StatusCode.INTERNAL
    frames = peer.parse(pair.server.data_to_send())
    assert [f.header(b"grpc-status") for f in frames if f.headers] == [b"13", b"13"]


def test_client_missing_trailers_is_internal(make_pair, raw_peer):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pair.client.end_request(sid)
    pair.pump()
    pair.server.send_headers(sid, ResponseHead(metadata=Metadata()))
    pair.server._h2.send_data(sid, b"\x00\x00\x00\x00\x01z", end_stream=True)
    client_events, _ = pair.pump()
    assert [type(e) for e in client_events] == [
        ResponseHeadersReceived,
        MessageReceived,
        StreamFailed,
    ]
    assert client_events[-1].status.code is StatusCode.INTERNAL


def test_over_mcs_refused_without_goaway(make_pair, raw_peer):
    config = ConnectionConfig(max_concurrent_streams=3)
    pair = make_pair(ConnectionConfig(), config)
    peer = raw_peer()
    # A client that ignores our limit, or races our SETTINGS (reliability row 13).
    ids = [1, 3, 5, 7, 9]
    events = pair.server.receive(b"".join(peer.request(sid) for sid in ids), 0.0)
    assert [e.stream_id for e in of(events, RequestReceived)] == ids[:3]
    frames = peer.parse(pair.server.data_to_send())
    resets = [(f.stream_id, f.frame.error_code) for f in frames if f.kind == "RstStreamFrame"]
    assert resets == [(7, 7), (9, 7)]
    assert not [f for f in frames if f.kind == "GoAwayFrame"]
    assert not pair.server.terminated
    assert pair.server.running_handlers == 3
    # Running handlers count, not open streams (grpc-go#6703): after a reset the client is
    # within its limit again, so its next stream is not refused but waits for a handler.
    pair.server.receive(peer.rst(1), 0.0)
    events = pair.server.receive(peer.request(11) + peer.ping(), 0.0)
    assert not of(events, RequestReceived) and not of(events, PingReceived)
    assert pair.server.input_blocked
    assert not peer.parse(pair.server.data_to_send())  # nothing refused, nothing answered
    assert pair.server.resume(0.0) == []  # still no slot
    pair.server.handler_finished()
    events = pair.server.resume(0.0)
    assert [type(e) for e in events] == [RequestReceived, PingReceived]
    assert events[0].stream_id == 11
    assert not pair.server.input_blocked
    assert pair.server.running_handlers == 3


def test_rst_then_new_stream_in_one_read_waits_for_the_handler(make_pair, raw_peer):
    # The race of a client that cancels and immediately starts its next call: the new
    # stream must not be refused because the cancelled handler has not returned yet.
    pair = make_pair(ConnectionConfig(), ConnectionConfig(max_concurrent_streams=1))
    peer = raw_peer()
    assert of(pair.server.receive(peer.request(1), 0.0), RequestReceived)
    events = pair.server.receive(peer.rst(1) + peer.request(3, end_stream=True), 0.0)
    assert [type(e) for e in events] == [StreamReset]
    assert pair.server.input_blocked
    pair.server.handler_finished()
    events = pair.server.resume(0.0)
    assert [type(e) for e in events] == [RequestReceived, RequestEnded]
    assert not [f for f in peer.parse(pair.server.data_to_send()) if f.kind == "RstStreamFrame"]


def test_oversized_frame_rejected_on_its_header(make_pair, raw_peer):
    pair = make_pair()
    raw_peer()
    # Only the 9-byte header of a 1 MiB frame: rejected before any body is buffered.
    header = (1 << 20).to_bytes(3, "big") + b"\x00\x00\x00\x00\x00\x01"
    events = pair.server.receive(header, 0.0)
    assert [(type(e), e.error_code) for e in events] == [(ConnectionTerminated, 0x6)]


def test_client_queues_to_the_servers_limit(make_pair):
    pair = make_pair(ConnectionConfig(), ConnectionConfig(max_concurrent_streams=3))
    assert pair.client.max_concurrent_streams == 3


def test_ping_echoed(make_pair, raw_peer):
    pair = make_pair()
    peer = raw_peer()
    events = pair.server.receive(peer.ping(b"abcdefgh"), 0.0)
    assert events == [PingReceived(data=b"abcdefgh")]
    [ack] = peer.parse(pair.server.data_to_send())
    assert ack.kind == "PingFrame" and "ACK" in ack.frame.flags
    assert ack.frame.opaque_data == b"abcdefgh"
    pair.client.ping(b"12345678")
    client_events, _ = pair.pump()
    assert client_events == [PingAcked(data=b"12345678")]


def test_rapid_reset_budget_ends_in_enhance_your_calm(make_pair, raw_peer):
    config = ConnectionConfig(reset_burst=50, reset_rate=1.0)
    pair = make_pair(ConnectionConfig(), config)
    peer = raw_peer()
    burst = b"".join(peer.request(sid, end_stream=True) + peer.rst(sid) for sid in range(1, 400, 2))
    events = pair.server.receive(burst, 1.0)
    terminated = of(events, ConnectionTerminated)
    assert terminated and terminated[0].error_code == 0xB
    assert len(of(events, RequestReceived)) <= 51
    goaway = [f for f in peer.parse(pair.server.data_to_send()) if f.kind == "GoAwayFrame"]
    assert goaway[-1].frame.error_code == 0xB
    assert goaway[-1].frame.additional_data == b"too_many_resets"
    assert pair.server.terminated
    assert pair.server.receive(peer.ping(), 2.0) == []  # nothing more is processed


def test_resets_within_budget_rate_are_fine(make_pair, raw_peer):
    config = ConnectionConfig(reset_burst=10, reset_rate=10.0)
    pair = make_pair(ConnectionConfig(), config)
    peer = raw_peer()
    now = 0.0
    for sid in range(1, 200, 2):
        now += 0.2  # 5 resets per second, under the 10/s refill
        pair.server.receive(peer.request(sid, end_stream=True) + peer.rst(sid), now)
        pair.server.handler_finished()
    assert not pair.server.terminated


def test_ping_flood_budget(make_pair, raw_peer):
    config = ConnectionConfig(max_pending_acks=100)
    pair = make_pair(ConnectionConfig(), config)
    peer = raw_peer()
    # The writer takes output between reads: a steady ping rate is answered.
    for _ in range(5):
        assert not of(pair.server.receive(peer.ping() * 60, 0.0), ConnectionTerminated)
        pair.server.data_to_send()
    # A peer that does not read (output never taken) is cut off at the ACK budget.
    events = []
    for _ in range(3):
        events += pair.server.receive(peer.ping() * 60, 0.0)
    [terminated] = of(events, ConnectionTerminated)
    assert terminated.error_code == 0xB
    assert b"too_many_control_frames" in bytes(pair.server.data_to_send())


def test_settings_flood_budget(make_pair, raw_peer):
    config = ConnectionConfig(max_pending_acks=100)
    pair = make_pair(ConnectionConfig(), config)
    peer = raw_peer()
    events = pair.server.receive(peer.settings({SettingCodes.ENABLE_PUSH: 0}) * 150, 0.0)
    assert of(events, ConnectionTerminated)[0].error_code == 0xB


def test_empty_data_frame_budget(make_pair, raw_peer):
    pair = make_pair()
    peer = raw_peer()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    assert not pair.server.receive(peer.data(sid, b"") * 10, 0.0)
    # A legal empty DATA with END_STREAM never counts.
    events = pair.server.receive(peer.data(sid, b"", end_stream=True), 0.0)
    assert [type(e) for e in events] == [RequestEnded]
    sid2 = pair.client.start_request(HEAD)
    pair.pump()
    events = pair.server.receive(peer.data(sid2, b"") * 11, 0.0)
    assert of(events, ConnectionTerminated)[0].error_code == 0xB


def test_padding_is_returned_to_the_window(make_pair, raw_peer):
    config = ConnectionConfig(initial_stream_window_size=1000)
    pair = make_pair(ConnectionConfig(), config)
    peer = raw_peer()
    sid = pair.client.start_request(HEAD)
    pair.pump()
    pair.server.receive(peer.data(sid, b"\x00\x00\x00\x00\x01a", pad=200), 0.0)
    stream = pair.server._h2.streams[sid]
    # 6 data bytes consumed by the app-owned message, 201 padding bytes already returned.
    assert stream._inbound_window_manager._bytes_processed in (0, 201)


def test_token_bucket_refills():
    bucket = TokenBucket(2, 1.0)
    assert bucket.take(0.0) and bucket.take(0.0)
    assert not bucket.take(0.0)
    assert bucket.take(5.0)  # refilled, capped at the burst


def test_config_validation():
    with pytest.raises(ValueError, match="max_frame_size"):
        ConnectionConfig(max_frame_size=100)
    with pytest.raises(ValueError, match="initial_connection_window_size"):
        ConnectionConfig(initial_connection_window_size=1)


def test_server_response_after_queued_data_reports_sent(make_pair):
    config = ConnectionConfig(initial_stream_window_size=65535)
    pair = make_pair(config, ConnectionConfig())
    pair.auto_consume = False
    sid = pair.client.start_request(HEAD)
    pair.client.end_request(sid)
    pair.pump()
    assert pair.server.send_message(sid, b"q" * 200_000) > 0
    assert pair.server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    assert pair.server.is_open(sid)  # the trailers wait behind the DATA
    # The client returns the window of the message it waits for as bytes arrive.
    client_events, server_events = pair.pump()
    assert len(of(client_events, MessageReceived)[0].payload) == 200_000
    assert of(server_events, ResponseSent) == [ResponseSent(stream_id=sid)]
    assert of(client_events, TrailersReceived)
    assert not pair.server.is_open(sid)


def _summary(events):
    out = []
    for e in events:
        if type(e) is MessageReceived:
            out.append(("message", e.stream_id, e.payload, e.compressed))
        elif type(e) is RequestReceived:
            out.append(("request", e.stream_id, e.head))
        else:
            out.append((type(e).__name__, getattr(e, "stream_id", None)))
    return out


def _client_bytes():
    client = ClientMachine()
    client.initiate()
    for i in range(3):
        sid = client.start_request(HEAD)
        client.send_message(sid, b"a" * (i * 7000), compressed=bool(i % 2))
        client.send_message(sid, b"b%d" % i, end=True)
    client.ping(b"pingping")
    return bytes(client.data_to_send())


_WHOLE = _client_bytes()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4000), max_size=40))
def test_any_split_of_the_input_gives_the_same_events(cuts):
    def run(chunks):
        server = ServerMachine()
        server.initiate()
        events = []
        for chunk in chunks:
            new = server.receive(chunk, 0.0)
            for e in new:
                if type(e) is MessageReceived:
                    server.consume(e.stream_id, e.flow_size)
            events += new
        assert not server.terminated
        return events

    expected = run([_WHOLE])
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(_WHOLE[pos : pos + cut])
        pos += cut
    chunks.append(_WHOLE[pos:])
    got = run([c for c in chunks if c])
    assert _summary(got) == _summary(expected)
    assert len([e for e in got if type(e) is MessageReceived]) == 6
