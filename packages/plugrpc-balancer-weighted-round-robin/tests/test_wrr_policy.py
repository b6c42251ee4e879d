"""``weighted_round_robin`` driven by plugrpc_core's FakeHelper: no sockets, a manual clock."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from plugrpc_balancer_weighted_round_robin import WeightedRoundRobin, parse_config
from plugrpc_core import (
    Address,
    ConnectivityState,
    Metadata,
    PickComplete,
    PickQueue,
    ResolverState,
    StatusCode,
)
from plugrpc_core.lb.testing import FakeHelper
from plugrpc_orca import TRAILER_KEY, OrcaLoadReport

READY = ConnectivityState.READY
CONNECTING = ConnectivityState.CONNECTING
IDLE = ConnectivityState.IDLE
ADDRESSES = tuple(Address(host="10.0.0.1", port=port) for port in (1, 2, 3))
#: Utilizations that make weights qps / utilization = 250, 500, 1000: 1:2:4.
UTILIZATION = {1: 0.4, 2: 0.2, 3: 0.1}


def trailers(port: int, *, eps: float = 0.0) -> Metadata:
    report = OrcaLoadReport(rps_fractional=100.0, cpu_utilization=UTILIZATION[port], eps=eps)
    return Metadata([(TRAILER_KEY, report.to_bytes())])


def start(config: dict[str, object], addresses=ADDRESSES) -> tuple[FakeHelper, WeightedRoundRobin]:
    helper = FakeHelper()
    policy = WeightedRoundRobin(helper, rng=random.Random(4))
    policy.update_state(ResolverState(addresses=addresses), parse_config(config))
    for subchannel in helper.live():
        subchannel.ready()
    assert helper.state is READY
    return helper, policy


def call(helper: FakeHelper, *, report: bool = True) -> int:
    """Pick like a call, finish it with the backend's trailer, return the port used."""
    result = helper.pick()
    assert isinstance(result, PickComplete)
    port = result.subchannel.address.port
    if result.on_done is not None:
        result.on_done(StatusCode.OK, trailers(port) if report else Metadata())
    return port


def shares(helper: FakeHelper, picks: int) -> dict[int, float]:
    counts = Counter(call(helper) for _ in range(picks))
    return {port: counts[port] / picks for port in (1, 2, 3)}


def test_round_robin_until_weights_are_known_then_weighted() -> None:
    helper, policy = start({"blackoutPeriod": "1s", "weightUpdatePeriod": "0.1s"})
    first = shares(helper, 300)
    assert all(share == pytest.approx(1 / 3) for share in first.values())
    helper.advance(0.5)
    # Reports are in, but the blackout (1 s from the first report) is not over.
    assert all(share == pytest.approx(1 / 3) for share in shares(helper, 300).values())
    helper.advance(0.6)
    assert policy.endpoint_weights() == {
        ADDRESSES[0]: pytest.approx(250.0),
        ADDRESSES[1]: pytest.approx(500.0),
        ADDRESSES[2]: pytest.approx(1000.0),
    }
    weighted = shares(helper, 7000)
    assert weighted[1] == pytest.approx(1 / 7, abs=0.002)
    assert weighted[2] == pytest.approx(2 / 7, abs=0.002)
    assert weighted[3] == pytest.approx(4 / 7, abs=0.002)


def test_round_robin_keeps_its_turn_order_across_rebuilds() -> None:
    helper, _ = start({"blackoutPeriod": "100s", "weightUpdatePeriod": "0.1s"})
    used = []
    for _ in range(60):
        used.append(call(helper))  # one call, then a rebuild
        helper.advance(0.1)
    counts = Counter(used)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_the_update_timer_swaps_the_scheduler_without_a_new_picker() -> None:
    helper, _ = start({"blackoutPeriod": "0s", "weightUpdatePeriod": "1s"})
    picker = helper.picker
    published = len(helper.states)
    shares(helper, 30)  # reports arrive; the picker still uses its old schedule
    assert shares(helper, 300)[3] == pytest.approx(1 / 3)
    helper.advance(1.0)
    assert helper.picker is picker and len(helper.states) == published
    assert shares(helper, 700)[3] == pytest.approx(4 / 7, abs=0.01)


def test_error_rate_lowers_a_weight() -> None:
    helper, policy = start({"blackoutPeriod": "0s", "errorUtilizationPenalty": 1.0})
    result = helper.pick()
    assert isinstance(result, PickComplete) and result.on_done is not None
    port = result.subchannel.address.port
    result.on_done(StatusCode.UNAVAILABLE, trailers(port, eps=50.0))
    # 100 / (u + 50 / 100 * 1)
    expected = 100.0 / (UTILIZATION[port] + 0.5)
    assert policy.endpoint_weights()[result.subchannel.address] == pytest.approx(expected)


def test_calls_without_reports_change_nothing() -> None:
    helper, policy = start({"blackoutPeriod": "0s"})
    for _ in range(30):
        call(helper, report=False)
    assert set(policy.endpoint_weights().values()) == {0.0}


def test_stale_weights_fall_back_to_round_robin() -> None:
    helper, policy = start(
        {"blackoutPeriod": "0s", "weightExpirationPeriod": "5s", "weightUpdatePeriod": "1s"}
    )
    shares(helper, 30)
    helper.advance(1.0)
    assert shares(helper, 700)[3] == pytest.approx(4 / 7, abs=0.01)
    # No more reports: after 5 s the weights expire and picks are even again.
    for _ in range(6):
        helper.advance(1.0)
    assert set(policy.endpoint_weights().values()) == {0.0}
    counts = Counter(call(helper, report=False) for _ in range(300))
    assert set(counts.values()) == {100}


def test_oob_mode_reads_no_trailers() -> None:
    helper, policy = start({"enableOobLoadReport": True, "blackoutPeriod": "0s"})
    for _ in range(10):
        result = helper.pick()
        assert isinstance(result, PickComplete)
        assert result.on_done is None
    assert policy.config.enable_oob_load_report


def test_switching_to_oob_and_back_changes_the_picker() -> None:
    helper, policy = start({"blackoutPeriod": "0s"})
    picked = helper.pick()
    assert isinstance(picked, PickComplete) and picked.on_done is not None
    policy.update_state(
        ResolverState(addresses=ADDRESSES), parse_config({"enableOobLoadReport": True})
    )
    picked = helper.pick()
    assert isinstance(picked, PickComplete) and picked.on_done is None
    policy.update_state(ResolverState(addresses=ADDRESSES), parse_config({}))
    picked = helper.pick()
    assert isinstance(picked, PickComplete) and picked.on_done is not None


def test_one_pick_result_is_wrapped_once_per_child() -> None:
    helper, _ = start({})
    results = [helper.pick() for _ in range(9)]
    assert len({id(r) for r in results}) == 3


def test_a_reconnected_endpoint_serves_a_new_blackout() -> None:
    helper, policy = start({"blackoutPeriod": "2s", "weightUpdatePeriod": "1s"})
    shares(helper, 30)
    helper.advance(2.0)
    shares(helper, 30)
    assert policy.endpoint_weights()[ADDRESSES[2]] == pytest.approx(1000.0)
    subchannel = helper.subchannel(port=3)
    subchannel.become(IDLE)  # the connection went away
    helper.advance()  # the sharding asks the child to reconnect
    helper.subchannel(port=3).ready()
    shares(helper, 30)
    assert policy.endpoint_weights()[ADDRESSES[2]] == 0.0  # blacked out again
    assert policy.endpoint_weights()[ADDRESSES[0]] == pytest.approx(250.0)


def test_only_ready_endpoints_are_scheduled() -> None:
    helper = FakeHelper()
    policy = WeightedRoundRobin(helper, rng=random.Random(2))
    policy.update_state(ResolverState(addresses=ADDRESSES), parse_config({}))
    assert helper.state is CONNECTING
    assert isinstance(helper.pick(), PickQueue)
    helper.subchannel(port=2).ready()
    assert helper.state is READY
    assert {call(helper) for _ in range(10)} == {2}


def test_removed_endpoints_lose_their_weights() -> None:
    helper, policy = start({"blackoutPeriod": "0s"})
    shares(helper, 30)
    policy.update_state(ResolverState(addresses=ADDRESSES[:2]), parse_config({}))
    assert set(policy.endpoint_weights()) == set(ADDRESSES[:2])
    assert {call(helper) for _ in range(20)} == {1, 2}


def test_no_addresses_fails_and_asks_for_resolution() -> None:
    helper = FakeHelper()
    policy = WeightedRoundRobin(helper)
    policy.update_state(ResolverState(addresses=()), parse_config({}))
    assert helper.state is ConnectivityState.TRANSIENT_FAILURE
    assert helper.reresolutions >= 1


def test_close_stops_the_timer_and_the_children() -> None:
    helper, policy = start({"weightUpdatePeriod": "1s"})
    published = len(helper.states)
    policy.close()
    assert helper.live() == []
    helper.advance(10.0)
    assert len(helper.states) == published
