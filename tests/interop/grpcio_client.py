"""An interop client on grpcio 1.85 (grpc.aio): the peer that calls the plugrpc interop server.

Run from the repository root::

    python tests/interop/grpcio_client.py --server_port=10000 --test_case=large_unary

Same flags, cases and exit status as tools/interop/client.py (0 when every assertion held,
1 with the reason otherwise), written against grpcio's own API. Three cases are out of
grpcio's reach and fail here with the reason (the matrix skips them): grpcio's client cannot
see the compressed flag of a response message (server_compressed_unary,
server_compressed_streaming) and cannot send one message of a compressed stream uncompressed
(client_compressed_streaming).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "interop"))

from interop_common import (
    ECHO_INITIAL_KEY,
    ECHO_INITIAL_VALUE,
    ECHO_TRAILING_KEY,
    ECHO_TRAILING_VALUE,
    LARGE_REQUEST_SIZE,
    LARGE_RESPONSE_SIZE,
    REQUEST_SIZES,
    RESPONSE_SIZES,
    SPECIAL_STATUS_MESSAGE,
    STATUS_MESSAGE,
    CaseFailed,
    check,
    client_parser,
    use_generated_modules,
)

use_generated_modules()

import grpc  # noqa: E402
import interop_empty_pb2 as empty_pb2  # noqa: E402
import interop_messages_pb2 as messages_pb2  # noqa: E402
import interop_test_pb2_grpc as test_pb2_grpc  # noqa: E402

#: What grpcio's client API cannot do, by case.
UNSUPPORTED = {
    "server_compressed_unary": "grpcio's client does not expose a response message's "
    "compressed flag",
    "server_compressed_streaming": "grpcio's client does not expose a response message's "
    "compressed flag",
    "client_compressed_streaming": "grpcio's client cannot send one message of a compressed "
    "stream uncompressed",
}


def _payload(size: int) -> messages_pb2.Payload:
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


def _large_request(**fields: Any) -> messages_pb2.SimpleRequest:
    return messages_pb2.SimpleRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_size=LARGE_RESPONSE_SIZE,
        payload=_payload(LARGE_REQUEST_SIZE),
        **fields,
    )


def _streaming_request(response_size: int, payload_size: int) -> Any:
    return messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=response_size)],
        payload=_payload(payload_size),
    )


def _check_body(payload: messages_pb2.Payload, size: int, what: str) -> None:
    check(len(payload.body) == size, f"{what}: payload body is {len(payload.body)}, want {size}")
    check(payload.body == bytes(size), f"{what}: payload body is not all zeros")


async def _expect_status(
    call: Awaitable[Any], code: grpc.StatusCode, what: str, message: str | None = None
) -> None:
    try:
        await call
    except grpc.aio.AioRpcError as err:
        check(err.code() == code, f"{what}: status {err.code()} ({err.details()!r}), want {code}")
        if message is not None:
            check(err.details() == message, f"{what}: message {err.details()!r}, want {message!r}")
        return
    raise CaseFailed(f"{what}: the call succeeded, want {code}")


def _metadata_value(metadata: Any, key: str) -> Any:
    for k, v in metadata or ():
        if k == key:
            return v
    return None


class Cases:
    """The interop cases on grpc.aio, one ``async`` method per case."""

    def __init__(self, args: Any, channel: grpc.aio.Channel) -> None:
        self.args = args
        self.channel = channel
        self.stub = test_pb2_grpc.TestServiceStub(channel)

    async def empty_unary(self) -> None:
        response = await self.stub.EmptyCall(empty_pb2.Empty())
        check(isinstance(response, empty_pb2.Empty), f"EmptyCall returned {response!r}")

    async def large_unary(self) -> None:
        response = await self.stub.UnaryCall(_large_request())
        _check_body(response.payload, LARGE_RESPONSE_SIZE, "UnaryCall")

    async def client_streaming(self) -> None:
        call = self.stub.StreamingInputCall()
        for size in REQUEST_SIZES:
            await call.write(messages_pb2.StreamingInputCallRequest(payload=_payload(size)))
        await call.done_writing()
        response = await call
        check(
            response.aggregated_payload_size == sum(REQUEST_SIZES),
            f"aggregated_payload_size is {response.aggregated_payload_size}",
        )

    async def server_streaming(self) -> None:
        request = messages_pb2.StreamingOutputCallRequest(
            response_parameters=[messages_pb2.ResponseParameters(size=s) for s in RESPONSE_SIZES]
        )
        call = self.stub.StreamingOutputCall(request)
        sizes = [len(response.payload.body) async for response in call]
        check(sizes == list(RESPONSE_SIZES), f"response sizes {sizes}, want {RESPONSE_SIZES}")
        check(await call.code() == grpc.StatusCode.OK, f"status {await call.code()}")

    async def ping_pong(self) -> None:
        call = self.stub.FullDuplexCall()
        for index, (request_size, response_size) in enumerate(
            zip(REQUEST_SIZES, RESPONSE_SIZES, strict=True)
        ):
            await call.write(_streaming_request(response_size, request_size))
            response = await call.read()
            check(response is not grpc.aio.EOF, f"the stream ended after {index} responses")
            _check_body(response.payload, response_size, f"response {index}")
        await call.done_writing()
        check(await call.read() is grpc.aio.EOF, "a fifth response arrived")
        check(await call.code() == grpc.StatusCode.OK, f"status {await call.code()}")

    async def empty_stream(self) -> None:
        call = self.stub.FullDuplexCall()
        await call.done_writing()
        responses = [response async for response in call]
        check(not responses, f"{len(responses)} responses arrived, want none")
        check(await call.code() == grpc.StatusCode.OK, f"status {await call.code()}")

    async def timeout_on_sleeping_server(self) -> None:
        call = self.stub.FullDuplexCall(timeout=0.001)
        try:
            await call.write(
                messages_pb2.StreamingOutputCallRequest(payload=_payload(REQUEST_SIZES[0]))
            )
            await call.read()
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass  # the status decides
        code = await call.code()
        check(code == grpc.StatusCode.DEADLINE_EXCEEDED, f"status {code}, want DEADLINE_EXCEEDED")

    async def cancel_after_begin(self) -> None:
        call = self.stub.StreamingInputCall()
        await call.wait_for_connection()
        call.cancel()
        code = await call.code()
        check(code == grpc.StatusCode.CANCELLED, f"status {code}, want CANCELLED")

    async def cancel_after_first_response(self) -> None:
        call = self.stub.FullDuplexCall()
        await call.write(_streaming_request(RESPONSE_SIZES[0], REQUEST_SIZES[0]))
        response = await call.read()
        check(response is not grpc.aio.EOF, "the stream ended before the first response")
        _check_body(response.payload, RESPONSE_SIZES[0], "first response")
        call.cancel()
        code = await call.code()
        check(code == grpc.StatusCode.CANCELLED, f"status {code}, want CANCELLED")

    async def _echo_status(self, message: str, *, bidi: bool) -> None:
        status = messages_pb2.EchoStatus(code=2, message=message)
        await _expect_status(
            self.stub.UnaryCall(messages_pb2.SimpleRequest(response_status=status)),
            grpc.StatusCode.UNKNOWN,
            "UnaryCall",
            message,
        )
        if bidi:
            call = self.stub.FullDuplexCall()
            await call.write(messages_pb2.StreamingOutputCallRequest(response_status=status))
            await call.done_writing()
            await _expect_status(call.read(), grpc.StatusCode.UNKNOWN, "FullDuplexCall", message)

    async def status_code_and_message(self) -> None:
        await self._echo_status(STATUS_MESSAGE, bidi=True)

    async def special_status_message(self) -> None:
        await self._echo_status(SPECIAL_STATUS_MESSAGE, bidi=False)

    async def custom_metadata(self) -> None:
        metadata = (
            (ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE),
            (ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE),
        )

        async def check_echo(call: Any, what: str) -> None:
            initial = _metadata_value(await call.initial_metadata(), ECHO_INITIAL_KEY)
            check(initial == ECHO_INITIAL_VALUE, f"{what}: echoed header is {initial!r}")
            trailing = _metadata_value(await call.trailing_metadata(), ECHO_TRAILING_KEY)
            check(trailing == ECHO_TRAILING_VALUE, f"{what}: echoed trailer is {trailing!r}")

        unary = self.stub.UnaryCall(_large_request(), metadata=metadata)
        _check_body((await unary).payload, LARGE_RESPONSE_SIZE, "UnaryCall")
        await check_echo(unary, "UnaryCall")
        bidi = self.stub.FullDuplexCall(metadata=metadata)
        await bidi.write(_streaming_request(LARGE_RESPONSE_SIZE, LARGE_REQUEST_SIZE))
        await bidi.done_writing()
        responses = [r async for r in bidi]
        check(len(responses) == 1, f"FullDuplexCall: {len(responses)} responses, want 1")
        _check_body(responses[0].payload, LARGE_RESPONSE_SIZE, "FullDuplexCall")
        await check_echo(bidi, "FullDuplexCall")

    async def unimplemented_method(self) -> None:
        await _expect_status(
            self.stub.UnimplementedCall(empty_pb2.Empty()),
            grpc.StatusCode.UNIMPLEMENTED,
            "TestService/UnimplementedCall",
        )

    async def unimplemented_service(self) -> None:
        stub = test_pb2_grpc.UnimplementedServiceStub(self.channel)
        await _expect_status(
            stub.UnimplementedCall(empty_pb2.Empty()),
            grpc.StatusCode.UNIMPLEMENTED,
            "UnimplementedService/UnimplementedCall",
        )

    async def client_compressed_unary(self) -> None:
        await _expect_status(
            self.stub.UnaryCall(
                _large_request(expect_compressed=messages_pb2.BoolValue(value=True))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
            "the uncompressed probe flagged expect_compressed",
        )
        for compressed in (True, False):
            request = _large_request(expect_compressed=messages_pb2.BoolValue(value=compressed))
            response = await self.stub.UnaryCall(
                request, compression=grpc.Compression.Gzip if compressed else None
            )
            _check_body(response.payload, LARGE_RESPONSE_SIZE, f"compressed={compressed}")

    async def rpc_soak(self) -> None:
        await _soak(self.args, self.channel)

    async def channel_soak(self) -> None:
        await _soak(self.args, None)


async def _soak(args: Any, shared: grpc.aio.Channel | None) -> None:
    """large_unary in a loop (grpc-go's soak rules; see tools/interop/client.py)."""
    workers = max(1, args.soak_num_threads)
    per_worker = args.soak_iterations // workers
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + args.soak_overall_timeout_seconds
    max_latency = args.soak_per_iteration_max_acceptable_latency_ms / 1000
    request = messages_pb2.SimpleRequest(
        response_size=args.soak_response_size, payload=_payload(args.soak_request_size)
    )
    counts = {"attempted": 0, "failures": 0}

    async def worker(worker_id: int) -> None:
        for index in range(per_worker):
            if loop.time() >= stop_at:
                return
            earliest_next = loop.time() + args.soak_min_time_ms_between_rpcs / 1000
            counts["attempted"] += 1
            channel = shared if shared is not None else _channel(args)
            begin = loop.time()
            try:
                response = await test_pb2_grpc.TestServiceStub(channel).UnaryCall(
                    request, timeout=max(stop_at - begin, max_latency)
                )
                _check_body(response.payload, args.soak_response_size, "UnaryCall")
                latency = loop.time() - begin
                if latency > max_latency:
                    raise CaseFailed(f"took {latency * 1000:.0f} ms")
            except (grpc.aio.AioRpcError, CaseFailed) as err:
                counts["failures"] += 1
                print(f"worker {worker_id}: iteration {index} failed: {err}", file=sys.stderr)
            finally:
                if shared is None:
                    await channel.close()
            await asyncio.sleep(max(0.0, earliest_next - loop.time()))

    await asyncio.gather(*(worker(w) for w in range(workers)))
    planned = per_worker * workers
    print(f"soak: {counts['attempted']}/{planned}, {counts['failures']} failed", file=sys.stderr)
    check(counts["attempted"] == planned, "the overall timeout stopped the soak")
    check(counts["failures"] <= args.soak_max_failures, f"{counts['failures']} iterations failed")


def _channel(args: Any) -> grpc.aio.Channel:
    host = args.server_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    target = f"{host}:{args.server_port}"
    if not args.use_tls:
        options = []
        if args.server_host_override:
            options.append(("grpc.default_authority", args.server_host_override))
        return grpc.aio.insecure_channel(target, options=options)
    if args.use_test_ca and not args.ca_file:
        raise SystemExit("--use_test_ca=true needs --ca_file (no test CA is bundled)")
    roots = Path(args.ca_file).read_bytes() if args.ca_file else None
    options = []
    if args.server_host_override:
        options.append(("grpc.ssl_target_name_override", args.server_host_override))
    return grpc.aio.secure_channel(
        target, grpc.ssl_channel_credentials(root_certificates=roots), options=options
    )


async def run(args: Any) -> None:
    """Run ``args.test_case`` on a fresh channel."""
    reason = UNSUPPORTED.get(args.test_case)
    if reason is not None:
        raise CaseFailed(f"not supported: {reason}")
    channel = _channel(args)
    try:
        await getattr(Cases(args, channel), args.test_case)()
    finally:
        await channel.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the standard client flags, run the case, and report: 0 passed, 1 failed."""
    args = client_parser("grpcio_client.py", "grpcio interop client").parse_args(argv)
    began = time.monotonic()
    try:
        asyncio.run(run(args))
    except CaseFailed as failure:
        print(f"{args.test_case}: FAIL: {failure}", file=sys.stderr)
        return 1
    except grpc.aio.AioRpcError as err:
        print(
            f"{args.test_case}: FAIL: unexpected status {err.code()}: {err.details()}",
            file=sys.stderr,
        )
        return 1
    print(f"{args.test_case}: PASS ({time.monotonic() - began:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
