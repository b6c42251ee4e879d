"""GzipCompressor: round trips, the gzip format, levels, corrupt input and the bomb limit."""

from __future__ import annotations

import gzip
import struct
import time
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_compress_gzip import GzipCompressor
from plugrpc_core import Compressor
from plugrpc_core.plugins import compressors

MIB = 1 << 20
LIMIT = 4 * MIB


def gzip_bomb(total: int) -> bytes:
    """A valid gzip member of ``total`` zero bytes (a multiple of 1 MiB), built in ~0.3 s.

    Compressing 1 MiB of zeros after a full flush always gives the same bytes, so the body
    is one such segment repeated; the trailer is computed for the whole content.
    """
    chunk = bytes(MIB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    segment = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    end = deflater.flush()[:-8]  # the final empty block, without the 3 MiB trailer
    crc = 0
    for _ in range(total // MIB):
        crc = zlib.crc32(chunk, crc)
    trailer = struct.pack("<II", crc, total & 0xFFFFFFFF)
    return head + segment * (total // MIB - 1) + end + trailer


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(1 << 30)


def test_registered_under_gzip() -> None:
    assert compressors.get("gzip") is GzipCompressor
    assert issubclass(GzipCompressor, Compressor)
    assert GzipCompressor.name == "gzip"


@pytest.mark.parametrize("size", [0, 1, 100, 70_000, 3 * MIB])
@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_round_trip(size: int, level: int) -> None:
    data = (b"plugrpc gzip " * (size // 13 + 1))[:size]
    comp = GzipCompressor(level=level)
    packed = comp.compress(data)
    assert comp.decompress(packed, LIMIT) == data
    assert gzip.decompress(packed) == data  # a standard gzip member (RFC 1952)
    assert packed[:2] == b"\x1f\x8b"


def test_reads_what_the_gzip_module_writes() -> None:
    data = b"x" * 5000 + bytes(range(256))
    assert GzipCompressor().decompress(gzip.compress(data, mtime=0), LIMIT) == data


def test_each_message_has_a_fresh_context() -> None:
    comp = GzipCompressor()
    first = comp.compress(b"hello world" * 10)
    comp.compress(b"something else entirely" * 50)
    assert comp.compress(b"hello world" * 10) == first


def test_level_changes_the_output_and_is_validated() -> None:
    data = bytes(range(256)) * 200
    assert len(GzipCompressor(level=0).compress(data)) > len(GzipCompressor(level=9).compress(data))
    for bad in (-1, 10, 1.5, "6", True):
        with pytest.raises(ValueError, match="level"):
            GzipCompressor(level=bad)  # type: ignore[arg-type]


def test_limit_is_exact() -> None:
    comp = GzipCompressor()
    data = b"a" * 1000
    packed = comp.compress(data)
    assert comp.decompress(packed, 1000) == data
    over = comp.decompress(packed, 999)
    assert len(over) == 1000  # max_length + 1: the caller sees "over the limit"
    assert comp.decompress(comp.compress(b""), 0) == b""


def test_several_members_are_one_message() -> None:
    comp = GzipCompressor()
    packed = comp.compress(b"abc") + comp.compress(b"def")
    assert comp.decompress(packed, 100) == b"abcdef"
    assert len(comp.decompress(packed, 4)) == 5  # the budget spans the members


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda p: p[:-5], "truncated"),
        (lambda p: p[:10], "truncated"),
        (lambda p: b"", "truncated"),
        (lambda p: b"not gzip at all", "invalid gzip"),
        (lambda p: p[:-8] + b"\0\0\0\0" + p[-4:], "invalid gzip"),  # bad CRC-32
        (lambda p: p[:-4] + b"\xff\0\0\0", "invalid gzip"),  # bad length
        (lambda p: p + b"garbage!", "invalid gzip"),
    ],
)
def test_corrupt_input_raises_value_error(mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    packed = GzipCompressor().compress(b"payload " * 100)
    with pytest.raises(ValueError, match=message):
        GzipCompressor().decompress(mangle(packed), LIMIT)


def test_bomb_stops_at_the_limit_cheaply(bomb: bytes) -> None:
    assert len(bomb) < 1100 * 1024  # deflate tops out near 1032:1, so 1 GiB is ~1 MiB
    comp = GzipCompressor()
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
    # zlib grows its output in blocks and joins them (about 2 x the limit at the peak),
    # plus the unconsumed input: bounded by the limit, whatever the bomb would inflate to.
    assert peak < 3 * LIMIT


def test_bomb_builder_makes_valid_gzip() -> None:
    # The same construction at 32 MiB, inflated completely (1 GiB would take seconds).
    inflater = zlib.decompressobj(31)
    total = 0
    data = gzip_bomb(32 * MIB)
    while data:
        chunk = inflater.decompress(data, 8 * MIB)
        assert not chunk.strip(b"\0")
        total += len(chunk)
        data = inflater.unconsumed_tail
    assert inflater.eof and not inflater.unused_data and total == 32 * MIB


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=4096), level=st.integers(0, 9))
def test_round_trip_property(data: bytes, level: int) -> None:
    comp = GzipCompressor(level=level)
    assert comp.decompress(comp.compress(data), len(data)) == data
