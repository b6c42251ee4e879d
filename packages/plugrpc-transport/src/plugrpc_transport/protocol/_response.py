"""Response header blocks and trailers: built by the server, parsed by the client.

Theory of operation (PROTOCOL-HTTP2 "Responses"). A response is either

* initial headers (``:status 200``, ``content-type``, [``grpc-encoding``],
  [``grpc-accept-encoding``], metadata), messages, then trailers with END_STREAM
  (``grpc-status``, ``grpc-message``, [``grpc-status-details-bin``], trailing metadata); or
* trailers-only: one block with END_STREAM holding ``:status``, ``content-type`` and the
  trailer fields, every one of which the client treats as a trailer.

``grpc-status`` is always sent, OK included, and like grpc-go we always send
``grpc-message``, empty or not. The constant pieces (the initial-headers prefix per subtype,
the whole block of an OK status with no metadata) are memoised.

Parsing follows the spec where grpc-go agrees and grpc-go otherwise: a block without
``:status`` is INTERNAL; a non-gRPC ``content-type`` (or none) gives the code mapped from the
HTTP status (UNKNOWN for 200) and a message saying what arrived; a gRPC block with a
non-200 ``:status`` and no ``grpc-status`` gives the HTTP mapping too (spec; grpc-go would say
UNKNOWN); a block that carries ``grpc-status`` is trailers-only. Trailers without
``grpc-status`` give UNKNOWN (grpc-go). Informational (1xx) blocks are the caller's to skip
(``is_informational``) before calling ``parse_response_headers``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from plugrpc_core import Metadata, StatusCode

from ._binary import decode_binary_header, encode_binary_header
from ._fields import (
    CallStatus,
    ResponseHead,
    add_received,
    append_metadata,
    content_subtype_of,
    content_type_for,
)
from ._message import decode_grpc_message, encode_grpc_message
from ._status_map import status_from_http_status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import MetadataValue

    from ._errors import RequestRejected

__all__ = [
    "build_rejection_trailers",
    "build_response_headers",
    "build_trailers",
    "is_informational",
    "parse_response_headers",
    "parse_trailers",
]

Headers = list[tuple[bytes, bytes]]

_CACHE_LIMIT = 256
_STATUS_VALUES = tuple(b"%d" % code for code in StatusCode)  # indexed by code
_WIRE_CODES = {value: StatusCode(code) for code, value in enumerate(_STATUS_VALUES)}
_http_statuses: dict[int, bytes] = {200: b"200"}
_head_prefixes: dict[str, Headers] = {}
_ok_blocks: dict[tuple[bool, str, int], Headers] = {}


# --- server side ----------------------------------------------------------------------


def build_response_headers(head: ResponseHead) -> Headers:
    """Build a response's initial header block (``:status 200`` ... metadata).

    Args:
        head: what to send; ``content_subtype`` should repeat the request's.

    Returns:
        A new list of fields.
    """
    prefix = _head_prefixes.get(head.content_subtype)
    if prefix is None:
        prefix = [(b":status", b"200"), (b"content-type", content_type_for(head.content_subtype))]
        if len(_head_prefixes) < _CACHE_LIMIT:
            _head_prefixes[head.content_subtype] = prefix
    headers = prefix.copy()
    if head.encoding:
        headers.append((b"grpc-encoding", head.encoding.encode("ascii")))
    if head.accept_encoding:
        headers.append((b"grpc-accept-encoding", head.accept_encoding.encode("ascii")))
    if head.metadata:
        append_metadata(headers, head.metadata)
    return headers


def _http_status(value: int) -> bytes:
    encoded = _http_statuses.get(value)
    if encoded is None:
        if not 100 <= value <= 999:
            raise ValueError(f"invalid HTTP status {value}")
        encoded = _http_statuses[value] = b"%d" % value
    return encoded


def build_trailers(
    status: CallStatus,
    *,
    trailers_only: bool,
    content_subtype: str = "proto",
    http_status: int = 200,
) -> Headers:
    """Build the block that ends a response.

    Args:
        status: code, message, details and trailing metadata. Reserved keys in the metadata
            (``grpc-status-details-bin`` included: use ``details_bin``) are not sent.
        trailers_only: no initial headers were sent, so this block also carries
            ``:status`` and ``content-type`` first.
        content_subtype: the request's content-subtype (trailers-only only).
        http_status: ``:status`` for trailers-only (200 unless rejecting a request).

    Returns:
        A new list of fields.
    """
    plain_ok = (
        status.code == 0 and not status.message and status.details_bin is None
    ) and not status.metadata
    if plain_ok:
        key = (trailers_only, content_subtype, http_status)
        cached = _ok_blocks.get(key)
        if cached is not None:
            return cached.copy()
    headers: Headers = []
    if trailers_only:
        headers.append((b":status", _http_status(http_status)))
        headers.append((b"content-type", content_type_for(content_subtype)))
    headers.append((b"grpc-status", _STATUS_VALUES[status.code]))
    headers.append((b"grpc-message", encode_grpc_message(status.message)))
    if status.details_bin is not None:
        headers.append((b"grpc-status-details-bin", encode_binary_header(status.details_bin)))
    if status.metadata:
        append_metadata(headers, status.metadata)
    if plain_ok and len(_ok_blocks) < _CACHE_LIMIT:
        _ok_blocks[(trailers_only, content_subtype, http_status)] = headers.copy()
    return headers


def build_rejection_trailers(rejected: RequestRejected) -> Headers:
    """The trailers-only answer to a request ``parse_request_headers`` rejected.

    Args:
        rejected: a rejection whose ``reset_code`` is None.

    Raises:
        ValueError: the rejection asks for RST_STREAM instead.
    """
    if rejected.reset_code is not None or rejected.http_status is None:
        raise ValueError("this rejection is answered with RST_STREAM, not a response")
    return build_trailers(
        CallStatus(code=rejected.status, message=rejected.message),
        trailers_only=True,
        content_subtype=rejected.content_subtype,
        http_status=rejected.http_status,
    )


# --- client side ----------------------------------------------------------------------


def is_informational(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether a response block is an informational (1xx) one, to be skipped.

    grpc-go fails the stream with INTERNAL if such a block carries END_STREAM.
    """
    for name, value in headers:
        if name == b":status":
            return len(value) == 3 and value[:1] == b"1" and value.isdigit()
    return False


def _http_error(code: int) -> str:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "unknown"
    return f"unexpected HTTP status code received from server: {code} ({phrase})"


def parse_response_headers(headers: Sequence[tuple[bytes, bytes]]) -> ResponseHead | CallStatus:
    """Parse a response's first (non-1xx) header block.

    Args:
        headers: the block's fields.

    Returns:
        ``ResponseHead`` for a normal gRPC response; ``CallStatus`` for a trailers-only
        response (the block carried ``grpc-status``) or for a response that is not a gRPC
        answer (status made up as the module doc says).
    """
    status_value: bytes | None = None
    content_type: bytes | None = None
    subtype: str | None = None
    has_grpc_status = False
    encoding: str | None = None
    accept: list[bytes] = []
    pairs: list[tuple[str, MetadataValue]] = []
    error: str | None = None
    for name, value in headers:
        if name == b":status":
            status_value = value
        elif name == b"content-type":
            content_type = value
            found = content_subtype_of(value)
            if found is not None:
                subtype = found
        elif name == b"grpc-encoding":
            encoding = value.decode("latin-1") or None
        elif name == b"grpc-accept-encoding":
            if value:
                accept.append(value)
        elif name == b"grpc-status":
            has_grpc_status = True
        elif name[:1] != b":" and name not in _NOT_METADATA:
            try:
                add_received(pairs, name, value)
            except ValueError as exc:
                error = error or str(exc)

    if status_value is None:
        return CallStatus(code=StatusCode.INTERNAL, message="malformed header: missing HTTP status")
    if not status_value.isdigit():
        return CallStatus(
            code=StatusCode.INTERNAL, message=f"malformed HTTP status: {status_value!r}"
        )
    http = int(status_value)
    if subtype is None:
        problems = [] if http == 200 else [_http_error(http)]
        if content_type is None:
            problems.append("malformed header: missing HTTP content-type")
        else:
            problems.append(f"received unexpected content-type {content_type.decode('latin-1')!r}")
        return CallStatus(code=status_from_http_status(http), message="; ".join(problems))
    if has_grpc_status:
        return parse_trailers(headers)
    if http != 200:
        return CallStatus(code=status_from_http_status(http), message=_http_error(http))
    if error is not None:
        return CallStatus(code=StatusCode.INTERNAL, message=error)
    return ResponseHead(
        metadata=Metadata._trusted(pairs),
        encoding=encoding,
        accept_encoding=b",".join(accept).decode("latin-1") if accept else None,
        content_subtype=subtype,
    )


# Fields handled explicitly above or never metadata in a response.
_NOT_METADATA = frozenset(
    {
        b"te",
        b"grpc-message",
        b"grpc-status-details-bin",
        b"grpc-timeout",
        b"grpc-message-type",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"transfer-encoding",
        b"upgrade",
    }
)
_NOT_TRAILING_METADATA = _NOT_METADATA | {
    b"content-type",
    b"grpc-encoding",
    b"grpc-accept-encoding",
}


def parse_trailers(headers: Sequence[tuple[bytes, bytes]]) -> CallStatus:
    """Parse a block that ends a response (trailers, or a trailers-only response).

    Args:
        headers: the block's fields.

    Returns:
        The status. Missing ``grpc-status`` gives UNKNOWN, a non-numeric one UNKNOWN with a
        message, a malformed ``-bin`` metadata value INTERNAL (grpc-go). ``details_bin`` is
        the decoded ``grpc-status-details-bin`` when exactly one valid value arrived (else
        None, as grpc-go ignores repeated or broken ones). Other fields, minus pseudo-headers
        and reserved ``grpc-`` keys, are the trailing metadata.
    """
    code_value: bytes | None = None
    message_value = b""
    details: list[bytes] = []
    pairs: list[tuple[str, MetadataValue]] = []
    error: str | None = None
    for name, value in headers:
        if name == b"grpc-status":
            code_value = value
        elif name == b"grpc-message":
            message_value = value
        elif name == b"grpc-status-details-bin":
            details.append(value)
        elif name[:1] != b":" and name not in _NOT_TRAILING_METADATA:
            try:
                add_received(pairs, name, value)
            except ValueError as exc:
                error = error or str(exc)

    message = decode_grpc_message(message_value) if message_value else ""
    if code_value is None:
        return CallStatus(
            code=StatusCode.UNKNOWN,
            message=message or "server ended the stream without a grpc-status",
            metadata=Metadata._trusted(pairs),
        )
    code = _WIRE_CODES.get(code_value)
    if code is None:
        if not code_value.isdigit():
            return CallStatus(
                code=StatusCode.UNKNOWN,
                message=f"malformed grpc-status: {code_value!r}",
                metadata=Metadata._trusted(pairs),
            )
        code = StatusCode.from_wire(int(code_value))
    if error is not None:
        return CallStatus(code=StatusCode.INTERNAL, message=error)
    details_bin: bytes | None = None
    if len(details) == 1:
        try:
            decoded = decode_binary_header(details[0])
        except ValueError:
            decoded = []
        if len(decoded) == 1:
            details_bin = decoded[0]
    return CallStatus(
        code=code, message=message, details_bin=details_bin, metadata=Metadata._trusted(pairs)
    )
