"""The protobuf wire format, as far as the two ORCA messages need it.

Theory of operation: ``OrcaLoadReport`` is doubles, one deprecated uint64 and three
``map<string, double>``; ``OrcaLoadReportRequest`` is a ``google.protobuf.Duration`` and
repeated strings. Encoding them by hand keeps protobuf out of this distribution's
dependencies, avoids registering ``xds.*`` names in protobuf's default descriptor pool (where
they would clash with another copy of the xDS protos in the same process) and makes the
per-call trailer cheap to parse.

The rules followed are the protobuf encoding guide's: a tag is ``field << 3 | wire type``
as a varint; doubles are wire type 1 (8 bytes little-endian), varints wire type 0, strings,
messages and map entries wire type 2 (length-delimited). A map entry is a message with the
key in field 1 and the value in field 2; either may be missing (it then takes its default).
A field seen twice keeps the last value; unknown fields, and known fields arriving with an
unexpected wire type, are skipped as protobuf's own parsers skip them. Proto3 scalars with
their default value are not written; like upb, a double is "default" only when all its bits
are zero, so ``-0.0`` is written.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "FIXED32",
    "FIXED64",
    "LENGTH_DELIMITED",
    "VARINT",
    "OrcaDecodeError",
    "decode_string",
    "fields",
    "parse_map_entry",
    "put_double",
    "put_length_delimited",
    "put_map",
    "put_varint_field",
    "read_varint",
    "to_int32",
    "to_int64",
    "varint",
]

VARINT = 0
FIXED64 = 1
LENGTH_DELIMITED = 2
FIXED32 = 5

_MASK64 = (1 << 64) - 1
_DOUBLE = struct.Struct("<d")


class OrcaDecodeError(ValueError):
    """The bytes are not a valid encoding of the expected ORCA message."""


# -- encoding -----------------------------------------------------------------------------


def varint(value: int) -> bytes:
    """The base-128 varint of ``value`` (negative numbers as their 64-bit two's complement)."""
    value &= _MASK64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def put_double(out: bytearray, field: int, value: float) -> None:
    """Append a proto3 double field, unless it is +0.0 (the default)."""
    data = _DOUBLE.pack(value)
    if data != b"\x00" * 8:
        out += varint(field << 3 | FIXED64)
        out += data


def put_varint_field(out: bytearray, field: int, value: int) -> None:
    """Append a proto3 integer field, unless it is 0 (the default)."""
    if value:
        out += varint(field << 3 | VARINT)
        out += varint(value)


def put_length_delimited(out: bytearray, field: int, payload: bytes) -> None:
    """Append a string, bytes or message field (written even when empty)."""
    out += varint(field << 3 | LENGTH_DELIMITED)
    out += varint(len(payload))
    out += payload


def put_map(out: bytearray, field: int, entries: Mapping[str, float]) -> None:
    """Append a ``map<string, double>`` field: one entry message per item.

    Keys and values are always written inside an entry, as protobuf's own serializers do.
    """
    for key, value in entries.items():
        entry = bytearray()
        put_length_delimited(entry, 1, key.encode("utf-8"))
        entry += varint(2 << 3 | FIXED64)
        entry += _DOUBLE.pack(value)
        put_length_delimited(out, field, bytes(entry))


# -- decoding -----------------------------------------------------------------------------


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a varint at ``pos``; return ``(value, next position)``.

    Raises:
        OrcaDecodeError: truncated, or longer than 10 bytes.
    """
    result = 0
    shift = 0
    end = len(data)
    while True:
        if pos >= end:
            raise OrcaDecodeError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise OrcaDecodeError("varint longer than 10 bytes")


def to_int64(value: int) -> int:
    """A decoded varint as a signed 64-bit integer."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_int32(value: int) -> int:
    """A decoded varint as a signed 32-bit integer (protobuf truncates to the low 32 bits)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def fields(data: bytes) -> Iterable[tuple[int, int, int | float | bytes]]:
    """Walk a message's fields: ``(field number, wire type, value)`` in order.

    Varints come as ``int``, fixed64 as ``float`` (every fixed64 field ORCA has is a double),
    length-delimited as ``bytes``; fixed32 values are skipped.

    Raises:
        OrcaDecodeError: truncated data, field number 0, or a group (wire types 3 and 4, which
            proto3 messages never contain).
    """
    pos = 0
    end = len(data)
    while pos < end:
        tag, pos = read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise OrcaDecodeError("field number 0 is invalid")
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
            yield number, wire_type, value
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise OrcaDecodeError("truncated 64-bit field")
            yield number, wire_type, _DOUBLE.unpack_from(data, pos)[0]
            pos += 8
        elif wire_type == LENGTH_DELIMITED:
            length, pos = read_varint(data, pos)
            if pos + length > end:
                raise OrcaDecodeError("truncated length-delimited field")
            yield number, wire_type, bytes(data[pos : pos + length])
            pos += length
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise OrcaDecodeError("truncated 32-bit field")
            pos += 4
        else:
            raise OrcaDecodeError(f"unsupported wire type {wire_type} (field {number})")


def decode_string(data: bytes) -> str:
    """A proto3 ``string``: UTF-8, as protobuf requires."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OrcaDecodeError(f"string field is not valid UTF-8: {exc}") from None


def parse_map_entry(data: bytes) -> tuple[str, float]:
    """One ``map<string, double>`` entry; a missing key is "" and a missing value 0.0."""
    key = ""
    value = 0.0
    for number, wire_type, item in fields(data):
        if number == 1 and wire_type == LENGTH_DELIMITED:
            assert isinstance(item, bytes)
            key = decode_string(item)
        elif number == 2 and wire_type == FIXED64:
            assert isinstance(item, float)
            value = item
    return key, value
