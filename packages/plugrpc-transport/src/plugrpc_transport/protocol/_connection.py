"""The sans-I/O gRPC connection machine: bytes and time in, gRPC events and bytes out.

Theory of operation
-------------------
A machine wraps one ``GrpcH2Connection`` (h2 with the adaptations described in
``_h2patch``) and keeps, per live stream, a small record: the message decoder, the
receive-window bookkeeping and the queue of outbound bytes that wait for flow control. The
owner (the asyncio layer, or a test) calls ``receive(data, now)`` with bytes from the
socket, dispatches the returned events, calls the ``send_*`` methods, and writes whatever
``data_to_send()`` returns. Nothing here reads a clock, sleeps or does I/O.

Policies, with their sources:

* **Malformed requests are stream errors, never connection errors** (RFC 9113 section
  8.1.1; grpc-go; reliability catalogue section 1 item 4). h2's header validation is off;
  C1's ``parse_request_headers`` is the validator. A rejected request is answered on its
  own stream, with RST_STREAM of the error code it names, or with a trailers-only response
  carrying its HTTP status (gRFC A41), followed by RST_STREAM(NO_ERROR) when the client
  has not half-closed. The handler never runs. Request headers over our advertised
  MAX_HEADER_LIST_SIZE get a trailers-only 431 with RESOURCE_EXHAUSTED; only blocks over
  the HPACK hard limit (4x, at least 64 KiB) end the connection (they are attacks).
* **Concurrency counts running handlers, not open streams** (grpc-go#6703, CVE-2023-44487).
  When ``max_concurrent_streams`` handlers run, the server stops *before* the next HEADERS
  frame that opens a stream and holds the rest of the input (``input_blocked``) until the
  owner reports a finished handler (``handler_finished``, then ``resume``), as grpc-go's
  reader waits on its quota. A client whose open streams exceed the advertised limit (or
  that raced our SETTINGS) gets RST_STREAM(REFUSED_STREAM) for the extra stream, never a
  GOAWAY (grpc/grpc#34654); it may retry it transparently.
* **GOAWAY lets in-flight streams finish** (RFC 9113 section 6.8; gRFC A9; h2#1181
  worked around in ``_h2patch``). The server drains in two steps, as grpc-go does:
  GOAWAY(2**31-1) plus a PING; when the PING ACK arrives (or the owner's timer calls
  ``finish_drain``), GOAWAY(last stream id actually seen). Streams up to that id finish;
  later ones are refused. A client receiving GOAWAY fails its streams above the
  last-stream-id as *unprocessed* (UNAVAILABLE, safe to retry) and lets the others finish.
* **Receive limit on the length prefix** (reliability row 16): an oversized message is
  rejected before any of its body is kept. The server answers RESOURCE_EXHAUSTED and
  resets; the client resets with CANCEL and reports RESOURCE_EXHAUSTED locally. Window for
  discarded bytes is still returned (h2 does it for frames on reset streams).
* **Flow control** (RFC 9113 section 5.2; grpc-go): the connection window is raised to its
  configured size at start and returned as DATA arrives, so a stalled stream never blocks
  the others; a stream's window is returned as the application consumes its messages
  (``consume``), which bounds what a stream buffers to its window plus the one message
  being assembled while the application waits for it. Window updates are batched by h2's
  window manager (about half a window a time). Outbound DATA waits in the stream's queue
  for the peer's windows and goes out in frames of the peer's MAX_FRAME_SIZE.
* **Small messages share DATA frames**: a message that does not end the stream and leaves
  less than a frame's worth (at most 64 KiB) queued is not framed at once; ``data_to_send``
  frames everything queued since its last call, so a burst of small messages costs both
  ends one frame instead of one each (h2's cost is per frame; reference/performance.md
  g2). Trailers and END_STREAM send what is queued at once.
* **Budgets h2 lacks** (reliability rows 1, 2, 5-8, 11; numbers in ``_config``): resets
  received or provoked, glitches (PRIORITY, unknown frames), control-frame ACKs waiting for
  the writer, consecutive empty DATA frames. Exhausting one sends GOAWAY
  ENHANCE_YOUR_CALM and terminates the machine.
* **Bounded work per call**: ``receive`` feeds h2 in slices of 16 KiB (whole frames on the
  server, see ``_gate``) and checks the budgets between them, so an attack costs at most one
  slice after its budget ran out; the owner bounds the bytes it passes per event-loop turn.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from h2.errors import ErrorCodes
from h2.exceptions import ProtocolError, StreamClosedError
from h2.settings import SettingCodes

from ._config import ConnectionConfig, TokenBucket
from ._errors import FramingError, MessageTooLarge
from ._events import (
    ConnectionTerminated,
    MessageReceived,
    PingAcked,
    PingReceived,
    ResponseSent,
    SendWindowAvailable,
    SettingsAcked,
    SettingsReceived,
    StreamReset,
)
from ._framing import MESSAGE_PREFIX_LENGTH, MessageDecoder, encode_message_prefix
from ._h2patch import DEFAULT_WINDOW, GrpcH2Connection

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MachineBase", "StreamState"]

_SLICE = 16384  # bytes handed to h2 between two budget checks
_COALESCE_LIMIT = 65536  # payloads up to this are copied behind their prefix: one DATA frame
_NO_MCS = 2**32 + 1  # h2's value for "the peer set no MAX_CONCURRENT_STREAMS"


class StreamState:
    """What a machine keeps about one live stream."""

    __slots__ = (
        "decoder",
        "headers_done",
        "local_closed",
        "out",
        "out_bytes",
        "out_end",
        "out_trailers",
        "over_quota",
        "partial",
        "partial_acked",
        "queued",
        "remote_closed",
        "stream_id",
        "subtype",
    )

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        self.decoder: MessageDecoder | None = None
        self.partial = 0  # received bytes of the message being assembled
        self.partial_acked = 0  # ...of which the stream window was already returned
        self.queued = 0  # messages handed out and not yet consumed
        self.out: deque[bytes | memoryview] = deque()
        self.out_bytes = 0
        self.out_end = False  # END_STREAM goes on the last queued DATA frame
        self.out_trailers: list[tuple[bytes, bytes]] | None = None
        self.over_quota = False
        self.local_closed = False
        self.remote_closed = False
        self.headers_done = False  # server: headers sent; client: headers received
        self.subtype = "proto"


class MachineBase:
    """Shared core of ``ClientMachine`` and ``ServerMachine``.

    Args:
        config: limits and budgets.
        client: which side this is.
        max_concurrent_streams: value to advertise (server), or None (client).
    """

    def __init__(
        self, config: ConnectionConfig, *, client: bool, max_concurrent_streams: int | None
    ) -> None:
        self._config = config
        hard = max(4 * config.max_header_list_size, 65536)
        self._h2 = GrpcH2Connection(
            client=client,
            initial_window_size=config.initial_stream_window_size,
            max_frame_size=config.max_frame_size,
            max_header_list_size=config.max_header_list_size,
            header_list_hard_limit=hard,
            max_concurrent_streams=max_concurrent_streams,
        )
        self._streams: dict[int, StreamState] = {}
        self._blocked: dict[int, StreamState] = {}  # streams whose DATA waits for a window
        self._deferred: dict[int, StreamState] = {}  # streams with DATA to frame at output time
        # Events exist only during ``receive``; methods called outside it return results.
        self._events: list[Any] = []
        self._receiving = False
        self._terminated = False
        self._now = 0.0
        self._resets = TokenBucket(config.reset_burst, config.reset_rate)
        self._glitches = TokenBucket(config.glitch_burst, config.glitch_rate)
        self._pending_acks = 0
        self._empty_run = 0
        self._goaway_last_id: int | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {}

    # ----------------------------------------------------------------- lifecycle

    def initiate(self) -> None:
        """Queue the connection preface: preface (client), SETTINGS, connection WINDOW_UPDATE."""
        h2 = self._h2
        h2.initiate_connection()
        extra = self._config.initial_connection_window_size - DEFAULT_WINDOW
        if extra > 0:
            # h2 would keep the connection window at 64 KiB forever (h2#1280).
            h2.increment_flow_control_window(extra)

    @property
    def terminated(self) -> bool:
        """Whether the machine gave up (GOAWAY sent or a fatal error); input is ignored."""
        return self._terminated

    @property
    def goaway_last_stream_id(self) -> int | None:
        """The lowest last-stream-id of the GOAWAYs received, or None."""
        return self._goaway_last_id

    @property
    def active_streams(self) -> int:
        """Streams the machine still tracks (not finished, reset or failed)."""
        return len(self._streams)

    def is_open(self, stream_id: int) -> bool:
        """Whether ``stream_id`` is still live in the machine."""
        return stream_id in self._streams

    def close(self, error_code: int = 0, debug: bytes = b"") -> None:
        """Queue GOAWAY(``error_code``) and stop: every stream is abandoned."""
        if self._terminated:
            return
        self._terminated = True
        h2 = self._h2
        h2.send_goaway_frame(h2.highest_inbound_stream_id, error_code, debug)
        self._streams.clear()
        self._blocked.clear()
        self._deferred.clear()

    def ping(self, data: bytes) -> None:
        """Queue a PING with 8 bytes of opaque ``data``."""
        if not self._terminated:
            self._h2.ping(data)

    # ----------------------------------------------------------------- input

    def receive(self, data: bytes | bytearray | memoryview, now: float) -> list[Any]:
        """Process bytes from the peer received at time ``now`` (seconds, monotonic).

        Returns:
            The events they caused, in order (see ``_events``).
        """
        if self._terminated:
            return []
        self._now = now
        self._receiving = True
        events: list[Any] = []
        self._events = events
        try:
            self._receive(memoryview(data))
        finally:
            self._receiving = False
            self._events = []
        return events

    def _receive(self, view: memoryview) -> None:
        size = len(view)
        pos = 0
        while pos < size and not self._terminated:
            end = pos + _SLICE
            self._feed(view[pos:end] if end < size else view[pos:])
            pos = end

    def _feed(self, piece: memoryview) -> None:
        """Hand ``piece`` to h2 and dispatch what it reports."""
        try:
            h2_events = self._h2.receive_data(piece)
        except ProtocolError as exc:
            # h2 queued GOAWAY with the right error code already.
            code = int(getattr(exc, "error_code", None) or ErrorCodes.PROTOCOL_ERROR)
            self._terminate(code, f"HTTP/2 protocol error from the peer: {exc}")
            return
        handlers = self._handlers
        for event in h2_events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(event)
                if self._terminated:
                    return

    def data_to_send(self) -> bytearray:
        """Bytes to write to the peer (possibly empty), handed over without a copy.

        Messages queued since the last call are framed first, several to a DATA frame.
        """
        if self._deferred:
            deferred = self._deferred
            self._deferred = {}
            for st in deferred.values():
                if st.out_bytes and st.stream_id in self._streams:
                    self._flush(st)
        self._pending_acks = 0
        return self._h2.take_output()

    @property
    def has_output(self) -> bool:
        """Whether ``data_to_send`` would return bytes."""
        return bool(self._deferred) or self._h2.has_output()

    @property
    def output_size(self) -> int:
        """About how many bytes ``data_to_send`` would return (frame headers not counted)."""
        size = self._h2.output_size()
        for st in self._deferred.values():
            size += st.out_bytes
        return size

    # ----------------------------------------------------------------- flow control

    def consume(self, stream_id: int, flow_size: int) -> None:
        """The application took a message: give its bytes back to the stream window."""
        st = self._streams.get(stream_id)
        if st is None or st.remote_closed:
            return
        h2 = self._h2
        if flow_size:
            h2.ack_stream_data(stream_id, flow_size)
        st.queued -= 1
        if st.queued <= 0:
            st.queued = 0
            # Caught up: the application waits for the message being assembled.
            unacked = st.partial - st.partial_acked
            if unacked > 0:
                h2.ack_stream_data(stream_id, unacked)
                st.partial_acked = st.partial

    def pending_bytes(self, stream_id: int) -> int:
        """Outbound bytes of ``stream_id`` still waiting for flow control."""
        st = self._blocked.get(stream_id)
        return st.out_bytes if st is not None else 0

    def _queue_message(self, st: StreamState, payload: bytes, compressed: bool) -> None:
        size = len(payload)
        prefix = encode_message_prefix(size, compressed)
        if size <= _COALESCE_LIMIT:
            st.out.append(prefix + payload)
        else:
            st.out.append(prefix)
            st.out.append(payload)
        st.out_bytes += MESSAGE_PREFIX_LENGTH + size

    def _send_queued(self, st: StreamState, urgent: bool) -> int:
        """Frame ``st``'s queued DATA now (``urgent``, or a frame's worth), or at output time.

        Returns:
            Bytes of the stream waiting for flow control (not those waiting for framing).
        """
        sid = st.stream_id
        if sid in self._blocked:
            pass  # behind a flow-control window: the WINDOW_UPDATE sends it
        elif urgent or st.out_bytes >= min(self._h2.max_outbound_frame_size, _COALESCE_LIMIT):
            self._flush(st)
        else:
            self._deferred[sid] = st
            return 0
        if st.out_bytes > self._config.write_quota:
            st.over_quota = True
        return st.out_bytes

    def _flush(self, st: StreamState) -> None:
        """Send as much queued DATA of ``st`` as the windows allow, then what follows it."""
        h2 = self._h2
        sid = st.stream_id
        self._deferred.pop(sid, None)
        out = st.out
        while out:
            window = h2.local_flow_control_window(sid)
            if window <= 0:
                break
            n = min(window, h2.max_outbound_frame_size, st.out_bytes)
            first = out[0]
            if len(first) == n:
                chunk: bytes | memoryview = out.popleft()
            elif len(first) > n:
                view = memoryview(first)
                chunk = view[:n]
                out[0] = view[n:]
            else:
                parts = []
                need = n
                while need:
                    piece = out[0]
                    if len(piece) <= need:
                        parts.append(out.popleft())
                        need -= len(piece)
                    else:
                        view = memoryview(piece)
                        parts.append(view[:need])
                        out[0] = view[need:]
                        need = 0
                chunk = b"".join(parts)
            st.out_bytes -= n
            h2.send_data(sid, chunk, end_stream=st.out_end and not st.out_bytes)
        if st.out_bytes:
            self._blocked[sid] = st
        else:
            self._blocked.pop(sid, None)
            if st.out_trailers is not None:
                self._send_trailers_now(st)
                if self._receiving:
                    self._events.append(ResponseSent(stream_id=sid))
                return
        if st.over_quota and st.out_bytes <= self._config.write_quota and self._receiving:
            st.over_quota = False
            self._events.append(SendWindowAvailable(stream_id=sid))

    def _flush_blocked(self) -> None:
        h2 = self._h2
        for st in list(self._blocked.values()):
            if h2.outbound_flow_control_window <= 0:
                break
            self._flush(st)

    def _send_trailers_now(self, st: StreamState) -> None:
        """Server: trailers with END_STREAM, then RST_STREAM(NO_ERROR) if still needed."""
        trailers = st.out_trailers
        assert trailers is not None
        st.out_trailers = None
        sid = st.stream_id
        h2 = self._h2
        h2.send_headers(sid, trailers, end_stream=True)
        st.local_closed = True
        stream = h2.streams.get(sid)
        if stream is not None and not stream.closed:
            # PROTOCOL-HTTP2: trailers before the client half-closed are followed by
            # RST_STREAM(NO_ERROR) so the client stops sending.
            h2.reset_stream(sid, ErrorCodes.NO_ERROR)
        self._forget(sid)

    def _end_local(self, st: StreamState) -> None:
        """Half-close our side: END_STREAM now, or on the last queued DATA frame."""
        if st.local_closed:
            return
        st.local_closed = True
        if st.out_bytes:
            st.out_end = True
        else:
            self._h2.end_stream(st.stream_id)

    def _forget(self, stream_id: int) -> StreamState | None:
        self._blocked.pop(stream_id, None)
        self._deferred.pop(stream_id, None)
        return self._streams.pop(stream_id, None)

    def _reset(self, stream_id: int, code: int) -> None:
        """RST_STREAM ``stream_id`` with ``code`` if h2 still has it open."""
        self._forget(stream_id)
        try:
            self._h2.reset_stream(stream_id, code)
        except (StreamClosedError, ProtocolError, KeyError):
            # Already closed on the wire (both sides ended, or reset meanwhile).
            pass

    # ----------------------------------------------------------------- budgets

    def _terminate(self, code: int, message: str) -> None:
        self._terminated = True
        self._streams.clear()
        self._blocked.clear()
        self._deferred.clear()
        self._events.append(ConnectionTerminated(error_code=code, message=message))

    def _calm(self, reason: str) -> None:
        """Hang up on an abusive peer: GOAWAY ENHANCE_YOUR_CALM (reliability section 3)."""
        if self._terminated:
            return
        h2 = self._h2
        h2.send_goaway_frame(
            h2.highest_inbound_stream_id, ErrorCodes.ENHANCE_YOUR_CALM, reason.encode()
        )
        self._terminate(ErrorCodes.ENHANCE_YOUR_CALM, f"peer exceeded a budget: {reason}")

    def _count_reset(self) -> None:
        if not self._resets.take(self._now):
            self._calm("too_many_resets")

    def _count_glitch(self, _event: object = None) -> None:
        if not self._glitches.take(self._now):
            self._calm("too_many_glitches")

    def _count_ack(self) -> None:
        self._pending_acks += 1
        if self._pending_acks > self._config.max_pending_acks:
            self._calm("too_many_control_frames")

    # ----------------------------------------------------------------- shared h2 events

    def _register_common(self) -> None:
        import h2.events as ev

        self._handlers.update(
            {
                ev.DataReceived: self._on_data,
                ev.WindowUpdated: self._on_window_updated,
                ev.RemoteSettingsChanged: self._on_settings,
                ev.SettingsAcknowledged: self._on_settings_acked,
                ev.PingReceived: self._on_ping,
                ev.PingAckReceived: self._on_ping_ack,
                ev.StreamReset: self._on_stream_reset,
                ev.PriorityUpdated: self._count_glitch,
                ev.UnknownFrameReceived: self._count_glitch,
            }
        )

    def _on_data(self, event: Any) -> None:
        data: bytes = event.data
        sid: int = event.stream_id
        flow: int = event.flow_controlled_length
        h2 = self._h2
        # grpc-go: the connection window comes back as bytes arrive, whatever the app does.
        h2.ack_connection_data(flow)
        n = len(data)
        if n == 0:
            if event.stream_ended is None:
                self._empty_run += 1
                if self._empty_run > self._config.max_empty_data_frames:
                    self._calm("too_many_empty_frames")
            return
        self._empty_run = 0
        st = self._streams.get(sid)
        if st is None or st.remote_closed:
            return  # a stream we already ended: the bytes are dropped
        if flow > n:
            h2.ack_stream_data(sid, flow - n)  # padding is never buffered
        decoder = st.decoder
        if decoder is None:
            decoder = st.decoder = MessageDecoder(self._config.max_receive_message_length)
        try:
            messages = decoder.feed(data)
        except MessageTooLarge as exc:
            self._message_too_large(st, exc)
            return
        except FramingError as exc:
            self._framing_error(st, exc)
            return
        if not messages:
            st.partial += n
            if not st.queued:
                h2.ack_stream_data(sid, st.partial - st.partial_acked)
                st.partial_acked = st.partial
            return
        acked = st.partial_acked
        rest = st.partial + n
        append = self._events.append
        for compressed, payload in messages:
            size = MESSAGE_PREFIX_LENGTH + len(payload)
            rest -= size
            append(
                MessageReceived(
                    stream_id=sid, compressed=compressed, payload=payload, flow_size=size - acked
                )
            )
            acked = 0
        st.queued += len(messages)
        st.partial = rest
        st.partial_acked = 0

    def _on_window_updated(self, event: Any) -> None:
        sid: int = event.stream_id
        if sid == 0:
            self._flush_blocked()
        else:
            st = self._blocked.get(sid)
            if st is not None:
                self._flush(st)

    def _on_settings(self, event: Any) -> None:
        self._count_ack()
        changed = event.changed_settings
        if SettingCodes.INITIAL_WINDOW_SIZE in changed or SettingCodes.MAX_FRAME_SIZE in changed:
            self._flush_blocked()
        mcs = self._h2.remote_settings.max_concurrent_streams
        self._events.append(
            SettingsReceived(max_concurrent_streams=None if mcs >= _NO_MCS else mcs)
        )

    def _on_settings_acked(self, _event: Any) -> None:
        self._events.append(SettingsAcked())

    def _on_ping(self, event: Any) -> None:
        self._count_ack()
        self._events.append(PingReceived(data=bytes(event.ping_data)))

    def _on_ping_ack(self, event: Any) -> None:
        self._events.append(PingAcked(data=bytes(event.ping_data)))

    def _on_stream_reset(self, event: Any) -> None:
        sid: int = event.stream_id
        st = self._forget(sid)
        if event.remote_reset:
            self._count_reset()
        elif st is not None:
            self._count_reset()  # a reset the peer provoked (MadeYouReset, row 2)
        if st is not None and not self._terminated:
            self._events.append(
                StreamReset(
                    stream_id=sid, error_code=int(event.error_code), remote=event.remote_reset
                )
            )

    # ----------------------------------------------------------------- per-side hooks

    def _message_too_large(self, st: StreamState, exc: MessageTooLarge) -> None:
        raise NotImplementedError

    def _framing_error(self, st: StreamState, exc: FramingError) -> None:
        raise NotImplementedError
