"""Limits and budgets of one connection machine, and the token bucket that enforces rates.

The numbers come from the reliability catalogue (reference/reliability.md section 3), which
took them from the stacks that were hardened against the 2019 and 2023 HTTP/2 floods:

* resets (row 1 Rapid Reset, row 2 MadeYouReset, row 7): nghttp2's token bucket, burst 1000,
  refilled at 33 per second. It counts RST_STREAM frames the peer sends and the resets the
  peer provokes (h2's own stream errors, our REFUSED_STREAM and malformed-request answers).
* other glitches (row 11 PRIORITY flood, unknown frames): nghttp2's "glitch" bucket, burst
  10000, refilled at 330 per second.
* control-frame ACKs (rows 5 and 6, PING and SETTINGS floods): at most 1000 ACKs queued and
  not yet taken by the writer (nghttp2 ``max_outbound_ack``, Envoy).
* empty DATA frames (row 8): at most 10 consecutive empty DATA frames without END_STREAM
  (Envoy uses 1, Netty 2; a final empty DATA frame is legal gRPC end-of-stream and never
  counts).

Exhausting any of them ends the connection with GOAWAY ENHANCE_YOUR_CALM.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ConnectionConfig", "TokenBucket"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionConfig:
    """What one connection machine advertises and enforces.

    Attributes:
        max_receive_message_length: largest message accepted (checked on the length prefix).
        initial_stream_window_size: SETTINGS_INITIAL_WINDOW_SIZE we advertise.
        initial_connection_window_size: connection receive window (raised with a
            WINDOW_UPDATE at start; RFC 9113 fixes its initial value at 65535).
        max_frame_size: SETTINGS_MAX_FRAME_SIZE we advertise.
        max_header_list_size: SETTINGS_MAX_HEADER_LIST_SIZE we advertise; bigger header
            blocks are rejected on their stream.
        max_concurrent_streams: server: advertised and enforced on running handlers.
        write_quota: queued outbound bytes per stream above which writers wait
            (grpc-go's per-stream write quota is 64 KiB).
        max_pending_acks: PING/SETTINGS ACKs queued and not taken before we hang up.
        reset_burst, reset_rate: the reset budget (count, refill per second).
        glitch_burst, glitch_rate: the glitch budget (count, refill per second).
        max_empty_data_frames: consecutive empty non-final DATA frames allowed.
    """

    max_receive_message_length: int = 4 * 1024 * 1024
    initial_stream_window_size: int = 4 * 1024 * 1024
    initial_connection_window_size: int = 16 * 1024 * 1024
    max_frame_size: int = 16384
    max_header_list_size: int = 16 * 1024
    max_concurrent_streams: int = 100
    write_quota: int = 64 * 1024
    max_pending_acks: int = 1000
    reset_burst: int = 1000
    reset_rate: float = 33.0
    glitch_burst: int = 10000
    glitch_rate: float = 330.0
    max_empty_data_frames: int = 10

    def __post_init__(self) -> None:
        if not 65535 <= self.initial_connection_window_size <= 2**31 - 1:
            raise ValueError("initial_connection_window_size must be in 65535..2**31-1")
        if not 0 <= self.initial_stream_window_size <= 2**31 - 1:
            raise ValueError("initial_stream_window_size must be in 0..2**31-1")
        if not 16384 <= self.max_frame_size <= 2**24 - 1:
            raise ValueError("max_frame_size must be in 16384..2**24-1 (RFC 9113 6.5.2)")
        if self.max_concurrent_streams < 1 or self.max_header_list_size < 1:
            raise ValueError("max_concurrent_streams and max_header_list_size must be >= 1")
        if self.max_receive_message_length < 0:
            raise ValueError("max_receive_message_length must be >= 0")


class TokenBucket:
    """A token bucket: ``take`` fails once more than ``burst`` events came too fast.

    Time is passed in (seconds, any monotonic origin): the machines never read a clock.
    """

    __slots__ = ("_burst", "_last", "_rate", "_tokens")

    def __init__(self, burst: int, rate: float) -> None:
        self._burst = float(burst)
        self._rate = rate
        self._tokens = float(burst)
        self._last: float | None = None

    def take(self, now: float, count: int = 1) -> bool:
        """Spend ``count`` tokens at time ``now``; False when the bucket ran dry."""
        last = self._last
        if last is not None and now > last:
            self._tokens = min(self._burst, self._tokens + (now - last) * self._rate)
        self._last = now
        self._tokens -= count
        return self._tokens >= 0

    @property
    def tokens(self) -> float:
        """Tokens left (negative once exhausted)."""
        return self._tokens
