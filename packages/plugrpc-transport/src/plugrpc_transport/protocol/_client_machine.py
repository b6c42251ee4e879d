"""The client side of the connection machine (policies in ``_connection``'s docstring)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import h2.events as h2e
from h2.errors import ErrorCodes
from plugrpc_core import StatusCode

from ._config import ConnectionConfig
from ._connection import MachineBase, StreamState
from ._events import (
    GoAwayReceived,
    ResponseHeadersReceived,
    SettingsReceived,
    StreamFailed,
    TrailersReceived,
)
from ._headers import CallStatus, RequestHead, header_list_size
from ._request import build_request_headers
from ._response import parse_response_headers, parse_trailers

if TYPE_CHECKING:
    from ._errors import FramingError, MessageTooLarge

__all__ = ["ClientMachine"]

# grpc-go assumes 100 concurrent streams until the server's SETTINGS say otherwise.
_MCS_BEFORE_SETTINGS = 100
_UNLIMITED = 2**31 - 1
# Stop opening streams at 3/4 of the id space, as grpc-go does, so the connection can be
# replaced while it still works (census 2.1).
_LAST_USABLE_STREAM_ID = (2**31 - 1) * 3 // 4


class ClientMachine(MachineBase):
    """gRPC client connection: requests out, responses in.

    Args:
        config: limits and budgets (``max_concurrent_streams`` is not used by a client).
    """

    def __init__(self, config: ConnectionConfig | None = None) -> None:
        super().__init__(config or ConnectionConfig(), client=True, max_concurrent_streams=None)
        self._peer_mcs = _MCS_BEFORE_SETTINGS
        self._register_common()
        self._handlers.update(
            {
                h2e.ResponseReceived: self._on_response,
                h2e.TrailersReceived: self._on_trailers,
                h2e.StreamEnded: self._on_stream_ended,
                h2e.ConnectionTerminated: self._on_goaway,
            }
        )

    # ----------------------------------------------------------------- state

    @property
    def max_concurrent_streams(self) -> int:
        """Streams the server lets us open at once (100 until its SETTINGS arrive)."""
        return self._peer_mcs

    @property
    def accepting_streams(self) -> bool:
        """Whether a new stream may start: not terminated, no GOAWAY, ids left."""
        return (
            not self._terminated
            and self._goaway_last_id is None
            and self._h2.highest_outbound_stream_id < _LAST_USABLE_STREAM_ID
        )

    # ----------------------------------------------------------------- sending

    def start_request(self, head: RequestHead) -> int:
        """Open a stream with ``head``'s request headers; returns its stream id.

        The caller keeps the number of open streams within ``max_concurrent_streams`` and
        checks ``accepting_streams`` first.
        """
        h2 = self._h2
        sid = h2.get_next_available_stream_id()
        h2.send_headers(sid, build_request_headers(head))
        self._streams[sid] = StreamState(sid)
        return sid

    def send_message(
        self, stream_id: int, payload: bytes, compressed: bool = False, end: bool = False
    ) -> int | None:
        """Queue one message (``end``: then half-close) and send what the windows allow.

        A small message without ``end`` may wait for ``data_to_send`` to share a DATA frame
        with the next ones (see ``_connection``).

        Returns:
            Bytes of the stream still waiting for flow control, or None if the stream is
            gone or already half-closed.
        """
        st = self._streams.get(stream_id)
        if st is None or st.local_closed:
            return None
        self._queue_message(st, payload, compressed)
        if end:
            st.local_closed = True
            st.out_end = True
        return self._send_queued(st, urgent=end)

    def end_request(self, stream_id: int) -> bool:
        """Half-close: END_STREAM on the last queued DATA frame, or an empty DATA frame."""
        st = self._streams.get(stream_id)
        if st is None or st.local_closed:
            return False
        self._end_local(st)
        return True

    def cancel(self, stream_id: int, code: int = ErrorCodes.CANCEL) -> bool:
        """RST_STREAM(CANCEL) a live stream. False if it already ended."""
        if stream_id not in self._streams:
            return False
        self._reset(stream_id, code)
        return True

    # ----------------------------------------------------------------- h2 events

    def _on_settings(self, event: Any) -> None:
        super()._on_settings(event)
        last = self._events[-1] if self._events else None
        if type(last) is SettingsReceived:
            mcs = last.max_concurrent_streams
            self._peer_mcs = _UNLIMITED if mcs is None else mcs

    def _on_response(self, event: Any) -> None:
        sid: int = event.stream_id
        st = self._streams.get(sid)
        self._empty_run = 0
        if st is None:
            return
        headers = event.headers
        ended = event.stream_ended is not None
        size = header_list_size(headers)
        if size > self._config.max_header_list_size:
            self._fail(st, StatusCode.INTERNAL, f"response header list size {size} too large")
            return
        result = parse_response_headers(headers)
        if type(result) is CallStatus:
            if ended:
                self._finish(st, result, trailers_only=True)
            else:
                # Not a gRPC answer (or a broken one); the status says what arrived.
                self._fail_with(st, result)
            return
        if ended:
            # Headers with END_STREAM and no grpc-status: trailers-only without a status.
            self._finish(st, parse_trailers(headers), trailers_only=True)
            return
        st.headers_done = True
        self._events.append(ResponseHeadersReceived(stream_id=sid, head=result))  # type: ignore[arg-type]

    def _on_trailers(self, event: Any) -> None:
        sid: int = event.stream_id
        st = self._streams.get(sid)
        self._empty_run = 0
        if st is None:
            return
        headers = event.headers
        size = header_list_size(headers)
        if size > self._config.max_header_list_size:
            self._fail(st, StatusCode.INTERNAL, f"trailer list size {size} too large")
            return
        self._finish(st, parse_trailers(headers), trailers_only=False)

    def _on_stream_ended(self, event: Any) -> None:
        st = self._streams.get(event.stream_id)
        if st is not None:
            # END_STREAM on a DATA frame: the server never sent trailers.
            st.remote_closed = True
            self._fail(st, StatusCode.INTERNAL, "server closed the stream without sending trailers")

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
        # RFC 9113 section 6.8: streams above last-stream-id were not and will not be
        # processed, so they may be retried elsewhere; the others go on. No RST_STREAM for
        # them: the server ignores those streams already (grpc-go sends none either).
        dropped = [sid for sid in self._streams if sid > last]
        for sid in dropped:
            self._forget(sid)
            status = CallStatus(
                code=StatusCode.UNAVAILABLE,
                message="the server sent GOAWAY before processing the stream",
            )
            self._events.append(StreamFailed(stream_id=sid, status=status, unprocessed=True))

    # ----------------------------------------------------------------- endings

    def _finish(self, st: StreamState, status: CallStatus, *, trailers_only: bool) -> None:
        sid = st.stream_id
        if st.decoder is not None and st.decoder.has_partial_message:
            status = CallStatus(
                code=StatusCode.INTERNAL,
                message="the server ended the stream inside a message",
                metadata=status.metadata,
            )
        self._forget(sid)
        if not st.local_closed or st.out_bytes:
            # Census 2.6: trailers before our END_STREAM are followed by RST_STREAM(NO_ERROR).
            self._reset(sid, ErrorCodes.NO_ERROR)
        self._events.append(
            TrailersReceived(stream_id=sid, status=status, trailers_only=trailers_only)
        )

    def _message_too_large(self, st: StreamState, exc: MessageTooLarge) -> None:
        self._fail(st, StatusCode.RESOURCE_EXHAUSTED, str(exc))

    def _framing_error(self, st: StreamState, exc: FramingError) -> None:
        self._fail(st, StatusCode.INTERNAL, str(exc))

    def _fail(self, st: StreamState, code: StatusCode, message: str) -> None:
        self._fail_with(st, CallStatus(code=code, message=message))

    def _fail_with(self, st: StreamState, status: CallStatus) -> None:
        """Cancel the stream on the wire and report ``status`` locally."""
        self._reset(st.stream_id, ErrorCodes.CANCEL)
        self._events.append(StreamFailed(stream_id=st.stream_id, status=status))
