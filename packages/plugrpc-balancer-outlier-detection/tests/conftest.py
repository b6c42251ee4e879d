"""A round-robin child policy for outlier detection's tests, built from plugrpc_core only.

``ShardedLeaves`` is ``EndpointSharding`` over plugrpc_core's ``SimpleLeaf`` (one leaf per
address, round robin over the READY ones): what ``round_robin`` is, without depending on a
distribution this one does not declare.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from plugrpc_core import BalancerHelper, plugins
from plugrpc_core.lb import EndpointSharding
from plugrpc_core.lb.testing import SimpleLeaf


class ShardedLeaves(EndpointSharding):
    name = "od_test_sharded_leaves"

    def __init__(self, helper: BalancerHelper) -> None:
        super().__init__(helper, child_policy=SimpleLeaf)


class OtherSharded(EndpointSharding):
    name = "od_test_other_sharded"

    def __init__(self, helper: BalancerHelper) -> None:
        super().__init__(helper, child_policy=SimpleLeaf)


@pytest.fixture(autouse=True)
def test_policies() -> Iterator[None]:
    with plugins.balancers.override(ShardedLeaves), plugins.balancers.override(OtherSharded):
        yield
