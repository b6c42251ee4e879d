"""ChannelControl over real loopback sockets: connect, wait, fail, lose, reconnect, close."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from plugrpc._backoff import BackoffConfig
from plugrpc._control import ChannelControl
from plugrpc._pick_first import PickFirst
from plugrpc._resolvers import DnsResolver
from plugrpc._subchannel import ChannelSubchannel
from plugrpc_core import (
    Address,
    ConnectivityState,
    Metadata,
    Picker,
    PickFail,
    PickInfo,
    PickResult,
    Resolver,
    ResolverState,
    RpcError,
    StatusCode,
    parse_service_config,
    plugins,
)

IDLE = ConnectivityState.IDLE
CONNECTING = ConnectivityState.CONNECTING
READY = ConnectivityState.READY
TF = ConnectivityState.TRANSIENT_FAILURE
SHUTDOWN = ConnectivityState.SHUTDOWN
INFO = PickInfo(method="/pkg.Svc/Method", metadata=Metadata())
QUICK = BackoffConfig(base_delay=0.05, max_delay=0.2, min_connect_timeout=2.0)


# -- a ConnectionLike over a real socket --------------------------------------------------


class SocketConnection:
    """A real stream connection; it stops being available when the peer hangs up."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._listeners: list[Callable[[str | None], None]] = []
        self._available = True
        self.drained = False
        self.closed = False
        self._watch = asyncio.get_running_loop().create_task(self._watch_peer())

    @property
    def available(self) -> bool:
        return self._available

    def add_close_listener(self, callback: Callable[[str | None], None]) -> None:
        if self._available:
            self._listeners.append(callback)
        else:
            asyncio.get_running_loop().call_soon(callback, "closed")

    def close(self) -> None:
        self.closed = True
        self._stop(None)

    async def drain(self, timeout: float | None = None) -> None:
        self.drained = True
        self._stop(None)
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def _watch_peer(self) -> None:
        with contextlib.suppress(OSError):
            while await self._reader.read(65536):
                pass
        self._stop("the peer closed the connection")

    def _stop(self, reason: str | None) -> None:
        if self._watch is not asyncio.current_task():
            self._watch.cancel()
        self._writer.close()
        if not self._available:
            return
        self._available = False
        listeners, self._listeners = self._listeners, []
        for callback in listeners:
            callback(reason)


class Connector:
    """Opens SocketConnections and remembers them."""

    def __init__(self) -> None:
        self.connections: list[SocketConnection] = []

    async def __call__(self, address: Address) -> SocketConnection:
        if address.path is not None:
            reader, writer = await asyncio.open_unix_connection(address.path)
        else:
            reader, writer = await asyncio.open_connection(address.host, address.port)
        connection = SocketConnection(reader, writer)
        self.connections.append(connection)
        return connection


class Server:
    """A TCP port that refuses connections until ``listen`` and can drop its peers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.server: asyncio.Server | None = None
        self.peers: list[asyncio.StreamWriter] = []

    async def listen(self) -> None:
        self.sock.listen()
        self.server = await asyncio.start_server(self._serve, sock=self.sock)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.peers.append(writer)
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass
        writer.close()

    def drop_peers(self) -> None:
        for writer in self.peers:
            writer.close()
        self.peers.clear()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            # Let connections accepted just before the close reach _serve, so that they
            # are closed here rather than leaked.
            await asyncio.sleep(0.05)
            self.drop_peers()
            await self.server.wait_closed()
        else:
            self.sock.close()


# -- plugins used by the tests --------------------------------------------------------------


class ManualResolver(Resolver):
    """A resolver the test feeds by hand (grpc-go's ``manual`` resolver)."""

    scheme = "plugrpc-test-manual"
    instances: ClassVar[list[ManualResolver]] = []

    def start(self) -> None:
        self.resolve_now_calls = 0
        self.closed = False
        ManualResolver.instances.append(self)

    def resolve_now(self) -> None:
        self.resolve_now_calls += 1

    def close(self) -> None:
        self.closed = True


class OtherFirst(PickFirst):
    """pick_first under another name, to switch policies."""

    name = "plugrpc_test_other_first"


class _Fixed(Picker):
    def __init__(self, result: PickResult) -> None:
        self.result = result

    def pick(self, info: PickInfo) -> PickResult:
        return self.result


class FailWith(PickFirst):
    """Fails every call with the code and drop flag its config names."""

    name = "plugrpc_test_fail_with"

    @classmethod
    def parse_config(cls, config: Any) -> Any:
        return dict(config)

    def update_state(self, state: ResolverState, config: Any) -> None:
        result = PickFail(
            code=StatusCode[config["code"]], message="no", drop=bool(config.get("drop"))
        )
        self.helper.update_state(TF, _Fixed(result))


@pytest.fixture(autouse=True)
def registered_plugins() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        stack.enter_context(plugins.resolvers.override(ManualResolver))
        stack.enter_context(plugins.balancers.override(OtherFirst))
        stack.enter_context(plugins.balancers.override(FailWith))
        ManualResolver.instances.clear()
        yield


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    server = Server()
    yield server
    await server.stop()


@pytest.fixture
def connector() -> Connector:
    return Connector()


@pytest.fixture
async def make(connector: Connector) -> AsyncIterator[Callable[..., ChannelControl]]:
    made: list[ChannelControl] = []

    def factory(target: str, **kwargs: Any) -> ChannelControl:
        kwargs.setdefault("backoff", QUICK)
        control = ChannelControl(target, connector=connector, **kwargs)
        made.append(control)
        return control

    yield factory
    for control in made:
        await control.close(drain=False)


async def until(control: ChannelControl, state: ConnectivityState) -> None:
    async def wait() -> None:
        current = control.get_state()
        while current is not state:
            current = await control.wait_for_state_change(current)

    await asyncio.wait_for(wait(), 5)


def deadline_in(seconds: float) -> float:
    return asyncio.get_running_loop().time() + seconds


# -- construction -------------------------------------------------------------------------


async def test_construction_is_lazy(server: Server, make: Any, connector: Connector) -> None:
    await server.listen()
    control = make(f"127.0.0.1:{server.port}")
    assert control.target.scheme == "dns"
    assert control.authority == f"127.0.0.1:{server.port}"
    await asyncio.sleep(0.05)
    assert control.get_state() is IDLE
    assert connector.connections == [] and server.peers == []


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        ("dns:///", ValueError, "missing address"),
        ("localhost:port", ValueError, "not a number"),
        ("dns://8.8.8.8/example.com", ValueError, "plugrpc-resolver-dns"),
        ("unix://host/sock", ValueError, "no authority"),
        ("nosuchscheme:///x", plugins.PluginNotFoundError, "plugrpc-resolver-nosuchscheme"),
    ],
)
def test_bad_targets_fail_at_construction(
    target: str, error: type[Exception], message: str, connector: Connector
) -> None:
    # The built-in getaddrinfo resolver's rules (plugrpc-resolver-dns, when installed,
    # replaces it under the same scheme and has rules of its own).
    with plugins.resolvers.override(DnsResolver, distribution="plugrpc"):
        with pytest.raises(error, match=message):
            ChannelControl(target, connector=connector)


# -- connecting ---------------------------------------------------------------------------


async def test_first_pick_connects(server: Server, make: Any, connector: Connector) -> None:
    await server.listen()
    control = make(f"dns:///127.0.0.1:{server.port}")
    seen = [control.get_state()]

    async def watch() -> None:
        while seen[-1] is not READY:
            seen.append(await control.wait_for_state_change(seen[-1]))

    watcher = asyncio.create_task(watch())
    connection, result = await control.pick(INFO, wait_for_ready=False, deadline=None)
    await asyncio.wait_for(watcher, 5)
    assert seen == [IDLE, CONNECTING, READY]
    assert connection is connector.connections[0]
    assert isinstance(result.subchannel, ChannelSubchannel)
    assert result.subchannel.address == Address(host="127.0.0.1", port=server.port)
    assert control.get_state() is READY


async def test_ready_pick_completes_without_suspending(server: Server, make: Any) -> None:
    await server.listen()
    control = make(f"127.0.0.1:{server.port}")
    first = await control.pick(INFO, wait_for_ready=False, deadline=None)
    coroutine = control.pick(INFO, wait_for_ready=False, deadline=None)
    with pytest.raises(StopIteration) as stop:
        coroutine.send(None)
    assert stop.value.value == first


async def test_get_state_try_to_connect(server: Server, make: Any) -> None:
    await server.listen()
    control = make(f"127.0.0.1:{server.port}")
    assert control.get_state(try_to_connect=True) is CONNECTING
    await until(control, READY)


async def test_unix_socket(tmp_path: Path, make: Any) -> None:
    path = tmp_path / "s.sock"
    accepted = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set()
        await reader.read()
        writer.close()

    unix_server = await asyncio.start_unix_server(serve, path=str(path))
    try:
        control = make(f"unix:{path}")
        assert control.authority == "localhost"
        connection, _ = await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
        await asyncio.wait_for(accepted.wait(), 5)
        assert connection.available
        await control.close()
    finally:
        unix_server.close()
        await unix_server.wait_closed()


# -- failures -----------------------------------------------------------------------------


async def test_fail_fast_with_the_connection_error(server: Server, make: Any) -> None:
    control = make(f"127.0.0.1:{server.port}")
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    assert info.value.code() is StatusCode.UNAVAILABLE
    assert f"failed to connect to 127.0.0.1:{server.port}" in info.value.details()
    assert control.get_state() is TF


async def test_wait_for_ready_waits_for_a_server(server: Server, make: Any) -> None:
    control = make(f"127.0.0.1:{server.port}")
    pick = asyncio.create_task(control.pick(INFO, wait_for_ready=True, deadline=deadline_in(10)))
    await until(control, TF)
    await asyncio.sleep(0.1)
    assert not pick.done()
    await server.listen()
    connection, _ = await asyncio.wait_for(pick, 5)
    assert connection.available
    assert control.get_state() is READY


async def test_deadline_while_waiting(server: Server, make: Any) -> None:
    control = make(f"127.0.0.1:{server.port}")
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=True, deadline=deadline_in(0.3))
    assert info.value.code() is StatusCode.DEADLINE_EXCEEDED
    assert "while waiting for connections to become ready" in info.value.details()
    assert "failed to connect" in info.value.details()


async def test_past_deadline_fails_at_once(server: Server, make: Any) -> None:
    await server.listen()
    control = make(f"127.0.0.1:{server.port}")
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=True, deadline=deadline_in(-1))
    assert info.value.code() is StatusCode.DEADLINE_EXCEEDED


async def test_reset_connect_backoff_retries_now(server: Server, make: Any) -> None:
    slow = BackoffConfig(base_delay=60.0, max_delay=60.0, min_connect_timeout=2.0)
    control = make(f"127.0.0.1:{server.port}", backoff=slow)
    control.get_state(try_to_connect=True)
    await until(control, TF)
    await server.listen()
    await asyncio.sleep(0.1)
    assert control.get_state() is TF  # still waiting out a 60 s backoff
    control.reset_connect_backoff()
    await until(control, READY)


async def test_server_going_away_then_reconnect(
    server: Server, make: Any, connector: Connector
) -> None:
    await server.listen()
    control = make(f"127.0.0.1:{server.port}")
    first, _ = await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    server.drop_peers()
    await until(control, IDLE)
    assert not first.available
    second, _ = await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    assert second is not first
    assert len(connector.connections) == 2
    assert control.get_state() is READY


# -- close --------------------------------------------------------------------------------


async def test_close_drains_and_shuts_down(server: Server, make: Any, connector: Connector) -> None:
    await server.listen()
    control = make(f"127.0.0.1:{server.port}")
    await control.pick(INFO, wait_for_ready=False, deadline=None)
    change = asyncio.create_task(control.wait_for_state_change(READY))
    await control.close()
    assert await change is SHUTDOWN
    assert control.get_state(try_to_connect=True) is SHUTDOWN
    assert connector.connections[0].drained
    assert await control.wait_for_state_change(SHUTDOWN) is SHUTDOWN
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=True, deadline=None)
    assert info.value.code() is StatusCode.CANCELLED
    await control.close()  # twice is fine


async def test_close_wakes_waiting_picks(server: Server, make: Any) -> None:
    control = make(f"127.0.0.1:{server.port}")
    pick = asyncio.create_task(control.pick(INFO, wait_for_ready=True, deadline=None))
    await until(control, TF)
    await control.close()
    with pytest.raises(RpcError) as info:
        await asyncio.wait_for(pick, 5)
    assert info.value.code() is StatusCode.CANCELLED


async def test_close_without_drain_closes_connections(
    server: Server, make: Any, connector: Connector
) -> None:
    await server.listen()
    control = make(f"127.0.0.1:{server.port}")
    await control.pick(INFO, wait_for_ready=False, deadline=None)
    await control.close(drain=False)
    assert connector.connections[0].closed


# -- resolver, service config and balancer switching -----------------------------------------


def manual(control: ChannelControl) -> ManualResolver:
    control.get_state(try_to_connect=True)
    return ManualResolver.instances[-1]


def state_for(server: Server, config: Any = None, error: str | None = None) -> ResolverState:
    address = Address(host="127.0.0.1", port=server.port)
    return ResolverState(addresses=(address,), service_config=config, service_config_error=error)


async def test_wait_for_resolution(server: Server, make: Any) -> None:
    control = make("plugrpc-test-manual:///x")
    waiting = asyncio.create_task(control.wait_for_resolution(deadline_in(5)))
    await asyncio.sleep(0.05)
    assert not waiting.done() and not control.resolved
    manual(control).listener.update_state(state_for(server))
    await asyncio.wait_for(waiting, 5)
    assert control.resolved
    await control.wait_for_resolution()  # at once now
    with pytest.raises(RpcError) as info:
        await make("plugrpc-test-manual:///y").wait_for_resolution(deadline_in(0.05))
    assert info.value.code() is StatusCode.DEADLINE_EXCEEDED


async def test_resolver_error_then_addresses(server: Server, make: Any) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x")
    resolver = manual(control)
    resolver.listener.report_error("no such host")
    assert control.get_state() is TF
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=False, deadline=None)
    assert info.value.code() is StatusCode.UNAVAILABLE
    assert info.value.details() == "name resolver error: no such host"
    waiting = asyncio.create_task(control.pick(INFO, wait_for_ready=True, deadline=deadline_in(5)))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    resolver.listener.update_state(state_for(server))
    await asyncio.wait_for(waiting, 5)


async def test_connection_loss_asks_for_reresolution(server: Server, make: Any) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x")
    resolver = manual(control)
    resolver.listener.update_state(state_for(server))
    await until(control, READY)
    assert resolver.resolve_now_calls == 0
    server.drop_peers()
    await until(control, IDLE)
    assert resolver.resolve_now_calls == 1


async def test_default_service_config_is_used_without_one_from_the_resolver(
    server: Server, make: Any
) -> None:
    default = parse_service_config({"methodConfig": [{"name": [{}], "timeout": "2s"}]})
    control = make("plugrpc-test-manual:///x", default_service_config=default)
    assert control.service_config is default
    manual(control).listener.update_state(state_for(server))
    assert control.service_config is default


async def test_resolver_service_config_wins_unless_disabled(server: Server, make: Any) -> None:
    default = parse_service_config({})
    pushed = parse_service_config({"methodConfig": [{"name": [{}], "waitForReady": True}]})
    control = make("plugrpc-test-manual:///x", default_service_config=default)
    manual(control).listener.update_state(state_for(server, pushed))
    assert control.service_config is pushed
    disabled = make(
        "plugrpc-test-manual:///y", default_service_config=default, disable_service_config=True
    )
    manual(disabled).listener.update_state(state_for(server, pushed))
    assert disabled.service_config is default


async def test_invalid_first_service_config_fails_calls(server: Server, make: Any) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x")
    resolver = manual(control)
    resolver.listener.update_state(state_for(server, error="timeout: bad duration"))
    assert control.get_state() is TF
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=False, deadline=None)
    assert info.value.code() is StatusCode.UNAVAILABLE
    assert "invalid service config" in info.value.details()
    assert "bad duration" in info.value.details()
    good = parse_service_config({})
    resolver.listener.update_state(state_for(server, good))
    await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    assert control.service_config is good


async def test_invalid_service_config_keeps_the_last_good_one(server: Server, make: Any) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x")
    resolver = manual(control)
    good = parse_service_config({"methodConfig": [{"name": [{}], "timeout": "1s"}]})
    resolver.listener.update_state(state_for(server, good))
    await until(control, READY)
    resolver.listener.update_state(state_for(server, error="bad"))
    assert control.service_config is good
    assert control.get_state() is READY
    await control.pick(INFO, wait_for_ready=False, deadline=None)


async def test_policy_change_is_graceful(server: Server, make: Any, connector: Connector) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x")
    resolver = manual(control)
    resolver.listener.update_state(state_for(server))
    first, first_pick = await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    other = parse_service_config({"loadBalancingConfig": [{OtherFirst.name: {}}]})
    resolver.listener.update_state(state_for(server, other))
    # The new policy is connecting: calls keep going to the old one meanwhile.
    assert control.service_config is other
    assert control.get_state() is READY
    during, during_pick = await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    assert during is first and during_pick.subchannel is first_pick.subchannel
    # Once the new policy is READY it takes over and the old connection drains.
    second = first
    for _ in range(100):
        second, _ = await control.pick(INFO, wait_for_ready=True, deadline=None)
        if second is not first:
            break
        await asyncio.sleep(0.02)
    assert second is not first
    assert first_pick.subchannel.state is SHUTDOWN
    assert first.drained
    assert len(connector.connections) == 2
    assert control.get_state() is READY


# -- idleness -------------------------------------------------------------------------------


async def test_idle_timeout_closes_everything_and_the_next_call_reconnects(
    server: Server, make: Any, connector: Connector
) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x", idle_timeout=0.2)
    resolver = manual(control)
    resolver.listener.update_state(state_for(server))
    first, _ = await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    await until(control, IDLE)
    assert resolver.closed
    assert first.drained
    assert control.resolved and control.service_config is None
    # The next call starts a new resolver and a new connection.
    waiting = asyncio.create_task(control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5)))
    await asyncio.sleep(0.02)
    assert control.get_state() is CONNECTING
    again = ManualResolver.instances[-1]
    assert again is not resolver
    again.listener.update_state(state_for(server))
    second, _ = await asyncio.wait_for(waiting, 5)
    assert second is not first and len(connector.connections) == 2


async def test_calls_in_flight_and_waiting_keep_the_channel_busy(server: Server, make: Any) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x", idle_timeout=0.1)
    resolver = manual(control)
    control.call_started()
    resolver.listener.update_state(state_for(server))
    await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    await asyncio.sleep(0.5)  # several idle periods with one call in flight
    assert control.get_state() is READY
    assert not control.enter_idle()
    control.call_finished()
    await until(control, IDLE)
    # A wait-for-ready call that waits counts as activity too.
    waiting = asyncio.create_task(control.pick(INFO, wait_for_ready=True, deadline=deadline_in(5)))
    await asyncio.sleep(0.5)
    assert not waiting.done() and control.get_state() is CONNECTING
    ManualResolver.instances[-1].listener.update_state(state_for(server))
    await asyncio.wait_for(waiting, 5)


async def test_enter_idle_and_disabled_idleness(server: Server, make: Any) -> None:
    await server.listen()
    control = make("plugrpc-test-manual:///x", idle_timeout=None)
    assert not control.enter_idle()  # not started yet
    manual(control).listener.update_state(state_for(server))
    await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
    await asyncio.sleep(0.2)
    assert control.get_state() is READY
    assert control.enter_idle()
    assert control.get_state() is IDLE
    await control.close()
    assert not control.enter_idle()
    with pytest.raises(ValueError, match="idle_timeout"):
        make("plugrpc-test-manual:///x", idle_timeout=-1)


@pytest.mark.parametrize(
    ("code", "drop", "wait_for_ready", "expected"),
    [
        ("RESOURCE_EXHAUSTED", False, False, StatusCode.RESOURCE_EXHAUSTED),
        ("NOT_FOUND", False, False, StatusCode.INTERNAL),  # gRFC A54
        ("UNAVAILABLE", True, True, StatusCode.UNAVAILABLE),  # drops ignore wait-for-ready
    ],
)
async def test_picker_failures(
    server: Server, make: Any, code: str, drop: bool, wait_for_ready: bool, expected: StatusCode
) -> None:
    control = make("plugrpc-test-manual:///x")
    config = parse_service_config(
        {"loadBalancingConfig": [{FailWith.name: {"code": code, "drop": drop}}]}
    )
    manual(control).listener.update_state(state_for(server, config))
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=wait_for_ready, deadline=deadline_in(5))
    assert info.value.code() is expected


async def test_wait_for_ready_ignores_picker_failures_until_the_deadline(
    server: Server, make: Any
) -> None:
    control = make("plugrpc-test-manual:///x")
    config = parse_service_config({"loadBalancingConfig": [{FailWith.name: {"code": "ABORTED"}}]})
    manual(control).listener.update_state(state_for(server, config))
    with pytest.raises(RpcError) as info:
        await control.pick(INFO, wait_for_ready=True, deadline=deadline_in(0.1))
    assert info.value.code() is StatusCode.DEADLINE_EXCEEDED
    assert "illegal code ABORTED" in info.value.details()


# -- connect attempts that hang -------------------------------------------------------------


class HangingConnector:
    """Connects the socket, then waits for a greeting the server never sends."""

    def __init__(self) -> None:
        self.attempts = 0
        self.cancelled = 0

    async def __call__(self, address: Address) -> SocketConnection:
        self.attempts += 1
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            await reader.readexactly(1)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            writer.close()
        raise AssertionError("the test server never writes")


async def test_connect_attempt_is_bounded_by_min_connect_timeout(server: Server) -> None:
    await server.listen()
    connector = HangingConnector()
    backoff = BackoffConfig(base_delay=0.05, max_delay=0.1, min_connect_timeout=0.2)
    control = ChannelControl(f"127.0.0.1:{server.port}", connector=connector, backoff=backoff)
    try:
        with pytest.raises(RpcError) as info:
            await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
        assert info.value.code() is StatusCode.UNAVAILABLE
        assert "timed out after 0.2 s" in info.value.details()
        assert connector.cancelled >= 1
    finally:
        await control.close()


async def test_close_while_connecting_cancels_the_attempt(server: Server) -> None:
    await server.listen()
    connector = HangingConnector()
    control = ChannelControl(f"127.0.0.1:{server.port}", connector=connector)
    control.get_state(try_to_connect=True)

    async def connected() -> None:
        while connector.attempts == 0 or not server.peers:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(connected(), 5)
    await control.close()
    await asyncio.sleep(0.05)
    assert connector.cancelled == 1
    assert control.get_state() is SHUTDOWN


# -- with the real HTTP/2 transport ----------------------------------------------------------


async def test_real_transport_goaway_then_reconnect() -> None:
    import plugrpc_transport

    async def connect(address: Address) -> plugrpc_transport.ClientConnection:
        return await plugrpc_transport.connect(address, timeout=5.0)

    first = await plugrpc_transport.serve(lambda stream: None, host="127.0.0.1", port=0)
    port = first.port
    control = ChannelControl(f"dns:///127.0.0.1:{port}", connector=connect, backoff=QUICK)
    second = None
    try:
        connection, _ = await control.pick(INFO, wait_for_ready=False, deadline=deadline_in(5))
        assert control.get_state() is READY
        await first.drain(1.0)  # GOAWAY: the connection takes no new streams
        await until(control, IDLE)
        assert not connection.available
        second = await plugrpc_transport.serve(lambda stream: None, host="127.0.0.1", port=port)
        again, _ = await control.pick(INFO, wait_for_ready=True, deadline=deadline_in(5))
        assert again is not connection and again.available
    finally:
        await control.close(drain=False)
        await first.close()
        if second is not None:
            await second.close()
