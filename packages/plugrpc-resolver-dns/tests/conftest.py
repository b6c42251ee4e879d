"""Fixtures for plugrpc-resolver-dns: a real dnsmasq on loopback and a recording listener."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from plugrpc_core import Balancer, Resolver, ResolverOptions, ResolverState, Target, plugins

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator


def load_runner() -> ModuleType:
    """dnsmasq_runner.py, shared with tests/test_e2e_dns.py (one module object)."""
    name = "plugrpc_resolver_dns_dnsmasq_runner"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("dnsmasq_runner.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


runner = load_runner()


@pytest.fixture
def dnsmasq_factory(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start dnsmasq servers (``Dnsmasq`` keyword arguments); all stopped after the test.

    Skipped when dnsmasq is not installed, except under CI=true, where that fails.
    """
    if runner.find_dnsmasq() is None:
        message = "dnsmasq is not installed (apt-get install dnsmasq-base)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    servers: list[Any] = []

    def make(**kwargs: Any) -> Any:
        workdir = tmp_path / f"dnsmasq-{len(servers)}"
        workdir.mkdir()
        server = runner.Dnsmasq(workdir, **kwargs)
        servers.append(server)
        server.start()
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def dnsmasq(dnsmasq_factory: Callable[..., Any]) -> Any:
    """A started dnsmasq on 127.0.0.1 and a free port, serving ``ready.test`` only."""
    return dnsmasq_factory()


@dataclass
class RecordingListener:
    """A ResolverListener that keeps what it hears and lets tests wait for the next event."""

    states: list[ResolverState] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events: list[ResolverState | str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    _cursor: int = 0
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def update_state(self, state: ResolverState) -> None:
        self.states.append(state)
        self._record(state)

    def report_error(self, error: str) -> None:
        self.errors.append(error)
        self._record(error)

    def _record(self, event: ResolverState | str) -> None:
        self.events.append(event)
        self.times.append(asyncio.get_running_loop().time())
        self._changed.set()

    async def next(self, timeout: float = 5.0) -> ResolverState | str:
        """The next event not returned yet, waiting for it if need be."""
        async with asyncio.timeout(timeout):
            while len(self.events) <= self._cursor:
                self._changed.clear()
                await self._changed.wait()
        self._cursor += 1
        return self.events[self._cursor - 1]

    async def next_state(self, timeout: float = 5.0) -> ResolverState:
        """The next event, which must be a state."""
        event = await self.next(timeout)
        assert isinstance(event, ResolverState), f"expected a state, got the error {event!r}"
        return event

    async def next_error(self, timeout: float = 5.0) -> str:
        """The next event, which must be an error."""
        event = await self.next(timeout)
        assert isinstance(event, str), f"expected an error, got {event!r}"
        return event


@pytest.fixture
def listener() -> RecordingListener:
    return RecordingListener()


def dns_target(endpoint: str, server: str = "") -> Target:
    """The Target a channel would build for ``dns://<server>/<endpoint>``."""
    raw = f"dns://{server}/{endpoint}"
    return Target(scheme="dns", authority=server, endpoint=endpoint, raw=raw)


@pytest.fixture
def build() -> Iterator[Callable[..., Resolver]]:
    """Build resolvers (``build(cls, endpoint, server=..., options=...)``); closed after."""
    made: list[Resolver] = []

    def make(
        cls: type[Resolver],
        endpoint: str,
        listener: RecordingListener,
        *,
        server: str = "",
        options: ResolverOptions | None = None,
    ) -> Resolver:
        target = dns_target(endpoint, server)
        cls.validate_target(target)
        resolver = cls(target, listener, options or ResolverOptions())
        made.append(resolver)
        return resolver

    yield make
    for resolver in made:
        resolver.close()


class ScriptedDns(asyncio.DatagramProtocol):
    """A DNS server on a UDP socket whose answers a test scripts, for failure modes.

    ``records[(name, type)]`` holds the answers' texts (a missing name answers NXDOMAIN, a
    known name without that type answers NODATA); types in ``drop`` are never answered
    (a timeout for the client) and types in ``servfail`` answer SERVFAIL. ``queries``
    records every question.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.drop: set[str] = set()
        self.servfail: set[str] = set()
        self.queries: list[tuple[str, str]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = dns.message.from_wire(data)
        question = request.question[0]
        name = question.name.to_text(omit_final_dot=True)
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if rdtype in self.drop:
            return
        response = dns.message.make_response(request)
        if rdtype in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rdtype) in self.records:
            response.answer.append(
                dns.rrset.from_text_list(question.name, 0, "IN", rdtype, self.records[name, rdtype])
            )
        elif not any(known == name for known, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def scripted_dns() -> AsyncIterator[ScriptedDns]:
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(
        ScriptedDns, local_addr=("127.0.0.1", 0)
    )
    try:
        yield server
    finally:
        transport.close()


class _NamedPolicy(Balancer):
    """A load-balancing policy that a test service config can name (its logic is not used)."""

    name = "dns_test_policy"

    def update_state(self, state: ResolverState, config: object) -> None:
        pass

    def resolver_error(self, error: str) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def named_policy() -> Iterator[str]:
    """Register ``dns_test_policy`` for the test (this distribution needs no balancer)."""
    with plugins.balancers.override(_NamedPolicy, distribution="tests"):
        yield _NamedPolicy.name
