"""GracefulSwitch: the old policy serves until the new one is ready (grpc-go gracefulswitch)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from plugrpc_core import Address, ConnectivityState, PickFail, PickQueue, ResolverState, plugins
from plugrpc_core.lb import GracefulSwitch
from plugrpc_core.lb.testing import FakeHelper, SimpleLeaf

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
SHUTDOWN = ConnectivityState.SHUTDOWN


class LeafA(SimpleLeaf):
    name = "plugrpc_test_leaf_a"


class LeafB(SimpleLeaf):
    name = "plugrpc_test_leaf_b"


class LeafC(SimpleLeaf):
    name = "plugrpc_test_leaf_c"


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    with plugins.balancers.override(LeafA), plugins.balancers.override(LeafB):
        with plugins.balancers.override(LeafC):
            yield


def resolved(port: int) -> ResolverState:
    return ResolverState(addresses=(Address(host="10.0.0.1", port=port),))


@pytest.fixture
def helper() -> FakeHelper:
    return FakeHelper()


@pytest.fixture
def switch(helper: FakeHelper) -> GracefulSwitch:
    return GracefulSwitch(helper)


def ready_on(helper: FakeHelper, switch: GracefulSwitch, name: str, port: int) -> None:
    switch.update_state(resolved(port), (name, None))
    helper.subchannels[-1].ready()


def test_the_first_policy_publishes_directly(helper: FakeHelper, switch: GracefulSwitch) -> None:
    switch.update_state(resolved(1), (LeafA.name, None))
    assert switch.current_policy == LeafA.name and switch.pending_policy is None
    assert helper.states == [CONNECTING]
    helper.subchannel(port=1).ready()
    assert helper.state is READY
    assert helper.picked().address.port == 1


def test_the_old_policy_serves_until_the_new_one_is_ready(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    ready_on(helper, switch, LeafA.name, 1)
    old = helper.subchannel(port=1)
    published = len(helper.states)
    switch.update_state(resolved(2), (LeafB.name, None))
    assert switch.pending_policy == LeafB.name
    assert len(helper.states) == published  # the new one's CONNECTING is held back
    assert helper.picked() is old
    new = helper.subchannel(port=2)
    new.become(CONNECTING)
    assert helper.picked() is old
    new.become(READY)
    assert switch.current_policy == LeafB.name and switch.pending_policy is None
    assert helper.picked() is new
    assert old.state is SHUTDOWN
    assert CONNECTING not in helper.states[published:]


def test_the_switch_happens_when_the_old_policy_leaves_ready(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    ready_on(helper, switch, LeafA.name, 1)
    switch.update_state(resolved(2), (LeafB.name, None))
    helper.subchannel(port=1).become(IDLE)  # the old connection is lost
    assert switch.current_policy == LeafB.name
    assert helper.state is CONNECTING
    assert isinstance(helper.pick(), PickQueue)
    assert [s.address.port for s in helper.live()] == [2]


def test_a_failing_new_policy_takes_over(helper: FakeHelper, switch: GracefulSwitch) -> None:
    ready_on(helper, switch, LeafA.name, 1)
    switch.update_state(resolved(2), (LeafB.name, None))
    helper.subchannel(port=2).fail("refused")
    assert switch.current_policy == LeafB.name
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail) and result.message == "refused"


def test_a_new_policy_takes_over_at_once_when_the_old_one_is_not_ready(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    switch.update_state(resolved(1), (LeafA.name, None))  # still CONNECTING
    switch.update_state(resolved(2), (LeafB.name, None))
    assert switch.current_policy == LeafB.name and switch.pending_policy is None
    assert helper.subchannels[0].state is SHUTDOWN


def test_a_second_change_replaces_the_pending_policy(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    ready_on(helper, switch, LeafA.name, 1)
    switch.update_state(resolved(2), (LeafB.name, None))
    pending_sub = helper.subchannel(port=2)
    switch.update_state(resolved(3), (LeafC.name, None))
    assert switch.pending_policy == LeafC.name
    assert pending_sub.state is SHUTDOWN
    assert helper.picked().address.port == 1
    helper.subchannel(port=3).ready()
    assert helper.picked().address.port == 3


def test_same_name_updates_go_to_the_newest_policy(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    ready_on(helper, switch, LeafA.name, 1)
    switch.update_state(resolved(2), (LeafB.name, None))
    switch.update_state(resolved(4), (LeafB.name, None))
    assert switch.pending_policy == LeafB.name
    assert sorted(s.address.port for s in helper.live()) == [1, 4]
    # Back to the current policy's name: that is a new switch to a fresh instance.
    switch.update_state(resolved(5), (LeafA.name, None))
    assert switch.pending_policy == LeafA.name
    assert sorted(s.address.port for s in helper.live()) == [1, 5]


def test_only_the_newest_policy_may_ask_for_reresolution(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    ready_on(helper, switch, LeafA.name, 1)
    switch.update_state(resolved(2), (LeafB.name, None))
    old_child = switch._current
    new_child = switch._pending
    assert old_child is not None and new_child is not None
    old_child.helper.request_reresolution()
    assert helper.reresolutions == 0
    new_child.helper.request_reresolution()
    assert helper.reresolutions == 1


def test_resolver_error_and_exit_idle_go_to_the_newest(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    switch.resolver_error("no such host")
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail) and result.message == "name resolver error: no such host"
    switch.switch_to(LeafA.name)
    switch.resolver_error("again")
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail) and result.message == "name resolver error: again"
    switch.update_state(resolved(1), (LeafA.name, None))
    helper.subchannel(port=1).ready()
    helper.subchannel(port=1).become(IDLE)
    assert helper.state is IDLE
    switch.exit_idle()
    assert helper.subchannel(port=1).connects == 2


def test_switch_to_with_a_factory_and_errors(helper: FakeHelper, switch: GracefulSwitch) -> None:
    with pytest.raises(TypeError, match="pair"):
        switch.update_state(resolved(1), {"not": "a pair"})
    with pytest.raises(plugins.PluginNotFoundError):
        switch.switch_to("no_such_policy_anywhere")
    switch.switch_to("custom", SimpleLeaf)
    switch.update_state(resolved(1), ("custom", None))
    assert switch.current_policy == "custom"
    switch.close()
    assert helper.live() == []
    with pytest.raises(RuntimeError, match="closed"):
        switch.switch_to(LeafA.name)
    published = len(helper.states)
    switch.update_state(resolved(2), (LeafA.name, None))
    switch.resolver_error("late")
    switch.exit_idle()
    assert len(helper.states) == published


def test_close_during_a_switch_closes_both(helper: FakeHelper, switch: GracefulSwitch) -> None:
    ready_on(helper, switch, LeafA.name, 1)
    switch.update_state(resolved(2), (LeafB.name, None))
    switch.close()
    assert helper.live() == []
    assert switch.current_policy is None and switch.pending_policy is None


def test_a_policy_that_fails_to_build_leaves_the_switch_as_it_was(
    helper: FakeHelper, switch: GracefulSwitch
) -> None:
    def broken(_helper: object) -> LeafA:
        raise RuntimeError("cannot build")

    ready_on(helper, switch, LeafA.name, 1)
    with pytest.raises(RuntimeError, match="cannot build"):
        switch.switch_to("broken", broken)  # type: ignore[arg-type]
    assert switch.current_policy == LeafA.name and switch.pending_policy is None
    assert helper.picked().address.port == 1
    fresh = GracefulSwitch(FakeHelper())
    with pytest.raises(RuntimeError):
        fresh.switch_to("broken", broken)  # type: ignore[arg-type]
    assert fresh.current_policy is None
