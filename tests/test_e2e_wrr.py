"""weighted_round_robin end to end: local backends report ORCA load, the channel follows it.

Three plugrpc servers on 127.0.0.1 report ``rps_fractional = 100`` and CPU utilizations of
0.4, 0.2 and 0.1, so their A58 weights (qps / utilization) are 250, 500 and 1000: 1:2:4.
The channel reaches them through an ``ipv4:`` target and a service config that selects
``weighted_round_robin`` with short periods. Tolerance: each backend's measured share of
the calls is within 15 % (relative) of its weight's share, 1/7, 2/7 and 4/7. The shares
are printed (``pytest -s``) for the record.

The measurement starts once the weights are in use: the warm-up sends calls until a window
of calls shows the heaviest backend clearly ahead, then the measured window is taken.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import plugrpc
import pytest
from plugrpc import MethodHandler, MethodKind
from plugrpc_orca import OrcaServerInterceptor, OrcaService, ServerMetricsRecorder

pytest.importorskip("plugrpc_balancer_weighted_round_robin")
pytest.importorskip("plugrpc_resolver_static")

METHOD = "/wrr.Backend/Who"
UTILIZATIONS = (0.4, 0.2, 0.1)  # weights 250, 500, 1000
EXPECTED = (1 / 7, 2 / 7, 4 / 7)
TOLERANCE = 0.15
MEASURED_CALLS = 700


@dataclass
class Backend:
    index: int
    server: plugrpc.Server
    port: int
    metrics: ServerMetricsRecorder


async def _start_backends(*, per_call: bool, oob: bool) -> list[Backend]:
    backends = []
    for index, utilization in enumerate(UTILIZATIONS):
        metrics = ServerMetricsRecorder()
        metrics.set_qps(100.0)
        metrics.set_cpu_utilization(utilization)
        reply = str(index).encode()

        async def who(
            request: bytes, context: plugrpc.ServicerContext, reply: bytes = reply
        ) -> bytes:
            return reply

        server = plugrpc.Server(
            [OrcaService(metrics, min_report_interval=0.05)] if oob else [],
            interceptors=[OrcaServerInterceptor(metrics)] if per_call else [],
            generic_handlers=[
                plugrpc.method_handlers_generic_handler(
                    "wrr.Backend",
                    {"Who": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=who)},
                )
            ],
        )
        port = await server.start("127.0.0.1:0")
        backends.append(Backend(index, server, port, metrics))
    return backends


@pytest.fixture
async def stack() -> AsyncIterator[list[Backend]]:
    backends: list[Backend] = []
    try:
        yield backends
    finally:
        await asyncio.gather(*(b.server.stop(None) for b in backends))


def _channel(backends: list[Backend], policy_config: dict[str, object]) -> plugrpc.Channel:
    target = "ipv4:" + ",".join(f"127.0.0.1:{b.port}" for b in backends)
    return plugrpc.Channel(
        target,
        default_service_config={"loadBalancingConfig": [{"weighted_round_robin": policy_config}]},
    )


async def _window(channel: plugrpc.Channel, calls: int) -> list[float]:
    """Send ``calls`` calls, 20 at a time; return each backend's share."""
    who = channel.unary_unary(METHOD, bytes, bytes)
    counts: Counter[int] = Counter()
    for start in range(0, calls, 20):
        batch = min(20, calls - start)
        replies = await asyncio.gather(*(who(b"", timeout=5) for _ in range(batch)))
        counts.update(int(r) for r in replies)
    return [counts[i] / calls for i in range(len(UTILIZATIONS))]


async def _wait_until_weighted(channel: plugrpc.Channel, expected: tuple[float, ...]) -> None:
    """Warm up until a window puts the heaviest expected backend clearly ahead."""
    heaviest = max(range(len(expected)), key=lambda i: expected[i])
    async with asyncio.timeout(20):
        while (await _window(channel, 140))[heaviest] < 0.45:
            await asyncio.sleep(0.05)


def _check(shares: list[float], expected: tuple[float, ...], label: str) -> None:
    print(f"\n{label}: measured shares " + ", ".join(f"{s:.3f}" for s in shares))
    print(f"{label}: expected shares " + ", ".join(f"{e:.3f}" for e in expected))
    for share, wanted in zip(shares, expected, strict=True):
        assert abs(share - wanted) <= TOLERANCE * wanted, (label, shares, expected)


async def test_per_call_reports_weight_the_backends(stack: list[Backend]) -> None:
    stack += await _start_backends(per_call=True, oob=False)
    config = {"blackoutPeriod": "0s", "weightUpdatePeriod": "0.1s"}
    async with _channel(stack, config) as channel:
        await _wait_until_weighted(channel, EXPECTED)
        _check(await _window(channel, MEASURED_CALLS), EXPECTED, "per-call 1:2:4")
        # The backends' load changes: weights 1000, 500, 250 (4:2:1); traffic follows.
        for backend, utilization in zip(stack, reversed(UTILIZATIONS), strict=True):
            backend.metrics.set_cpu_utilization(utilization)
        reversed_expected = tuple(reversed(EXPECTED))
        await _wait_until_weighted(channel, reversed_expected)
        _check(await _window(channel, MEASURED_CALLS), reversed_expected, "per-call 4:2:1")


async def test_out_of_band_reports_weight_the_backends(stack: list[Backend]) -> None:
    # No per-call trailers at all: only the OpenRcaService streams can carry the weights.
    stack += await _start_backends(per_call=False, oob=True)
    config = {
        "enableOobLoadReport": True,
        "oobReportingPeriod": "0.05s",
        "blackoutPeriod": "0s",
        "weightUpdatePeriod": "0.1s",
    }
    async with _channel(stack, config) as channel:
        await _wait_until_weighted(channel, EXPECTED)
        _check(await _window(channel, MEASURED_CALLS), EXPECTED, "out-of-band 1:2:4")


async def test_blackout_keeps_round_robin_until_it_ends(stack: list[Backend]) -> None:
    stack += await _start_backends(per_call=True, oob=False)
    config = {"blackoutPeriod": "60s", "weightUpdatePeriod": "0.1s"}
    async with _channel(stack, config) as channel:
        await _window(channel, 60)
        await asyncio.sleep(0.3)  # several scheduler rebuilds, all inside the blackout
        shares = await _window(channel, 300)
    print(f"\nblackout: measured shares {shares}")
    assert shares == [pytest.approx(1 / 3, abs=0.02)] * 3
