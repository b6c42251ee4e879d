"""Endpoint weights (A58 formula, blackout, expiry) and config parsing."""

from __future__ import annotations

import math

import pytest
from plugrpc_balancer_weighted_round_robin import (
    EndpointWeight,
    WeightedRoundRobin,
    WeightedRoundRobinConfig,
    parse_config,
)
from plugrpc_core import ServiceConfigError, parse_service_config, plugins
from plugrpc_orca import OrcaLoadReport


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def report(**fields: float) -> OrcaLoadReport:
    return OrcaLoadReport(**fields)


def test_weight_formula_uses_qps_utilization_and_error_penalty() -> None:
    clock = Clock()
    weight = EndpointWeight(clock, error_utilization_penalty=2.0)
    weight.on_report(report(rps_fractional=100.0, cpu_utilization=0.5, eps=10.0))
    # 100 / (0.5 + 10 / 100 * 2) = 100 / 0.7
    assert weight.value == pytest.approx(100 / 0.7)
    weight.set_penalty(0.0)
    weight.on_report(report(rps_fractional=100.0, cpu_utilization=0.5, eps=10.0))
    assert weight.value == pytest.approx(200.0)


def test_application_utilization_wins_over_cpu() -> None:
    weight = EndpointWeight(Clock())
    weight.on_report(report(rps_fractional=10.0, cpu_utilization=0.9, application_utilization=0.2))
    assert weight.value == pytest.approx(50.0)


@pytest.mark.parametrize(
    "fields",
    [
        {"rps_fractional": 10.0},  # no utilization
        {"cpu_utilization": 0.5},  # no qps
        {"rps_fractional": 10.0, "cpu_utilization": -1.0},
        {"rps_fractional": math.inf, "cpu_utilization": 0.5},
        {"rps_fractional": 10.0, "cpu_utilization": 0.5, "eps": math.nan},
        {},
    ],
)
def test_unusable_reports_are_ignored(fields: dict[str, float]) -> None:
    weight = EndpointWeight(Clock())
    weight.on_report(report(**fields))
    assert weight.last_updated is None and weight.value == 0.0


def test_blackout_then_use_then_expiry_then_blackout_again() -> None:
    clock = Clock()
    weight = EndpointWeight(clock)
    assert weight.weight(clock.now, expiration=180, blackout=10) == 0.0
    weight.on_report(report(rps_fractional=10.0, cpu_utilization=1.0))
    assert weight.weight(clock.now, expiration=180, blackout=10) == 0.0  # blacked out
    clock.now = 9.9
    weight.on_report(report(rps_fractional=10.0, cpu_utilization=1.0))
    assert weight.weight(clock.now, expiration=180, blackout=10) == 0.0
    clock.now = 10.0
    assert weight.weight(clock.now, expiration=180, blackout=10) == 10.0
    assert weight.weight(clock.now, expiration=180, blackout=0) == 10.0
    # No report for 180 s after the last one (at 9.9): expired, and the blackout restarts.
    clock.now = 189.9
    assert weight.weight(clock.now, expiration=180, blackout=10) == 0.0
    weight.on_report(report(rps_fractional=20.0, cpu_utilization=1.0))
    assert weight.weight(clock.now, expiration=180, blackout=10) == 0.0
    clock.now = 199.9
    assert weight.weight(clock.now, expiration=180, blackout=10) == 20.0


def test_zero_blackout_uses_the_first_report_at_once() -> None:
    clock = Clock()
    weight = EndpointWeight(clock)
    weight.on_report(report(rps_fractional=3.0, cpu_utilization=1.0))
    assert weight.weight(clock.now, expiration=180, blackout=0) == 3.0


def test_reset_starts_a_new_run() -> None:
    clock = Clock()
    weight = EndpointWeight(clock)
    weight.on_report(report(rps_fractional=3.0, cpu_utilization=1.0))
    clock.now = 20.0
    assert weight.weight(clock.now, expiration=180, blackout=10) == 3.0
    weight.reset()
    assert weight.weight(clock.now, expiration=180, blackout=10) == 0.0


def test_config_defaults_are_a58s() -> None:
    config = parse_config({})
    assert config == WeightedRoundRobinConfig(
        enable_oob_load_report=False,
        oob_reporting_period=10.0,
        blackout_period=10.0,
        weight_expiration_period=180.0,
        weight_update_period=1.0,
        error_utilization_penalty=1.0,
    )


def test_config_fields_parse() -> None:
    config = parse_config(
        {
            "enableOobLoadReport": True,
            "oobReportingPeriod": "0.5s",
            "blackoutPeriod": "0s",
            "weightExpirationPeriod": "60.000000001s",
            "weightUpdatePeriod": "0.25s",
            "errorUtilizationPenalty": 0,
            "someFutureField": 1,
        }
    )
    assert config.enable_oob_load_report is True
    assert config.oob_reporting_period == 0.5
    assert config.blackout_period == 0.0
    assert config.weight_expiration_period == pytest.approx(60.000000001)
    assert config.weight_update_period == 0.25
    assert config.error_utilization_penalty == 0.0


def test_weight_update_period_has_a_100ms_floor() -> None:
    assert parse_config({"weightUpdatePeriod": "0.01s"}).weight_update_period == 0.1
    assert parse_config({"weightUpdatePeriod": "0s"}).weight_update_period == 0.1


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"errorUtilizationPenalty": -1}, "errorUtilizationPenalty"),
        ({"errorUtilizationPenalty": "1"}, "errorUtilizationPenalty"),
        ({"errorUtilizationPenalty": True}, "errorUtilizationPenalty"),
        ({"enableOobLoadReport": "yes"}, "enableOobLoadReport"),
        ({"blackoutPeriod": 10}, "blackoutPeriod"),
        ({"blackoutPeriod": "10"}, "blackoutPeriod"),
        ({"blackoutPeriod": "-1s"}, "blackoutPeriod"),
        ({"oobReportingPeriod": "1.0000000001s"}, "oobReportingPeriod"),
        ({"weightExpirationPeriod": "999999999999s"}, "weightExpirationPeriod"),
    ],
)
def test_bad_config_is_rejected_naming_the_field(config: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        parse_config(config)


def test_parse_config_rejects_non_objects() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        WeightedRoundRobin.parse_config([])  # type: ignore[arg-type]


def test_registered_and_selected_by_service_config() -> None:
    assert plugins.balancers.get("weighted_round_robin") is WeightedRoundRobin
    config = parse_service_config(
        {"loadBalancingConfig": [{"weighted_round_robin": {"blackoutPeriod": "1s"}}]}
    )
    assert config.load_balancing_policy == "weighted_round_robin"
    assert config.load_balancing_config.blackout_period == 1.0
    with pytest.raises(ServiceConfigError, match="errorUtilizationPenalty"):
        parse_service_config(
            {"loadBalancingConfig": [{"weighted_round_robin": {"errorUtilizationPenalty": -2}}]}
        )
