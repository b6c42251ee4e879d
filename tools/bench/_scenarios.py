"""The client side of every scenario, written once for the asyncio implementations.

An implementation supplies an *adapter* (plugrpc, grpcio's asyncio API, grpclib): a few
coroutines over its own stub for tests/protos/echo.proto. The scenarios below drive the
adapter the same way for each of them, so the implementations differ only in their RPC
stack. grpcio's blocking API has its own copy of these loops (``_impl_grpcio_sync``).

Every scenario returns plain numbers: wall time, this process's CPU time over the measured
part, and what was counted. The driver adds the server's CPU time (from /proc) and turns
them into rates.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import echo_pb2
from _proc import percentile, rss_bytes

__all__ = ["SCENARIOS", "Adapter", "Bidi", "Control", "request_for"]

MESSAGE = "0123456789"
PAYLOAD_10 = b"0123456789"


class Control(Protocol):
    """The scenario's line to the driver."""

    def mark(self, label: str) -> None:
        """Tell the driver the measured part starts or ends (it samples the server's CPU)."""

    def hold(self, state: dict[str, Any]) -> None:
        """Report a state and wait until the driver has measured the server (memory rows)."""


class Bidi(Protocol):
    async def send(self, request: Any) -> None: ...
    async def recv(self) -> Any: ...
    async def end(self) -> None: ...


class Adapter(Protocol):
    async def open(self, port: int) -> None: ...
    async def close(self) -> None: ...
    async def unary(self, request: Any) -> Any: ...
    def server_stream(self, request: Any) -> AsyncIterator[Any]: ...
    async def client_stream(self, requests: AsyncIterator[Any]) -> Any: ...
    def bidi(self) -> AbstractAsyncContextManager[Bidi]: ...


def request_for(size: int) -> Any:
    """The request of the unary rows: a 10-byte message, or ``size`` bytes of payload."""
    if size:
        return echo_pb2.EchoRequest(payload=b"\x5a" * size)
    return echo_pb2.EchoRequest(message=MESSAGE)


async def unary1(make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control) -> dict:
    """``calls`` sequential unary calls: latency percentiles and CPU per call."""
    ad = make()
    await ad.open(port)
    request = request_for(0)
    for _ in range(p.get("warmup", 300)):
        await ad.unary(request)
    calls = p["calls"]
    lat = [0.0] * calls
    clock = time.perf_counter
    ctl.mark("start")
    cpu0 = time.process_time()
    start = clock()
    for i in range(calls):
        t0 = clock()
        await ad.unary(request)
        lat[i] = clock() - t0
    wall = clock() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    await ad.close()
    lat.sort()
    return {
        "count": calls,
        "wall": wall,
        "client_cpu": cpu,
        "p50_us": percentile(lat, 0.5) * 1e6,
        "p99_us": percentile(lat, 0.99) * 1e6,
    }


async def unary_concurrent(
    make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control
) -> dict:
    """``concurrency`` callers sharing one channel (or ``channels``) for ``seconds``."""
    adapters = [make() for _ in range(p.get("channels", 1))]
    for ad in adapters:
        await ad.open(port)
    request = request_for(0)
    await asyncio.gather(
        *(adapters[i % len(adapters)].unary(request) for i in range(p["concurrency"]))
    )
    counts = [0] * p["concurrency"]
    stop = False

    async def caller(index: int) -> None:
        ad = adapters[index % len(adapters)]
        while not stop:
            await ad.unary(request)
            counts[index] += 1

    tasks = [asyncio.ensure_future(caller(i)) for i in range(p["concurrency"])]
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    await asyncio.sleep(p["seconds"])
    stop = True
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    for ad in adapters:
        await ad.close()
    return {"count": sum(counts), "wall": wall, "client_cpu": cpu}


async def server_stream(
    make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control
) -> dict:
    """One call answered with ``messages`` responses of 10 payload bytes."""
    ad = make()
    await ad.open(port)
    n = p["messages"]
    warm = echo_pb2.EchoRequest(payload=PAYLOAD_10, response_count=min(n, 2000))
    async for _ in ad.server_stream(warm):
        pass
    request = echo_pb2.EchoRequest(payload=PAYLOAD_10, response_count=n)
    got = 0
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    async for _ in ad.server_stream(request):
        got += 1
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    await ad.close()
    assert got == n, (got, n)
    return {"count": n, "wall": wall, "client_cpu": cpu}


async def client_stream(
    make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control
) -> dict:
    """One call carrying ``messages`` requests of 10 payload bytes, answered once."""
    ad = make()
    await ad.open(port)
    request = echo_pb2.EchoRequest(payload=PAYLOAD_10)

    async def requests(count: int) -> AsyncIterator[Any]:
        for _ in range(count):
            yield request

    n = p["messages"]
    await ad.client_stream(requests(min(n, 2000)))
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    response = await ad.client_stream(requests(n))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    await ad.close()
    assert response.received_count == n, (response.received_count, n)
    return {"count": n, "wall": wall, "client_cpu": cpu}


async def bidi(make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control) -> dict:
    """Ping-pong on one bidi stream: send one message, wait for its echo, ``round_trips`` times."""
    ad = make()
    await ad.open(port)
    request = echo_pb2.EchoRequest(message=MESSAGE)
    n = p["round_trips"]
    async with ad.bidi() as stream:
        for _ in range(min(n, 300)):
            await stream.send(request)
            await stream.recv()
        ctl.mark("start")
        cpu0 = time.process_time()
        start = time.perf_counter()
        for _ in range(n):
            await stream.send(request)
            await stream.recv()
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        ctl.mark("end")
        await stream.end()
    await ad.close()
    return {"count": n, "wall": wall, "client_cpu": cpu}


async def echo(make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control) -> dict:
    """``calls`` sequential unary calls carrying ``size`` payload bytes each way."""
    ad = make()
    await ad.open(port)
    request = request_for(p["size"])
    for _ in range(2):
        response = await ad.unary(request)
    assert len(response.payload) == p["size"]
    ctl.mark("start")
    cpu0 = time.process_time()
    start = time.perf_counter()
    for _ in range(p["calls"]):
        await ad.unary(request)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    ctl.mark("end")
    await ad.close()
    return {"count": p["calls"], "wall": wall, "client_cpu": cpu, "bytes": p["size"]}


async def idle_connections(
    make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control
) -> dict:
    """Open ``connections`` channels (one call each, then idle) and let the driver measure."""
    import os

    request = request_for(0)
    first = make()
    await first.open(port)
    await first.unary(request)
    gc.collect()
    rss0 = rss_bytes(os.getpid())
    ctl.hold({"phase": "baseline"})
    adapters = []
    for _ in range(p["connections"]):
        ad = make()
        await ad.open(port)
        await ad.unary(request)
        adapters.append(ad)
    await asyncio.sleep(0.2)
    gc.collect()
    rss1 = rss_bytes(os.getpid())
    ctl.hold({"phase": "loaded"})
    for ad in adapters:
        await ad.close()
    await first.close()
    return {"count": p["connections"], "client_rss_delta": rss1 - rss0}


async def open_streams(
    make: Callable[[], Adapter], port: int, p: dict[str, Any], ctl: Control
) -> dict:
    """``streams`` open bidi calls spread over ``connections`` channels, measured while open."""
    import os

    request = request_for(0)
    adapters = []
    for _ in range(p["connections"]):
        ad = make()
        await ad.open(port)
        await ad.unary(request)
        adapters.append(ad)
    await asyncio.sleep(0.2)
    gc.collect()
    rss0 = rss_bytes(os.getpid())
    ctl.hold({"phase": "baseline"})
    release = asyncio.Event()
    ready = 0
    all_ready = asyncio.Event()
    total = p["streams"]

    async def one(ad: Adapter) -> None:
        nonlocal ready
        async with ad.bidi() as stream:
            await stream.send(request)
            await stream.recv()
            ready += 1
            if ready == total:
                all_ready.set()
            await release.wait()
            await stream.end()

    tasks = [asyncio.ensure_future(one(adapters[i % len(adapters)])) for i in range(total)]
    await asyncio.wait_for(all_ready.wait(), 120)
    await asyncio.sleep(0.2)
    gc.collect()
    rss1 = rss_bytes(os.getpid())
    ctl.hold({"phase": "loaded"})
    release.set()
    await asyncio.gather(*tasks)
    for ad in adapters:
        await ad.close()
    return {"count": total, "client_rss_delta": rss1 - rss0}


SCENARIOS: dict[
    str, Callable[[Callable[[], Adapter], int, dict[str, Any], Control], Awaitable[dict]]
] = {
    "unary1": unary1,
    "unary100": unary_concurrent,
    "server_stream": server_stream,
    "client_stream": client_stream,
    "bidi": bidi,
    "echo": echo,
    "idle_connections": idle_connections,
    "open_streams": open_streams,
}
