"""outlier_detection_experimental end to end: a failing backend is ejected, then returns.

Four plugrpc servers on 127.0.0.1 behind an ``ipv4:`` target; the service config wraps
``round_robin`` in ``outlier_detection_experimental`` with short periods (sweeps every
0.2 s, ejections of 1.5 s). One backend fails every call. The test shows that:

- after a sweep, the failing backend gets no more calls (it is ejected), while the others
  share them evenly and every call succeeds;
- once it works again and its ejection time has passed, it is back in the rotation;
- an ejection never takes more than ``maxEjectionPercent`` of the backends.

Counts are taken on the servers (calls each backend received); figures are printed
(``pytest -s``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import plugrpc
import pytest
from plugrpc import MethodHandler, MethodKind, StatusCode

pytest.importorskip("plugrpc_balancer_outlier_detection")
pytest.importorskip("plugrpc_balancer_round_robin")
pytest.importorskip("plugrpc_resolver_static")

METHOD = "/od.Backend/Work"


@dataclass
class Backend:
    index: int
    failing: bool = False
    calls: int = 0
    server: plugrpc.Server | None = field(default=None, repr=False)
    port: int = 0

    async def work(self, request: bytes, context: plugrpc.ServicerContext) -> bytes:
        self.calls += 1
        if self.failing:
            await context.abort(StatusCode.INTERNAL, f"backend {self.index} is broken")
        return str(self.index).encode()


@pytest.fixture
async def backends() -> AsyncIterator[list[Backend]]:
    started = []
    for index in range(4):
        backend = Backend(index)
        backend.server = plugrpc.Server(
            generic_handlers=[
                plugrpc.method_handlers_generic_handler(
                    "od.Backend",
                    {"Work": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=backend.work)},
                )
            ]
        )
        backend.port = await backend.server.start("127.0.0.1:0")
        started.append(backend)
    try:
        yield started
    finally:
        await asyncio.gather(*(b.server.stop(None) for b in started if b.server is not None))


def _channel(backends: list[Backend], **overrides: object) -> plugrpc.Channel:
    config: dict[str, object] = {
        "interval": "0.2s",
        "baseEjectionTime": "1.5s",
        "maxEjectionTime": "10s",
        "maxEjectionPercent": 50,
        "failurePercentageEjection": {
            "threshold": 50,
            "minimumHosts": 3,
            "requestVolume": 5,
        },
        "childPolicy": [{"round_robin": {}}],
    }
    config.update(overrides)
    target = "ipv4:" + ",".join(f"127.0.0.1:{b.port}" for b in backends)
    return plugrpc.Channel(
        target,
        default_service_config={
            "loadBalancingConfig": [{"outlier_detection_experimental": config}]
        },
    )


async def _round(
    channel: plugrpc.Channel, backends: list[Backend], calls: int
) -> tuple[list[int], int]:
    """Send ``calls`` calls, 8 at a time; return calls per backend and failed calls."""
    before = [b.calls for b in backends]
    work = channel.unary_unary(METHOD, bytes, bytes)
    failures = 0
    for start in range(0, calls, 8):
        results = await asyncio.gather(
            *(work(b"", timeout=5) for _ in range(min(8, calls - start))),
            return_exceptions=True,
        )
        failures += sum(isinstance(r, plugrpc.RpcError) for r in results)
    return [b.calls - n for b, n in zip(backends, before, strict=True)], failures


async def _until(channel: plugrpc.Channel, backends: list[Backend], done, limit: float = 10.0):
    """Keep sending rounds of 40 calls until ``done(counts, failures)``; return that round."""
    async with asyncio.timeout(limit):
        while True:
            counts, failures = await _round(channel, backends, 40)
            if done(counts, failures):
                return counts, failures
            await asyncio.sleep(0.05)


async def test_a_failing_backend_is_ejected_and_brought_back(backends: list[Backend]) -> None:
    broken = backends[2]
    broken.failing = True
    async with _channel(backends) as channel:
        # The broken backend is in the rotation and fails its calls until a sweep ejects it.
        counts, failures = await _round(channel, backends, 40)
        print(f"\nbefore ejection: calls per backend {counts}, failed {failures}")
        assert counts[2] > 0 and failures == counts[2]
        await _until(channel, backends, lambda c, f: c[2] == 0)
        # Ejected (for 1.5 s): calls all succeed, spread over the three healthy backends.
        counts, failures = await _round(channel, backends, 60)
        print(f"while ejected: calls per backend {counts}, failed {failures}")
        assert counts[2] == 0 and failures == 0
        assert all(15 <= n <= 25 for i, n in enumerate(counts) if i != 2), counts

        # The backend is repaired; after its ejection time a sweep returns it.
        broken.failing = False
        loop = asyncio.get_running_loop()
        repaired_at = loop.time()
        await _until(channel, backends, lambda c, f: c[2] > 0)
        back_after = loop.time() - repaired_at
        counts, failures = await _round(channel, backends, 120)
        print(
            f"returned {back_after:.2f} s after the repair: calls per backend {counts}, "
            f"failed {failures}"
        )
        assert failures == 0
        assert all(25 <= n <= 35 for n in counts), counts


async def test_ejections_stop_at_max_ejection_percent(backends: list[Backend]) -> None:
    for backend in backends[:3]:
        backend.failing = True
    async with _channel(backends, baseEjectionTime="10s") as channel:
        await _until(channel, backends, lambda c, f: sum(1 for n in c if n == 0) >= 2)
        await asyncio.sleep(0.5)  # more sweeps: still at most 50 % (two of four) out
        counts, _ = await _round(channel, backends, 80)
    print(f"\nthree failing, 50 % cap: calls per backend {counts}")
    assert sum(1 for n in counts if n == 0) == 2
    assert counts[3] > 0  # the healthy backend is never ejected


async def test_without_an_algorithm_nothing_is_ejected(backends: list[Backend]) -> None:
    backends[1].failing = True
    async with _channel(backends, failurePercentageEjection=None) as channel:
        for _ in range(3):
            counts, failures = await _round(channel, backends, 40)
            await asyncio.sleep(0.25)
    # Three sweeps later the failing backend still gets its share, and fails it.
    assert counts[1] >= 5 and failures == counts[1]
