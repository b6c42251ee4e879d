"""The ORCA messages: ``xds.data.orca.v3.OrcaLoadReport`` and the OOB request.

Field numbers follow cncf/xds ``xds/data/orca/v3/orca_load_report.proto`` and
``xds/service/orca/v3/orca.proto`` (copies of our own, wire-compatible, ship in
``plugrpc_orca/protos``). Per-call reports travel in the ``endpoint-load-metrics-bin``
trailer as a serialized ``OrcaLoadReport`` (gRFC A51 "Per-Query Metrics Reporting").

A51 asks that a report read by several balancers be deserialized once: ``report_from_metadata``
keeps the last trailer value it parsed and its result, so the policies that look at one call's
trailers (for instance ``weighted_round_robin`` under another policy) share one parse.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from ._wire import (
    FIXED64,
    LENGTH_DELIMITED,
    VARINT,
    OrcaDecodeError,
    decode_string,
    fields,
    parse_map_entry,
    put_double,
    put_length_delimited,
    put_map,
    put_varint_field,
    to_int32,
    to_int64,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from plugrpc_core import Metadata

__all__ = [
    "TRAILER_KEY",
    "OrcaLoadReport",
    "OrcaLoadReportRequest",
    "report_from_metadata",
]

_log = logging.getLogger("plugrpc.orca")

#: The trailer that carries a per-call report (gRFC A51).
TRAILER_KEY = "endpoint-load-metrics-bin"

_EMPTY: Mapping[str, float] = MappingProxyType({})


def _empty() -> Mapping[str, float]:
    return _EMPTY


def _frozen(mapping: Mapping[str, float]) -> Mapping[str, float]:
    return MappingProxyType(dict(mapping)) if mapping else _EMPTY


@dataclass(frozen=True, slots=True, kw_only=True)
class OrcaLoadReport:
    """One backend load report (``xds.data.orca.v3.OrcaLoadReport``).

    Unset fields are 0, as in proto3. The maps are read-only.

    Attributes:
        cpu_utilization: CPU use as a fraction of what is available (may exceed 1).
        mem_utilization: memory use as a fraction of what is available.
        rps: deprecated integer requests per second (field 3); use ``rps_fractional``.
        request_cost: application-specific costs of the one request (per-call reports).
        utilization: named resource utilizations, fractions of what is available.
        rps_fractional: requests per second the backend serves.
        eps: errors per second the backend serves.
        named_metrics: application-specific opaque metrics.
        application_utilization: an application-defined utilization (may exceed 1);
            ``weighted_round_robin`` prefers it to ``cpu_utilization`` when it is set.
    """

    cpu_utilization: float = 0.0
    mem_utilization: float = 0.0
    rps: int = 0
    request_cost: Mapping[str, float] = field(default_factory=_empty)
    utilization: Mapping[str, float] = field(default_factory=_empty)
    rps_fractional: float = 0.0
    eps: float = 0.0
    named_metrics: Mapping[str, float] = field(default_factory=_empty)
    application_utilization: float = 0.0

    def __post_init__(self) -> None:
        for name in ("request_cost", "utilization", "named_metrics"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, _frozen(value))

    def to_bytes(self) -> bytes:
        """The protobuf encoding (fields in number order, defaults omitted)."""
        out = bytearray()
        put_double(out, 1, self.cpu_utilization)
        put_double(out, 2, self.mem_utilization)
        put_varint_field(out, 3, self.rps)
        put_map(out, 4, self.request_cost)
        put_map(out, 5, self.utilization)
        put_double(out, 6, self.rps_fractional)
        put_double(out, 7, self.eps)
        put_map(out, 8, self.named_metrics)
        put_double(out, 9, self.application_utilization)
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> OrcaLoadReport:
        """Parse the protobuf encoding.

        Raises:
            OrcaDecodeError: the bytes are not a valid ``OrcaLoadReport``.
        """
        doubles = {1: 0.0, 2: 0.0, 6: 0.0, 7: 0.0, 9: 0.0}
        maps: dict[int, dict[str, float]] = {4: {}, 5: {}, 8: {}}
        rps = 0
        for number, wire_type, value in fields(data):
            if wire_type == FIXED64 and number in doubles:
                assert isinstance(value, float)
                doubles[number] = value
            elif wire_type == LENGTH_DELIMITED and number in maps:
                assert isinstance(value, bytes)
                key, item = parse_map_entry(value)
                maps[number][key] = item
            elif wire_type == VARINT and number == 3:
                assert isinstance(value, int)
                rps = value
        return cls(
            cpu_utilization=doubles[1],
            mem_utilization=doubles[2],
            rps=rps,
            request_cost=maps[4],
            utilization=maps[5],
            rps_fractional=doubles[6],
            eps=doubles[7],
            named_metrics=maps[8],
            application_utilization=doubles[9],
        )

    def is_empty(self) -> bool:
        """Whether every field has its default value (the encoding is empty)."""
        return not self.to_bytes()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrcaLoadReportRequest:
    """The request of ``OpenRcaService.StreamCoreMetrics`` (``xds.service.orca.v3``).

    Attributes:
        report_interval: seconds between reports the client asks for; None when unset (the
            server then uses its minimum).
        request_cost_names: the request costs to report (empty: all).
    """

    report_interval: float | None = None
    request_cost_names: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        """The protobuf encoding."""
        out = bytearray()
        if self.report_interval is not None:
            # google.protobuf.Duration: seconds (int64) and nanos (int32) of one sign.
            total_nanos = round(self.report_interval * 1e9)
            seconds, nanos = divmod(abs(total_nanos), 1_000_000_000)
            if total_nanos < 0:
                seconds, nanos = -seconds, -nanos
            duration = bytearray()
            put_varint_field(duration, 1, seconds)
            put_varint_field(duration, 2, nanos)
            put_length_delimited(out, 1, bytes(duration))
        for name in self.request_cost_names:
            put_length_delimited(out, 2, name.encode("utf-8"))
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> OrcaLoadReportRequest:
        """Parse the protobuf encoding.

        Raises:
            OrcaDecodeError: the bytes are not a valid ``OrcaLoadReportRequest``.
        """
        interval: float | None = None
        names: list[str] = []
        for number, wire_type, value in fields(data):
            if wire_type != LENGTH_DELIMITED:
                continue
            assert isinstance(value, bytes)
            if number == 1:
                seconds = nanos = 0
                for sub_number, sub_type, sub_value in fields(value):
                    if sub_type == VARINT and sub_number == 1:
                        assert isinstance(sub_value, int)
                        seconds = to_int64(sub_value)
                    elif sub_type == VARINT and sub_number == 2:
                        assert isinstance(sub_value, int)
                        nanos = to_int32(sub_value)
                interval = seconds + nanos / 1e9
            elif number == 2:
                names.append(decode_string(value))
        return cls(report_interval=interval, request_cost_names=tuple(names))


# One-entry cache: the trailer value object last parsed and its report.
_last_parsed: tuple[bytes, OrcaLoadReport | None] | None = None


def report_from_metadata(metadata: Metadata) -> OrcaLoadReport | None:
    """The per-call report in a call's trailing metadata, or None.

    None when the trailer is absent or malformed (a malformed report is logged and ignored,
    as grpc-go ignores it). Reports whose numbers are not finite are treated as malformed.
    """
    global _last_parsed
    value = metadata.get(TRAILER_KEY)
    if not isinstance(value, bytes):
        return None
    cached = _last_parsed
    if cached is not None and cached[0] is value:
        return cached[1]
    report: OrcaLoadReport | None
    try:
        report = OrcaLoadReport.from_bytes(value)
    except OrcaDecodeError as exc:
        _log.debug("ignoring a malformed %s trailer: %s", TRAILER_KEY, exc)
        report = None
    else:
        if not _finite(report):
            _log.debug("ignoring a %s trailer with non-finite numbers", TRAILER_KEY)
            report = None
    _last_parsed = (value, report)
    return report


def _finite(report: OrcaLoadReport) -> bool:
    numbers = [
        report.cpu_utilization,
        report.mem_utilization,
        report.rps_fractional,
        report.eps,
        report.application_utilization,
        *report.request_cost.values(),
        *report.utilization.values(),
        *report.named_metrics.values(),
    ]
    return all(math.isfinite(n) for n in numbers)
