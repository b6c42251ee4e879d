"""``outlier_detection_experimental`` over a round-robin child, with plugrpc_core's FakeHelper."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from plugrpc_balancer_outlier_detection import (
    EjectableSubchannel,
    OutlierDetection,
    parse_config,
)
from plugrpc_core import (
    Address,
    ConnectivityState,
    Metadata,
    PickComplete,
    ResolverState,
    StatusCode,
)
from plugrpc_core.lb.testing import FakeHelper, FakeSubchannel

READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
ADDRESSES = tuple(Address(host="10.0.0.1", port=port) for port in (1, 2, 3, 4))
EJECTING = {
    "interval": "1s",
    "baseEjectionTime": "2s",
    "maxEjectionPercent": 50,
    "failurePercentageEjection": {"threshold": 50, "minimumHosts": 3, "requestVolume": 10},
    "childPolicy": [{"od_test_sharded_leaves": {}}],
}


def start(
    config: dict[str, Any] = EJECTING, addresses: tuple[Address, ...] = ADDRESSES
) -> tuple[FakeHelper, OutlierDetection]:
    helper = FakeHelper()
    policy = OutlierDetection(helper, rng=random.Random(3))
    policy.update_state(ResolverState(addresses=addresses), parse_config(config))
    for subchannel in helper.live():
        subchannel.ready()
    assert helper.state is READY
    return helper, policy


def calls(helper: FakeHelper, count: int, failing: frozenset[int] = frozenset()) -> Counter[int]:
    """Make ``count`` calls; backends on ``failing`` ports fail every call."""
    used: Counter[int] = Counter()
    for _ in range(count):
        result = helper.pick()
        assert isinstance(result, PickComplete)
        # The channel gets its own subchannel, never the wrapper.
        assert isinstance(result.subchannel, FakeSubchannel)
        port = result.subchannel.address.port
        used[port] += 1
        if result.on_done is not None:
            code = StatusCode.UNAVAILABLE if port in failing else StatusCode.OK
            result.on_done(code, Metadata())
    return used


def test_calls_are_counted_per_address() -> None:
    helper, policy = start()
    calls(helper, 40, failing=frozenset({2}))
    info = policy.address_info
    assert info[ADDRESSES[0]].counter.active.successes == 10
    assert info[ADDRESSES[1]].counter.active.failures == 10
    assert info[ADDRESSES[1]].counter.active.successes == 0


def test_a_failing_backend_is_ejected_and_comes_back() -> None:
    helper, policy = start()
    calls(helper, 80, failing=frozenset({3}))
    helper.advance(1.0)
    assert policy.ejected_addresses() == [ADDRESSES[2]]
    # The child saw TRANSIENT_FAILURE for it and stopped using it.
    used = calls(helper, 60)
    assert used[3] == 0 and set(used) == {1, 2, 4}
    # Back after base_ejection_time * 1 = 2 s (checked at the sweeps).
    helper.advance(1.0)
    assert policy.ejected_addresses() == [ADDRESSES[2]]
    helper.advance(1.0)
    assert policy.ejected_addresses() == []
    assert calls(helper, 40)[3] == 10


def test_a_second_ejection_lasts_longer() -> None:
    helper, policy = start()
    calls(helper, 80, failing=frozenset({3}))
    helper.advance(1.0)  # ejected at t=1 (multiplier 1, 2 s)
    helper.advance(2.0)  # back at t=3
    assert policy.ejected_addresses() == []
    calls(helper, 80, failing=frozenset({3}))
    helper.advance(1.0)  # ejected again at t=4, before the multiplier went down: 2 x 2 s
    info = policy.address_info[ADDRESSES[2]]
    assert info.ejected and info.multiplier == 2
    helper.advance(3.0)
    assert info.ejected
    helper.advance(1.0)  # t=8
    assert not info.ejected


def test_max_ejection_percent_limits_ejections() -> None:
    helper, policy = start()
    calls(helper, 80, failing=frozenset({1, 2, 3}))
    helper.advance(1.0)
    assert len(policy.ejected_addresses()) == 2  # 50 % of 4


def test_without_algorithms_nothing_is_counted_or_ejected() -> None:
    config = {"childPolicy": [{"od_test_sharded_leaves": {}}]}
    helper, policy = start(config)
    result = helper.pick()
    assert isinstance(result, PickComplete) and result.on_done is None
    assert helper.pending_timers == []
    calls(helper, 80, failing=frozenset({1}))
    helper.advance(100.0)
    assert policy.ejected_addresses() == []


def test_turning_the_algorithms_off_returns_everything() -> None:
    helper, policy = start()
    calls(helper, 80, failing=frozenset({3}))
    helper.advance(1.0)
    assert policy.ejected_addresses()
    policy.update_state(
        ResolverState(addresses=ADDRESSES),
        parse_config({"childPolicy": [{"od_test_sharded_leaves": {}}]}),
    )
    assert policy.ejected_addresses() == []
    assert policy.address_info[ADDRESSES[2]].multiplier == 0
    assert calls(helper, 40)[3] == 10


def test_a_config_update_keeps_the_sweep_schedule() -> None:
    helper, policy = start()
    helper.advance(0.6)
    policy.update_state(ResolverState(addresses=ADDRESSES), parse_config(EJECTING))
    (timer,) = [t for t in helper.pending_timers if t.when < 100]
    assert timer.when == 1.0  # what was left of the interval, not a fresh 1 s


def test_a_dropped_address_comes_back_fresh() -> None:
    helper, policy = start()
    calls(helper, 80, failing=frozenset({3}))
    helper.advance(1.0)
    # The resolver drops the address, then lists it again while its info is gone: fresh.
    shorter = ADDRESSES[:2] + ADDRESSES[3:]
    policy.update_state(ResolverState(addresses=shorter), parse_config(EJECTING))
    assert ADDRESSES[2] not in policy.address_info
    policy.update_state(ResolverState(addresses=ADDRESSES), parse_config(EJECTING))
    assert not policy.address_info[ADDRESSES[2]].ejected
    helper.subchannel(port=3).ready()
    assert calls(helper, 40)[3] == 10


def test_wrappers_created_while_ejected_report_failure() -> None:
    helper, policy = start()
    calls(helper, 80, failing=frozenset({3}))
    helper.advance(1.0)
    info = policy.address_info[ADDRESSES[2]]
    wrappers = [w for w in info.subchannels if isinstance(w, EjectableSubchannel)]
    assert wrappers and all(w.ejected and w.state is TF for w in wrappers)
    # The child reconnecting a new subchannel for the address gets an ejected wrapper.
    wrapper = policy._child_helper.create_subchannel(ADDRESSES[2], lambda *_: None)
    assert isinstance(wrapper, EjectableSubchannel)
    assert wrapper.ejected and wrapper.state is TF
    wrapper.shutdown()
    assert wrapper not in info.subchannels


def test_the_child_policy_can_change() -> None:
    helper, policy = start()
    other = dict(EJECTING, childPolicy=[{"od_test_other_sharded": {}}])
    policy.update_state(ResolverState(addresses=ADDRESSES), parse_config(other))
    # The new child connects; the old one serves until then (graceful switch).
    new = [s for s in helper.live() if s.state is ConnectivityState.IDLE]
    assert len(new) == 4
    for subchannel in new:
        subchannel.ready()
    assert len(helper.live()) == 4
    assert sum(calls(helper, 40).values()) == 40


def test_close_stops_the_timer_and_the_child() -> None:
    helper, policy = start()
    published = len(helper.states)
    policy.close()
    assert helper.live() == []
    helper.advance(10.0)
    assert len(helper.states) == published
