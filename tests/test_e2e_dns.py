"""Name resolution end to end: plugrpc.Channel over a real dnsmasq, and the ipv4:/ipv6: lists.

Backends are real servers on 127.0.0.1-3 (one port); dnsmasq on loopback serves their
addresses and the service config in TXT. The channel is used only through its public API
(``plugrpc.Channel("dns://127.0.0.1:<dns port>/svc.test:<port>")``); which backend answered
is what each backend's servicer counts. The resolver's intervals are shortened for the test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import os
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import echo_pb2
import echo_plugrpc
import plugrpc
import plugrpc_resolver_dns
import pytest
from plugrpc import StatusCode
from plugrpc_core import (
    Balancer,
    ConnectivityState,
    PickComplete,
    Picker,
    PickFail,
    PickQueue,
    plugins,
)

ROOT = Path(__file__).resolve().parents[1]
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
READY = ConnectivityState.READY


def load_runner() -> ModuleType:
    """The dnsmasq runner of plugrpc-resolver-dns's tests (one implementation, by path)."""
    name = "plugrpc_resolver_dns_dnsmasq_runner"
    if name not in sys.modules:
        path = ROOT / "packages" / "plugrpc-resolver-dns" / "tests" / "dnsmasq_runner.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# -- backends ---------------------------------------------------------------------------


class Backend(echo_plugrpc.EchoBase):
    """Answers with its own name; counts the calls it served."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    async def Unary(
        self, request: echo_pb2.EchoRequest, context: plugrpc.ServicerContext
    ) -> echo_pb2.EchoResponse:
        self.calls += 1
        if request.sleep_ms:
            await asyncio.sleep(request.sleep_ms / 1000)
        return echo_pb2.EchoResponse(message=self.name)


class Backends:
    """One server per loopback address, all on one port."""

    def __init__(self) -> None:
        self.port = 0
        self.servers: dict[str, plugrpc.Server] = {}
        self.services: dict[str, Backend] = {}

    async def start(self, hosts: tuple[str, ...] = HOSTS) -> None:
        for host in hosts:
            service = Backend(host)
            server = plugrpc.Server([service])
            port = await server.start(f"{host}:{self.port}")
            self.port = self.port or port
            self.servers[host], self.services[host] = server, service

    async def stop(self, host: str) -> None:
        await self.servers.pop(host).stop(grace=0)

    async def close(self) -> None:
        for host in list(self.servers):
            await self.stop(host)

    def counts(self) -> Counter[str]:
        return Counter({h: s.calls for h, s in self.services.items() if s.calls})


@pytest.fixture
async def backends() -> Any:
    group = Backends()
    try:
        await group.start()
        yield group
    finally:
        await group.close()


@pytest.fixture
def dnsmasq(tmp_path: Path) -> Any:
    runner = load_runner()
    if runner.find_dnsmasq() is None:
        message = "dnsmasq is not installed (apt-get install dnsmasq-base)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    server = runner.Dnsmasq(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def quick_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    cls = plugrpc_resolver_dns.DnsResolver
    monkeypatch.setattr(cls, "min_resolution_interval", 0.2)
    monkeypatch.setattr(cls, "retry_delay", 0.05)
    monkeypatch.setattr(cls, "lookup_timeout", 3.0)


# -- a policy for the service config to choose ---------------------------------------------


class _TurnPicker(Picker):
    def __init__(self, subchannels: list[Any]) -> None:
        self._results = [PickComplete(subchannel=s) for s in subchannels]
        self._turn = itertools.count()

    def pick(self, info: Any) -> Any:
        return self._results[next(self._turn) % len(self._results)]


class _Fixed(Picker):
    def __init__(self, result: Any) -> None:
        self._result = result

    def pick(self, info: Any) -> Any:
        return self._result


class SpreadPolicy(Balancer):
    """A test policy: connect to every address and take the READY ones in turn."""

    name = "e2e_dns_spread"

    def __init__(self, helper: Any) -> None:
        super().__init__(helper)
        self._subchannels: dict[Any, Any] = {}
        self._states: dict[Any, ConnectivityState] = {}

    def update_state(self, state: Any, config: Any) -> None:
        wanted = dict.fromkeys(state.addresses)
        for address in [a for a in self._subchannels if a not in wanted]:
            subchannel = self._subchannels.pop(address)
            self._states.pop(subchannel, None)
            subchannel.shutdown()
        for address in wanted:
            if address not in self._subchannels:
                subchannel = self.helper.create_subchannel(address, self._on_state)
                self._subchannels[address] = subchannel
                self._states[subchannel] = ConnectivityState.IDLE
                subchannel.connect()
        self._publish()

    def _on_state(self, subchannel: Any, state: ConnectivityState, error: str | None) -> None:
        if self._subchannels.get(subchannel.address) is not subchannel:
            return
        self._states[subchannel] = state
        if state is ConnectivityState.IDLE:
            self.helper.request_reresolution()  # a connection went away
            subchannel.connect()
        self._publish()

    def _publish(self) -> None:
        ready = [s for s, state in self._states.items() if state is READY]
        if ready:
            self.helper.update_state(READY, _TurnPicker(ready))
        elif not self._subchannels:
            failure = PickFail(message="no addresses")
            self.helper.update_state(ConnectivityState.TRANSIENT_FAILURE, _Fixed(failure))
        else:
            self.helper.update_state(ConnectivityState.CONNECTING, _Fixed(PickQueue()))

    def resolver_error(self, error: str) -> None:
        if not self._subchannels:
            failure = PickFail(message=error)
            self.helper.update_state(ConnectivityState.TRANSIENT_FAILURE, _Fixed(failure))

    def close(self) -> None:
        for subchannel in self._subchannels.values():
            subchannel.shutdown()
        self._subchannels.clear()


@pytest.fixture
def spread_policy() -> Any:
    with plugins.balancers.override(SpreadPolicy, distribution="tests"):
        yield


def grpc_config(service_config: dict[str, Any], pieces: int = 1) -> list[str]:
    """A TXT record's strings for ``service_config``, cut into ``pieces`` strings."""
    text = "grpc_config=" + json.dumps(
        [{"clientLanguage": ["python"], "serviceConfig": service_config}]
    )
    size = -(-len(text) // pieces)
    return [text[i : i + size] for i in range(0, len(text), size)]


async def who(stub: Any, **kwargs: Any) -> str:
    kwargs.setdefault("timeout", 5)
    return (await stub.Unary(echo_pb2.EchoRequest(), **kwargs)).message


# -- dns -----------------------------------------------------------------------------------


async def test_the_plugin_serves_the_dns_scheme() -> None:
    (entry,) = [e for e in plugins.resolvers.entries() if e.key == "dns"]
    assert entry.cls is plugrpc_resolver_dns.DnsResolver
    assert entry.distribution == "plugrpc-resolver-dns"


async def test_a_records_resolve_for_the_channel(dnsmasq, backends) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    target = f"dns://127.0.0.1:{dnsmasq.port}/svc.test:{backends.port}"
    async with plugrpc.Channel(target) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        assert {await who(stub) for _ in range(5)} == {"127.0.0.2"}
    assert backends.counts() == Counter({"127.0.0.2": 5})


async def test_changed_records_move_calls_after_re_resolution(dnsmasq, backends) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    target = f"dns://127.0.0.1:{dnsmasq.port}/svc.test:{backends.port}"
    async with plugrpc.Channel(target) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        assert await who(stub) == "127.0.0.2"
        dnsmasq.set_hosts({"svc.test": ["127.0.0.3"]})
        # grpc-go does not poll: while its connection works the channel stays where it is.
        await asyncio.sleep(0.6)
        assert await who(stub) == "127.0.0.2"
        # The backend goes away; the lost connection makes the channel re-resolve, and
        # wait-for-ready calls go to the new address without failing.
        await backends.stop("127.0.0.2")
        if channel.get_state() is READY:  # let the channel see the connection go
            await asyncio.wait_for(channel.wait_for_state_change(READY), 5)
        answers = await asyncio.gather(*(who(stub, wait_for_ready=True) for _ in range(5)))
        assert set(answers) == {"127.0.0.3"}
        assert await who(stub) == "127.0.0.3"


async def test_txt_service_config_selects_the_policy_and_method_config(
    dnsmasq, backends, spread_policy
) -> None:
    dnsmasq.set_hosts({"svc.test": list(HOSTS)})
    spread = {
        "loadBalancingConfig": [{"not_installed_policy": {}}, {"e2e_dns_spread": {}}],
        "methodConfig": [{"name": [{"service": "plugrpc.testing.Echo"}], "timeout": "0.3s"}],
    }
    record = grpc_config(spread, pieces=3)  # split strings of one TXT record
    assert len(record) == 3
    dnsmasq.set_txt({"_grpc_config.svc.test": record})
    target = f"dns://127.0.0.1:{dnsmasq.port}/svc.test:{backends.port}"
    async with plugrpc.Channel(target) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        await channel.channel_ready()
        # Let every subchannel connect, then the policy spreads calls over all three.
        for _ in range(50):
            if len({await who(stub) for _ in range(6)}) == 3:
                break
            await asyncio.sleep(0.05)
        before = backends.counts()
        for _ in range(30):
            await who(stub)
        served = backends.counts() - before
        assert set(served) == set(HOSTS) and all(n >= 5 for n in served.values()), served

        # The method config's timeout applies to a call that sets none.
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(sleep_ms=3000))
        assert info.value.code() is StatusCode.DEADLINE_EXCEEDED
        assert loop.time() - started < 2.5

        # New records: pick_first and no timeout. A lost connection makes the channel look
        # again; from then on every call goes to one backend and may take its time.
        dnsmasq.set_txt(
            {"_grpc_config.svc.test": grpc_config({"loadBalancingPolicy": "pick_first"})}
        )
        await backends.stop("127.0.0.3")
        for _ in range(100):
            before = backends.counts()
            # A call may still be picked for the closing connection in this instant: the
            # measurement is what matters here, not each call.
            await asyncio.gather(
                *(who(stub, wait_for_ready=True) for _ in range(6)), return_exceptions=True
            )
            if len(backends.counts() - before) == 1:
                break
            await asyncio.sleep(0.05)
        before = backends.counts()
        for _ in range(10):
            await who(stub)
        assert len(backends.counts() - before) == 1
        slow = await stub.Unary(echo_pb2.EchoRequest(sleep_ms=600))
        assert slow.message in HOSTS


async def test_an_invalid_txt_config_fails_calls_until_fixed(dnsmasq, backends) -> None:
    dnsmasq.set_hosts({"svc.test": ["127.0.0.2"]})
    dnsmasq.set_txt({"_grpc_config.svc.test": ['grpc_config=[{"serviceConfig": 5}]']})
    target = f"dns://127.0.0.1:{dnsmasq.port}/svc.test:{backends.port}"
    async with plugrpc.Channel(target) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await who(stub)
        assert info.value.code() is StatusCode.UNAVAILABLE
        assert "serviceConfig must be a JSON object" in (info.value.details() or "")
        # The resolver keeps looking while the record is invalid (grpc-go polls after its
        # channel rejects a state): a fixed record is found without any call failing first.
        dnsmasq.set_txt({"_grpc_config.svc.test": grpc_config({"methodConfig": []})})
        assert await who(stub, wait_for_ready=True) == "127.0.0.2"
    # The same record is ignored when the channel disables service configs.
    async with plugrpc.Channel(target, disable_service_config=True) as channel:
        assert await who(echo_plugrpc.EchoStub(channel)) == "127.0.0.2"


async def test_localhost_and_literals_need_no_dns(backends) -> None:
    for target in (f"localhost:{backends.port}", f"dns:///127.0.0.1:{backends.port}"):
        async with plugrpc.Channel(target) as channel:
            assert await who(echo_plugrpc.EchoStub(channel), wait_for_ready=True) == "127.0.0.1"


# -- ipv4: and ipv6: -------------------------------------------------------------------------


async def test_ipv4_address_list(backends, spread_policy) -> None:
    port = backends.port
    config = {"loadBalancingConfig": [{"e2e_dns_spread": {}}]}
    target = f"ipv4:127.0.0.1:{port},127.0.0.2:{port},127.0.0.3:{port}"
    async with plugrpc.Channel(target, default_service_config=config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        seen: set[str] = set()
        for _ in range(100):
            seen.add(await who(stub, wait_for_ready=True))
            if seen == set(HOSTS):
                break
            await asyncio.sleep(0.02)
        assert seen == set(HOSTS)


async def test_ipv6_address_list() -> None:
    service = Backend("v6")
    server = plugrpc.Server([service])
    try:
        port = await server.start("[::1]:0")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    try:
        async with plugrpc.Channel(f"ipv6:[::1]:{port}") as channel:
            assert await who(echo_plugrpc.EchoStub(channel)) == "v6"
    finally:
        await server.stop(grace=0)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("ipv4:localhost:50051", "not an IPv4 address"),
        ("ipv4:10.0.0.1:0", "not in 1-65535"),
        ("ipv6:10.0.0.1", "ipv4: target"),
        ("dns://resolver.example/svc.test", "must be an IP address"),
        ("dns:///bad..name:1", "not a valid host name"),
    ],
)
def test_malformed_targets_fail_when_the_channel_is_built(target: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plugrpc.Channel(target)
