"""grpcio (1.85) as a benchmark server and client: the asyncio API and the blocking API.

The blocking client has its own copy of the scenario loops (threads instead of tasks); the
work each scenario does is the same as in ``_scenarios``. The blocking server runs handlers
on a thread pool of ``workers`` threads (10, grpcio's documented example; the open-streams
row needs one thread per open stream, so it asks for more).
"""

from __future__ import annotations

import gc
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import echo_pb2
import echo_pb2_grpc
import grpc
from _proc import percentile, rss_bytes
from _scenarios import MESSAGE, PAYLOAD_10, Control, request_for

__all__ = ["AioAdapter", "SYNC_SCENARIOS", "serve_aio", "serve_sync"]

LIMIT = 64 * 1024 * 1024
SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", LIMIT),
    ("grpc.max_send_message_length", LIMIT),
]
CLIENT_OPTIONS = [
    *SERVER_OPTIONS,
    # One connection per channel, as with the other implementations (grpcio otherwise
    # shares subchannels between channels with equal arguments).
    ("grpc.use_local_subchannel_pool", 1),
]


# -- servers ------------------------------------------------------------------------------


class SyncEcho(echo_pb2_grpc.EchoServicer):
    def Unary(self, request: Any, context: Any) -> Any:
        return echo_pb2.EchoResponse(message=request.message, payload=request.payload)

    def ServerStream(self, request: Any, context: Any) -> Iterator[Any]:
        response = echo_pb2.EchoResponse(payload=request.payload)
        for _ in range(request.response_count):
            yield response

    def ClientStream(self, request_iterator: Any, context: Any) -> Any:
        count = 0
        size = 0
        for request in request_iterator:
            count += 1
            size += len(request.payload)
        return echo_pb2.EchoResponse(received_count=count, received_bytes=size)

    def Bidi(self, request_iterator: Any, context: Any) -> Iterator[Any]:
        for request in request_iterator:
            yield echo_pb2.EchoResponse(message=request.message, payload=request.payload)


class AioEcho(echo_pb2_grpc.EchoServicer):
    async def Unary(self, request: Any, context: Any) -> Any:
        return echo_pb2.EchoResponse(message=request.message, payload=request.payload)

    async def ServerStream(self, request: Any, context: Any) -> AsyncIterator[Any]:
        response = echo_pb2.EchoResponse(payload=request.payload)
        for _ in range(request.response_count):
            yield response

    async def ClientStream(self, request_iterator: Any, context: Any) -> Any:
        count = 0
        size = 0
        async for request in request_iterator:
            count += 1
            size += len(request.payload)
        return echo_pb2.EchoResponse(received_count=count, received_bytes=size)

    async def Bidi(self, request_iterator: Any, context: Any) -> AsyncIterator[Any]:
        async for request in request_iterator:
            yield echo_pb2.EchoResponse(message=request.message, payload=request.payload)


def serve_sync(announce: Any, options: dict[str, Any]) -> None:
    from concurrent import futures

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.get("workers", 10)),
        options=SERVER_OPTIONS,
    )
    echo_pb2_grpc.add_EchoServicer_to_server(SyncEcho(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    announce(port)
    server.wait_for_termination()


async def serve_aio(announce: Any, options: dict[str, Any]) -> None:
    server = grpc.aio.server(options=SERVER_OPTIONS)
    echo_pb2_grpc.add_EchoServicer_to_server(AioEcho(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    announce(port)
    await server.wait_for_termination()


# -- asyncio client -------------------------------------------------------------------------


class _AioBidi:
    def __init__(self, call: Any) -> None:
        self._call = call

    async def send(self, request: Any) -> None:
        await self._call.write(request)

    async def recv(self) -> Any:
        return await self._call.read()

    async def end(self) -> None:
        await self._call.done_writing()
        while (await self._call.read()) is not grpc.aio.EOF:
            pass


class AioAdapter:
    def __init__(self) -> None:
        self._channel: Any = None
        self._stub: Any = None

    async def open(self, port: int) -> None:
        self._channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=CLIENT_OPTIONS)
        self._stub = echo_pb2_grpc.EchoStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def unary(self, request: Any) -> Any:
        return await self._stub.Unary(request)

    def server_stream(self, request: Any) -> AsyncIterator[Any]:
        return self._stub.ServerStream(request).__aiter__()  # type: ignore[no-any-return]

    async def client_stream(self, requests: AsyncIterator[Any]) -> Any:
        return await self._stub.ClientStream(requests)

    @asynccontextmanager
    async def bidi(self) -> AsyncIterator[_AioBidi]:
        call = self._stub.Bidi()
        try:
            yield _AioBidi(call)
        finally:
            if not call.done():
                call.cancel()


# -- blocking client ------------------------------------------------------------------------


def _channel(port: int) -> tuple[Any, Any]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CLIENT_OPTIONS)
    return channel, echo_pb2_grpc.EchoStub(channel)


def sync_unary1(port: int, p: dict[str, Any], ctl: Control) -> dict:
    channel, stub = _channel(port)
    request = request_for(0)
    for _ in range(p.get("warmup", 300)):
        stub.Unary(request)
    calls = p["calls"]
    lat = [0.0] * calls
    clock = time.perf_counter
    ctl.mark("start")
    cpu0 = time.process_time()
    start = clock()
    for i in range(calls):
        t0 = clock()
        stub.Unary(request)
        lat[i] = clock() - t0
    wall = clock() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    channel.close()
    lat.sort()
    return {
        "count": calls,
        "wall": wall,
        "client_cpu": cpu,
        "p50_us": percentile(lat, 0.5) * 1e6,
        "p99_us": percentile(lat, 0.99) * 1e6,
    }


def sync_unary_concurrent(port: int, p: dict[str, Any], ctl: Control) -> dict:
    """``concurrency`` calls kept in flight with futures, each completion issuing the next."""
    channel, stub = _channel(port)
    request = request_for(0)
    for _ in range(50):
        stub.Unary(request)
    lock = threading.Lock()
    state = {"count": 0, "inflight": 0, "stop": False}
    finished = threading.Event()

    def issue() -> None:
        future = stub.Unary.future(request)
        future.add_done_callback(done)

    def done(future: Any) -> None:
        future.result()
        with lock:
            state["count"] += 1
            if state["stop"]:
                state["inflight"] -= 1
                if state["inflight"] == 0:
                    finished.set()
                return
        issue()

    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    with lock:
        state["inflight"] = p["concurrency"]
    for _ in range(p["concurrency"]):
        issue()
    time.sleep(p["seconds"])
    with lock:
        state["stop"] = True
    finished.wait(60)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    channel.close()
    return {"count": state["count"], "wall": wall, "client_cpu": cpu}


def sync_server_stream(port: int, p: dict[str, Any], ctl: Control) -> dict:
    channel, stub = _channel(port)
    n = p["messages"]
    for _ in stub.ServerStream(
        echo_pb2.EchoRequest(payload=PAYLOAD_10, response_count=min(n, 2000))
    ):
        pass
    request = echo_pb2.EchoRequest(payload=PAYLOAD_10, response_count=n)
    got = 0
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    for _ in stub.ServerStream(request):
        got += 1
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    channel.close()
    assert got == n
    return {"count": n, "wall": wall, "client_cpu": cpu}


def sync_client_stream(port: int, p: dict[str, Any], ctl: Control) -> dict:
    channel, stub = _channel(port)
    request = echo_pb2.EchoRequest(payload=PAYLOAD_10)
    n = p["messages"]
    stub.ClientStream(request for _ in range(min(n, 2000)))
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    response = stub.ClientStream(request for _ in range(n))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    channel.close()
    assert response.received_count == n
    return {"count": n, "wall": wall, "client_cpu": cpu}


class _SyncBidi:
    """A blocking bidi call fed from a queue (grpcio consumes it on its own thread)."""

    _END = object()

    def __init__(self, stub: Any) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._responses = stub.Bidi(iter(self._next, self._END))

    def _next(self) -> Any:
        return self._queue.get()

    def send(self, request: Any) -> None:
        self._queue.put(request)

    def recv(self) -> Any:
        return next(self._responses)

    def end(self) -> None:
        self._queue.put(self._END)
        for _ in self._responses:
            pass


def sync_bidi(port: int, p: dict[str, Any], ctl: Control) -> dict:
    channel, stub = _channel(port)
    request = echo_pb2.EchoRequest(message=MESSAGE)
    n = p["round_trips"]
    stream = _SyncBidi(stub)
    for _ in range(min(n, 300)):
        stream.send(request)
        stream.recv()
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    for _ in range(n):
        stream.send(request)
        stream.recv()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    stream.end()
    channel.close()
    return {"count": n, "wall": wall, "client_cpu": cpu}


def sync_echo(port: int, p: dict[str, Any], ctl: Control) -> dict:
    channel, stub = _channel(port)
    request = request_for(p["size"])
    for _ in range(2):
        response = stub.Unary(request)
    assert len(response.payload) == p["size"]
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    for _ in range(p["calls"]):
        stub.Unary(request)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    channel.close()
    return {"count": p["calls"], "wall": wall, "client_cpu": cpu, "bytes": p["size"]}


def sync_idle_connections(port: int, p: dict[str, Any], ctl: Control) -> dict:
    request = request_for(0)
    first, stub = _channel(port)
    stub.Unary(request)
    gc.collect()
    rss0 = rss_bytes(os.getpid())
    ctl.hold({"phase": "baseline"})
    channels = []
    for _ in range(p["connections"]):
        channel, stub = _channel(port)
        stub.Unary(request)
        channels.append(channel)
    time.sleep(0.2)
    gc.collect()
    rss1 = rss_bytes(os.getpid())
    ctl.hold({"phase": "loaded"})
    for channel in channels:
        channel.close()
    first.close()
    return {"count": p["connections"], "client_rss_delta": rss1 - rss0}


def sync_open_streams(port: int, p: dict[str, Any], ctl: Control) -> dict:
    request = request_for(0)
    channels = []
    for _ in range(p["connections"]):
        channel, stub = _channel(port)
        stub.Unary(request)
        channels.append((channel, stub))
    time.sleep(0.2)
    gc.collect()
    rss0 = rss_bytes(os.getpid())
    ctl.hold({"phase": "baseline"})
    streams = []
    for i in range(p["streams"]):
        stream = _SyncBidi(channels[i % len(channels)][1])
        stream.send(request)
        streams.append(stream)
    for stream in streams:
        stream.recv()
    time.sleep(0.2)
    gc.collect()
    rss1 = rss_bytes(os.getpid())
    ctl.hold({"phase": "loaded"})
    for stream in streams:
        stream.end()
    for channel, _ in channels:
        channel.close()
    return {"count": p["streams"], "client_rss_delta": rss1 - rss0}


SYNC_SCENARIOS = {
    "unary1": sync_unary1,
    "unary100": sync_unary_concurrent,
    "server_stream": sync_server_stream,
    "client_stream": sync_client_stream,
    "bidi": sync_bidi,
    "echo": sync_echo,
    "idle_connections": sync_idle_connections,
    "open_streams": sync_open_streams,
}
