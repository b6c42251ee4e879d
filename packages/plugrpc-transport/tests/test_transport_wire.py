"""Small wire pieces: grpc-message, -bin values, status maps, errors, exports."""

from __future__ import annotations

import base64
import inspect
import pickle

import plugrpc_transport.protocol as protocol
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_core import StatusCode
from plugrpc_transport.protocol import (
    RequestRejected,
    decode_binary_header,
    decode_grpc_message,
    describe_reset_code,
    encode_binary_header,
    encode_grpc_message,
    header_list_size,
    status_from_http_status,
    status_from_reset_code,
)

SPECIAL_STATUS_MESSAGE = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"

# --- grpc-message percent-encoding (census 2.7; grpc-go TestEncodeGrpcMessage) ---


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("", b""),
        ("Hello", b"Hello"),
        ("\u0000", b"%00"),
        ("%", b"%25"),
        ("100% sure", b"100%25 sure"),
        ("系统", b"%E7%B3%BB%E7%BB%9F"),
        ("\x7f", b"%7F"),
        ("~ !", b"~ !"),
        (
            SPECIAL_STATUS_MESSAGE,
            b"%09%0Atest with whitespace%0D%0Aand Unicode BMP %E2%98%BA and non-BMP "
            b"%F0%9F%98%88%09%0A",
        ),
    ],
)
def test_encode_grpc_message(text: str, wire: bytes) -> None:
    assert encode_grpc_message(text) == wire
    assert decode_grpc_message(wire) == text


def test_encode_passes_every_printable_but_percent() -> None:
    for code in range(0x20, 0x7F):
        char = chr(code)
        expected = b"%25" if char == "%" else char.encode()
        assert encode_grpc_message(char) == expected


def test_encode_escapes_controls_uppercase_hex() -> None:
    for code in [*range(0x20), 0x7F]:
        assert encode_grpc_message(chr(code)) == b"%%%02X" % code


def test_lone_surrogate_becomes_replacement_character() -> None:
    wire = encode_grpc_message("a\ud800b")
    assert b"%EF%BF%BD" in wire
    assert decode_grpc_message(wire).startswith("a\ufffd")
    assert decode_grpc_message(wire).endswith("b")


@pytest.mark.parametrize(
    ("wire", "text"),
    [
        (b"", ""),
        (b"Hello", "Hello"),
        (b"H%61o", "Hao"),
        (b"H%6", "H%6"),
        (b"%G0", "%G0"),
        (b"%", "%"),
        (b"%%", "%%"),
        (b"%%41", "%A"),
        (b"%e7%b3%bb", "系"),  # lowercase hex accepted
        (b"%E7%B3%BB%E7%BB%9F", "系统"),
        (b"%EF%BF%BD", "\ufffd"),
        (b"%FF", "\ufffd"),  # invalid UTF-8 after decoding
        (b"%E7%B3", "\ufffd"),  # truncated UTF-8
        (b"\xe2\x98\xba raw", "☺ raw"),  # a peer that did not encode
        (b"\xff", "\ufffd"),
        (b"a%2", "a%2"),
        (b"%2x5", "%2x5"),
    ],
)
def test_decode_grpc_message_is_lenient(wire: bytes, text: str) -> None:
    assert decode_grpc_message(wire) == text


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_grpc_message_round_trip(text: str) -> None:
    wire = encode_grpc_message(text)
    assert all(0x20 <= b <= 0x7E for b in wire)
    expected = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert decode_grpc_message(wire) == expected


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_decode_grpc_message_never_raises(wire: bytes) -> None:
    assert isinstance(decode_grpc_message(wire), str)


# --- -bin values (census 2.5; grpc-go TestEncode/DecodeMetadataHeader) --------


@pytest.mark.parametrize(
    ("raw", "wire"),
    [
        (b"", b""),
        (b"abc", b"YWJj"),
        (b"\xc2\x80", b"woA"),
        (b"foo\x00bar", b"Zm9vAGJhcg"),
        (b"\xff\xfe", b"//4"),  # standard alphabet, not URL-safe
        (b"\xfb", b"+w"),
    ],
)
def test_encode_binary_header_unpadded(raw: bytes, wire: bytes) -> None:
    assert encode_binary_header(raw) == wire
    assert decode_binary_header(wire) == [raw]


@pytest.mark.parametrize(
    ("wire", "values"),
    [
        (b"Zm9vAGJhcg==", [b"foo\x00bar"]),
        (b"Zm9vAGJhcg", [b"foo\x00bar"]),
        (b"woA=", [b"\xc2\x80"]),
        (b"woA", [b"\xc2\x80"]),
        (b"YWJj", [b"abc"]),
        (b"", [b""]),
        (b"YQ,Yg==,Yw", [b"a", b"b", b"c"]),
        (b"YQ==,", [b"a", b""]),
    ],
)
def test_decode_binary_header_both_forms_and_commas(wire: bytes, values: list[bytes]) -> None:
    assert decode_binary_header(wire) == values


@pytest.mark.parametrize(
    "wire",
    [
        b"Y",
        b"YWJjZ",
        b"Y===",
        b"YQ=",
        b"Y=Q=",
        b"=",
        b"YQ==YQ",
        b"-_8",
        b"YW Jj",
        b"YWJj\n",
        b"\xff",
    ],
)
def test_decode_binary_header_rejects_invalid(wire: bytes) -> None:
    with pytest.raises(ValueError, match="base64"):
        decode_binary_header(wire)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=100))
def test_binary_round_trip(raw: bytes) -> None:
    wire = encode_binary_header(raw)
    assert b"=" not in wire
    assert decode_binary_header(wire) == [raw]
    padded = base64.b64encode(raw)
    assert decode_binary_header(padded) == [raw]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=20), min_size=1, max_size=5), st.booleans())
def test_binary_comma_joined_values(raws: list[bytes], padded: bool) -> None:
    encode = base64.b64encode if padded else encode_binary_header
    assert decode_binary_header(b",".join(encode(r) for r in raws)) == raws


# --- status maps (census 2.10) ------------------------------------------------


@pytest.mark.parametrize(
    ("http", "code"),
    [
        (400, StatusCode.INTERNAL),
        (401, StatusCode.UNAUTHENTICATED),
        (403, StatusCode.PERMISSION_DENIED),
        (404, StatusCode.UNIMPLEMENTED),
        (429, StatusCode.UNAVAILABLE),
        (431, StatusCode.INTERNAL),
        (502, StatusCode.UNAVAILABLE),
        (503, StatusCode.UNAVAILABLE),
        (504, StatusCode.UNAVAILABLE),
        (200, StatusCode.UNKNOWN),
        (204, StatusCode.UNKNOWN),
        (302, StatusCode.UNKNOWN),
        (405, StatusCode.UNKNOWN),
        (415, StatusCode.UNKNOWN),
        (500, StatusCode.UNKNOWN),
        (999, StatusCode.UNKNOWN),
    ],
)
def test_status_from_http_status(http: int, code: StatusCode) -> None:
    assert status_from_http_status(http) is code


@pytest.mark.parametrize(
    ("reset", "code"),
    [
        (0x0, StatusCode.INTERNAL),
        (0x1, StatusCode.INTERNAL),
        (0x2, StatusCode.INTERNAL),
        (0x3, StatusCode.RESOURCE_EXHAUSTED),  # grpc-go's departure from the spec
        (0x4, StatusCode.INTERNAL),
        (0x5, StatusCode.INTERNAL),
        (0x6, StatusCode.INTERNAL),
        (0x7, StatusCode.UNAVAILABLE),
        (0x8, StatusCode.CANCELLED),
        (0x9, StatusCode.INTERNAL),
        (0xA, StatusCode.INTERNAL),
        (0xB, StatusCode.RESOURCE_EXHAUSTED),
        (0xC, StatusCode.PERMISSION_DENIED),
        (0xD, StatusCode.INTERNAL),
        (0xE, StatusCode.UNKNOWN),
        (0xFFFFFFFF, StatusCode.UNKNOWN),
    ],
)
def test_status_from_reset_code(reset: int, code: StatusCode) -> None:
    assert status_from_reset_code(reset) is code


def test_describe_reset_code() -> None:
    assert describe_reset_code(8) == "stream terminated by RST_STREAM with error code: CANCEL"
    assert describe_reset_code(0x7).endswith("REFUSED_STREAM")
    assert describe_reset_code(0x42).endswith("0x42")


# --- errors, sizes, exports ---------------------------------------------------


def test_request_rejected_attributes_and_pickle() -> None:
    exc = RequestRejected(
        http_status=415,
        status=StatusCode.INVALID_ARGUMENT,
        message="bad content-type",
        content_subtype="",
    )
    assert (exc.http_status, exc.status, exc.message, exc.reset_code) == (
        415,
        StatusCode.INVALID_ARGUMENT,
        "bad content-type",
        None,
    )
    assert str(exc) == "bad content-type"
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.http_status, copy.status, copy.message, copy.reset_code) == (
        415,
        StatusCode.INVALID_ARGUMENT,
        "bad content-type",
        None,
    )
    assert "415" in repr(exc)


def test_request_rejected_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        RequestRejected(400, StatusCode.INTERNAL, "x")  # type: ignore[call-arg]


def test_header_list_size() -> None:
    assert header_list_size([]) == 0
    assert header_list_size([(b":path", b"/a/b")]) == 5 + 4 + 32
    assert header_list_size([(b"a", b""), (b"bb", b"cc")]) == 1 + 32 + 4 + 32


def test_all_is_sorted_and_complete() -> None:
    assert protocol.__all__ == sorted(protocol.__all__)
    assert len(set(protocol.__all__)) == len(protocol.__all__)
    for name in protocol.__all__:
        assert hasattr(protocol, name), name
    contract = {
        "encode_message_prefix", "MessageDecoder", "MESSAGE_PREFIX_LENGTH",
        "encode_grpc_timeout", "parse_grpc_timeout", "encode_grpc_message",
        "decode_grpc_message", "encode_binary_header", "decode_binary_header",
        "status_from_http_status", "status_from_reset_code", "RequestHead", "ResponseHead",
        "CallStatus", "build_request_headers", "parse_request_headers",
        "build_response_headers", "build_trailers", "parse_response_headers", "parse_trailers",
        "metadata_to_headers", "headers_to_metadata", "header_list_size",
        "ProtocolViolation", "FramingError", "MessageTooLarge", "RequestRejected",
    }  # fmt: skip
    assert contract <= set(protocol.__all__)
    public = {
        n
        for n, v in vars(protocol).items()
        if not n.startswith("_") and n != "annotations" and not inspect.ismodule(v)
    }
    assert public <= set(protocol.__all__)


def test_value_objects_are_frozen_keyword_only_with_fresh_metadata() -> None:
    import dataclasses

    from plugrpc_transport.protocol import CallStatus, RequestHead, ResponseHead

    a = RequestHead(path="/a/b", authority="h")
    b = RequestHead(path="/a/b", authority="h")
    assert a.metadata is not b.metadata
    assert (a.scheme, a.content_subtype, a.user_agent, a.timeout) == ("http", "proto", "", None)
    assert (a.encoding, a.accept_encoding) == (None, None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.path = "/x/y"  # type: ignore[misc]
    with pytest.raises(TypeError):
        RequestHead("/a/b", "h")  # type: ignore[call-arg]
    status = CallStatus(code=StatusCode.OK)
    assert (status.message, status.details_bin, len(status.metadata)) == ("", None, 0)
    assert CallStatus(code=StatusCode.OK).metadata is not status.metadata
    head = ResponseHead(metadata=status.metadata)
    assert (head.encoding, head.accept_encoding, head.content_subtype) == (None, None, "proto")
    for value in (a, status, head):
        assert not hasattr(value, "__dict__")  # slotted
