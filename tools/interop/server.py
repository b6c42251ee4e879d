"""The plugrpc interop server: grpc.testing.TestService, for gRPC's standard interop cases.

Run from the repository root with the default env's interpreter::

    python tools/interop/server.py --port=10000
    python tools/interop/server.py --port=10000 --use_tls=true \\
        --tls_cert_file=server.pem --tls_key_file=server.key

It implements every TestService method the interop cases use, with the server features of
gRPC's interop test descriptions: response sizes and ``interval_us``, Echo Status, Echo
Metadata (``x-grpc-test-echo-initial`` in headers, ``x-grpc-test-echo-trailing-bin`` in
trailers), CompressedRequest (``expect_compressed`` is checked against each request message's
compressed flag) and CompressedResponse (``response_compressed`` / ``compressed`` set the
flag of each response message). ``UnimplementedCall`` is deliberately not served, and
``grpc.testing.UnimplementedService`` is not registered, so clients see UNIMPLEMENTED.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING

from interop_common import (
    ECHO_INITIAL_KEY,
    ECHO_TRAILING_KEY,
    server_parser,
    use_generated_modules,
)

use_generated_modules()

import interop_empty_pb2 as empty_pb2  # noqa: E402
import interop_messages_pb2 as messages_pb2  # noqa: E402
import interop_test_plugrpc as test_plugrpc  # noqa: E402
import plugrpc  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from plugrpc_core import ServerCredentials

#: The compressor used when a client asks for a compressed response.
COMPRESSION = "gzip"
SERVER_ID = f"plugrpc-interop-{socket.gethostname()}-{os.getpid()}"


def _payload(size: int) -> messages_pb2.Payload:
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


class _Echo:
    """Echo Metadata for one call: trailers at once, headers just before the first response.

    The headers wait so that the handler can still choose the call's compression (which
    travels in the same HEADERS frame as ``grpc-encoding``) after reading a request.
    """

    __slots__ = ("_context", "_initial")

    def __init__(self, context: plugrpc.ServicerContext) -> None:
        self._context = context
        metadata = context.invocation_metadata()
        initial = metadata.get(ECHO_INITIAL_KEY)
        self._initial = [(ECHO_INITIAL_KEY, initial)] if initial is not None else None
        trailing = metadata.get(ECHO_TRAILING_KEY)
        if trailing is not None:
            context.set_trailing_metadata([(ECHO_TRAILING_KEY, trailing)])

    async def flush(self) -> None:
        """Send the echoed response headers now, if the client asked for them."""
        if self._initial is not None:
            initial, self._initial = self._initial, None
            await self._context.send_initial_metadata(initial)


async def _check_request_compression(
    expect: messages_pb2.BoolValue | None, context: plugrpc.ServicerContext
) -> None:
    """CompressedRequest: fail INVALID_ARGUMENT when the message's flag is not the expected one."""
    if expect is None:
        return
    compressed = context.request_compressed()
    if expect.value and not compressed:
        await context.abort(
            plugrpc.StatusCode.INVALID_ARGUMENT,
            "expected a compressed request message, got an uncompressed one",
        )
    if not expect.value and compressed:
        await context.abort(
            plugrpc.StatusCode.INVALID_ARGUMENT,
            "expected an uncompressed request message, got a compressed one",
        )


async def _echo_status(
    status: messages_pb2.EchoStatus, echo: _Echo, context: plugrpc.ServicerContext
) -> None:
    """Echo Status: end the call with the status the client sent, if any."""
    if status.code != 0:
        await echo.flush()
        await context.abort(plugrpc.StatusCode(status.code), status.message)


async def _check_payload_type(response_type: int, context: plugrpc.ServicerContext) -> None:
    if response_type != messages_pb2.COMPRESSABLE:
        await context.abort(
            plugrpc.StatusCode.INVALID_ARGUMENT, f"unsupported response type {response_type}"
        )


class TestService(test_plugrpc.TestServiceBase):
    """grpc.testing.TestService with the interop server features."""

    async def EmptyCall(
        self, request: empty_pb2.Empty, context: plugrpc.ServicerContext
    ) -> empty_pb2.Empty:
        await _Echo(context).flush()
        return empty_pb2.Empty()

    async def UnaryCall(
        self, request: messages_pb2.SimpleRequest, context: plugrpc.ServicerContext
    ) -> messages_pb2.SimpleResponse:
        echo = _Echo(context)
        if request.HasField("response_compressed"):
            if request.response_compressed.value:
                context.set_compression(COMPRESSION)
            context.set_message_compression(request.response_compressed.value)
        await _check_request_compression(
            request.expect_compressed if request.HasField("expect_compressed") else None, context
        )
        await _echo_status(request.response_status, echo, context)
        await _check_payload_type(request.response_type, context)
        await echo.flush()
        response = messages_pb2.SimpleResponse(payload=_payload(request.response_size))
        if request.fill_server_id:
            response.server_id = SERVER_ID
            response.hostname = socket.gethostname()
        return response

    async def CacheableUnaryCall(
        self, request: messages_pb2.SimpleRequest, context: plugrpc.ServicerContext
    ) -> messages_pb2.SimpleResponse:
        # No caching proxy sits in front of this server: it answers like UnaryCall.
        return await self.UnaryCall(request, context)

    async def StreamingOutputCall(
        self, request: messages_pb2.StreamingOutputCallRequest, context: plugrpc.ServicerContext
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        echo = _Echo(context)
        await _echo_status(request.response_status, echo, context)
        await _check_payload_type(request.response_type, context)
        _choose_compression(request.response_parameters, context)
        await echo.flush()
        for params in request.response_parameters:
            yield await _respond(params, context)

    async def StreamingInputCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingInputCallRequest],
        context: plugrpc.ServicerContext,
    ) -> messages_pb2.StreamingInputCallResponse:
        echo = _Echo(context)
        total = 0
        async for request in request_iterator:
            await _check_request_compression(
                request.expect_compressed if request.HasField("expect_compressed") else None,
                context,
            )
            total += len(request.payload.body)
        await echo.flush()
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    async def FullDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: plugrpc.ServicerContext,
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        echo = _Echo(context)
        first = True
        async for request in request_iterator:
            await _echo_status(request.response_status, echo, context)
            await _check_payload_type(request.response_type, context)
            if first:
                # The call's encoding goes out with the headers, before the first response.
                _choose_compression(request.response_parameters, context)
                first = False
            await echo.flush()
            for params in request.response_parameters:
                yield await _respond(params, context)
        await echo.flush()

    async def HalfDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: plugrpc.ServicerContext,
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        echo = _Echo(context)
        requests = [request async for request in request_iterator]
        for request in requests:
            await _echo_status(request.response_status, echo, context)
            await _check_payload_type(request.response_type, context)
        _choose_compression([p for r in requests for p in r.response_parameters], context)
        await echo.flush()
        for request in requests:
            for params in request.response_parameters:
                yield await _respond(params, context)


def _choose_compression(
    parameters: Sequence[messages_pb2.ResponseParameters], context: plugrpc.ServicerContext
) -> None:
    """Compress the call's responses when any of them asks to be compressed."""
    if any(p.HasField("compressed") and p.compressed.value for p in parameters):
        context.set_compression(COMPRESSION)


async def _respond(
    params: messages_pb2.ResponseParameters, context: plugrpc.ServicerContext
) -> messages_pb2.StreamingOutputCallResponse:
    """One streamed response: wait ``interval_us``, set its compressed flag, build it."""
    if params.interval_us > 0:
        await asyncio.sleep(params.interval_us / 1_000_000)
    if params.HasField("compressed"):
        context.set_message_compression(params.compressed.value)
    return messages_pb2.StreamingOutputCallResponse(payload=_payload(params.size))


def _served_descriptor() -> plugrpc.ServiceDescriptor:
    """TestService without UnimplementedCall: the interop cases expect it to be unknown."""
    service = test_plugrpc.TEST_SERVICE
    return dataclasses.replace(
        service, methods=tuple(m for m in service.methods if m.name != "UnimplementedCall")
    )


def _credentials(use_tls: bool, cert_file: str, key_file: str) -> ServerCredentials | None:
    if not use_tls:
        return None
    if not cert_file or not key_file:
        raise SystemExit("--use_tls=true needs --tls_cert_file and --tls_key_file")
    from plugrpc_credentials_tls import TlsServerCredentials

    return TlsServerCredentials(cert_file=cert_file, key_file=key_file)


async def serve(port: int, credentials: ServerCredentials | None) -> None:
    """Serve TestService on every interface at ``port`` until SIGINT or SIGTERM."""
    server = plugrpc.Server(credentials=credentials)
    server.add_service(TestService(), _served_descriptor())
    bound = await server.start(f":{port}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"plugrpc interop server listening on port {bound} "
        f"({'TLS' if credentials is not None else 'plaintext'})",
        flush=True,
    )
    await stop.wait()
    await server.stop(grace=1.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the standard server flags and serve."""
    args = server_parser("server.py", __doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    credentials = _credentials(args.use_tls, args.tls_cert_file, args.tls_key_file)
    asyncio.run(serve(args.port, credentials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
