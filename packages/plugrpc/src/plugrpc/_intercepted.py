"""A client call running through a chain of client interceptors.

The chain runs in one task started when the call is made; once the innermost call object
exists, every method of the returned call delegates to it. An interceptor may also return a
response instead of a call (unary responses), which then is the call's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from typing import TYPE_CHECKING, Any

from plugrpc_core import Metadata, MethodKind, RpcError, StatusCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from plugrpc_core import ClientCallDetails, ClientInterceptor

__all__ = ["InterceptedCall"]

_METHOD_NAMES = {
    MethodKind.UNARY_UNARY: "intercept_unary_unary",
    MethodKind.UNARY_STREAM: "intercept_unary_stream",
    MethodKind.STREAM_UNARY: "intercept_stream_unary",
    MethodKind.STREAM_STREAM: "intercept_stream_stream",
}


class InterceptedCall:
    """The call object returned when a channel has interceptors."""

    def __init__(
        self,
        interceptors: tuple[ClientInterceptor, ...],
        details: ClientCallDetails,
        request: Any,
        make_call: Callable[[ClientCallDetails, Any], Any],
    ) -> None:
        self._kind = details.kind
        self._interceptors = interceptors
        self._make_call = make_call
        self._task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(
            self._invoke(0, details, request)
        )

    async def _invoke(self, index: int, details: ClientCallDetails, request: Any) -> Any:
        if index == len(self._interceptors):
            return self._make_call(details, request)
        interceptor = self._interceptors[index]
        method = getattr(interceptor, _METHOD_NAMES[self._kind])

        async def continuation(next_details: ClientCallDetails, next_request: Any) -> Any:
            return await self._invoke(index + 1, next_details, next_request)

        return await method(continuation, details, request)

    async def _inner(self) -> Any:
        return await asyncio.shield(self._task)

    @staticmethod
    def _is_call(value: Any) -> bool:
        return hasattr(value, "initial_metadata") and hasattr(value, "cancel")

    # -- unary responses ------------------------------------------------------------

    def __await__(self) -> Generator[Any, None, Any]:
        return self._result().__await__()

    async def _result(self) -> Any:
        inner = await self._inner()
        if self._is_call(inner):
            return await inner
        return inner

    # -- streaming ------------------------------------------------------------------

    async def read(self) -> Any:
        """The next response, or None at the end."""
        return await (await self._inner()).read()

    async def __aiter__(self) -> AsyncIterator[Any]:
        inner = await self._inner()
        async for message in inner:
            yield message

    async def write(self, request: Any, *, compress: bool = True) -> None:
        """Send one request (``compress=False``: this message uncompressed)."""
        await (await self._inner()).write(request, compress=compress)

    async def done_writing(self) -> None:
        """Half-close."""
        await (await self._inner()).done_writing()

    # -- call surface ---------------------------------------------------------------

    async def initial_metadata(self) -> Metadata:
        """Response headers."""
        inner = await self._inner()
        return await inner.initial_metadata() if self._is_call(inner) else Metadata()

    async def trailing_metadata(self) -> Metadata:
        """Response trailers."""
        inner = await self._inner()
        return await inner.trailing_metadata() if self._is_call(inner) else Metadata()

    async def code(self) -> StatusCode:
        """The final status code."""
        try:
            inner = await self._inner()
        except RpcError as err:
            return err.code()
        return await inner.code() if self._is_call(inner) else StatusCode.OK

    async def details(self) -> str:
        """The final status message."""
        try:
            inner = await self._inner()
        except RpcError as err:
            return err.details()
        return await inner.details() if self._is_call(inner) else ""

    def cancel(self) -> bool:
        """Cancel the call."""
        if not self._task.done():
            self._task.cancel()
            return True
        if self._task.cancelled() or self._task.exception() is not None:
            return False
        inner = self._task.result()
        return bool(inner.cancel()) if self._is_call(inner) else False

    def done(self) -> bool:
        """Whether the call has ended."""
        if not self._task.done():
            return False
        if self._task.cancelled() or self._task.exception() is not None:
            return True
        inner = self._task.result()
        return bool(inner.done()) if self._is_call(inner) else True

    def time_remaining(self) -> float | None:
        """Seconds until the deadline."""
        if self._task.done() and not self._task.cancelled() and self._task.exception() is None:
            inner = self._task.result()
            if self._is_call(inner):
                result: float | None = inner.time_remaining()
                return result
        return None

    def response_compressed(self) -> bool | None:
        """Whether the last response message read was compressed."""
        if self._task.done() and not self._task.cancelled() and self._task.exception() is None:
            inner = self._task.result()
            if self._is_call(inner):
                result: bool | None = inner.response_compressed()
                return result
        return None
