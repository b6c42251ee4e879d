"""Request header blocks: built by the client, checked and parsed by the server.

Theory of operation. The client's block is, in grpc-go's order: ``:method POST``,
``:scheme``, ``:path``, ``:authority``, ``content-type``, ``user-agent``, ``te: trailers``,
[``grpc-encoding``], [``grpc-accept-encoding``], [``grpc-timeout``], then metadata
(PROTOCOL-HTTP2 "Requests"). The first seven fields depend only on (path, authority,
scheme, subtype, user agent), so they are built and checked once and memoised.

The server's parser is the request validation (h2 runs with validation off) and answers
per stream, never per connection (policy: reliability catalogue section 1 item 4). Two
classes of rejection, raised as ``RequestRejected``:

* malformed HTTP/2 (RFC 9113 section 8.1.1, grpc-go's framer): unknown, duplicate or
  late pseudo-headers; a missing or empty ``:path``; a field name with uppercase letters
  or characters outside RFC 9113 section 8.2.1; CR, LF or NUL in a value;
  connection-specific fields; ``te`` other than ``trailers`` (section 8.2.2). Answer:
  RST_STREAM(PROTOCOL_ERROR). These win over everything below, as in grpc-go where the
  framer rejects them before the gRPC checks run.
* not an acceptable gRPC request (gRFC A41, grpc-go ``operateHeaders`` order): more than
  one ``host`` -> 400 INTERNAL; content-type not ``application/grpc*`` -> 415
  INVALID_ARGUMENT; malformed ``grpc-timeout`` or ``-bin`` value -> 400 INTERNAL;
  ``:method`` other than POST (missing included) -> 405 INTERNAL.

A duplicate ``:authority`` is a duplicate pseudo-header, hence a reset (what grpc-go's
framer does before its A41 400 check could see it; A41 allows either answer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugrpc_core import Metadata, StatusCode

from ._binary import decode_binary_header
from ._errors import RequestRejected
from ._fields import (
    CONNECTION_SPECIFIC,
    GRPC_KEY_CHARS,
    HTTP_NAME_CHARS,
    PRINTABLE,
    RequestHead,
    append_metadata,
    content_subtype_of,
    content_type_for,
)
from ._hpack import Unindexed
from ._timeout import encode_grpc_timeout, parse_grpc_timeout

if TYPE_CHECKING:
    from collections.abc import Sequence

    from plugrpc_core import MetadataValue

__all__ = ["build_request_headers", "parse_request_headers"]

Headers = list[tuple[bytes, bytes]]

_PROTOCOL_ERROR = 0x1
_CACHE_LIMIT = 1024

# --- client side ----------------------------------------------------------------------

_prefixes: dict[tuple[str, str, str, str, str], Headers] = {}
_tokens: dict[str, bytes] = {}  # grpc-encoding / grpc-accept-encoding values


def _checked(what: str, text: str, *, allow_space: bool) -> bytes:
    data = text.encode("utf-8")
    rest = data.translate(None, PRINTABLE)
    if rest or (not allow_space and b" " in data):
        raise ValueError(f"invalid {what} for a gRPC request header: {text!r}")
    return data


def _request_prefix(key: tuple[str, str, str, str, str]) -> Headers:
    path, authority, scheme, subtype, user_agent = key
    if not path.startswith("/"):
        raise ValueError(f"invalid :path {path!r}: it must start with '/'")
    prefix = [
        (b":method", b"POST"),
        (b":scheme", _checked(":scheme", scheme, allow_space=False)),
        (b":path", _checked(":path", path, allow_space=False)),
        (b":authority", _checked(":authority", authority, allow_space=False)),
        (b"content-type", content_type_for(subtype)),
    ]
    if user_agent:
        prefix.append((b"user-agent", _checked("user-agent", user_agent, allow_space=True)))
    prefix.append((b"te", b"trailers"))
    if len(_prefixes) >= _CACHE_LIMIT:
        _prefixes.clear()  # many distinct targets: start over rather than grow without bound
    _prefixes[key] = prefix
    return prefix


def _token(text: str) -> bytes:
    value = _tokens.get(text)
    if value is None:
        value = _checked("grpc-encoding value", text, allow_space=True)
        if len(_tokens) < _CACHE_LIMIT:
            _tokens[text] = value
    return value


def build_request_headers(head: RequestHead) -> Headers:
    """Build a request's header block.

    Args:
        head: what to send. ``metadata`` keys the library owns are dropped (see the
            ``_headers`` module doc); ``-bin`` values are base64-encoded.

    Returns:
        A new list of ``(name, value)`` fields, in grpc-go's order.

    Raises:
        ValueError: path, authority, scheme, subtype, user agent or encoding names hold
            characters a header cannot carry.
    """
    key = (head.path, head.authority, head.scheme, head.content_subtype, head.user_agent)
    prefix = _prefixes.get(key)
    if prefix is None:
        prefix = _request_prefix(key)
    headers = prefix.copy()
    if head.encoding:
        headers.append((b"grpc-encoding", _token(head.encoding)))
    if head.accept_encoding:
        headers.append((b"grpc-accept-encoding", _token(head.accept_encoding)))
    if head.timeout is not None:
        # Never indexed by HPACK: a new value per call would churn the dynamic table (_hpack).
        headers.append(Unindexed(b"grpc-timeout", encode_grpc_timeout(head.timeout)))
    if head.metadata:
        append_metadata(headers, head.metadata)
    return headers


# --- server side ----------------------------------------------------------------------

# Field kinds. 0-3 index the pseudo-header slots; the rest steer the parse loop.
_METHOD, _SCHEME, _PATH, _AUTHORITY = range(4)
(
    _TEXT,  # a gRPC metadata key with a text value
    _BINARY,  # a gRPC metadata key ending in -bin
    _SKIP,  # a valid HTTP/2 name that is not a gRPC key, or a field a request ignores
    _CONTENT_TYPE,
    _TE,
    _TIMEOUT,
    _ENCODING,
    _ACCEPT,
    _HOST,
    _USER_AGENT,
    _BANNED,
) = range(4, 15)
_FIXED_KINDS = {
    b":method": _METHOD,
    b":scheme": _SCHEME,
    b":path": _PATH,
    b":authority": _AUTHORITY,
    b"content-type": _CONTENT_TYPE,
    b"te": _TE,
    b"grpc-timeout": _TIMEOUT,
    b"grpc-encoding": _ENCODING,
    b"grpc-accept-encoding": _ACCEPT,
    b"host": _HOST,
    b"user-agent": _USER_AGENT,
    # Response-only fields a request has no business carrying (grpc-go drops them too).
    b"grpc-status": _SKIP,
    b"grpc-message": _SKIP,
    b"grpc-message-type": _SKIP,
} | dict.fromkeys(CONNECTION_SPECIFIC, _BANNED)
# Field name -> (kind, metadata key). Names seen once are classified from then on with one
# dict lookup instead of two character-class scans; invalid names are never stored.
_kinds: dict[bytes, tuple[int, str]] = {name: (kind, "") for name, kind in _FIXED_KINDS.items()}
_KINDS_LIMIT = 4096


def _classify(name: bytes) -> tuple[int, str]:
    if name[:1] == b":":
        raise _reset(f"unknown pseudo-header {name!r}")
    if name and not name.translate(None, GRPC_KEY_CHARS):
        found = (_BINARY if name.endswith(b"-bin") else _TEXT, name.decode("ascii"))
    elif name and not name.translate(None, HTTP_NAME_CHARS):
        found = (_SKIP, "")
    else:
        raise _reset(f"invalid header name {name!r}")
    if len(_kinds) < _KINDS_LIMIT:
        _kinds[name] = found
    return found


def _reset(message: str) -> RequestRejected:
    return RequestRejected(
        http_status=None,
        status=StatusCode.INTERNAL,
        message=message,
        reset_code=_PROTOCOL_ERROR,
    )


def _text(value: bytes) -> str:
    # Header values are bytes; anything beyond ASCII is decoded as UTF-8 leniently.
    return value.decode("ascii") if value.isascii() else value.decode("utf-8", "replace")


# Blocks parsed before (deadline-free ones: a deadline makes every block unique) -> their
# head. Equal blocks parse to equal heads; each caller gets its own copy of the metadata,
# which handlers may change.
_parsed: dict[tuple[tuple[bytes, bytes], ...], RequestHead] = {}
_PARSED_LIMIT = 256


def parse_request_headers(headers: Sequence[tuple[bytes, bytes]]) -> RequestHead:
    """Check and parse a received request header block (server side).

    Args:
        headers: the HEADERS block's fields, in order.

    Returns:
        The request head. Its metadata holds every regular field except the ones the
        library consumes (``content-type``, ``te``, ``grpc-timeout``, ``grpc-encoding``,
        ``grpc-accept-encoding``, ``host``), plus ``:authority`` and ``user-agent`` as grpc-go
        shows them; text values outside 0x20-0x7E and invalid gRPC keys are dropped.

    Raises:
        RequestRejected: the request must be answered with RST_STREAM or a trailers-only
            error response; see the module doc for which.
    """
    key = tuple(headers)
    head = _parsed.get(key)
    if head is None:
        head = _parse(key)
        if head.timeout is not None:
            return head
        if len(_parsed) >= _PARSED_LIMIT:
            _parsed.clear()  # many distinct blocks: start over rather than grow
        _parsed[key] = head
    return RequestHead(
        path=head.path,
        authority=head.authority,
        scheme=head.scheme,
        content_subtype=head.content_subtype,
        user_agent=head.user_agent,
        timeout=None,
        encoding=head.encoding,
        accept_encoding=head.accept_encoding,
        metadata=Metadata._trusted(list(head.metadata)),
    )


def _parse(headers: Sequence[tuple[bytes, bytes]]) -> RequestHead:
    pseudo: list[bytes | None] = [None, None, None, None]
    regular_seen = False
    pairs: list[tuple[str, MetadataValue]] = []
    subtype: str | None = None
    bad_content_type = b""
    timeout: float | None = None
    header_error: str | None = None
    encoding: str | None = None
    accept: list[bytes] = []
    hosts: list[bytes] = []
    user_agent = ""

    kinds = _kinds
    for name, value in headers:
        rest = value.translate(None, PRINTABLE)
        if rest and (b"\x00" in rest or b"\r" in rest or b"\n" in rest):
            raise _reset(f"header {name!r} has CR, LF or NUL in its value")
        kind, key = kinds.get(name) or _classify(name)
        if kind < _TEXT:
            if regular_seen:
                raise _reset(f"pseudo-header {name!r} after a regular header")
            if pseudo[kind] is not None:
                raise _reset(f"duplicate pseudo-header {name!r}")
            pseudo[kind] = value
            continue
        regular_seen = True
        if kind == _TEXT:
            if not rest:
                pairs.append((key, value.decode("ascii")))
        elif kind == _BINARY:
            try:
                for item in decode_binary_header(value):
                    pairs.append((key, item))
            except ValueError as exc:
                if header_error is None:
                    header_error = f"malformed binary metadata in header {key!r}: {exc}"
        elif kind == _SKIP:
            continue
        elif kind == _CONTENT_TYPE:
            found = content_subtype_of(value)
            if found is None:
                bad_content_type = value
            else:
                subtype = found
        elif kind == _TE:
            if value != b"trailers" and value.lower() != b"trailers":
                raise _reset(f"te header is {value!r}; HTTP/2 allows only 'trailers'")
        elif kind == _TIMEOUT:
            try:
                timeout = parse_grpc_timeout(value)
            except ValueError as exc:
                if header_error is None:
                    header_error = f"malformed grpc-timeout: {exc}"
        elif kind == _ENCODING:
            encoding = _text(value) or None
        elif kind == _ACCEPT:
            if value:
                accept.append(value)
        elif kind == _HOST:
            hosts.append(value)
        elif kind == _USER_AGENT:
            if not rest:
                user_agent = value.decode("ascii")
                pairs.append(("user-agent", user_agent))
        else:  # _BANNED
            raise _reset(f"connection-specific header {name!r} is not allowed in HTTP/2")

    method, scheme, path, authority = pseudo
    if not path:
        raise _reset("missing or empty :path")

    # gRFC A41 checks, in grpc-go's order.
    if len(hosts) > 1:
        raise RequestRejected(
            http_status=400,
            status=StatusCode.INTERNAL,
            message=f"{len(hosts)} host headers; HTTP/2 allows one",
            content_subtype=subtype or "",
        )
    if subtype is None:
        raise RequestRejected(
            http_status=415,
            status=StatusCode.INVALID_ARGUMENT,
            message=f"invalid gRPC request content-type {_text(bad_content_type)!r}",
        )
    if header_error is not None:
        raise RequestRejected(
            http_status=400,
            status=StatusCode.INTERNAL,
            message=header_error,
            content_subtype=subtype,
        )
    if method != b"POST":
        shown = "" if method is None else _text(method)
        raise RequestRejected(
            http_status=405,
            status=StatusCode.INTERNAL,
            message=f"received :method {shown!r}; gRPC requires POST",
            content_subtype=subtype,
        )

    if authority is None and hosts:
        authority = hosts[0]  # A41: host is renamed to :authority when that is missing
    authority_text = ""
    if authority is not None:
        authority_text = _text(authority)
        if authority.translate(None, PRINTABLE) == b"":
            pairs.insert(0, (":authority", authority_text))
    return RequestHead(
        path=_text(path),
        authority=authority_text,
        scheme="http" if scheme is None else _text(scheme),
        content_subtype=subtype,
        user_agent=user_agent,
        timeout=timeout,
        encoding=encoding,
        accept_encoding=",".join(_text(a) for a in accept) if accept else None,
        metadata=Metadata._trusted(pairs),
    )
