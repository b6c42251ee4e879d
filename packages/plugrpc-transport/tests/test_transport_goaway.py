"""GOAWAY both ways, sans-I/O: graceful double-GOAWAY drain with streams finishing after
it (the python-hyper/h2#1181 regression), and a client's handling of a received GOAWAY."""

from __future__ import annotations

from plugrpc_core import Metadata, StatusCode
from plugrpc_transport.protocol._config import ConnectionConfig
from plugrpc_transport.protocol._events import (
    DrainFinalized,
    GoAwayReceived,
    MessageReceived,
    RequestEnded,
    RequestReceived,
    StreamFailed,
    StreamReset,
    TrailersReceived,
)
from plugrpc_transport.protocol._headers import CallStatus, RequestHead, ResponseHead
from plugrpc_transport.protocol._server_machine import DRAIN_PING_DATA

HEAD = RequestHead(path="/pkg.Svc/Stream", authority="localhost")
MAX_ID = 2**31 - 1


def of(events, kind):
    return [e for e in events if type(e) is kind]


def test_graceful_drain_in_flight_stream_finishes_after_both_goaways(make_pair, raw_peer):
    pair = make_pair()
    client, server = pair.client, pair.server
    sid = client.start_request(HEAD)
    client.send_message(sid, b"first")
    pair.pump()

    server.start_drain()
    wire = raw_peer().parse(bytes(server._h2._data_to_send))
    assert [f.kind for f in wire] == ["GoAwayFrame", "PingFrame"]
    assert wire[0].frame.last_stream_id == MAX_ID and wire[0].frame.error_code == 0
    assert wire[1].frame.opaque_data == DRAIN_PING_DATA
    # A stream the client opens before it sees the GOAWAY still counts as accepted.
    late = client.start_request(HEAD)
    client_events, server_events = pair.pump()
    assert [e.last_stream_id for e in of(client_events, GoAwayReceived)] == [MAX_ID, late]
    assert of(server_events, DrainFinalized) == [DrainFinalized(last_stream_id=late)]
    assert [e.stream_id for e in of(server_events, RequestReceived)] == [late]
    assert server.drain_finalized
    assert not client.accepting_streams

    # After both GOAWAYs the in-flight streams carry on, both ways (h2#1181).
    client.send_message(sid, b"second", end=True)
    _, server_events = pair.pump()
    assert [e.payload for e in of(server_events, MessageReceived)] == [b"second"]
    assert of(server_events, RequestEnded)
    server.send_headers(sid, ResponseHead(metadata=Metadata()))
    server.send_message(sid, b"reply")
    server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    server.send_trailers(late, CallStatus(code=StatusCode.OK, message="late one"))
    client_events, _ = pair.pump()
    assert [e.payload for e in of(client_events, MessageReceived)] == [b"reply"]
    statuses = {e.stream_id: e.status for e in of(client_events, TrailersReceived)}
    assert statuses[sid].code is StatusCode.OK
    assert statuses[late].message == "late one"
    assert server.active_streams == 0 and client.active_streams == 0
    assert not server.terminated and not client.terminated


def test_streams_after_final_goaway_are_refused(make_pair, raw_peer):
    pair = make_pair()
    peer = raw_peer()
    server = pair.server
    server.receive(peer.request(1), 0.0)
    server.start_drain()
    server.receive(peer.ping(DRAIN_PING_DATA, ack=True), 0.0)
    assert server.drain_finalized
    events = server.receive(peer.request(3, end_stream=True), 0.0)
    assert not of(events, RequestReceived)
    frames = peer.parse(server.data_to_send())
    goaways = [f.frame.last_stream_id for f in frames if f.kind == "GoAwayFrame"]
    assert goaways == [MAX_ID, 1]
    assert [(f.stream_id, f.frame.error_code) for f in frames if f.kind == "RstStreamFrame"] == [
        (3, 7)
    ]
    # Stream 1 still finishes.
    events = server.receive(peer.message(1, b"data", end_stream=True), 0.0)
    assert [type(e) for e in events] == [MessageReceived, RequestEnded]


def test_finish_drain_without_ping_ack(make_pair, raw_peer):
    pair = make_pair()
    sid = pair.client.start_request(HEAD)  # in flight while the server drains
    pair.server.start_drain()
    # The owner's timer fires because the PING ACK is late: nothing was seen yet.
    assert pair.server.finish_drain() == 0
    client_events, server_events = pair.pump()
    assert not of(server_events, RequestReceived)
    goaways = of(client_events, GoAwayReceived)
    assert [g.last_stream_id for g in goaways] == [MAX_ID, 0]
    [failed] = of(client_events, StreamFailed)
    assert failed.stream_id == sid
    assert failed.unprocessed and failed.status.code is StatusCode.UNAVAILABLE
    # The server refused the stream it had promised not to process; no connection error.
    assert not pair.client.terminated and not pair.server.terminated


def test_client_goaway_lower_streams_finish_higher_are_unprocessed(make_pair, raw_peer):
    pair = make_pair()
    client, server = pair.client, pair.server
    ids = [client.start_request(HEAD) for _ in range(4)]
    for sid in ids:
        client.send_message(sid, b"req", end=True)
    pair.pump()
    # A GOAWAY saying only streams up to ids[1] were processed.
    events = client.receive(raw_peer().goaway(ids[1], 0, b"shutting down"), 0.0)
    assert events[0] == GoAwayReceived(last_stream_id=ids[1], error_code=0, debug=b"shutting down")
    failed = of(events, StreamFailed)
    assert [e.stream_id for e in failed] == ids[2:]
    assert all(e.unprocessed and e.status.code is StatusCode.UNAVAILABLE for e in failed)
    assert not client.accepting_streams
    # The server's answers for the lower streams still arrive and complete.
    for sid in ids[:2]:
        server.send_message(sid, b"resp-%d" % sid)
        server.send_trailers(sid, CallStatus(code=StatusCode.OK))
    client_events, server_events = pair.pump()
    done = {e.stream_id: e.status.code for e in of(client_events, TrailersReceived)}
    assert done == {ids[0]: StatusCode.OK, ids[1]: StatusCode.OK}
    assert sorted(e.payload for e in of(client_events, MessageReceived)) == [
        b"resp-%d" % ids[0],
        b"resp-%d" % ids[1],
    ]
    # Nothing is sent for the dropped streams (the server ignores them, RFC 9113 6.8).
    assert not of(server_events, StreamReset)


def test_client_keeps_output_queued_before_goaway(make_pair, raw_peer):
    # h2 clears its output buffer on GOAWAY; ours must keep e.g. a WINDOW_UPDATE or DATA.
    pair = make_pair()
    sid = pair.client.start_request(HEAD)
    pending = pair.client.send_message(sid, b"x" * 1000, end=True)
    assert pending == 0
    pair.client.receive(raw_peer().goaway(sid), 0.0)
    frames = raw_peer().parse(pair.client.data_to_send())
    assert [f.kind for f in frames] == ["HeadersFrame", "DataFrame"]


def test_goaway_with_error_code_is_reported(make_pair, raw_peer):
    pair = make_pair()
    events = pair.client.receive(raw_peer().goaway(0, 0xB, b"too_many_pings"), 0.0)
    assert events == [GoAwayReceived(last_stream_id=0, error_code=0xB, debug=b"too_many_pings")]


def test_server_sees_client_goaway(make_pair, raw_peer):
    pair = make_pair()
    pair.client.close()
    _, server_events = pair.pump()
    assert of(server_events, GoAwayReceived) == [GoAwayReceived(last_stream_id=0, error_code=0)]
    assert pair.client.terminated


def test_drain_is_idempotent(make_pair, raw_peer):
    pair = make_pair(ConnectionConfig(), ConnectionConfig())
    pair.server.start_drain()
    pair.server.start_drain()
    frames = raw_peer().parse(pair.server.data_to_send())
    assert [f.kind for f in frames] == ["GoAwayFrame", "PingFrame"]
