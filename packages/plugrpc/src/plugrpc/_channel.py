"""The client channel (work in progress: the typed factory surface comes first)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._stub_types import StreamStreamMethod, StreamUnaryMethod, UnaryStreamMethod, UnaryUnaryMethod

__all__ = ["Channel"]

RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")


class Channel:
    """A virtual connection to a target (``dns:///host:port``, ``unix:/path``, ``host:port``)."""

    def __init__(self, target: str, **options: Any) -> None:
        self.target = target

    def unary_unary(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> UnaryUnaryMethod[RequestT, ResponseT]:
        """A callable for the unary method at ``method`` (``/package.Service/Method``)."""
        raise NotImplementedError

    def unary_stream(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> UnaryStreamMethod[RequestT, ResponseT]:
        """A callable for the server-streaming method at ``method``."""
        raise NotImplementedError

    def stream_unary(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> StreamUnaryMethod[RequestT, ResponseT]:
        """A callable for the client-streaming method at ``method``."""
        raise NotImplementedError

    def stream_stream(
        self, method: str, request_type: type[RequestT], response_type: type[ResponseT]
    ) -> StreamStreamMethod[RequestT, ResponseT]:
        """A callable for the bidirectional method at ``method``."""
        raise NotImplementedError
