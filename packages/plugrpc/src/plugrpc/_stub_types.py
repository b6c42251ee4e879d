"""The typed surface that generated stubs and servicers are written against.

Generated ``*_plugrpc.py`` modules annotate with these protocols only; the channel's
concrete call objects implement them.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterable, AsyncIterator, Generator, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

if TYPE_CHECKING:
    from plugrpc_core import CallCredentials, Metadata, MetadataLike, StatusCode

__all__ = [
    "Call",
    "ServicerContext",
    "StreamStreamCall",
    "StreamStreamMethod",
    "StreamUnaryCall",
    "StreamUnaryMethod",
    "UnaryStreamCall",
    "UnaryStreamMethod",
    "UnaryUnaryCall",
    "UnaryUnaryMethod",
]

RequestT_contra = TypeVar("RequestT_contra", contravariant=True)
ResponseT_co = TypeVar("ResponseT_co", covariant=True)


class Call(Protocol):
    """What every client call offers besides its messages."""

    async def initial_metadata(self) -> Metadata:
        """Response headers (empty for a trailers-only response)."""
        ...

    async def trailing_metadata(self) -> Metadata:
        """Response trailers, once the call has ended."""
        ...

    async def code(self) -> StatusCode:
        """The final status code, once the call has ended."""
        ...

    async def details(self) -> str:
        """The final status message, once the call has ended."""
        ...

    def cancel(self) -> bool:
        """Cancel the call (RST_STREAM CANCEL); False if it had already ended."""
        ...

    def done(self) -> bool:
        """Whether the call has ended."""
        ...

    def time_remaining(self) -> float | None:
        """Seconds until the deadline, or None without one."""
        ...

    def response_compressed(self) -> bool | None:
        """Whether the last response message read was compressed (None before the first)."""
        ...


class UnaryUnaryCall(Call, Protocol[ResponseT_co]):
    """A unary call: await it for the response."""

    def __await__(self) -> Generator[Any, None, ResponseT_co]: ...


class UnaryStreamCall(Call, Protocol[ResponseT_co]):
    """A server-streaming call: iterate it for the responses."""

    def __aiter__(self) -> AsyncIterator[ResponseT_co]: ...

    async def read(self) -> ResponseT_co | None:
        """The next response, or None at the end of the stream."""
        ...


class StreamUnaryCall(Call, Protocol[RequestT_contra, ResponseT_co]):
    """A client-streaming call: write requests (or pass an iterator), then await the response."""

    async def write(self, request: RequestT_contra, *, compress: bool = True) -> None:
        """Send one request; ``compress=False`` sends it uncompressed on a compressed call."""
        ...

    async def done_writing(self) -> None:
        """Half-close: no more requests."""
        ...

    def __await__(self) -> Generator[Any, None, ResponseT_co]: ...


class StreamStreamCall(Call, Protocol[RequestT_contra, ResponseT_co]):
    """A bidirectional call."""

    async def write(self, request: RequestT_contra, *, compress: bool = True) -> None:
        """Send one request; ``compress=False`` sends it uncompressed on a compressed call."""
        ...

    async def done_writing(self) -> None:
        """Half-close: no more requests."""
        ...

    def __aiter__(self) -> AsyncIterator[ResponseT_co]: ...

    async def read(self) -> ResponseT_co | None:
        """The next response, or None at the end of the stream."""
        ...


class UnaryUnaryMethod(Protocol[RequestT_contra, ResponseT_co]):
    """A unary method on a stub."""

    def __call__(
        self,
        request: RequestT_contra,
        *,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
        wait_for_ready: bool | None = None,
        compression: str | None = None,
        content_subtype: str | None = None,
        credentials: CallCredentials | None = None,
    ) -> UnaryUnaryCall[ResponseT_co]: ...


class UnaryStreamMethod(Protocol[RequestT_contra, ResponseT_co]):
    """A server-streaming method on a stub."""

    def __call__(
        self,
        request: RequestT_contra,
        *,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
        wait_for_ready: bool | None = None,
        compression: str | None = None,
        content_subtype: str | None = None,
        credentials: CallCredentials | None = None,
    ) -> UnaryStreamCall[ResponseT_co]: ...


class StreamUnaryMethod(Protocol[RequestT_contra, ResponseT_co]):
    """A client-streaming method on a stub."""

    def __call__(
        self,
        request_iterator: AsyncIterable[RequestT_contra] | Iterable[RequestT_contra] | None = None,
        *,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
        wait_for_ready: bool | None = None,
        compression: str | None = None,
        content_subtype: str | None = None,
        credentials: CallCredentials | None = None,
    ) -> StreamUnaryCall[RequestT_contra, ResponseT_co]: ...


class StreamStreamMethod(Protocol[RequestT_contra, ResponseT_co]):
    """A bidirectional method on a stub."""

    def __call__(
        self,
        request_iterator: AsyncIterable[RequestT_contra] | Iterable[RequestT_contra] | None = None,
        *,
        timeout: float | None = None,
        metadata: MetadataLike | None = None,
        wait_for_ready: bool | None = None,
        compression: str | None = None,
        content_subtype: str | None = None,
        credentials: CallCredentials | None = None,
    ) -> StreamStreamCall[RequestT_contra, ResponseT_co]: ...


class ServicerContext(abc.ABC):
    """What a server handler knows about and can do to its call."""

    @abc.abstractmethod
    def method(self) -> str:
        """The full method path, ``/package.Service/Method``."""

    @abc.abstractmethod
    def peer(self) -> str:
        """The client's address, e.g. ``ipv4:127.0.0.1:5555`` or ``unix:/path``."""

    @abc.abstractmethod
    def invocation_metadata(self) -> Metadata:
        """The request metadata (``:authority`` and ``user-agent`` included, as in grpc-go)."""

    @abc.abstractmethod
    async def send_initial_metadata(self, metadata: MetadataLike) -> None:
        """Send response headers now, with ``metadata``."""

    @abc.abstractmethod
    def set_trailing_metadata(self, metadata: MetadataLike) -> None:
        """Metadata to send with the status."""

    @abc.abstractmethod
    def set_code(self, code: StatusCode) -> None:
        """The status to end with when the handler returns normally."""

    @abc.abstractmethod
    def set_details(self, details: str) -> None:
        """The status message to end with when the handler returns normally."""

    @abc.abstractmethod
    async def abort(
        self,
        code: StatusCode,
        details: str = "",
        *,
        trailing_metadata: MetadataLike | None = None,
        status_details_bin: bytes | None = None,
    ) -> NoReturn:
        """End the call now with ``code`` (raises; never returns)."""

    @abc.abstractmethod
    def set_compression(self, name: str | None) -> None:
        """Compress responses with ``name`` (must be one the client accepts), None for none."""

    @abc.abstractmethod
    def set_message_compression(self, enabled: bool) -> None:
        """Whether the following response messages are compressed, when the call has a
        response compressor (False sends them with the compressed flag 0)."""

    @abc.abstractmethod
    def request_compressed(self) -> bool | None:
        """Whether the last request message read was compressed (None before the first)."""

    @abc.abstractmethod
    def auth_context(self) -> dict[str, Any]:
        """How the client is authenticated: ``transport_security_type`` (``"ssl"`` or
        ``"insecure"``), and ``x509_common_name`` and ``x509_subject_alternative_name`` when
        it presented a verified certificate."""

    @abc.abstractmethod
    def time_remaining(self) -> float | None:
        """Seconds until the client's deadline, or None without one."""

    @abc.abstractmethod
    def cancelled(self) -> bool:
        """Whether the client cancelled, the deadline passed or the connection broke."""

    @abc.abstractmethod
    def done(self) -> bool:
        """Whether the call has ended."""
