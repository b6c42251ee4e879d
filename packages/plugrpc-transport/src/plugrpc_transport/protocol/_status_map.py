"""gRPC status codes for streams that ended without a ``grpc-status``.

Two one-way tables (gRPC's http-grpc-status-mapping.md and PROTOCOL-HTTP2 "Errors"): one for
responses whose HTTP ``:status`` is not a gRPC answer, one for streams ended by RST_STREAM.
Use them only when no ``grpc-status`` arrived.
"""

from __future__ import annotations

from plugrpc_core import StatusCode

__all__ = ["describe_reset_code", "status_from_http_status", "status_from_reset_code"]

_HTTP_TO_STATUS: dict[int, StatusCode] = {
    400: StatusCode.INTERNAL,
    401: StatusCode.UNAUTHENTICATED,
    403: StatusCode.PERMISSION_DENIED,
    404: StatusCode.UNIMPLEMENTED,
    429: StatusCode.UNAVAILABLE,
    # 431 Request Header Fields Too Large: in the spec's table; grpc-go's table lacks it and
    # answers UNKNOWN. INTERNAL says "our request was broken", which it was.
    431: StatusCode.INTERNAL,
    502: StatusCode.UNAVAILABLE,
    503: StatusCode.UNAVAILABLE,
    504: StatusCode.UNAVAILABLE,
}

# RFC 9113 section 7 error codes.
_RESET_NAMES = (
    "NO_ERROR",
    "PROTOCOL_ERROR",
    "INTERNAL_ERROR",
    "FLOW_CONTROL_ERROR",
    "SETTINGS_TIMEOUT",
    "STREAM_CLOSED",
    "FRAME_SIZE_ERROR",
    "REFUSED_STREAM",
    "CANCEL",
    "COMPRESSION_ERROR",
    "CONNECT_ERROR",
    "ENHANCE_YOUR_CALM",
    "INADEQUATE_SECURITY",
    "HTTP_1_1_REQUIRED",
)

_RESET_TO_STATUS: dict[int, StatusCode] = {
    0x0: StatusCode.INTERNAL,  # NO_ERROR
    0x1: StatusCode.INTERNAL,  # PROTOCOL_ERROR
    0x2: StatusCode.INTERNAL,  # INTERNAL_ERROR
    # FLOW_CONTROL_ERROR: the spec says INTERNAL; grpc-go says RESOURCE_EXHAUSTED (the peer
    # overran a window, i.e. sent more than it was allowed). We follow grpc-go, the
    # reference implementation, so both report the same code to applications.
    0x3: StatusCode.RESOURCE_EXHAUSTED,
    0x4: StatusCode.INTERNAL,  # SETTINGS_TIMEOUT
    # STREAM_CLOSED has no mapping in the spec ("only logged"); grpc-go reports INTERNAL.
    0x5: StatusCode.INTERNAL,
    0x6: StatusCode.INTERNAL,  # FRAME_SIZE_ERROR
    0x7: StatusCode.UNAVAILABLE,  # REFUSED_STREAM: nothing was processed, safe to retry
    0x8: StatusCode.CANCELLED,  # CANCEL
    0x9: StatusCode.INTERNAL,  # COMPRESSION_ERROR
    0xA: StatusCode.INTERNAL,  # CONNECT_ERROR
    0xB: StatusCode.RESOURCE_EXHAUSTED,  # ENHANCE_YOUR_CALM
    0xC: StatusCode.PERMISSION_DENIED,  # INADEQUATE_SECURITY
    0xD: StatusCode.INTERNAL,  # HTTP_1_1_REQUIRED (grpc-go)
}


def status_from_http_status(status: int) -> StatusCode:
    """The gRPC code for a response that has an HTTP ``:status`` but no ``grpc-status``.

    Args:
        status: the HTTP status code.

    Returns:
        The mapped code: 400 and 431 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
        404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, anything else (200 included) UNKNOWN.
    """
    return _HTTP_TO_STATUS.get(status, StatusCode.UNKNOWN)


def status_from_reset_code(code: int) -> StatusCode:
    """The gRPC code for a stream ended by RST_STREAM with HTTP/2 error ``code``.

    Args:
        code: the RST_STREAM error code.

    Returns:
        The mapped code; codes RFC 9113 does not define give UNKNOWN (as in grpc-go).
    """
    return _RESET_TO_STATUS.get(code, StatusCode.UNKNOWN)


def describe_reset_code(code: int) -> str:
    """A status message for a stream reset by the peer, naming the error code.

    Args:
        code: the RST_STREAM error code.
    """
    name = _RESET_NAMES[code] if 0 <= code < len(_RESET_NAMES) else f"0x{code:x}"
    return f"stream terminated by RST_STREAM with error code: {name}"
