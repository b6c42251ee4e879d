"""least_request_experimental, sans-I/O: config rules (A48), sampling, call counting."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from plugrpc_balancer_least_request import LeastRequest, LeastRequestConfig
from plugrpc_core import (
    Address,
    Balancer,
    ConnectivityState,
    Metadata,
    PickComplete,
    Picker,
    PickFail,
    PickInfo,
    PickQueue,
    PickResult,
    ResolverState,
    ServiceConfigError,
    StatusCode,
    Subchannel,
    parse_service_config,
    plugins,
)
from plugrpc_core.lb.testing import FakeHelper, SimpleLeaf

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE


def resolved(*ports: int) -> ResolverState:
    return ResolverState(addresses=tuple(Address(host="10.0.0.1", port=p) for p in ports))


@pytest.fixture
def helper() -> FakeHelper:
    return FakeHelper()


@pytest.fixture
def policy(helper: FakeHelper) -> LeastRequest:
    return LeastRequest(helper, child_policy=SimpleLeaf, rng=random.Random(11))


def all_ready(helper: FakeHelper) -> None:
    for sub in helper.live():
        sub.ready()


def start(helper: FakeHelper) -> PickComplete:
    result = helper.pick()
    assert isinstance(result, PickComplete)
    return result


def finish(result: PickComplete, code: StatusCode = StatusCode.OK) -> None:
    assert result.on_done is not None
    result.on_done(code, Metadata())


# -- config ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, 2),
        ({"choiceCount": 2}, 2),
        ({"choiceCount": 3}, 3),
        ({"choiceCount": 10}, 10),
        ({"choiceCount": 11}, 10),
        ({"choiceCount": 1000}, 10),
        ({"choiceCount": 2, "other": "ignored"}, 2),
    ],
)
def test_parse_config_follows_a48(config: dict[str, object], expected: int) -> None:
    assert LeastRequest.parse_config(config) == LeastRequestConfig(choice_count=expected)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"choiceCount": 1}, "at least 2"),
        ({"choiceCount": 0}, "at least 2"),
        ({"choiceCount": -3}, "at least 2"),
        ({"choiceCount": 4.0}, "integer"),
        ({"choiceCount": "2"}, "integer"),
        ({"choiceCount": 2.5}, "integer"),
        ({"choiceCount": True}, "integer"),
        ([], "JSON object"),
    ],
)
def test_parse_config_rejects(config: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LeastRequest.parse_config(config)  # type: ignore[arg-type]


def test_selected_by_service_config_and_bad_configs_reject_it() -> None:
    assert plugins.balancers.get("least_request_experimental") is LeastRequest
    config = parse_service_config(
        {"loadBalancingConfig": [{"least_request_experimental": {"choiceCount": 12}}]}
    )
    assert config.load_balancing_config == LeastRequestConfig(choice_count=10)
    with pytest.raises(ServiceConfigError, match="choiceCount"):
        parse_service_config(
            {"loadBalancingConfig": [{"least_request_experimental": {"choiceCount": 1}}]}
        )


# -- picking --------------------------------------------------------------------------------


def test_prefers_endpoints_with_fewer_calls_in_flight(
    helper: FakeHelper, policy: LeastRequest
) -> None:
    policy.update_state(resolved(1, 2, 3), LeastRequestConfig(choice_count=10))
    all_ready(helper)
    busy = [start(helper) for _ in range(3)]  # one call on each endpoint
    assert sorted(p.subchannel.address.port for p in busy) == [1, 2, 3]
    port_of_two = busy[1].subchannel.address.port
    for result in busy:
        if result.subchannel.address.port != port_of_two:
            continue
        finish(result)
    # With 10 samples over 3 endpoints, the idle endpoint is (almost) always among them.
    picks = Counter(start(helper).subchannel.address.port for _ in range(1))
    assert picks == {port_of_two: 1}


def test_counts_go_up_on_pick_and_down_when_calls_end(
    helper: FakeHelper, policy: LeastRequest
) -> None:
    policy.update_state(resolved(1, 2), None)
    all_ready(helper)
    calls = [start(helper) for _ in range(10)]
    assert sum(policy.outstanding.values()) == 10
    assert max(policy.outstanding.values()) - min(policy.outstanding.values()) <= 2
    for result in calls[:4]:
        finish(result, StatusCode.UNAVAILABLE)  # any status ends the call
    assert sum(policy.outstanding.values()) == 6
    for result in calls[4:]:
        finish(result)
    assert set(policy.outstanding.values()) == {0}


def test_a_busy_endpoint_gets_few_calls(helper: FakeHelper) -> None:
    """Power of two choices: endpoint 1 holds 20 calls; new calls go elsewhere.

    Sampling is with replacement (A48, grpc-go), so a pick whose two samples are both the busy
    endpoint still goes there: 1/9 of the picks with 3 endpoints.
    """
    policy = LeastRequest(helper, child_policy=SimpleLeaf, rng=random.Random(5))
    policy.update_state(resolved(1, 2, 3), None)
    all_ready(helper)
    held = []
    while len([r for r in held if r.subchannel.address.port == 1]) < 20:
        result = start(helper)
        if result.subchannel.address.port == 1:
            held.append(result)
        else:
            finish(result)
    spread: Counter[int] = Counter()
    for _ in range(300):
        result = start(helper)
        spread[result.subchannel.address.port] += 1
        finish(result)
    assert 10 <= spread[1] <= 60  # about 300 / 9
    assert spread[2] > 100 and spread[3] > 100


def test_idle_endpoints_share_evenly_when_nothing_is_outstanding(
    helper: FakeHelper, policy: LeastRequest
) -> None:
    policy.update_state(resolved(1, 2, 3, 4), None)
    all_ready(helper)
    spread: Counter[int] = Counter()
    for _ in range(4000):
        result = start(helper)
        spread[result.subchannel.address.port] += 1
        finish(result)
    assert all(850 <= n <= 1150 for n in spread.values()), spread


def test_the_childs_own_call_end_callback_still_runs(helper: FakeHelper) -> None:
    ends: list[StatusCode] = []

    class Fixed(Picker):
        def __init__(self, result: PickComplete) -> None:
            self.result = result

        def pick(self, info: PickInfo) -> PickResult:
            return self.result

    class ReportingLeaf(Balancer):
        name = "reporting_leaf"

        def update_state(self, state: ResolverState, config: object) -> None:
            self.sub = self.helper.create_subchannel(state.addresses[0], self.on_state)
            self.sub.connect()

        def on_state(self, sub: Subchannel, state: ConnectivityState, error: str | None) -> None:
            if state is READY:
                done = PickComplete(subchannel=sub, on_done=lambda c, m: ends.append(c))
                self.helper.update_state(READY, Fixed(done))

        def resolver_error(self, error: str) -> None:
            pass

        def close(self) -> None:
            self.sub.shutdown()

    policy = LeastRequest(helper, child_policy=ReportingLeaf)
    policy.update_state(resolved(1), None)
    helper.subchannel(port=1).ready()
    result = start(helper)
    assert policy.outstanding == {"10.0.0.1:1": 1}
    finish(result, StatusCode.INTERNAL)
    assert ends == [StatusCode.INTERNAL]
    assert policy.outstanding == {"10.0.0.1:1": 0}


def test_without_ready_endpoints_it_behaves_like_round_robin(
    helper: FakeHelper, policy: LeastRequest
) -> None:
    policy.update_state(resolved(1, 2), None)
    assert helper.state is CONNECTING
    assert isinstance(helper.pick(), PickQueue)
    helper.subchannel(port=1).fail("refused 1")
    helper.subchannel(port=2).fail("refused 2")
    assert helper.state is TF
    result = helper.pick()
    assert isinstance(result, PickFail) and result.message.startswith("refused")


def test_counters_of_endpoints_that_leave_ready_are_dropped(
    helper: FakeHelper, policy: LeastRequest
) -> None:
    policy.update_state(resolved(1, 2), None)
    all_ready(helper)
    held = [start(helper) for _ in range(6)]
    helper.subchannel(port=1).become(IDLE)
    assert list(policy.outstanding) == ["10.0.0.1:2"]
    for result in held:
        finish(result)  # late ends of calls on the dropped counter are harmless
    helper.advance()
    helper.subchannel(port=1).ready()
    assert policy.outstanding["10.0.0.1:1"] == 0


def test_resolver_errors_exit_idle_and_close(helper: FakeHelper, policy: LeastRequest) -> None:
    policy.resolver_error("no such host")
    result = helper.pick()
    assert isinstance(result, PickFail) and "no such host" in result.message
    policy.update_state(resolved(1), {"choiceCount": 3})
    helper.subchannel(port=1).ready()
    helper.subchannel(port=1).become(IDLE)
    helper.advance()
    assert helper.subchannel(port=1).connects == 2
    policy.exit_idle()
    policy.close()
    assert helper.live() == []
