"""One accepted server connection: routes machine events to ``ServerStream`` objects."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from ._io import H2Protocol, format_peer, wake_all
from ._server_stream import ServerStream
from .protocol._events import (
    ConnectionTerminated,
    DrainFinalized,
    MessageReceived,
    RequestEnded,
    RequestReceived,
    ResponseSent,
    SendWindowAvailable,
    SettingsReceived,
    StreamFailed,
    StreamReset,
)
from .protocol._server_machine import ServerMachine

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from ._options import TransportOptions
    from ._server import ServerListener

__all__ = ["ServerConnection"]

_log = logging.getLogger("plugrpc.transport")
_CANCEL = 0x8


class ServerConnection(H2Protocol):
    """The server side of one HTTP/2 connection."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        listener: ServerListener,
        handler: Callable[[ServerStream], None],
        options: TransportOptions,
    ) -> None:
        config = options.connection_config()
        self._server_machine = ServerMachine(config)
        super().__init__(loop, self._server_machine, options.read_slice_bytes)
        self._listener = listener
        self._handler = handler
        self._options = options
        self._write_quota = config.write_quota
        self._streams: dict[int, ServerStream] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._resume_scheduled = False
        self.peer = ""
        self.peer_certificate: dict[str, Any] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.peer = format_peer(transport.get_extra_info("peername"))
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() != "h2":
            # gRPC over TLS requires ALPN h2 (census 2.1; grpc-go enforces it both ways).
            # Nothing HTTP/2 is sent: close the TLS connection and say why here, since the
            # client may only see the socket close.
            _log.warning(
                "closing TLS connection from %s: the client did not negotiate ALPN 'h2' "
                "(selected: %r); gRPC requires HTTP/2 negotiated by ALPN",
                self.peer,
                ssl_object.selected_alpn_protocol(),
            )
            writer = cast("asyncio.WriteTransport", transport)  # uvloop's too (duck-typed)
            writer.close()
            if not writer.get_write_buffer_size():
                # close_notify is written; do not wait up to 30 s for the client's.
                writer.abort()
            return
        self.peer_certificate = transport.get_extra_info("peercert") or None
        self._listener._connections.add(self)
        # Slowloris defence (reliability row 20): preface and SETTINGS must arrive in time.
        self._timer = self._loop.call_later(
            self._options.handshake_timeout, self._handshake_expired
        )
        super().connection_made(transport)

    def _handshake_expired(self) -> None:
        self._timer = None
        _log.debug("closing %s: no HTTP/2 preface and SETTINGS in time", self.peer)
        self._abort()

    async def _wait_on(self, waiters: list[asyncio.Future[None]]) -> None:
        waiter = self._loop.create_future()
        waiters.append(waiter)
        await waiter

    # ----------------------------------------------------------------- machine events

    def _dispatch(self, events: list[Any]) -> None:
        streams = self._streams
        for event in events:
            kind = type(event)
            if kind is MessageReceived:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._messages.append((event.compressed, event.payload, event.flow_size))
                    wake_all(stream._waiters)
            elif kind is RequestReceived:
                self._new_stream(event.stream_id, event)
            elif kind is RequestEnded:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    stream._ended = True
                    wake_all(stream._waiters)
            elif kind is ResponseSent:
                streams.pop(event.stream_id, None)
            elif kind is StreamReset or kind is StreamFailed:
                stream = streams.pop(event.stream_id, None)
                if stream is not None:
                    stream._on_cancel()
            elif kind is SendWindowAvailable:
                stream = streams.get(event.stream_id)
                if stream is not None:
                    wake_all(stream._write_waiters)
            elif kind is SettingsReceived:
                if self._timer is not None and not self._server_machine.draining:
                    self._timer.cancel()
                    self._timer = None
            elif kind is DrainFinalized:
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            elif kind is ConnectionTerminated:
                self._cancel_all()
        if self._server_machine.drain_finalized:
            self._close_if_drained()

    def _new_stream(self, sid: int, event: RequestReceived) -> None:
        stream = ServerStream(self, sid, event.head)
        self._streams[sid] = stream
        try:
            self._handler(stream)
        except Exception:
            _log.exception("server handler failed for %s", event.head.path)
            stream.cancel()
            stream.handler_done()

    # ----------------------------------------------------------------- stream callbacks

    def _stream_progress(self, stream: ServerStream) -> None:
        """A stream sent its status or was cancelled: forget it once the wire is done."""
        if not self._server_machine.is_open(stream.stream_id):
            self._streams.pop(stream.stream_id, None)
        if self._server_machine.drain_finalized:
            self._close_if_drained()

    def _handler_finished(self, stream: ServerStream) -> None:
        machine = self._server_machine
        machine.handler_finished()
        if machine.input_blocked and not self._resume_scheduled:
            # Not inline: this may run inside _dispatch, and events must stay in order.
            self._resume_scheduled = True
            self._loop.call_soon(self._resume_input)

    def _resume_input(self) -> None:
        self._resume_scheduled = False
        if self._lost:
            return
        machine = self._server_machine
        try:
            events = machine.resume(self._loop.time())
            if events:
                self._dispatch(events)
        except Exception:
            _log.exception("internal error while handling input; closing the connection")
            machine.close(2)  # GOAWAY(INTERNAL_ERROR); connection_lost fails the streams
            self._close_transport()
            return
        self._flush()
        if machine.terminated:
            self._close_transport()
        self._update_reading()

    def _input_blocked(self) -> bool:
        return self._server_machine.input_blocked

    # ----------------------------------------------------------------- shutdown

    def start_drain(self, ping_timeout: float) -> None:
        """Graceful drain: GOAWAY(2**31-1) + PING now, the final GOAWAY on the ACK."""
        machine = self._server_machine
        if self._lost or machine.draining or machine.terminated:
            return
        machine.start_drain()
        self._flush()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(ping_timeout, self._finish_drain)

    def _finish_drain(self) -> None:
        self._timer = None
        if self._lost:
            return
        self._server_machine.finish_drain()
        self._flush()
        self._close_if_drained()

    def _close_if_drained(self) -> None:
        if self._server_machine.active_streams == 0 and not self._lost:
            self._close_transport()

    def abort_streams(self) -> None:
        """Reset every open stream (RST_STREAM CANCEL), then close the connection."""
        for stream in list(self._streams.values()):
            stream.cancel()
        self._streams.clear()
        self._machine.close(0)
        self._close_transport()

    def _cancel_all(self) -> None:
        streams = list(self._streams.values())
        self._streams.clear()
        for stream in streams:
            stream._on_cancel()

    def _on_connection_lost(self, message: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._cancel_all()
        self._listener._connections.discard(self)
