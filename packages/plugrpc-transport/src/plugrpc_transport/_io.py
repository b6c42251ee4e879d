"""The asyncio ``Protocol`` shared by client and server connections.

It owns the socket side of a connection machine:

* **Bounded input per loop turn** (reliability section 1 item 2): at most
  ``read_slice_bytes`` are handed to the machine per turn; the rest waits in a queue while
  reading is paused, and processing resumes with ``call_soon`` so other connections run.
* **Coalesced output, bounded**: sends made during one loop turn accumulate in the machine
  and go out in one ``transport.write`` at the end of the turn (``call_soon``), never later;
  once ``FLUSH_BYTES`` are queued they go out at once, so a busy producer streams to the
  kernel (and the peer starts working) instead of building one large batch, and kernel
  backpressure engages early. Output caused by input is written right after that input is
  processed. When a call's last bytes are queued and it is the connection's only call,
  they are written at once (``flush_call_end``): nothing else could join the batch, and
  the write saves a loop turn of latency (reference/performance.md section j, "eager").
  With many calls, every ``FLUSH_CALLS`` finished calls are written at once: a batch of a
  hundred small calls would otherwise cross as one write, and the two ends would take
  turns instead of working at the same time (measured: 100 unary calls in flight on one
  connection, ~1.9x the throughput at the same CPU per call; tools/bench).
* **Kernel backpressure**: while the transport is paused (``pause_writing``) output stays in
  the machine, whose ACK budget then fills if the peer floods control frames without
  reading; writers wait in ``wait_writable``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from .protocol._connection import MachineBase

__all__ = ["FLUSH_BYTES", "H2Protocol", "format_peer", "wake_all"]

_log = logging.getLogger("plugrpc.transport")

FLUSH_BYTES = 65536
"""Queued output that is written at once instead of at the end of the loop turn."""
FLUSH_CALLS = 8
"""Finished calls whose last bytes are written at once instead of at the end of the turn."""


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
        self._flush_handle: asyncio.Handle | None = None
        self._ends_queued = 0  # calls whose last bytes wait in the current batch
        self._lost = False
        self._closed_future: asyncio.Future[None] = loop.create_future()

    # ----------------------------------------------------------------- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports do not derive from asyncio's classes.
        self._transport = cast("asyncio.Transport", transport)
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
        """Write queued output at the end of this loop turn (now, past ``FLUSH_BYTES``)."""
        if self._machine.output_size >= FLUSH_BYTES:
            self._flush()
        elif self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._scheduled_flush)

    def flush_call_end(self, alone: bool) -> None:
        """A call queued its last bytes: write now if ``alone`` on the connection, or when
        ``FLUSH_CALLS`` finished calls wait in the batch."""
        self._ends_queued += 1
        if alone or self._ends_queued >= FLUSH_CALLS:
            self._flush()
        else:
            self._schedule_flush()

    def _scheduled_flush(self) -> None:
        self._flush_handle = None
        self._flush()

    def _flush(self) -> None:
        handle = self._flush_handle
        if handle is not None:
            handle.cancel()
            self._flush_handle = None
        self._ends_queued = 0
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
