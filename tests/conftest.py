"""Shared fixtures for the repository-level integration and interop tests.

Generated modules for tests/protos/echo.proto live in tests/gen (kept fresh by a test in
plugrpc-tools); they are imported as top-level modules.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "gen"))

import echo_pb2
import echo_plugrpc
import plugrpc


class EchoService(echo_plugrpc.EchoBase):
    """The Echo service every integration test talks to.

    Behaviour is driven by the request: ``sleep_ms`` before answering, ``fail_code`` /
    ``fail_message`` to end with that status, ``response_count`` / ``response_size`` for
    streamed answers. Request metadata keys starting with ``x-echo-`` come back as response
    headers, and every call ends with trailers ``x-trailer: done`` and ``x-trailer-bin``.
    Cancellations seen by handlers are recorded in ``cancelled``.
    """

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.started = 0
        self.finished = 0
        self.started_event = asyncio.Event()

    async def _prologue(self, context: plugrpc.ServicerContext) -> None:
        echo = [(k, v) for k, v in context.invocation_metadata() if k.startswith("x-echo-")]
        if echo:
            await context.send_initial_metadata(echo)
        context.set_trailing_metadata([("x-trailer", "done"), ("x-trailer-bin", b"\x00\xff")])

    async def _maybe_fail(self, request: Any, context: plugrpc.ServicerContext) -> None:
        if request.sleep_ms:
            await asyncio.sleep(request.sleep_ms / 1000)
        if request.fail_code:
            await context.abort(
                plugrpc.StatusCode(request.fail_code),
                request.fail_message,
                trailing_metadata=[("x-trailer", "failed")],
                status_details_bin=b"rich:" + request.fail_message.encode(),
            )

    async def Unary(
        self, request: echo_pb2.EchoRequest, context: plugrpc.ServicerContext
    ) -> echo_pb2.EchoResponse:
        self.started += 1
        self.started_event.set()
        try:
            await self._prologue(context)
            await self._maybe_fail(request, context)
            payload = request.payload or b"r" * request.response_size
            return echo_pb2.EchoResponse(message=request.message, payload=payload)
        except asyncio.CancelledError:
            self.cancelled.append("Unary")
            raise
        finally:
            self.finished += 1

    async def ServerStream(
        self, request: echo_pb2.EchoRequest, context: plugrpc.ServicerContext
    ) -> AsyncIterator[echo_pb2.EchoResponse]:
        self.started_event.set()
        try:
            await self._prologue(context)
            for index in range(request.response_count):
                yield echo_pb2.EchoResponse(
                    message=request.message, payload=b"s" * request.response_size, index=index
                )
                if request.sleep_ms:
                    await asyncio.sleep(request.sleep_ms / 1000)
            if request.fail_code:
                await context.abort(plugrpc.StatusCode(request.fail_code), request.fail_message)
        except asyncio.CancelledError:
            self.cancelled.append("ServerStream")
            raise

    async def ClientStream(
        self,
        request_iterator: AsyncIterator[echo_pb2.EchoRequest],
        context: plugrpc.ServicerContext,
    ) -> echo_pb2.EchoResponse:
        self.started_event.set()
        count = 0
        size = 0
        try:
            await self._prologue(context)
            async for request in request_iterator:
                count += 1
                size += len(request.payload)
            return echo_pb2.EchoResponse(received_count=count, received_bytes=size)
        except asyncio.CancelledError:
            self.cancelled.append("ClientStream")
            raise

    async def Bidi(
        self,
        request_iterator: AsyncIterator[echo_pb2.EchoRequest],
        context: plugrpc.ServicerContext,
    ) -> AsyncIterator[echo_pb2.EchoResponse]:
        self.started_event.set()
        try:
            await self._prologue(context)
            index = 0
            async for request in request_iterator:
                await self._maybe_fail(request, context)
                yield echo_pb2.EchoResponse(
                    message=request.message, payload=request.payload, index=index
                )
                index += 1
        except asyncio.CancelledError:
            self.cancelled.append("Bidi")
            raise


@pytest.fixture
def echo_service() -> EchoService:
    return EchoService()


@pytest.fixture
async def echo_server(echo_service: EchoService) -> AsyncIterator[tuple[plugrpc.Server, int]]:
    server = plugrpc.Server([echo_service])
    port = await server.start("127.0.0.1:0")
    try:
        yield server, port
    finally:
        await server.stop(grace=1.0)


@pytest.fixture
async def echo_channel(echo_server: tuple[plugrpc.Server, int]) -> AsyncIterator[plugrpc.Channel]:
    _, port = echo_server
    async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
        yield channel


@pytest.fixture
def echo_stub(echo_channel: plugrpc.Channel) -> echo_plugrpc.EchoStub:
    return echo_plugrpc.EchoStub(echo_channel)
