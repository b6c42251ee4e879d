"""Sans-I/O gRPC over HTTP/2: bytes and header lists in, values and events out.

No asyncio, sockets, ssl or clocks here: everything is a pure function of its arguments
(time, where it matters, is passed in), so it is tested byte for byte. Header lists are
``list[tuple[bytes, bytes]]`` as h2 yields them with ``header_encoding=None``; h2's own
validation is off and these functions do the gRPC and RFC 9113 checks instead.
"""

from __future__ import annotations

from ._binary import decode_binary_header, encode_binary_header
from ._client_machine import ClientMachine
from ._config import ConnectionConfig
from ._errors import FramingError, MessageTooLarge, ProtocolViolation, RequestRejected
from ._events import (
    ConnectionTerminated,
    DrainFinalized,
    GoAwayReceived,
    MessageReceived,
    PingAcked,
    PingReceived,
    RequestEnded,
    RequestReceived,
    ResponseHeadersReceived,
    ResponseSent,
    SendWindowAvailable,
    SettingsAcked,
    SettingsReceived,
    StreamFailed,
    StreamReset,
    TrailersReceived,
)
from ._framing import MESSAGE_PREFIX_LENGTH, MessageDecoder, encode_message_prefix
from ._headers import (
    CallStatus,
    RequestHead,
    ResponseHead,
    build_rejection_trailers,
    build_request_headers,
    build_response_headers,
    build_trailers,
    content_subtype_of,
    content_type_for,
    header_list_size,
    headers_to_metadata,
    is_informational,
    metadata_to_headers,
    parse_request_headers,
    parse_response_headers,
    parse_trailers,
)
from ._message import decode_grpc_message, encode_grpc_message
from ._server_machine import DRAIN_PING_DATA, ServerMachine
from ._status_map import describe_reset_code, status_from_http_status, status_from_reset_code
from ._timeout import MAX_TIMEOUT_SECONDS, encode_grpc_timeout, parse_grpc_timeout

# Keep sorted; new modules add their names in place.
__all__ = [
    "CallStatus",
    "ClientMachine",
    "ConnectionConfig",
    "ConnectionTerminated",
    "DRAIN_PING_DATA",
    "DrainFinalized",
    "FramingError",
    "GoAwayReceived",
    "MAX_TIMEOUT_SECONDS",
    "MESSAGE_PREFIX_LENGTH",
    "MessageDecoder",
    "MessageReceived",
    "MessageTooLarge",
    "PingAcked",
    "PingReceived",
    "ProtocolViolation",
    "RequestEnded",
    "RequestHead",
    "RequestReceived",
    "RequestRejected",
    "ResponseHead",
    "ResponseHeadersReceived",
    "ResponseSent",
    "SendWindowAvailable",
    "ServerMachine",
    "SettingsAcked",
    "SettingsReceived",
    "StreamFailed",
    "StreamReset",
    "TrailersReceived",
    "build_rejection_trailers",
    "build_request_headers",
    "build_response_headers",
    "build_trailers",
    "content_subtype_of",
    "content_type_for",
    "decode_binary_header",
    "decode_grpc_message",
    "describe_reset_code",
    "encode_binary_header",
    "encode_grpc_message",
    "encode_grpc_timeout",
    "encode_message_prefix",
    "header_list_size",
    "headers_to_metadata",
    "is_informational",
    "metadata_to_headers",
    "parse_grpc_timeout",
    "parse_request_headers",
    "parse_response_headers",
    "parse_trailers",
    "status_from_http_status",
    "status_from_reset_code",
]
