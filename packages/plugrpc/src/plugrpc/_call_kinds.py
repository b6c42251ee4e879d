"""The four kinds of client call, on top of ``ClientCall`` (``_client_calls``).

Unary responses are awaited (``__await__``); streamed responses are read (``read``,
``async for``); streamed requests are written (``write``, ``done_writing``) or come from an
iterator consumed by one writer task.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Generator, Iterable
from typing import TYPE_CHECKING, Any

from plugrpc_core import RpcError, StatusCode
from plugrpc_transport import StreamClosed
from plugrpc_transport.protocol import CallStatus

from ._client_calls import ClientCall

if TYPE_CHECKING:
    from plugrpc_transport import ClientStream

    from ._channel import Channel, _MethodRuntime

__all__ = [
    "StreamStreamCallImpl",
    "StreamUnaryCallImpl",
    "UnaryStreamCallImpl",
    "UnaryUnaryCallImpl",
]


class UnaryUnaryCallImpl(ClientCall):
    """A unary call; awaiting it runs the exchange in the awaiting task."""

    __slots__ = ("_request", "_result_future")

    def __init__(self, channel: Channel, rt: _MethodRuntime, request: Any, *args: Any) -> None:
        super().__init__(channel, rt, *args)
        self._request = request
        self._result_future: asyncio.Future[Any] | None = None

    def __await__(self) -> Generator[Any, None, Any]:
        if self._result_future is None and self._start_future is None and self._status is None:
            return self._run().__await__()
        return self._await_result().__await__()

    async def _await_result(self) -> Any:
        if self._result_future is None:
            self._result_future = self._loop.create_future()
            if self._start_future is None and self._status is None:
                self._kick()
        return await asyncio.shield(self._result_future)

    def _kick(self) -> None:
        if self._result_future is None:
            self._result_future = self._loop.create_future()
        super()._kick()

    async def _begin(self) -> None:
        if self._result_future is None and self._start_future is None and self._status is None:
            self._kick()
        await self._wait_opened()

    async def _run(self) -> Any:
        try:
            response = await self._exchange()
        except BaseException as exc:
            fut = self._result_future
            if fut is not None and not fut.done():
                if isinstance(exc, asyncio.CancelledError):
                    fut.set_exception(self._error() if self._status else exc)
                else:
                    fut.set_exception(exc)
                fut.exception()  # mark retrieved: the awaiting path re-raises it
            raise
        fut = self._result_future
        if fut is not None and not fut.done():
            fut.set_result(response)
        return response

    async def _exchange(self) -> Any:
        stream = await self._start()
        try:
            await self._send(stream, self._request, end=True)
            self._request = None
            await self._read_headers(stream)
            ok, response = await self._read_message(stream)
            if ok:
                more, _ = await self._read_message(stream)
                if more:
                    self._fail(
                        StatusCode.INTERNAL,
                        "cardinality violation: expected <EOF> for non server-streaming RPCs, "
                        "but received another message",
                    )
                    raise self._error()
            status = await self._await_status(stream)
        except asyncio.CancelledError:
            self._cancel_from_task()
            raise
        if status.code != StatusCode.OK:
            raise self._error()
        if not ok:
            self._status = CallStatus(
                code=StatusCode.INTERNAL,
                message="cardinality violation: received no response message from a unary RPC",
                metadata=status.metadata,
            )
            raise self._error()
        return response


class _StreamingResponses(ClientCall):
    """Reading side shared by the server-streaming and bidi calls."""

    __slots__ = ()

    async def _ready_to_read(self) -> ClientStream:
        return await self._start()

    async def read(self) -> Any:
        """The next response, or None once the call ended OK; raises RpcError otherwise."""
        stream = await self._ready_to_read()
        try:
            ok, message = await self._read_message(stream)
            if ok:
                return message
            status = await self._await_status(stream)
        except asyncio.CancelledError:
            self._cancel_from_task()
            raise
        if status.code != StatusCode.OK:
            raise self._error()
        return None

    async def __aiter__(self) -> AsyncIterator[Any]:
        while True:
            message = await self.read()
            if message is None and self._status is not None:
                return
            yield message

    async def _run(self) -> Any:
        while True:
            message = await self.read()
            if message is None and self._status is not None:
                return None


class UnaryStreamCallImpl(_StreamingResponses):
    """A server-streaming call."""

    __slots__ = ("_request", "_sent")

    def __init__(self, channel: Channel, rt: _MethodRuntime, request: Any, *args: Any) -> None:
        super().__init__(channel, rt, *args)
        self._request = request
        self._sent = False

    async def _begin(self) -> None:
        try:
            await self._ready_to_read()
        except (RpcError, asyncio.InvalidStateError):
            pass

    async def _ready_to_read(self) -> ClientStream:
        stream = await self._start()
        if not self._sent:
            self._sent = True
            request, self._request = self._request, None
            await self._send(stream, request, end=True)
        return stream


class _StreamingRequests(ClientCall):
    """Writing side shared by the client-streaming and bidi calls."""

    __slots__ = ("_done_writing", "_request_iterator", "_writer")

    def _init_requests(self, request_iterator: AsyncIterable[Any] | Iterable[Any] | None) -> None:
        self._request_iterator = request_iterator
        self._writer: asyncio.Task[None] | None = None
        self._done_writing = False

    def _start_writer(self) -> None:
        if self._request_iterator is not None and self._writer is None:
            self._writer = self._loop.create_task(self._consume_requests())

    async def _consume_requests(self) -> None:
        iterator = self._request_iterator
        assert iterator is not None
        try:
            if isinstance(iterator, AsyncIterable):
                async for request in iterator:
                    await self.write(request)
            else:
                for request in iterator:
                    await self.write(request)
            await self.done_writing()
        except (RpcError, asyncio.InvalidStateError):
            pass  # the call ended; the reader reports the status
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(StatusCode.UNKNOWN, f"request iterator raised {type(exc).__name__}: {exc}")

    async def write(self, request: Any, *, compress: bool = True) -> None:
        """Send one request message.

        Args:
            request: the message.
            compress: False sends this message uncompressed (compressed flag 0) on a call
                that compresses its requests; the receiver honours each message's flag.
        """
        if self._done_writing:
            raise asyncio.InvalidStateError("write after done_writing")
        stream = await self._start()
        await self._send(stream, request, end=False, compress=compress)

    async def done_writing(self) -> None:
        """Half-close the request stream."""
        if self._done_writing:
            return
        self._done_writing = True
        stream = await self._start()
        try:
            await stream.send_end()
        except StreamClosed:
            pass


class StreamUnaryCallImpl(_StreamingRequests):
    """A client-streaming call."""

    __slots__ = ("_result_future",)

    def __init__(
        self,
        channel: Channel,
        rt: _MethodRuntime,
        request_iterator: AsyncIterable[Any] | Iterable[Any] | None,
        *args: Any,
    ) -> None:
        super().__init__(channel, rt, *args)
        self._init_requests(request_iterator)
        self._result_future: asyncio.Future[Any] | None = None

    def __await__(self) -> Generator[Any, None, Any]:
        return self._response().__await__()

    async def _begin(self) -> None:
        if self._result_future is None:
            self._result_future = self._loop.create_future()
            self._loop.create_task(self._run_into_future(self._result_future))
        await self._wait_opened()

    async def _response(self) -> Any:
        if self._result_future is None:
            self._result_future = self._loop.create_future()
            self._loop.create_task(self._run_into_future(self._result_future))
        return await asyncio.shield(self._result_future)

    async def _run_into_future(self, fut: asyncio.Future[Any]) -> None:
        try:
            result = await self._run()
        except BaseException as exc:
            if not fut.done():
                fut.set_exception(exc)
            return
        if not fut.done():
            fut.set_result(result)

    async def _run(self) -> Any:
        stream = await self._start()
        self._start_writer()
        await self._read_headers(stream)
        ok, response = await self._read_message(stream)
        if ok:
            more, _ = await self._read_message(stream)
            if more:
                self._fail(
                    StatusCode.INTERNAL,
                    "cardinality violation: expected <EOF> for non server-streaming RPCs, "
                    "but received another message",
                )
                raise self._error()
        status = await self._await_status(stream)
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        if status.code != StatusCode.OK:
            raise self._error()
        if not ok:
            self._status = CallStatus(
                code=StatusCode.INTERNAL,
                message="cardinality violation: received no response message from a unary RPC",
                metadata=status.metadata,
            )
            raise self._error()
        return response

    def cancel(self) -> bool:
        """Cancel the call."""
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        return super().cancel()


class StreamStreamCallImpl(_StreamingRequests, _StreamingResponses):
    """A bidirectional call."""

    __slots__ = ()

    def __init__(
        self,
        channel: Channel,
        rt: _MethodRuntime,
        request_iterator: AsyncIterable[Any] | Iterable[Any] | None,
        *args: Any,
    ) -> None:
        super().__init__(channel, rt, *args)
        self._init_requests(request_iterator)

    async def _ready_to_read(self) -> ClientStream:
        stream = await self._start()
        self._start_writer()
        return stream

    async def _begin(self) -> None:
        try:
            await self._ready_to_read()
        except (RpcError, asyncio.InvalidStateError):
            pass

    def cancel(self) -> bool:
        """Cancel the call."""
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        return super().cancel()
