"""The entry point of plugrpc-balancer-outlier-detection: ``outlier_detection_experimental``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core.plugins import hookimpl

from ._policy import OutlierDetection

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import Balancer

__all__ = ["plugrpc_register_balancers"]


@hookimpl
def plugrpc_register_balancers() -> Sequence[type[Balancer]]:
    """``outlier_detection_experimental`` (gRFC A50)."""
    return [OutlierDetection]
