"""Server and per-call metric recorders: ranges, deletion, merging, thread safety."""

from __future__ import annotations

import math
import threading

import pytest
from plugrpc_orca import (
    CallMetricsRecorder,
    OrcaLoadReport,
    ServerMetrics,
    ServerMetricsRecorder,
)


def test_everything_starts_unset() -> None:
    recorder = ServerMetricsRecorder()
    assert recorder.metrics() == ServerMetrics()
    assert recorder.metrics().is_empty()
    assert recorder.report() == OrcaLoadReport()


def test_set_and_delete_each_metric() -> None:
    recorder = ServerMetricsRecorder()
    recorder.set_cpu_utilization(1.5)  # may exceed 1
    recorder.set_memory_utilization(0.5)
    recorder.set_application_utilization(2.0)
    recorder.set_qps(100.0)
    recorder.set_eps(3.0)
    recorder.set_named_utilization("gpu", 0.25)
    assert recorder.report() == OrcaLoadReport(
        cpu_utilization=1.5,
        mem_utilization=0.5,
        application_utilization=2.0,
        rps_fractional=100.0,
        eps=3.0,
        utilization={"gpu": 0.25},
    )
    recorder.delete_cpu_utilization()
    recorder.delete_memory_utilization()
    recorder.delete_application_utilization()
    recorder.delete_qps()
    recorder.delete_eps()
    recorder.delete_named_utilization("gpu")
    recorder.delete_named_utilization("never-set")
    assert recorder.metrics().is_empty()


def test_zero_is_set_not_unset() -> None:
    recorder = ServerMetricsRecorder()
    recorder.set_qps(0.0)
    assert recorder.metrics().qps == 0.0
    assert not recorder.metrics().is_empty()


@pytest.mark.parametrize(
    ("setter", "value"),
    [
        ("set_cpu_utilization", -0.1),
        ("set_memory_utilization", 1.01),
        ("set_memory_utilization", -1.0),
        ("set_application_utilization", math.nan),
        ("set_qps", math.inf),
        ("set_eps", -5.0),
    ],
)
def test_out_of_range_values_raise(setter: str, value: float) -> None:
    recorder = ServerMetricsRecorder()
    with pytest.raises(ValueError):
        getattr(recorder, setter)(value)
    assert recorder.metrics().is_empty()


def test_named_utilization_is_a_fraction() -> None:
    with pytest.raises(ValueError, match="gpu"):
        ServerMetricsRecorder().set_named_utilization("gpu", 1.5)


def test_call_recorder_has_costs_and_named_metrics() -> None:
    recorder = CallMetricsRecorder()
    recorder.set_request_cost("bytes", -12.0)  # any finite number
    recorder.set_named_metric("q", 4.0)
    with pytest.raises(ValueError):
        recorder.set_named_metric("q", math.nan)
    report = recorder.report()
    assert dict(report.request_cost) == {"bytes": -12.0}
    assert dict(report.named_metrics) == {"q": 4.0}
    recorder.delete_request_cost("bytes")
    recorder.delete_named_metric("q")
    assert recorder.metrics().is_empty()


def test_call_values_win_over_server_values() -> None:
    server = ServerMetricsRecorder()
    server.set_cpu_utilization(0.1)
    server.set_qps(10.0)
    server.set_named_utilization("a", 0.1)
    server.set_named_utilization("b", 0.2)
    call = CallMetricsRecorder()
    call.set_cpu_utilization(0.9)
    call.set_named_utilization("b", 0.8)
    merged = server.metrics().merged_with(call.metrics())
    assert merged.cpu_utilization == 0.9
    assert merged.qps == 10.0
    assert dict(merged.utilization) == {"a": 0.1, "b": 0.8}


def test_snapshots_do_not_change_afterwards() -> None:
    recorder = ServerMetricsRecorder()
    recorder.set_named_utilization("a", 0.5)
    snapshot = recorder.metrics()
    recorder.set_named_utilization("a", 0.6)
    recorder.set_named_utilization("b", 0.7)
    assert dict(snapshot.utilization) == {"a": 0.5}


def test_concurrent_writers_lose_no_update() -> None:
    recorder = ServerMetricsRecorder()
    names_per_thread = 200

    def write(prefix: str) -> None:
        for i in range(names_per_thread):
            recorder.set_named_utilization(f"{prefix}{i}", 0.5)
            recorder.set_qps(float(i))

    threads = [threading.Thread(target=write, args=(p,)) for p in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recorder.metrics().utilization) == 4 * names_per_thread
