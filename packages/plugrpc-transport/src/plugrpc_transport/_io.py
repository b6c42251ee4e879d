"""The asyncio ``Protocol`` shared by client and server connections.

It owns the socket side of a connection machine:

* **Bounded input per loop turn** (reliability section 1 item 2): at most
  ``read_slice_bytes`` are handed to the machine per turn; the rest waits in a queue while
  reading is paused, and processing resumes with ``call_soon`` so other connections run.
* **Coalesced output**: sends made during one loop turn accumulate in the machine and go out
  in one ``transport.write`` at the end of the turn (``call_soon``), never later. Output
  caused by input is written right after that input is processed.
* **Kernel backpressure**: while the transport is paused (``pause_writing``) output stays in
  the machine, whose ACK budget then fills if the peer floods control frames without
  reading; writers wait in ``wait_writable``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol._connection import MachineBase

__all__ = ["H2Protocol", "format_peer", "wake_all"]

_log = logging.getLogger("plugrpc.transport")


def format_peer(peername: Any, unix_path: str | None = None) -> str:
    """gRPC's peer string: ``ipv4:1.2.3.4:80``, ``ipv6:[::1]:80``, ``unix:/path``."""
    if unix_path is not None or isinstance(peername, (str, bytes)) or peername is None:
        path = unix_path if unix_path is not None else peername
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        path = path or ""
        if path.startswith("\0"):
            return "unix-abstract:" + path[1:]
        return "unix:" + path
    host, port = peername[0], peername[1]
    if ":" in host:
        return f"ipv6:[{host}]:{port}"
    return f"ipv4:{host}:{port}"


def wake_all(waiters: list[asyncio.Future[None]]) -> None:
    """Resolve every pending future in ``waiters`` and empty the list."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()


class H2Protocol(asyncio.Protocol):
    """Feeds a machine from a transport and writes its output back.

    Subclasses implement ``_dispatch(events)`` and ``_on_connection_lost(message)``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, machine: MachineBase, read_slice: int):
        self._loop = loop
        self._machine = machine
        self._read_slice = read_slice
        self._transport: asyncio.Transport | None = None
        self._inbox: deque[memoryview] = deque()
        self._draining_inbox = False
        self._reading_paused = False
        self._write_paused = False
        self._write_waiters: list[asyncio.Future[None]] = []
        self._flush_scheduled = False
        self._lost = False
        self._closed_future: asyncio.Future[None] = loop.create_future()

    # ----------------------------------------------------------------- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - platform dependent
                pass
        self._machine.initiate()
        self._flush()

    def data_received(self, data: bytes) -> None:
        if self._inbox or self._draining_inbox:
            self._inbox.append(memoryview(data))
            return
        if len(data) <= self._read_slice:
            self._process(data)
            if self._reading_paused or self._input_blocked():
                self._update_reading()
        else:
            self._inbox.append(memoryview(data))
            self._drain_inbox()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._inbox.clear()
        wake_all(self._write_waiters)
        message = "connection lost" if exc is None else f"connection lost: {exc}"
        try:
            self._on_connection_lost(message)
        finally:
            if not self._closed_future.done():
                self._closed_future.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._flush()
        wake_all(self._write_waiters)

    # ----------------------------------------------------------------- input

    def _drain_inbox(self) -> None:
        """Process at most one slice of queued input, then yield to the loop."""
        self._draining_inbox = False
        inbox = self._inbox
        budget = self._read_slice
        while inbox and budget > 0 and not self._lost:
            chunk = inbox[0]
            if len(chunk) > budget:
                piece = chunk[:budget]
                inbox[0] = chunk[budget:]
            else:
                piece = inbox.popleft()
            budget -= len(piece)
            self._process(piece)
        if inbox and not self._lost:
            self._draining_inbox = True
            self._loop.call_soon(self._drain_inbox)
        self._update_reading()

    def _update_reading(self) -> None:
        """Pause reading while input is queued or the machine waits (resume otherwise)."""
        transport = self._transport
        if transport is None or self._lost:
            return
        pause = bool(self._inbox) or self._input_blocked()
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def _input_blocked(self) -> bool:
        return False

    def _process(self, data: bytes | memoryview) -> None:
        machine = self._machine
        try:
            events = machine.receive(data, self._loop.time())
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

    # ----------------------------------------------------------------- output

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        transport = self._transport
        if transport is None or self._write_paused or self._lost or transport.is_closing():
            return
        data = self._machine.data_to_send()
        if data:
            transport.write(data)

    async def wait_writable(self) -> None:
        """Wait while the transport is paused by the kernel's backpressure."""
        while self._write_paused and not self._lost:
            waiter = self._loop.create_future()
            self._write_waiters.append(waiter)
            await waiter

    # ----------------------------------------------------------------- closing

    def _close_transport(self) -> None:
        """Write what is queued (GOAWAY included), then close the socket."""
        transport = self._transport
        if transport is None or self._lost or transport.is_closing():
            return
        # Even while paused: the transport buffers it and flushes before closing.
        data = self._machine.data_to_send()
        if data:
            transport.write(data)
        transport.close()

    def _abort(self) -> None:
        transport = self._transport
        if transport is not None and not self._lost:
            transport.abort()

    async def _wait_lost(self) -> None:
        await asyncio.shield(self._closed_future)

    # ----------------------------------------------------------------- subclass hooks

    def _dispatch(self, events: list[Any]) -> None:
        raise NotImplementedError

    def _on_connection_lost(self, message: str) -> None:
        raise NotImplementedError
