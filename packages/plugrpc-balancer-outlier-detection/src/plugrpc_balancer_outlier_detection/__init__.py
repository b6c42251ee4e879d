"""plugrpc-balancer-outlier-detection: the ``outlier_detection_experimental`` policy (A50).

Installing the distribution registers ``OutlierDetection`` under the policy name
``outlier_detection_experimental``. It wraps a child policy and takes backends whose calls
fail out of its view for a while::

    {"loadBalancingConfig": [{"outlier_detection_experimental": {
        "interval": "10s", "baseEjectionTime": "30s",
        "failurePercentageEjection": {"threshold": 85},
        "childPolicy": [{"round_robin": {}}]}}]}
"""

from __future__ import annotations

from ._config import (
    FailurePercentageEjection,
    OutlierDetectionConfig,
    SuccessRateEjection,
    parse_config,
)
from ._detector import AddressInfo, Bucket, CallCounter, Ejectable, sweep
from ._policy import OutlierDetection
from ._wrappers import CountingPicker, EjectableSubchannel

__version__ = "0.1.0"

__all__ = [
    "AddressInfo",
    "Bucket",
    "CallCounter",
    "CountingPicker",
    "Ejectable",
    "EjectableSubchannel",
    "FailurePercentageEjection",
    "OutlierDetection",
    "OutlierDetectionConfig",
    "SuccessRateEjection",
    "parse_config",
    "sweep",
]
