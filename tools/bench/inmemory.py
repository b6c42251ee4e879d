"""plugrpc's CPU cost per unary call with no sockets, against the in-memory h2 floor.

Both sides run in this one process and the measure is process CPU time, so other tenants
of a shared machine do not distort it (reference/performance.md section g).

* **h2 floor**: two ``h2.H2Connection`` objects wired in memory perform the same exchange
  as a plugrpc unary call: the request HEADERS plugrpc sends (the same header list, built
  by the same functions), one DATA frame (5-byte prefix + protobuf request, END_STREAM),
  then response HEADERS, one DATA frame and the trailers, each side returning the flow
  control window, both sides encoding and decoding the protobuf messages. Variants: h2's
  default configuration (validation and normalisation on) and validation off with bytes
  headers (what an h2-based gRPC would use without further tricks). No asyncio, no objects
  beyond h2's own: the floor of an h2-based implementation.
* **plugrpc**: a real ``Channel`` and ``Server`` (resolver, balancer, call objects,
  servicer context, tasks) whose connections are wired through ``_memory.MemoryTransport``.

Run alone: ``hatch run python tools/bench/inmemory.py [--seconds 2] [--loop uvloop]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "tests" / "gen", Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import echo_pb2  # noqa: E402

__all__ = ["h2_floor", "machines", "plugrpc_in_memory", "transport_in_memory"]

MESSAGE = "0123456789"


def _exchange_headers() -> tuple[list[Any], list[Any], list[Any]]:
    """The request headers, response headers and trailers of a plugrpc unary call."""
    from plugrpc._channel import USER_AGENT
    from plugrpc._marshal import CompressionSet
    from plugrpc_core import Metadata, StatusCode
    from plugrpc_transport.protocol import (
        CallStatus,
        RequestHead,
        ResponseHead,
        build_request_headers,
        build_response_headers,
        build_trailers,
    )

    request = build_request_headers(
        RequestHead(
            path="/plugrpc.testing.Echo/Unary",
            authority="127.0.0.1:1",
            content_subtype="proto",
            user_agent=USER_AGENT,
            accept_encoding=CompressionSet().accept_encoding,
        )
    )
    response = build_response_headers(ResponseHead(metadata=Metadata(), content_subtype="proto"))
    trailers = build_trailers(CallStatus(code=StatusCode.OK), trailers_only=False)
    return request, response, trailers


def h2_floor(seconds: float, *, validate: bool) -> dict[str, float]:
    """CPU microseconds per exchange of two in-memory ``H2Connection``s (client, server, total)."""
    import h2.config
    import h2.connection
    import h2.events

    request_headers, response_headers, trailers = _exchange_headers()
    if validate:
        # h2's defaults: str headers in, validation and normalisation both ways.
        def text(headers: list[Any]) -> list[tuple[str, str]]:
            return [(n.decode(), v.decode()) for n, v in headers]

        request_headers = text(request_headers)
        response_headers = text(response_headers)
        trailers = text(trailers)
        cfg: dict[str, Any] = {"header_encoding": "utf-8"}
    else:
        cfg = {
            "header_encoding": None,
            "validate_outbound_headers": False,
            "normalize_outbound_headers": False,
            "validate_inbound_headers": False,
            "normalize_inbound_headers": False,
        }
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, **cfg))
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, **cfg))
    client.initiate_connection()
    server.initiate_connection()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())

    request_type = echo_pb2.EchoRequest
    response_type = echo_pb2.EchoResponse
    prefix = b"\x00" + (0).to_bytes(4, "big")
    clock = time.process_time
    data_received = h2.events.DataReceived
    client_cpu = 0.0
    server_cpu = 0.0
    count = 0
    wall_end = time.perf_counter() + seconds
    while time.perf_counter() < wall_end:
        for _ in range(50):
            t0 = clock()
            # Client: request out.
            sid = client.get_next_available_stream_id()
            body = request_type(message=MESSAGE).SerializeToString()
            client.send_headers(sid, request_headers)
            client.send_data(sid, prefix[:1] + len(body).to_bytes(4, "big") + body, end_stream=True)
            wire = client.data_to_send()
            t1 = clock()
            # Server: request in, response out.
            request = None
            for ev in server.receive_data(wire):
                if type(ev) is data_received:
                    server.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    request = request_type.FromString(bytes(ev.data)[5:])
            assert request is not None
            body = response_type(message=request.message).SerializeToString()
            server.send_headers(sid, response_headers)
            server.send_data(sid, prefix[:1] + len(body).to_bytes(4, "big") + body)
            server.send_headers(sid, trailers, end_stream=True)
            wire = server.data_to_send()
            t2 = clock()
            # Client: response in.
            response = None
            for ev in client.receive_data(wire):
                if type(ev) is data_received:
                    client.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    response = response_type.FromString(bytes(ev.data)[5:])
            assert response is not None and response.message == MESSAGE
            wire = client.data_to_send()
            if wire:
                server.receive_data(wire)
            t3 = clock()
            client_cpu += (t1 - t0) + (t3 - t2)
            server_cpu += t2 - t1
            count += 1
    return {
        "calls": count,
        "client_us": client_cpu / count * 1e6,
        "server_us": server_cpu / count * 1e6,
        "total_us": (client_cpu + server_cpu) / count * 1e6,
    }


def machines(seconds: float) -> dict[str, float]:
    """CPU microseconds per exchange of plugrpc's sans-I/O connection machines alone.

    The same exchange as ``h2_floor``, driven through ``ClientMachine``/``ServerMachine``
    (header building and checking, HPACK memo, message framing, flow control, events): the
    transport's protocol layer without asyncio or the call layer.
    """
    from plugrpc._channel import USER_AGENT
    from plugrpc._marshal import CompressionSet
    from plugrpc_core import Metadata, StatusCode
    from plugrpc_transport.protocol import (
        CallStatus,
        ClientMachine,
        MessageReceived,
        RequestHead,
        ResponseHead,
        ServerMachine,
    )

    client = ClientMachine()
    server = ServerMachine()
    client.initiate()
    server.initiate()
    now = 0.0
    server.receive(bytes(client.data_to_send()), now)
    client.receive(bytes(server.data_to_send()), now)
    server.receive(bytes(client.data_to_send()), now)
    head = RequestHead(
        path="/plugrpc.testing.Echo/Unary",
        authority="127.0.0.1:1",
        content_subtype="proto",
        user_agent=USER_AGENT,
        accept_encoding=CompressionSet().accept_encoding,
    )
    response_head = ResponseHead(metadata=Metadata(), content_subtype="proto")
    ok = CallStatus(code=StatusCode.OK)
    request_type = echo_pb2.EchoRequest
    response_type = echo_pb2.EchoResponse
    clock = time.process_time
    client_cpu = server_cpu = 0.0
    count = 0
    wall_end = time.perf_counter() + seconds
    while time.perf_counter() < wall_end:
        for _ in range(50):
            t0 = clock()
            sid = client.start_request(head)
            client.send_message(sid, request_type(message=MESSAGE).SerializeToString(), end=True)
            wire = bytes(client.data_to_send())
            t1 = clock()
            request = None
            for ev in server.receive(wire, now):
                if type(ev) is MessageReceived:
                    server.consume(ev.stream_id, ev.flow_size)
                    request = request_type.FromString(ev.payload)
            assert request is not None
            server.send_headers(sid, response_head)
            server.send_message(sid, response_type(message=request.message).SerializeToString())
            server.send_trailers(sid, ok)
            server.handler_finished()
            wire = bytes(server.data_to_send())
            t2 = clock()
            response = None
            for ev in client.receive(wire, now):
                if type(ev) is MessageReceived:
                    client.consume(ev.stream_id, ev.flow_size)
                    response = response_type.FromString(ev.payload)
            assert response is not None and response.message == MESSAGE
            wire = bytes(client.data_to_send())
            if wire:
                server.receive(wire, now)
            t3 = clock()
            client_cpu += (t1 - t0) + (t3 - t2)
            server_cpu += t2 - t1
            count += 1
    return {
        "calls": count,
        "client_us": client_cpu / count * 1e6,
        "server_us": server_cpu / count * 1e6,
        "total_us": (client_cpu + server_cpu) / count * 1e6,
    }


async def _transport_calls(seconds: float) -> dict[str, float]:
    """Unary exchanges on plugrpc_transport's asyncio API alone (no Channel, no Server)."""
    from _memory import pair
    from plugrpc._channel import USER_AGENT
    from plugrpc._marshal import CompressionSet
    from plugrpc_core import Metadata, StatusCode
    from plugrpc_transport import ClientConnection, TransportOptions
    from plugrpc_transport._server import ServerListener
    from plugrpc_transport._server_conn import ServerConnection
    from plugrpc_transport.protocol import CallStatus, RequestHead

    loop = asyncio.get_running_loop()
    options = TransportOptions()
    ok = CallStatus(code=StatusCode.OK)
    request_type = echo_pb2.EchoRequest
    response_type = echo_pb2.EchoResponse
    empty = Metadata()

    async def handle(stream: Any) -> None:
        item = await stream.receive_message()
        while await stream.receive_message() is not None:
            pass
        request = request_type.FromString(item[1])
        await stream.send_headers(empty)
        await stream.send_message(response_type(message=request.message).SerializeToString())
        await stream.send_status(ok)
        stream.handler_done()

    tasks: set[asyncio.Task[None]] = set()

    def on_stream(stream: Any) -> None:
        task = loop.create_task(handle(stream))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    conn = ClientConnection(loop, options)
    server_conn = ServerConnection(loop, ServerListener(options), on_stream, options)
    pair(loop, conn, server_conn)
    head = RequestHead(
        path="/plugrpc.testing.Echo/Unary",
        authority="127.0.0.1:1",
        content_subtype="proto",
        user_agent=USER_AGENT,
        accept_encoding=CompressionSet().accept_encoding,
    )

    async def call() -> Any:
        stream = conn.start_stream(head)
        await stream.send_message(request_type(message=MESSAGE).SerializeToString(), end=True)
        await stream.receive_headers()
        item = await stream.receive_message()
        assert item is not None
        while await stream.receive_message() is not None:
            pass
        status = await stream.receive_status()
        assert status.code == StatusCode.OK
        return response_type.FromString(item[1])

    for _ in range(200):
        await call()
    count = 0
    cpu0 = time.process_time()
    wall_end = time.perf_counter() + seconds
    while time.perf_counter() < wall_end:
        for _ in range(50):
            response = await call()
            count += 1
    cpu = time.process_time() - cpu0
    assert response.message == MESSAGE
    conn.close()
    return {"calls": count, "total_us": cpu / count * 1e6}


def transport_in_memory(seconds: float, loop: str = "asyncio") -> dict[str, float]:
    """CPU microseconds per unary exchange on the transport's asyncio API, in memory."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(_transport_calls(seconds))
    return asyncio.run(_transport_calls(seconds))


async def _plugrpc_calls(seconds: float) -> dict[str, float]:
    import echo_plugrpc
    import plugrpc
    from _memory import memory_channel

    response_type = echo_pb2.EchoResponse

    class Echo(echo_plugrpc.EchoBase):
        async def Unary(self, request: Any, context: Any) -> Any:
            return response_type(message=request.message)

    server = plugrpc.Server([Echo()])
    channel = memory_channel(server)
    stub = echo_plugrpc.EchoStub(channel)
    request_type = echo_pb2.EchoRequest
    for _ in range(200):
        await stub.Unary(request_type(message=MESSAGE))
    count = 0
    clock = time.process_time
    cpu0 = clock()
    wall_end = time.perf_counter() + seconds
    while time.perf_counter() < wall_end:
        for _ in range(50):
            response = await stub.Unary(request_type(message=MESSAGE))
            count += 1
    cpu = clock() - cpu0
    assert response.message == MESSAGE
    await channel.close()
    await server.stop(None)
    return {"calls": count, "total_us": cpu / count * 1e6}


def plugrpc_in_memory(seconds: float, loop: str = "asyncio") -> dict[str, float]:
    """CPU microseconds per unary call of plugrpc's whole stack over in-memory transports."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(_plugrpc_calls(seconds))
    return asyncio.run(_plugrpc_calls(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--profile", action="store_true", help="cProfile the plugrpc run")
    parser.add_argument("--all", action="store_true", help="plugrpc on both loops, JSON only")
    args = parser.parse_args()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        plugrpc_in_memory(args.seconds, args.loop)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(40)
        return
    out = {
        "h2_default": h2_floor(args.seconds, validate=True),
        "h2_novalidate": h2_floor(args.seconds, validate=False),
        "machines": machines(args.seconds),
        "transport": transport_in_memory(args.seconds, args.loop),
    }
    loops: tuple[str, ...] = (args.loop,)
    if args.all:
        import importlib.util

        has_uvloop = importlib.util.find_spec("uvloop") is not None
        loops = ("asyncio", "uvloop") if has_uvloop else ("asyncio",)
    for loop in loops:
        out["plugrpc" if loop == "asyncio" else "plugrpc_uvloop"] = plugrpc_in_memory(
            args.seconds, loop
        )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
