"""Load balancing end to end: several local backends, real channels, measured distributions.

Every backend is a ``plugrpc.Server`` on 127.0.0.1:0 whose ``Unary`` answers with its own
name. The channel finds them through a test resolver (scheme ``plugrpc-e2e-lb``, registered
for the test) that the test can feed new addresses and service configs, or through the
``ipv4:`` scheme of plugrpc-resolver-static; the policy is chosen with
``default_service_config={"loadBalancingConfig": [...]}`` or a resolver-supplied config.

Figures are printed (run with ``-s`` to see them) and asserted with stated tolerances:

- round_robin: once every backend is READY, N calls split exactly N/3 each (tolerance 5 %
  of N/3, for a reconnect that could happen on a loaded machine).
- least_request_experimental: one backend answers in 100 ms, two at once; 6 concurrent
  callers. The slow backend's share of the calls must be under 20 % (round_robin gives it
  about a third of them in the same setup; measured and printed too).
- ring_hash_experimental: every key reaches one backend; a backend that stops hands only its
  own keys on (about a quarter with 4 backends, and no other key moves); a backend removed
  from the address list moves its keys plus some others because the ring is resized
  (grpc-go's sizing; the share is printed and must stay under 45 %, against 75 % for a
  hash-modulo-N scheme).
- a backend going away (graceful stop) and a policy switch by a new service config fail no
  call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import echo_pb2
import echo_plugrpc
import plugrpc
import pytest
from plugrpc_core import (
    Address,
    ConnectivityState,
    Resolver,
    ResolverState,
    StatusCode,
    parse_service_config,
    plugins,
)

pytest.importorskip("plugrpc_balancer_round_robin")
pytest.importorskip("plugrpc_balancer_least_request")
pytest.importorskip("plugrpc_balancer_ring_hash")

SCHEME = "plugrpc-e2e-lb"
READY = ConnectivityState.READY


class NamedBackend(echo_plugrpc.EchoBase):
    """Answers every call with its own name, after ``delay`` seconds."""

    def __init__(self, name: str, delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay
        self.calls = 0

    async def Unary(
        self, request: echo_pb2.EchoRequest, context: plugrpc.ServicerContext
    ) -> echo_pb2.EchoResponse:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return echo_pb2.EchoResponse(message=self.name)


@dataclass
class Backend:
    name: str
    service: NamedBackend
    server: plugrpc.Server
    port: int

    @property
    def address(self) -> Address:
        return Address(host="127.0.0.1", port=self.port)


@dataclass
class Fleet:
    backends: list[Backend] = field(default_factory=list)

    async def start(self, count: int, delays: tuple[float, ...] = ()) -> list[Backend]:
        for index in range(count):
            name = f"b{len(self.backends)}"
            service = NamedBackend(name, delays[index] if index < len(delays) else 0.0)
            server = plugrpc.Server([service])
            port = await server.start("127.0.0.1:0")
            self.backends.append(Backend(name, service, server, port))
        return self.backends[-count:]

    def addresses(self, backends: list[Backend] | None = None) -> tuple[Address, ...]:
        return tuple(b.address for b in (backends or self.backends))


@pytest.fixture
async def fleet() -> AsyncIterator[Fleet]:
    fleet = Fleet()
    try:
        yield fleet
    finally:
        await asyncio.gather(*(b.server.stop(None) for b in fleet.backends))


class LbTestResolver(Resolver):
    """Publishes what the test gives it; ``publish`` pushes updates to running resolvers."""

    scheme = SCHEME
    states: ClassVar[dict[str, ResolverState]] = {}
    running: ClassVar[list[LbTestResolver]] = []

    def start(self) -> None:
        LbTestResolver.running.append(self)
        state = LbTestResolver.states.get(self.target.endpoint)
        if state is not None:
            self.listener.update_state(state)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            LbTestResolver.running.remove(self)

    @classmethod
    def publish(cls, name: str, state: ResolverState) -> None:
        cls.states[name] = state
        for resolver in list(cls.running):
            if resolver.target.endpoint == name:
                resolver.listener.update_state(state)


@pytest.fixture(autouse=True)
def test_resolver() -> Iterator[type[LbTestResolver]]:
    LbTestResolver.states.clear()
    LbTestResolver.running.clear()
    with plugins.resolvers.override(LbTestResolver):
        yield LbTestResolver


def lb_config(policy: str, config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"loadBalancingConfig": [{policy: config or {}}]}


def channel_for(
    name: str, addresses: tuple[Address, ...], policy: str, config: dict[str, Any] | None = None
) -> plugrpc.Channel:
    LbTestResolver.publish(name, ResolverState(addresses=addresses))
    return plugrpc.Channel(f"{SCHEME}:///{name}", default_service_config=lb_config(policy, config))


async def who(
    stub: echo_plugrpc.EchoStub, *, key: str | None = None, wait_for_ready: bool = True
) -> str:
    metadata = [("x-key", key)] if key is not None else None
    reply = await stub.Unary(
        echo_pb2.EchoRequest(), metadata=metadata, wait_for_ready=wait_for_ready, timeout=10
    )
    return reply.message


async def warm_up(stub: echo_plugrpc.EchoStub, names: set[str], limit: int = 300) -> None:
    """Call until every backend in ``names`` has answered (all connections READY)."""
    seen: set[str] = set()
    for _ in range(limit):
        seen.add(await who(stub))
        if seen >= names:
            return
    raise AssertionError(f"only {sorted(seen)} answered out of {sorted(names)}")


async def run_workers(
    workers: int, seconds: float, call: Callable[[int], Awaitable[str]]
) -> tuple[Counter[str], list[BaseException]]:
    """``workers`` loops calling ``call`` for ``seconds``; the answers and the failures."""
    answers: Counter[str] = Counter()
    failures: list[BaseException] = []
    stop = time.monotonic() + seconds

    async def worker(index: int) -> None:
        while time.monotonic() < stop:
            try:
                answers[await call(index)] += 1
            except Exception as exc:  # every failure is a finding
                failures.append(exc)

    await asyncio.gather(*(worker(i) for i in range(workers)))
    return answers, failures


# -- round_robin --------------------------------------------------------------------------------


async def test_round_robin_spreads_evenly(fleet: Fleet) -> None:
    backends = await fleet.start(3)
    async with channel_for("rr", fleet.addresses(), "round_robin") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        await warm_up(stub, {b.name for b in backends})
        calls = 600
        counts = Counter([await who(stub) for _ in range(calls)])
    print(f"\nround_robin, {calls} calls over 3 backends: {dict(sorted(counts.items()))}")
    for backend in backends:
        assert abs(counts[backend.name] - calls / 3) <= 0.05 * calls / 3, counts


async def test_round_robin_over_an_ipv4_address_list(fleet: Fleet) -> None:
    pytest.importorskip("plugrpc_resolver_static")
    backends = await fleet.start(3)
    target = "ipv4:" + ",".join(f"127.0.0.1:{b.port}" for b in backends)
    config = lb_config("round_robin")
    async with plugrpc.Channel(target, default_service_config=config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        await warm_up(stub, {b.name for b in backends})
        counts = Counter([await who(stub) for _ in range(300)])
    assert counts == {b.name: 100 for b in backends}


# -- least_request ------------------------------------------------------------------------------


async def _slow_backend_share(fleet: Fleet, policy: str, name: str) -> tuple[float, Counter[str]]:
    backends = fleet.backends[-3:]
    async with channel_for(name, fleet.addresses(backends), policy) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        await warm_up(stub, {b.name for b in backends})
        counts, failures = await run_workers(6, 1.5, lambda _: who(stub))
    assert not failures, failures[:3]
    slow = backends[0].name
    return counts[slow] / sum(counts.values()), counts


async def test_least_request_prefers_the_idle_backends(fleet: Fleet) -> None:
    await fleet.start(3, delays=(0.1, 0.0, 0.0))
    for attempt in range(3):  # the measurement, not the assertion, is retried
        lr_share, lr_counts = await _slow_backend_share(fleet, "least_request_experimental", "lr")
        rr_share, rr_counts = await _slow_backend_share(fleet, "round_robin", "lr-rr")
        print(
            f"\nleast_request: slow backend share {lr_share:.1%} of {sum(lr_counts.values())} "
            f"calls {dict(sorted(lr_counts.items()))}; round_robin in the same setup "
            f"{rr_share:.1%} of {sum(rr_counts.values())}"
        )
        if lr_share < 0.2 and lr_share < rr_share - 0.1:
            break
    assert lr_share < 0.2
    assert lr_share < rr_share - 0.1


# -- ring_hash --------------------------------------------------------------------------------


async def _owners(stub: echo_plugrpc.EchoStub, keys: list[str]) -> dict[str, str]:
    return dict(zip(keys, await asyncio.gather(*(who(stub, key=k) for k in keys)), strict=True))


async def test_ring_hash_keeps_keys_on_one_backend_and_remaps_few(fleet: Fleet) -> None:
    backends = await fleet.start(4)
    keys = [f"user-{n}" for n in range(400)]
    config = {"requestHashHeader": "x-key"}
    async with channel_for("rh", fleet.addresses(), "ring_hash_experimental", config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        owners = await _owners(stub, keys)
        again = await _owners(stub, keys)
        assert again == owners  # one key, one backend
        shares = Counter(owners.values())
        assert set(shares) == {b.name for b in backends}

        # A backend stops: only its own keys move, to the next backends on the ring.
        gone = backends[0]
        await gone.server.stop(1.0)
        after_stop = await _owners(stub, keys)
        moved_by_stop = [k for k in keys if after_stop[k] != owners[k]]
        assert all(owners[k] == gone.name for k in moved_by_stop)
        assert gone.name not in after_stop.values()

        # It leaves the address list: the ring is rebuilt with 3 endpoints.
        LbTestResolver.publish("rh", ResolverState(addresses=fleet.addresses(backends[1:])))
        after_removal = await _owners(stub, keys)
        moved_by_removal = [k for k in keys if after_removal[k] != owners[k]]
    stop_share = len(moved_by_stop) / len(keys)
    removal_share = len(moved_by_removal) / len(keys)
    print(
        f"\nring_hash, 4 backends, {len(keys)} keys: {dict(sorted(shares.items()))}; one "
        f"backend stops: {stop_share:.1%} of keys move (its own share was "
        f"{shares[gone.name] / len(keys):.1%}); it leaves the list: {removal_share:.1%} move"
    )
    assert len(moved_by_stop) == shares[gone.name]
    assert removal_share < 0.45


async def test_ring_hash_without_a_hash_header_fails_like_grpc_go(fleet: Fleet) -> None:
    await fleet.start(1)
    async with channel_for("rh-none", fleet.addresses(), "ring_hash_experimental") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await who(stub, key="ann", wait_for_ready=False)
    assert info.value.code() is StatusCode.UNAVAILABLE
    assert "requestHashHeader" in info.value.details()


# -- a backend going away -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "config"),
    [
        ("pick_first", None),
        ("round_robin", None),
        ("least_request_experimental", None),
        ("ring_hash_experimental", {"requestHashHeader": "x-key"}),
    ],
)
async def test_a_backend_going_away_fails_no_wait_for_ready_call(
    fleet: Fleet, policy: str, config: dict[str, Any] | None
) -> None:
    backends = await fleet.start(3)
    name = f"away-{policy}"
    async with channel_for(name, fleet.addresses(), policy, config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        await who(stub, key="k0")

        async def call(index: int) -> str:
            return await who(stub, key=f"k{index}-{time.monotonic_ns() % 97}")

        workers = asyncio.create_task(run_workers(4, 1.5, call))
        await asyncio.sleep(0.4)
        # The busiest backend leaves: a graceful stop (GOAWAY, calls in flight finish).
        busiest = max(backends, key=lambda b: b.service.calls)
        await busiest.server.stop(1.0)
        stopped_at = busiest.service.calls
        before, failures = await workers
        late = Counter([await who(stub, key=f"after-{n}") for n in range(30)])
    assert not failures, failures[:3]
    assert busiest.name not in late
    assert busiest.service.calls == stopped_at
    print(f"\n{policy}: backend {busiest.name} left; {sum(before.values())} calls, none failed")


# -- switching policy --------------------------------------------------------------------------


async def test_a_policy_switch_by_service_config_is_graceful(fleet: Fleet) -> None:
    backends = await fleet.start(3)
    addresses = fleet.addresses()
    first = parse_service_config(lb_config("pick_first"))
    LbTestResolver.publish("switch", ResolverState(addresses=addresses, service_config=first))
    async with plugrpc.Channel(f"{SCHEME}:///switch") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        await who(stub)
        states: list[ConnectivityState] = []

        async def watch() -> None:
            state = channel.get_state()
            while True:
                state = await channel.wait_for_state_change(state)
                states.append(state)

        watcher = asyncio.create_task(watch())
        workers = asyncio.create_task(
            run_workers(4, 1.5, lambda _: who(stub, wait_for_ready=False))
        )
        for policy in ("round_robin", "least_request_experimental", "pick_first", "round_robin"):
            await asyncio.sleep(0.25)
            config = parse_service_config(lb_config(policy))
            LbTestResolver.publish(
                "switch", ResolverState(addresses=addresses, service_config=config)
            )
        counts, failures = await workers
        watcher.cancel()
        spread = Counter([await who(stub) for _ in range(30)])
    assert not failures, failures[:3]
    assert states == []  # the channel never left READY
    assert set(spread) == {b.name for b in backends}  # round_robin is in use at the end
    print(f"\npolicy switches under load: {sum(counts.values())} calls, none failed")


# -- service config in the call layer, idleness --------------------------------------------------


async def test_method_config_timeout_and_wait_for_ready_apply(fleet: Fleet) -> None:
    (backend,) = await fleet.start(1, delays=(0.5,))
    config = {
        "methodConfig": [
            {"name": [{"service": "plugrpc.testing.Echo", "method": "Unary"}], "timeout": "0.05s"}
        ]
    }
    LbTestResolver.publish("mc", ResolverState(addresses=(backend.address,)))
    async with plugrpc.Channel(f"{SCHEME}:///mc", default_service_config=config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(), wait_for_ready=True)
        assert info.value.code() is StatusCode.DEADLINE_EXCEEDED
    # waitForReady from the config: the call waits for a backend that is not there yet.
    config = {"methodConfig": [{"name": [{}], "waitForReady": True}]}
    LbTestResolver.publish("wfr", ResolverState(addresses=(Address(host="127.0.0.1", port=1),)))
    async with plugrpc.Channel(f"{SCHEME}:///wfr", default_service_config=config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        call = asyncio.ensure_future(stub.Unary(echo_pb2.EchoRequest(), timeout=5))
        await asyncio.sleep(0.3)
        assert not call.done()  # not failed fast although nothing listens
        (late,) = await fleet.start(1)
        LbTestResolver.publish("wfr", ResolverState(addresses=(late.address,)))
        assert (await call).message == late.name


async def test_an_idle_channel_closes_its_connections_and_comes_back(fleet: Fleet) -> None:
    (backend,) = await fleet.start(1)
    LbTestResolver.publish("idle", ResolverState(addresses=(backend.address,)))
    async with plugrpc.Channel(f"{SCHEME}:///idle", idle_timeout=0.2) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        assert await who(stub) == backend.name
        state = channel.get_state()
        deadline = time.monotonic() + 5
        while state is not ConnectivityState.IDLE and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                state = await asyncio.wait_for(channel.wait_for_state_change(state), 1)
        assert state is ConnectivityState.IDLE
        assert await who(stub) == backend.name
        assert channel.get_state() is READY


async def test_reset_connect_backoff_reconnects_every_endpoint_now(fleet: Fleet) -> None:
    reserved = [socket.socket() for _ in range(2)]
    for sock in reserved:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    ports = [sock.getsockname()[1] for sock in reserved]
    addresses = tuple(Address(host="127.0.0.1", port=p) for p in ports)
    LbTestResolver.publish("reset", ResolverState(addresses=addresses))
    slow = plugrpc.BackoffConfig(base_delay=30.0, max_delay=60.0, min_connect_timeout=5.0)
    config = lb_config("round_robin")
    channel = plugrpc.Channel(f"{SCHEME}:///reset", default_service_config=config, backoff=slow)
    async with channel:
        state = channel.get_state(try_to_connect=True)
        while state is not ConnectivityState.TRANSIENT_FAILURE:
            state = await asyncio.wait_for(channel.wait_for_state_change(state), 5)
        servers = []
        for sock, port in zip(reserved, ports, strict=True):
            sock.close()
            server = plugrpc.Server([NamedBackend(f"late-{port}")])
            await server.start(f"127.0.0.1:{port}")
            servers.append(server)
        try:
            channel.reset_connect_backoff()  # without it the next attempt is 30 s away
            stub = echo_plugrpc.EchoStub(channel)
            answers = {await who(stub) for _ in range(20)}
            assert answers == {f"late-{p}" for p in ports}
        finally:
            await asyncio.gather(*(s.stop(None) for s in servers))
