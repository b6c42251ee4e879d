"""Options of the asyncio transport, and the defaults chosen for them."""

from __future__ import annotations

from dataclasses import dataclass

from .protocol._config import ConnectionConfig

__all__ = ["TransportOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportOptions:
    """How a connection behaves. One value object, shared by client and server.

    Defaults, and why:

    * ``max_receive_message_length`` 4 MiB: gRPC's default in every implementation.
    * ``initial_stream_window_size`` 4 MiB: one maximum-size message can be in flight
      without waiting for a WINDOW_UPDATE, which is what makes large messages fast over
      h2 (reference/performance.md section g2). grpc-go starts at 64 KiB and grows the
      window by BDP estimation up to 16 MiB; without an estimator we start where a
      loopback or LAN link needs to be. A stream never buffers more than its window plus
      the one message the application is waiting for.
    * ``initial_connection_window_size`` 16 MiB: four streams at full speed at once; the
      connection window is returned as bytes arrive, so it bounds bytes in flight, not
      bytes buffered.
    * ``max_frame_size`` 128 KiB: the peer sends DATA frames up to this size. Each frame
      costs h2 a fixed amount of work on both ends, so bigger frames make large messages
      cheaper: a 1 MiB echo between two plugrpc machines costs ~45 % less CPU with
      128 KiB frames than with 16 KiB ones (grpc-go's value), and nothing gets cheaper past
      128 KiB (bigger buffers start to cost page faults; tools/bench). What may be buffered
      is bounded by the flow-control windows, not by the frame size (RFC 9113 section
      6.5.2 allows up to 16 MiB - 1). Our sends follow the peer's value.
    * ``max_header_list_size`` 16 KiB: the reliability catalogue's hard limit (row 4; the
      spec suggests 8 KiB, C-core rejects above 16 KiB). Bigger request headers are refused
      on their stream with 431, not by closing the connection.
    * ``max_concurrent_streams`` 100: advertised by the server and enforced on running
      handlers (Rapid Reset defence); also h2's and grpc-go's client assumption.
    * ``read_slice_bytes`` 64 KiB: the most input handled per event-loop turn before the
      connection yields to its neighbours (reliability section 1 item 2).
    * ``handshake_timeout`` 20 s: the server drops connections whose preface and SETTINGS do
      not arrive in time (grpc-go uses 120 s; Go's net/http2 10 s).

    Attributes:
        max_receive_message_length: largest message accepted, in bytes.
        initial_stream_window_size: SETTINGS_INITIAL_WINDOW_SIZE we advertise.
        initial_connection_window_size: our connection receive window.
        max_frame_size: SETTINGS_MAX_FRAME_SIZE we advertise.
        max_header_list_size: SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce.
        max_concurrent_streams: server: advertised and enforced (running handlers count).
        read_slice_bytes: input bytes processed per event-loop turn.
        handshake_timeout: server: seconds for the client's preface and SETTINGS.
        drain_ping_timeout: server: seconds to wait for the drain PING's ACK before the
            second GOAWAY goes out anyway (added; grpc-go does the same with its own timer).
        user_agent: the client's ``user-agent`` token (the call layer puts it in requests).
    """

    max_receive_message_length: int = 4 * 1024 * 1024
    initial_stream_window_size: int = 4 * 1024 * 1024
    initial_connection_window_size: int = 16 * 1024 * 1024
    max_frame_size: int = 128 * 1024
    max_header_list_size: int = 16 * 1024
    max_concurrent_streams: int = 100
    read_slice_bytes: int = 65536
    handshake_timeout: float = 20.0
    drain_ping_timeout: float = 5.0
    user_agent: str = "grpc-python-plugrpc/0.1.0"

    def __post_init__(self) -> None:
        if self.read_slice_bytes < 1024:
            raise ValueError("read_slice_bytes must be at least 1024")
        self.connection_config()  # validates the protocol limits

    def connection_config(self) -> ConnectionConfig:
        """The sans-I/O machine's configuration for these options."""
        return ConnectionConfig(
            max_receive_message_length=self.max_receive_message_length,
            initial_stream_window_size=self.initial_stream_window_size,
            initial_connection_window_size=self.initial_connection_window_size,
            max_frame_size=self.max_frame_size,
            max_header_list_size=self.max_header_list_size,
            max_concurrent_streams=self.max_concurrent_streams,
        )
