"""grpc-timeout encoding and decoding (PROTOCOL-HTTP2 "Timeout")."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_transport.protocol import (
    MAX_TIMEOUT_SECONDS,
    encode_grpc_timeout,
    parse_grpc_timeout,
)

_UNIT_SECONDS = {b"n": 1e-9, b"u": 1e-6, b"m": 1e-3, b"S": 1.0, b"M": 60.0, b"H": 3600.0}
_MAX_INT64_NS = (2**63 - 1) / 1e9

# grpc-go internal/transport/http_util_test.go TestDecodeTimeout: (input, seconds or None
# for an error). Differences from grpc-go: none in outcome. grpc-go itself departs from the
# spec by accepting zero ("0S", "00000000S"); both reject 9 digits ("000000000S").
GRPC_GO_DECODE_TABLE: list[tuple[bytes, float | None]] = [
    (b"00000001n", 1e-9),
    (b"10u", 10e-6),
    (b"00000010m", 10e-3),
    (b"1234S", 1234.0),
    (b"00000001M", 60.0),
    (b"09999999S", 9999999.0),
    (b"99999999S", 99999999.0),
    (b"99999999M", 99999999 * 60.0),
    (b"2562047H", 2562047 * 3600.0),
    (b"2562048H", _MAX_INT64_NS),  # clamped, as grpc-go clamps to MaxInt64 ns
    (b"99999999H", _MAX_INT64_NS),
    (b"-1S", None),
    (b"1234x", None),
    (b"1234s", None),  # units are case-sensitive
    (b"1234", None),
    (b"1", None),
    (b"", None),
    (b"9a1S", None),
    (b"0S", 0.0),
    (b"00000000S", 0.0),
    (b"000000000S", None),  # 9 digits
]


@pytest.mark.parametrize(("value", "expected"), GRPC_GO_DECODE_TABLE)
def test_grpc_go_decode_table(value: bytes, expected: float | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            parse_grpc_timeout(value)
    else:
        assert parse_grpc_timeout(value) == pytest.approx(expected, rel=1e-15, abs=0)


@pytest.mark.parametrize(
    "value",
    [b"+1S", b" 1S", b"1S ", b"1_0S", b"1.5S", b"0x1S", b"1e3S", b"\xd9\xa1S", b"S", b"1SS"],
)
def test_rejects_non_digits_and_signs(value: bytes) -> None:
    with pytest.raises(ValueError):
        parse_grpc_timeout(value)


@pytest.mark.parametrize("unit", [b"h", b"s", b"U", b"N", b"\x00", b"\xff"])
def test_rejects_unknown_units(unit: bytes) -> None:
    with pytest.raises(ValueError, match="unit"):
        parse_grpc_timeout(b"1" + unit)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"100m", 0.1), (b"1n", 1e-9), (b"3u", 3e-6), (b"5M", 300.0), (b"2H", 7200.0)],
)
def test_decode_is_the_nearest_float(value: bytes, expected: float) -> None:
    assert parse_grpc_timeout(value) == expected


def test_clamp_is_grpc_go_max() -> None:
    assert MAX_TIMEOUT_SECONDS == _MAX_INT64_NS
    assert parse_grpc_timeout(b"99999999H") == MAX_TIMEOUT_SECONDS


# --- encoding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1e-9, b"1n"),
        (0.099999999, b"99999999n"),  # largest in nanoseconds
        (0.1, b"100000u"),  # 9 digits of ns: next unit
        (1.0, b"1000000u"),
        (1.5, b"1500000u"),
        (99.999999, b"99999999u"),
        (100.0, b"100000m"),
        (99999.999, b"99999999m"),
        (100000.0, b"100000S"),
        (99999999.0, b"99999999S"),
        (100000000.0, b"1666667M"),  # rounded up
        (99999999 * 60.0, b"99999999M"),
        (99999999 * 60.0 + 1, b"1666667H"),
        (99999999 * 3600.0, b"99999999H"),
        (1e30, b"99999999H"),
        (math.inf, b"99999999H"),
        (1.0000000001, b"1000001u"),  # any excess rounds the unit up
        (1.2345678901, b"1234568u"),
    ],
)
def test_encode_table(seconds: float, expected: bytes) -> None:
    assert encode_grpc_timeout(seconds) == expected


@pytest.mark.parametrize("seconds", [0, 0.0, -0.0, -1.0, -math.inf, 1e-300])
def test_non_positive_and_tiny_encode_as_smallest(seconds: float) -> None:
    assert encode_grpc_timeout(seconds) == b"1n"


def test_encode_nan_is_an_error() -> None:
    with pytest.raises(ValueError, match="NaN"):
        encode_grpc_timeout(math.nan)


def test_encode_accepts_int() -> None:
    assert encode_grpc_timeout(3) == b"3000000u"


@settings(max_examples=2000, deadline=None)
@given(
    st.floats(min_value=1e-12, max_value=MAX_TIMEOUT_SECONDS, allow_nan=False)
    | st.integers(min_value=1, max_value=10**9).map(lambda n: n / 1000)
)
def test_round_trip_never_shorter_and_within_one_unit(seconds: float) -> None:
    encoded = encode_grpc_timeout(seconds)
    digits, unit = encoded[:-1], encoded[-1:]
    assert 1 <= len(digits) <= 8
    assert digits.isdigit()
    assert digits == b"0" or not digits.startswith(b"0")
    decoded = parse_grpc_timeout(encoded)
    if decoded == MAX_TIMEOUT_SECONDS:
        return  # clamped on decode
    assert decoded >= seconds
    assert decoded - seconds <= _UNIT_SECONDS[unit] * (1 + 1e-6)


@settings(max_examples=1000, deadline=None)
@given(st.integers(min_value=0, max_value=99_999_999), st.sampled_from(sorted(_UNIT_SECONDS)))
def test_parse_matches_reference(value: int, unit: bytes) -> None:
    wire = str(value).encode() + unit
    assert parse_grpc_timeout(wire) == pytest.approx(
        min(value * _UNIT_SECONDS[unit], _MAX_INT64_NS), rel=1e-12
    )


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=12))
def test_parse_never_crashes(value: bytes) -> None:
    try:
        result = parse_grpc_timeout(value)
    except ValueError:
        return
    assert 0.0 <= result <= MAX_TIMEOUT_SECONDS
    assert 2 <= len(value) <= 9
    assert value[:-1].isdigit()
