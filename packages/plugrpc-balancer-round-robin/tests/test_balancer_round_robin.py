"""round_robin, sans-I/O: a FakeHelper, SimpleLeaf children, scripted subchannels."""

from __future__ import annotations

import logging
import random
from collections import Counter

import pytest
from plugrpc_balancer_round_robin import RoundRobin
from plugrpc_core import (
    Address,
    ConnectivityState,
    PickFail,
    PickQueue,
    ResolverState,
    parse_service_config,
    plugins,
)
from plugrpc_core.lb.testing import FakeHelper, SimpleLeaf

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
SHUTDOWN = ConnectivityState.SHUTDOWN


def resolved(*ports: int) -> ResolverState:
    return ResolverState(addresses=tuple(Address(host="10.0.0.1", port=p) for p in ports))


@pytest.fixture
def helper() -> FakeHelper:
    return FakeHelper()


@pytest.fixture
def policy(helper: FakeHelper) -> RoundRobin:
    return RoundRobin(helper, child_policy=SimpleLeaf, rng=random.Random(7))


def spread(helper: FakeHelper, calls: int) -> Counter[int]:
    return Counter(helper.picked().address.port for _ in range(calls))


def test_registered_under_grpcs_name_and_selected_by_service_config() -> None:
    assert plugins.balancers.get("round_robin") is RoundRobin
    config = parse_service_config({"loadBalancingConfig": [{"round_robin": {}}]})
    assert config.load_balancing_policy == "round_robin"
    assert config.load_balancing_config is None


def test_config_is_an_object_and_fields_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    assert RoundRobin.parse_config({}) is None
    with caplog.at_level(logging.WARNING):
        assert RoundRobin.parse_config({"unknown": 1}) is None
    assert "takes no configuration" in caplog.text
    with pytest.raises(ValueError, match="JSON object"):
        RoundRobin.parse_config([])  # type: ignore[arg-type]


def test_connects_every_endpoint_and_spreads_evenly(helper: FakeHelper, policy: RoundRobin) -> None:
    policy.update_state(resolved(1, 2, 3), None)
    assert helper.state is CONNECTING
    assert [s.connects for s in helper.subchannels] == [1, 1, 1]
    for sub in helper.subchannels:
        sub.ready()
    assert spread(helper, 300) == {1: 100, 2: 100, 3: 100}


def test_ready_as_soon_as_one_endpoint_is(helper: FakeHelper, policy: RoundRobin) -> None:
    policy.update_state(resolved(1, 2), None)
    helper.subchannel(port=2).ready()
    assert helper.state is READY
    assert spread(helper, 10) == {2: 10}


def test_a_lost_endpoint_is_skipped_and_reconnected(helper: FakeHelper, policy: RoundRobin) -> None:
    policy.update_state(resolved(1, 2, 3), None)
    for sub in helper.subchannels:
        sub.ready()
    helper.subchannel(port=2).become(IDLE)
    assert helper.state is READY
    assert spread(helper, 100) == {1: 50, 3: 50}
    helper.advance()  # the reconnect is deferred to a zero-delay timer
    assert helper.subchannel(port=2).connects == 2
    helper.subchannel(port=2).ready()
    assert set(spread(helper, 30)) == {1, 2, 3}


def test_all_failing_fails_fast_with_their_errors(helper: FakeHelper, policy: RoundRobin) -> None:
    policy.update_state(resolved(1, 2), None)
    helper.subchannel(port=1).fail("refused by 1")
    helper.subchannel(port=2).fail("refused by 2")
    assert helper.state is TF
    messages = set()
    for _ in range(2):
        result = helper.pick()
        assert isinstance(result, PickFail)
        messages.add(result.message)
    assert messages == {"refused by 1", "refused by 2"}
    helper.subchannel(port=1).become(IDLE)  # backoff over: the child reconnects
    assert helper.subchannel(port=1).connects == 2
    helper.subchannel(port=1).ready()
    assert helper.state is READY


def test_address_updates_keep_listed_connections(helper: FakeHelper, policy: RoundRobin) -> None:
    policy.update_state(resolved(1, 2), None)
    one, two = helper.subchannel(port=1), helper.subchannel(port=2)
    one.ready()
    two.ready()
    policy.update_state(resolved(2, 3), None)
    assert one.state is SHUTDOWN
    assert helper.subchannel(port=2) is two and two.connects == 1
    assert spread(helper, 10) == {2: 10}
    helper.subchannel(port=3).ready()
    assert spread(helper, 10) == {2: 5, 3: 5}


def test_zero_addresses_and_resolver_errors(helper: FakeHelper, policy: RoundRobin) -> None:
    policy.resolver_error("no such host")
    result = helper.pick()
    assert isinstance(result, PickFail) and "no such host" in result.message
    policy.update_state(resolved(), None)
    assert helper.state is TF and helper.reresolutions == 1
    policy.update_state(resolved(1), None)
    assert isinstance(helper.pick(), PickQueue)


def test_clients_start_at_different_backends() -> None:
    firsts = set()
    for seed in range(30):
        helper = FakeHelper()
        policy = RoundRobin(helper, child_policy=SimpleLeaf, rng=random.Random(seed))
        policy.update_state(resolved(1, 2, 3), None)
        for sub in helper.subchannels:
            sub.ready()
        firsts.add(helper.picked().address.port)
    assert firsts == {1, 2, 3}


def test_exit_idle_and_close(helper: FakeHelper, policy: RoundRobin) -> None:
    policy.update_state(resolved(1), None)
    helper.subchannel(port=1).ready()
    policy.exit_idle()  # nothing IDLE: no new attempt
    assert helper.subchannel(port=1).connects == 1
    policy.close()
    assert helper.live() == []
