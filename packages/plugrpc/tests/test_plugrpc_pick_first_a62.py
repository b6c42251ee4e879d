"""pick_first's gRFC A61/A62 behaviour, sans-I/O: Happy Eyeballs, interleaving, sticky TF."""

from __future__ import annotations

import pytest
from plugrpc._pick_first import PickFirst, PickFirstConfig, interleave_families
from plugrpc_core import Address, ConnectivityState, PickFail, PickQueue, ResolverState
from plugrpc_core.lb.testing import FakeHelper

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
SHUTDOWN = ConnectivityState.SHUTDOWN


def v4(port: int, host: str = "10.0.0.1") -> Address:
    return Address(host=host, port=port)


def v6(port: int, host: str = "2001:db8::1") -> Address:
    return Address(host=host, port=port)


def resolved(*addresses: Address) -> ResolverState:
    return ResolverState(addresses=addresses)


def ports(*numbers: int) -> ResolverState:
    return resolved(*(v4(p) for p in numbers))


@pytest.fixture
def helper() -> FakeHelper:
    return FakeHelper()


@pytest.fixture
def policy(helper: FakeHelper) -> PickFirst:
    return PickFirst(helper)


# -- address order --------------------------------------------------------------------------


def test_interleave_alternates_families_from_the_first_one() -> None:
    name = Address(host="backend.example", port=1)
    unix = Address(path="/run/app.sock")
    mapped = Address(host="::ffff:10.0.0.9", port=9)
    given = [v6(1), v6(2), v6(3), v4(4), v4(5), name, unix, mapped]
    assert interleave_families(given) == [v6(1), v4(4), name, v6(2), v4(5), unix, v6(3), mapped]
    assert interleave_families([v4(1), v6(2), v6(3)]) == [v4(1), v6(2), v6(3)]
    assert interleave_families([v4(2), v4(1)]) == [v4(2), v4(1)]
    assert interleave_families([]) == []


def test_updates_are_deduplicated_then_interleaved(helper: FakeHelper, policy: PickFirst) -> None:
    policy.update_state(resolved(v6(1), v6(2), v6(1), v4(3)), None)
    assert policy.addresses == (v6(1), v4(3), v6(2))


def test_shuffle_happens_before_interleaving(helper: FakeHelper) -> None:
    import random

    policy = PickFirst(helper, rng=random.Random(3))
    given = [v6(p) for p in range(1, 5)] + [v4(p) for p in range(5, 9)]
    policy.update_state(resolved(*given), PickFirstConfig(shuffle_address_list=True))
    order = policy.addresses
    assert sorted(a.port for a in order) == list(range(1, 9))
    families = ["6" if ":" in a.host else "4" for a in order]
    assert families in (["6", "4"] * 4, ["4", "6"] * 4)
    assert [a.port for a in order] != [1, 5, 2, 6, 3, 7, 4, 8]  # the seed really shuffled


# -- Happy Eyeballs ---------------------------------------------------------------------------


def test_the_next_address_starts_after_250ms_without_cancelling(
    helper: FakeHelper, policy: PickFirst
) -> None:
    policy.update_state(ports(1, 2, 3), None)
    first = helper.subchannel(port=1)
    first.become(CONNECTING)
    assert [t.when for t in helper.pending_timers] == [0.25]
    helper.advance(0.2)
    assert len(helper.subchannels) == 1
    helper.advance(0.05)
    second = helper.subchannel(port=2)
    assert second.connects == 1 and first.state is CONNECTING
    second.become(CONNECTING)
    helper.advance(0.25)
    third = helper.subchannel(port=3)
    assert third.connects == 1
    assert helper.pending_timers == []  # no timer after the last address
    assert helper.state is CONNECTING
    second.become(READY)  # the second attempt wins the race
    assert helper.state is READY
    assert helper.picked() is second
    assert first.state is SHUTDOWN and third.state is SHUTDOWN


def test_a_failure_moves_on_at_once_and_restarts_the_timer(
    helper: FakeHelper, policy: PickFirst
) -> None:
    policy.update_state(ports(1, 2, 3), None)
    helper.advance(0.1)
    helper.subchannel(port=1).fail()
    assert helper.subchannel(port=2).connects == 1
    assert [t.when for t in helper.pending_timers] == [pytest.approx(0.35)]


def test_the_pass_ends_only_when_every_attempt_failed(
    helper: FakeHelper, policy: PickFirst
) -> None:
    policy.update_state(ports(1, 2), None)
    first = helper.subchannel(port=1)
    first.become(CONNECTING)
    helper.advance(0.25)
    second = helper.subchannel(port=2)
    second.fail("refused 2")
    assert helper.state is CONNECTING  # the first attempt is still running
    assert helper.reresolutions == 0
    first.fail("refused 1")
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail) and result.message == "refused 1"
    assert helper.reresolutions == 1


def test_a_connecting_subchannel_counts_as_started(helper: FakeHelper, policy: PickFirst) -> None:
    policy.update_state(ports(1, 2), None)
    helper.subchannel(port=1).become(CONNECTING)
    policy.update_state(ports(1, 3), None)  # a new pass over a list with a CONNECTING one
    assert helper.subchannel(port=1).connects == 1
    assert [t.when for t in helper.pending_timers] == [0.25]
    helper.subchannel(port=1).ready()
    assert helper.state is READY


def test_subchannels_in_backoff_are_skipped(helper: FakeHelper, policy: PickFirst) -> None:
    policy.update_state(ports(1), None)
    helper.subchannel(port=1).fail("refused 1")
    assert helper.state is TF
    policy.update_state(ports(1, 2), None)
    assert helper.subchannel(port=2).connects == 1


def test_the_attempt_delay_is_clamped_to_a61_bounds(helper: FakeHelper) -> None:
    PickFirst(helper, connection_attempt_delay=0.01).update_state(ports(1, 2), None)
    PickFirst(helper, connection_attempt_delay=30).update_state(ports(3, 4), None)
    assert [t.when for t in helper.pending_timers] == [0.1, 2.0]


# -- sticky TRANSIENT_FAILURE -----------------------------------------------------------------


def test_sticky_tf_survives_a_new_address_list(helper: FakeHelper, policy: PickFirst) -> None:
    policy.update_state(ports(1), None)
    helper.subchannel(port=1).fail()
    assert helper.state is TF
    policy.update_state(ports(1, 2), None)
    helper.subchannel(port=2).become(CONNECTING)
    assert helper.state is TF  # CONNECTING is not reported until READY (A62)
    assert CONNECTING not in helper.states[helper.states.index(TF) :]
    helper.subchannel(port=2).become(READY)
    assert helper.state is READY


def test_after_the_pass_each_subchannel_reconnects_when_its_backoff_ends(
    helper: FakeHelper, policy: PickFirst
) -> None:
    policy.update_state(ports(1, 2), None)
    helper.subchannel(port=1).fail()
    helper.subchannel(port=2).fail()
    assert helper.state is TF
    helper.subchannel(port=2).become(IDLE)
    assert helper.subchannel(port=2).connects == 2
    helper.subchannel(port=2).become(CONNECTING)
    assert helper.state is TF
    helper.subchannel(port=2).become(READY)
    assert helper.picked().address.port == 2


# -- IDLE -------------------------------------------------------------------------------------


def test_the_idle_picker_starts_a_new_pass_on_the_next_call(
    helper: FakeHelper, policy: PickFirst
) -> None:
    policy.update_state(ports(1, 2), None)
    helper.subchannel(port=1).ready()
    helper.subchannel(port=1).become(IDLE)
    assert helper.state is IDLE and helper.reresolutions == 1
    assert isinstance(helper.pick(), PickQueue)
    helper.advance()
    assert helper.state is CONNECTING
    assert helper.subchannel(port=1).connects == 2


def test_a_connection_closed_while_being_set_up_goes_idle(
    helper: FakeHelper, policy: PickFirst
) -> None:
    policy.update_state(ports(1, 2), None)
    helper.subchannel(port=1).become(CONNECTING)
    helper.subchannel(port=1).become(IDLE)
    assert helper.state is IDLE
    assert helper.pending_timers == []
    policy.exit_idle()
    assert helper.subchannel(port=1).connects == 2


def test_zero_addresses_stop_the_pass(helper: FakeHelper, policy: PickFirst) -> None:
    policy.update_state(ports(1, 2), None)
    policy.update_state(ports(), None)
    assert helper.pending_timers == []
    assert helper.live() == []
    assert helper.state is TF


def test_close_stops_the_timer(helper: FakeHelper, policy: PickFirst) -> None:
    policy.update_state(ports(1, 2), None)
    policy.close()
    assert helper.pending_timers == []
    helper.advance(1)
    assert len(helper.subchannels) == 1
