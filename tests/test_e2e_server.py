"""End-to-end server and channel behaviour: graceful stop, Unix sockets, interceptors,
wait-for-ready, connectivity, codec subtypes."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import echo_pb2
import echo_plugrpc
import plugrpc
import plugrpc_core
import pytest
from plugrpc import ConnectivityState, StatusCode
from plugrpc_core import Codec
from plugrpc_core.plugins import codecs, resolvers


async def test_graceful_stop_finishes_in_flight_calls(echo_service) -> None:
    server = plugrpc.Server([echo_service])
    port = await server.start()
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        assert (await stub.Unary(echo_pb2.EchoRequest(message="warm"))).message == "warm"
        calls = [
            asyncio.ensure_future(stub.Unary(echo_pb2.EchoRequest(message=str(i), sleep_ms=400)))
            for i in range(50)
        ]
        while echo_service.started < 51:
            await asyncio.sleep(0.01)
        await server.stop(grace=10)
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r.message for r in results] == [str(i) for i in range(50)]
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(), timeout=2)
        assert info.value.code() in (StatusCode.UNAVAILABLE, StatusCode.DEADLINE_EXCEEDED)


async def test_stop_after_grace_cancels_remaining_calls(echo_service) -> None:
    server = plugrpc.Server([echo_service])
    port = await server.start()
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        call = asyncio.ensure_future(stub.Unary(echo_pb2.EchoRequest(sleep_ms=10_000)))
        await asyncio.wait_for(echo_service.started_event.wait(), 5)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await server.stop(grace=0.3)
        assert loop.time() - started < 5
        with pytest.raises(plugrpc.RpcError) as info:
            await call
        assert info.value.code() in (StatusCode.CANCELLED, StatusCode.UNAVAILABLE)
        assert "Unary" in echo_service.cancelled


async def test_unix_socket(tmp_path, echo_service) -> None:
    path = tmp_path / "echo.sock"
    server = plugrpc.Server([echo_service])
    await server.start(f"unix:{path}")
    try:
        async with plugrpc.Channel(f"unix:{path}") as channel:
            stub = echo_plugrpc.EchoStub(channel)
            assert (await stub.Unary(echo_pb2.EchoRequest(message="u"))).message == "u"
    finally:
        await server.stop()


class _RecordingClientInterceptor(plugrpc.ClientInterceptor):
    def __init__(self, name: str, log: list[str]) -> None:
        self.tag = name
        self.log = log

    async def intercept_unary_unary(self, continuation, details, request):
        self.log.append(f"{self.tag}:unary:{details.method}")
        md = plugrpc.Metadata(details.metadata)
        md.add("x-echo-" + self.tag, "1")
        import dataclasses

        return await continuation(dataclasses.replace(details, metadata=md), request)

    async def intercept_stream_stream(self, continuation, details, request_iterator):
        self.log.append(f"{self.tag}:stream")
        return await continuation(details, request_iterator)


class _RecordingServerInterceptor(plugrpc.ServerInterceptor):
    def __init__(self, name: str, log: list[str]) -> None:
        self.tag = name
        self.log = log

    async def intercept_service(self, continuation, details):
        self.log.append(f"{self.tag}:{details.method}")
        if details.invocation_metadata.get("x-deny") == "yes":

            async def deny(request: Any, context: plugrpc.ServicerContext) -> Any:
                await context.abort(StatusCode.PERMISSION_DENIED, "denied by interceptor")

            return plugrpc.MethodHandler(kind=plugrpc.MethodKind.UNARY_UNARY, behavior=deny)
        return await continuation(details)


async def test_client_and_server_interceptors_chain_in_order(echo_service) -> None:
    log: list[str] = []
    server = plugrpc.Server(
        [echo_service],
        interceptors=[
            _RecordingServerInterceptor("s1", log),
            _RecordingServerInterceptor("s2", log),
        ],
    )
    port = await server.start()
    try:
        async with plugrpc.Channel(
            f"127.0.0.1:{port}",
            interceptors=[
                _RecordingClientInterceptor("c1", log),
                _RecordingClientInterceptor("c2", log),
            ],
        ) as channel:
            stub = echo_plugrpc.EchoStub(channel)
            call = stub.Unary(echo_pb2.EchoRequest(message="i"))
            assert (await call).message == "i"
            initial = await call.initial_metadata()
            assert initial.get("x-echo-c1") == "1" and initial.get("x-echo-c2") == "1"
            assert log == [
                "c1:unary:/plugrpc.testing.Echo/Unary",
                "c2:unary:/plugrpc.testing.Echo/Unary",
                "s1:/plugrpc.testing.Echo/Unary",
                "s2:/plugrpc.testing.Echo/Unary",
            ]
            log.clear()
            replies = [
                r.message async for r in stub.Bidi(iter([echo_pb2.EchoRequest(message="b")]))
            ]
            assert replies == ["b"]
            assert log == [
                "c1:stream",
                "c2:stream",
                "s1:/plugrpc.testing.Echo/Bidi",
                "s2:/plugrpc.testing.Echo/Bidi",
            ]
            with pytest.raises(plugrpc.RpcError) as info:
                await stub.Unary(echo_pb2.EchoRequest(), metadata=[("x-deny", "yes")])
            assert info.value.code() == StatusCode.PERMISSION_DENIED
            assert info.value.details() == "denied by interceptor"
    finally:
        await server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_fail_fast_and_wait_for_ready(echo_service) -> None:
    port = _free_port()
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(), timeout=5)
        assert info.value.code() == StatusCode.UNAVAILABLE
        assert channel.get_state() in (
            ConnectivityState.TRANSIENT_FAILURE,
            ConnectivityState.IDLE,
            ConnectivityState.CONNECTING,
        )

        server = plugrpc.Server([echo_service])
        waiting = asyncio.ensure_future(
            stub.Unary(echo_pb2.EchoRequest(message="late"), wait_for_ready=True, timeout=30)
        )
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await server.start(f"127.0.0.1:{port}")
        channel.reset_connect_backoff()
        try:
            assert (await waiting).message == "late"
            assert channel.get_state() == ConnectivityState.READY
        finally:
            await server.stop()


async def test_wait_for_ready_respects_the_deadline() -> None:
    async with plugrpc.Channel(f"127.0.0.1:{_free_port()}") as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(), wait_for_ready=True, timeout=0.3)
        assert info.value.code() == StatusCode.DEADLINE_EXCEEDED


async def test_connectivity_states(echo_server) -> None:
    _, port = echo_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        assert channel.get_state() == ConnectivityState.IDLE
        await asyncio.wait_for(channel.channel_ready(), 10)
        assert channel.get_state() == ConnectivityState.READY
    assert channel.get_state() == ConnectivityState.SHUTDOWN


async def test_service_config_timeout_applies_per_method(echo_server) -> None:
    _, port = echo_server
    config = {
        "methodConfig": [
            {"name": [{"service": "plugrpc.testing.Echo", "method": "Unary"}], "timeout": "0.2s"}
        ]
    }
    async with plugrpc.Channel(f"127.0.0.1:{port}", default_service_config=config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(sleep_ms=3000))
        assert info.value.code() == StatusCode.DEADLINE_EXCEEDED


def test_bad_configuration_fails_at_construction() -> None:
    with pytest.raises(ValueError):
        plugrpc.Channel("dns:///")
    with pytest.raises(ValueError):
        plugrpc.Channel("127.0.0.1:1", default_service_config='{"methodConfig": 5}')
    with pytest.raises(LookupError) as info:
        plugrpc.Channel("127.0.0.1:1", compression="zzz-not-installed")
    assert "zzz-not-installed" in str(info.value)


class _JsonCodec(Codec):
    name = "json"

    def encode(self, message: Any) -> bytes:
        return json.dumps(message).encode()

    def decode(self, data: bytes, message_type: type[Any]) -> Any:
        return json.loads(data)


async def test_content_subtype_selects_the_codec_on_both_sides() -> None:
    codecs.register(_JsonCodec, distribution="tests")
    try:
        seen: list[str] = []

        async def handler(request: Any, context: plugrpc.ServicerContext) -> Any:
            seen.append(context.invocation_metadata().get("content-type") or "none")
            return {"echo": request["value"] * 2}

        server = plugrpc.Server(
            generic_handlers=[
                plugrpc.method_handlers_generic_handler(
                    "j.S",
                    {
                        "M": plugrpc.MethodHandler(
                            kind=plugrpc.MethodKind.UNARY_UNARY,
                            behavior=handler,
                            request_type=dict,
                            response_type=dict,
                        )
                    },
                )
            ]
        )
        port = await server.start()
        try:
            async with plugrpc.Channel(f"127.0.0.1:{port}", content_subtype="json") as channel:
                method = channel.unary_unary("/j.S/M", dict, dict)
                assert await method({"value": 21}) == {"echo": 42}
        finally:
            await server.stop()
    finally:
        codecs.unregister("json")


async def test_per_call_content_subtype() -> None:
    codecs.register(_JsonCodec, distribution="tests")
    try:

        async def handler(request: Any, context: plugrpc.ServicerContext) -> Any:
            return {"got": request}

        server = plugrpc.Server(
            generic_handlers=[
                plugrpc.method_handlers_generic_handler(
                    "j.S",
                    {
                        "M": plugrpc.MethodHandler(
                            kind=plugrpc.MethodKind.UNARY_UNARY,
                            behavior=handler,
                            request_type=dict,
                            response_type=dict,
                        )
                    },
                )
            ]
        )
        port = await server.start()
        try:
            async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
                method = channel.unary_unary("/j.S/M", dict, dict)
                assert await method({"a": 1}, content_subtype="json") == {"got": {"a": 1}}
        finally:
            await server.stop()
    finally:
        codecs.unregister("json")


async def test_service_config_message_size_limits(echo_server) -> None:
    _, port = echo_server
    config = {
        "methodConfig": [
            {
                "name": [{"service": "plugrpc.testing.Echo"}],
                "maxRequestMessageBytes": 100,
                "maxResponseMessageBytes": 200,
            }
        ]
    }
    async with plugrpc.Channel(f"127.0.0.1:{port}", default_service_config=config) as channel:
        stub = echo_plugrpc.EchoStub(channel)
        assert (await stub.Unary(echo_pb2.EchoRequest(message="small"))).message == "small"
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(payload=b"x" * 150))
        assert info.value.code() == StatusCode.RESOURCE_EXHAUSTED
        assert "send" in info.value.details()
        with pytest.raises(plugrpc.RpcError) as info:
            await stub.Unary(echo_pb2.EchoRequest(response_size=300))
        assert info.value.code() == StatusCode.RESOURCE_EXHAUSTED
        assert "received" in info.value.details()


async def test_close_without_grace_cancels_active_calls(echo_server) -> None:
    _, port = echo_server
    channel = plugrpc.Channel(f"127.0.0.1:{port}")
    stub = echo_plugrpc.EchoStub(channel)
    call = asyncio.ensure_future(stub.Unary(echo_pb2.EchoRequest(sleep_ms=10_000)))
    await asyncio.sleep(0.3)
    await asyncio.wait_for(channel.close(), 5)
    with pytest.raises(plugrpc.RpcError) as info:
        await asyncio.wait_for(call, 5)
    assert info.value.code() in (StatusCode.UNAVAILABLE, StatusCode.CANCELLED)


class _SlowConfigResolver(plugrpc_core.Resolver):
    """Answers 0.2 s late with the endpoint's address and a service config (a methodConfig
    timeout): the first call of a channel must wait for it, as grpc-go's does."""

    scheme = "slow-config"

    def start(self) -> None:
        host, _, port = self.target.endpoint.rpartition(":")
        config = plugrpc_core.parse_service_config(
            {"methodConfig": [{"name": [{"service": "plugrpc.testing.Echo"}], "timeout": "0.3s"}]}
        )
        state = plugrpc_core.ResolverState(
            addresses=(plugrpc_core.Address(host=host, port=int(port)),), service_config=config
        )
        self._timer = asyncio.get_running_loop().call_later(0.2, self.listener.update_state, state)

    def close(self) -> None:
        self._timer.cancel()


async def test_first_call_uses_the_resolvers_method_config(echo_server) -> None:
    _, port = echo_server
    resolvers.register(_SlowConfigResolver, distribution="tests")
    try:
        async with plugrpc.Channel(f"slow-config:///127.0.0.1:{port}") as channel:
            stub = echo_plugrpc.EchoStub(channel)
            with pytest.raises(plugrpc.RpcError) as info:
                await stub.Unary(echo_pb2.EchoRequest(sleep_ms=3000))
            assert info.value.code() == StatusCode.DEADLINE_EXCEEDED
    finally:
        resolvers.unregister("slow-config")
