"""The ``deflate`` compressor: gRPC's ``deflate`` is the zlib format (RFC 1950 around RFC 1951).

Theory of operation: gRPC compresses each message on its own, with a fresh compression
context (PROTOCOL-HTTP2, "Compressed-Flag"). The ``deflate`` token means a zlib stream: a
two-byte header, raw deflate data and an Adler-32 trailer, as gRPC C-core (grpcio) and
grpc-java write and read it; ``compress`` is one ``zlib.compress`` call and keeps no state.

``decompress`` is the bomb defence (reliability row 15): the inflater is asked for at most
``max_length + 1`` bytes, so a message that would inflate to gigabytes costs the same as one
that inflates to the limit, and the caller can tell "at the limit" from "over it". Truncated
or corrupt input, a bad Adler-32 and bytes after the end of the stream raise ``ValueError``.
"""

from __future__ import annotations

import zlib

from plugrpc_core import Compressor

__all__ = ["DeflateCompressor"]

_ZLIB_WBITS = 15  # zlib header and trailer around a 32 KiB-window deflate stream


class DeflateCompressor(Compressor):
    """deflate in the zlib format, registered as ``grpc-encoding: deflate``.

    Args:
        level: zlib compression level, 0 (stored, no compression) to 9 (smallest); 6 is
            zlib's default balance of speed and size.

    Raises:
        ValueError: ``level`` is not an integer from 0 to 9.
    """

    name = "deflate"

    __slots__ = ("level",)

    def __init__(self, level: int = 6) -> None:
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
            raise ValueError(f"deflate level must be an integer from 0 to 9, got {level!r}")
        self.level = level

    def compress(self, data: bytes) -> bytes:
        """Compress one message into a complete zlib stream."""
        return zlib.compress(data, self.level, _ZLIB_WBITS)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        """Inflate one message, producing at most ``max_length + 1`` bytes.

        Raises:
            ValueError: the input is not one complete, valid zlib stream (and inflating it
                stayed within the limit, so the error could be seen).
        """
        if max_length < 0:
            raise ValueError(f"max_length must not be negative, got {max_length}")
        inflater = zlib.decompressobj(_ZLIB_WBITS)
        try:
            out = inflater.decompress(data, max_length + 1)
        except zlib.error as exc:
            raise ValueError(f"invalid deflate (zlib) data: {exc}") from None
        if len(out) > max_length:
            return out  # over the limit: the caller rejects the message, stop here
        if not inflater.eof:
            raise ValueError("truncated deflate (zlib) data")
        if inflater.unused_data:
            raise ValueError(
                f"{len(inflater.unused_data)} bytes after the end of the deflate (zlib) stream"
            )
        return out

    def __repr__(self) -> str:
        return f"DeflateCompressor(level={self.level})"
