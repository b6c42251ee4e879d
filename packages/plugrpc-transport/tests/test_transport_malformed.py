"""Malformed requests are answered on their own stream, never by closing the connection
(RFC 9113 section 8.1.1; grpc-go; reliability rows 17-18): raw frames into the server
machine, with a healthy neighbour stream on the same connection that must complete."""

from __future__ import annotations

import pytest
from plugrpc_core import StatusCode
from plugrpc_transport.protocol._config import ConnectionConfig
from plugrpc_transport.protocol._events import (
    ConnectionTerminated,
    MessageReceived,
    RequestEnded,
    RequestReceived,
)
from plugrpc_transport.protocol._headers import CallStatus
from plugrpc_transport.protocol._server_machine import ServerMachine

BASE = [
    (b":method", b"POST"),
    (b":scheme", b"http"),
    (b":path", b"/pkg.Svc/Method"),
    (b":authority", b"localhost"),
    (b"content-type", b"application/grpc"),
    (b"te", b"trailers"),
]
PROTOCOL_ERROR = 0x1

# (id, header list, expected answer): ("rst", code) or ("status", http_status, grpc_code)
CASES = [
    ("uppercase-name", [*BASE, (b"X-Upper", b"v")], ("rst", PROTOCOL_ERROR)),
    ("connection-header", [*BASE, (b"connection", b"keep-alive")], ("rst", PROTOCOL_ERROR)),
    ("keep-alive-header", [*BASE, (b"keep-alive", b"5")], ("rst", PROTOCOL_ERROR)),
    ("te-gzip", [*BASE[:5], (b"te", b"gzip")], ("rst", PROTOCOL_ERROR)),
    ("crlf-in-value", [*BASE, (b"x-evil", b"a\r\nb")], ("rst", PROTOCOL_ERROR)),
    ("nul-in-value", [*BASE, (b"x-evil", b"a\x00b")], ("rst", PROTOCOL_ERROR)),
    ("missing-path", [h for h in BASE if h[0] != b":path"], ("rst", PROTOCOL_ERROR)),
    ("duplicate-pseudo", [*BASE[:3], (b":path", b"/x.Y/Z"), *BASE[3:]], ("rst", PROTOCOL_ERROR)),
    ("unknown-pseudo", [*BASE[:4], (b":protocol", b"x"), *BASE[4:]], ("rst", PROTOCOL_ERROR)),
    ("pseudo-after-regular", BASE[4:] + BASE[:4], ("rst", PROTOCOL_ERROR)),
    ("get-method", [(b":method", b"GET"), *BASE[1:]], ("status", 405, StatusCode.INTERNAL)),
    (
        "html-content-type",
        [*BASE[:4], (b"content-type", b"text/html"), *BASE[5:]],
        ("status", 415, None),
    ),
    (
        "two-hosts",
        [h for h in BASE if h[0] != b":authority"] + [(b"host", b"a"), (b"host", b"b")],
        ("status", 400, StatusCode.INTERNAL),
    ),
    ("bad-timeout", [*BASE, (b"grpc-timeout", b"1x")], ("status", 400, StatusCode.INTERNAL)),
    ("bad-bin", [*BASE, (b"x-data-bin", b"!!!")], ("status", 400, StatusCode.INTERNAL)),
    (
        "oversized",
        [*BASE, (b"x-big", b"a" * 20000)],
        ("status", 431, StatusCode.RESOURCE_EXHAUSTED),
    ),
]


@pytest.mark.parametrize(("headers", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_request_answered_on_its_stream(raw_peer, headers, expected):
    server = ServerMachine(ConnectionConfig())
    server.initiate()
    peer = raw_peer()
    server.receive(peer.preface() + peer.settings(ack=True), 0.0)
    peer.parse(server.data_to_send())
    # A healthy neighbour opens first and stays open across the bad request.
    events = server.receive(peer.request(1), 0.0)
    assert [type(e) for e in events] == [RequestReceived]

    events = server.receive(peer.headers(3, headers) + peer.message(3, b"ignored"), 0.0)
    assert not [e for e in events if type(e) in (RequestReceived, ConnectionTerminated)]
    frames = [f for f in peer.parse(server.data_to_send()) if f.stream_id == 3]
    if expected[0] == "rst":
        assert [f.kind for f in frames][:1] == ["RstStreamFrame"]
        assert frames[0].frame.error_code == expected[1]
    else:
        answer = frames[0]
        assert answer.kind == "HeadersFrame" and "END_STREAM" in answer.frame.flags
        assert answer.header(b":status") == str(expected[1]).encode()
        if expected[2] is not None:
            assert answer.header(b"grpc-status") == str(int(expected[2])).encode()
        assert answer.header(b"content-type").startswith(b"application/grpc")
        # The client had not half-closed: RST_STREAM(NO_ERROR) follows the answer.
        assert [(f.kind, f.frame.error_code) for f in frames[1:2]] == [("RstStreamFrame", 0)]
    assert server.running_handlers == 1  # the handler never ran for stream 3

    # The neighbour completes normally on the same connection.
    events = server.receive(peer.message(1, b"hello", end_stream=True), 0.0)
    assert [type(e) for e in events] == [MessageReceived, RequestEnded]
    server.send_message(1, b"world")
    server.send_trailers(1, CallStatus(code=StatusCode.OK))
    frames = peer.parse(server.data_to_send())
    assert [f.kind for f in frames] == ["HeadersFrame", "DataFrame", "HeadersFrame"]
    assert frames[-1].header(b"grpc-status") == b"0"
    assert not server.terminated


def test_header_bomb_above_hard_limit_ends_connection(raw_peer):
    # Above the HPACK hard limit (4x the advertised size) it is an attack, not a mistake.
    server = ServerMachine(ConnectionConfig(max_header_list_size=1024))
    server.initiate()
    peer = raw_peer()
    server.receive(peer.preface(), 0.0)
    headers = BASE + [(b"x-big-%d" % i, b"b" * 1000) for i in range(70)]
    block = peer.headers(1, headers)
    events = server.receive(block, 0.0)
    assert [type(e) for e in events] == [ConnectionTerminated]
    goaway = [f for f in peer.parse(server.data_to_send()) if f.kind == "GoAwayFrame"]
    assert goaway and goaway[-1].frame.error_code != 0


def test_request_with_end_stream_and_no_message(raw_peer):
    server = ServerMachine()
    server.initiate()
    peer = raw_peer()
    server.receive(peer.preface(), 0.0)
    events = server.receive(peer.request(1, end_stream=True), 0.0)
    assert [type(e) for e in events] == [RequestReceived, RequestEnded]
