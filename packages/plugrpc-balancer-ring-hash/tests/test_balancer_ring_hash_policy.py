"""ring_hash_experimental's decisions, sans-I/O: lazy children, the walk, A42 aggregation."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from plugrpc_balancer_ring_hash import RingHash, RingHashConfig, aggregate_ring_state
from plugrpc_core import (
    Address,
    ConnectivityState,
    PickComplete,
    PickFail,
    PickQueue,
    ResolverState,
    StatusCode,
)
from plugrpc_core.lb.testing import FakeHelper, SimpleLeaf

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
SHUTDOWN = ConnectivityState.SHUTDOWN
HEADER = "x-user"
CONFIG = RingHashConfig(request_hash_header=HEADER)


def resolved(*ports: int, **attrs: dict[str, object]) -> ResolverState:
    return ResolverState(
        addresses=tuple(
            Address(host="10.0.0.1", port=p, attributes=attrs.get(f"p{p}", {})) for p in ports
        )
    )


@pytest.fixture
def helper() -> FakeHelper:
    return FakeHelper()


@pytest.fixture
def policy(helper: FakeHelper) -> RingHash:
    return RingHash(helper, child_policy=SimpleLeaf, rng=random.Random(3))


def pick_for(helper: FakeHelper, user: str) -> object:
    return helper.pick(metadata=[(HEADER, user)])


def connect_all(helper: FakeHelper, policy: RingHash, users: int = 200) -> None:
    """Send calls for many users until every endpoint is READY."""
    for n in range(users):
        pick_for(helper, f"user-{n}")
        helper.advance()
        for sub in helper.live():
            if sub.state is IDLE and sub.connects:
                sub.ready()


# -- aggregation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([READY, TF, TF], READY),
        ([TF, TF, CONNECTING], TF),
        ([CONNECTING, IDLE], CONNECTING),
        ([TF, IDLE], CONNECTING),  # one of several failing
        ([TF], TF),
        ([IDLE, IDLE], IDLE),
        ([], TF),
    ],
)
def test_aggregation_follows_a42(states: list[ConnectivityState], expected: object) -> None:
    assert aggregate_ring_state(states) is expected


# -- laziness and hashing ---------------------------------------------------------------------


def test_endpoints_stay_unconnected_until_a_call_hashes_to_them(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2, 3), CONFIG)
    assert helper.subchannels == []
    assert helper.state is IDLE
    assert helper.states == [IDLE]  # one publication for the whole update
    assert isinstance(pick_for(helper, "ann"), PickQueue)
    helper.advance()
    (sub,) = helper.subchannels
    assert sub.connects == 1
    assert helper.state is CONNECTING
    sub.ready()
    assert helper.state is READY
    result = pick_for(helper, "ann")
    assert isinstance(result, PickComplete) and result.subchannel is sub


def test_one_key_always_reaches_one_endpoint_and_keys_spread(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2, 3), CONFIG)
    connect_all(helper, policy)
    assert len(helper.live()) == 3 and helper.state is READY
    owners: dict[str, int] = {}
    for n in range(600):
        user = f"user-{n}"
        ports = {helper.picked(metadata=[(HEADER, user)]).address.port for _ in range(3)}
        assert len(ports) == 1
        owners[user] = ports.pop()
    shares = Counter(owners.values())
    assert all(120 <= shares[p] <= 280 for p in (1, 2, 3)), shares


def test_multiple_header_values_are_joined_with_commas(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2, 3, 4), CONFIG)
    connect_all(helper, policy)
    for n in range(50):
        joined = helper.picked(metadata=[(HEADER, f"a{n},b{n}")])
        split = helper.picked(metadata=[(HEADER, f"a{n}"), (HEADER, f"b{n}")])
        assert joined is split


def test_without_a_configured_header_picks_fail_as_in_grpc_go(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2), RingHashConfig())
    result = pick_for(helper, "ann")
    assert isinstance(result, PickFail)
    assert result.code is StatusCode.UNAVAILABLE and not result.drop
    assert "requestHashHeader" in result.message
    assert helper.subchannels == []


def test_a_call_without_the_header_uses_a_random_ready_endpoint(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2, 3), CONFIG)
    assert isinstance(helper.pick(), PickQueue)  # nothing READY: wake one endpoint
    helper.advance()
    assert len(helper.subchannels) == 1
    assert isinstance(helper.pick(), PickQueue)  # one is connecting: wake no other
    helper.advance()
    assert len(helper.subchannels) == 1
    helper.subchannels[0].ready()
    assert {helper.picked().address.port for _ in range(20)} == {helper.subchannels[0].address.port}


# -- failures -----------------------------------------------------------------------------------


def test_a_failing_endpoint_sends_its_keys_to_the_next_one(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2, 3), CONFIG)
    connect_all(helper, policy)
    owners = {f"u{n}": helper.picked(metadata=[(HEADER, f"u{n}")]).address.port for n in range(300)}
    helper.subchannel(port=2).fail("refused")
    assert helper.state is READY
    for user, port in owners.items():
        now = helper.picked(metadata=[(HEADER, user)]).address.port
        if port == 2:
            assert now in (1, 3)
        else:
            assert now == port  # keys of healthy endpoints do not move


def test_all_failing_reports_the_hashed_endpoints_error(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2), CONFIG)
    connect_all(helper, policy)
    helper.subchannel(port=1).fail("refused 1")
    helper.subchannel(port=2).fail("refused 2")
    assert helper.state is TF
    result = pick_for(helper, "ann")
    assert isinstance(result, PickFail) and result.message in ("refused 1", "refused 2")


def test_one_failing_endpoint_is_connecting_and_another_is_woken(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2, 3), CONFIG)
    pick_for(helper, "ann")
    helper.advance()
    (first,) = helper.subchannels
    first.fail("refused")
    assert helper.state is CONNECTING  # one of several failing (A42)
    helper.advance()
    assert len(helper.subchannels) == 2  # A61: another endpoint starts connecting
    helper.subchannels[1].fail("refused too")
    assert helper.state is TF
    helper.advance()
    assert len(helper.subchannels) == 3  # and so on while none is connecting


# -- ring maintenance ---------------------------------------------------------------------------


def test_the_ring_is_rebuilt_only_when_endpoints_change(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2), CONFIG)
    ring = policy.ring
    connect_all(helper, policy)
    assert policy.ring is ring  # state changes reuse it
    policy.update_state(resolved(1, 2), CONFIG)
    assert policy.ring is ring
    policy.update_state(resolved(1, 2, 3), CONFIG)
    assert policy.ring is not ring
    ring = policy.ring
    policy.update_state(
        resolved(1, 2, 3), RingHashConfig(request_hash_header=HEADER, min_ring_size=64)
    )
    assert policy.ring is not ring


def test_weights_and_hash_keys_come_from_address_attributes(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.update_state(resolved(1, 2, p1={"weight": 3}, p2={"hash_key": "backend-b"}), CONFIG)
    ring = policy.ring
    assert ring is not None
    assert set(ring.keys) == {"10.0.0.1:1", "backend-b"}
    assert 2.5 < ring.keys.count("10.0.0.1:1") / ring.keys.count("backend-b") < 3.5


def test_zero_addresses_resolver_error_exit_idle_and_close(
    helper: FakeHelper, policy: RingHash
) -> None:
    policy.resolver_error("no such host")
    result = helper.pick()
    assert isinstance(result, PickFail) and "no such host" in result.message
    policy.update_state(resolved(), CONFIG)
    assert helper.state is TF and helper.reresolutions == 1
    policy.update_state(resolved(1), {"requestHashHeader": HEADER})
    policy.exit_idle()  # connections start from picks only
    helper.advance()
    assert helper.subchannels == []
    pick_for(helper, "ann")
    helper.advance()
    policy.close()
    assert helper.live() == []
