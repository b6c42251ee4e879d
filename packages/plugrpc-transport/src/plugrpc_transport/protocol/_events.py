"""Events the connection machines emit: gRPC-level facts, not HTTP/2 frames.

``ClientMachine.receive`` and ``ServerMachine.receive`` return lists of these. Each is a
frozen, slotted value object; the asyncio layer dispatches them with ``type(event) is X``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._headers import CallStatus, RequestHead, ResponseHead

__all__ = [
    "ConnectionTerminated",
    "DrainFinalized",
    "GoAwayReceived",
    "MessageReceived",
    "PingAcked",
    "PingReceived",
    "RequestEnded",
    "RequestReceived",
    "ResponseHeadersReceived",
    "ResponseSent",
    "SendWindowAvailable",
    "SettingsAcked",
    "SettingsReceived",
    "StreamFailed",
    "StreamReset",
    "TrailersReceived",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReceived:
    """Server: a valid gRPC request opened ``stream_id`` (the header checks passed).

    A ``RequestEnded`` follows in the same batch when the HEADERS frame carried END_STREAM.
    """

    stream_id: int
    head: RequestHead


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseHeadersReceived:
    """Client: the response's initial metadata arrived (the call is committed, gRFC A6)."""

    stream_id: int
    head: ResponseHead


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived:
    """A complete Length-Prefixed-Message arrived on ``stream_id``.

    Attributes:
        compressed: the message's compressed flag.
        payload: the message bytes (not decompressed).
        flow_size: stream-window bytes to give back with ``consume(stream_id, flow_size)``
            once the application has taken the message.
    """

    stream_id: int
    compressed: bool
    payload: bytes
    flow_size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestEnded:
    """Server: the client half-closed ``stream_id`` (END_STREAM); no more messages."""

    stream_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailersReceived:
    """Client: the call ended with ``status`` from the server (trailers or trailers-only)."""

    stream_id: int
    status: CallStatus
    trailers_only: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseSent:
    """Server: trailers that waited behind flow-controlled DATA went out; the stream is done.

    (Trailers sent at once by ``send_trailers`` produce no event: ``is_open`` is then
    already False.)
    """

    stream_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamReset:
    """``stream_id`` ended by RST_STREAM.

    Attributes:
        error_code: the HTTP/2 error code.
        remote: True when the peer sent the RST_STREAM; False when h2 reset the stream
            because of something the peer sent (e.g. a stream window overflow).
    """

    stream_id: int
    error_code: int
    remote: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamFailed:
    """The machine ended ``stream_id`` itself, with ``status``.

    The wire side is already taken care of (RST_STREAM, or an error status to the client).
    Causes: a message over the receive limit (RESOURCE_EXHAUSTED), bad framing or a
    truncated message (INTERNAL), a malformed response (client), or a GOAWAY whose
    last-stream-id is below the stream (client; UNAVAILABLE).

    Attributes:
        unprocessed: the server provably did not process the stream, so it is safe to
            retry transparently (gRFC A6; PROTOCOL-HTTP2 "GOAWAY").
    """

    stream_id: int
    status: CallStatus
    unprocessed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SendWindowAvailable:
    """Queued outbound bytes of ``stream_id`` fell to the write quota: writers may go on."""

    stream_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PingReceived:
    """The peer sent a PING (already answered)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class PingAcked:
    """The peer acknowledged one of our PINGs."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsReceived:
    """The peer's SETTINGS arrived (already acknowledged).

    Attributes:
        max_concurrent_streams: the peer's current MAX_CONCURRENT_STREAMS, or None if it
            never set one (unlimited).
    """

    max_concurrent_streams: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsAcked:
    """The peer acknowledged our SETTINGS."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GoAwayReceived:
    """The peer sent GOAWAY: no new streams; streams above ``last_stream_id`` were dropped."""

    last_stream_id: int
    error_code: int
    debug: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class DrainFinalized:
    """Server: the second GOAWAY of a graceful drain went out with ``last_stream_id``."""

    last_stream_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionTerminated:
    """The machine gave up on the connection; its last bytes (GOAWAY) are queued.

    Write what ``data_to_send()`` returns, then close the socket. Every open stream is lost.

    Attributes:
        error_code: the HTTP/2 error code of our GOAWAY.
        message: why, for logs and for the statuses of the lost streams.
    """

    error_code: int
    message: str
