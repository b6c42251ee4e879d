"""plugrpc_core.lb building blocks: state aggregation, pickers, ChildHelper, LazyBalancer."""

from __future__ import annotations

import importlib

import pytest
from plugrpc_core import (
    Address,
    ConnectivityState,
    Metadata,
    PickComplete,
    PickFail,
    PickQueue,
    ResolverState,
    StatusCode,
)
from plugrpc_core.lb import (
    ChildHelper,
    Endpoint,
    FailPicker,
    IdlePicker,
    LazyBalancer,
    QueuePicker,
    add_on_done,
    aggregate_state,
    endpoints_from_state,
)
from plugrpc_core.lb.testing import FakeHelper, SimpleLeaf

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
SHUTDOWN = ConnectivityState.SHUTDOWN


def addr(port: int, **attributes: object) -> Address:
    return Address(host="10.0.0.1", port=port, attributes=attributes)


def resolved(*ports: int) -> ResolverState:
    return ResolverState(addresses=tuple(addr(p) for p in ports))


def _private_modules(name: str) -> set[str]:
    if name != "plugrpc_core.lb":
        return set()
    return {f"{name}.{m}" for m in ("_child", "_lazy", "_pickers", "_sharding", "_switch")}


@pytest.mark.parametrize("name", ["plugrpc_core.lb", "plugrpc_core.lb.testing"])
def test_public_names_are_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for attr in module.__all__:
        assert hasattr(module, attr)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and getattr(value, "__module__", "") in {name, *_private_modules(name)}
    }
    assert public <= set(module.__all__)


# -- aggregate_state ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], TF),
        ([TF, TF], TF),
        ([TF, IDLE], IDLE),
        ([IDLE, CONNECTING, TF], CONNECTING),
        ([TF, CONNECTING, READY, IDLE], READY),
        ([SHUTDOWN], TF),
        ([SHUTDOWN, IDLE], IDLE),
    ],
)
def test_aggregate_state_follows_a61(
    states: list[ConnectivityState], expected: ConnectivityState
) -> None:
    assert aggregate_state(states) is expected
    assert aggregate_state(iter(states)) is expected  # any iterable


# -- pickers ------------------------------------------------------------------------------


def test_queue_and_fail_pickers() -> None:
    helper = FakeHelper()
    helper.update_state(CONNECTING, QueuePicker())
    assert isinstance(helper.pick(), PickQueue)
    assert helper.pick() is helper.pick()
    helper.update_state(TF, FailPicker("backend down"))
    result = helper.pick()
    assert result == PickFail(code=StatusCode.UNAVAILABLE, message="backend down", drop=False)
    dropped = FailPicker("shed", code=StatusCode.RESOURCE_EXHAUSTED, drop=True)
    assert dropped.result.drop and dropped.result.code is StatusCode.RESOURCE_EXHAUSTED


def test_idle_picker_wakes_the_policy_once_from_a_timer() -> None:
    helper = FakeHelper()
    woken: list[int] = []
    helper.update_state(IDLE, IdlePicker(helper, lambda: woken.append(1)))
    assert isinstance(helper.pick(), PickQueue)
    assert isinstance(helper.pick(), PickQueue)
    assert woken == []  # never inside pick
    assert helper.advance() == 1
    assert woken == [1]
    helper.pick()
    helper.advance()
    assert woken == [1]


def test_add_on_done_runs_the_parent_callback_then_the_childs() -> None:
    helper = FakeHelper()
    sub = helper.create_subchannel(addr(1), lambda *a: None)
    calls: list[tuple[str, StatusCode]] = []
    plain = PickComplete(subchannel=sub)
    wrapped = add_on_done(plain, lambda code, md: calls.append(("parent", code)))
    assert wrapped.subchannel is sub and plain.on_done is None
    assert wrapped.on_done is not None
    wrapped.on_done(StatusCode.OK, Metadata())
    assert calls == [("parent", StatusCode.OK)]
    calls.clear()
    child = PickComplete(subchannel=sub, on_done=lambda code, md: calls.append(("child", code)))
    both = add_on_done(child, lambda code, md: calls.append(("parent", code)))
    assert both.on_done is not None
    both.on_done(StatusCode.UNAVAILABLE, Metadata())
    assert calls == [("parent", StatusCode.UNAVAILABLE), ("child", StatusCode.UNAVAILABLE)]


def test_add_on_done_runs_the_childs_callback_even_if_the_parents_raises() -> None:
    helper = FakeHelper()
    sub = helper.create_subchannel(addr(1), lambda *a: None)
    seen: list[str] = []

    def broken(code: StatusCode, md: Metadata) -> None:
        raise RuntimeError("parent bug")

    result = add_on_done(
        PickComplete(subchannel=sub, on_done=lambda c, m: seen.append("child")), broken
    )
    assert result.on_done is not None
    with pytest.raises(RuntimeError):
        result.on_done(StatusCode.OK, Metadata())
    assert seen == ["child"]


# -- endpoints ----------------------------------------------------------------------------


def test_endpoints_from_state_one_per_distinct_address() -> None:
    state = ResolverState(addresses=(addr(1, weight=3), addr(2), addr(1)))
    endpoints = endpoints_from_state(state)
    assert [e.addresses for e in endpoints] == [(addr(1),), (addr(2),)]
    assert endpoints[0].attributes == {"weight": 3}
    assert endpoints[0].key == frozenset({addr(1)})
    assert str(Endpoint(addresses=(addr(1), addr(2)))) == "10.0.0.1:1,10.0.0.1:2"
    assert endpoints_from_state(ResolverState(addresses=())) == ()


# -- ChildHelper --------------------------------------------------------------------------


def test_child_helper_keeps_what_the_child_publishes_and_tells_the_parent() -> None:
    parent = FakeHelper()
    updates: list[ConnectivityState] = []
    helper = ChildHelper(parent, lambda child: updates.append(child.state), label="ep1")
    assert helper.state is CONNECTING
    assert isinstance(helper.picker, QueuePicker)
    assert helper.parent is parent and helper.active
    picker = FailPicker("x")
    helper.update_state(TF, picker)
    assert (helper.state, helper.picker, updates) == (TF, picker, [TF])
    assert parent.states == []  # nothing reaches the parent's channel by itself
    assert "ep1" in repr(helper)


def test_child_helper_forwards_subchannels_timers_clock_and_reresolution() -> None:
    parent = FakeHelper()
    helper = ChildHelper(parent)
    events: list[ConnectivityState] = []
    sub = helper.create_subchannel(addr(1), lambda s, state, err: events.append(state))
    assert parent.subchannels == [sub]
    sub.ready()
    assert events == [CONNECTING, READY]
    fired: list[int] = []
    helper.call_later(2.0, lambda: fired.append(1))
    parent.advance(1.0)
    assert helper.now() == 1.0 and fired == []
    parent.advance(1.0)
    assert fired == [1]
    helper.request_reresolution()
    assert parent.reresolutions == 1


def test_closed_child_helper_mutes_the_child_and_shuts_its_subchannels() -> None:
    parent = FakeHelper()
    updates: list[object] = []
    helper = ChildHelper(parent, updates.append)
    events: list[ConnectivityState] = []
    live = helper.create_subchannel(addr(1), lambda s, st, e: events.append(st))
    gone = helper.create_subchannel(addr(2), lambda s, st, e: events.append(st))
    gone.shutdown()  # the child shut this one down itself
    fired: list[int] = []
    helper.call_later(0.0, lambda: fired.append(1))
    helper.close()
    helper.close()  # idempotent
    assert not helper.active
    assert live.state is SHUTDOWN
    helper.update_state(READY, QueuePicker())
    assert helper.state is CONNECTING and updates == []
    helper.request_reresolution()
    assert parent.reresolutions == 0
    parent.advance()
    assert fired == []
    with pytest.raises(RuntimeError, match="closed"):
        helper.create_subchannel(addr(3), lambda *a: None)


def test_child_helper_mutes_events_of_subchannels_after_close() -> None:
    parent = FakeHelper()
    helper = ChildHelper(parent)
    events: list[ConnectivityState] = []
    sub = helper.create_subchannel(addr(1), lambda s, st, e: events.append(st))
    sub.become(CONNECTING)
    helper.close()
    sub._state = CONNECTING  # a late report from a subchannel already shut down
    sub.become(READY)
    assert events == [CONNECTING]


def test_child_helper_forgets_subchannels_the_child_shut_down() -> None:
    parent = FakeHelper()
    helper = ChildHelper(parent)
    for port in range(200):
        helper.create_subchannel(addr(port), lambda *a: None).shutdown()
    assert len(helper._subchannels) <= 32


# -- LazyBalancer -------------------------------------------------------------------------


def test_lazy_balancer_is_idle_until_picked_then_replays_the_update() -> None:
    helper = FakeHelper()
    lazy = LazyBalancer(helper, SimpleLeaf)
    assert helper.states == [IDLE]
    lazy.update_state(resolved(1), None)
    lazy.resolver_error("late error")  # kept, replayed after the update
    assert helper.subchannels == [] and lazy.delegate is None
    assert isinstance(helper.pick(), PickQueue)
    helper.advance()
    assert isinstance(lazy.delegate, SimpleLeaf)
    assert helper.state is CONNECTING
    assert helper.subchannel(port=1).connects == 1
    helper.subchannel(port=1).ready()
    assert helper.picked().address.port == 1
    lazy.update_state(resolved(2), None)  # forwarded now
    assert helper.subchannel(port=2).connects == 1
    lazy.close()
    assert helper.live() == []


def test_lazy_balancer_new_update_clears_a_kept_error_and_close_before_use() -> None:
    helper = FakeHelper()
    lazy = LazyBalancer(helper, SimpleLeaf)
    lazy.resolver_error("dns down")
    lazy.update_state(resolved(1), None)
    lazy.exit_idle()
    assert helper.state is CONNECTING  # the error was superseded by the update
    other = LazyBalancer(FakeHelper(), SimpleLeaf)
    other.close()
    other.exit_idle()
    assert other.delegate is None
