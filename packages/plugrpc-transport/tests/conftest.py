"""Shared fixtures of the transport tests: an in-memory machine pair and a raw HTTP/2 peer.

Test modules cannot import each other (``--import-mode=importlib``), so the helpers are
handed out as fixtures. No mocks: machines talk to machines, or to frames built with
hyperframe and hpack exactly as they would travel on the wire.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hpack import Decoder, Encoder
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from plugrpc_transport.protocol._client_machine import ClientMachine
from plugrpc_transport.protocol._config import ConnectionConfig
from plugrpc_transport.protocol._events import MessageReceived
from plugrpc_transport.protocol._server_machine import ServerMachine

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


# --------------------------------------------------------------------------- machine pair


@dataclass
class Pair:
    """A client and a server machine wired in memory."""

    client: ClientMachine
    server: ServerMachine
    now: float = 0.0
    auto_consume: bool = True
    client_events: list[Any] = field(default_factory=list)
    server_events: list[Any] = field(default_factory=list)

    def pump(self, rounds: int = 1000) -> tuple[list[Any], list[Any]]:
        """Move bytes both ways until both are quiet; returns (client, server) events."""
        got_c: list[Any] = []
        got_s: list[Any] = []
        for _ in range(rounds):
            to_server = self.client.data_to_send()
            to_client = self.server.data_to_send()
            if not to_server and not to_client:
                break
            if to_server:
                events = self.server.receive(bytes(to_server), self.now)
                got_s.extend(events)
                if self.auto_consume:
                    for ev in events:
                        if type(ev) is MessageReceived:
                            self.server.consume(ev.stream_id, ev.flow_size)
            if to_client:
                events = self.client.receive(bytes(to_client), self.now)
                got_c.extend(events)
                if self.auto_consume:
                    for ev in events:
                        if type(ev) is MessageReceived:
                            self.client.consume(ev.stream_id, ev.flow_size)
        else:  # pragma: no cover - a test bug
            raise AssertionError("machines never went quiet")
        self.client_events.extend(got_c)
        self.server_events.extend(got_s)
        return got_c, got_s


@pytest.fixture
def make_pair() -> Callable[..., Pair]:
    """Build a connected (SETTINGS exchanged) client/server machine pair."""

    def make(
        client_config: ConnectionConfig | None = None,
        server_config: ConnectionConfig | None = None,
        *,
        handshake: bool = True,
    ) -> Pair:
        pair = Pair(ClientMachine(client_config), ServerMachine(server_config))
        pair.client.initiate()
        pair.server.initiate()
        if handshake:
            pair.pump()
            pair.client_events.clear()
            pair.server_events.clear()
        return pair

    return make


# --------------------------------------------------------------------------- raw peer


@dataclass
class Received:
    """One frame from the machine under test; ``headers`` decoded for HEADERS blocks."""

    frame: Frame
    headers: list[tuple[bytes, bytes]] | None = None

    @property
    def kind(self) -> str:
        return type(self.frame).__name__

    @property
    def stream_id(self) -> int:
        return int(self.frame.stream_id)

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers or ():
            if key == name:
                return value
        return None


class RawPeer:
    """Builds HTTP/2 frames by hand (hyperframe + hpack) and parses what comes back."""

    def __init__(self) -> None:
        self.encoder = Encoder()
        self.decoder = Decoder()
        self._buffer = bytearray()
        self._block: list[Frame] = []

    def preface(self, settings: dict[int, int] | None = None) -> bytes:
        frame = SettingsFrame(0)
        frame.settings = dict(settings or {})
        return PREFACE + frame.serialize()

    def settings(self, settings: dict[int, int] | None = None, ack: bool = False) -> bytes:
        frame = SettingsFrame(0, flags=["ACK"] if ack else [])
        if not ack:
            frame.settings = dict(settings or {})
        return frame.serialize()

    def headers(
        self, stream_id: int, headers: list[tuple[bytes, bytes]], *, end_stream: bool = False
    ) -> bytes:
        frame = HeadersFrame(stream_id)
        frame.data = self.encoder.encode(headers)
        frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        return frame.serialize()

    def request(
        self,
        stream_id: int,
        path: bytes = b"/pkg.Svc/Method",
        *,
        extra: list[tuple[bytes, bytes]] | None = None,
        end_stream: bool = False,
        replace: dict[bytes, bytes | None] | None = None,
    ) -> bytes:
        """A valid gRPC request's HEADERS, with optional extra or replaced fields."""
        fields = [
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", path),
            (b":authority", b"localhost"),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
        ]
        if replace:
            fields = [
                (k, replace[k]) if k in replace else (k, v)  # type: ignore[misc]
                for k, v in fields
                if not (k in replace and replace[k] is None)
            ]
        fields += extra or []
        return self.headers(stream_id, fields, end_stream=end_stream)

    def data(
        self, stream_id: int, payload: bytes, *, end_stream: bool = False, pad: int | None = None
    ) -> bytes:
        frame = DataFrame(stream_id, data=payload)
        if end_stream:
            frame.flags.add("END_STREAM")
        if pad is not None:
            frame.flags.add("PADDED")
            frame.pad_length = pad
        return frame.serialize()

    def message(self, stream_id: int, payload: bytes, *, end_stream: bool = False) -> bytes:
        prefix = b"\x00" + len(payload).to_bytes(4, "big")
        return self.data(stream_id, prefix + payload, end_stream=end_stream)

    def rst(self, stream_id: int, code: int = 8) -> bytes:
        return RstStreamFrame(stream_id, error_code=code).serialize()

    def ping(self, data: bytes = b"12345678", *, ack: bool = False) -> bytes:
        return PingFrame(0, opaque_data=data, flags=["ACK"] if ack else []).serialize()

    def window_update(self, stream_id: int, increment: int) -> bytes:
        return WindowUpdateFrame(stream_id, window_increment=increment).serialize()

    def goaway(self, last_stream_id: int, code: int = 0, debug: bytes = b"") -> bytes:
        return GoAwayFrame(
            0, last_stream_id=last_stream_id, error_code=code, additional_data=debug
        ).serialize()

    def parse(self, data: bytes | bytearray) -> list[Received]:
        """Frames in ``data`` (kept across calls if split), header blocks decoded."""
        self._buffer += data
        out: list[Received] = []
        while len(self._buffer) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self._buffer[:9]))
            if len(self._buffer) < 9 + length:
                break
            frame.parse_body(memoryview(bytes(self._buffer[9 : 9 + length])))
            del self._buffer[: 9 + length]
            if isinstance(frame, (HeadersFrame, ContinuationFrame)):
                self._block.append(frame)
                if "END_HEADERS" in frame.flags:
                    first = self._block[0]
                    block = b"".join(f.data for f in self._block)
                    self._block = []
                    decoded = [
                        (bytes(k), bytes(v)) for k, v in self.decoder.decode(block, raw=True)
                    ]
                    out.append(Received(first, decoded))
                continue
            out.append(Received(frame))
        return out


@pytest.fixture
def raw_peer() -> Callable[[], RawPeer]:
    """Factory of raw HTTP/2 peers."""
    return RawPeer


# --------------------------------------------------------------------------- sockets


@pytest.fixture
def unix_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A short filesystem path for a Unix socket (sun_path is 108 bytes)."""
    import os
    import tempfile

    directory = tempfile.mkdtemp(prefix="plugrpc-")
    path = os.path.join(directory, "s.sock")
    yield path
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    os.rmdir(directory)


@pytest.fixture
def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that cannot bind port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def read_frames_until(
    reader: asyncio.StreamReader,
    peer: RawPeer,
    done: Callable[[list[Received]], bool],
    timeout: float = 5.0,
) -> list[Received]:
    """Read from a raw socket until ``done(frames so far)``."""
    frames: list[Received] = []
    async with asyncio.timeout(timeout):
        while not done(frames):
            data = await reader.read(65536)
            if not data:
                break
            frames.extend(peer.parse(data))
    return frames


@pytest.fixture
def read_until() -> Callable[..., Any]:
    """``await read_until(reader, peer, done)``: frames read until ``done(frames)``."""
    return read_frames_until


# --------------------------------------------------------------------------- test service


class EchoService:
    """A server handler for the asyncio tests, dispatching on the method name.

    Methods: ``Echo`` (echo every message, OK with trailing metadata), ``Fail`` (trailers-only
    error with details), ``Hang`` (wait for cancellation), ``Stream`` (first message is a
    count N: N messages back), ``Slow`` (sleep 0.3 s, then echo).
    """

    def __init__(self) -> None:
        self.running = 0
        self.max_running = 0
        self.started = 0
        self.completed = 0
        self.cancelled: list[str] = []
        self.peers: list[str] = []
        self.heads: list[Any] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.hang_started = asyncio.Event()

    def __call__(self, stream: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._run(stream))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, stream: Any) -> None:
        from plugrpc_transport import StreamClosed

        self.started += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.peers.append(stream.peer)
        self.heads.append(stream.head)
        stream.add_cancel_callback(lambda: self.cancelled.append(stream.head.path))
        method = stream.head.path.rsplit("/", 1)[-1]
        try:
            await getattr(self, "do_" + method)(stream)
            self.completed += 1
        except StreamClosed:
            pass
        finally:
            self.running -= 1
            stream.handler_done()

    async def do_Echo(self, stream: Any) -> None:
        from plugrpc_core import Metadata, StatusCode
        from plugrpc_transport.protocol import CallStatus

        echo = stream.head.metadata.get("x-echo")
        if echo is not None:
            await stream.send_headers(Metadata([("x-echo", echo)]))
        count = 0
        while (item := await stream.receive_message()) is not None:
            count += 1
            await stream.send_message(item[1], compressed=item[0])
        await stream.send_status(
            CallStatus(
                code=StatusCode.OK,
                message=f"{count} messages",
                metadata=Metadata([("x-trailer", "done"), ("x-trailer-bin", b"\x00\xff")]),
            )
        )

    async def do_Slow(self, stream: Any) -> None:
        await asyncio.sleep(0.3)
        await self.do_Echo(stream)

    async def do_Fail(self, stream: Any) -> None:
        from plugrpc_core import Metadata, StatusCode
        from plugrpc_transport.protocol import CallStatus

        await stream.send_status(
            CallStatus(
                code=StatusCode.PERMISSION_DENIED,
                message="nope \u263a",
                details_bin=b"\x08\x07",
                metadata=Metadata([("x-why-bin", b"\x00\x01")]),
            )
        )

    async def do_Hang(self, stream: Any) -> None:
        done = asyncio.get_running_loop().create_future()
        stream.add_cancel_callback(lambda: done.done() or done.set_result(None))
        self.hang_started.set()
        await done

    async def do_Concat(self, stream: Any) -> None:
        from plugrpc_core import StatusCode
        from plugrpc_transport.protocol import CallStatus

        parts = []
        while (item := await stream.receive_message()) is not None:
            parts.append(item[1])
        await stream.send_message(b"".join(parts))
        await stream.send_status(CallStatus(code=StatusCode.OK))

    async def do_Stream(self, stream: Any) -> None:
        from plugrpc_core import StatusCode
        from plugrpc_transport.protocol import CallStatus

        first = await stream.receive_message()
        assert first is not None
        count, size = (int(x) for x in first[1].split(b","))
        for i in range(count):
            await stream.send_message(b"%d:" % i + b"s" * size)
        await stream.send_status(CallStatus(code=StatusCode.OK))


@pytest.fixture
def echo_service() -> EchoService:
    """A fresh ``EchoService`` handler (create it inside the test's event loop)."""
    return EchoService()
