"""``weighted_round_robin``'s config (gRFC A58 "LB Policy Config and Parameters").

JSON fields and defaults, as grpc-go's ``ParseConfig`` has them::

    {"enableOobLoadReport": false, "oobReportingPeriod": "10s", "blackoutPeriod": "10s",
     "weightExpirationPeriod": "180s", "weightUpdatePeriod": "1s",
     "errorUtilizationPenalty": 1.0}

Durations are proto3-JSON strings (``"1.5s"``). ``weightUpdatePeriod`` below 100 ms is raised
to 100 ms; a negative ``errorUtilizationPenalty`` or a negative duration is rejected. Unknown
fields are ignored (gRFC A21).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["MIN_WEIGHT_UPDATE_PERIOD", "WeightedRoundRobinConfig", "parse_config"]

#: A58: "Values less than 100ms are capped at 100ms."
MIN_WEIGHT_UPDATE_PERIOD = 0.1

# proto3 JSON Duration: seconds with an "s" suffix and at most 9 fractional digits.
_DURATION = re.compile(r"(-)?(\d+)(?:\.(\d{1,9}))?s\Z")
_MAX_DURATION_SECONDS = 315_576_000_000  # google.protobuf.Duration's bound


@dataclass(frozen=True, slots=True, kw_only=True)
class WeightedRoundRobinConfig:
    """The parsed config; durations in seconds.

    Attributes:
        enable_oob_load_report: take weights from out-of-band ORCA streams instead of the
            per-call ``endpoint-load-metrics-bin`` trailers.
        oob_reporting_period: the interval asked of backends' ORCA services.
        blackout_period: how long an endpoint must report before its weight is used.
        weight_expiration_period: a weight older than this is no longer used.
        weight_update_period: how often the picker's schedule takes in new weights.
        error_utilization_penalty: the multiplier of ``eps / qps`` added to utilization.
    """

    enable_oob_load_report: bool = False
    oob_reporting_period: float = 10.0
    blackout_period: float = 10.0
    weight_expiration_period: float = 180.0
    weight_update_period: float = 1.0
    error_utilization_penalty: float = 1.0


def _duration(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f'{key} must be a duration string such as "1.5s", got {value!r}')
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f'{key}: malformed duration {value!r}; use seconds like "10s" or "0.5s"')
    sign, whole, fraction = match.groups()
    if sign:
        raise ValueError(f"{key} must not be negative, got {value!r}")
    if int(whole) > _MAX_DURATION_SECONDS:
        raise ValueError(f"{key} is out of range: {value!r}")
    return int(whole) + int((fraction or "").ljust(9, "0")) / 1e9


def parse_config(config: Mapping[str, Any]) -> WeightedRoundRobinConfig:
    """Validate ``weighted_round_robin``'s JSON config.

    Raises:
        ValueError: a field has the wrong type or an invalid value (the message names it).
    """
    if not isinstance(config, dict):
        raise ValueError(f"config must be a JSON object, got {config!r}")
    enable = config.get("enableOobLoadReport", False)
    if enable is None:
        enable = False
    if not isinstance(enable, bool):
        raise ValueError(f"enableOobLoadReport must be true or false, got {enable!r}")
    penalty = config.get("errorUtilizationPenalty", 1.0)
    if penalty is None:
        penalty = 1.0
    if isinstance(penalty, bool) or not isinstance(penalty, int | float):
        raise ValueError(f"errorUtilizationPenalty must be a number, got {penalty!r}")
    if not math.isfinite(penalty) or penalty < 0:
        raise ValueError(f"errorUtilizationPenalty must be non-negative, got {penalty!r}")
    update = _duration(config, "weightUpdatePeriod", 1.0)
    return WeightedRoundRobinConfig(
        enable_oob_load_report=enable,
        oob_reporting_period=_duration(config, "oobReportingPeriod", 10.0),
        blackout_period=_duration(config, "blackoutPeriod", 10.0),
        weight_expiration_period=_duration(config, "weightExpirationPeriod", 180.0),
        weight_update_period=max(update, MIN_WEIGHT_UPDATE_PERIOD),
        error_utilization_penalty=float(penalty),
    )
