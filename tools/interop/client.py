"""The plugrpc interop client: runs one of gRPC's standard interop cases against a server.

Run from the repository root with the default env's interpreter::

    python tools/interop/client.py --server_port=10000 --test_case=large_unary
    python tools/interop/client.py --server_port=10000 --test_case=ping_pong --use_tls=true \\
        --ca_file=ca.pem --server_host_override=foo.test.google.fr

It exits 0 when every assertion of the case held; otherwise it prints which one failed and
why, and exits 1. The cases and what they assert follow gRPC's interop test descriptions
(doc/interop-test-descriptions.md); the soak cases follow grpc-go's soak client and flags.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any

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

import interop_empty_pb2 as empty_pb2  # noqa: E402
import interop_messages_pb2 as messages_pb2  # noqa: E402
import interop_test_plugrpc as test_plugrpc  # noqa: E402
import plugrpc  # noqa: E402
from plugrpc import RpcError, StatusCode  # noqa: E402

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable, Sequence

    from plugrpc_core import ChannelCredentials

#: The compressor the client_compressed_* cases use.
COMPRESSION = "gzip"


def _payload(size: int) -> messages_pb2.Payload:
    return messages_pb2.Payload(type=messages_pb2.COMPRESSABLE, body=bytes(size))


def _large_request(**fields: Any) -> messages_pb2.SimpleRequest:
    return messages_pb2.SimpleRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_size=LARGE_RESPONSE_SIZE,
        payload=_payload(LARGE_REQUEST_SIZE),
        **fields,
    )


def _streaming_request(
    response_size: int, payload_size: int = 0, **fields: Any
) -> messages_pb2.StreamingOutputCallRequest:
    return messages_pb2.StreamingOutputCallRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_parameters=[messages_pb2.ResponseParameters(size=response_size)],
        payload=_payload(payload_size) if payload_size else None,
        **fields,
    )


def _check_body(payload: messages_pb2.Payload, size: int, what: str) -> None:
    check(
        len(payload.body) == size,
        f"{what}: payload body is {len(payload.body)} bytes, want {size}",
    )
    check(payload.body == bytes(size), f"{what}: payload body is not all zeros")


async def _expect_status(
    call: Awaitable[Any], code: StatusCode, what: str, message: str | None = None
) -> RpcError:
    """Await ``call`` and check that it fails with ``code`` (and ``message``, if given)."""
    try:
        await call
    except RpcError as err:
        check(
            err.code() == code,
            f"{what}: status {err.code().name} ({err.details()!r}), want {code.name}",
        )
        if message is not None:
            check(
                err.details() == message,
                f"{what}: status message {err.details()!r}, want {message!r}",
            )
        return err
    raise CaseFailed(f"{what}: the call succeeded, want status {code.name}")


class Cases:
    """The interop cases, each an ``async`` method named after the case."""

    def __init__(self, args: argparse.Namespace, channel: plugrpc.Channel) -> None:
        self.args = args
        self.channel = channel
        self.stub = test_plugrpc.TestServiceStub(channel)

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
            f"aggregated_payload_size is {response.aggregated_payload_size}, "
            f"want {sum(REQUEST_SIZES)}",
        )

    async def server_streaming(self) -> None:
        request = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[messages_pb2.ResponseParameters(size=s) for s in RESPONSE_SIZES],
        )
        call = self.stub.StreamingOutputCall(request)
        sizes = [len(response.payload.body) async for response in call]
        check(sizes == list(RESPONSE_SIZES), f"response sizes {sizes}, want {RESPONSE_SIZES}")
        code = await call.code()
        check(code == StatusCode.OK, f"status {code.name}, want OK")

    async def ping_pong(self) -> None:
        call = self.stub.FullDuplexCall()
        for index, (request_size, response_size) in enumerate(
            zip(REQUEST_SIZES, RESPONSE_SIZES, strict=True)
        ):
            await call.write(_streaming_request(response_size, request_size))
            response = await call.read()
            check(response is not None, f"the stream ended after {index} responses, want 4")
            assert response is not None
            _check_body(response.payload, response_size, f"response {index}")
        await call.done_writing()
        extra = await call.read()
        check(extra is None, "a fifth response arrived after the half-close")
        code = await call.code()
        check(code == StatusCode.OK, f"status {code.name}, want OK")

    async def empty_stream(self) -> None:
        call = self.stub.FullDuplexCall()
        await call.done_writing()
        responses = [response async for response in call]
        check(not responses, f"{len(responses)} responses arrived, want none")
        code = await call.code()
        check(code == StatusCode.OK, f"status {code.name}, want OK")

    async def timeout_on_sleeping_server(self) -> None:
        call = self.stub.FullDuplexCall(timeout=0.001)
        try:
            await call.write(
                messages_pb2.StreamingOutputCallRequest(payload=_payload(REQUEST_SIZES[0]))
            )
            await call.read()
        except (RpcError, asyncio.InvalidStateError):
            pass  # the write or the read sees the end of the call; its status decides
        code = await call.code()
        check(code == StatusCode.DEADLINE_EXCEEDED, f"status {code.name}, want DEADLINE_EXCEEDED")

    async def cancel_after_begin(self) -> None:
        await self.channel.channel_ready()
        call = self.stub.StreamingInputCall()
        # Asking for the response headers opens the stream (HEADERS go out) without sending a
        # message; the server only answers at the end, so this waits until the cancel.
        opening = asyncio.ensure_future(call.initial_metadata())
        await asyncio.sleep(0.05)
        call.cancel()
        opening.cancel()
        await asyncio.gather(opening, return_exceptions=True)
        await _expect_status(call, StatusCode.CANCELLED, "StreamingInputCall")

    async def cancel_after_first_response(self) -> None:
        call = self.stub.FullDuplexCall()
        await call.write(_streaming_request(RESPONSE_SIZES[0], REQUEST_SIZES[0]))
        response = await call.read()
        check(response is not None, "the stream ended before the first response")
        assert response is not None
        _check_body(response.payload, RESPONSE_SIZES[0], "first response")
        call.cancel()
        code = await call.code()
        check(code == StatusCode.CANCELLED, f"status {code.name}, want CANCELLED")

    async def _echo_status(self, message: str, *, bidi: bool) -> None:
        status = messages_pb2.EchoStatus(code=StatusCode.UNKNOWN.value, message=message)
        await _expect_status(
            self.stub.UnaryCall(messages_pb2.SimpleRequest(response_status=status)),
            StatusCode.UNKNOWN,
            "UnaryCall",
            message,
        )
        if not bidi:
            return
        call = self.stub.FullDuplexCall()
        await call.write(messages_pb2.StreamingOutputCallRequest(response_status=status))
        await call.done_writing()
        await _expect_status(call.read(), StatusCode.UNKNOWN, "FullDuplexCall", message)

    async def status_code_and_message(self) -> None:
        await self._echo_status(STATUS_MESSAGE, bidi=True)

    async def special_status_message(self) -> None:
        await self._echo_status(SPECIAL_STATUS_MESSAGE, bidi=False)

    async def custom_metadata(self) -> None:
        metadata: list[tuple[str, str | bytes]] = [
            (ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE),
            (ECHO_TRAILING_KEY, ECHO_TRAILING_VALUE),
        ]

        async def check_echo(call: plugrpc.Call, what: str) -> None:
            initial = (await call.initial_metadata()).get(ECHO_INITIAL_KEY)
            check(
                initial == ECHO_INITIAL_VALUE,
                f"{what}: {ECHO_INITIAL_KEY} in headers is {initial!r}, "
                f"want {ECHO_INITIAL_VALUE!r}",
            )
            trailing = (await call.trailing_metadata()).get(ECHO_TRAILING_KEY)
            check(
                trailing == ECHO_TRAILING_VALUE,
                f"{what}: {ECHO_TRAILING_KEY} in trailers is {trailing!r}, "
                f"want {ECHO_TRAILING_VALUE!r}",
            )

        unary = self.stub.UnaryCall(_large_request(), metadata=metadata)
        response = await unary
        _check_body(response.payload, LARGE_RESPONSE_SIZE, "UnaryCall")
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
            StatusCode.UNIMPLEMENTED,
            "TestService/UnimplementedCall",
        )

    async def unimplemented_service(self) -> None:
        stub = test_plugrpc.UnimplementedServiceStub(self.channel)
        await _expect_status(
            stub.UnimplementedCall(empty_pb2.Empty()),
            StatusCode.UNIMPLEMENTED,
            "UnimplementedService/UnimplementedCall",
        )

    async def client_compressed_unary(self) -> None:
        # The probe: an uncompressed request that claims to be compressed must be refused,
        # which proves the server really checks (CompressedRequest).
        await _expect_status(
            self.stub.UnaryCall(
                _large_request(expect_compressed=messages_pb2.BoolValue(value=True))
            ),
            StatusCode.INVALID_ARGUMENT,
            "the uncompressed probe flagged expect_compressed",
        )
        for compressed in (True, False):
            request = _large_request(expect_compressed=messages_pb2.BoolValue(value=compressed))
            call = self.stub.UnaryCall(request, compression=COMPRESSION if compressed else None)
            response = await call
            _check_body(
                response.payload,
                LARGE_RESPONSE_SIZE,
                f"{'compressed' if compressed else 'uncompressed'} UnaryCall",
            )

    async def server_compressed_unary(self) -> None:
        for compressed in (True, False):
            request = _large_request(response_compressed=messages_pb2.BoolValue(value=compressed))
            call = self.stub.UnaryCall(request)
            response = await call
            what = f"UnaryCall with response_compressed={str(compressed).lower()}"
            _check_body(response.payload, LARGE_RESPONSE_SIZE, what)
            flag = call.response_compressed()
            check(flag == compressed, f"{what}: the response's compressed flag is {flag}")

    async def client_compressed_streaming(self) -> None:
        probe = self.stub.StreamingInputCall()
        await probe.write(
            messages_pb2.StreamingInputCallRequest(
                payload=_payload(REQUEST_SIZES[0]),
                expect_compressed=messages_pb2.BoolValue(value=True),
            )
        )
        await probe.done_writing()
        await _expect_status(
            probe, StatusCode.INVALID_ARGUMENT, "the uncompressed probe flagged expect_compressed"
        )
        call = self.stub.StreamingInputCall(compression=COMPRESSION)
        await call.write(
            messages_pb2.StreamingInputCallRequest(
                payload=_payload(27182), expect_compressed=messages_pb2.BoolValue(value=True)
            )
        )
        # PROTOCOL-HTTP2: the compressed flag is per message, so one message of a
        # compressed stream may go out uncompressed.
        await call.write(
            messages_pb2.StreamingInputCallRequest(
                payload=_payload(45904), expect_compressed=messages_pb2.BoolValue(value=False)
            ),
            compress=False,
        )
        await call.done_writing()
        response = await call
        check(
            response.aggregated_payload_size == 73086,
            f"aggregated_payload_size is {response.aggregated_payload_size}, want 73086",
        )

    async def server_compressed_streaming(self) -> None:
        wanted = ((31415, True), (92653, False))
        request = messages_pb2.StreamingOutputCallRequest(
            response_type=messages_pb2.COMPRESSABLE,
            response_parameters=[
                messages_pb2.ResponseParameters(
                    size=size, compressed=messages_pb2.BoolValue(value=compressed)
                )
                for size, compressed in wanted
            ],
        )
        call = self.stub.StreamingOutputCall(request)
        for index, (size, compressed) in enumerate(wanted):
            response = await call.read()
            check(response is not None, f"the stream ended after {index} responses, want 2")
            assert response is not None
            _check_body(response.payload, size, f"response {index}")
            flag = call.response_compressed()
            check(
                flag == compressed,
                f"response {index}: the compressed flag is {flag}, want {compressed}",
            )
        extra = await call.read()
        check(extra is None, "a third response arrived")

    async def rpc_soak(self) -> None:
        await _soak(self.args, self.channel)

    async def channel_soak(self) -> None:
        await _soak(self.args, None)


async def _soak(args: argparse.Namespace, shared: plugrpc.Channel | None) -> None:
    """large_unary calls in a loop, on ``shared`` or on a new channel each time (grpc-go's rules).

    A call fails when it errs, returns the wrong size or takes longer than the per-iteration
    limit. The case fails when more calls failed than ``--soak_max_failures`` or when the
    overall timeout stopped it before every iteration had run.
    """
    workers = max(1, args.soak_num_threads)
    per_worker = args.soak_iterations // workers
    loop = asyncio.get_running_loop()
    started = loop.time()
    stop_at = started + args.soak_overall_timeout_seconds
    max_latency = args.soak_per_iteration_max_acceptable_latency_ms / 1000
    request = messages_pb2.SimpleRequest(
        response_type=messages_pb2.COMPRESSABLE,
        response_size=args.soak_response_size,
        payload=_payload(args.soak_request_size),
    )
    attempted = failures = 0
    latencies: list[float] = []

    async def iteration(worker: int, index: int) -> None:
        nonlocal failures
        channel = shared if shared is not None else _channel(args)
        begin = loop.time()
        try:
            response = await test_plugrpc.TestServiceStub(channel).UnaryCall(
                request, timeout=max(stop_at - begin, max_latency)
            )
            _check_body(response.payload, args.soak_response_size, "UnaryCall")
        except (RpcError, CaseFailed) as err:
            failures += 1
            print(f"worker {worker}: soak iteration {index} failed: {err}", file=sys.stderr)
            return
        finally:
            if shared is None:
                await channel.close()
        latency = loop.time() - begin
        if latency > max_latency:
            failures += 1
            print(
                f"worker {worker}: soak iteration {index} took {latency * 1000:.0f} ms, "
                f"over {args.soak_per_iteration_max_acceptable_latency_ms} ms",
                file=sys.stderr,
            )
        else:
            latencies.append(latency)

    async def worker(worker_id: int) -> None:
        nonlocal attempted
        for index in range(per_worker):
            if loop.time() >= stop_at:
                print(f"worker {worker_id}: soak overall timeout reached", file=sys.stderr)
                return
            earliest_next = loop.time() + args.soak_min_time_ms_between_rpcs / 1000
            attempted += 1
            await iteration(worker_id, index)
            await asyncio.sleep(max(0.0, earliest_next - loop.time()))

    await asyncio.gather(*(worker(w) for w in range(workers)))
    planned = per_worker * workers
    latencies.sort()
    median = latencies[len(latencies) // 2] * 1000 if latencies else 0.0
    print(
        f"soak: {attempted}/{planned} iterations, {failures} failures, "
        f"median latency {median:.1f} ms, {loop.time() - started:.2f} s",
        file=sys.stderr,
    )
    check(
        attempted == planned,
        f"the overall timeout ({args.soak_overall_timeout_seconds} s) stopped the soak "
        f"after {attempted} of {planned} iterations",
    )
    check(
        failures <= args.soak_max_failures,
        f"{failures} soak iterations failed, more than --soak_max_failures="
        f"{args.soak_max_failures}",
    )


def _credentials(args: argparse.Namespace) -> ChannelCredentials | None:
    if not args.use_tls:
        return None
    if args.use_test_ca and not args.ca_file:
        raise SystemExit("--use_test_ca=true needs --ca_file (no test CA is bundled)")
    from plugrpc_credentials_tls import TlsChannelCredentials

    return TlsChannelCredentials(
        ca_file=args.ca_file or None, server_hostname_override=args.server_host_override or None
    )


def _channel(args: argparse.Namespace) -> plugrpc.Channel:
    host = args.server_host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    credentials = _credentials(args)
    # With TLS the credentials carry the override (SNI, the name verified and :authority).
    authority = None
    if credentials is None and args.server_host_override:
        authority = args.server_host_override
    return plugrpc.Channel(
        f"{host}:{args.server_port}", credentials=credentials, authority=authority
    )


async def run(args: argparse.Namespace) -> None:
    """Run the case ``args.test_case`` on a fresh channel."""
    channel = _channel(args)
    try:
        case: Callable[[], Awaitable[None]] = getattr(Cases(args, channel), args.test_case)
        await case()
    finally:
        await channel.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the standard client flags, run the case, and report: 0 passed, 1 failed."""
    args = client_parser("client.py", __doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    began = time.monotonic()
    try:
        asyncio.run(run(args))
    except CaseFailed as failure:
        print(f"{args.test_case}: FAIL: {failure}", file=sys.stderr)
        return 1
    except RpcError as err:
        print(
            f"{args.test_case}: FAIL: unexpected status {err.code().name}: {err.details()}",
            file=sys.stderr,
        )
        return 1
    print(f"{args.test_case}: PASS ({time.monotonic() - began:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
