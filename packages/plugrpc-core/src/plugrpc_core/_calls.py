"""Call-level vocabulary shared by the call layer and interceptor plugins."""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._metadata import Metadata

__all__ = [
    "ClientCallDetails",
    "ClientInterceptor",
    "HandlerCallDetails",
    "MethodHandler",
    "MethodKind",
    "ServerInterceptor",
]


class MethodKind(enum.Enum):
    """The four kinds of gRPC method."""

    UNARY_UNARY = (False, False)
    UNARY_STREAM = (False, True)
    STREAM_UNARY = (True, False)
    STREAM_STREAM = (True, True)

    @property
    def request_streaming(self) -> bool:
        """Whether the client sends a stream of messages."""
        return bool(self.value[0])

    @property
    def response_streaming(self) -> bool:
        """Whether the server sends a stream of messages."""
        return bool(self.value[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientCallDetails:
    """What a client interceptor may read and replace (``dataclasses.replace``)."""

    method: str
    kind: MethodKind
    timeout: float | None
    metadata: Metadata
    wait_for_ready: bool | None
    compression: str | None


class ClientInterceptor:
    """Wraps calls on a channel. Override the kinds you care about.

    Each method gets ``continuation(details, request)``, which starts the call (or the next
    interceptor) and returns the call object; return that call, or one you wrap. For
    stream-request kinds, ``request`` is the request iterator (or None when the caller will
    write messages itself).
    """

    name: ClassVar[str] = ""

    async def intercept_unary_unary(
        self,
        continuation: Callable[[ClientCallDetails, Any], Awaitable[Any]],
        details: ClientCallDetails,
        request: Any,
    ) -> Any:
        """Intercept a unary-unary call."""
        return await continuation(details, request)

    async def intercept_unary_stream(
        self,
        continuation: Callable[[ClientCallDetails, Any], Awaitable[Any]],
        details: ClientCallDetails,
        request: Any,
    ) -> Any:
        """Intercept a unary-stream call."""
        return await continuation(details, request)

    async def intercept_stream_unary(
        self,
        continuation: Callable[[ClientCallDetails, Any], Awaitable[Any]],
        details: ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        """Intercept a stream-unary call."""
        return await continuation(details, request_iterator)

    async def intercept_stream_stream(
        self,
        continuation: Callable[[ClientCallDetails, Any], Awaitable[Any]],
        details: ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        """Intercept a stream-stream call."""
        return await continuation(details, request_iterator)


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodHandler:
    """How a server runs one method.

    ``behavior`` is ``async def(request, context) -> response`` for unary responses, or an
    async generator function ``(request, context)`` for streamed responses; for streamed
    requests, ``request`` is an async iterator. ``request_type`` / ``response_type`` are what
    the codec decodes to and encodes from (``bytes`` means raw payloads, no codec).
    """

    kind: MethodKind
    behavior: Callable[..., Any]
    request_type: type[Any] = bytes
    response_type: type[Any] = bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerCallDetails:
    """What a server interceptor sees before the handler is chosen."""

    method: str
    invocation_metadata: Metadata


class ServerInterceptor(abc.ABC):
    """Wraps method lookup on a server (grpcio's model).

    ``continuation(details)`` returns the next handler (None: UNIMPLEMENTED). Return it, a
    wrapped ``MethodHandler``, or one whose behavior aborts the call.
    """

    name: ClassVar[str] = ""

    @abc.abstractmethod
    async def intercept_service(
        self,
        continuation: Callable[[HandlerCallDetails], Awaitable[MethodHandler | None]],
        details: HandlerCallDetails,
    ) -> MethodHandler | None:
        """Choose or wrap the handler for one call."""
