"""Binary metadata values: keys ending in ``-bin`` (PROTOCOL-HTTP2, "Custom-Metadata").

Values travel as standard base64 (RFC 4648 section 4 alphabet, not URL-safe). Senders emit
them without padding; receivers accept both padded and unpadded forms (grpc-go: a length
that is a multiple of 4 is decoded as padded, anything else as raw). Intermediaries may join
several values of one key with ``,`` into one field, so a received value is split on ``,``
before decoding.
"""

from __future__ import annotations

import binascii

__all__ = ["decode_binary_header", "encode_binary_header"]

_b2a = binascii.b2a_base64
_a2b = binascii.a2b_base64
_PADDING = (b"", b"===", b"==", b"=")  # indexed by len % 4


def encode_binary_header(value: bytes) -> bytes:
    """Encode a ``-bin`` metadata value: standard base64 without padding.

    Args:
        value: the raw bytes.
    """
    return _b2a(value, newline=False).rstrip(b"=")


def decode_binary_header(value: bytes) -> list[bytes]:
    """Decode a received ``-bin`` header value.

    Args:
        value: the raw header value; may hold several comma-separated values.

    Returns:
        The decoded values, in order (an empty field is one empty value).

    Raises:
        ValueError: a part is not valid base64 (bad characters, a length of 1 mod 4, or
            padding where the length says there is none).
    """
    if b"," not in value:
        return [_decode_one(value)]
    return [_decode_one(part) for part in value.split(b",")]


def _decode_one(part: bytes) -> bytes:
    rem = len(part) & 3
    if rem:
        if rem == 1 or b"=" in part:
            raise ValueError(f"invalid base64 in binary metadata value: {part[:64]!r}")
        part += _PADDING[rem]
    try:
        # strict_mode rejects characters outside the alphabet instead of skipping them.
        return _a2b(part, strict_mode=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64 in binary metadata value: {part[:64]!r}") from exc
