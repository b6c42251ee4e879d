"""``outlier_detection_experimental``'s config (gRFC A50 "LB Policy Config").

JSON fields and defaults, as grpc-go's ``ParseConfig`` has them::

    {"interval": "10s", "baseEjectionTime": "30s", "maxEjectionTime": "300s",
     "maxEjectionPercent": 10,
     "successRateEjection": {"stdevFactor": 1900, "enforcementPercentage": 100,
                             "minimumHosts": 5, "requestVolume": 100},
     "failurePercentageEjection": {"threshold": 85, "enforcementPercentage": 100,
                                   "minimumHosts": 5, "requestVolume": 50},
     "childPolicy": [{"round_robin": {}}]}

An algorithm runs only when its object is present (its missing fields take the defaults
above); with neither, the policy only passes calls through. Durations are proto3-JSON strings
and must not be negative; the percentages must be at most 100 (A50 "Validation"); the other
numbers are unsigned 32-bit integers. ``childPolicy`` is required: a ``loadBalancingConfig``
style list whose first installed policy is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plugrpc_core import select_lb_policy

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "FailurePercentageEjection",
    "OutlierDetectionConfig",
    "SuccessRateEjection",
    "parse_config",
]

_DURATION = re.compile(r"(-)?(\d+)(?:\.(\d{1,9}))?s\Z")
_MAX_DURATION_SECONDS = 315_576_000_000  # google.protobuf.Duration's bound
_UINT32_MAX = 2**32 - 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SuccessRateEjection:
    """Eject addresses whose success rate is far below the others' (A50).

    Attributes:
        stdev_factor: thousandths of a standard deviation below the mean that ejects.
        enforcement_percentage: the chance, in percent, that a detected outlier is ejected.
        minimum_hosts: addresses with enough calls needed before the algorithm runs.
        request_volume: calls in one interval for an address to take part.
    """

    stdev_factor: int = 1900
    enforcement_percentage: int = 100
    minimum_hosts: int = 5
    request_volume: int = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class FailurePercentageEjection:
    """Eject addresses whose failure percentage is above a threshold (A50).

    Attributes:
        threshold: the failure percentage above which an address is an outlier.
        enforcement_percentage: the chance, in percent, that a detected outlier is ejected.
        minimum_hosts: addresses with enough calls needed before the algorithm runs.
        request_volume: calls in one interval for an address to take part.
    """

    threshold: int = 85
    enforcement_percentage: int = 100
    minimum_hosts: int = 5
    request_volume: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class OutlierDetectionConfig:
    """The parsed config; durations in seconds.

    Attributes:
        interval: time between ejection sweeps.
        base_ejection_time: an ejection lasts this times the address's ejection count.
        max_ejection_time: the cap on an ejection's length (at least ``base_ejection_time``).
        max_ejection_percent: at most this share of the addresses is ejected (but one
            address may always be).
        success_rate_ejection: the success-rate algorithm's settings, or None (off).
        failure_percentage_ejection: the failure-percentage algorithm's settings, or None.
        child_policy: the child policy's name and parsed config.
    """

    child_policy: tuple[str, Any]
    interval: float = 10.0
    base_ejection_time: float = 30.0
    max_ejection_time: float = 300.0
    max_ejection_percent: int = 10
    success_rate_ejection: SuccessRateEjection | None = None
    failure_percentage_ejection: FailurePercentageEjection | None = None

    @property
    def counts_calls(self) -> bool:
        """Whether any algorithm is on (else calls are not counted and nothing is ejected)."""
        return (
            self.success_rate_ejection is not None or self.failure_percentage_ejection is not None
        )


def _duration(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f'{key} must be a duration string such as "10s", got {value!r}')
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f'{key}: malformed duration {value!r}; use seconds like "10s" or "0.5s"')
    sign, whole, fraction = match.groups()
    if sign:
        raise ValueError(f"{key} must be >= 0, got {value!r}")
    if int(whole) > _MAX_DURATION_SECONDS:
        raise ValueError(f"{key} is out of range: {value!r}")
    return int(whole) + int((fraction or "").ljust(9, "0")) / 1e9


def _uint32(
    config: Mapping[str, Any], key: str, default: int, *, percent: bool = False, path: str = ""
) -> int:
    value = config.get(key)
    name = f"{path}{key}"
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 0 <= value <= _UINT32_MAX:
        raise ValueError(f"{name} must be an unsigned 32-bit integer, got {value}")
    if percent and value > 100:
        raise ValueError(f"{name} must be <= 100, got {value}")
    return value


def _object(config: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a JSON object, got {value!r}")
    return value


def parse_config(config: Mapping[str, Any]) -> OutlierDetectionConfig:
    """Validate ``outlier_detection_experimental``'s JSON config.

    Raises:
        ValueError: a field is invalid (the message names it), or ``childPolicy`` is missing
            or names no installed policy (``plugrpc_core.ServiceConfigError``).
    """
    if not isinstance(config, dict):
        raise ValueError(f"config must be a JSON object, got {config!r}")
    success = _object(config, "successRateEjection")
    failure = _object(config, "failurePercentageEjection")
    success_rate = failure_percentage = None
    if success is not None:
        path = "successRateEjection."
        success_rate = SuccessRateEjection(
            stdev_factor=_uint32(success, "stdevFactor", 1900, path=path),
            enforcement_percentage=_uint32(
                success, "enforcementPercentage", 100, percent=True, path=path
            ),
            minimum_hosts=_uint32(success, "minimumHosts", 5, path=path),
            request_volume=_uint32(success, "requestVolume", 100, path=path),
        )
    if failure is not None:
        path = "failurePercentageEjection."
        failure_percentage = FailurePercentageEjection(
            threshold=_uint32(failure, "threshold", 85, percent=True, path=path),
            enforcement_percentage=_uint32(
                failure, "enforcementPercentage", 100, percent=True, path=path
            ),
            minimum_hosts=_uint32(failure, "minimumHosts", 5, path=path),
            request_volume=_uint32(failure, "requestVolume", 50, path=path),
        )
    if config.get("childPolicy") is None:
        raise ValueError(
            'childPolicy is required: the policy to wrap, such as [{"round_robin": {}}]'
        )
    return OutlierDetectionConfig(
        interval=_duration(config, "interval", 10.0),
        base_ejection_time=_duration(config, "baseEjectionTime", 30.0),
        max_ejection_time=_duration(config, "maxEjectionTime", 300.0),
        max_ejection_percent=_uint32(config, "maxEjectionPercent", 10, percent=True),
        success_rate_ejection=success_rate,
        failure_percentage_ejection=failure_percentage,
        child_policy=select_lb_policy(config["childPolicy"], path="childPolicy"),
    )
