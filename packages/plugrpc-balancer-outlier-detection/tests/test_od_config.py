"""``outlier_detection_experimental`` config parsing: grpc-go's defaults and A50's checks."""

from __future__ import annotations

import pytest
from plugrpc_balancer_outlier_detection import (
    FailurePercentageEjection,
    OutlierDetection,
    OutlierDetectionConfig,
    SuccessRateEjection,
    parse_config,
)
from plugrpc_core import ServiceConfigError, parse_service_config, plugins

CHILD = [{"od_test_sharded_leaves": {}}]


def test_defaults_are_grpc_gos() -> None:
    config = parse_config({"childPolicy": CHILD})
    assert config == OutlierDetectionConfig(
        interval=10.0,
        base_ejection_time=30.0,
        max_ejection_time=300.0,
        max_ejection_percent=10,
        success_rate_ejection=None,
        failure_percentage_ejection=None,
        child_policy=("od_test_sharded_leaves", {}),
    )
    assert not config.counts_calls


def test_algorithm_objects_take_their_defaults() -> None:
    config = parse_config(
        {"childPolicy": CHILD, "successRateEjection": {}, "failurePercentageEjection": {}}
    )
    assert config.success_rate_ejection == SuccessRateEjection(
        stdev_factor=1900, enforcement_percentage=100, minimum_hosts=5, request_volume=100
    )
    assert config.failure_percentage_ejection == FailurePercentageEjection(
        threshold=85, enforcement_percentage=100, minimum_hosts=5, request_volume=50
    )
    assert config.counts_calls


def test_every_field_parses() -> None:
    config = parse_config(
        {
            "interval": "0.5s",
            "baseEjectionTime": "1.25s",
            "maxEjectionTime": "0s",
            "maxEjectionPercent": 100,
            "successRateEjection": {
                "stdevFactor": 1000,
                "enforcementPercentage": 0,
                "minimumHosts": 2,
                "requestVolume": 3,
            },
            "failurePercentageEjection": {
                "threshold": 100,
                "enforcementPercentage": 50,
                "minimumHosts": 0,
                "requestVolume": 4294967295,
            },
            "childPolicy": [{"not_installed": {}}, {"od_test_other_sharded": {}}],
            "unknownField": True,
        }
    )
    assert (config.interval, config.base_ejection_time, config.max_ejection_time) == (
        0.5,
        1.25,
        0.0,
    )
    assert config.max_ejection_percent == 100
    assert config.success_rate_ejection == SuccessRateEjection(
        stdev_factor=1000, enforcement_percentage=0, minimum_hosts=2, request_volume=3
    )
    assert config.failure_percentage_ejection == FailurePercentageEjection(
        threshold=100, enforcement_percentage=50, minimum_hosts=0, request_volume=4294967295
    )
    assert config.child_policy == ("od_test_other_sharded", {})


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"interval": "-1s"}, "interval"),
        ({"baseEjectionTime": 30}, "baseEjectionTime"),
        ({"maxEjectionTime": "5m"}, "maxEjectionTime"),
        ({"maxEjectionPercent": 101}, "maxEjectionPercent"),
        ({"maxEjectionPercent": -1}, "maxEjectionPercent"),
        ({"maxEjectionPercent": 10.5}, "maxEjectionPercent"),
        ({"successRateEjection": {"enforcementPercentage": 101}}, "enforcementPercentage"),
        ({"successRateEjection": {"stdevFactor": 4294967296}}, "stdevFactor"),
        ({"successRateEjection": []}, "successRateEjection"),
        ({"failurePercentageEjection": {"threshold": 101}}, "threshold"),
        ({"failurePercentageEjection": {"enforcementPercentage": 200}}, "enforcementPercentage"),
        ({"failurePercentageEjection": {"minimumHosts": True}}, "minimumHosts"),
    ],
)
def test_invalid_fields_are_rejected_by_name(config: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        parse_config({"childPolicy": CHILD, **config})


def test_child_policy_is_required_and_must_be_installed() -> None:
    with pytest.raises(ValueError, match="childPolicy is required"):
        parse_config({})
    with pytest.raises(ServiceConfigError, match="no installed policy"):
        parse_config({"childPolicy": [{"nope": {}}]})


def test_registered_and_selected_by_service_config() -> None:
    assert plugins.balancers.get("outlier_detection_experimental") is OutlierDetection
    config = parse_service_config(
        {
            "loadBalancingConfig": [
                {
                    "outlier_detection_experimental": {
                        "failurePercentageEjection": {},
                        "childPolicy": CHILD,
                    }
                }
            ]
        }
    )
    assert config.load_balancing_policy == "outlier_detection_experimental"
    assert config.load_balancing_config.child_policy[0] == "od_test_sharded_leaves"
    with pytest.raises(ServiceConfigError, match="maxEjectionPercent"):
        parse_service_config(
            {
                "loadBalancingConfig": [
                    {
                        "outlier_detection_experimental": {
                            "maxEjectionPercent": 1000,
                            "childPolicy": CHILD,
                        }
                    }
                ]
            }
        )
