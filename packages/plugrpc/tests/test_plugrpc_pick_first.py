"""pick_first, sans-I/O: a helper with a manual clock and subchannels driven by the test."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from plugrpc._pick_first import PickFirst, PickFirstConfig
from plugrpc_core import (
    Address,
    BalancerHelper,
    ConnectivityState,
    Metadata,
    PickComplete,
    Picker,
    PickFail,
    PickInfo,
    PickQueue,
    ResolverState,
    StatusCode,
    Subchannel,
    TimerHandle,
)

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
SHUTDOWN = ConnectivityState.SHUTDOWN
INFO = PickInfo(method="/pkg.Svc/M", metadata=Metadata())

Listener = Callable[[Subchannel, ConnectivityState, str | None], None]


class ScriptedSubchannel(Subchannel):
    """A subchannel whose transitions the test performs, reported like the real one."""

    def __init__(self, address: Address, listener: Listener) -> None:
        self._address = address
        self._listener = listener
        self._state = IDLE
        self.connects = 0

    @property
    def address(self) -> Address:
        return self._address

    @property
    def state(self) -> ConnectivityState:
        return self._state

    def connect(self) -> None:
        if self._state is IDLE:
            self.connects += 1

    def shutdown(self) -> None:
        self._state = SHUTDOWN

    def become(self, state: ConnectivityState, error: str | None = None) -> None:
        assert self._state is not SHUTDOWN
        self._state = state
        self._listener(self, state, error)

    def fail(self, error: str = "connection refused") -> None:
        self.become(CONNECTING)
        self.become(TF, error)


@dataclass
class _Timer:
    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class ManualHelper(BalancerHelper):
    """A real BalancerHelper whose clock only moves when the test says so."""

    clock: float = 0.0
    subchannels: list[ScriptedSubchannel] = field(default_factory=list)
    states: list[ConnectivityState] = field(default_factory=list)
    picker: Picker | None = None
    reresolutions: int = 0
    timers: list[_Timer] = field(default_factory=list)

    def create_subchannel(self, address: Address, listener: Listener) -> Subchannel:
        subchannel = ScriptedSubchannel(address, listener)
        self.subchannels.append(subchannel)
        return subchannel

    def update_state(self, state: ConnectivityState, picker: Picker) -> None:
        self.states.append(state)
        self.picker = picker

    def request_reresolution(self) -> None:
        self.reresolutions += 1

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _Timer(self.clock + delay, callback)
        self.timers.append(timer)
        return timer

    def now(self) -> float:
        return self.clock

    @property
    def state(self) -> ConnectivityState:
        return self.states[-1]

    def pick(self) -> PickComplete | PickQueue | PickFail:
        assert self.picker is not None
        return self.picker.pick(INFO)

    def sub(self, port: int) -> ScriptedSubchannel:
        live = [s for s in self.subchannels if s.address.port == port and s.state is not SHUTDOWN]
        assert len(live) == 1, live
        return live[0]


def addrs(*ports: int) -> ResolverState:
    return ResolverState(addresses=tuple(Address(host="10.0.0.1", port=p) for p in ports))


@pytest.fixture
def helper() -> ManualHelper:
    return ManualHelper()


@pytest.fixture
def balancer(helper: ManualHelper) -> PickFirst:
    return PickFirst(helper)


def picked(helper: ManualHelper) -> Subchannel:
    result = helper.pick()
    assert isinstance(result, PickComplete)
    return result.subchannel


# -- config -----------------------------------------------------------------------------


def test_parse_config() -> None:
    assert PickFirst.parse_config({}) == PickFirstConfig(shuffle_address_list=False)
    assert PickFirst.parse_config({"shuffleAddressList": True}).shuffle_address_list
    assert PickFirst.parse_config({"unknown": 1}) == PickFirstConfig()
    with pytest.raises(ValueError, match="shuffleAddressList must be a boolean"):
        PickFirst.parse_config({"shuffleAddressList": "yes"})
    with pytest.raises(ValueError, match="JSON object"):
        PickFirst.parse_config([])  # type: ignore[arg-type]
    assert PickFirst.name == "pick_first"


# -- first pass -------------------------------------------------------------------------


def test_first_update_connects_the_first_address_only(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1, 2, 3), None)
    assert helper.states == [CONNECTING]
    assert isinstance(helper.pick(), PickQueue)
    assert [s.address.port for s in helper.subchannels] == [1]
    assert helper.sub(1).connects == 1


def test_addresses_are_tried_in_order_until_one_is_ready(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1, 2, 3), PickFirstConfig())
    helper.sub(1).fail()
    assert helper.sub(2).connects == 1
    assert helper.state is CONNECTING
    helper.sub(2).become(CONNECTING)
    helper.sub(2).become(READY)
    assert helper.state is READY
    assert picked(helper) is helper.sub(2)
    # The others are released; address 3 was never needed.
    assert helper.subchannels[0].state is SHUTDOWN
    assert [s.address.port for s in helper.subchannels] == [1, 2]
    # Every pick is the same prebuilt answer: nothing allocated per call.
    assert helper.pick() is helper.pick()


def test_all_failing_gives_sticky_transient_failure_and_keeps_trying(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1, 2), None)
    helper.sub(1).fail("refused 1")
    helper.sub(2).fail("refused 2")
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail)
    assert result.code is StatusCode.UNAVAILABLE
    assert result.message == "refused 2"
    assert not result.drop
    assert helper.reresolutions == 1
    # Backoff over: each subchannel comes back IDLE and is connected again at once,
    # while the balancer stays in TRANSIENT_FAILURE.
    helper.sub(1).become(IDLE)
    assert helper.sub(1).connects == 2
    helper.sub(1).become(CONNECTING)
    assert helper.state is TF
    helper.sub(1).become(TF, "refused again")
    result = helper.pick()
    assert isinstance(result, PickFail)
    assert result.message == "refused again"
    helper.sub(2).become(IDLE)
    assert helper.sub(2).connects == 2
    helper.sub(2).become(CONNECTING)
    helper.sub(2).become(READY)
    assert helper.state is READY
    assert picked(helper) is helper.sub(2)
    assert CONNECTING not in helper.states[helper.states.index(TF) :]


def test_reresolution_once_per_round_of_failures(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.update_state(addrs(1, 2), None)
    helper.sub(1).fail()
    helper.sub(2).fail()
    assert helper.reresolutions == 1
    for port in (1, 2):
        helper.sub(port).become(IDLE)
        helper.sub(port).fail()
    assert helper.reresolutions == 2
    helper.sub(1).become(IDLE)
    helper.sub(1).fail()
    assert helper.reresolutions == 2


def test_subchannels_idle_at_the_end_of_a_pass_are_connected(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1, 2), None)
    helper.sub(1).fail()
    helper.sub(1).become(IDLE)  # its backoff ended while address 2 was being tried
    assert helper.sub(1).connects == 1
    helper.sub(2).fail()
    assert helper.state is TF
    assert helper.sub(1).connects == 2


# -- losing the connection --------------------------------------------------------------


def test_ready_connection_lost_goes_idle_and_reresolves(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1, 2), None)
    helper.sub(1).become(CONNECTING)
    helper.sub(1).become(READY)
    helper.sub(1).become(IDLE)
    assert helper.state is IDLE
    assert isinstance(helper.pick(), PickQueue)
    assert helper.reresolutions == 1
    assert helper.sub(1).connects == 1
    # A call arrives: a new first pass from the first address.
    balancer.exit_idle()
    assert helper.state is CONNECTING
    assert helper.sub(1).connects == 2
    helper.sub(1).become(CONNECTING)
    helper.sub(1).become(READY)
    assert picked(helper) is helper.sub(1)


def test_address_update_while_idle_stays_idle(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.update_state(addrs(1), None)
    helper.sub(1).become(CONNECTING)
    helper.sub(1).become(READY)
    helper.sub(1).become(IDLE)
    balancer.update_state(addrs(2), None)
    assert helper.state is IDLE
    assert helper.subchannels[0].state is SHUTDOWN
    balancer.exit_idle()
    assert helper.sub(2).connects == 1


def test_exit_idle_does_nothing_unless_idle(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.exit_idle()  # no addresses yet
    assert helper.states == []
    balancer.update_state(addrs(1), None)
    balancer.exit_idle()
    assert helper.sub(1).connects == 1
    assert helper.states == [CONNECTING]


# -- address updates --------------------------------------------------------------------


def test_update_keeps_the_ready_connection_if_still_listed(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1, 2), None)
    helper.sub(1).fail()
    helper.sub(2).become(CONNECTING)
    helper.sub(2).become(READY)
    states_before = len(helper.states)
    balancer.update_state(addrs(3, 2), None)
    assert len(helper.states) == states_before
    assert picked(helper) is helper.sub(2)


def test_update_dropping_the_ready_address_reconnects(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1), None)
    helper.sub(1).become(CONNECTING)
    helper.sub(1).become(READY)
    old = helper.sub(1)
    balancer.update_state(addrs(5, 6), None)
    assert old.state is SHUTDOWN
    assert helper.state is CONNECTING
    assert helper.sub(5).connects == 1


def test_update_in_transient_failure_starts_a_pass_but_stays_failed(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1), None)
    helper.sub(1).fail()
    assert helper.state is TF
    balancer.update_state(addrs(1, 2), None)
    # Address 1 is still backing off: the pass skips it and tries 2, staying in TF.
    assert helper.state is TF
    assert helper.sub(2).connects == 1
    helper.sub(2).become(CONNECTING)
    helper.sub(2).become(READY)
    assert helper.state is READY


def test_duplicate_addresses_are_tried_once(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.update_state(addrs(1, 1, 2, 1), None)
    helper.sub(1).fail()
    helper.sub(2).fail()
    assert [s.address.port for s in helper.subchannels] == [1, 2]
    assert helper.state is TF


def test_shuffle_address_list_uses_the_random_source(helper: ManualHelper) -> None:
    ports = list(range(1, 9))
    expected = [Address(host="10.0.0.1", port=p) for p in ports]
    random.Random(5).shuffle(expected)
    assert [a.port for a in expected] != ports  # the seed really shuffles
    balancer = PickFirst(helper, rng=random.Random(5))
    balancer.update_state(addrs(*ports), PickFirstConfig(shuffle_address_list=True))
    tried = []
    for address in expected:
        tried.append(helper.subchannels[-1].address)
        helper.subchannels[-1].fail()
    assert tried == expected


def test_no_shuffle_keeps_resolver_order(helper: ManualHelper) -> None:
    balancer = PickFirst(helper, rng=random.Random(5))
    balancer.update_state(addrs(3, 1, 2), {"shuffleAddressList": False})
    assert helper.subchannels[0].address.port == 3


# -- resolver problems --------------------------------------------------------------------


def test_zero_addresses_fail_without_stickiness(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.update_state(addrs(), None)
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail)
    assert "zero addresses" in result.message
    assert helper.reresolutions == 1
    balancer.update_state(addrs(1), None)
    assert helper.state is CONNECTING


def test_zero_addresses_drop_a_ready_connection(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.update_state(addrs(1), None)
    helper.sub(1).become(CONNECTING)
    helper.sub(1).become(READY)
    balancer.update_state(addrs(), None)
    assert helper.subchannels[0].state is SHUTDOWN
    assert helper.state is TF


def test_resolver_error_before_any_address(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.resolver_error("dns: no such host")
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail)
    assert result.message == "name resolver error: dns: no such host"
    balancer.update_state(addrs(1), None)
    assert helper.state is CONNECTING


def test_resolver_error_while_ready_is_ignored(helper: ManualHelper, balancer: PickFirst) -> None:
    balancer.update_state(addrs(1), None)
    helper.sub(1).become(CONNECTING)
    helper.sub(1).become(READY)
    balancer.resolver_error("dns: timeout")
    assert helper.state is READY
    assert picked(helper) is helper.sub(1)


def test_resolver_error_in_transient_failure_updates_the_error(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1), None)
    helper.sub(1).fail()
    balancer.resolver_error("dns: timeout")
    result = helper.pick()
    assert isinstance(result, PickFail)
    assert result.message == "name resolver error: dns: timeout"
    assert helper.state is TF


# -- close ------------------------------------------------------------------------------


def test_close_shuts_everything_down_and_ignores_late_events(
    helper: ManualHelper, balancer: PickFirst
) -> None:
    balancer.update_state(addrs(1, 2), None)
    first = helper.sub(1)
    first.become(CONNECTING)
    balancer.close()
    assert first.state is SHUTDOWN
    reported = len(helper.states)
    first._state = CONNECTING  # a late report from a subchannel already shut down
    first.become(READY)
    balancer.update_state(addrs(3), None)
    balancer.resolver_error("late")
    balancer.exit_idle()
    assert len(helper.states) == reported
    assert len(helper.subchannels) == 1
