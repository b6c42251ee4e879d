"""Typed readers for service-config JSON values, each failing with the field's path.

Values follow proto3's JSON mapping of ``grpc.service_config.ServiceConfig``: durations are
strings such as ``"1.5s"``, 64-bit integers may also be decimal strings, and ``null`` means
"not set". Booleans are never numbers, even though Python's ``bool`` subclasses ``int``.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

from ._status import StatusCode

__all__ = [
    "INT64_MAX",
    "ServiceConfigError",
    "fail",
    "read_bool",
    "read_duration",
    "read_int",
    "read_list",
    "read_number",
    "read_object",
    "read_status_codes",
    "read_str",
    "show",
]

INT64_MAX = 2**63 - 1

# google/protobuf/duration.proto: seconds in [-315576000000, 315576000000], up to nine
# fractional digits, suffix "s". grpc-go's Duration.UnmarshalJSON enforces the same.
_DURATION = re.compile(r"(-)?([0-9]*)(?:\.([0-9]*))?s\Z")
_MAX_DURATION_SECONDS = 315_576_000_000
_INT64_STRING = re.compile(r"-?[0-9]+\Z")


class ServiceConfigError(ValueError):
    """A service config is invalid (gRFC A21: the whole config is rejected).

    The message starts with the path of the offending field, e.g.
    ``methodConfig[0].retryPolicy.maxAttempts: must be an integer greater than 1, got 1``.

    Attributes:
        path: that field path (empty for the document as a whole).
        reason: the message without the path.
    """

    def __init__(self, message: str, *, path: str = "", reason: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.reason = message if reason is None else reason


def show(value: Any) -> str:
    """A value as the user wrote it, in JSON spelling where it differs from Python's."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def fail(path: str, message: str) -> NoReturn:
    """Raise ``ServiceConfigError`` for the field at ``path``."""
    raise ServiceConfigError(f"{path}: {message}" if path else message, path=path, reason=message)


def read_object(value: Any, path: str) -> dict[str, Any]:
    """A JSON object."""
    if not isinstance(value, dict):
        fail(path, f"must be a JSON object, got {_type_name(value)}")
    return value


def read_list(value: Any, path: str) -> list[Any]:
    """A JSON list."""
    if not isinstance(value, list):
        fail(path, f"must be a list, got {_type_name(value)}")
    return value


def read_str(value: Any, path: str) -> str:
    """A JSON string."""
    if not isinstance(value, str):
        fail(path, f"must be a string, got {_type_name(value)} {show(value)}")
    return value


def read_bool(value: Any, path: str) -> bool:
    """A JSON boolean."""
    if not isinstance(value, bool):
        fail(path, f"must be true or false, got {_type_name(value)} {show(value)}")
    return value


def read_number(value: Any, path: str) -> float:
    """A finite JSON number (integer or not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(path, f"must be a number, got {_type_name(value)} {show(value)}")
    number = float(value)
    if not math.isfinite(number):
        fail(path, f"must be a finite number, got {show(value)}")
    return number


def read_int(value: Any, path: str, *, allow_string: bool = False) -> int:
    """A JSON integer within int64 (or, if ``allow_string``, a decimal string of one).

    Numbers written with a fraction or exponent (``3.0``, ``1e3``) are rejected, as Go's
    ``encoding/json`` rejects them for integer fields.
    """
    if isinstance(value, str) and allow_string:
        if not _INT64_STRING.match(value):
            fail(path, f"must be an integer, got the string {show(value)}")
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        fail(path, f"must be an integer, got {_type_name(value)} {show(value)}")
    if not -INT64_MAX - 1 <= number <= INT64_MAX:
        fail(path, f"must fit in 64 bits, got {number}")
    return number


def read_duration(value: Any, path: str) -> float:
    """A proto3-JSON duration string (``"1.5s"``, ``"0.000001s"``, ``"-2s"``) in seconds."""
    if not isinstance(value, str):
        fail(
            path,
            f'must be a duration string such as "1.5s", got {_type_name(value)} {show(value)}',
        )
    match = _DURATION.match(value)
    if match is None or not (match.group(2) or match.group(3)):
        fail(
            path,
            f'malformed duration {show(value)}: use seconds with an "s" suffix and up to '
            '9 decimals, such as "1.5s" or "0.25s"',
        )
    sign, whole, fraction = match.groups()
    if fraction is not None and len(fraction) > 9:
        fail(path, f"malformed duration {show(value)}: more than 9 digits after the point")
    seconds = int(whole or "0")
    if seconds > _MAX_DURATION_SECONDS:
        fail(path, f"duration {show(value)} is out of range (at most {_MAX_DURATION_SECONDS}s)")
    nanos = int((fraction or "").ljust(9, "0"))
    result = seconds + nanos / 1e9
    return -result if sign else result


def read_status_codes(value: Any, path: str, *, allow_empty: bool) -> frozenset[StatusCode]:
    """A list of status codes, each an UPPERCASE name or a number 0-16.

    gRFC A6 allows names in any case; grpc-go accepts only its own spelling (codes.Code's
    ``UnmarshalJSON``), and so do we: a config that grpc-go rejects should fail here too.
    """
    items = read_list(value, path)
    if not items and not allow_empty:
        fail(path, "must list at least one status code")
    codes: set[StatusCode] = set()
    for i, item in enumerate(items):
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            try:
                codes.add(StatusCode.parse(item))
                continue
            except ValueError:
                pass
        fail(
            f"{path}[{i}]",
            f"{show(item)} is not a status code: use an UPPERCASE name such as "
            '"UNAVAILABLE" or a number from 0 to 16',
        )
    return frozenset(codes)
