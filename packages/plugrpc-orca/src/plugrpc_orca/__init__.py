"""plugrpc-orca: ORCA backend metrics for plugrpc (gRFC A51, cncf/xds ``xds.*.orca.v3``).

Servers report their load; client balancers (``weighted_round_robin``) read it.

- Server, per call: ``OrcaServerInterceptor`` adds each call's ``OrcaLoadReport`` to its
  ``endpoint-load-metrics-bin`` trailer; handlers record into ``call_recorder(context)``.
- Server, machine-wide: ``ServerMetricsRecorder``; ``OrcaService`` streams it out of band
  (``xds.service.orca.v3.OpenRcaService/StreamCoreMetrics``).
- Client: ``report_from_metadata(trailers)`` parses a per-call report once;
  ``register_oob_listener(subchannel, listener, report_interval=...)`` subscribes a balancer
  to a backend's out-of-band reports.
"""

from __future__ import annotations

from ._interceptor import OrcaServerInterceptor, call_recorder
from ._oob import OobListener, register_oob_listener
from ._recorder import CallMetricsRecorder, ServerMetrics, ServerMetricsRecorder
from ._report import TRAILER_KEY, OrcaLoadReport, OrcaLoadReportRequest, report_from_metadata
from ._service import (
    DEFAULT_MIN_REPORT_INTERVAL,
    OPEN_RCA_SERVICE,
    STREAM_CORE_METRICS,
    OrcaService,
)
from ._wire import OrcaDecodeError

__version__ = "0.1.0"

__all__ = [
    "CallMetricsRecorder",
    "DEFAULT_MIN_REPORT_INTERVAL",
    "OPEN_RCA_SERVICE",
    "OobListener",
    "OrcaDecodeError",
    "OrcaLoadReport",
    "OrcaLoadReportRequest",
    "OrcaServerInterceptor",
    "OrcaService",
    "STREAM_CORE_METRICS",
    "ServerMetrics",
    "ServerMetricsRecorder",
    "TRAILER_KEY",
    "call_recorder",
    "register_oob_listener",
    "report_from_metadata",
]
