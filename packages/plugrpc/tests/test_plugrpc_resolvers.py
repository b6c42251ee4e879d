"""The built-in resolvers, the dns one against the system's real getaddrinfo."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field

import pytest
from plugrpc._backoff import BackoffConfig
from plugrpc._resolvers import (
    DnsResolver,
    PassthroughResolver,
    UnixAbstractResolver,
    UnixResolver,
)
from plugrpc._target import parse_target
from plugrpc_core import Address, Resolver, ResolverOptions, ResolverState, Target

SCHEMES = frozenset({"dns", "passthrough", "unix", "unix-abstract"})


def target(raw: str) -> Target:
    return parse_target(raw, schemes=SCHEMES)


@dataclass
class RecordingListener:
    """A ResolverListener that keeps what it hears and lets tests wait for it."""

    states: list[ResolverState] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    event: asyncio.Event = field(default_factory=asyncio.Event)

    def update_state(self, state: ResolverState) -> None:
        self.states.append(state)
        self.times.append(asyncio.get_running_loop().time())
        self.event.set()

    def report_error(self, error: str) -> None:
        self.errors.append(error)
        self.times.append(asyncio.get_running_loop().time())
        self.event.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.event.wait(), 5)
        self.event.clear()


def build(cls: type[Resolver], raw: str, listener: RecordingListener) -> Resolver:
    parsed = target(raw)
    cls.validate_target(parsed)
    return cls(parsed, listener, ResolverOptions())


# -- passthrough ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("passthrough:///10.0.0.1:80", Address(host="10.0.0.1", port=80)),
        ("passthrough:///example.com", Address(host="example.com", port=443)),
        ("passthrough:///[::1]:5", Address(host="::1", port=5)),
    ],
)
async def test_passthrough(raw: str, address: Address) -> None:
    listener = RecordingListener()
    resolver = build(PassthroughResolver, raw, listener)
    resolver.start()
    assert listener.states == [ResolverState(addresses=(address,))]
    resolver.resolve_now()
    resolver.close()
    assert len(listener.states) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [("passthrough:///", "needs an address"), ("passthrough:///host:x", "not a number")],
)
def test_passthrough_rejects_bad_targets(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PassthroughResolver.validate_target(target(raw))


def test_passthrough_authority() -> None:
    assert PassthroughResolver.default_authority(target("passthrough:///h:1")) == "h:1"


# -- unix -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "raw", "path"),
    [
        (UnixResolver, "unix:relative/sock", "relative/sock"),
        (UnixResolver, "unix:///abs/sock", "/abs/sock"),
        (UnixResolver, "unix:/abs/sock", "/abs/sock"),
        (UnixAbstractResolver, "unix-abstract:name", "\0name"),
    ],
)
async def test_unix(cls: type[Resolver], raw: str, path: str) -> None:
    listener = RecordingListener()
    resolver = build(cls, raw, listener)
    resolver.start()
    assert listener.states == [ResolverState(addresses=(Address(path=path),))]
    assert cls.default_authority(target(raw)) == "localhost"
    resolver.close()


@pytest.mark.parametrize(
    ("cls", "raw", "message"),
    [
        (UnixResolver, "unix://host/sock", "take no authority"),
        (UnixResolver, "unix:", "socket path is empty"),
        (UnixAbstractResolver, "unix-abstract://x/y", "take no authority"),
        (UnixResolver, "unix:///a%00b", "NUL"),
    ],
)
def test_unix_rejects_bad_targets(cls: type[Resolver], raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cls.validate_target(target(raw))


def test_unix_abstract_address_prints_its_scheme() -> None:
    assert str(Address(path="\0name")) == "unix-abstract:name"


# -- dns: validation --------------------------------------------------------------------


def test_dns_authority_needs_the_dns_plugin() -> None:
    with pytest.raises(ValueError, match="pip install plugrpc-resolver-dns") as info:
        DnsResolver.validate_target(target("dns://8.8.8.8/example.com:443"))
    assert "dns:///example.com:443" in str(info.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("dns:///", "missing address"),
        ("dns:///host:", "missing port"),
        ("dns:///host:99999", "not in 1-65535"),
        ("dns:///1:2:3:x", "too many colons"),
        ("localhost:http", "not a number"),
    ],
)
def test_dns_rejects_bad_targets(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        DnsResolver.validate_target(target(raw))
    assert raw in str(info.value)


@pytest.mark.parametrize(
    ("raw", "authority"),
    [("dns:///example.com:50051", "example.com:50051"), ("dns:///:50051", "localhost:50051")],
)
def test_dns_default_authority(raw: str, authority: str) -> None:
    assert DnsResolver.default_authority(target(raw)) == authority


# -- dns: resolution --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("dns:///127.0.0.1:50051", Address(host="127.0.0.1", port=50051)),
        ("127.0.0.1", Address(host="127.0.0.1", port=443)),
        ("[::1]:50051", Address(host="::1", port=50051)),
        ("dns:///::1", Address(host="::1", port=443)),
    ],
)
async def test_dns_ip_literals_need_no_lookup(raw: str, address: Address) -> None:
    listener = RecordingListener()
    resolver = build(DnsResolver, raw, listener)
    resolver.start()  # synchronous: no lookup at all
    assert listener.states == [ResolverState(addresses=(address,))]
    resolver.resolve_now()
    await asyncio.sleep(0.01)
    assert len(listener.states) == 1
    resolver.close()


async def test_dns_localhost_matches_getaddrinfo_order() -> None:
    listener = RecordingListener()
    resolver = build(DnsResolver, "localhost:50051", listener)
    resolver.start()
    await listener.next()
    infos = socket.getaddrinfo("localhost", 50051, type=socket.SOCK_STREAM)
    expected = tuple(dict.fromkeys(Address(host=str(info[4][0]), port=50051) for info in infos))
    assert listener.states == [ResolverState(addresses=expected)]
    assert all(a.host in ("127.0.0.1", "::1") for a in expected)
    resolver.close()


async def test_dns_default_port_is_443() -> None:
    listener = RecordingListener()
    resolver = build(DnsResolver, "dns:///localhost", listener)
    resolver.start()
    await listener.next()
    assert {a.port for a in listener.states[0].addresses} == {443}
    resolver.close()


class QuickDns(DnsResolver):
    min_resolution_interval = 0.3
    error_backoff = BackoffConfig(base_delay=0.05, max_delay=0.1, jitter=0.0)


async def test_dns_resolve_now_is_rate_limited_and_coalesced() -> None:
    listener = RecordingListener()
    resolver = build(QuickDns, "localhost:1", listener)
    resolver.start()
    await listener.next()
    for _ in range(5):
        resolver.resolve_now()
    await listener.next()
    assert len(listener.states) == 2
    assert listener.times[1] - listener.times[0] >= 0.3 - 0.01
    # Nothing else was scheduled by the extra hints.
    await asyncio.sleep(0.4)
    assert len(listener.states) == 2
    resolver.close()


async def test_dns_failed_lookup_is_reported_and_retried() -> None:
    listener = RecordingListener()
    # An empty label fails inside the IDNA encoder: no query leaves the machine.
    resolver = build(QuickDns, "dns:///bad..name:80", listener)
    resolver.start()
    await listener.next()
    assert listener.errors and "cannot resolve 'bad..name'" in listener.errors[0]
    await listener.next()  # retried on its own, with the error backoff
    assert len(listener.errors) == 2
    assert listener.states == []
    resolver.close()
    await asyncio.sleep(0.2)
    assert len(listener.errors) == 2


async def test_dns_close_before_the_lookup_ends_silences_it() -> None:
    listener = RecordingListener()
    resolver = build(DnsResolver, "localhost:1", listener)
    resolver.start()
    resolver.close()
    await asyncio.sleep(0.2)
    assert listener.states == [] and listener.errors == []
