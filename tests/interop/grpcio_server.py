"""An interop server on grpcio 1.85 (grpc.aio): the peer the plugrpc interop client talks to.

Run from the repository root::

    python tests/interop/grpcio_server.py --port=10000 [--use_tls=true
        --tls_cert_file=server.pem --tls_key_file=server.key]

Same flags and TestService behaviour as tools/interop/server.py, written against grpcio's
own API. One server feature is out of grpcio's reach: its servicer context does not say
whether a request message arrived compressed, so ``expect_compressed`` cannot be checked
(CompressedRequest); the matrix skips client_compressed_unary and client_compressed_streaming
against this server. Responses are compressed on request (CompressedResponse), message by
message, with ``set_compression`` and ``disable_next_message_compression``.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "interop"))

from interop_common import (
    ECHO_INITIAL_KEY,
    ECHO_TRAILING_KEY,
    server_parser,
    use_generated_modules,
)

use_generated_modules()

import grpc  # noqa: E402
import interop_empty_pb2 as empty_pb2  # noqa: E402
import interop_messages_pb2 as messages_pb2  # noqa: E402
import interop_test_pb2_grpc as test_pb2_grpc  # noqa: E402

_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _payload(size: int) -> messages_pb2.Payload:
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


class _Echo:
    """Echo Metadata: trailers at once, headers just before the first response."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context
        self._sent = False
        metadata = dict(context.invocation_metadata() or ())
        initial = metadata.get(ECHO_INITIAL_KEY)
        self._initial = ((ECHO_INITIAL_KEY, initial),) if initial is not None else None
        trailing = metadata.get(ECHO_TRAILING_KEY)
        if trailing is not None:
            context.set_trailing_metadata(((ECHO_TRAILING_KEY, trailing),))

    async def flush(self, *, force: bool = False) -> None:
        """Send the echoed headers now; with ``force``, send (empty) headers regardless."""
        if self._initial is not None or (force and not self._sent):
            initial, self._initial = self._initial or (), None
            self._sent = True
            await self._context.send_initial_metadata(initial)


async def _echo_status(
    status: messages_pb2.EchoStatus, echo: _Echo, context: grpc.aio.ServicerContext
) -> None:
    if status.code != 0:
        await echo.flush()
        await context.abort(_CODES[status.code], status.message)


async def _check_payload_type(response_type: int, context: grpc.aio.ServicerContext) -> None:
    if response_type != messages_pb2.COMPRESSABLE:
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT, f"unsupported response type {response_type}"
        )


def _choose_compression(
    parameters: Sequence[messages_pb2.ResponseParameters], context: grpc.aio.ServicerContext
) -> bool:
    if any(p.HasField("compressed") and p.compressed.value for p in parameters):
        context.set_compression(grpc.Compression.Gzip)
        return True
    return False


async def _respond(
    params: messages_pb2.ResponseParameters, compressing: bool, context: grpc.aio.ServicerContext
) -> messages_pb2.StreamingOutputCallResponse:
    if params.interval_us > 0:
        await asyncio.sleep(params.interval_us / 1_000_000)
    if compressing and params.HasField("compressed") and not params.compressed.value:
        context.disable_next_message_compression()
    return messages_pb2.StreamingOutputCallResponse(payload=_payload(params.size))


class TestService(test_pb2_grpc.TestServiceServicer):
    """grpc.testing.TestService on grpc.aio (UnimplementedCall keeps grpcio's default)."""

    async def EmptyCall(
        self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await _Echo(context).flush()
        return empty_pb2.Empty()

    async def UnaryCall(
        self, request: messages_pb2.SimpleRequest, context: grpc.aio.ServicerContext
    ) -> messages_pb2.SimpleResponse:
        echo = _Echo(context)
        compress = request.response_compressed.value
        if compress:
            context.set_compression(grpc.Compression.Gzip)
        await _echo_status(request.response_status, echo, context)
        await _check_payload_type(request.response_type, context)
        # grpc.aio applies set_compression() through the initial metadata it sends; when a
        # unary handler leaves them to go out with the response, the compression is lost
        # (grpcio 1.85), so a compressed response sends them first.
        await echo.flush(force=compress)
        return messages_pb2.SimpleResponse(payload=_payload(request.response_size))

    async def CacheableUnaryCall(
        self, request: messages_pb2.SimpleRequest, context: grpc.aio.ServicerContext
    ) -> messages_pb2.SimpleResponse:
        return await self.UnaryCall(request, context)

    async def StreamingOutputCall(
        self, request: messages_pb2.StreamingOutputCallRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        echo = _Echo(context)
        await _echo_status(request.response_status, echo, context)
        await _check_payload_type(request.response_type, context)
        compressing = _choose_compression(request.response_parameters, context)
        await echo.flush()
        for params in request.response_parameters:
            yield await _respond(params, compressing, context)

    async def StreamingInputCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingInputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> messages_pb2.StreamingInputCallResponse:
        echo = _Echo(context)
        total = 0
        async for request in request_iterator:
            total += len(request.payload.body)
        await echo.flush()
        return messages_pb2.StreamingInputCallResponse(aggregated_payload_size=total)

    async def FullDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        echo = _Echo(context)
        compressing: bool | None = None
        async for request in request_iterator:
            await _echo_status(request.response_status, echo, context)
            await _check_payload_type(request.response_type, context)
            if compressing is None:
                compressing = _choose_compression(request.response_parameters, context)
            await echo.flush()
            for params in request.response_parameters:
                yield await _respond(params, compressing, context)
        await echo.flush()

    async def HalfDuplexCall(
        self,
        request_iterator: AsyncIterator[messages_pb2.StreamingOutputCallRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[messages_pb2.StreamingOutputCallResponse]:
        echo = _Echo(context)
        requests = [request async for request in request_iterator]
        for request in requests:
            await _echo_status(request.response_status, echo, context)
            await _check_payload_type(request.response_type, context)
        compressing = _choose_compression(
            [p for r in requests for p in r.response_parameters], context
        )
        await echo.flush()
        for request in requests:
            for params in request.response_parameters:
                yield await _respond(params, compressing, context)


async def serve(port: int, use_tls: bool, cert_file: str, key_file: str) -> None:
    """Serve TestService on every interface at ``port`` until SIGINT or SIGTERM."""
    server = grpc.aio.server()
    test_pb2_grpc.add_TestServiceServicer_to_server(TestService(), server)
    address = f"[::]:{port}"
    if use_tls:
        if not cert_file or not key_file:
            raise SystemExit("--use_tls=true needs --tls_cert_file and --tls_key_file")
        credentials = grpc.ssl_server_credentials(
            [(Path(key_file).read_bytes(), Path(cert_file).read_bytes())]
        )
        bound = server.add_secure_port(address, credentials)
    else:
        bound = server.add_insecure_port(address)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"grpcio interop server listening on port {bound} ({'TLS' if use_tls else 'plaintext'})",
        flush=True,
    )
    await stop.wait()
    await server.stop(grace=1.0)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the standard server flags and serve."""
    args = server_parser("grpcio_server.py", "grpcio interop server").parse_args(argv)
    asyncio.run(serve(args.port, args.use_tls, args.tls_cert_file, args.tls_key_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
