"""h2's ``H2Connection`` adapted to gRPC: the places where its defaults are wrong (or slow) for us.

h2 4.4.x (pinned ``>=4.4.1,<5``) is used as the frame parser, HPACK codec and stream state
machine. This subclass changes exactly these behaviours, each relying on a named internal of
h2 4.x (``_receive_goaway_frame``, ``_data_to_send``, ``_inbound_flow_control_window_manager``,
``streams``); the test suite pins each of them down, so an h2 release that moves them fails
loudly rather than silently:

1. **GOAWAY does not end the connection** (python-hyper/h2#1181). h2 moves its state machine
   to CLOSED when it sends or receives GOAWAY, after which it refuses DATA both ways, and on
   receipt it also discards queued output. grpc-go, C-core and Envoy drain by sending GOAWAY
   and then finishing in-flight streams (RFC 9113 section 6.8: streams at or below the
   last-stream-id keep going). So a received GOAWAY here only produces the
   ``ConnectionTerminated`` event, and GOAWAY frames are sent with ``send_goaway_frame``,
   serialized with hyperframe, without touching h2's state machine. The gRPC layer above
   enforces "no new streams" itself.
2. **Settings we advertise are in force from the start** (``initial_values``), and the
   SETTINGS frame is built here so that the MAX_CONCURRENT_STREAMS we advertise is not the
   one h2 enforces: h2 answers one stream too many with a connection error (GOAWAY
   PROTOCOL_ERROR), while we refuse that stream alone with RST_STREAM(REFUSED_STREAM), as
   grpc-go and C-core do (grpc/grpc#34654; reliability catalogue row 13). h2's own limit is
   therefore set to 2**31 - 1.
3. **Connection and stream windows are returned separately.** h2's
   ``acknowledge_received_data`` returns both at once. gRPC (grpc-go) returns the connection
   window as bytes arrive, so one stalled stream cannot block its neighbours, and a
   stream's window only as the application consumes its messages.
4. **Header validation is off** (both ways), header values stay bytes: the gRPC checks in
   ``_headers.py`` are the validation, applied per stream. The HPACK decoder keeps a hard
   limit above the advertised MAX_HEADER_LIST_SIZE so that a moderately oversized request is
   rejected on its stream while a header bomb still ends the connection.
5. **HPACK blocks are memoised** (``_hpack``): hpack's encoder and decoder are replaced by
   subclasses that return a known block without walking its fields, exactly what hpack
   would produce in the same table state. Streams skip the header classification that only
   h2's (disabled) validation reads (``_Stream``), and received frames skip the hex dump
   h2 prepares for its trace log (``_FrameBuffer``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from h2.config import H2Configuration
from h2.connection import ConnectionInputs, H2Connection
from h2.errors import ErrorCodes
from h2.events import ConnectionTerminated
from h2.frame_buffer import FrameBuffer
from h2.settings import SettingCodes, Settings
from h2.stream import H2Stream
from h2.utilities import HeaderValidationFlags
from hyperframe.frame import (
    AltSvcFrame,
    ContinuationFrame,
    DataFrame,
    ExtensionFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from ._hpack import CachingDecoder, CachingEncoder

if TYPE_CHECKING:
    from h2.connection import AllowedStreamIDs
    from h2.events import Event

__all__ = ["CONNECTION_PREFACE", "DEFAULT_WINDOW", "GrpcH2Connection"]

CONNECTION_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEFAULT_WINDOW = 65535  # RFC 9113 section 6.9.2: every window starts here
_DEFAULT_MAX_FRAME_SIZE = 16384
_UNLIMITED_STREAMS = 2**31 - 1
_NO_VALIDATION = HeaderValidationFlags(
    is_client=False, is_trailer=False, is_response_header=False, is_push_promise=False
)


def _brief_repr(frame: Frame) -> str:
    return f"<{type(frame).__bases__[0].__name__} stream {frame.stream_id}>"


# Received frames are re-classed to these subclasses, whose repr does not hexlify the body.
_QUIET: dict[type[Frame], type[Frame]] = {
    cls: type(cls.__name__, (cls,), {"__slots__": (), "__repr__": _brief_repr})
    for cls in (
        DataFrame,
        HeadersFrame,
        PushPromiseFrame,
        SettingsFrame,
        WindowUpdateFrame,
        PingFrame,
        RstStreamFrame,
        PriorityFrame,
        GoAwayFrame,
        ContinuationFrame,
        AltSvcFrame,
        ExtensionFrame,
    )
}


class _FrameBuffer(FrameBuffer):
    """h2's frame parser, handing out frames whose ``repr`` is cheap.

    h2 formats ``repr(frame)`` of every received frame as an argument of its trace-log call,
    whether or not anyone logs; hyperframe's repr hex-encodes the whole frame body first.
    That is about half the receive cost of a large message (and ~3 % of a small call).
    Frames leave this buffer re-classed to a subclass (same layout, ``__slots__ = ()``)
    with a short repr; the connection dispatches the subclasses like their bases.
    """

    def __next__(self) -> Frame:
        frame = super().__next__()
        quiet = _QUIET.get(frame.__class__)
        if quiet is not None:
            frame.__class__ = quiet
        return frame


class _Stream(H2Stream):
    """h2's stream, minus work whose only consumer is the header validation we turned off.

    h2 classifies every header block it sends or receives (request, response, trailers,
    push) into ``HeaderValidationFlags`` with six ``isinstance`` checks; the flags are read
    only by its header normalisation and validation functions, which this configuration
    disables in both directions, so a constant serves.
    """

    def _build_hdr_validation_flags(self, events: object) -> HeaderValidationFlags:
        return _NO_VALIDATION


class GrpcH2Connection(H2Connection):
    """An ``H2Connection`` with gRPC's GOAWAY, settings and flow-control behaviour.

    Args:
        client: client or server side.
        initial_window_size: SETTINGS_INITIAL_WINDOW_SIZE we advertise (stream windows).
        max_frame_size: SETTINGS_MAX_FRAME_SIZE we advertise.
        max_header_list_size: SETTINGS_MAX_HEADER_LIST_SIZE we advertise.
        header_list_hard_limit: HPACK decoder limit; a bigger block is a connection error.
        max_concurrent_streams: SETTINGS_MAX_CONCURRENT_STREAMS we advertise (server side),
            or None to leave it out.
    """

    def __init__(
        self,
        *,
        client: bool,
        initial_window_size: int,
        max_frame_size: int,
        max_header_list_size: int,
        header_list_hard_limit: int,
        max_concurrent_streams: int | None,
    ) -> None:
        super().__init__(
            H2Configuration(
                client_side=client,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
                validate_inbound_headers=False,
                normalize_inbound_headers=False,
            )
        )
        initial: dict[SettingCodes, int] = {
            SettingCodes.INITIAL_WINDOW_SIZE: initial_window_size,
            SettingCodes.MAX_FRAME_SIZE: max_frame_size,
            SettingCodes.MAX_HEADER_LIST_SIZE: max_header_list_size,
            SettingCodes.MAX_CONCURRENT_STREAMS: _UNLIMITED_STREAMS,
            SettingCodes.ENABLE_PUSH: 0,
        }
        self.local_settings = Settings(client=client, initial_values=initial)
        self.max_inbound_frame_size = max_frame_size
        # HPACK with memoised blocks (byte-identical to hpack's, see _hpack).
        self.encoder = CachingEncoder()
        self.decoder = CachingDecoder(max_header_list_size=header_list_hard_limit)
        self.incoming_buffer = _FrameBuffer(server=not client)
        dispatch = self._frame_dispatch_table
        for base, quiet in _QUIET.items():
            dispatch[quiet] = dispatch[base]
        # What goes on the wire. A client sends only what differs from the RFC defaults
        # (census 2.1, grpc-go); a server states its limits.
        advertised: dict[int, int] = {}
        if client:
            advertised[SettingCodes.ENABLE_PUSH] = 0
        if not client or initial_window_size != DEFAULT_WINDOW:
            advertised[SettingCodes.INITIAL_WINDOW_SIZE] = initial_window_size
        if not client or max_frame_size != _DEFAULT_MAX_FRAME_SIZE:
            advertised[SettingCodes.MAX_FRAME_SIZE] = max_frame_size
        advertised[SettingCodes.MAX_HEADER_LIST_SIZE] = max_header_list_size
        if max_concurrent_streams is not None:
            advertised[SettingCodes.MAX_CONCURRENT_STREAMS] = max_concurrent_streams
        self._advertised = advertised

    def initiate_connection(self) -> None:
        """Queue the client preface (client side) and our SETTINGS frame."""
        self.state_machine.process_input(ConnectionInputs.SEND_SETTINGS)
        frame = SettingsFrame(0)
        frame.settings = dict(self._advertised)
        preface = CONNECTION_PREFACE if self.config.client_side else b""
        self._data_to_send += preface + frame.serialize()

    def _begin_new_stream(self, stream_id: int, allowed_ids: AllowedStreamIDs) -> H2Stream:
        stream = super()._begin_new_stream(stream_id, allowed_ids)
        stream.__class__ = _Stream  # same state, no header classification (see _Stream)
        return stream

    def _receive_goaway_frame(self, frame: GoAwayFrame) -> tuple[list[Frame], list[Event]]:
        # h2#1181: report the GOAWAY but keep the state machine open and the output intact.
        event = ConnectionTerminated()
        try:
            event.error_code = ErrorCodes(frame.error_code)
        except ValueError:
            event.error_code = frame.error_code
        event.last_stream_id = frame.last_stream_id
        event.additional_data = frame.additional_data or None
        return [], [event]

    def send_goaway_frame(self, last_stream_id: int, error_code: int, debug: bytes = b"") -> None:
        """Queue a GOAWAY frame without closing h2's state machine (RFC 9113 section 6.8)."""
        frame = GoAwayFrame(0)
        frame.last_stream_id = last_stream_id
        frame.error_code = error_code
        frame.additional_data = debug
        self._data_to_send += frame.serialize()

    def ack_connection_data(self, size: int) -> None:
        """Return ``size`` bytes of the connection window (batched by h2's window manager)."""
        increment = self._inbound_flow_control_window_manager.process_bytes(size)
        if increment:
            frame = WindowUpdateFrame(0)
            frame.window_increment = increment
            self._data_to_send += frame.serialize()

    def ack_stream_data(self, stream_id: int, size: int) -> None:
        """Return ``size`` bytes of a stream's window (batched: about half a window a time)."""
        stream = self.streams.get(stream_id)
        if stream is not None and stream.open:
            for frame in stream.acknowledge_received_data(size):
                self._data_to_send += frame.serialize()

    def take_output(self) -> bytearray:
        """Everything queued for the peer, handed over without a copy."""
        out = self._data_to_send
        self._data_to_send = bytearray()
        return out

    def has_output(self) -> bool:
        """Whether bytes are queued for the peer."""
        return bool(self._data_to_send)

    def output_size(self) -> int:
        """Bytes queued for the peer."""
        return len(self._data_to_send)
