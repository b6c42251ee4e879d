"""ORCA over real loopback connections: per-call trailers and the out-of-band service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import plugrpc
import pytest
from plugrpc import MethodHandler, MethodKind, StatusCode
from plugrpc_core import Address, ConnectivityState, RpcError, Subchannel
from plugrpc_orca import (
    STREAM_CORE_METRICS,
    TRAILER_KEY,
    OrcaLoadReport,
    OrcaServerInterceptor,
    OrcaService,
    ServerMetricsRecorder,
    call_recorder,
    register_oob_listener,
    report_from_metadata,
)
from plugrpc_transport import ClientConnection, connect


async def _unary(request: bytes, context: plugrpc.ServicerContext) -> bytes:
    recorder = call_recorder(context)
    assert recorder is not None
    assert isinstance(context, plugrpc.ServicerContext)
    if request == b"plain":
        return b"plain"
    recorder.set_cpu_utilization(0.75)
    recorder.set_request_cost("db", 3.0)
    recorder.set_named_metric("queue", 7.0)
    if request == b"trailers":
        context.set_trailing_metadata([("x-mine", "kept")])
    elif request == b"abort":
        await context.abort(StatusCode.RESOURCE_EXHAUSTED, "busy", trailing_metadata=[("x-a", "1")])
    elif request == b"raise":
        raise RpcError(StatusCode.FAILED_PRECONDITION, "no", trailing_metadata=[("x-r", "2")])
    elif request == b"crash":
        raise ZeroDivisionError("boom")
    return b"ok"


async def _stream(request: bytes, context: plugrpc.ServicerContext) -> AsyncIterator[bytes]:
    recorder = call_recorder(context)
    assert recorder is not None
    for index in range(2):
        recorder.set_named_metric("sent", float(index + 1))
        yield b"m"
    if request == b"abort":
        await context.abort(StatusCode.ABORTED, "late")


HANDLERS = {
    "Unary": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=_unary),
    "Stream": MethodHandler(kind=MethodKind.UNARY_STREAM, behavior=_stream),
}


async def _serve(server: plugrpc.Server) -> int:
    return await server.start("127.0.0.1:0")


@pytest.fixture
async def orca_server() -> AsyncIterator[tuple[int, ServerMetricsRecorder]]:
    metrics = ServerMetricsRecorder()
    metrics.set_cpu_utilization(0.25)
    metrics.set_qps(40.0)
    metrics.set_named_utilization("disk", 0.5)
    server = plugrpc.Server(
        interceptors=[OrcaServerInterceptor(metrics)],
        generic_handlers=[plugrpc.method_handlers_generic_handler("test.Orca", HANDLERS)],
    )
    port = await _serve(server)
    yield port, metrics
    await server.stop(None)


async def test_per_call_report_overlays_server_metrics(orca_server: Any) -> None:
    port, _ = orca_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/test.Orca/Unary", bytes, bytes)(b"ok", timeout=5)
        assert await call == b"ok"
        report = report_from_metadata(await call.trailing_metadata())
    assert report == OrcaLoadReport(
        cpu_utilization=0.75,  # the call's value wins over the server's 0.25
        rps_fractional=40.0,
        utilization={"disk": 0.5},
        request_cost={"db": 3.0},
        named_metrics={"queue": 7.0},
    )


async def test_server_metrics_alone_are_reported(orca_server: Any) -> None:
    port, metrics = orca_server
    metrics.set_eps(2.0)
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/test.Orca/Unary", bytes, bytes)(b"plain", timeout=5)
        await call
        report = report_from_metadata(await call.trailing_metadata())
    assert report == OrcaLoadReport(
        cpu_utilization=0.25, rps_fractional=40.0, eps=2.0, utilization={"disk": 0.5}
    )


async def test_handler_trailers_are_kept(orca_server: Any) -> None:
    port, _ = orca_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/test.Orca/Unary", bytes, bytes)(b"trailers", timeout=5)
        await call
        trailers = await call.trailing_metadata()
    assert trailers.get("x-mine") == "kept"
    assert len(trailers.get_all(TRAILER_KEY)) == 1


@pytest.mark.parametrize(
    ("request_bytes", "code", "key"),
    [
        (b"abort", StatusCode.RESOURCE_EXHAUSTED, "x-a"),
        (b"raise", StatusCode.FAILED_PRECONDITION, "x-r"),
    ],
)
async def test_failed_calls_carry_the_report(
    orca_server: Any, request_bytes: bytes, code: StatusCode, key: str
) -> None:
    port, _ = orca_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(RpcError) as caught:
            await channel.unary_unary("/test.Orca/Unary", bytes, bytes)(request_bytes, timeout=5)
    assert caught.value.code() == code
    trailers = caught.value.trailing_metadata()
    assert key in trailers
    report = report_from_metadata(trailers)
    assert report is not None and report.cpu_utilization == 0.75


async def test_unexpected_exceptions_stay_unknown(orca_server: Any) -> None:
    port, _ = orca_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        with pytest.raises(RpcError) as caught:
            await channel.unary_unary("/test.Orca/Unary", bytes, bytes)(b"crash", timeout=5)
    assert caught.value.code() == StatusCode.UNKNOWN


async def test_streaming_calls_report_at_the_end(orca_server: Any) -> None:
    port, _ = orca_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stream = channel.unary_stream("/test.Orca/Stream", bytes, bytes)
        call = stream(b"", timeout=5)
        assert [m async for m in call] == [b"m", b"m"]
        report = report_from_metadata(await call.trailing_metadata())
        assert report is not None and dict(report.named_metrics) == {"sent": 2.0}
        with pytest.raises(RpcError) as caught:
            async for _ in stream(b"abort", timeout=5):
                pass
        assert caught.value.code() == StatusCode.ABORTED
        report = report_from_metadata(caught.value.trailing_metadata())
        assert report is not None and report.rps_fractional == 40.0


async def test_nothing_recorded_sends_no_trailer() -> None:
    server = plugrpc.Server(
        interceptors=[OrcaServerInterceptor()],
        generic_handlers=[plugrpc.method_handlers_generic_handler("test.Orca", HANDLERS)],
    )
    port = await _serve(server)
    try:
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary("/test.Orca/Unary", bytes, bytes)(b"plain", timeout=5)
            await call
            assert TRAILER_KEY not in await call.trailing_metadata()
    finally:
        await server.stop(None)


async def test_without_the_interceptor_there_is_no_recorder() -> None:
    seen: list[object] = []

    async def handler(request: bytes, context: plugrpc.ServicerContext) -> bytes:
        seen.append(call_recorder(context))
        return b""

    server = plugrpc.Server(
        generic_handlers=[
            plugrpc.method_handlers_generic_handler(
                "test.Plain", {"M": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=handler)}
            )
        ]
    )
    port = await _serve(server)
    try:
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            await channel.unary_unary("/test.Plain/M", bytes, bytes)(b"", timeout=5)
    finally:
        await server.stop(None)
    assert seen == [None]


# -- out of band ---------------------------------------------------------------------------


class HeldSubchannel(Subchannel):
    """A READY subchannel over a real transport connection (what a channel's would hold)."""

    def __init__(self, address: Address, connection: ClientConnection) -> None:
        self._address = address
        self.connection = connection

    @property
    def address(self) -> Address:
        return self._address

    @property
    def state(self) -> ConnectivityState:
        return ConnectivityState.READY

    def connect(self) -> None:
        pass

    def shutdown(self) -> None:
        self.connection.close()


class CountingService(OrcaService):
    """The ORCA service, counting the streams it serves."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams = 0
        self.failures_left = 0
        self.ended = asyncio.Event()

    async def StreamCoreMetrics(self, request: bytes, context: Any) -> AsyncIterator[bytes]:
        self.streams += 1
        if self.failures_left:
            self.failures_left -= 1
            await context.abort(StatusCode.UNAVAILABLE, "not now")
        try:
            async for report in super().StreamCoreMetrics(request, context):
                yield report
        finally:
            self.ended.set()


async def _oob_setup(
    service: object | None,
) -> tuple[plugrpc.Server, HeldSubchannel]:
    server = plugrpc.Server([service] if service is not None else [])
    port = await server.start("127.0.0.1:0")
    address = Address(host="127.0.0.1", port=port)
    return server, HeldSubchannel(address, await connect(address))


async def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_oob_reports_follow_the_recorder() -> None:
    metrics = ServerMetricsRecorder()
    metrics.set_cpu_utilization(0.5)
    service = CountingService(metrics, min_report_interval=0.05)
    server, subchannel = await _oob_setup(service)
    reports: list[OrcaLoadReport] = []
    stop = register_oob_listener(subchannel, reports.append, report_interval=0.05)
    try:
        await _wait_for(lambda: len(reports) >= 2)
        assert reports[0] == OrcaLoadReport(cpu_utilization=0.5)
        metrics.set_qps(9.0)
        await _wait_for(lambda: reports[-1].rps_fractional == 9.0)
    finally:
        stop()
        subchannel.shutdown()
        await server.stop(None)
    assert service.streams == 1


async def test_oob_subscribers_share_one_stream_at_the_smallest_interval() -> None:
    metrics = ServerMetricsRecorder()
    metrics.set_eps(1.0)
    service = CountingService(metrics, min_report_interval=0.01)
    server, subchannel = await _oob_setup(service)
    slow: list[OrcaLoadReport] = []
    fast: list[OrcaLoadReport] = []
    try:
        stop_slow = register_oob_listener(subchannel, slow.append, report_interval=10.0)
        await _wait_for(lambda: len(slow) == 1)
        stop_fast = register_oob_listener(subchannel, fast.append, report_interval=0.02)
        await _wait_for(lambda: len(fast) >= 5)
        assert service.streams == 2  # restarted once, at the smaller interval
        assert len(slow) >= 5  # the slow subscriber gets every report too
        stop_fast()
        stop_slow()
        await _wait_for(service.ended.is_set)
    finally:
        subchannel.shutdown()
        await server.stop(None)


async def test_oob_interval_is_at_least_the_servers_minimum() -> None:
    service = CountingService(ServerMetricsRecorder(), min_report_interval=0.3)
    server, subchannel = await _oob_setup(service)
    reports: list[OrcaLoadReport] = []
    stop = register_oob_listener(subchannel, reports.append, report_interval=0.01)
    try:
        await asyncio.sleep(0.75)
    finally:
        stop()
        subchannel.shutdown()
        await server.stop(None)
    # At t=0, ~0.3 and ~0.6: never the 75 that 0.01 s would give.
    assert 1 <= len(reports) <= 4


async def test_oob_unimplemented_is_not_retried() -> None:
    calls = 0

    class CountCalls(plugrpc.ServerInterceptor):
        async def intercept_service(self, continuation: Any, details: Any) -> Any:
            nonlocal calls
            if details.method == STREAM_CORE_METRICS:
                calls += 1
            return await continuation(details)

    server = plugrpc.Server(interceptors=[CountCalls()])  # no ORCA service
    port = await server.start("127.0.0.1:0")
    address = Address(host="127.0.0.1", port=port)
    subchannel = HeldSubchannel(address, await connect(address))
    reports: list[OrcaLoadReport] = []
    fast = plugrpc.BackoffConfig(base_delay=0.01, max_delay=0.02)
    stop = register_oob_listener(subchannel, reports.append, report_interval=0.01, backoff=fast)
    try:
        await _wait_for(lambda: calls == 1)
        await asyncio.sleep(0.3)
        # A second subscriber does not retry on this connection either.
        stop_again = register_oob_listener(subchannel, reports.append, report_interval=0.001)
        await asyncio.sleep(0.1)
        stop_again()
    finally:
        stop()
        subchannel.shutdown()
        await server.stop(None)
    assert calls == 1 and reports == []


async def test_oob_failures_are_retried_with_backoff() -> None:
    service = CountingService(ServerMetricsRecorder(), min_report_interval=0.05)
    service.failures_left = 2
    server, subchannel = await _oob_setup(service)
    reports: list[OrcaLoadReport] = []
    stop = register_oob_listener(
        subchannel,
        reports.append,
        report_interval=0.05,
        backoff=plugrpc.BackoffConfig(base_delay=0.05, max_delay=0.2),
    )
    try:
        await _wait_for(lambda: len(reports) >= 1)
    finally:
        stop()
        subchannel.shutdown()
        await server.stop(None)
    assert service.streams == 3


async def test_oob_stops_when_the_connection_goes() -> None:
    service = CountingService(ServerMetricsRecorder(), min_report_interval=0.02)
    server, subchannel = await _oob_setup(service)
    reports: list[OrcaLoadReport] = []
    stop = register_oob_listener(subchannel, reports.append, report_interval=0.02)
    try:
        await _wait_for(lambda: len(reports) >= 1)
        subchannel.connection.close()
        await _wait_for(service.ended.is_set)
        count = len(reports)
        await asyncio.sleep(0.1)
        assert len(reports) == count
        # Subscribing to a subchannel without a usable connection does nothing.
        assert register_oob_listener(subchannel, reports.append, report_interval=0.02)() is None
    finally:
        stop()
        await server.stop(None)


def test_min_report_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        OrcaService(ServerMetricsRecorder(), min_report_interval=0)
    service = OrcaService(ServerMetricsRecorder())
    assert service.min_report_interval == 30.0
