"""Percent-encoding of the ``grpc-message`` trailer (PROTOCOL-HTTP2, "Responses").

The text is encoded as UTF-8; each byte in 0x20-0x7E except ``%`` passes through and every
other byte, ``%`` included, becomes ``%XX`` with uppercase hex. Decoding is lenient, since a
status message must never fail a call: a ``%`` not followed by two hex digits is kept as is,
and bytes that are not valid UTF-8 after decoding become U+FFFD (as does a lone surrogate in
the text given to the encoder, matching grpc-go's handling of invalid UTF-8).
"""

from __future__ import annotations

__all__ = ["decode_grpc_message", "encode_grpc_message"]

# Bytes that pass through unchanged: printable ASCII except "%".
_PLAIN = bytes(b for b in range(0x20, 0x7F) if b != 0x25)
_ENCODE_TABLE = tuple(bytes([b]) if b in _PLAIN else b"%%%02X" % b for b in range(256))
# Every "XY" hex pair, either letter case -> the byte it stands for.
_HEX_DIGITS = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}
_HEX_PAIRS: dict[bytes, int] = {
    bytes((hi, lo)): _HEX_DIGITS[hi] * 16 + _HEX_DIGITS[lo]
    for hi in _HEX_DIGITS
    for lo in _HEX_DIGITS
}


def encode_grpc_message(text: str) -> bytes:
    """Percent-encode a status message for the ``grpc-message`` header.

    Args:
        text: the status message (any Unicode; lone surrogates become U+FFFD).
    """
    if text.isascii():
        data = text.encode("ascii")
        if not data.translate(None, _PLAIN):
            return data
    else:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            data = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode()
    table = _ENCODE_TABLE
    return b"".join([table[b] for b in data])


def decode_grpc_message(value: bytes) -> str:
    """Decode a received ``grpc-message`` value; never raises.

    Args:
        value: the raw header value.
    """
    if b"%" not in value:
        return value.decode("utf-8", "replace")
    pieces = value.split(b"%")
    out = bytearray(pieces[0])
    pairs = _HEX_PAIRS
    for piece in pieces[1:]:
        byte = pairs.get(piece[:2])
        if byte is None:
            out += b"%"
            out += piece
        else:
            out.append(byte)
            out += piece[2:]
    return out.decode("utf-8", "replace")
