"""The server: services, method routing, one task per call, graceful stop.

Theory of operation: the transport validates each request's headers and calls
``Server._on_stream`` synchronously. Routing is one dict lookup by ``:path``; the handler then
runs in its own task with a ``ServerCallContext``. Peer resets, the deadline (census 2.3: the
server cancels locally and resets the stream) and the end of a graceful stop's grace period
cancel that task, so the handler sees ``asyncio.CancelledError`` and ``context.cancelled()``.
A handler's concurrency slot is released only when its task ends (rapid-reset defence,
reliability row 1), via ``ServerStream.handler_done``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from plugrpc_core import (
    HandlerCallDetails,
    Metadata,
    MethodHandler,
    RpcError,
    ServerInterceptor,
    StatusCode,
)
from plugrpc_transport import StreamClosed, TransportOptions, serve
from plugrpc_transport.protocol import CallStatus

from ._context import AbortError, ServerCallContext
from ._marshal import CompressionSet, decoder_for, encoder_for

if TYPE_CHECKING:
    from collections.abc import Callable

    from plugrpc_core import Compressor, ServerCredentials
    from plugrpc_transport import ServerListener, ServerStream

    from ._descriptors import ServiceDescriptor

__all__ = ["GenericHandler", "Server", "method_handlers_generic_handler"]

DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH = 4 * 1024 * 1024
DEFAULT_MAX_SEND_MESSAGE_LENGTH = 2**31 - 1


class GenericHandler(Protocol):
    """Finds handlers for methods the server has no service for (grpcio's generic handler)."""

    def service(self, method: str) -> MethodHandler | None:
        """The handler for ``method`` (``/package.Service/Method``), or None."""
        ...


class _MappingHandler:
    def __init__(self, handlers: Mapping[str, MethodHandler]) -> None:
        self._handlers = dict(handlers)

    def service(self, method: str) -> MethodHandler | None:
        return self._handlers.get(method)


def method_handlers_generic_handler(
    service: str, handlers: Mapping[str, MethodHandler]
) -> GenericHandler:
    """A generic handler serving ``handlers`` (method name -> handler) as ``service``."""
    return _MappingHandler({f"/{service}/{name}": h for name, h in handlers.items()})


class _Route:
    """A method handler with its codecs, cached per content-subtype."""

    __slots__ = ("_codecs", "handler")

    def __init__(self, handler: MethodHandler) -> None:
        self.handler = handler
        self._codecs: dict[str, tuple[Callable[[bytes], Any], Callable[[Any], bytes]]] = {}

    def codecs(self, subtype: str) -> tuple[Callable[[bytes], Any], Callable[[Any], bytes]]:
        pair = self._codecs.get(subtype)
        if pair is None:
            pair = (
                decoder_for(self.handler.request_type, subtype),
                encoder_for(self.handler.response_type, subtype),
            )
            self._codecs[subtype] = pair
        return pair


class _Unimplemented(Exception):
    pass


class Server:
    """A gRPC server.

    Args:
        services: servicer instances (subclasses of generated ``*Base`` classes, which carry a
            ``plugrpc_service`` descriptor).
        interceptors: server interceptors, outermost first.
        generic_handlers: handlers for methods no service declares.
        credentials: server credentials (default: plaintext).
        compression: default response compression (used only when the client accepts it).
            Without one, a call answers in its request's compression when the client
            accepts that (as grpc-go does).
        compressors: compressor instances that replace the installed plugin's default
            instance for their name (``GzipCompressor(level=9)``), or add a name.
        max_receive_message_length: larger requests fail RESOURCE_EXHAUSTED (4 MiB).
        max_send_message_length: larger responses fail RESOURCE_EXHAUSTED.
        max_concurrent_streams: running handlers per connection (advertised in SETTINGS).
        transport_options: HTTP/2 settings.
    """

    def __init__(
        self,
        services: Sequence[object] = (),
        *,
        interceptors: Sequence[ServerInterceptor] = (),
        generic_handlers: Sequence[GenericHandler] = (),
        credentials: ServerCredentials | None = None,
        compression: str | None = None,
        compressors: Sequence[Compressor] = (),
        max_receive_message_length: int = DEFAULT_MAX_RECEIVE_MESSAGE_LENGTH,
        max_send_message_length: int = DEFAULT_MAX_SEND_MESSAGE_LENGTH,
        max_concurrent_streams: int = 100,
        transport_options: TransportOptions | None = None,
    ) -> None:
        self._routes: dict[str, _Route] = {}
        self._generic_handlers: list[GenericHandler] = list(generic_handlers)
        self._interceptors = tuple(interceptors)
        for interceptor in self._interceptors:
            if not isinstance(interceptor, ServerInterceptor):
                raise TypeError(f"not a ServerInterceptor: {interceptor!r}")
        self._credentials = credentials
        self._tls = False  # set when a listener starts with TLS (auth_context)
        self._compression = CompressionSet(compressors)
        if compression is not None and compression != "identity":
            self._compression.require(compression)
        self._default_compression = compression
        self._max_receive_message_length = max_receive_message_length
        self._max_send_message_length = max_send_message_length
        options = transport_options or TransportOptions()
        self._transport_options = dataclasses.replace(
            options,
            max_receive_message_length=max_receive_message_length,
            max_concurrent_streams=max_concurrent_streams,
        )
        self._listeners: list[ServerListener] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._stopped: asyncio.Event | None = None
        self._started = False
        for servicer in services:
            self.add_service(servicer)

    # -- registration ------------------------------------------------------------------

    def add_service(self, servicer: object, descriptor: ServiceDescriptor | None = None) -> None:
        """Serve every method of ``servicer`` (its ``plugrpc_service`` descriptor by default)."""
        if descriptor is None:
            descriptor = getattr(servicer, "plugrpc_service", None)
            if descriptor is None:
                raise TypeError(
                    f"{type(servicer).__name__} has no plugrpc_service descriptor: subclass a "
                    "generated *Base class or pass descriptor="
                )
        for method in descriptor.methods:
            path = descriptor.method_path(method)
            if path in self._routes:
                raise ValueError(f"method {path} is registered twice")
            self._routes[path] = _Route(
                MethodHandler(
                    kind=method.kind,
                    behavior=getattr(servicer, method.name),
                    request_type=method.request_type,
                    response_type=method.response_type,
                )
            )

    def add_generic_handler(self, handler: GenericHandler) -> None:
        """Consult ``handler`` for methods no service declares."""
        self._generic_handlers.append(handler)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, address: str = "127.0.0.1:0", *, reuse_port: bool = False) -> int:
        """Listen on ``address``: ``host:port``, ``[::]:0``, ``unix:/path``, ``unix-abstract:name``.

        Can be called more than once to listen on several addresses.

        Returns:
            The bound TCP port (0 for Unix sockets).
        """
        if self._stopping:
            raise RuntimeError("the server is stopping")
        if self._stopped is None:
            self._stopped = asyncio.Event()
        host, port, path = _parse_listen_address(address)
        ssl_context = self._credentials.server_ssl_context() if self._credentials else None
        if ssl_context is not None:
            self._tls = True
        listener = await serve(
            self._on_stream,
            host=host,
            port=port,
            path=path,
            options=self._transport_options,
            ssl=ssl_context,
            reuse_port=reuse_port,
        )
        self._listeners.append(listener)
        self._started = True
        return listener.port

    async def stop(self, grace: float | None = None) -> None:
        """Stop serving.

        With ``grace``, stop accepting, tell clients with a double GOAWAY, let in-flight calls
        finish for up to ``grace`` seconds, then cancel what is left. Without, cancel at once.
        """
        if self._stopping:
            if self._stopped is not None:
                await self._stopped.wait()
            return
        self._stopping = True
        for listener in self._listeners:
            listener.stop_accepting()
        if grace:
            await asyncio.gather(*(listener.drain(grace) for listener in self._listeners))
        else:
            await asyncio.gather(*(listener.close() for listener in self._listeners))
        if self._tasks:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.wait(list(self._tasks), timeout=5.0)
        if self._stopped is not None:
            self._stopped.set()

    async def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Wait until the server has stopped; False if ``timeout`` passed first."""
        if self._stopped is None:
            self._stopped = asyncio.Event()
        try:
            await asyncio.wait_for(self._stopped.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop(None)

    # -- per call ----------------------------------------------------------------------

    def _default_compressor_for(self, stream: ServerStream) -> Compressor | None:
        name = self._default_compression
        if name is None:
            # grpc-go answers in the request's compression when the server sets none.
            name = stream.head.encoding
        if name is None or name == "identity":
            return None
        # compression.md: never compress with an algorithm the client did not offer.
        if self._compression.accepts(name, stream.head.accept_encoding):
            return self._compression.get(name)
        return None

    def _on_stream(self, stream: ServerStream) -> None:
        loop = asyncio.get_running_loop()
        timeout = stream.head.timeout
        if timeout is not None and timeout <= 0:
            # An already-expired deadline never reaches the handler (reliability row 19).
            stream.cancel()
            stream.handler_done()
            return
        route = self._routes.get(stream.head.path)
        if route is None and not self._interceptors:
            route = self._generic_route(stream.head.path)
        context = ServerCallContext(self, stream, loop)
        task = loop.create_task(self._handle(stream, context, route))
        context.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        stream.add_cancel_callback(lambda: _cancel_task(task))
        if timeout is not None:
            handle = loop.call_later(timeout, self._deadline_expired, stream, context)
            task.add_done_callback(lambda _t: handle.cancel())

    def _generic_route(self, path: str) -> _Route | None:
        for generic in self._generic_handlers:
            handler = generic.service(path)
            if handler is not None:
                return _Route(handler)
        return None

    @staticmethod
    def _deadline_expired(stream: ServerStream, context: ServerCallContext) -> None:
        # The handler is cancelled now and the call ends with DEADLINE_EXCEEDED in trailers,
        # as grpc-go's server writes it. Resetting the stream at once instead races the
        # client's own timer, and a grpcio client that hears the RST first reports CANCELLED.
        context._deadline_expired = True
        task = context.task
        if task is None or task.done():
            return
        task.cancel()
        # A handler that ignores cancellation does not hold the stream open: reset it.
        asyncio.get_running_loop().call_later(
            _DEADLINE_RESET_GRACE, _reset_if_running, stream, task
        )

    async def _route_through_interceptors(self, stream: ServerStream) -> _Route | None:
        path = stream.head.path
        details = HandlerCallDetails(method=path, invocation_metadata=stream.head.metadata)

        async def lookup(_details: HandlerCallDetails) -> MethodHandler | None:
            route = self._routes.get(_details.method) or self._generic_route(_details.method)
            return route.handler if route is not None else None

        async def at(index: int, d: HandlerCallDetails) -> MethodHandler | None:
            if index == len(self._interceptors):
                return await lookup(d)

            def continuation(nd: HandlerCallDetails) -> Awaitable[MethodHandler | None]:
                return at(index + 1, nd)

            return await self._interceptors[index].intercept_service(continuation, d)

        handler = await at(0, details)
        if handler is None:
            return None
        existing = self._routes.get(path)
        if existing is not None and existing.handler is handler:
            return existing
        return _Route(handler)

    async def _handle(
        self, stream: ServerStream, context: ServerCallContext, route: _Route | None
    ) -> None:
        status: CallStatus | None = None
        try:
            if self._interceptors:
                route = await self._route_through_interceptors(stream)
            if route is None:
                raise _Unimplemented
            status = await self._run(stream, context, route)
        except _Unimplemented:
            path = stream.head.path
            service = path.rsplit("/", 1)[0].lstrip("/")
            known = any(p.startswith(f"/{service}/") for p in self._routes)
            message = (
                f"unknown method {path.rsplit('/', 1)[-1]} for service {service}"
                if known
                else f"unknown service {service}"
            )
            status = CallStatus(code=StatusCode.UNIMPLEMENTED, message=message)
        except AbortError:
            status = context._status()
        except RpcError as err:
            # A status raised by the handler (e.g. from a nested call) is passed through, as
            # grpc-go passes through status errors returned by handlers.
            status = CallStatus(
                code=err.code(),
                message=err.details(),
                details_bin=err.status_details_bin(),
                metadata=err.trailing_metadata(),
            )
        except asyncio.CancelledError:
            status = None
            if context._deadline_expired:
                status = _STATUS_DEADLINE
            elif not stream.cancelled:
                stream.cancel()
        except Exception as exc:
            status = CallStatus(
                code=StatusCode.UNKNOWN, message=f"Unexpected {type(exc).__name__}: {exc}"
            )
        finally:
            context._done = True
        if context._deadline_expired and status is not None and status.code == StatusCode.OK:
            status = _STATUS_DEADLINE
        try:
            if status is not None and not stream.cancelled:
                await stream.send_status(status)
        except (StreamClosed, asyncio.CancelledError):
            pass
        finally:
            stream.handler_done()

    async def _run(
        self, stream: ServerStream, context: ServerCallContext, route: _Route
    ) -> CallStatus:
        head = stream.head
        encoding = head.encoding
        if (
            encoding is not None
            and encoding != "identity"
            and self._compression.get(encoding) is None
        ):
            # compression.md: answer UNIMPLEMENTED and tell the client what we accept. The
            # status block cannot carry grpc-accept-encoding (reserved keys are dropped from
            # trailing metadata), so headers carrying it go first.
            context._compressor = None
            try:
                await context._send_headers(Metadata())
            except StreamClosed:
                pass
            return CallStatus(
                code=StatusCode.UNIMPLEMENTED,
                message=f"grpc: Decompressor is not installed for grpc-encoding {encoding!r}",
            )
        try:
            decode, encode = route.codecs(head.content_subtype)
        except LookupError as exc:
            return CallStatus(code=StatusCode.INTERNAL, message=str(exc))
        handler = route.handler
        kind = handler.kind
        behavior = handler.behavior

        async def send(response: Any) -> None:
            try:
                data = encode(response)
            except Exception as exc:
                raise RpcError(
                    StatusCode.INTERNAL, f"grpc: error while marshaling: {exc}"
                ) from None
            compressed = False
            compressor = context._compressor
            if compressor is not None and context._message_compression:
                data = compressor.compress(data)
                compressed = True
            if len(data) > self._max_send_message_length:
                raise RpcError(
                    StatusCode.RESOURCE_EXHAUSTED,
                    f"grpc: trying to send message larger than max "
                    f"({len(data)} vs. {self._max_send_message_length})",
                )
            await context._send_response(data, compressed)

        if kind.request_streaming:
            request: Any = _RequestIterator(self, stream, decode, encoding, context)
        else:
            request = await self._read_single(stream, decode, encoding, context)

        if kind.response_streaming:
            result = behavior(request, context)
            if isinstance(result, AsyncIterable):
                async for response in result:
                    await send(response)
            else:
                result = await result
                if isinstance(result, AsyncIterable):
                    async for response in result:
                        await send(response)
                elif isinstance(result, Iterable):
                    for response in result:
                        await send(response)
        else:
            response = await behavior(request, context)
            if context._final_status is None and context._code == StatusCode.OK:
                if response is None:
                    raise RpcError(
                        StatusCode.INTERNAL, f"handler for {head.path} returned no response"
                    )
                await send(response)
        return context._status()

    async def _read_single(
        self,
        stream: ServerStream,
        decode: Callable[[bytes], Any],
        encoding: str | None,
        context: ServerCallContext,
    ) -> Any:
        item = await _receive(stream)
        if item is None:
            raise RpcError(
                StatusCode.INTERNAL,
                "grpc: cardinality violation: received no request message from a unary RPC",
            )
        extra = await _receive(stream)
        if extra is not None:
            raise RpcError(
                StatusCode.INTERNAL,
                "grpc: cardinality violation: received more than one request message for a "
                "unary RPC",
            )
        return self._decode(item, decode, encoding, context)

    def _decode(
        self,
        item: tuple[bool, bytes],
        decode: Callable[[bytes], Any],
        encoding: str | None,
        context: ServerCallContext,
    ) -> Any:
        compressed, data = item
        context._request_compressed = compressed
        if compressed:
            data = self._compression.inflate(
                encoding, data, self._max_receive_message_length, server=True
            )
        try:
            return decode(data)
        except Exception as exc:
            raise RpcError(
                StatusCode.INTERNAL, f"grpc: error unmarshalling request: {exc}"
            ) from None


_STATUS_DEADLINE = CallStatus(code=StatusCode.DEADLINE_EXCEEDED, message="Deadline Exceeded")
_DEADLINE_RESET_GRACE = 1.0


def _reset_if_running(stream: ServerStream, task: asyncio.Task[None]) -> None:
    if not task.done():
        stream.cancel()


def _cancel_task(task: asyncio.Task[None]) -> None:
    task.cancel()


async def _receive(stream: ServerStream) -> tuple[bool, bytes] | None:
    try:
        return await stream.receive_message()
    except StreamClosed:
        raise asyncio.CancelledError from None


class _RequestIterator:
    """The request stream a streaming handler iterates."""

    __slots__ = ("_context", "_decode", "_encoding", "_server", "_stream")

    def __init__(
        self,
        server: Server,
        stream: ServerStream,
        decode: Callable[[bytes], Any],
        encoding: str | None,
        context: ServerCallContext,
    ) -> None:
        self._server = server
        self._stream = stream
        self._decode = decode
        self._encoding = encoding
        self._context = context

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        item = await _receive(self._stream)
        if item is None:
            raise StopAsyncIteration
        return self._server._decode(item, self._decode, self._encoding, self._context)

    async def read(self) -> Any:
        """The next request, or None when the client has half-closed."""
        item = await _receive(self._stream)
        if item is None:
            return None
        return self._server._decode(item, self._decode, self._encoding, self._context)


def _parse_listen_address(address: str) -> tuple[str | None, int, str | None]:
    if address.startswith("unix-abstract:"):
        return None, 0, "\0" + address[len("unix-abstract:") :]
    if address.startswith("unix:"):
        path = address[len("unix:") :]
        if path.startswith("//"):
            path = path[2:]
        if not path:
            raise ValueError(f"empty unix socket path in {address!r}")
        return None, 0, path
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ValueError(f"listen address must be host:port or unix:path, got {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"invalid port in listen address {address!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range in listen address {address!r}")
    return host or None, port, None
