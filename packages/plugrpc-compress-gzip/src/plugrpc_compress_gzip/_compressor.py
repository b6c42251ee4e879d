"""The ``gzip`` compressor (gRPC compression.md; the gzip file format is RFC 1952).

Theory of operation: gRPC compresses each message on its own, with a fresh compression
context (PROTOCOL-HTTP2, "Compressed-Flag"), so ``compress`` is one ``zlib.compress`` call
with gzip framing (``wbits=31``) and keeps no state between messages.

``decompress`` is the bomb defence (reliability row 15, the rule grpc-go applies since
grpc/grpc-go#2616): the inflater is asked for at most ``max_length + 1`` bytes, so a message
that would inflate to gigabytes costs the same as one that inflates to the limit. Producing
``max_length + 1`` bytes lets the caller tell "at the limit" from "over it" and answer
RESOURCE_EXHAUSTED. A gzip stream may hold several members back to back (RFC 1952, 2.2); each
is inflated under the same overall budget. Truncated or corrupt input, trailing garbage and a
bad CRC-32 or length trailer raise ``ValueError``.
"""

from __future__ import annotations

import zlib

from plugrpc_core import Compressor

__all__ = ["GzipCompressor"]

_GZIP_WBITS = 31  # 16 + 15: gzip header and trailer around a 32 KiB-window deflate stream


class GzipCompressor(Compressor):
    """gzip, registered as ``grpc-encoding: gzip``.

    Args:
        level: zlib compression level, 0 (stored, no compression) to 9 (smallest); 6 is
            zlib's and grpc-go's default balance of speed and size.

    Raises:
        ValueError: ``level`` is not an integer from 0 to 9.
    """

    name = "gzip"

    __slots__ = ("level",)

    def __init__(self, level: int = 6) -> None:
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
            raise ValueError(f"gzip level must be an integer from 0 to 9, got {level!r}")
        self.level = level

    def compress(self, data: bytes) -> bytes:
        """Compress one message into a complete gzip member."""
        return zlib.compress(data, self.level, _GZIP_WBITS)

    def decompress(self, data: bytes, max_length: int) -> bytes:
        """Inflate one message, producing at most ``max_length + 1`` bytes.

        Raises:
            ValueError: the input is not a complete, valid gzip stream (and inflating it
                stayed within the limit, so the error could be seen).
        """
        if max_length < 0:
            raise ValueError(f"max_length must not be negative, got {max_length}")
        budget = max_length + 1
        chunks: list[bytes] = []
        produced = 0
        pending = data
        try:
            while True:
                inflater = zlib.decompressobj(_GZIP_WBITS)
                out = inflater.decompress(pending, budget - produced)
                chunks.append(out)
                produced += len(out)
                if produced >= budget:
                    break  # over the limit: the caller rejects the message, stop here
                if not inflater.eof:
                    raise ValueError("truncated gzip data")
                pending = inflater.unused_data
                if not pending:
                    break
        except zlib.error as exc:
            raise ValueError(f"invalid gzip data: {exc}") from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def __repr__(self) -> str:
        return f"GzipCompressor(level={self.level})"
