"""The state and behaviour every client call shares (the four kinds are in ``_call_kinds``).

Theory of operation: a call is lazy. Creating it costs one object; the stream is opened by
the first thing that needs it (awaiting a unary call, the first read or write, asking for
metadata). Awaiting a unary call runs the whole exchange inside the awaiting task, so a unary
call costs no extra Task. A deadline is one loop timer: when it fires, the stream is reset
(RST_STREAM CANCEL) and the call ends with DEADLINE_EXCEEDED, built locally (census 2.3).
A call whose awaiting task is cancelled resets its stream and ends CANCELLED.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast

from plugrpc_core import CallCredentialsInfo, Metadata, PickInfo, RpcError, StatusCode
from plugrpc_transport import ConnectionUnavailable, StreamClosed
from plugrpc_transport.protocol import CallStatus, RequestHead

if TYPE_CHECKING:
    from plugrpc_core import CallCredentials, Compressor, MetadataValue
    from plugrpc_transport import ClientConnection, ClientStream

    from ._channel import Channel, _MethodRuntime

__all__ = ["ClientCall"]

_EMPTY_METADATA = Metadata()
_STATUS_CANCELLED = CallStatus(
    code=StatusCode.CANCELLED, message="Locally cancelled by application!"
)
_STATUS_DEADLINE = CallStatus(code=StatusCode.DEADLINE_EXCEEDED, message="Deadline Exceeded")
# gRFC A54: codes the control plane must not hand to the data plane; call credentials that
# fail with one of them fail the call with INTERNAL instead (as grpc-go does).
_RESTRICTED_CODES = frozenset(
    {
        StatusCode.INVALID_ARGUMENT,
        StatusCode.NOT_FOUND,
        StatusCode.ALREADY_EXISTS,
        StatusCode.FAILED_PRECONDITION,
        StatusCode.ABORTED,
        StatusCode.OUT_OF_RANGE,
        StatusCode.DATA_LOSS,
    }
)


class ClientCall:
    """State shared by every client call kind."""

    __slots__ = (
        "_call_credentials",
        "_channel",
        "_compressor",
        "_config_pending",
        "_counted",
        "_created",
        "_deadline",
        "_deadline_hit",
        "_decode_error",
        "_headers_read",
        "_initial_metadata",
        "_loop",
        "_max_receive",
        "_max_send",
        "_metadata",
        "_on_done",
        "_opened",
        "_response_compressed",
        "_response_encoding",
        "_rt",
        "_start_future",
        "_status",
        "_status_waiters",
        "_stream",
        "_timer",
        "_wait_for_ready",
    )

    def __init__(
        self,
        channel: Channel,
        rt: _MethodRuntime,
        timeout: float | None,
        metadata: Metadata,
        wait_for_ready: bool | None,
        compression: str | None,
        credentials: CallCredentials | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._channel = channel
        self._rt = rt
        self._metadata = metadata
        self._stream: ClientStream | None = None
        self._status: CallStatus | None = None
        self._initial_metadata: Metadata | None = None
        self._headers_read = False
        self._response_encoding: str | None = None
        self._response_compressed: bool | None = None
        self._call_credentials = credentials
        self._start_future: asyncio.Future[None] | None = None
        self._status_waiters: list[asyncio.Future[None]] | None = None
        self._on_done: Any = None
        self._deadline_hit = False
        self._decode_error = False
        self._opened: asyncio.Future[None] | None = None
        self._counted = False
        self._max_send = channel._max_send_message_length
        self._max_receive = channel._max_receive_message_length
        self._created = loop.time()
        # grpc-go reads a call's method config only once the resolver has answered, so the
        # first calls of a channel see a resolver-supplied config; until then it is pending.
        self._config_pending = not channel._control.resolved
        method_config = None if self._config_pending else channel._method_config(rt.path)
        if method_config is not None:
            # Service config limits apply on top of the channel's (the smaller wins, A21/census 4).
            if method_config.max_request_message_bytes is not None:
                self._max_send = min(self._max_send, method_config.max_request_message_bytes)
            if method_config.max_response_message_bytes is not None:
                self._max_receive = min(self._max_receive, method_config.max_response_message_bytes)
            if method_config.timeout is not None and (
                timeout is None or method_config.timeout < timeout
            ):
                timeout = method_config.timeout
            if wait_for_ready is None:
                wait_for_ready = method_config.wait_for_ready
        # None means "not set by the caller": a pending method config may still decide it.
        self._wait_for_ready: bool | None = wait_for_ready
        if compression is None:
            compression = channel._default_compression
        self._compressor: Compressor | None = None
        if compression is not None and compression != "identity":
            self._compressor = channel._compression.require(compression)
        if timeout is not None:
            self._deadline: float | None = loop.time() + timeout
            self._timer: asyncio.TimerHandle | None = loop.call_at(
                self._deadline, self._on_deadline
            )
        else:
            self._deadline = None
            self._timer = None

    # -- lifecycle -----------------------------------------------------------------------

    def _on_deadline(self) -> None:
        self._timer = None
        if self._status is not None:
            return
        self._deadline_hit = True
        if self._stream is not None:
            self._stream.cancel()
        else:
            self._finish(_STATUS_DEADLINE)

    def _finish(self, status: CallStatus) -> None:
        if self._status is not None:
            return
        if self._deadline_hit and status.code == StatusCode.CANCELLED and not self._decode_error:
            status = _STATUS_DEADLINE
        self._status = status
        if self._counted:
            self._counted = False
            self._channel._control.call_finished()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._on_done is not None:
            try:
                self._on_done(status.code, status.metadata)
            except Exception:  # a balancer callback must never break the call
                pass
        waiters = self._status_waiters
        if waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        start = self._start_future
        if start is not None and not start.done():
            start.set_result(None)
        self._signal_opened()

    def _signal_opened(self) -> None:
        opened = self._opened
        if opened is not None and not opened.done():
            opened.set_result(None)

    async def _wait_opened(self) -> None:
        """Wait until the stream is open or the call has ended."""
        if self._stream is not None or self._status is not None:
            return
        if self._opened is None:
            self._opened = self._loop.create_future()
        await asyncio.shield(self._opened)

    def _error(self) -> RpcError:
        status = self._status
        assert status is not None
        return RpcError(
            status.code,
            status.message,
            initial_metadata=self._initial_metadata or _EMPTY_METADATA,
            trailing_metadata=status.metadata,
            status_details_bin=status.details_bin,
        )

    def _fail(self, code: StatusCode, message: str) -> None:
        """End the call locally: reset the stream and record ``code``."""
        if self._stream is not None:
            self._stream.cancel()
        self._finish(CallStatus(code=code, message=message))

    async def _start(self) -> ClientStream:
        """Open the stream (pick a connection, send HEADERS); concurrent callers share it."""
        stream = self._stream
        if stream is not None:
            return stream
        if self._status is not None:
            raise self._error()
        fut = self._start_future
        if fut is not None:
            await fut
            if self._stream is None:
                raise self._error()
            return self._stream
        self._start_future = self._loop.create_future()
        # Channel idleness counts calls from their first step to their status.
        self._channel._control.call_started()
        self._counted = True
        try:
            stream = await self._open()
        except RpcError as err:
            self._finish(
                CallStatus(code=err.code(), message=err.details(), metadata=err.trailing_metadata())
            )
            raise self._error() from None
        except asyncio.CancelledError:
            self._finish(_STATUS_CANCELLED)
            raise
        finally:
            if not self._start_future.done():
                self._start_future.set_result(None)
            self._signal_opened()
        return stream

    async def _open(self) -> ClientStream:
        channel = self._channel
        rt = self._rt
        control = channel._control
        if self._config_pending:
            await control.wait_for_resolution(self._deadline)
            self._apply_pending_method_config()
        metadata = self._metadata
        if channel._call_credentials or self._call_credentials is not None:
            metadata = await self._with_credentials()
        info = PickInfo(method=rt.path, metadata=self._metadata)
        while True:
            conn, pick = await control.pick(
                info, wait_for_ready=bool(self._wait_for_ready), deadline=self._deadline
            )
            if self._status is not None:  # the deadline fired while we waited
                raise self._error()
            timeout = None
            if self._deadline is not None:
                timeout = self._deadline - self._loop.time()
                if timeout <= 0:
                    self._deadline_hit = True
                    raise RpcError(StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
            head = RequestHead(
                path=rt.path,
                authority=channel._authority,
                scheme=channel._scheme,
                content_subtype=rt.subtype,
                user_agent=channel._user_agent,
                timeout=timeout,
                encoding=self._compressor.name if self._compressor is not None else None,
                accept_encoding=channel._compression.accept_encoding,
                metadata=metadata,
            )
            try:
                stream = cast("ClientConnection", conn).start_stream(head)
            except ConnectionUnavailable:
                # The connection started draining between pick and use: nothing was sent, so
                # picking again is a safe transparent retry (A6). The balancer still hears that
                # this pick ended (unused, not failed, as grpc-go reports it), so per-endpoint
                # counters (least_request) stay exact and outlier detection counts no error.
                if pick.on_done is not None:
                    pick.on_done(StatusCode.OK, _EMPTY_METADATA)
                continue
            self._stream = stream
            self._on_done = pick.on_done
            return stream

    async def _with_credentials(self) -> Metadata:
        """The call's metadata after the call credentials' (grpc-go's header order)."""
        try:
            if self._deadline is None:
                pairs = await _credentials_metadata(
                    self._channel, self._rt.path, self._call_credentials
                )
            else:
                async with asyncio.timeout_at(self._deadline):
                    pairs = await _credentials_metadata(
                        self._channel, self._rt.path, self._call_credentials
                    )
        except TimeoutError:
            self._deadline_hit = True
            raise RpcError(StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded") from None
        if not pairs:
            return self._metadata
        pairs.extend(self._metadata)
        return Metadata._trusted(pairs)

    def _apply_pending_method_config(self) -> None:
        """Apply the method config that the first resolution delivered (see ``__init__``)."""
        self._config_pending = False
        config = self._channel._method_config(self._rt.path)
        if config is None:
            return
        if config.max_request_message_bytes is not None:
            self._max_send = min(self._max_send, config.max_request_message_bytes)
        if config.max_response_message_bytes is not None:
            self._max_receive = min(self._max_receive, config.max_response_message_bytes)
        if self._wait_for_ready is None:
            self._wait_for_ready = config.wait_for_ready
        if config.timeout is not None:
            deadline = self._created + config.timeout
            if self._deadline is None or deadline < self._deadline:
                self._deadline = deadline
                if self._timer is not None:
                    self._timer.cancel()
                self._timer = self._loop.call_at(deadline, self._on_deadline)

    # -- sending -------------------------------------------------------------------------

    def _encode(self, message: Any, compress: bool = True) -> tuple[bytes, bool]:
        try:
            data = self._rt.encode(message)
        except Exception as exc:
            raise RpcError(StatusCode.INTERNAL, f"grpc: error while marshaling: {exc}") from None
        compressed = False
        if self._compressor is not None and compress:
            data = self._compressor.compress(data)
            compressed = True
        limit = self._max_send
        if len(data) > limit:
            raise RpcError(
                StatusCode.RESOURCE_EXHAUSTED,
                f"grpc: trying to send message larger than max ({len(data)} vs. {limit})",
            )
        return data, compressed

    async def _send(
        self, stream: ClientStream, message: Any, *, end: bool, compress: bool = True
    ) -> None:
        try:
            data, compressed = self._encode(message, compress)
        except RpcError as err:
            self._fail(err.code(), err.details())
            raise self._error() from None
        try:
            await stream.send_message(data, compressed=compressed, end=end)
        except StreamClosed:
            await self._await_status(stream)
            if self._status is not None and self._status.code != StatusCode.OK:
                raise self._error() from None
            raise asyncio.InvalidStateError("the call has already finished") from None
        except asyncio.CancelledError:
            self._cancel_from_task()
            raise

    # -- receiving -----------------------------------------------------------------------

    async def _read_headers(self, stream: ClientStream) -> None:
        if self._headers_read:
            return
        head = await stream.receive_headers()
        self._headers_read = True
        if head is None:
            self._initial_metadata = _EMPTY_METADATA
        else:
            self._initial_metadata = head.metadata
            self._response_encoding = head.encoding

    async def _read_message(self, stream: ClientStream) -> tuple[bool, Any]:
        """Read one response: ``(True, message)`` or ``(False, None)`` at the end."""
        if not self._headers_read:
            await self._read_headers(stream)
        item = await stream.receive_message()
        if item is None:
            return False, None
        compressed, data = item
        self._response_compressed = compressed
        try:
            if compressed:
                data = self._channel._compression.inflate(
                    self._response_encoding, data, self._max_receive, server=False
                )
            elif len(data) > self._max_receive:
                # The transport enforces the channel's limit; a method's smaller one is ours.
                raise RpcError(
                    StatusCode.RESOURCE_EXHAUSTED,
                    f"grpc: received message larger than max ({len(data)} vs. {self._max_receive})",
                )
            return True, self._rt.decode(data)
        except RpcError as err:
            self._decode_error = True
            self._fail(err.code(), err.details())
            raise self._error() from None
        except Exception as exc:
            self._decode_error = True
            self._fail(
                StatusCode.INTERNAL, f"grpc: failed to unmarshal the received message: {exc}"
            )
            raise self._error() from None

    async def _await_status(self, stream: ClientStream) -> CallStatus:
        if self._status is None:
            status = await stream.receive_status()
            self._finish(status)
        assert self._status is not None
        return self._status

    def _cancel_from_task(self) -> None:
        if self._status is None:
            if self._stream is not None:
                self._stream.cancel()
            self._finish(_STATUS_CANCELLED)

    # -- public surface shared by all kinds ---------------------------------------------

    async def _wait_done(self) -> None:
        if self._status is not None:
            return
        fut = self._loop.create_future()
        if self._status_waiters is None:
            self._status_waiters = []
        self._status_waiters.append(fut)
        await fut

    async def initial_metadata(self) -> Metadata:
        """Response headers (empty for a trailers-only response)."""
        if self._initial_metadata is not None:
            return self._initial_metadata
        if self._stream is None and self._status is None:
            await self._begin()
        stream = self._stream
        if stream is None:
            return _EMPTY_METADATA
        await self._read_headers(stream)
        return self._initial_metadata or _EMPTY_METADATA

    async def trailing_metadata(self) -> Metadata:
        """Response trailers, once the call has ended."""
        await self._wait_done_started()
        assert self._status is not None
        return self._status.metadata

    async def code(self) -> StatusCode:
        """The final status code."""
        await self._wait_done_started()
        assert self._status is not None
        return self._status.code

    async def details(self) -> str:
        """The final status message."""
        await self._wait_done_started()
        assert self._status is not None
        return self._status.message

    async def _wait_done_started(self) -> None:
        """Wait for the end of the call, starting it if nothing has (messages stay unread)."""
        if self._status is not None:
            return
        if self._stream is None:
            await self._begin()
        stream = self._stream
        if self._status is None and stream is not None:
            await self._await_status(stream)
        await self._wait_done()

    async def _begin(self) -> None:
        """Start the call far enough that its response can arrive, then wait for the stream."""
        try:
            await self._start()
        except (RpcError, asyncio.InvalidStateError):
            pass

    def _kick(self) -> None:
        """Run the whole call in the background (unary responses only)."""
        self._loop.create_task(self._drive())

    async def _drive(self) -> None:
        try:
            await self._run()
        except (RpcError, asyncio.InvalidStateError):
            pass

    async def _run(self) -> Any:
        raise NotImplementedError

    def cancel(self) -> bool:
        """Cancel the call (RST_STREAM CANCEL); False if it had already ended."""
        if self._status is not None:
            return False
        if self._stream is not None:
            self._stream.cancel()
        self._finish(_STATUS_CANCELLED)
        return True

    def cancelled(self) -> bool:
        """Whether the call ended CANCELLED."""
        return self._status is not None and self._status.code == StatusCode.CANCELLED

    def done(self) -> bool:
        """Whether the call has ended."""
        return self._status is not None

    def time_remaining(self) -> float | None:
        """Seconds until the deadline, or None without one."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - self._loop.time())

    def response_compressed(self) -> bool | None:
        """Whether the last response message read was compressed (None before the first)."""
        return self._response_compressed

    def __repr__(self) -> str:
        state = self._status.code.name if self._status is not None else "active"
        return f"<{type(self).__name__} {self._rt.path} {state}>"


async def _credentials_metadata(
    channel: Channel, path: str, per_call: CallCredentials | None
) -> list[tuple[str, MetadataValue]]:
    """Ask the channel's and the call's credentials for metadata, as grpc-go does.

    grpc-go (internal/transport/http2_client.go, ``createHeaderFields``): the audience is
    ``https://<authority without :443>/<package.Service>``; call credentials that require
    transport security fail UNAUTHENTICATED on an insecure connection; a status error from
    the credentials keeps its code unless gRFC A54 restricts it (then INTERNAL); any other
    error is UNAUTHENTICATED for channel credentials and INTERNAL for per-call ones; a pair
    that is not valid metadata is INTERNAL.
    """
    service, _, method = path[1:].rpartition("/")
    host = channel._authority
    if host.endswith(":443"):
        host = host[:-4]
    info = CallCredentialsInfo(service_url=f"https://{host}/{service}", method=method)
    sources: list[tuple[CallCredentials, StatusCode]] = [
        (creds, StatusCode.UNAUTHENTICATED) for creds in channel._call_credentials
    ]
    if per_call is not None:
        if (
            per_call.requires_secure_transport
            and not channel._credentials.is_secure
            and not channel._allow_insecure_call_credentials
        ):
            raise RpcError(
                StatusCode.UNAUTHENTICATED,
                "cannot send call credentials that require transport security over an "
                "insecure channel (use TLS, or build the channel with "
                "allow_insecure_call_credentials=True)",
            )
        sources.append((per_call, StatusCode.INTERNAL))
    pairs: list[tuple[str, MetadataValue]] = []
    for creds, other_error_code in sources:
        try:
            got = await creds.get_metadata(info)
        except RpcError as err:
            if err.code() in _RESTRICTED_CODES:
                raise RpcError(
                    StatusCode.INTERNAL,
                    "call credentials failed with an illegal status (gRFC A54): "
                    f"{err.code().name}: {err.details()}",
                ) from None
            raise RpcError(err.code(), err.details()) from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise RpcError(
                other_error_code,
                f"call credentials failed: {type(exc).__name__}: {exc}",
            ) from None
        try:
            pairs.extend(Metadata(got))
        except (TypeError, ValueError) as exc:
            raise RpcError(
                StatusCode.INTERNAL, f"call credentials returned invalid metadata: {exc}"
            ) from None
    return pairs
