"""The server side of the connection machine (policies in ``_connection``'s docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import h2.events as h2e
from h2.errors import ErrorCodes
from plugrpc_core import StatusCode

from ._config import ConnectionConfig
from ._connection import MachineBase, StreamState
from ._errors import RequestRejected
from ._events import DrainFinalized, GoAwayReceived, RequestEnded, RequestReceived, StreamFailed
from ._gate import CUT, OVERSIZED, scan_frames
from ._h2patch import CONNECTION_PREFACE
from ._headers import CallStatus, ResponseHead, header_list_size
from ._request import parse_request_headers
from ._response import build_rejection_trailers, build_response_headers, build_trailers

if TYPE_CHECKING:
    from ._errors import FramingError, MessageTooLarge

__all__ = ["DRAIN_PING_DATA", "ServerMachine"]

DRAIN_PING_DATA = b"plgdrain"
"""Opaque data of the PING that follows the first GOAWAY of a graceful drain."""

_MAX_STREAM_ID = 2**31 - 1
_SLICE = 16384  # bytes of whole frames handed to h2 between two checks
_DEFAULT_HEAD_CACHE: dict[str, list[tuple[bytes, bytes]]] = {}


class ServerMachine(MachineBase):
    """gRPC server connection: requests in, responses out.

    Args:
        config: limits and budgets; ``max_concurrent_streams`` caps running handlers.
    """

    def __init__(self, config: ConnectionConfig | None = None) -> None:
        config = config or ConnectionConfig()
        super().__init__(config, client=False, max_concurrent_streams=config.max_concurrent_streams)
        self._running = 0
        self._partial = bytearray()  # an incomplete frame, kept until the rest arrives
        self._held: bytearray | None = None  # input waiting for a handler slot
        self._preface_left = len(CONNECTION_PREFACE)
        self._drain_phase = 0
        self._drain_last_id = _MAX_STREAM_ID
        self._register_common()
        self._handlers.update(
            {
                h2e.RequestReceived: self._on_request,
                h2e.StreamEnded: self._on_stream_ended,
                h2e.ConnectionTerminated: self._on_goaway,
                h2e.PingAckReceived: self._on_ping_ack_server,
            }
        )

    # ----------------------------------------------------------------- state

    @property
    def running_handlers(self) -> int:
        """Handlers started and not reported finished (counted against the MCS)."""
        return self._running

    def handler_finished(self) -> None:
        """A handler started by a ``RequestReceived`` ended: free its concurrency slot.

        If input is waiting for a slot (``input_blocked``), call ``resume`` next.
        """
        if self._running > 0:
            self._running -= 1

    @property
    def input_blocked(self) -> bool:
        """Whether input waits for a handler slot; the owner should stop reading."""
        return self._held is not None

    def resume(self, now: float) -> list[Any]:
        """Process input that waited for a handler slot (see ``receive``)."""
        held = self._held
        if held is None or self._terminated:
            return []
        self._held = None
        return self.receive(held, now)

    def _receive(self, view: memoryview) -> None:
        # Whole frames only, so that input can stop before a HEADERS frame (see _gate).
        if self._held is not None:
            self._held += view
            return
        if self._partial:
            self._partial += view
            view = memoryview(self._partial)
            self._partial = bytearray()
        size = len(view)
        pos = 0
        if self._preface_left:
            pos = min(self._preface_left, size)
            self._preface_left -= pos
            self._feed(view[:pos])
        h2 = self._h2
        cap = self._config.max_concurrent_streams
        while pos < size and not self._terminated:
            room = max(cap - self._running, 0)
            stop, reason, _ = scan_frames(
                view, pos, _SLICE, h2.max_inbound_frame_size, h2.highest_inbound_stream_id, room
            )
            if stop == pos:
                if reason == CUT:
                    if len(self._streams) < cap:
                        # A handler slot is needed and none is free: wait (grpc-go#6703).
                        self._held = bytearray(view[pos:])
                        return
                    # The client exceeds its open-stream limit: let the stream in to refuse it.
                    stop, reason, _ = scan_frames(
                        view,
                        pos,
                        _SLICE,
                        h2.max_inbound_frame_size,
                        h2.highest_inbound_stream_id,
                        room + 1,
                    )
                elif reason == OVERSIZED:
                    h2.send_goaway_frame(h2.highest_inbound_stream_id, ErrorCodes.FRAME_SIZE_ERROR)
                    self._terminate(
                        ErrorCodes.FRAME_SIZE_ERROR,
                        "frame larger than our SETTINGS_MAX_FRAME_SIZE (RFC 9113 4.2)",
                    )
                    return
                if stop == pos:
                    break  # an incomplete frame: wait for the rest
            self._feed(view[pos:stop])
            pos = stop
        if pos < size and not self._terminated:
            self._partial = bytearray(view[pos:])

    @property
    def draining(self) -> bool:
        """Whether a graceful drain started (first GOAWAY sent)."""
        return self._drain_phase > 0

    @property
    def drain_finalized(self) -> bool:
        """Whether the second GOAWAY (real last-stream-id) went out."""
        return self._drain_phase > 1

    # ----------------------------------------------------------------- graceful drain

    def start_drain(self) -> None:
        """First step of a graceful drain: GOAWAY(2**31-1, NO_ERROR) and a PING (gRFC A9)."""
        if self._drain_phase or self._terminated:
            return
        self._drain_phase = 1
        self._h2.send_goaway_frame(_MAX_STREAM_ID, ErrorCodes.NO_ERROR)
        self._h2.ping(DRAIN_PING_DATA)

    def finish_drain(self) -> int:
        """Second step: GOAWAY with the last stream id seen; later streams are refused.

        Called on the PING ACK by the machine itself, or by the owner's timer when the ACK
        is late. Returns the last-stream-id sent.
        """
        if self._drain_phase < 2 and not self._terminated:
            if not self._drain_phase:
                self.start_drain()
            self._drain_phase = 2
            self._drain_last_id = self._h2.highest_inbound_stream_id
            self._h2.send_goaway_frame(self._drain_last_id, ErrorCodes.NO_ERROR)
        return self._drain_last_id

    def _on_ping_ack_server(self, event: Any) -> None:
        self._on_ping_ack(event)
        if self._drain_phase == 1 and bytes(event.ping_data) == DRAIN_PING_DATA:
            self._events.append(DrainFinalized(last_stream_id=self.finish_drain()))

    # ----------------------------------------------------------------- sending

    def send_headers(self, stream_id: int, head: ResponseHead) -> bool:
        """Send the response headers. False if the stream is gone or headers were sent."""
        st = self._streams.get(stream_id)
        if st is None or st.headers_done or st.local_closed:
            return False
        st.headers_done = True
        self._h2.send_headers(stream_id, build_response_headers(head))
        return True

    def send_message(self, stream_id: int, payload: bytes, compressed: bool = False) -> int | None:
        """Queue one message (default headers first if none were sent) and send what fits.

        A small message may wait for ``data_to_send`` to share a DATA frame with the next
        ones (see ``_connection``); ``send_trailers`` sends it at once.

        Returns:
            Bytes of the stream still waiting for flow control, or None if the stream is
            gone (reset, failed or finished).
        """
        st = self._streams.get(stream_id)
        if st is None or st.local_closed:
            return None
        if not st.headers_done:
            st.headers_done = True
            self._h2.send_headers(stream_id, _default_headers(st.subtype))
        self._queue_message(st, payload, compressed)
        return self._send_queued(st, urgent=False)

    def send_trailers(self, stream_id: int, status: CallStatus) -> bool:
        """End the call with ``status``: trailers after queued DATA, or trailers-only.

        RST_STREAM(NO_ERROR) follows when the client has not half-closed (PROTOCOL-HTTP2).
        Returns False if the stream is already gone.
        """
        st = self._streams.get(stream_id)
        if st is None or st.local_closed or st.out_trailers is not None:
            return False
        if st.headers_done:
            st.out_trailers = build_trailers(status, trailers_only=False)
            if st.out_bytes:
                # The trailers follow the queued DATA: now if no window holds it back.
                if st.stream_id not in self._blocked:
                    self._flush(st)
                return True
        else:
            st.headers_done = True
            st.out_trailers = build_trailers(status, trailers_only=True, content_subtype=st.subtype)
        self._send_trailers_now(st)
        return True

    def reset_stream(self, stream_id: int, code: int = ErrorCodes.CANCEL) -> bool:
        """RST_STREAM a live stream (deadline expiry, grace end). False if already gone."""
        if stream_id not in self._streams:
            return False
        self._reset(stream_id, code)
        return True

    # ----------------------------------------------------------------- h2 events

    def _on_request(self, event: Any) -> None:
        sid: int = event.stream_id
        headers = event.headers
        self._empty_run = 0
        ended = event.stream_ended is not None
        cap = self._config.max_concurrent_streams
        if sid > self._drain_last_id or len(self._streams) >= cap or self._running >= cap:
            # The client opened more streams than our MAX_CONCURRENT_STREAMS (or raced our
            # SETTINGS), or came after the final GOAWAY: refused, retryable (row 13).
            self._count_reset()
            if not self._terminated:
                self._h2.reset_stream(sid, ErrorCodes.REFUSED_STREAM)
            return
        size = header_list_size(headers)
        limit = self._config.max_header_list_size
        try:
            if size > limit:
                raise RequestRejected(
                    http_status=431,
                    status=StatusCode.RESOURCE_EXHAUSTED,
                    message=f"request header list size {size} exceeds the limit {limit}",
                )
            head = parse_request_headers(headers)
        except RequestRejected as rejected:
            self._reject(sid, rejected, ended)
            return
        st = StreamState(sid)
        st.subtype = head.content_subtype
        self._streams[sid] = st
        self._running += 1
        self._events.append(RequestReceived(stream_id=sid, head=head))

    def _reject(self, sid: int, rejected: RequestRejected, ended: bool) -> None:
        self._count_reset()
        if self._terminated:
            return
        h2 = self._h2
        if rejected.reset_code is not None:
            h2.reset_stream(sid, rejected.reset_code)
            return
        h2.send_headers(sid, build_rejection_trailers(rejected), end_stream=True)
        if not ended:
            h2.reset_stream(sid, ErrorCodes.NO_ERROR)

    def _on_stream_ended(self, event: Any) -> None:
        sid: int = event.stream_id
        st = self._streams.get(sid)
        if st is None:
            return
        st.remote_closed = True
        if st.decoder is not None and st.decoder.has_partial_message:
            self._fail(st, StatusCode.INTERNAL, "the client ended the stream inside a message")
            return
        self._events.append(RequestEnded(stream_id=sid))

    def _on_goaway(self, event: Any) -> None:
        last: int = event.last_stream_id
        prev = self._goaway_last_id
        self._goaway_last_id = last if prev is None else min(prev, last)
        self._events.append(
            GoAwayReceived(
                last_stream_id=last,
                error_code=int(event.error_code),
                debug=bytes(event.additional_data or b""),
            )
        )

    # ----------------------------------------------------------------- failures

    def _message_too_large(self, st: StreamState, exc: MessageTooLarge) -> None:
        self._fail(st, StatusCode.RESOURCE_EXHAUSTED, str(exc))

    def _framing_error(self, st: StreamState, exc: FramingError) -> None:
        self._fail(st, StatusCode.INTERNAL, str(exc))

    def _fail(self, st: StreamState, code: StatusCode, message: str) -> None:
        """Answer ``code`` on the stream now, drop queued output, tell the handler."""
        status = CallStatus(code=code, message=message)
        st.out.clear()
        st.out_bytes = 0
        st.out_end = False
        if not st.local_closed:
            st.out_trailers = (
                build_trailers(status, trailers_only=False)
                if st.headers_done
                else build_trailers(status, trailers_only=True, content_subtype=st.subtype)
            )
            st.headers_done = True
            self._send_trailers_now(st)
        else:
            self._reset(st.stream_id, ErrorCodes.CANCEL)
        self._forget(st.stream_id)
        self._events.append(StreamFailed(stream_id=st.stream_id, status=status))


def _default_headers(subtype: str) -> list[tuple[bytes, bytes]]:
    headers = _DEFAULT_HEAD_CACHE.get(subtype)
    if headers is None:
        from plugrpc_core import Metadata

        headers = build_response_headers(ResponseHead(metadata=Metadata(), content_subtype=subtype))
        if len(_DEFAULT_HEAD_CACHE) < 64:
            _DEFAULT_HEAD_CACHE[subtype] = headers
    return headers
