"""Header-block values, character classes and the metadata <-> field conversions.

Theory of operation: h2 runs with its header validation off and ``header_encoding=None``, so
header blocks are plain lists of ``(bytes, bytes)`` and these functions are the validation.
The rules come from PROTOCOL-HTTP2 ("Requests", "Responses", "Custom-Metadata"), RFC 9113
section 8.2 and gRFC A41, with grpc-go's choices where the texts leave room:

* On send, application metadata never produces a field the library owns: pseudo-headers,
  ``content-type``, ``user-agent``, ``te``, the HTTP/2 connection-specific fields (RFC 9113
  section 8.2.2) and the ``grpc-`` prefix are dropped, except the ``grpc-`` keys that
  gRPC routes through metadata on purpose (``grpc-previous-rpc-attempts``,
  ``grpc-retry-pushback-ms``, gRFC A6; ``grpc-trace-bin``, ``grpc-tags-bin``). ``-bin``
  values are base64 without padding. ``Metadata`` already guarantees lowercase
  ``[0-9a-z_.-]`` keys and printable-ASCII text values, so sending checks nothing else.
* On receive, fields the library consumes are taken out; a key that is not a valid gRPC key,
  or a text value outside 0x20-0x7E, is dropped (PROTOCOL-HTTP2: such values must not fail
  the call); a ``-bin`` value that is not base64 is an error for the caller to map.

Name encodings are memoised per key, content-types per value, in small bounded dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from plugrpc_core import Metadata, StatusCode

from ._binary import decode_binary_header, encode_binary_header

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import MetadataValue

__all__ = [
    "CallStatus",
    "RequestHead",
    "ResponseHead",
    "content_subtype_of",
    "content_type_for",
    "header_list_size",
    "headers_to_metadata",
    "metadata_to_headers",
]

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestHead:
    """What a request's header block says.

    Attributes:
        path: ``:path``, ``/<package.Service>/<Method>``.
        authority: ``:authority`` (host and optional port).
        scheme: ``:scheme``, ``http`` or ``https``.
        content_subtype: codec name from ``application/grpc+<subtype>``; "" means the bare
            ``application/grpc`` (which implies proto).
        user_agent: ``user-agent``; "" sends none.
        timeout: seconds left until the deadline (``grpc-timeout``), or None for no deadline.
        encoding: ``grpc-encoding`` of the request messages, or None.
        accept_encoding: ``grpc-accept-encoding`` (comma-separated), or None.
        metadata: custom metadata. On the server it also holds ``:authority`` and
            ``user-agent``, as grpc-go shows them to handlers.
    """

    path: str
    authority: str
    scheme: str = "http"
    content_subtype: str = "proto"
    user_agent: str = ""
    timeout: float | None = None
    encoding: str | None = None
    accept_encoding: str | None = None
    metadata: Metadata = field(default_factory=Metadata)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseHead:
    """What a response's initial header block says (not trailers-only).

    Attributes:
        metadata: the response's initial metadata.
        encoding: ``grpc-encoding`` of the response messages, or None.
        accept_encoding: ``grpc-accept-encoding`` (comma-separated), or None.
        content_subtype: as in ``RequestHead``; the server repeats the request's.
    """

    metadata: Metadata
    encoding: str | None = None
    accept_encoding: str | None = None
    content_subtype: str = "proto"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStatus:
    """How a call ended: the trailers (or a status the transport made up).

    Attributes:
        code: the status code.
        message: the status message (``grpc-message``, percent-decoded).
        details_bin: raw ``grpc-status-details-bin`` (a serialized ``google.rpc.Status``),
            or None.
        metadata: trailing metadata.
    """

    code: StatusCode
    message: str = ""
    details_bin: bytes | None = None
    metadata: Metadata = field(default_factory=Metadata)


# --- character classes (RFC 9113 section 8.2.1, PROTOCOL-HTTP2 "Custom-Metadata") -------

# bytes.translate(None, X) deletes the bytes in X; an empty result means "only X".
PRINTABLE = bytes(range(0x20, 0x7F))
"""Bytes allowed in a text metadata value."""
GRPC_KEY_CHARS = b"0123456789abcdefghijklmnopqrstuvwxyz_.-"
"""Bytes allowed in a metadata key."""
HTTP_NAME_CHARS = bytes(b for b in range(0x21, 0x7F) if not 0x41 <= b <= 0x5A and b != 0x3A)
"""Bytes RFC 9113 section 8.2.1 allows in a regular (not pseudo) field name."""

CONNECTION_SPECIFIC = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)
"""Fields RFC 9113 section 8.2.2 bans from HTTP/2 (``te`` is checked separately)."""

_DROP_ON_SEND = frozenset(
    {"content-type", "user-agent", "te"} | {n.decode() for n in CONNECTION_SPECIFIC}
)
_GRPC_KEYS_SENT = frozenset(
    {"grpc-previous-rpc-attempts", "grpc-retry-pushback-ms", "grpc-trace-bin", "grpc-tags-bin"}
)
# Consumed by the library when parsing responses and trailers; never metadata.
_CONSUMED_ON_RECEIVE = frozenset(
    {
        b"content-type",
        b"te",
        b"grpc-status",
        b"grpc-message",
        b"grpc-status-details-bin",
        b"grpc-encoding",
        b"grpc-accept-encoding",
        b"grpc-timeout",
        b"grpc-message-type",
    }
    | CONNECTION_SPECIFIC
)

_CACHE_LIMIT = 1024
_wire_keys: dict[str, bytes] = {}  # metadata key -> field name, b"" when never sent


def _wire_key(key: str) -> bytes:
    encoded = _wire_keys.get(key)
    if encoded is not None:
        return encoded
    if (
        key in _DROP_ON_SEND
        or key.startswith(":")
        or (key.startswith("grpc-") and key not in _GRPC_KEYS_SENT)
    ):
        encoded = b""
    else:
        encoded = key.encode("ascii")
        if not encoded or encoded.translate(None, GRPC_KEY_CHARS):
            raise ValueError(f"invalid metadata key {key!r}")
    if len(_wire_keys) < _CACHE_LIMIT:
        _wire_keys[key] = encoded
    return encoded


def append_metadata(headers: Headers, metadata: Metadata) -> None:
    """Append ``metadata``'s sendable pairs to ``headers`` as fields (see module doc)."""
    append = headers.append
    for key, value in metadata:
        name = _wire_key(key)
        if not name:
            continue
        if isinstance(value, str):
            append((name, value.encode("ascii")))
        else:
            append((name, encode_binary_header(value)))


def metadata_to_headers(metadata: Metadata) -> Headers:
    """Turn application metadata into header fields, dropping reserved keys.

    Args:
        metadata: validated metadata.

    Returns:
        ``(name, value)`` fields; ``-bin`` values base64-encoded without padding.
    """
    headers: Headers = []
    append_metadata(headers, metadata)
    return headers


def add_received(pairs: list[tuple[str, MetadataValue]], name: bytes, value: bytes) -> None:
    """Append one received non-consumed field to metadata ``pairs``, or drop it.

    Raises:
        ValueError: a ``-bin`` value is not valid base64.
    """
    if not name or name.translate(None, GRPC_KEY_CHARS):
        return  # not a gRPC key (pseudo-headers included): never metadata
    key = name.decode("ascii")
    if name.endswith(b"-bin"):
        try:
            decoded = decode_binary_header(value)
        except ValueError as exc:
            raise ValueError(f"malformed binary metadata in header {key!r}: {exc}") from None
        for item in decoded:
            pairs.append((key, item))
    elif not value.translate(None, PRINTABLE):
        pairs.append((key, value.decode("ascii")))


def headers_to_metadata(headers: Sequence[tuple[bytes, bytes]], start: int = 0) -> Metadata:
    """Turn received header fields into metadata.

    Pseudo-headers and the fields the library consumes (``content-type``, ``te``,
    ``grpc-status``, ``grpc-message``, ``grpc-status-details-bin``, ``grpc-encoding``,
    ``grpc-accept-encoding``, ``grpc-timeout``, ``grpc-message-type``, connection-specific
    fields) are skipped; invalid keys and non-printable text values are dropped.

    Args:
        headers: the received fields.
        start: index of the first field to look at.

    Raises:
        ValueError: a ``-bin`` value is not valid base64.
    """
    pairs: list[tuple[str, MetadataValue]] = []
    consumed = _CONSUMED_ON_RECEIVE
    for index in range(start, len(headers)):
        name, value = headers[index]
        if name not in consumed:
            add_received(pairs, name, value)
    return Metadata._trusted(pairs)


def header_list_size(headers: Sequence[tuple[bytes, bytes]]) -> int:
    """Size of a header list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 6.5.2).

    Each field counts its name and value lengths (``-bin`` values after base64) plus 32.
    """
    total = 32 * len(headers)
    for name, value in headers:
        total += len(name) + len(value)
    return total


# --- content-type (PROTOCOL-HTTP2 "Content-Type"; census 2.8) ---------------------------

_BASE_CONTENT_TYPE = b"application/grpc"
_subtypes: dict[bytes, str | None] = {
    b"application/grpc": "",
    b"application/grpc+proto": "proto",
}
# RFC 9110 section 5.6.2 "tchar": what a media subtype may contain.
_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_content_types: dict[str, bytes] = {"": b"application/grpc", "proto": b"application/grpc+proto"}


def content_subtype_of(value: bytes) -> str | None:
    """The content-subtype of a ``content-type`` value, or None if it is not gRPC.

    ``application/grpc`` gives "" (proto implied), ``application/grpc+json`` gives
    ``json``. Matching is case-insensitive and the subtype is lowercased. Like grpc-go, ``;``
    also separates a subtype (``application/grpc;proto``); text after ``;`` that looks like
    a media-type parameter (has ``=``) is ignored instead.
    """
    try:
        return _subtypes[value]
    except KeyError:
        pass
    lowered = value.lower().strip()
    subtype: str | None = None
    if lowered == _BASE_CONTENT_TYPE:
        subtype = ""
    elif lowered.startswith(_BASE_CONTENT_TYPE):
        sep = lowered[16:17]
        rest = lowered[17:]
        if sep == b"+":
            subtype = rest.split(b";", 1)[0].strip().decode("latin-1")
        elif sep == b";":
            subtype = "" if b"=" in rest else rest.strip().decode("latin-1")
    if len(_subtypes) < _CACHE_LIMIT:
        _subtypes[value] = subtype
    return subtype


def content_type_for(subtype: str) -> bytes:
    """The ``content-type`` value for a content-subtype ("" gives ``application/grpc``).

    Raises:
        ValueError: the subtype has characters not allowed in a media type.
    """
    value = _content_types.get(subtype)
    if value is None:
        encoded = subtype.encode("ascii")
        if encoded.translate(None, _TOKEN_CHARS):
            raise ValueError(f"invalid content-subtype {subtype!r}")
        value = _BASE_CONTENT_TYPE + b"+" + encoded
        if len(_content_types) < _CACHE_LIMIT:
            _content_types[subtype] = value
    return value
