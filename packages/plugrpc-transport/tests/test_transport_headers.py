"""Header blocks: requests (build / server-side checks), responses and trailers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_core import Metadata, StatusCode
from plugrpc_transport.protocol import (
    CallStatus,
    RequestHead,
    RequestRejected,
    ResponseHead,
    build_rejection_trailers,
    build_request_headers,
    build_response_headers,
    build_trailers,
    content_subtype_of,
    content_type_for,
    headers_to_metadata,
    is_informational,
    metadata_to_headers,
    parse_request_headers,
    parse_response_headers,
    parse_trailers,
)

Headers = list[tuple[bytes, bytes]]
PROTOCOL_ERROR = 0x1

BASE_REQUEST: Headers = [
    (b":method", b"POST"),
    (b":scheme", b"http"),
    (b":path", b"/pkg.Svc/Method"),
    (b":authority", b"localhost:50051"),
    (b"content-type", b"application/grpc"),
    (b"user-agent", b"grpc-go/1.85.0"),
    (b"te", b"trailers"),
]


def request(*extra: tuple[bytes, bytes], drop: tuple[bytes, ...] = ()) -> Headers:
    return [f for f in BASE_REQUEST if f[0] not in drop] + list(extra)


def rejection(headers: Headers) -> RequestRejected:
    with pytest.raises(RequestRejected) as info:
        parse_request_headers(headers)
    return info.value


def assert_reset(headers: Headers, fragment: str = "") -> None:
    exc = rejection(headers)
    assert exc.reset_code == PROTOCOL_ERROR, exc
    assert exc.http_status is None
    assert fragment in exc.message


def assert_answer(headers: Headers, http: int, code: StatusCode, fragment: str = "") -> None:
    exc = rejection(headers)
    assert exc.reset_code is None, exc
    assert (exc.http_status, exc.status) == (http, code)
    assert fragment in exc.message


# --- client: build_request_headers --------------------------------------------


def test_request_order_matches_grpc_go() -> None:
    head = RequestHead(
        path="/pkg.Svc/Method",
        authority="example.com:443",
        scheme="https",
        user_agent="app/1 grpc-python-plugrpc/0.1.0",
        timeout=0.25,
        encoding="gzip",
        accept_encoding="gzip,deflate",
        metadata=Metadata([("authorization", "Bearer t"), ("x-id-bin", b"\x00\xff")]),
    )
    assert build_request_headers(head) == [
        (b":method", b"POST"),
        (b":scheme", b"https"),
        (b":path", b"/pkg.Svc/Method"),
        (b":authority", b"example.com:443"),
        (b"content-type", b"application/grpc+proto"),
        (b"user-agent", b"app/1 grpc-python-plugrpc/0.1.0"),
        (b"te", b"trailers"),
        (b"grpc-encoding", b"gzip"),
        (b"grpc-accept-encoding", b"gzip,deflate"),
        (b"grpc-timeout", b"250000u"),
        (b"authorization", b"Bearer t"),
        (b"x-id-bin", b"AP8"),
    ]


def test_request_minimal_and_bare_subtype() -> None:
    head = RequestHead(path="/a/b", authority="h", content_subtype="")
    assert build_request_headers(head) == [
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":path", b"/a/b"),
        (b":authority", b"h"),
        (b"content-type", b"application/grpc"),
        (b"te", b"trailers"),
    ]


def test_request_reserved_metadata_is_never_sent() -> None:
    dropped = [
        "content-type", "user-agent", "te", "connection", "keep-alive", "proxy-connection",
        "transfer-encoding", "upgrade", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
        "grpc-message", "grpc-status", "grpc-message-type", "grpc-status-details-bin",
        "grpc-anything",
    ]  # fmt: skip
    kept: list[tuple[str, str | bytes]] = [
        ("grpc-previous-rpc-attempts", "1"),
        ("grpc-retry-pushback-ms", "10"),
        ("grpc-trace-bin", b"\x01"),
        ("grpc-tags-bin", b"\x02"),
        ("x-custom", "v"),
    ]
    pairs: list[tuple[str, str | bytes]] = [
        (k, b"x" if k.endswith("-bin") else "x") for k in dropped
    ]
    head = RequestHead(path="/a/b", authority="h", metadata=Metadata([*pairs, *kept]))
    fields = build_request_headers(head)
    assert fields[6:] == [
        (b"grpc-previous-rpc-attempts", b"1"),
        (b"grpc-retry-pushback-ms", b"10"),
        (b"grpc-trace-bin", b"AQ"),
        (b"grpc-tags-bin", b"Ag"),
        (b"x-custom", b"v"),
    ]
    names = [n for n, _ in fields]
    assert len(names) == len(set(names))


def test_server_metadata_forwarded_drops_authority_and_user_agent() -> None:
    received = parse_request_headers(request((b"x-a", b"1")))
    head = RequestHead(path="/a/b", authority="h", metadata=received.metadata)
    assert build_request_headers(head)[6:] == [(b"x-a", b"1")]


def test_request_prefix_is_cached_but_lists_are_fresh() -> None:
    head = RequestHead(path="/cache/Test", authority="h", timeout=1.0)
    first = build_request_headers(head)
    first.append((b"x-mutated", b"1"))
    second = build_request_headers(head)
    assert second is not first
    assert (b"x-mutated", b"1") not in second
    assert second[0] is first[0]  # the constant fields are shared tuples


@pytest.mark.parametrize(
    "head",
    [
        RequestHead(path="no-slash", authority="h"),
        RequestHead(path="/a b", authority="h"),
        RequestHead(path="/a\r\nx: y", authority="h"),
        RequestHead(path="/a", authority="h\x00"),
        RequestHead(path="/a", authority="h o"),
        RequestHead(path="/a", authority="h", user_agent="ua\n"),
        RequestHead(path="/a", authority="h", content_subtype="a b"),
        RequestHead(path="/a", authority="h", content_subtype="jsön"),
        RequestHead(path="/a", authority="h", encoding="gz\r\nip"),
    ],
)
def test_request_build_rejects_unsendable_values(head: RequestHead) -> None:
    with pytest.raises(ValueError):
        build_request_headers(head)


# --- server: parse_request_headers, the happy path ----------------------------


def test_parse_minimal_request() -> None:
    head = parse_request_headers(request())
    # ":authority" is not a key applications may set, so compare the pairs.
    assert head.metadata == [(":authority", "localhost:50051"), ("user-agent", "grpc-go/1.85.0")]
    assert head == RequestHead(
        path="/pkg.Svc/Method",
        authority="localhost:50051",
        scheme="http",
        content_subtype="",
        user_agent="grpc-go/1.85.0",
        metadata=head.metadata,
    )


def test_parse_consumes_library_fields() -> None:
    head = parse_request_headers(
        request(
            (b"grpc-timeout", b"100m"),
            (b"grpc-encoding", b"gzip"),
            (b"grpc-accept-encoding", b"gzip"),
            (b"grpc-accept-encoding", b""),
            (b"grpc-accept-encoding", b"deflate,zstd"),
            (b"grpc-message", b"ignored"),
            (b"grpc-status", b"0"),
            (b"grpc-message-type", b"x"),
            (b"x-a", b"1"),
            (b"x-b-bin", b"AQI"),
            (b"x-a", b"2"),
            (b"grpc-previous-rpc-attempts", b"2"),
            (b"grpc-status-details-bin", b"AQ"),
        )
    )
    assert head.timeout == 0.1
    assert head.encoding == "gzip"
    assert head.accept_encoding == "gzip,deflate,zstd"
    assert list(head.metadata) == [
        (":authority", "localhost:50051"),
        ("user-agent", "grpc-go/1.85.0"),
        ("x-a", "1"),
        ("x-b-bin", b"\x01\x02"),
        ("x-a", "2"),
        ("grpc-previous-rpc-attempts", "2"),
        ("grpc-status-details-bin", b"\x01"),
    ]


def test_parse_comma_joined_bin_values_become_separate_values() -> None:
    head = parse_request_headers(request((b"x-bin", b"YQ,Yg==")))
    assert head.metadata.get_all("x-bin") == [b"a", b"b"]


def test_parse_drops_values_outside_printable_ascii() -> None:
    head = parse_request_headers(
        request(
            (b"x-utf8", "café".encode()),
            (b"x-ctl", b"a\x01b"),
            (b"x-tab", b"a\tb"),
            (b"x-del", b"\x7f"),
            (b"x-ok", b" spaced "),
            (b"x!odd", b"legal HTTP name, not a gRPC key"),
        )
    )
    assert head.metadata.get_all("x-ok") == [" spaced "]
    assert [k for k, _ in head.metadata] == [":authority", "user-agent", "x-ok"]


@pytest.mark.parametrize(
    ("content_type", "subtype"),
    [
        (b"application/grpc", ""),
        (b"application/grpc+proto", "proto"),
        (b"application/grpc+json", "json"),
        (b"application/grpc+PROTO", "proto"),
        (b"Application/GRPC", ""),
        (b"application/grpc;proto", "proto"),
        (b"application/grpc; charset=utf-8", ""),
        (b"application/grpc+proto; charset=utf-8", "proto"),
        (b"application/grpc+", ""),
    ],
)
def test_parse_content_subtypes(content_type: bytes, subtype: str) -> None:
    assert content_subtype_of(content_type) == subtype
    fields = request((b"content-type", content_type), drop=(b"content-type",))
    assert parse_request_headers(fields).content_subtype == subtype


@pytest.mark.parametrize(
    "content_type",
    [b"", b"text/html", b"application/grpc-web", b"application/grpcx", b"application/json"],
)
def test_non_grpc_content_types(content_type: bytes) -> None:
    assert content_subtype_of(content_type) is None


def test_host_becomes_authority_when_missing() -> None:
    head = parse_request_headers(request((b"host", b"other:1"), drop=(b":authority",)))
    assert head.authority == "other:1"
    assert head.metadata.get(":authority") == "other:1"
    assert "host" not in head.metadata


def test_host_is_dropped_when_authority_present() -> None:
    head = parse_request_headers(request((b"host", b"other:1")))
    assert head.authority == "localhost:50051"
    assert "host" not in head.metadata


def test_no_authority_no_host_is_valid() -> None:
    head = parse_request_headers(request(drop=(b":authority",)))
    assert head.authority == ""
    assert ":authority" not in head.metadata


def test_te_is_optional_and_case_insensitive() -> None:
    assert parse_request_headers(request(drop=(b"te",))).path == "/pkg.Svc/Method"
    fields = request((b"te", b"Trailers"), drop=(b"te",))
    assert parse_request_headers(fields).path == "/pkg.Svc/Method"


def test_zero_timeout_is_accepted() -> None:
    assert parse_request_headers(request((b"grpc-timeout", b"0S"))).timeout == 0.0


def test_missing_scheme_defaults_to_http() -> None:
    assert parse_request_headers(request(drop=(b":scheme",))).scheme == "http"


# --- server: rejections -------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ([*BASE_REQUEST[:4], (b"x-a", b"1"), (b":authority", b"h")], "after a regular"),
        ([(b"content-type", b"application/grpc"), *BASE_REQUEST], "after a regular"),
        ([(b":protocol", b"websocket"), *BASE_REQUEST], "unknown pseudo"),
        ([(b":status", b"200"), *BASE_REQUEST], "unknown pseudo"),
        ([(b":path", b"/x/y"), *BASE_REQUEST], "duplicate"),
        ([(b":authority", b"a"), *BASE_REQUEST], "duplicate"),
        ([(b":method", b"POST"), *BASE_REQUEST], "duplicate"),
        (request(drop=(b":path",)), ":path"),
        ([(n, b"" if n == b":path" else v) for n, v in BASE_REQUEST], ":path"),
        (request((b"X-Upper", b"1")), "invalid header name"),
        (request((b"x-a b", b"1")), "invalid header name"),
        (request((b"x:a", b"1")), "invalid header name"),
        (request((b"", b"1")), "invalid header name"),
        (request((b"x\x7f", b"1")), "invalid header name"),
        (request((b"x\xc3\xa9", b"1")), "invalid header name"),
        (request((b"x-a", b"1\r\n2")), "CR, LF or NUL"),
        (request((b"x-a", b"1\n")), "CR, LF or NUL"),
        (request((b"x-a", b"\x00")), "CR, LF or NUL"),
        (request((b"x-a-bin", b"AQ\r")), "CR, LF or NUL"),
        ([(n, v + b"\r\n" if n == b":path" else v) for n, v in BASE_REQUEST], "CR, LF or NUL"),
        (request((b"connection", b"keep-alive")), "connection-specific"),
        (request((b"keep-alive", b"5")), "connection-specific"),
        (request((b"proxy-connection", b"x")), "connection-specific"),
        (request((b"transfer-encoding", b"chunked")), "connection-specific"),
        (request((b"upgrade", b"h2c")), "connection-specific"),
        (request((b"te", b"gzip"), drop=(b"te",)), "te header"),
        (request((b"te", b"trailers, gzip"), drop=(b"te",)), "te header"),
    ],
)
def test_malformed_requests_are_reset(fields: Headers, fragment: str) -> None:
    assert_reset(fields, fragment)


def test_request_method_not_post() -> None:
    fields = [(n, b"GET" if n == b":method" else v) for n, v in BASE_REQUEST]
    assert_answer(fields, 405, StatusCode.INTERNAL, "POST")
    assert_answer(request(drop=(b":method",)), 405, StatusCode.INTERNAL, "POST")


@pytest.mark.parametrize("content_type", [b"text/html", b"application/grpc-web", b""])
def test_request_bad_content_type(content_type: bytes) -> None:
    fields = request((b"content-type", content_type), drop=(b"content-type",))
    assert_answer(fields, 415, StatusCode.INVALID_ARGUMENT, "content-type")


def test_request_missing_content_type() -> None:
    exc = rejection(request(drop=(b"content-type",)))
    assert (exc.http_status, exc.status) == (415, StatusCode.INVALID_ARGUMENT)
    assert exc.content_subtype == ""


def test_request_two_hosts() -> None:
    assert_answer(request((b"host", b"a"), (b"host", b"b")), 400, StatusCode.INTERNAL, "host")


@pytest.mark.parametrize("value", [b"1", b"1x", b"123456789S", b"-1S", b"1s", b""])
def test_request_bad_timeout(value: bytes) -> None:
    fields = request((b"grpc-timeout", value))
    assert_answer(fields, 400, StatusCode.INTERNAL, "malformed grpc-timeout: ")


def test_request_bad_binary_metadata() -> None:
    exc = rejection(request((b"x-trace-bin", b"not base64!")))
    assert (exc.http_status, exc.status, exc.reset_code) == (400, StatusCode.INTERNAL, None)
    assert "x-trace-bin" in exc.message


def test_rejection_precedence() -> None:
    # Malformed HTTP/2 beats every gRPC-level problem, wherever it appears in the block.
    fields = [(n, b"GET" if n == b":method" else v) for n, v in BASE_REQUEST]
    assert_reset([*fields, (b"grpc-timeout", b"x"), (b"connection", b"close")])
    # A41 order: host count, content-type, header errors, method.
    bad_ct = [(n, b"text/plain" if n == b"content-type" else v) for n, v in fields]
    assert_answer([*bad_ct, (b"host", b"a"), (b"host", b"b")], 400, StatusCode.INTERNAL)
    assert_answer([*bad_ct, (b"grpc-timeout", b"x")], 415, StatusCode.INVALID_ARGUMENT)
    assert_answer([*fields, (b"grpc-timeout", b"x")], 400, StatusCode.INTERNAL)


def test_rejection_keeps_the_request_subtype() -> None:
    fields = request((b"grpc-timeout", b"bad"), (b"content-type", b"application/grpc+json"))
    fields = [f for f in fields if f != (b"content-type", b"application/grpc")]
    exc = rejection(fields)
    assert exc.content_subtype == "json"
    answer = build_rejection_trailers(exc)
    assert answer[:3] == [
        (b":status", b"400"),
        (b"content-type", b"application/grpc+json"),
        (b"grpc-status", b"13"),
    ]
    assert answer[3][0] == b"grpc-message"
    assert parse_response_headers(answer) == CallStatus(
        code=StatusCode.INTERNAL, message=exc.message
    )


def test_rejection_trailers_refuse_a_reset() -> None:
    exc = rejection(request((b"connection", b"close")))
    with pytest.raises(ValueError, match="RST_STREAM"):
        build_rejection_trailers(exc)


# --- server: building responses -----------------------------------------------


def test_response_headers() -> None:
    head = ResponseHead(
        metadata=Metadata([("x-a", "1"), ("x-b-bin", b"\x01"), ("grpc-status", "0")]),
        encoding="gzip",
        accept_encoding="gzip,identity",
        content_subtype="json",
    )
    assert build_response_headers(head) == [
        (b":status", b"200"),
        (b"content-type", b"application/grpc+json"),
        (b"grpc-encoding", b"gzip"),
        (b"grpc-accept-encoding", b"gzip,identity"),
        (b"x-a", b"1"),
        (b"x-b-bin", b"AQ"),
    ]
    assert build_response_headers(ResponseHead(metadata=Metadata(), content_subtype="")) == [
        (b":status", b"200"),
        (b"content-type", b"application/grpc"),
    ]


def test_ok_trailers_and_their_cache() -> None:
    ok = CallStatus(code=StatusCode.OK)
    first = build_trailers(ok, trailers_only=False)
    assert first == [(b"grpc-status", b"0"), (b"grpc-message", b"")]
    first.append((b"x", b"y"))
    assert build_trailers(ok, trailers_only=False) == [
        (b"grpc-status", b"0"),
        (b"grpc-message", b""),
    ]
    assert build_trailers(ok, trailers_only=True, content_subtype="") == [
        (b":status", b"200"),
        (b"content-type", b"application/grpc"),
        (b"grpc-status", b"0"),
        (b"grpc-message", b""),
    ]


def test_error_trailers() -> None:
    status = CallStatus(
        code=StatusCode.FAILED_PRECONDITION,
        message="bad ☺ 100%",
        details_bin=b"\x08\x09",
        metadata=Metadata(
            [
                ("x-t", "v"),
                ("grpc-status-details-bin", b"user copy"),
                ("grpc-retry-pushback-ms", "5"),
            ]
        ),
    )
    assert build_trailers(status, trailers_only=False) == [
        (b"grpc-status", b"9"),
        (b"grpc-message", b"bad %E2%98%BA 100%25"),
        (b"grpc-status-details-bin", b"CAk"),
        (b"x-t", b"v"),
        (b"grpc-retry-pushback-ms", b"5"),
    ]


def test_trailers_only_with_http_status() -> None:
    fields = build_trailers(
        CallStatus(code=StatusCode.INVALID_ARGUMENT, message="m"),
        trailers_only=True,
        content_subtype="",
        http_status=415,
    )
    assert fields[:2] == [(b":status", b"415"), (b"content-type", b"application/grpc")]
    with pytest.raises(ValueError):
        build_trailers(CallStatus(code=StatusCode.OK), trailers_only=True, http_status=42)


def test_content_type_for() -> None:
    assert content_type_for("") == b"application/grpc"
    assert content_type_for("proto") == b"application/grpc+proto"
    assert content_type_for("my.codec-v2") == b"application/grpc+my.codec-v2"
    for bad in ["a;b", "a b", "a,b", "ü"]:
        with pytest.raises(ValueError):
            content_type_for(bad)


# --- client: parse_response_headers -------------------------------------------

OK_HEADERS: Headers = [(b":status", b"200"), (b"content-type", b"application/grpc+proto")]


def test_parse_normal_response_headers() -> None:
    head = parse_response_headers(
        [
            *OK_HEADERS,
            (b"grpc-encoding", b"gzip"),
            (b"grpc-accept-encoding", b"gzip"),
            (b"grpc-accept-encoding", b"zstd"),
            (b"x-a", b"1"),
            (b"x-b-bin", b"AQ=="),
            (b"x-bad", b"\xff"),
            (b"te", b"trailers"),
        ]
    )
    assert head == ResponseHead(
        metadata=Metadata([("x-a", "1"), ("x-b-bin", b"\x01")]),
        encoding="gzip",
        accept_encoding="gzip,zstd",
        content_subtype="proto",
    )


def test_parse_trailers_only_response() -> None:
    status = parse_response_headers(
        [*OK_HEADERS, (b"grpc-status", b"5"), (b"grpc-message", b"no%20such"), (b"x-t", b"1")]
    )
    assert status == CallStatus(
        code=StatusCode.NOT_FOUND, message="no such", metadata=Metadata([("x-t", "1")])
    )


@pytest.mark.parametrize(
    ("fields", "code", "fragments"),
    [
        ([(b"content-type", b"application/grpc")], StatusCode.INTERNAL, ["missing HTTP status"]),
        (
            [(b":status", b"2OO"), (b"content-type", b"application/grpc")],
            StatusCode.INTERNAL,
            ["malformed HTTP status"],
        ),
        (
            [(b":status", b"404"), (b"content-type", b"text/html")],
            StatusCode.UNIMPLEMENTED,
            ["404 (Not Found)", "text/html"],
        ),
        (
            [(b":status", b"200"), (b"content-type", b"text/html")],
            StatusCode.UNKNOWN,
            ["text/html"],
        ),
        ([(b":status", b"200")], StatusCode.UNKNOWN, ["missing HTTP content-type"]),
        ([(b":status", b"503")], StatusCode.UNAVAILABLE, ["503", "content-type"]),
        (
            [(b":status", b"401"), (b"content-type", b"application/grpc")],
            StatusCode.UNAUTHENTICATED,
            ["401 (Unauthorized)"],
        ),
        (
            [(b":status", b"502"), (b"content-type", b"application/grpc+proto")],
            StatusCode.UNAVAILABLE,
            ["502"],
        ),
        (
            [(b":status", b"599"), (b"content-type", b"application/grpc")],
            StatusCode.UNKNOWN,
            ["599 (unknown)"],
        ),
        # grpc-status from a non-gRPC content-type is not believed (grpc-go).
        (
            [(b":status", b"200"), (b"content-type", b"text/plain"), (b"grpc-status", b"0")],
            StatusCode.UNKNOWN,
            ["text/plain"],
        ),
        # A gRPC block with grpc-status is trailers-only whatever its :status.
        (
            [
                (b":status", b"503"),
                (b"content-type", b"application/grpc"),
                (b"grpc-status", b"8"),
                (b"grpc-message", b"busy"),
            ],
            StatusCode.RESOURCE_EXHAUSTED,
            ["busy"],
        ),
        (
            [*OK_HEADERS, (b"x-bin", b"!!")],
            StatusCode.INTERNAL,
            ["x-bin"],
        ),
    ],
)
def test_parse_response_header_failures(
    fields: Headers, code: StatusCode, fragments: list[str]
) -> None:
    status = parse_response_headers(fields)
    assert isinstance(status, CallStatus)
    assert status.code is code
    for fragment in fragments:
        assert fragment in status.message


def test_is_informational() -> None:
    assert is_informational([(b":status", b"100")])
    assert is_informational([(b":status", b"103"), (b"link", b"x")])
    assert not is_informational(OK_HEADERS)
    assert not is_informational([(b":status", b"1000")])
    assert not is_informational([(b":status", b"1x0")])
    assert not is_informational([(b"content-type", b"application/grpc")])


# --- client: parse_trailers ---------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            [(b"grpc-status", b"0"), (b"grpc-message", b"")],
            CallStatus(code=StatusCode.OK),
        ),
        ([(b"grpc-status", b"0")], CallStatus(code=StatusCode.OK)),
        ([(b"grpc-status", b"16")], CallStatus(code=StatusCode.UNAUTHENTICATED)),
        ([(b"grpc-status", b"17")], CallStatus(code=StatusCode.UNKNOWN)),
        ([(b"grpc-status", b"007")], CallStatus(code=StatusCode.PERMISSION_DENIED)),
        (
            [(b"grpc-status", b"3"), (b"grpc-message", b"bad%ZZ%41")],
            CallStatus(code=StatusCode.INVALID_ARGUMENT, message="bad%ZZA"),
        ),
        (
            [(b"grpc-status", b"3"), (b"grpc-status-details-bin", b"CAM")],
            CallStatus(code=StatusCode.INVALID_ARGUMENT, details_bin=b"\x08\x03"),
        ),
        (
            [(b"grpc-status", b"3"), (b"grpc-status-details-bin", b"CAM=")],
            CallStatus(code=StatusCode.INVALID_ARGUMENT, details_bin=b"\x08\x03"),
        ),
        # Repeated, comma-joined or undecodable details are ignored (grpc-go).
        (
            [
                (b"grpc-status", b"3"),
                (b"grpc-status-details-bin", b"CAM"),
                (b"grpc-status-details-bin", b"CAM"),
            ],
            CallStatus(code=StatusCode.INVALID_ARGUMENT),
        ),
        (
            [(b"grpc-status", b"3"), (b"grpc-status-details-bin", b"CAM,CAM")],
            CallStatus(code=StatusCode.INVALID_ARGUMENT),
        ),
        (
            [(b"grpc-status", b"3"), (b"grpc-status-details-bin", b"!!")],
            CallStatus(code=StatusCode.INVALID_ARGUMENT),
        ),
        (
            [
                (b":status", b"200"),
                (b"content-type", b"application/grpc"),
                (b"grpc-status", b"14"),
                (b"grpc-encoding", b"gzip"),
                (b"grpc-retry-pushback-ms", b"100"),
                (b"x-t-bin", b"AQ"),
                (b"x-t", b"a"),
                (b"x-non-ascii", b"\xc3\xa9"),
                (b"Upper", b"dropped"),
            ],
            CallStatus(
                code=StatusCode.UNAVAILABLE,
                metadata=Metadata(
                    [("grpc-retry-pushback-ms", "100"), ("x-t-bin", b"\x01"), ("x-t", "a")]
                ),
            ),
        ),
    ],
)
def test_parse_trailers(fields: Headers, expected: CallStatus) -> None:
    assert parse_trailers(fields) == expected


def test_trailers_missing_status() -> None:
    status = parse_trailers([(b"x-a", b"1")])
    assert status.code is StatusCode.UNKNOWN
    assert "grpc-status" in status.message
    assert status.metadata == [("x-a", "1")]
    kept = parse_trailers([(b"grpc-message", b"why")])
    assert (kept.code, kept.message) == (StatusCode.UNKNOWN, "why")


@pytest.mark.parametrize("value", [b"abc", b"-1", b"+1", b"", b" 0", b"1.0"])
def test_trailers_malformed_status(value: bytes) -> None:
    status = parse_trailers([(b"grpc-status", value), (b"grpc-message", b"m")])
    assert status.code is StatusCode.UNKNOWN
    assert "malformed grpc-status" in status.message


def test_trailers_bad_binary_metadata_is_internal() -> None:
    status = parse_trailers([(b"grpc-status", b"0"), (b"x-bin", b"@@@")])
    assert status.code is StatusCode.INTERNAL
    assert "x-bin" in status.message


# --- metadata conversion helpers ----------------------------------------------


def test_metadata_to_headers_and_back() -> None:
    md = Metadata([("a", "1"), ("b-bin", b"\x00"), ("te", "x"), ("a", "2")])
    fields = metadata_to_headers(md)
    assert fields == [(b"a", b"1"), (b"b-bin", b"AA"), (b"a", b"2")]
    assert headers_to_metadata(fields) == [("a", "1"), ("b-bin", b"\x00"), ("a", "2")]
    assert headers_to_metadata([(b":status", b"200"), *fields], start=2) == [
        ("b-bin", b"\x00"),
        ("a", "2"),
    ]
    with pytest.raises(ValueError, match="b-bin"):
        headers_to_metadata([(b"b-bin", b"?")])


def test_headers_to_metadata_skips_consumed_fields() -> None:
    fields = [
        (b":status", b"200"),
        (b"content-type", b"application/grpc"),
        (b"grpc-status", b"0"),
        (b"grpc-message", b""),
        (b"grpc-encoding", b"gzip"),
        (b"connection", b"close"),
        (b"x", b"y"),
    ]
    assert headers_to_metadata(fields) == [("x", "y")]


# --- Hypothesis ---------------------------------------------------------------

_RESERVED = {
    "content-type", "user-agent", "te", "host", "connection", "keep-alive", "proxy-connection",
    "transfer-encoding", "upgrade",
}  # fmt: skip
keys = st.from_regex(r"[0-9a-z_.\-]{1,12}", fullmatch=True).filter(
    lambda k: k not in _RESERVED and not k.startswith("grpc-")
)
text_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@st.composite
def metadata(draw: st.DrawFn) -> Metadata:
    pairs: list[tuple[str, str | bytes]] = []
    for key in draw(st.lists(keys, max_size=8)):
        if key.endswith("-bin"):
            pairs.append((key, draw(st.binary(max_size=20))))
        else:
            pairs.append((key, draw(text_values)))
    return Metadata(pairs)


@settings(max_examples=300, deadline=None)
@given(
    md=metadata(),
    timeout=st.none() | st.floats(min_value=1e-6, max_value=1e6),
    subtype=st.sampled_from(["", "proto", "json"]),
    encoding=st.none() | st.sampled_from(["gzip", "identity"]),
)
def test_request_round_trip(
    md: Metadata, timeout: float | None, subtype: str, encoding: str | None
) -> None:
    sent = RequestHead(
        path="/pkg.S/M",
        authority="h:1",
        content_subtype=subtype,
        user_agent="ua/1",
        timeout=timeout,
        encoding=encoding,
        accept_encoding="gzip",
        metadata=md,
    )
    got = parse_request_headers(build_request_headers(sent))
    assert got.path == sent.path
    assert got.authority == sent.authority
    assert got.content_subtype == subtype
    assert got.encoding == encoding
    assert got.accept_encoding == "gzip"
    assert got.user_agent == "ua/1"
    if timeout is None:
        assert got.timeout is None
    else:
        assert got.timeout is not None
        assert got.timeout >= timeout
    assert list(got.metadata)[:2] == [(":authority", "h:1"), ("user-agent", "ua/1")]
    assert list(got.metadata)[2:] == list(md)


@settings(max_examples=300, deadline=None)
@given(
    md=metadata(),
    code=st.sampled_from(list(StatusCode)),
    message=st.text(max_size=40),
    details=st.none() | st.binary(max_size=30),
    trailers_only=st.booleans(),
)
def test_trailers_round_trip(
    md: Metadata, code: StatusCode, message: str, details: bytes | None, trailers_only: bool
) -> None:
    sent = CallStatus(code=code, message=message, details_bin=details, metadata=md)
    fields = build_trailers(sent, trailers_only=trailers_only, content_subtype="proto")
    got = parse_response_headers(fields) if trailers_only else parse_trailers(fields)
    expected_message = message.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert got == CallStatus(code=code, message=expected_message, details_bin=details, metadata=md)


@settings(max_examples=200, deadline=None)
@given(md=metadata(), subtype=st.sampled_from(["", "proto", "json"]))
def test_response_headers_round_trip(md: Metadata, subtype: str) -> None:
    sent = ResponseHead(metadata=md, encoding="gzip", content_subtype=subtype)
    assert parse_response_headers(build_response_headers(sent)) == sent


field_names = st.sampled_from(
    [b":method", b":path", b":authority", b":scheme", b":status", b":x", b"content-type",
     b"te", b"grpc-timeout", b"grpc-status", b"grpc-message", b"grpc-status-details-bin",
     b"host", b"x-a", b"x-a-bin", b"Upper", b"connection", b"", b"user-agent"]
) | st.binary(max_size=6)  # fmt: skip
field_values = st.sampled_from(
    [b"POST", b"/a/b", b"application/grpc", b"trailers", b"1S", b"0", b"200", b"AQ"]
) | st.binary(max_size=8)  # fmt: skip
fields = st.lists(st.tuples(field_names, field_values), max_size=10)


@settings(max_examples=1000, deadline=None)
@given(fields)
def test_random_blocks_never_crash(block: Headers) -> None:
    try:
        head = parse_request_headers(block)
    except RequestRejected as exc:
        assert (exc.reset_code is None) != (exc.http_status is None)
    else:
        assert head.path.startswith("/") or head.path
    assert isinstance(parse_response_headers(block), (ResponseHead, CallStatus))
    assert isinstance(parse_trailers(block), CallStatus)
