"""The hand-written ORCA codec against protobuf's, byte for byte and value for value."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_core import Metadata
from plugrpc_orca import (
    OPEN_RCA_SERVICE,
    TRAILER_KEY,
    OrcaDecodeError,
    OrcaLoadReport,
    OrcaLoadReportRequest,
    report_from_metadata,
)
from plugrpc_orca._wire import varint

finite = st.floats(allow_nan=False, allow_infinity=False)
names = st.text(max_size=12)
maps = st.dictionaries(names, finite, max_size=4)

reports = st.builds(
    OrcaLoadReport,
    cpu_utilization=finite,
    mem_utilization=finite,
    rps=st.integers(min_value=0, max_value=2**64 - 1),
    request_cost=maps,
    utilization=maps,
    rps_fractional=finite,
    eps=finite,
    named_metrics=maps,
    application_utilization=finite,
)


def _same_float(a: float, b: float) -> bool:
    return struct.pack("<d", a) == struct.pack("<d", b)


def _assert_matches(ours: OrcaLoadReport, theirs: Any) -> None:
    for name in (
        "cpu_utilization",
        "mem_utilization",
        "rps_fractional",
        "eps",
        "application_utilization",
    ):
        assert _same_float(getattr(ours, name), getattr(theirs, name)), name
    assert ours.rps == theirs.rps
    for name in ("request_cost", "utilization", "named_metrics"):
        assert dict(getattr(ours, name)) == dict(getattr(theirs, name)), name


@settings(max_examples=200, deadline=None)
@given(report=reports)
def test_protobuf_reads_what_we_write(reference_messages: Any, report: OrcaLoadReport) -> None:
    parsed = reference_messages.OrcaLoadReport.FromString(report.to_bytes())
    _assert_matches(report, parsed)


@settings(max_examples=200, deadline=None)
@given(report=reports)
def test_we_read_what_protobuf_writes(reference_messages: Any, report: OrcaLoadReport) -> None:
    message = reference_messages.OrcaLoadReport(
        cpu_utilization=report.cpu_utilization,
        mem_utilization=report.mem_utilization,
        rps=report.rps,
        request_cost=dict(report.request_cost),
        utilization=dict(report.utilization),
        rps_fractional=report.rps_fractional,
        eps=report.eps,
        named_metrics=dict(report.named_metrics),
        application_utilization=report.application_utilization,
    )
    _assert_matches(OrcaLoadReport.from_bytes(message.SerializeToString()), message)


single_entry_reports = st.builds(
    OrcaLoadReport,
    cpu_utilization=finite,
    mem_utilization=finite,
    rps=st.integers(min_value=0, max_value=2**64 - 1),
    request_cost=st.dictionaries(names, finite, max_size=1),
    utilization=st.dictionaries(names, finite, max_size=1),
    rps_fractional=finite,
    eps=finite,
    named_metrics=st.dictionaries(names, finite, max_size=1),
    application_utilization=finite,
)


@settings(max_examples=100, deadline=None)
@given(report=single_entry_reports)
def test_encoding_is_byte_identical_to_protobufs(
    reference_messages: Any, report: OrcaLoadReport
) -> None:
    # Map entry order is unspecified in protobuf (upb follows its hash order, even in
    # "deterministic" mode), so byte identity is checked with at most one entry per map.
    reference = reference_messages.OrcaLoadReport.FromString(report.to_bytes())
    assert report.to_bytes() == reference.SerializeToString()


def test_defaults_are_not_written_but_negative_zero_is() -> None:
    assert OrcaLoadReport().to_bytes() == b""
    assert OrcaLoadReport().is_empty()
    assert OrcaLoadReport(eps=-0.0).to_bytes() == b"\x39" + struct.pack("<d", -0.0)
    assert math.copysign(1, OrcaLoadReport.from_bytes(b"\x39" + b"\0" * 7 + b"\x80").eps) == -1


def test_field_numbers_match_the_xds_protos(reference_messages: Any) -> None:
    descriptor = reference_messages.OrcaLoadReport.DESCRIPTOR
    numbers = {f.name: f.number for f in descriptor.fields}
    assert numbers == {
        "cpu_utilization": 1,
        "mem_utilization": 2,
        "rps": 3,
        "request_cost": 4,
        "utilization": 5,
        "rps_fractional": 6,
        "eps": 7,
        "named_metrics": 8,
        "application_utilization": 9,
    }
    request = reference_messages.OrcaLoadReportRequest.DESCRIPTOR
    assert {f.name: f.number for f in request.fields} == {
        "report_interval": 1,
        "request_cost_names": 2,
    }
    service = reference_messages.service
    assert service.full_name == OPEN_RCA_SERVICE
    (method,) = service.methods
    assert method.name == "StreamCoreMetrics"
    assert method.server_streaming and not method.client_streaming


@pytest.mark.parametrize(
    "interval",
    [None, 0.0, 0.1, 1.5, 10.0, 30.0, 3600.25, 1e-9, 123456.000000789],
)
def test_request_round_trips_through_protobuf(reference_messages: Any, interval: Any) -> None:
    ours = OrcaLoadReportRequest(report_interval=interval, request_cost_names=("a", "bé"))
    theirs = reference_messages.OrcaLoadReportRequest.FromString(ours.to_bytes())
    assert list(theirs.request_cost_names) == ["a", "bé"]
    if interval is None:
        assert not theirs.HasField("report_interval")
    else:
        expected_nanos = round(interval * 1e9)
        assert theirs.report_interval.seconds * 10**9 + theirs.report_interval.nanos == (
            expected_nanos
        )
    back = OrcaLoadReportRequest.from_bytes(theirs.SerializeToString())
    assert back.request_cost_names == ("a", "bé")
    if interval is None:
        assert back.report_interval is None
    else:
        assert back.report_interval == pytest.approx(interval, abs=1e-9)


def test_negative_duration_decodes(reference_messages: Any) -> None:
    message = reference_messages.OrcaLoadReportRequest()
    message.report_interval.seconds = -2
    message.report_interval.nanos = -500_000_000
    parsed = OrcaLoadReportRequest.from_bytes(message.SerializeToString())
    assert parsed.report_interval == pytest.approx(-2.5)


def test_unknown_fields_and_mismatched_wire_types_are_skipped() -> None:
    data = (
        varint(50 << 3 | 0)
        + varint(7)  # unknown varint
        + varint(51 << 3 | 2)
        + varint(3)
        + b"xyz"  # unknown bytes
        + varint(52 << 3 | 5)
        + b"\0\0\0\0"  # unknown fixed32
        + varint(1 << 3 | 0)
        + varint(5)  # cpu_utilization with the wrong wire type
        + b"\x11"
        + struct.pack("<d", 0.5)  # mem_utilization
    )
    report = OrcaLoadReport.from_bytes(data)
    assert report.cpu_utilization == 0.0
    assert report.mem_utilization == 0.5


def test_last_value_and_last_map_key_win() -> None:
    entry_a1 = b"\x0a\x01a\x11" + struct.pack("<d", 1.0)
    entry_a2 = b"\x0a\x01a\x11" + struct.pack("<d", 2.0)
    data = (
        b"\x09"
        + struct.pack("<d", 0.1)
        + b"\x09"
        + struct.pack("<d", 0.2)
        + b"\x42"
        + varint(len(entry_a1))
        + entry_a1
        + b"\x42"
        + varint(len(entry_a2))
        + entry_a2
        + b"\x42\x00"  # an empty entry: key "" and value 0
    )
    report = OrcaLoadReport.from_bytes(data)
    assert report.cpu_utilization == 0.2
    assert dict(report.named_metrics) == {"a": 2.0, "": 0.0}


@pytest.mark.parametrize(
    "data",
    [
        b"\x09\x00\x00",  # truncated double
        b"\x22\x05\x0a",  # truncated map entry
        b"\xff",  # truncated tag varint
        b"\x08" + b"\xff" * 11,  # varint longer than 10 bytes
        b"\x00\x00",  # field number 0
        b"\x0b",  # a group start (wire type 3)
        b"\x22\x03\x0a\x01\xff",  # map key that is not UTF-8
    ],
)
def test_malformed_reports_raise(data: bytes) -> None:
    with pytest.raises(OrcaDecodeError):
        OrcaLoadReport.from_bytes(data)


def test_report_maps_are_read_only() -> None:
    source = {"a": 1.0}
    report = OrcaLoadReport(named_metrics=source)
    source["b"] = 2.0
    assert dict(report.named_metrics) == {"a": 1.0}
    with pytest.raises(TypeError):
        report.named_metrics["c"] = 3.0  # type: ignore[index]


def test_report_from_metadata() -> None:
    report = OrcaLoadReport(cpu_utilization=0.5, rps_fractional=10.0)
    trailers = Metadata([("x-other", "1"), (TRAILER_KEY, report.to_bytes())])
    assert report_from_metadata(trailers) == report
    assert report_from_metadata(Metadata()) is None
    assert report_from_metadata(Metadata([(TRAILER_KEY, b"\xff")])) is None
    nan = b"\x09" + struct.pack("<d", math.nan)
    assert report_from_metadata(Metadata([(TRAILER_KEY, nan)])) is None


def test_report_from_metadata_parses_one_value_once() -> None:
    value = OrcaLoadReport(eps=1.0).to_bytes()
    trailers = Metadata([(TRAILER_KEY, value)])
    first = report_from_metadata(trailers)
    assert first is not None
    assert report_from_metadata(trailers) is first  # the same object: parsed once
    other = Metadata([(TRAILER_KEY, OrcaLoadReport(eps=2.0).to_bytes())])
    second = report_from_metadata(other)
    assert second is not None and second.eps == 2.0
