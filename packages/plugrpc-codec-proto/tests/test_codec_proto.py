"""The proto codec: wire round trips, errors, and registration through the entry point."""

from __future__ import annotations

import plugrpc_codec_proto
import pytest
from google.protobuf import descriptor_pb2, struct_pb2, timestamp_pb2, wrappers_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2
from hypothesis import given
from hypothesis import strategies as st
from plugrpc_codec_proto import ProtoCodec
from plugrpc_core import Codec
from plugrpc_core.plugins import codecs

CODEC = ProtoCodec()


def test_name_is_the_content_subtype() -> None:
    assert ProtoCodec.name == "proto"
    assert issubclass(ProtoCodec, Codec)


def test_encode_is_the_protobuf_wire_format() -> None:
    message = wrappers_pb2.StringValue(value="hi")
    # field 1, wire type 2 (length-delimited), length 2, "hi"
    assert CODEC.encode(message) == b"\x0a\x02hi"


@pytest.mark.parametrize(
    "message",
    [
        wrappers_pb2.StringValue(value="héllo"),
        wrappers_pb2.BytesValue(value=bytes(range(256))),
        timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5),
        struct_pb2.Struct(fields={"a": struct_pb2.Value(number_value=1.5)}),
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field="name", description="empty")
            ]
        ),
        descriptor_pb2.FileDescriptorProto(name="x.proto", package="p"),
    ],
    ids=lambda message: type(message).__name__,
)
def test_round_trip(message: Message) -> None:
    data = CODEC.encode(message)
    decoded = CODEC.decode(data, type(message))
    assert type(decoded) is type(message)
    assert decoded == message


def test_empty_bytes_decode_to_the_default_message() -> None:
    decoded = CODEC.decode(b"", wrappers_pb2.Int64Value)
    assert decoded == wrappers_pb2.Int64Value()


def test_decode_accepts_memoryview_without_copying_first() -> None:
    data = bytearray(b"\x00\x00" + CODEC.encode(wrappers_pb2.StringValue(value="slice")))
    decoded = CODEC.decode(memoryview(data)[2:], wrappers_pb2.StringValue)  # type: ignore[arg-type]
    assert decoded.value == "slice"


def test_decode_of_garbage_raises_decode_error() -> None:
    with pytest.raises(DecodeError):
        # field 1, length-delimited, claims 100 bytes but carries 1
        CODEC.decode(b"\x0a\x64x", wrappers_pb2.StringValue)


@given(value=st.text(), raw=st.binary(), number=st.integers(-(2**63), 2**63 - 1))
def test_round_trip_random_values(value: str, raw: bytes, number: int) -> None:
    for message in (
        wrappers_pb2.StringValue(value=value),
        wrappers_pb2.BytesValue(value=raw),
        wrappers_pb2.Int64Value(value=number),
        error_details_pb2.ErrorInfo(reason=value, domain=value[::-1], metadata={value: value}),
    ):
        assert CODEC.decode(CODEC.encode(message), type(message)) == message


def test_registered_through_the_entry_point() -> None:
    assert codecs.get("proto") is ProtoCodec
    [entry] = [entry for entry in codecs.entries() if entry.key == "proto"]
    assert entry.distribution == "plugrpc-codec-proto"
    assert entry.entry_point == "codec-proto"
    assert entry.kind == "codec"


def test_public_names() -> None:
    assert plugrpc_codec_proto.__all__ == sorted(plugrpc_codec_proto.__all__)
    public = {
        name
        for name, value in vars(plugrpc_codec_proto).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, type))
    }
    assert public == set(plugrpc_codec_proto.__all__)
