"""Per-call ORCA reports: a server interceptor and ``call_recorder(context)`` (gRFC A51).

Theory of operation: ``OrcaServerInterceptor`` wraps every handler. The wrapped handler
gets a ``ServicerContext`` that forwards everything to the real one and also carries the
call's ``CallMetricsRecorder`` (``call_recorder(context)`` finds it there). When the handler
ends, its report (the interceptor's machine-wide metrics overlaid with what the call
recorded) is serialized into the ``endpoint-load-metrics-bin`` trailer next to the
handler's own trailing metadata:

- a normal return: added to the trailing metadata the handler set;
- ``context.abort(...)``: added to the abort's trailing metadata (the report is taken at
  the moment of the abort);
- a raised ``RpcError``: re-raised with the report added to its trailing metadata.

An unexpected exception becomes UNKNOWN in the server without metadata, so such calls carry
no report. A report with nothing set is not sent. The recorder is made on first use, so
handlers that never ask for one pay for one small object per call only.

This needs no change to the call layer: the context is a delegating wrapper (registered as
a virtual subclass of ``plugrpc.ServicerContext``, so ``isinstance`` checks still pass).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from plugrpc import AbortError, ServicerContext
from plugrpc_core import (
    HandlerCallDetails,
    Metadata,
    MethodHandler,
    RpcError,
    ServerInterceptor,
    StatusCode,
)

from ._recorder import CallMetricsRecorder, ServerMetrics
from ._report import TRAILER_KEY

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from plugrpc_core import MetadataLike

    from ._recorder import ServerMetricsRecorder

__all__ = ["OrcaServerInterceptor", "call_recorder"]

_NO_METRICS = ServerMetrics()
# Wrapped handlers are cached per handler, up to this many.
_CACHE_SIZE = 1024


def call_recorder(context: ServicerContext) -> CallMetricsRecorder | None:
    """The call's ORCA recorder, or None when the server has no ``OrcaServerInterceptor``.

    Example::

        async def Search(self, request, context):
            recorder = plugrpc_orca.call_recorder(context)
            if recorder is not None:
                recorder.set_request_cost("db_reads", 12)
    """
    if isinstance(context, _OrcaContext):
        return context.orca_recorder()
    return None


class _OrcaContext:
    """The handler's context: the real one, plus the call's recorder and trailing metadata.

    Everything but trailing metadata and ``abort`` goes to the real context through
    ``__getattr__``, so that methods the call layer adds to its contexts later stay
    reachable; it is registered as a virtual subclass of ``ServicerContext``.
    """

    __slots__ = ("_inner", "_recorder", "_server_metrics", "_trailers")

    def __init__(
        self, inner: ServicerContext, server_metrics: ServerMetricsRecorder | None
    ) -> None:
        self._inner = inner
        self._server_metrics = server_metrics
        self._recorder: CallMetricsRecorder | None = None
        self._trailers: Metadata | None = None

    def __getattr__(self, name: str) -> Any:
        if name in _OrcaContext.__slots__:
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<OrcaContext of {self._inner!r}>"

    def orca_recorder(self) -> CallMetricsRecorder:
        if self._recorder is None:
            self._recorder = CallMetricsRecorder()
        return self._recorder

    def with_report(self, metadata: Metadata | None) -> Metadata | None:
        """``metadata`` plus the call's report; ``metadata`` itself when there is none."""
        base = self._server_metrics.metrics() if self._server_metrics else _NO_METRICS
        if self._recorder is not None:
            base = base.merged_with(self._recorder.metrics())
        if base.is_empty():
            return metadata
        out = Metadata(metadata) if metadata is not None else Metadata()
        out.remove_all(TRAILER_KEY)
        out.add(TRAILER_KEY, base.to_report().to_bytes())
        return out

    def finish(self) -> None:
        """Set the trailers of a normal ending."""
        trailers = self.with_report(self._trailers)
        if trailers is not None and trailers is not self._trailers:
            self._inner.set_trailing_metadata(trailers)

    # -- what differs from the real context ----------------------------------------------

    def set_trailing_metadata(self, metadata: MetadataLike) -> None:
        """Metadata to send with the status (the report is added when the handler ends)."""
        self._trailers = Metadata.coerce(metadata)
        self._inner.set_trailing_metadata(self._trailers)

    async def abort(
        self,
        code: StatusCode,
        details: str = "",
        *,
        trailing_metadata: MetadataLike | None = None,
        status_details_bin: bytes | None = None,
    ) -> NoReturn:
        """End the call now with ``code``; the report goes with the trailing metadata."""
        given = Metadata.coerce(trailing_metadata) if trailing_metadata is not None else None
        await self._inner.abort(
            code,
            details,
            trailing_metadata=self.with_report(given if given is not None else self._trailers),
            status_details_bin=status_details_bin,
        )


ServicerContext.register(_OrcaContext)


def _with_report(err: RpcError, context: _OrcaContext) -> RpcError:
    trailers = context.with_report(err.trailing_metadata())
    if trailers is err.trailing_metadata():
        return err
    return RpcError(
        err.code(),
        err.details(),
        initial_metadata=err.initial_metadata(),
        trailing_metadata=trailers,
        status_details_bin=err.status_details_bin(),
    )


class OrcaServerInterceptor(ServerInterceptor):
    """Sends each call's ORCA report in the ``endpoint-load-metrics-bin`` trailer.

    Put it first in the server's interceptors so that every handler, however wrapped, runs
    inside it.

    Args:
        server_metrics: machine-wide metrics added to every call's report (call-level values
            win). Without it, only what handlers record through ``call_recorder`` is sent.
    """

    name = "orca"

    def __init__(self, server_metrics: ServerMetricsRecorder | None = None) -> None:
        self._server_metrics = server_metrics
        self._wrapped: dict[MethodHandler, MethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[HandlerCallDetails], Awaitable[MethodHandler | None]],
        details: HandlerCallDetails,
    ) -> MethodHandler | None:
        """Wrap the handler's behavior so that its call carries a report."""
        handler = await continuation(details)
        if handler is None:
            return None
        try:
            wrapped = self._wrapped.get(handler)
        except TypeError:  # an unhashable behavior: wrap it every time
            return self._wrap(handler)
        if wrapped is None:
            if len(self._wrapped) >= _CACHE_SIZE:
                self._wrapped.clear()  # handlers made per call (generic handlers) churn
            wrapped = self._wrapped[handler] = self._wrap(handler)
        return wrapped

    def _wrap(self, handler: MethodHandler) -> MethodHandler:
        behavior = handler.behavior
        metrics = self._server_metrics
        if handler.kind.response_streaming:

            async def streaming(request: Any, context: ServicerContext) -> AsyncIterator[Any]:
                wrapped = _OrcaContext(context, metrics)
                try:
                    result = behavior(request, wrapped)
                    if not isinstance(result, AsyncIterable):
                        result = await result
                    if isinstance(result, AsyncIterable):
                        async for response in result:
                            yield response
                    elif isinstance(result, Iterable):
                        for response in result:
                            yield response
                except AbortError:
                    raise
                except RpcError as err:
                    raise _with_report(err, wrapped) from None
                wrapped.finish()

            return dataclasses.replace(handler, behavior=streaming)

        async def unary(request: Any, context: ServicerContext) -> Any:
            wrapped = _OrcaContext(context, metrics)
            try:
                response = await behavior(request, wrapped)
            except AbortError:
                raise
            except RpcError as err:
                raise _with_report(err, wrapped) from None
            wrapped.finish()
            return response

        return dataclasses.replace(handler, behavior=unary)
