"""gRPC message framing: PROTOCOL-HTTP2 "Length-Prefixed-Message".

Theory of operation: every message on a stream is a 1-byte compressed flag (0 or 1), a
4-byte big-endian unsigned length and the payload. Message boundaries are independent of
DATA frame boundaries, so the decoder is a small state machine fed with whatever chunks the
connection hands it:

* waiting for a prefix (possibly holding up to 4 bytes of a split prefix), or
* collecting a body of known length in a list of chunk slices.

The declared length is checked against the receive limit the moment the prefix is complete,
before any body byte is kept (reliability catalogue row 16), so a prefix declaring 4 GiB
costs nothing. A body that spans many chunks is joined exactly once when its last byte
arrives; a body that sits inside one chunk is sliced out of it directly. Either way each
payload byte is copied once.
"""

from __future__ import annotations

import struct

from ._errors import FramingError, MessageTooLarge

__all__ = ["MESSAGE_PREFIX_LENGTH", "MessageDecoder", "encode_message_prefix"]

MESSAGE_PREFIX_LENGTH = 5
"""Bytes in a Length-Prefixed-Message prefix (flag + uint32 length)."""

_PREFIX = struct.Struct(">BI")
_pack_prefix = _PREFIX.pack
_unpack_prefix = _PREFIX.unpack_from
_MAX_LENGTH = 0xFFFFFFFF
_NO_BODY = -1


def encode_message_prefix(length: int, compressed: bool) -> bytes:
    """Build the 5-byte prefix of a message.

    Args:
        length: payload length in bytes (0 to 2**32 - 1).
        compressed: whether the payload is compressed with the stream's ``grpc-encoding``.

    Raises:
        ValueError: ``length`` does not fit the 32-bit field.
    """
    try:
        return _pack_prefix(1 if compressed else 0, length)
    except struct.error:
        raise ValueError(
            f"message length {length} does not fit a gRPC length prefix (0..{_MAX_LENGTH})"
        ) from None


class MessageDecoder:
    """Splits a stream's received DATA bytes into messages.

    Args:
        max_message_length: receive limit; a prefix declaring more raises ``MessageTooLarge``.

    ``feed`` may keep references to slices of the chunks it is given until the message they
    belong to is complete: pass ``bytes`` or a ``memoryview`` of memory that is not reused.
    After ``feed`` raises, the stream is broken and the decoder refuses further input.
    """

    __slots__ = ("_body_length", "_broken", "_compressed", "_have", "_limit", "_parts", "_prefix")

    def __init__(self, max_message_length: int) -> None:
        if max_message_length < 0:
            raise ValueError("max_message_length must be >= 0")
        self._limit = max_message_length
        self._prefix = bytearray()  # a split prefix (1-4 bytes) waiting for its rest
        self._body_length = _NO_BODY  # >= 0 while collecting a body
        self._compressed = False
        self._parts: list[bytes | memoryview] = []
        self._have = 0  # body bytes held in _parts
        self._broken = False

    @property
    def has_partial_message(self) -> bool:
        """Whether a prefix or body was started and not finished.

        At END_STREAM this is a truncated message: the caller fails the call with INTERNAL.
        """
        return self._body_length != _NO_BODY or bool(self._prefix)

    @property
    def buffered(self) -> int:
        """Bytes currently held for an incomplete message (prefix bytes included)."""
        if self._body_length != _NO_BODY:
            return MESSAGE_PREFIX_LENGTH + self._have
        return len(self._prefix)

    def feed(self, data: bytes | memoryview) -> list[tuple[bool, bytes]]:
        """Consume one chunk and return every message it completes.

        Args:
            data: the next received bytes of the stream (any size, possibly empty).

        Returns:
            ``(compressed, payload)`` for each complete message, in order.

        Raises:
            MessageTooLarge: a prefix declares a length over the limit.
            FramingError: a compressed flag other than 0 or 1, or input after an earlier error.
        """
        if self._broken:
            raise FramingError("message decoder is unusable after an earlier framing error")
        out: list[tuple[bool, bytes]] = []
        size = len(data)
        pos = 0
        if self._body_length != _NO_BODY:
            need = self._body_length - self._have
            if size < need:
                if size:
                    self._parts.append(data)
                    self._have += size
                return out
            # A memoryview slice: the tail is copied once, by the join.
            self._parts.append(memoryview(data)[:need])
            out.append((self._compressed, b"".join(self._parts)))
            self._parts = []
            self._have = 0
            self._body_length = _NO_BODY
            pos = need
        elif self._prefix:
            prefix = self._prefix
            take = MESSAGE_PREFIX_LENGTH - len(prefix)
            prefix += data[:take]
            if len(prefix) < MESSAGE_PREFIX_LENGTH:
                return out
            flag, length = _unpack_prefix(prefix)
            prefix.clear()
            pos = take
            self._check(flag, length)
            end = pos + length
            if end > size:
                self._start_body(flag, length, data, pos, size)
                return out
            out.append((flag == 1, bytes(data[pos:end])))
            pos = end
        # Fast path: whole messages straight out of this chunk.
        limit = self._limit
        while True:
            remaining = size - pos
            if remaining < MESSAGE_PREFIX_LENGTH:
                if remaining:
                    self._prefix += data[pos:]
                return out
            flag, length = _unpack_prefix(data, pos)
            if flag > 1 or length > limit:
                self._check(flag, length)
            start = pos + MESSAGE_PREFIX_LENGTH
            end = start + length
            if end > size:
                self._start_body(flag, length, data, start, size)
                return out
            out.append((flag == 1, bytes(data[start:end])))
            pos = end

    def _check(self, flag: int, length: int) -> None:
        if flag > 1:
            self._broken = True
            raise FramingError(
                f"invalid message compressed-flag {flag} (PROTOCOL-HTTP2 allows only 0 or 1)"
            )
        if length > self._limit:
            self._broken = True
            raise MessageTooLarge(length, self._limit)

    def _start_body(
        self, flag: int, length: int, data: bytes | memoryview, start: int, size: int
    ) -> None:
        self._compressed = flag == 1
        self._body_length = length
        if start < size:
            # A memoryview slice, so the head of a long body is copied once, by the join.
            self._parts = [memoryview(data)[start:]]
            self._have = size - start
        else:
            self._parts = []
            self._have = 0
