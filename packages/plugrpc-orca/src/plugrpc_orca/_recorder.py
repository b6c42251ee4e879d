"""Server-side metric recorders (gRFC A51 "Recorder APIs").

``ServerMetricsRecorder`` holds the backend's machine-wide metrics: the out-of-band service
reports them, and the per-call interceptor adds them to every call's report.
``CallMetricsRecorder`` is one call's recorder: it can hold everything the machine-wide one
can, plus request costs and named metrics, and its values win over the machine-wide ones in
that call's report (A51 "The Server API").

Every metric starts unset; a set metric stays until it is set again or deleted. Writers may
run on any thread: each write replaces an immutable snapshot under a lock, so a report is
always a consistent copy and readers never wait (grpc-go ``serverMetricsRecorder`` works
the same way). Values out of range raise ``ValueError``, where grpc-go logs and ignores them:
a negative CPU figure is a bug in the caller, and it should hear of it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from ._report import OrcaLoadReport

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["CallMetricsRecorder", "ServerMetrics", "ServerMetricsRecorder"]

_EMPTY: Mapping[str, float] = MappingProxyType({})


def _empty() -> Mapping[str, float]:
    return _EMPTY


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerMetrics:
    """A snapshot of recorded metrics; None means "not set".

    Attributes:
        cpu_utilization: [0, inf).
        mem_utilization: [0, 1].
        application_utilization: [0, inf).
        qps: queries per second, [0, inf) (``rps_fractional`` on the wire).
        eps: errors per second, [0, inf).
        utilization: named utilizations, each in [0, 1].
        request_cost: per-call costs (never sent out of band).
        named_metrics: per-call opaque metrics (never sent out of band).
    """

    cpu_utilization: float | None = None
    mem_utilization: float | None = None
    application_utilization: float | None = None
    qps: float | None = None
    eps: float | None = None
    utilization: Mapping[str, float] = field(default_factory=_empty)
    request_cost: Mapping[str, float] = field(default_factory=_empty)
    named_metrics: Mapping[str, float] = field(default_factory=_empty)

    def merged_with(self, override: ServerMetrics) -> ServerMetrics:
        """These metrics, with every metric set in ``override`` replacing ours."""
        return ServerMetrics(
            cpu_utilization=_pick(override.cpu_utilization, self.cpu_utilization),
            mem_utilization=_pick(override.mem_utilization, self.mem_utilization),
            application_utilization=_pick(
                override.application_utilization, self.application_utilization
            ),
            qps=_pick(override.qps, self.qps),
            eps=_pick(override.eps, self.eps),
            utilization=_merge(self.utilization, override.utilization),
            request_cost=_merge(self.request_cost, override.request_cost),
            named_metrics=_merge(self.named_metrics, override.named_metrics),
        )

    def to_report(self) -> OrcaLoadReport:
        """The ``OrcaLoadReport`` of these metrics (unset ones are left at 0)."""
        return OrcaLoadReport(
            cpu_utilization=self.cpu_utilization or 0.0,
            mem_utilization=self.mem_utilization or 0.0,
            application_utilization=self.application_utilization or 0.0,
            rps_fractional=self.qps or 0.0,
            eps=self.eps or 0.0,
            utilization=self.utilization,
            request_cost=self.request_cost,
            named_metrics=self.named_metrics,
        )

    def is_empty(self) -> bool:
        """Whether nothing is set."""
        return (
            self.cpu_utilization is None
            and self.mem_utilization is None
            and self.application_utilization is None
            and self.qps is None
            and self.eps is None
            and not self.utilization
            and not self.request_cost
            and not self.named_metrics
        )


def _pick(preferred: float | None, fallback: float | None) -> float | None:
    return fallback if preferred is None else preferred


def _merge(base: Mapping[str, float], override: Mapping[str, float]) -> Mapping[str, float]:
    if not override:
        return base
    if not base:
        return override
    return MappingProxyType({**base, **override})


def _check(name: str, value: float, *, at_most_one: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (at_most_one and value > 1):
        bound = "[0, 1]" if at_most_one else "[0, inf)"
        raise ValueError(f"{name} must be a finite number in {bound}, got {value!r}")
    return value


def _with_item(mapping: Mapping[str, float], key: str, value: float) -> Mapping[str, float]:
    if not isinstance(key, str):
        raise TypeError(f"metric names are str, got {type(key).__name__}")
    return MappingProxyType({**mapping, key: value})


def _without_item(mapping: Mapping[str, float], key: str) -> Mapping[str, float]:
    if key not in mapping:
        return mapping
    return MappingProxyType({k: v for k, v in mapping.items() if k != key})


class ServerMetricsRecorder:
    """Machine-wide metrics of a backend, safe to update from any thread.

    Example::

        metrics = ServerMetricsRecorder()
        metrics.set_cpu_utilization(0.42)
        metrics.set_qps(1200.0)
        server = plugrpc.Server(
            [OrcaService(metrics)], interceptors=[OrcaServerInterceptor(metrics)]
        )
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = ServerMetrics()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state}>"

    def metrics(self) -> ServerMetrics:
        """A consistent snapshot of everything recorded."""
        return self._state

    def report(self) -> OrcaLoadReport:
        """The snapshot as an ``OrcaLoadReport``."""
        return self._state.to_report()

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)  # type: ignore[arg-type]

    def set_cpu_utilization(self, value: float) -> None:
        """CPU utilization, a fraction of the CPU available (>= 0; may exceed 1)."""
        self._update(cpu_utilization=_check("cpu_utilization", value))

    def delete_cpu_utilization(self) -> None:
        """Stop reporting CPU utilization."""
        self._update(cpu_utilization=None)

    def set_memory_utilization(self, value: float) -> None:
        """Memory utilization, a fraction in [0, 1]."""
        self._update(mem_utilization=_check("mem_utilization", value, at_most_one=True))

    def delete_memory_utilization(self) -> None:
        """Stop reporting memory utilization."""
        self._update(mem_utilization=None)

    def set_application_utilization(self, value: float) -> None:
        """Application-defined utilization (>= 0; may exceed 1)."""
        self._update(application_utilization=_check("application_utilization", value))

    def delete_application_utilization(self) -> None:
        """Stop reporting application utilization."""
        self._update(application_utilization=None)

    def set_qps(self, value: float) -> None:
        """Queries per second served (>= 0)."""
        self._update(qps=_check("qps", value))

    def delete_qps(self) -> None:
        """Stop reporting queries per second."""
        self._update(qps=None)

    def set_eps(self, value: float) -> None:
        """Errors per second served (>= 0)."""
        self._update(eps=_check("eps", value))

    def delete_eps(self) -> None:
        """Stop reporting errors per second."""
        self._update(eps=None)

    def set_named_utilization(self, name: str, value: float) -> None:
        """A named resource's utilization, a fraction in [0, 1]."""
        value = _check(f"utilization[{name!r}]", value, at_most_one=True)
        with self._lock:
            state = self._state
            self._state = replace(state, utilization=_with_item(state.utilization, name, value))

    def delete_named_utilization(self, name: str) -> None:
        """Stop reporting the utilization called ``name``."""
        with self._lock:
            state = self._state
            self._state = replace(state, utilization=_without_item(state.utilization, name))


class CallMetricsRecorder(ServerMetricsRecorder):
    """One call's metrics: get it in a handler with ``plugrpc_orca.call_recorder(context)``.

    What is recorded here goes into the call's ``endpoint-load-metrics-bin`` trailer, over
    the machine-wide metrics of the interceptor's ``ServerMetricsRecorder`` (A51).
    """

    def set_request_cost(self, name: str, value: float) -> None:
        """The cost of this request in some application unit (any finite number)."""
        if not math.isfinite(value):
            raise ValueError(f"request_cost[{name!r}] must be finite, got {value!r}")
        with self._lock:
            state = self._state
            self._state = replace(
                state, request_cost=_with_item(state.request_cost, name, float(value))
            )

    def delete_request_cost(self, name: str) -> None:
        """Stop reporting the request cost called ``name``."""
        with self._lock:
            state = self._state
            self._state = replace(state, request_cost=_without_item(state.request_cost, name))

    def set_named_metric(self, name: str, value: float) -> None:
        """An application-specific opaque metric (any finite number)."""
        if not math.isfinite(value):
            raise ValueError(f"named_metrics[{name!r}] must be finite, got {value!r}")
        with self._lock:
            state = self._state
            self._state = replace(
                state, named_metrics=_with_item(state.named_metrics, name, float(value))
            )

    def delete_named_metric(self, name: str) -> None:
        """Stop reporting the named metric called ``name``."""
        with self._lock:
            state = self._state
            self._state = replace(state, named_metrics=_without_item(state.named_metrics, name))
