"""Exceptions raised by the sans-I/O wire functions.

Every exception here means "the peer sent something gRPC-over-HTTP/2 does not allow". They
carry what the connection layer needs to answer on the offending stream only (RFC 9113
section 8.1.1 makes malformed requests stream errors), never to tear down the connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plugrpc_core import MessageTooLargeError

if TYPE_CHECKING:
    from plugrpc_core import StatusCode

__all__ = ["FramingError", "MessageTooLarge", "ProtocolViolation", "RequestRejected"]


class ProtocolViolation(Exception):
    """Base class: the peer broke a gRPC or HTTP/2 wire rule."""


class FramingError(ProtocolViolation):
    """A Length-Prefixed-Message is malformed (e.g. a compressed-flag byte other than 0 or 1).

    The call fails with INTERNAL (PROTOCOL-HTTP2; grpc-go does the same).
    """


class MessageTooLarge(ProtocolViolation, MessageTooLargeError):
    """A length prefix declares a message bigger than the receive limit.

    Raised before any byte of the message body is buffered. The call fails with
    RESOURCE_EXHAUSTED. Also a ``plugrpc_core.MessageTooLargeError``, so code that handles
    limits after decompression catches this one too.

    Attributes:
        length: the declared message length.
        limit: the receive limit that it exceeds.
    """

    def __init__(self, length: int, limit: int) -> None:
        # grpc-go's wording, so logs read the same across implementations.
        super().__init__(f"received message larger than max ({length} vs. {limit})")
        self.length = length
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.length, self.limit))


class RequestRejected(ProtocolViolation):
    """A request's header block is malformed or not a gRPC request.

    Exactly one of two answers applies, on the offending stream only:

    * ``reset_code`` is not None: send RST_STREAM with that HTTP/2 error code (malformed
      HTTP/2, RFC 9113 section 8.1.1);
    * otherwise send a trailers-only response with ``:status`` ``http_status`` and
      ``grpc-status`` ``status`` (gRFC A41; ``build_rejection_headers`` builds it).

    Attributes:
        http_status: ``:status`` of the trailers-only answer, or None for a reset.
        status: the gRPC status code to report.
        message: what was wrong, for ``grpc-message`` and logs.
        reset_code: HTTP/2 error code for RST_STREAM, or None.
        content_subtype: the request's content-subtype when it was valid ("" otherwise), so
            the answer's content-type repeats it as grpc-go does.
    """

    def __init__(
        self,
        *,
        http_status: int | None,
        status: StatusCode,
        message: str,
        reset_code: int | None = None,
        content_subtype: str = "",
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status = status
        self.message = message
        self.reset_code = reset_code
        self.content_subtype = content_subtype

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "http_status": self.http_status,
            "status": self.status,
            "message": self.message,
            "reset_code": self.reset_code,
            "content_subtype": self.content_subtype,
        }
        return (_rebuild_rejected, (kwargs,))

    def __repr__(self) -> str:
        return (
            f"RequestRejected(http_status={self.http_status!r}, status={self.status!r}, "
            f"message={self.message!r}, reset_code={self.reset_code!r})"
        )


def _rebuild_rejected(kwargs: dict[str, Any]) -> RequestRejected:
    return RequestRejected(**kwargs)
