"""One endpoint's weight from its load reports (gRFC A58 "Subchannel Weights").

A report gives ``qps`` (``rps_fractional``), ``eps`` and a utilization:
``application_utilization`` when it is set, else ``cpu_utilization`` (grpc-go, A58 as
amended). The weight is

    weight = qps / (utilization + eps / qps * error_utilization_penalty)

Reports without a positive utilization or qps are ignored, as are reports whose numbers are
not finite. Two timestamps decide whether the weight may be used:

- ``last_updated``: the time of the newest usable report. A weight older than
  ``weight_expiration_period`` is not used, and the blackout starts again with the next
  report.
- ``non_empty_since``: the time of the first usable report of the current run. A weight is
  used only once ``blackout_period`` has passed since then (a blackout of 0 uses it at once).

Both are cleared when the endpoint's subchannel becomes READY (a new connection starts a new
run). An unusable weight reads as 0, which the scheduler treats as "unknown".
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from plugrpc_orca import OrcaLoadReport

__all__ = ["EndpointWeight"]


class EndpointWeight:
    """The weight of one endpoint and when it was learned.

    Args:
        clock: the channel's monotonic clock (``BalancerHelper.now``).
        error_utilization_penalty: the config's penalty; ``update_config`` changes it.
    """

    __slots__ = ("_clock", "_penalty", "last_updated", "non_empty_since", "value")

    def __init__(self, clock: Callable[[], float], error_utilization_penalty: float = 1.0) -> None:
        self._clock = clock
        self._penalty = error_utilization_penalty
        #: The weight computed from the newest usable report (0 before any).
        self.value = 0.0
        #: When the newest usable report came, or None.
        self.last_updated: float | None = None
        #: When the current run of usable reports began, or None.
        self.non_empty_since: float | None = None

    def __repr__(self) -> str:
        return f"<EndpointWeight {self.value:g} updated={self.last_updated}>"

    def set_penalty(self, error_utilization_penalty: float) -> None:
        """Use a new ``errorUtilizationPenalty`` for the following reports."""
        self._penalty = error_utilization_penalty

    def on_report(self, report: OrcaLoadReport) -> None:
        """Take in a load report (per call or out of band)."""
        utilization = report.application_utilization
        if not utilization > 0:
            utilization = report.cpu_utilization
        qps = report.rps_fractional
        eps = report.eps
        if not (utilization > 0 and qps > 0) or not math.isfinite(utilization + qps + eps):
            return
        weight = qps / (utilization + eps / qps * self._penalty)
        if not (weight > 0 and math.isfinite(weight)):
            return
        now = self._clock()
        self.value = weight
        self.last_updated = now
        if self.non_empty_since is None:
            self.non_empty_since = now

    def reset(self) -> None:
        """The endpoint's subchannel became READY: start over (A58)."""
        self.non_empty_since = None
        self.last_updated = None

    def weight(self, now: float, expiration: float, blackout: float) -> float:
        """The weight to schedule with at ``now``; 0 when it is unknown, expired or blacked out.

        Args:
            now: the current time on the channel's clock.
            expiration: the config's ``weightExpirationPeriod``.
            blackout: the config's ``blackoutPeriod``.
        """
        last = self.last_updated
        if last is None:
            return 0.0
        if now - last >= expiration:
            # Stale: the next report starts a new blackout.
            self.non_empty_since = None
            return 0.0
        since = self.non_empty_since
        if blackout > 0 and (since is None or now - since < blackout):
            return 0.0
        return self.value
