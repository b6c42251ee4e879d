"""Frame-boundary scanning for the server's input gate.

The server feeds h2 whole frames only, so that it can stop *between* frames: before a
HEADERS frame that would start a handler while ``max_concurrent_streams`` handlers still run.
That is grpc-go's answer to Rapid Reset (grpc-go#6703): the reader waits for a handler slot
instead of refusing a client that kept to the advertised limit (its stream count is within
it; our handlers just have not returned yet). Refusal with REFUSED_STREAM stays for clients
whose *open streams* exceed the limit.

Scanning reads only the 9-byte frame headers (RFC 9113 section 4.1), so it costs well under
a microsecond per frame. It also rejects a frame longer than our SETTINGS_MAX_FRAME_SIZE as
soon as its header arrives, instead of buffering its body first (h2 buffers, then checks).
"""

from __future__ import annotations

import struct

__all__ = ["CUT", "FRAME_HEADER_LENGTH", "OVERSIZED", "WHOLE", "scan_frames"]

FRAME_HEADER_LENGTH = 9
_HEADER = struct.Struct(">HBBBL")  # 24-bit length as 16 + 8 bits, type, flags, stream id
_unpack = _HEADER.unpack_from
_HEADERS_TYPE = 0x1

WHOLE = 0
"""Stopped at the byte budget or at an incomplete frame."""
CUT = 1
"""Stopped before a HEADERS frame that opens a stream beyond ``room``."""
OVERSIZED = 2
"""Stopped at a frame whose declared length exceeds ``max_frame_size``."""


def scan_frames(
    view: memoryview,
    pos: int,
    budget: int,
    max_frame_size: int,
    highest_stream_id: int,
    room: int,
) -> tuple[int, int, int]:
    """Find how much of ``view[pos:]`` may go to h2 now.

    Args:
        view: input bytes, frame-aligned at ``pos``.
        pos: where to start.
        budget: stop after about this many bytes (a whole frame is never split).
        max_frame_size: our advertised SETTINGS_MAX_FRAME_SIZE.
        highest_stream_id: highest client stream id seen so far.
        room: how many new streams may start in this batch.

    Returns:
        ``(stop, reason, new_streams)``: feed ``view[pos:stop]``; ``reason`` is ``WHOLE``,
        ``CUT`` or ``OVERSIZED``; ``new_streams`` counts streams opened before ``stop``.
    """
    size = len(view)
    end = min(size, pos + budget)
    new_streams = 0
    highest = highest_stream_id
    while pos < end and size - pos >= FRAME_HEADER_LENGTH:
        high, low, ftype, _flags, stream_id = _unpack(view, pos)
        length = (high << 8) | low
        if length > max_frame_size:
            return pos, OVERSIZED, new_streams
        if ftype == _HEADERS_TYPE:
            stream_id &= 0x7FFFFFFF
            if stream_id > highest:
                if new_streams >= room:
                    return pos, CUT, new_streams
                highest = stream_id
                new_streams += 1
        frame_end = pos + FRAME_HEADER_LENGTH + length
        if frame_end > size:
            break
        pos = frame_end
    return pos, WHOLE, new_streams
