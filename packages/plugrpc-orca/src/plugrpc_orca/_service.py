"""The out-of-band ORCA service: ``xds.service.orca.v3.OpenRcaService`` (gRFC A51).

Theory of operation: a client opens ``StreamCoreMetrics`` with the interval it wants and
the server answers with a report at once and then one per interval, for as long as the
client keeps the stream open. Each report is a state-of-the-world copy of the
``ServerMetricsRecorder``, sent whether or not anything changed. The interval is at least
the service's minimum: a smaller or missing ``report_interval`` gets the minimum (A51
"Out of Band Metrics Reporting: The Server API"; 30 s by default, as in grpc-go).
The stream ends when the client cancels it or the server stops.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from plugrpc import MethodDescriptor, ServiceDescriptor
from plugrpc_core import MethodKind, StatusCode

from ._report import OrcaLoadReportRequest
from ._wire import OrcaDecodeError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from plugrpc import ServicerContext

    from ._recorder import ServerMetricsRecorder

__all__ = ["DEFAULT_MIN_REPORT_INTERVAL", "OPEN_RCA_SERVICE", "STREAM_CORE_METRICS", "OrcaService"]

#: grpc-go's and A51's default lower bound on the out-of-band reporting interval.
DEFAULT_MIN_REPORT_INTERVAL = 30.0

#: The service's full name.
OPEN_RCA_SERVICE = "xds.service.orca.v3.OpenRcaService"
#: The ``:path`` of its one method.
STREAM_CORE_METRICS = f"/{OPEN_RCA_SERVICE}/StreamCoreMetrics"

_DESCRIPTOR = ServiceDescriptor(
    name=OPEN_RCA_SERVICE,
    methods=(
        MethodDescriptor(
            name="StreamCoreMetrics",
            kind=MethodKind.UNARY_STREAM,
            request_type=bytes,
            response_type=bytes,
        ),
    ),
)


class OrcaService:
    """``OpenRcaService``: streams a ``ServerMetricsRecorder``'s metrics to clients.

    Add it to a server like any service: ``plugrpc.Server([OrcaService(metrics)])``.

    Args:
        recorder: the metrics to report.
        min_report_interval: seconds; clients asking for less (or nothing) get this.

    Raises:
        ValueError: ``min_report_interval`` is not a positive finite number.
    """

    plugrpc_service = _DESCRIPTOR

    def __init__(
        self,
        recorder: ServerMetricsRecorder,
        *,
        min_report_interval: float = DEFAULT_MIN_REPORT_INTERVAL,
    ) -> None:
        if not (math.isfinite(min_report_interval) and min_report_interval > 0):
            raise ValueError(
                f"min_report_interval must be a positive number of seconds, "
                f"got {min_report_interval!r}"
            )
        self._recorder = recorder
        self._min_interval = float(min_report_interval)

    @property
    def min_report_interval(self) -> float:
        """The lower bound on reporting intervals, in seconds."""
        return self._min_interval

    def interval_for(self, request: OrcaLoadReportRequest) -> float:
        """The interval a stream with ``request`` gets."""
        asked = request.report_interval
        if asked is None or not math.isfinite(asked) or asked < self._min_interval:
            return self._min_interval
        return asked

    async def StreamCoreMetrics(
        self, request: bytes, context: ServicerContext
    ) -> AsyncIterator[bytes]:
        """Send a report now and then every interval until the client goes away."""
        try:
            parsed = OrcaLoadReportRequest.from_bytes(request)
        except OrcaDecodeError as exc:
            await context.abort(
                StatusCode.INVALID_ARGUMENT, f"malformed OrcaLoadReportRequest: {exc}"
            )
        interval = self.interval_for(parsed)
        while True:
            yield self._recorder.report().to_bytes()
            await asyncio.sleep(interval)
