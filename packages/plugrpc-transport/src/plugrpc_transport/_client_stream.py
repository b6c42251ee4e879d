"""One call's HTTP/2 stream, client side."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from plugrpc_core import StatusCode

from ._errors import StreamClosed
from ._io import wake_all
from .protocol._headers import CallStatus

if TYPE_CHECKING:
    import asyncio

    from ._client import ClientConnection
    from .protocol._headers import RequestHead, ResponseHead

__all__ = ["ClientStream"]

_CANCELLED = CallStatus(code=StatusCode.CANCELLED, message="call cancelled by the client")


class ClientStream:
    """The client end of one gRPC call on a ``ClientConnection``.

    Made by ``ClientConnection.start_stream``. Receive methods may be awaited from one task
    at a time each; ``receive_status`` may be awaited concurrently with the others.

    Attributes:
        head: the request head the stream was started with.
        stream_id: the HTTP/2 stream id, or None while the stream waits for a
            MAX_CONCURRENT_STREAMS slot.
        unprocessed: True when the server provably did not process the stream
            (REFUSED_STREAM, or above a GOAWAY's last-stream-id): safe to retry.
    """

    __slots__ = (
        "_conn",
        "_messages",
        "_response",
        "_sent_end",
        "_status",
        "_waiters",
        "_write_waiters",
        "head",
        "stream_id",
        "unprocessed",
    )

    def __init__(self, conn: ClientConnection, head: RequestHead) -> None:
        self._conn = conn
        self.head = head
        self.stream_id: int | None = None
        self.unprocessed = False
        self._response: ResponseHead | None = None
        self._messages: deque[tuple[bool, bytes, int]] = deque()
        self._status: CallStatus | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._write_waiters: list[asyncio.Future[None]] = []
        self._sent_end = False

    def __repr__(self) -> str:
        return f"<ClientStream {self.head.path} id={self.stream_id} done={self.done()}>"

    # ----------------------------------------------------------------- sending

    async def _wait_started(self) -> int:
        while self.stream_id is None:
            if self._status is not None:
                raise StreamClosed(f"stream ended before it started: {self._status.message}")
            await self._conn._wait_on(self._write_waiters)
        if self._status is not None:
            raise StreamClosed(f"stream already ended: {self._status.code.name}")
        return self.stream_id

    async def send_message(
        self, payload: bytes, *, compressed: bool = False, end: bool = False
    ) -> None:
        """Send one message (prefix + payload); ``end`` half-closes after it.

        Waits while the stream is queued, while the kernel pushes back, and while more than
        the write quota (64 KiB) of the stream waits for the peer's flow-control windows.

        Raises:
            StreamClosed: the stream ended or was half-closed already.
        """
        if self._sent_end:
            raise StreamClosed("the request stream was already half-closed")
        sid = self.stream_id
        if sid is None or self._status is not None:
            sid = await self._wait_started()
        conn = self._conn
        if conn._write_paused:
            await conn.wait_writable()
        machine = conn._client_machine
        pending = machine.send_message(sid, payload, compressed, end)
        if end:
            self._sent_end = True
        if pending is None:
            raise StreamClosed("stream already ended")
        if end:
            conn.flush_call_end(len(conn._streams) <= 1)
        else:
            conn._schedule_flush()
        quota = conn._write_quota
        while pending > quota and self._status is None:
            await conn._wait_on(self._write_waiters)
            pending = machine.pending_bytes(sid)

    async def send_end(self) -> None:
        """Half-close the request (END_STREAM; an empty DATA frame if nothing is queued).

        Raises:
            StreamClosed: the stream ended or was half-closed already.
        """
        if self._sent_end:
            raise StreamClosed("the request stream was already half-closed")
        sid = self.stream_id
        if sid is None or self._status is not None:
            sid = await self._wait_started()
        self._sent_end = True
        conn = self._conn
        if not conn._client_machine.end_request(sid):
            raise StreamClosed("stream already ended")
        conn.flush_call_end(len(conn._streams) <= 1)

    # ----------------------------------------------------------------- receiving

    async def receive_headers(self) -> ResponseHead | None:
        """The response headers; None if the response was trailers-only or the call failed."""
        while True:
            if self._response is not None:
                return self._response
            if self._status is not None:
                return None
            await self._conn._wait_on(self._waiters)

    async def receive_message(self) -> tuple[bool, bytes] | None:
        """The next message as ``(compressed, payload)``; None once the response ended."""
        while True:
            if self._messages:
                compressed, payload, flow = self._messages.popleft()
                sid = self.stream_id
                if sid is not None:
                    conn = self._conn
                    conn._machine.consume(sid, flow)
                    if conn._machine.has_output:
                        conn._schedule_flush()
                return compressed, payload
            if self._status is not None:
                return None
            await self._conn._wait_on(self._waiters)

    async def receive_status(self) -> CallStatus:
        """Wait for the end of the call and return its status.

        From the trailers; from a RST_STREAM (``status_from_reset_code``); UNAVAILABLE when
        the connection was lost or closed, or the stream was refused; RESOURCE_EXHAUSTED for
        a message over the receive limit; INTERNAL for missing trailers or a truncated
        message; CANCELLED after ``cancel()``.
        """
        while self._status is None:
            await self._conn._wait_on(self._waiters)
        return self._status

    # ----------------------------------------------------------------- control

    def cancel(self) -> None:
        """RST_STREAM(CANCEL) if the stream is open; the status becomes CANCELLED."""
        if self._status is not None:
            return
        self._conn._cancel_stream(self)
        self._finish(_CANCELLED)

    def done(self) -> bool:
        """Whether the call has its final status."""
        return self._status is not None

    # ----------------------------------------------------------------- connection side

    def _finish(self, status: CallStatus, unprocessed: bool = False) -> None:
        if self._status is None:
            self._status = status
            self.unprocessed = unprocessed
        wake_all(self._waiters)
        wake_all(self._write_waiters)

    def _wake(self) -> None:
        wake_all(self._waiters)

    def _wake_writers(self) -> None:
        wake_all(self._write_waiters)
