"""The ``grpc-timeout`` request header (PROTOCOL-HTTP2, "Timeout").

Wire form: 1 to 8 ASCII digits, then one case-sensitive unit: ``H`` hours, ``M`` minutes,
``S`` seconds, ``m`` milliseconds, ``u`` microseconds, ``n`` nanoseconds.

Encoding picks the finest unit whose value fits in 8 digits, rounding up so the server never
sees a shorter deadline than the client's (grpc-go tries n, u, m, S, M, H in that order).
"Never shorter" is judged the way the receiver sees it: ``parse_grpc_timeout`` of the
encoding is a float >= the float that was encoded, and less than one unit above it.

Decoding follows the spec for what to reject and grpc-go's ``decodeTimeout`` for the rest.
Where they differ:

* the spec asks for a *positive* integer; grpc-go accepts ``0S`` (and ``00000000S``) and lets
  the call time out at once. We accept zero too, so a zero deadline fails the call with
  DEADLINE_EXCEEDED instead of a confusing 400.
* both reject more than 8 digits (``000000000S``; grpc-go checks the string length, 9 at
  most). Leading zeros count as digits.
* grpc-go clamps values that overflow its int64 nanoseconds (``2562048H``, ``99999999H``) to
  2**63 - 1 ns; Python does not overflow, but timers downstream (``threading`` waits,
  ``asyncio`` handles) do not like 11,000-year timeouts, so we clamp to the same maximum.
"""

from __future__ import annotations

import math

__all__ = ["MAX_TIMEOUT_SECONDS", "encode_grpc_timeout", "parse_grpc_timeout"]

MAX_TIMEOUT_SECONDS = (2**63 - 1) / 1e9
"""Largest timeout ``parse_grpc_timeout`` returns (grpc-go's clamp: 2**63 - 1 ns)."""

_MAX_VALUE = 99_999_999  # 8 digits

# Finest first, as grpc-go tries them: (nanoseconds per unit, unit byte).
_ENCODE_UNITS = (
    (1, b"n"),
    (1_000, b"u"),
    (1_000_000, b"m"),
    (1_000_000_000, b"S"),
    (60_000_000_000, b"M"),
    (3_600_000_000_000, b"H"),
)
_LARGEST = b"%dH" % _MAX_VALUE
_SMALLEST = b"1n"
# Above this many seconds, hours overflow 8 digits anyway: skip the exact arithmetic.
_CLAMP_SECONDS = float(_MAX_VALUE * 3600)

# Unit byte -> (divide by, multiply by): sub-second units divide so that e.g. 100m is the
# float nearest 0.1, not 100 * 0.001.
_DECODE_UNITS: dict[int, tuple[float, float]] = {
    ord("n"): (1e9, 1.0),
    ord("u"): (1e6, 1.0),
    ord("m"): (1e3, 1.0),
    ord("S"): (1.0, 1.0),
    ord("M"): (1.0, 60.0),
    ord("H"): (1.0, 3600.0),
}


def encode_grpc_timeout(seconds: float) -> bytes:
    """Encode a timeout for the ``grpc-timeout`` header.

    Args:
        seconds: time left until the deadline. Values <= 0 encode as ``1n`` (the call layer
            fails expired deadlines locally before sending anything); huge values and
            infinity clamp to ``99999999H``.

    Raises:
        ValueError: ``seconds`` is NaN.
    """
    if seconds <= 0:
        return _SMALLEST
    if seconds >= _CLAMP_SECONDS:
        return _LARGEST
    if math.isnan(seconds):
        raise ValueError("grpc-timeout cannot encode NaN")
    # Nearest whole nanosecond, bumped if the receiver's float would land below ours: the
    # decoded deadline is never shorter, yet 0.1 encodes as 100000u, not 100001u.
    nanos = round(seconds * 1e9)
    if nanos / 1e9 < seconds:
        nanos += 1
    for per_unit, unit in _ENCODE_UNITS:
        value = -(-nanos // per_unit)
        if value <= _MAX_VALUE:
            return b"%d%s" % (value, unit)
    return _LARGEST  # pragma: no cover - excluded by the clamp above


def parse_grpc_timeout(value: bytes) -> float:
    """Decode a ``grpc-timeout`` header value into seconds.

    Args:
        value: the raw header value, e.g. ``b"100m"``.

    Returns:
        The timeout in seconds (0.0 allowed), at most ``MAX_TIMEOUT_SECONDS``.

    Raises:
        ValueError: empty, no unit, more than 8 digits, anything but ASCII digits before the
            unit (signs, spaces, ``_``), or an unknown unit (units are case-sensitive).
    """
    size = len(value)
    if size < 2:
        raise ValueError(f"timeout is too short: {value!r}")
    if size > 9:
        raise ValueError(f"timeout has more than 8 digits: {value!r}")
    unit = _DECODE_UNITS.get(value[-1])
    if unit is None:
        raise ValueError(f"timeout unit is not one of H M S m u n: {value!r}")
    digits = value[:-1]
    # bytes.isdigit() is ASCII-only; int() alone would also take "+1", " 1" and "1_0".
    if not digits.isdigit():
        raise ValueError(f"timeout value is not a decimal number: {value!r}")
    divisor, multiplier = unit
    seconds = int(digits) * multiplier / divisor
    return seconds if seconds <= MAX_TIMEOUT_SECONDS else MAX_TIMEOUT_SECONDS
