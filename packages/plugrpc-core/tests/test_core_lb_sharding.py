"""EndpointSharding: one child per endpoint, aggregation, round robin, reconnection."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from plugrpc_core import (
    Address,
    ConnectivityState,
    PickFail,
    PickQueue,
    ResolverState,
    plugins,
)
from plugrpc_core.lb import EndpointSharding, ShardingPicker, resolve_policy
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
def sharding(helper: FakeHelper) -> EndpointSharding:
    return EndpointSharding(helper, child_policy=SimpleLeaf, rng=random.Random(1))


def test_one_child_per_endpoint_and_one_publication_per_update(
    helper: FakeHelper, sharding: EndpointSharding
) -> None:
    sharding.update_state(resolved(1, 2, 3, 2), None)
    assert sorted(s.address.port for s in helper.subchannels) == [1, 2, 3]
    assert all(s.connects == 1 for s in helper.subchannels)
    assert helper.states == [CONNECTING]  # the children's own publications were batched
    assert isinstance(helper.pick(), PickQueue)
    assert sorted(c.endpoint.addresses[0].port for c in sharding.children) == [1, 2, 3]


def test_ready_children_share_calls_round_robin(
    helper: FakeHelper, sharding: EndpointSharding
) -> None:
    sharding.update_state(resolved(1, 2, 3), None)
    helper.subchannel(port=2).ready()
    assert helper.state is READY
    assert {helper.picked().address.port for _ in range(5)} == {2}
    helper.subchannel(port=1).ready()
    helper.subchannel(port=3).ready()
    counts = Counter(helper.picked().address.port for _ in range(300))
    assert counts == {1: 100, 2: 100, 3: 100}
    order = [helper.picked().address.port for _ in range(6)]
    assert order[:3] == order[3:] and sorted(order[:3]) == [1, 2, 3]


def test_picker_exposes_every_childs_state(helper: FakeHelper, sharding: EndpointSharding) -> None:
    sharding.update_state(resolved(1, 2), None)
    helper.subchannel(port=1).ready()
    helper.subchannel(port=2).fail("refused")
    picker = helper.picker
    assert isinstance(picker, ShardingPicker)
    states = {c.endpoint.addresses[0].port: c.state for c in picker.children}
    assert states == {1: READY, 2: TF}
    assert picker.children == sharding.children


def test_all_failing_reports_the_childrens_errors(
    helper: FakeHelper, sharding: EndpointSharding
) -> None:
    sharding.update_state(resolved(1, 2), None)
    helper.subchannel(port=1).fail("refused 1")
    assert helper.state is CONNECTING
    helper.subchannel(port=2).fail("refused 2")
    assert helper.state is TF
    messages = set()
    for _ in range(4):
        result = helper.pick()
        assert isinstance(result, PickFail)
        messages.add(result.message)
    assert messages == {"refused 1", "refused 2"}


def test_idle_child_reconnects_from_a_timer(helper: FakeHelper, sharding: EndpointSharding) -> None:
    sharding.update_state(resolved(1, 2), None)
    helper.subchannel(port=1).ready()
    helper.subchannel(port=2).ready()
    helper.subchannel(port=1).become(IDLE)  # its connection was lost
    assert helper.state is READY
    assert helper.subchannel(port=1).connects == 1
    helper.advance()
    assert helper.subchannel(port=1).connects == 2
    assert {c.state for c in sharding.children} == {CONNECTING, READY}


def test_without_auto_reconnect_the_parent_decides(helper: FakeHelper) -> None:
    sharding = EndpointSharding(helper, child_policy=SimpleLeaf, auto_reconnect=False)
    sharding.update_state(resolved(1), None)
    helper.subchannel(port=1).ready()
    helper.subchannel(port=1).become(IDLE)
    helper.advance()
    assert helper.state is IDLE
    assert helper.subchannel(port=1).connects == 1
    (child,) = sharding.children
    child.exit_idle()
    assert helper.subchannel(port=1).connects == 1  # deferred, never re-entrant
    helper.advance()
    assert helper.subchannel(port=1).connects == 2


def test_updates_keep_listed_children_and_close_the_rest(
    helper: FakeHelper, sharding: EndpointSharding
) -> None:
    sharding.update_state(resolved(1, 2), None)
    first = helper.subchannel(port=1)
    first.ready()
    second = helper.subchannel(port=2)
    sharding.update_state(resolved(1, 3), None)
    assert second.state is SHUTDOWN
    assert helper.subchannel(port=1) is first
    assert helper.subchannel(port=3).connects == 1
    assert helper.state is READY


def test_zero_addresses_fail_and_ask_for_reresolution(
    helper: FakeHelper, sharding: EndpointSharding
) -> None:
    sharding.update_state(resolved(1), None)
    sharding.update_state(resolved(), None)
    assert helper.live() == []
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail) and "zero addresses" in result.message
    assert helper.reresolutions == 1


def test_resolver_error_before_any_endpoint(helper: FakeHelper, sharding: EndpointSharding) -> None:
    sharding.resolver_error("no such host")
    result = helper.pick()
    assert helper.state is TF
    assert isinstance(result, PickFail) and result.message == "name resolver error: no such host"
    sharding.update_state(resolved(1), None)
    assert helper.state is CONNECTING


def test_resolver_error_goes_to_the_children(helper: FakeHelper) -> None:
    seen: list[str] = []

    class Recording(SimpleLeaf):
        def resolver_error(self, error: str) -> None:
            seen.append(error)

    sharding = EndpointSharding(helper, child_policy=Recording)
    sharding.update_state(resolved(1, 2), None)
    published = len(helper.states)
    sharding.resolver_error("timeout")
    assert seen == ["timeout", "timeout"]
    assert len(helper.states) == published + 1


def test_exit_idle_reaches_every_child(helper: FakeHelper) -> None:
    sharding = EndpointSharding(helper, child_policy=SimpleLeaf, auto_reconnect=False)
    sharding.update_state(resolved(1, 2), None)
    for port in (1, 2):
        helper.subchannel(port=port).ready()
        helper.subchannel(port=port).become(IDLE)
    assert helper.state is IDLE
    sharding.exit_idle()
    assert [s.connects for s in helper.live()] == [2, 2]
    assert helper.state is CONNECTING


def test_rotation_and_start_follow_the_random_source(helper: FakeHelper) -> None:
    orders = set()
    for seed in range(20):
        fake = FakeHelper()
        sharding = EndpointSharding(fake, child_policy=SimpleLeaf, rng=random.Random(seed))
        sharding.update_state(resolved(1, 2, 3, 4), None)
        orders.add(tuple(c.endpoint.addresses[0].port for c in sharding.children))
    assert len(orders) > 1  # clients do not all start with the same backend
    assert all(sorted(o) == [1, 2, 3, 4] for o in orders)


def test_close_shuts_everything_down_and_mutes_late_events(
    helper: FakeHelper, sharding: EndpointSharding
) -> None:
    sharding.update_state(resolved(1, 2), None)
    sub = helper.subchannel(port=1)
    sub.become(CONNECTING)
    sharding.close()
    assert helper.live() == []
    published = len(helper.states)
    sub._state = CONNECTING
    sub.become(READY)
    sharding.update_state(resolved(3), None)
    sharding.resolver_error("late")
    sharding.exit_idle()
    helper.advance(10)
    assert len(helper.states) == published
    assert len(helper.subchannels) == 2


def test_child_config_defaults_to_the_child_policys_parse_config(helper: FakeHelper) -> None:
    configs: list[object] = []

    class Configured(SimpleLeaf):
        @classmethod
        def parse_config(cls, config: object) -> object:
            return ("parsed", dict(config))  # type: ignore[call-overload]

        def update_state(self, state: ResolverState, config: object) -> None:
            configs.append(config)
            super().update_state(state, config)

    sharding = EndpointSharding(helper, child_policy=Configured)
    sharding.update_state(resolved(1), None)
    sharding.update_state(resolved(1), {"given": True})
    assert configs == [("parsed", {}), {"given": True}]


def test_default_child_is_pick_first_from_the_registry(helper: FakeHelper) -> None:
    class FakePickFirst(SimpleLeaf):
        name = "pick_first"

    with plugins.balancers.override(FakePickFirst):
        assert resolve_policy(None) is FakePickFirst
        assert resolve_policy("pick_first") is FakePickFirst
        sharding = EndpointSharding(helper)
        sharding.update_state(resolved(1), None)
    assert helper.subchannel(port=1).connects == 1
    assert resolve_policy(SimpleLeaf) is SimpleLeaf
    with pytest.raises(plugins.PluginNotFoundError):
        resolve_policy("no_such_policy_here")


def test_sharding_picker_needs_a_picker() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ShardingPicker((), ())
