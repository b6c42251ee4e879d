"""Client connections: ``connect`` and ``ClientConnection``."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, cast

from h2.exceptions import NoAvailableStreamIDError, TooManyStreamsError
from plugrpc_core import StatusCode

from ._client_stream import ClientStream
from ._errors import ConnectionFailed, ConnectionUnavailable
from ._io import H2Protocol, format_peer
from ._options import TransportOptions
from .protocol._client_machine import ClientMachine
from .protocol._events import (
    ConnectionTerminated,
    GoAwayReceived,
    MessageReceived,
    ResponseHeadersReceived,
    SendWindowAvailable,
    SettingsReceived,
    StreamFailed,
    StreamReset,
    TrailersReceived,
)
from .protocol._headers import CallStatus
from .protocol._status_map import describe_reset_code, status_from_reset_code

if TYPE_CHECKING:
    import ssl as _ssl
    from collections.abc import Callable

    from plugrpc_core import Address

    from .protocol._headers import RequestHead

__all__ = ["ClientConnection", "connect"]

_log = logging.getLogger("plugrpc.transport")
_REFUSED_STREAM = 0x7
_DEFAULT_OPTIONS = TransportOptions()


def _unavailable(message: str) -> CallStatus:
    return CallStatus(code=StatusCode.UNAVAILABLE, message=message)


def _skip_tls_shutdown_wait(transport: asyncio.BaseTransport) -> None:
    """After ``close()`` of a TLS transport, drop the socket once everything is written.

    asyncio would wait up to 30 s for the server's close_notify, which gRPC C-core never
    sends. grpc-go closes without waiting for it, and so do we: GOAWAY and our close_notify
    are already handed to the kernel, which still delivers them.
    """
    # Duck-typed: uvloop's transports do not derive from asyncio's classes.
    writer = cast("asyncio.WriteTransport", transport)
    if writer.get_extra_info("ssl_object") is not None and writer.get_write_buffer_size() == 0:
        writer.abort()


class ClientConnection(H2Protocol):
    """One HTTP/2 connection to a server, carrying many calls. Made by ``connect``.

    The ``asyncio.Protocol`` methods it inherits are internal.

    Attributes:
        peer: the server's address, e.g. ``ipv4:127.0.0.1:50051`` or ``unix:/path``.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        options: TransportOptions,
        unix_path: str | None = None,
    ) -> None:
        config = options.connection_config()
        self._client_machine = ClientMachine(config)
        super().__init__(loop, self._client_machine, options.read_slice_bytes)
        self.peer = ""
        self._unix_path = unix_path
        self._write_quota = config.write_quota
        self._streams: dict[int, ClientStream] = {}
        self._queue: deque[ClientStream] = deque()
        self._accepting = True
        self._reason: str | None = None
        self._close_listeners: list[Callable[[str | None], None]] = []
        self._draining = False
        self._closing = False
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._alpn_error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = format_peer(transport.get_extra_info("peername"), self._unix_path)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            # gRPC over TLS must negotiate h2 by ALPN; grpc-go refuses a server that picks
            # nothing or something else (census 2.1). Check before the preface goes out.
            protocol = ssl_object.selected_alpn_protocol()
            if protocol != "h2":
                chosen = f"chose {protocol!r}" if protocol else "chose no protocol"
                self._alpn_error = (
                    f"TLS ALPN negotiation failed: gRPC needs 'h2' and the server {chosen}"
                )
                transport.close()
                _skip_tls_shutdown_wait(transport)
                return
        super().connection_made(transport)

    # ----------------------------------------------------------------- public API

    @property
    def available(self) -> bool:
        """False once draining (GOAWAY received), closing or closed."""
        return self._accepting and not self._lost

    def add_close_listener(self, callback: Callable[[str | None], None]) -> None:
        """Call ``callback(reason)`` once, on the loop, when the connection stops taking
        new streams (GOAWAY received, lost, closed); ``reason`` is None for a local close.

        Called at once if that already happened.
        """
        if not self.available:
            self._loop.call_soon(callback, self._reason)
            return
        self._close_listeners.append(callback)

    def start_stream(self, head: RequestHead) -> ClientStream:
        """Open a stream for one call. HEADERS go out at the end of this loop turn, or when
        a MAX_CONCURRENT_STREAMS slot frees (queued streams start in order).

        Raises:
            ConnectionUnavailable: the connection takes no new streams.
        """
        if not self._accepting or self._lost:
            raise ConnectionUnavailable(self._reason or "connection is closed")
        stream = ClientStream(self, head)
        machine = self._client_machine
        if not self._queue and len(self._streams) < machine.max_concurrent_streams:
            self._start(stream)
        else:
            self._queue.append(stream)
        return stream

    def close(self) -> None:
        """Abrupt close: GOAWAY(NO_ERROR), open streams fail with UNAVAILABLE, socket closed."""
        if self._closing:
            return
        self._closing = True
        self._stop_accepting(None)
        self._machine.close(0)
        self._fail_all("connection closed by the client")
        self._close_transport()

    async def drain(self, timeout: float | None = None) -> None:
        """Take no new streams; close once the open (and queued) ones end, or at ``timeout``."""
        self._draining = True
        self._stop_accepting(None)
        if self._streams or self._queue:
            waiter = self._loop.create_future()
            self._idle_waiters.append(waiter)
            try:
                async with asyncio.timeout(timeout):
                    await waiter
            except TimeoutError:
                pass
        self.close()
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the socket is closed."""
        await self._wait_lost()

    def _close_transport(self) -> None:
        super()._close_transport()
        if self._transport is not None and not self._lost:
            _skip_tls_shutdown_wait(self._transport)

    # ----------------------------------------------------------------- streams

    async def _wait_on(self, waiters: list[asyncio.Future[None]]) -> None:
        waiter = self._loop.create_future()
        waiters.append(waiter)
        await waiter

    def _start(self, stream: ClientStream) -> bool:
        machine = self._client_machine
        try:
            sid = machine.start_request(stream.head)
        except TooManyStreamsError:
            # h2 still counts a stream we consider finished: wait for the next slot.
            self._queue.appendleft(stream)
            return False
        except NoAvailableStreamIDError:
            self._queue.appendleft(stream)
            self._stop_accepting("the connection ran out of stream ids")
            self._fail_queue("the connection ran out of stream ids")
            return False
        stream.stream_id = sid
        self._streams[sid] = stream
        stream._wake_writers()
        self._schedule_flush()
        if not machine.accepting_streams:
            self._stop_accepting("the connection ran out of stream ids")
        return True

    def _start_queued(self) -> None:
        queue = self._queue
        machine = self._client_machine
        while queue and len(self._streams) < machine.max_concurrent_streams:
            if not machine.accepting_streams:
                self._fail_queue("the connection ran out of stream ids")
                return
            if not self._start(queue.popleft()):
                return

    def _fail_queue(self, reason: str) -> None:
        """Queued streams never left the client: unprocessed, safe to retry elsewhere."""
        queued = list(self._queue)
        self._queue.clear()
        for stream in queued:
            stream._finish(_unavailable(reason), True)

    def _cancel_stream(self, stream: ClientStream) -> None:
        sid = stream.stream_id
        if sid is None:
            try:
                self._queue.remove(stream)
            except ValueError:
                pass
        else:
            if self._client_machine.cancel(sid):
                self._schedule_flush()
            self._streams.pop(sid, None)
            self._start_queued()
        self._check_idle()

    def _end(self, stream: ClientStream, status: CallStatus, unprocessed: bool = False) -> None:
        if stream.stream_id is not None:
            self._streams.pop(stream.stream_id, None)
        stream._finish(status, unprocessed)

    def _stop_accepting(self, reason: str | None) -> None:
        if not self._accepting:
            return
        self._accepting = False
        self._reason = reason or "connection closed by the client"
        listeners, self._close_listeners = self._close_listeners, []
        for callback in listeners:
            try:
                callback(reason)
            except Exception:
                _log.exception("close listener %r failed", callback)

    def _fail_all(self, message: str) -> None:
        status = _unavailable(message)
        self._fail_queue(message)
        streams = list(self._streams.values())
        self._streams.clear()
        for stream in streams:
            stream._finish(status)
        self._check_idle()

    def _check_idle(self) -> None:
        if self._streams or self._queue or self._accepting:
            return
        for waiter in self._idle_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._idle_waiters.clear()
        if not self._draining and not self._closing and not self._lost:
            # Nobody can use an idle connection that takes no new streams.
            self.close()

    # ----------------------------------------------------------------- machine events

    def _dispatch(self, events: list[Any]) -> None:
        streams = self._streams
        for event in events:
            kind = type(event)
            if kind is MessageReceived:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._messages.append((event.compressed, event.payload, event.flow_size))
                    stream._wake()
            elif kind is ResponseHeadersReceived:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._response = event.head
                    stream._wake()
            elif kind is TrailersReceived:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    self._end(stream, event.status)
            elif kind is StreamReset:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    code = event.error_code
                    status = CallStatus(
                        code=status_from_reset_code(code), message=describe_reset_code(code)
                    )
                    self._end(stream, status, code == _REFUSED_STREAM)
            elif kind is StreamFailed:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    self._end(stream, event.status, event.unprocessed)
            elif kind is SendWindowAvailable:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._wake_writers()
            elif kind is SettingsReceived:
                pass  # a bigger MAX_CONCURRENT_STREAMS: the queue moves below
            elif kind is GoAwayReceived:
                debug = event.debug.decode("utf-8", "replace")
                reason = f"server sent GOAWAY (error code {event.error_code}) {debug}".strip()
                self._stop_accepting(reason)
                self._fail_queue(reason)
            elif kind is ConnectionTerminated:
                self._stop_accepting(event.message)
                self._fail_all(event.message)
        if self._queue:
            self._start_queued()
        if not self._accepting:
            self._check_idle()

    def _on_connection_lost(self, message: str) -> None:
        self._stop_accepting(message)
        self._fail_all(message)
        for waiter in self._idle_waiters:
            if not waiter.done():
                waiter.set_result(None)


async def connect(
    address: Address,
    *,
    options: TransportOptions = _DEFAULT_OPTIONS,
    ssl: _ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    timeout: float = 20.0,
) -> ClientConnection:
    """Open an HTTP/2 connection to ``address`` (TCP, or a Unix socket path).

    Returns once the socket is connected and the preface is sent; the server's SETTINGS
    are not awaited (streams queue at 100 until they arrive, as in grpc-go).

    Raises:
        ConnectionFailed: connecting failed or took longer than ``timeout`` seconds, or TLS
            did not negotiate ALPN ``h2``.
    """
    loop = asyncio.get_running_loop()
    conn = ClientConnection(loop, options, address.path)
    try:
        async with asyncio.timeout(timeout):
            if address.path is not None:
                await loop.create_unix_connection(
                    lambda: conn,
                    address.path,
                    ssl=ssl,
                    server_hostname=(server_hostname or "localhost") if ssl else None,
                )
            else:
                await loop.create_connection(
                    lambda: conn,
                    address.host,
                    address.port,
                    ssl=ssl,
                    server_hostname=(server_hostname or address.host) if ssl else None,
                )
    except TimeoutError:
        raise ConnectionFailed(f"timed out after {timeout} s connecting to {address}") from None
    except OSError as exc:
        raise ConnectionFailed(f"cannot connect to {address}: {exc}") from exc
    if conn._alpn_error is not None:
        raise ConnectionFailed(f"cannot connect to {address}: {conn._alpn_error}")
    return conn
