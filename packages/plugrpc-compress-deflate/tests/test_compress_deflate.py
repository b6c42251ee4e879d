"""DeflateCompressor: the zlib format, round trips, levels, corrupt input and the bomb limit."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_compress_deflate import DeflateCompressor
from plugrpc_core import Compressor
from plugrpc_core.plugins import compressors

MIB = 1 << 20
LIMIT = 4 * MIB


def deflate_bomb(total: int) -> bytes:
    """A valid zlib stream of ``total`` zero bytes (a multiple of 1 MiB), built in ~20 ms.

    Compressing 1 MiB of zeros after a full flush always gives the same bytes, so the body
    is one such segment repeated. Adler-32 of n zero bytes is ``(n mod 65521) << 16 | 1``.
    """
    chunk = bytes(MIB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, 15)
    head = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    segment = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    end = deflater.flush()[:-4]  # the final empty block, without the 3 MiB Adler-32
    adler = ((total % 65521) << 16) | 1
    return head + segment * (total // MIB - 1) + end + struct.pack(">I", adler)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return deflate_bomb(1 << 30)


def test_registered_under_deflate() -> None:
    assert compressors.get("deflate") is DeflateCompressor
    assert issubclass(DeflateCompressor, Compressor)
    assert DeflateCompressor.name == "deflate"


@pytest.mark.parametrize("size", [0, 1, 100, 70_000, 3 * MIB])
@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_round_trip_in_zlib_format(size: int, level: int) -> None:
    data = (b"plugrpc deflate " * (size // 16 + 1))[:size]
    comp = DeflateCompressor(level=level)
    packed = comp.compress(data)
    assert comp.decompress(packed, LIMIT) == data
    assert zlib.decompress(packed) == data  # RFC 1950: header, deflate data, Adler-32
    assert (packed[0] * 256 + packed[1]) % 31 == 0 and packed[0] & 0x0F == 8


def test_raw_deflate_and_gzip_are_refused() -> None:
    data = b"abc" * 100
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    with pytest.raises(ValueError, match="invalid deflate"):
        DeflateCompressor().decompress(raw.compress(data) + raw.flush(), LIMIT)
    with pytest.raises(ValueError, match="invalid deflate"):
        DeflateCompressor().decompress(zlib.compress(data, 6, 31), LIMIT)


def test_each_message_has_a_fresh_context() -> None:
    comp = DeflateCompressor()
    first = comp.compress(b"hello world" * 10)
    comp.compress(b"something else entirely" * 50)
    assert comp.compress(b"hello world" * 10) == first


def test_level_changes_the_output_and_is_validated() -> None:
    data = bytes(range(256)) * 200
    assert len(DeflateCompressor(0).compress(data)) > len(DeflateCompressor(9).compress(data))
    for bad in (-1, 10, 2.0, None, False):
        with pytest.raises(ValueError, match="level"):
            DeflateCompressor(level=bad)  # type: ignore[arg-type]


def test_limit_is_exact() -> None:
    comp = DeflateCompressor()
    packed = comp.compress(b"a" * 1000)
    assert comp.decompress(packed, 1000) == b"a" * 1000
    assert len(comp.decompress(packed, 999)) == 1000
    assert comp.decompress(comp.compress(b""), 0) == b""


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda p: p[:-3], "truncated"),
        (lambda p: p[:2], "truncated"),
        (lambda p: b"", "truncated"),
        (lambda p: b"\x78\x9c" + b"\xff" * 20, "invalid deflate"),
        (lambda p: p[:-4] + b"\0\0\0\0", "invalid deflate"),  # bad Adler-32
        (lambda p: p + b"x", "after the end"),
    ],
)
def test_corrupt_input_raises_value_error(mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    packed = DeflateCompressor().compress(b"payload " * 100)
    with pytest.raises(ValueError, match=message):
        DeflateCompressor().decompress(mangle(packed), LIMIT)


def test_bomb_stops_at_the_limit_cheaply(bomb: bytes) -> None:
    assert len(bomb) < 1100 * 1024
    comp = DeflateCompressor()
    best_cpu = float("inf")
    for _ in range(3):  # the best of three: a loaded machine only makes a run slower
        start = time.process_time()
        out = comp.decompress(bomb, LIMIT)
        best_cpu = min(best_cpu, time.process_time() - start)
        assert len(out) == LIMIT + 1
    assert best_cpu < 0.5
    tracemalloc.start()
    try:
        comp.decompress(bomb, LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * LIMIT  # bounded by the limit (zlib's block buffer), not by the bomb


def test_bomb_builder_makes_a_valid_stream() -> None:
    inflater = zlib.decompressobj(15)
    total = 0
    data = deflate_bomb(32 * MIB)
    while data:
        chunk = inflater.decompress(data, 8 * MIB)
        assert not chunk.strip(b"\0")
        total += len(chunk)
        data = inflater.unconsumed_tail
    assert inflater.eof and not inflater.unused_data and total == 32 * MIB


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=4096), level=st.integers(0, 9))
def test_round_trip_property(data: bytes, level: int) -> None:
    comp = DeflateCompressor(level=level)
    assert comp.decompress(comp.compress(data), len(data)) == data
