"""The header-block API of the protocol layer, in one place.

Implementation lives in three modules: ``_fields`` (the ``RequestHead``, ``ResponseHead`` and
``CallStatus`` values, character classes, metadata <-> field conversion, content-type),
``_request`` (request blocks: built by clients, checked by servers) and ``_response``
(response headers and trailers). Their module docs hold the theory of operation and the
rules each one follows.
"""

from __future__ import annotations

from ._fields import (
    CallStatus,
    RequestHead,
    ResponseHead,
    content_subtype_of,
    content_type_for,
    header_list_size,
    headers_to_metadata,
    metadata_to_headers,
)
from ._request import build_request_headers, parse_request_headers
from ._response import (
    build_rejection_trailers,
    build_response_headers,
    build_trailers,
    is_informational,
    parse_response_headers,
    parse_trailers,
)

__all__ = [
    "CallStatus",
    "RequestHead",
    "ResponseHead",
    "build_rejection_trailers",
    "build_request_headers",
    "build_response_headers",
    "build_trailers",
    "content_subtype_of",
    "content_type_for",
    "header_list_size",
    "headers_to_metadata",
    "is_informational",
    "metadata_to_headers",
    "parse_request_headers",
    "parse_response_headers",
    "parse_trailers",
]
