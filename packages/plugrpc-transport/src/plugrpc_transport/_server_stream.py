"""One call's HTTP/2 stream, server side."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ._errors import StreamClosed
from ._io import wake_all
from .protocol._headers import ResponseHead

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from plugrpc_core import Metadata

    from ._server_conn import ServerConnection
    from .protocol._headers import CallStatus, RequestHead

__all__ = ["ServerStream"]

_CANCEL = 0x8


class ServerStream:
    """The server end of one gRPC call, handed to the ``serve`` handler.

    Attributes:
        head: the request: path, authority, timeout, metadata, encodings, content-subtype.
        peer: the client's address, e.g. ``ipv4:127.0.0.1:43210``.
        peer_certificate: the client's certificate (``SSLSocket.getpeercert()``) with TLS
            client authentication, else None.
        cancelled: True once the stream was reset by the peer, lost with its connection, or
            cancelled locally.
        stream_id: the HTTP/2 stream id.
    """

    __slots__ = (
        "_callbacks",
        "_conn",
        "_ended",
        "_handler_done",
        "_messages",
        "_status_sent",
        "_waiters",
        "_write_waiters",
        "cancelled",
        "head",
        "peer",
        "peer_certificate",
        "stream_id",
    )

    def __init__(self, conn: ServerConnection, stream_id: int, head: RequestHead) -> None:
        self._conn = conn
        self.stream_id = stream_id
        self.head = head
        self.peer = conn.peer
        self.peer_certificate: dict[str, Any] | None = conn.peer_certificate
        self.cancelled = False
        self._messages: deque[tuple[bool, bytes, int]] = deque()
        self._ended = False
        self._status_sent = False
        self._handler_done = False
        self._waiters: list[asyncio.Future[None]] = []
        self._write_waiters: list[asyncio.Future[None]] = []
        self._callbacks: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<ServerStream {self.head.path} id={self.stream_id} peer={self.peer}>"

    # ----------------------------------------------------------------- receiving

    async def receive_message(self) -> tuple[bool, bytes] | None:
        """The next request message as ``(compressed, payload)``; None once the client
        half-closed.

        Raises:
            StreamClosed: the stream was reset, cancelled or lost with its connection.
        """
        while True:
            if self.cancelled:
                raise StreamClosed("the call was cancelled")
            if self._messages:
                compressed, payload, flow = self._messages.popleft()
                machine = self._conn._server_machine
                machine.consume(self.stream_id, flow)
                if machine.has_output:
                    self._conn._schedule_flush()
                return compressed, payload
            if self._ended:
                return None
            await self._conn._wait_on(self._waiters)

    # ----------------------------------------------------------------- sending

    async def send_headers(
        self,
        metadata: Metadata,
        *,
        encoding: str | None = None,
        accept_encoding: str | None = None,
    ) -> None:
        """Send the response headers (initial metadata).

        Raises:
            StreamClosed: the stream is gone, or headers or the status were already sent.
        """
        if self.cancelled or self._status_sent:
            raise StreamClosed("the call already ended")
        head = ResponseHead(
            metadata=metadata,
            encoding=encoding,
            accept_encoding=accept_encoding,
            content_subtype=self.head.content_subtype,
        )
        if not self._conn._server_machine.send_headers(self.stream_id, head):
            raise StreamClosed("response headers were already sent, or the call ended")
        self._conn._schedule_flush()

    async def send_message(self, payload: bytes, *, compressed: bool = False) -> None:
        """Send one response message (default headers first if none were sent).

        Waits while the kernel pushes back and while more than the write quota of this
        stream waits for the client's flow-control windows.

        Raises:
            StreamClosed: the stream is gone or the status was already sent.
        """
        if self.cancelled or self._status_sent:
            raise StreamClosed("the call already ended")
        conn = self._conn
        if conn._write_paused:
            await conn.wait_writable()
        machine = conn._server_machine
        sid = self.stream_id
        pending = machine.send_message(sid, payload, compressed)
        if pending is None:
            raise StreamClosed("the call already ended")
        conn._schedule_flush()
        quota = conn._write_quota
        while pending > quota and not self.cancelled:
            await conn._wait_on(self._write_waiters)
            pending = machine.pending_bytes(sid)

    async def send_status(self, status: CallStatus) -> None:
        """End the call: trailers, or a trailers-only response if no headers were sent.

        RST_STREAM(NO_ERROR) follows if the client has not half-closed (PROTOCOL-HTTP2).
        Never raises: a status for a stream that is already gone is dropped.
        """
        if self._status_sent or self.cancelled:
            return
        self._status_sent = True
        conn = self._conn
        if conn._server_machine.send_trailers(self.stream_id, status):
            conn.flush_call_end(len(conn._streams) <= 1)
        conn._stream_progress(self)

    # ----------------------------------------------------------------- control

    def cancel(self) -> None:
        """RST_STREAM(CANCEL) (deadline expiry, end of a drain's grace)."""
        if self.cancelled:
            return
        conn = self._conn
        if conn._server_machine.reset_stream(self.stream_id, _CANCEL):
            conn._schedule_flush()
        self._on_cancel()
        conn._stream_progress(self)

    def add_cancel_callback(self, cb: Callable[[], None]) -> None:
        """Run ``cb()`` once when the stream is cancelled (at once if it already was)."""
        if self.cancelled:
            self._conn._loop.call_soon(cb)
        else:
            self._callbacks.append(cb)

    def handler_done(self) -> None:
        """The handler finished: free its MAX_CONCURRENT_STREAMS slot.

        Call it right after ``send_status`` returns (no ``await`` in between), so the slot
        is free before the client, which sees the stream end, opens its next stream.
        """
        if self._handler_done:
            return
        self._handler_done = True
        self._conn._handler_finished(self)

    # ----------------------------------------------------------------- connection side

    def _on_cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        wake_all(self._waiters)
        wake_all(self._write_waiters)
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            try:
                cb()
            except Exception:
                import logging

                logging.getLogger("plugrpc.transport").exception("cancel callback %r failed", cb)
