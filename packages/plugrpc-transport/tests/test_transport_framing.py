"""Length-Prefixed-Message framing: encode_message_prefix and MessageDecoder."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugrpc_core import MessageTooLargeError
from plugrpc_transport.protocol import (
    MESSAGE_PREFIX_LENGTH,
    FramingError,
    MessageDecoder,
    MessageTooLarge,
    ProtocolViolation,
    encode_message_prefix,
)


def frame(payload: bytes, compressed: bool = False) -> bytes:
    return encode_message_prefix(len(payload), compressed) + payload


# --- encode_message_prefix ----------------------------------------------------


@pytest.mark.parametrize(
    ("length", "compressed", "expected"),
    [
        (0, False, b"\x00\x00\x00\x00\x00"),
        (0, True, b"\x01\x00\x00\x00\x00"),
        (1, False, b"\x00\x00\x00\x00\x01"),
        (258, True, b"\x01\x00\x00\x01\x02"),
        (4 * 1024 * 1024, False, b"\x00\x00\x40\x00\x00"),
        (0xFFFFFFFF, False, b"\x00\xff\xff\xff\xff"),
    ],
)
def test_prefix_bytes(length: int, compressed: bool, expected: bytes) -> None:
    assert encode_message_prefix(length, compressed) == expected
    assert len(expected) == MESSAGE_PREFIX_LENGTH


@pytest.mark.parametrize("length", [-1, 0x1_0000_0000, 2**64])
def test_prefix_rejects_lengths_outside_uint32(length: int) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        encode_message_prefix(length, False)


# --- MessageDecoder: basics ---------------------------------------------------


def test_one_message_one_chunk() -> None:
    decoder = MessageDecoder(100)
    assert decoder.feed(frame(b"hello")) == [(False, b"hello")]
    assert not decoder.has_partial_message
    assert decoder.buffered == 0


def test_many_messages_in_one_chunk_with_flags() -> None:
    decoder = MessageDecoder(100)
    data = frame(b"a") + frame(b"", compressed=True) + frame(b"bc", compressed=True) + frame(b"")
    assert decoder.feed(data) == [(False, b"a"), (True, b""), (True, b"bc"), (False, b"")]
    assert not decoder.has_partial_message


def test_zero_length_messages_are_messages() -> None:
    decoder = MessageDecoder(0)  # a limit of 0 still admits empty messages
    assert decoder.feed(frame(b"") * 3) == [(False, b"")] * 3


def test_empty_feed_is_a_no_op_in_every_state() -> None:
    decoder = MessageDecoder(100)
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\x00\x00") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\x00\x00\x03ab") == []
    assert decoder.feed(b"") == []
    assert decoder.has_partial_message
    assert decoder.feed(b"c") == [(False, b"abc")]
    assert not decoder.has_partial_message


def test_prefix_split_at_every_position() -> None:
    data = frame(b"payload") + frame(b"x", compressed=True)
    for cut in range(len(data) + 1):
        decoder = MessageDecoder(100)
        got = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        assert got == [(False, b"payload"), (True, b"x")], cut
        assert not decoder.has_partial_message


def test_byte_at_a_time() -> None:
    data = frame(b"abc") + frame(b"") + frame(b"defg", compressed=True)
    decoder = MessageDecoder(100)
    got: list[tuple[bool, bytes]] = []
    for i in range(len(data)):
        got += decoder.feed(data[i : i + 1])
    assert got == [(False, b"abc"), (False, b""), (True, b"defg")]


def test_memoryview_input() -> None:
    data = frame(b"abc") + frame(b"defgh")
    view = memoryview(data)
    decoder = MessageDecoder(100)
    got = decoder.feed(view[:4]) + decoder.feed(view[4:9]) + decoder.feed(view[9:])
    assert got == [(False, b"abc"), (False, b"defgh")]
    assert all(type(payload) is bytes for _, payload in got)


def test_partial_message_states() -> None:
    decoder = MessageDecoder(100)
    decoder.feed(b"\x00")
    assert decoder.has_partial_message  # part of a prefix
    assert decoder.buffered == 1
    decoder.feed(b"\x00\x00\x00\x04")
    assert decoder.has_partial_message  # a full prefix, no body yet
    assert decoder.buffered == 5
    decoder.feed(b"ab")
    assert decoder.buffered == 7
    assert decoder.feed(b"cd") == [(False, b"abcd")]
    assert not decoder.has_partial_message


def test_payload_is_exact_bytes_and_not_a_view() -> None:
    decoder = MessageDecoder(100)
    chunk = frame(b"0123456789")
    decoder.feed(chunk[:8])
    (msg,) = decoder.feed(chunk[8:])
    assert msg == (False, b"0123456789")
    assert type(msg[1]) is bytes


# --- limits and malformed input -----------------------------------------------


def test_message_at_limit_is_accepted() -> None:
    decoder = MessageDecoder(5)
    assert decoder.feed(frame(b"12345")) == [(False, b"12345")]


def test_prefix_over_limit_raises_before_any_body() -> None:
    decoder = MessageDecoder(4 * 1024 * 1024)
    with pytest.raises(MessageTooLarge) as info:
        decoder.feed(b"\x00\xff\xff\xff\xff")  # 4 GiB declared, no body at all
    exc = info.value
    assert (exc.length, exc.limit) == (0xFFFFFFFF, 4 * 1024 * 1024)
    assert str(exc) == "received message larger than max (4294967295 vs. 4194304)"
    assert isinstance(exc, ProtocolViolation)
    assert isinstance(exc, MessageTooLargeError)
    assert decoder.buffered == 0


def test_prefix_over_limit_split_across_chunks() -> None:
    decoder = MessageDecoder(4 * 1024 * 1024)
    assert decoder.feed(b"\x00\x00\x40") == []
    with pytest.raises(MessageTooLarge) as info:
        decoder.feed(b"\x00\x01" + b"x")  # 4 MiB + 1 declared, one body byte present
    assert str(info.value) == "received message larger than max (4194305 vs. 4194304)"


def test_oversized_message_after_good_ones_in_same_chunk() -> None:
    decoder = MessageDecoder(3)
    with pytest.raises(MessageTooLarge):
        decoder.feed(frame(b"ok") + frame(b"toolong"))


@pytest.mark.parametrize("flag", [2, 3, 0x80, 0xFF])
def test_bad_compressed_flag(flag: int) -> None:
    decoder = MessageDecoder(100)
    with pytest.raises(FramingError, match="compressed-flag"):
        decoder.feed(bytes([flag]) + b"\x00\x00\x00\x00")


def test_bad_flag_in_split_prefix() -> None:
    decoder = MessageDecoder(100)
    decoder.feed(frame(b"a") + b"\x02\x00")
    with pytest.raises(FramingError):
        decoder.feed(b"\x00\x00\x00")


def test_decoder_refuses_input_after_an_error() -> None:
    decoder = MessageDecoder(1)
    with pytest.raises(MessageTooLarge):
        decoder.feed(frame(b"ab"))
    with pytest.raises(FramingError, match="unusable"):
        decoder.feed(frame(b"a"))


def test_negative_limit_rejected() -> None:
    with pytest.raises(ValueError):
        MessageDecoder(-1)


def test_message_too_large_pickles() -> None:
    exc = pickle.loads(pickle.dumps(MessageTooLarge(10, 5)))
    assert (exc.length, exc.limit, str(exc)) == (
        10,
        5,
        "received message larger than max (10 vs. 5)",
    )


# --- big messages: no quadratic buffering -------------------------------------


def test_sixteen_mib_in_sixteen_kib_chunks() -> None:
    payload = bytes(range(256)) * (16 * 1024 * 1024 // 256)
    data = frame(payload) + frame(b"tail")
    decoder = MessageDecoder(16 * 1024 * 1024)
    step = 16 * 1024
    got: list[tuple[bool, bytes]] = []
    for i in range(0, len(data), step):
        got += decoder.feed(data[i : i + step])
        # Held bytes never exceed one message plus its prefix: chunks are kept, not re-joined.
        assert decoder.buffered <= len(payload) + MESSAGE_PREFIX_LENGTH
    assert len(got) == 2
    assert got[0][1] == payload
    assert got[1] == (False, b"tail")


def test_chunks_are_kept_not_copied_until_complete() -> None:
    # A body held as slices of the fed chunks: feeding 1,000 chunks of a message keeps
    # 1,000 references and one join at the end (observable through the parts count).
    decoder = MessageDecoder(10_000)
    decoder.feed(encode_message_prefix(10_000, False))
    for _ in range(999):
        decoder.feed(b"0123456789")
    assert len(decoder._parts) == 999
    (msg,) = decoder.feed(b"0123456789")
    assert msg[1] == b"0123456789" * 1000
    assert decoder._parts == []


# --- Hypothesis: any split of any concatenation -------------------------------

messages = st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(msgs=messages, cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=20))
def test_any_split_yields_same_messages(msgs: list[tuple[bool, bytes]], cuts: list[int]) -> None:
    data = b"".join(frame(p, c) for c, p in msgs)
    points = sorted({min(c, len(data)) for c in cuts})
    decoder = MessageDecoder(300)
    got: list[tuple[bool, bytes]] = []
    start = 0
    for point in [*points, len(data)]:
        got += decoder.feed(data[start:point])
        start = point
    assert got == msgs
    assert not decoder.has_partial_message


@settings(max_examples=200, deadline=None)
@given(msgs=messages, cut=st.integers(min_value=1, max_value=4000), use_view=st.booleans())
def test_truncated_stream_leaves_partial_message(
    msgs: list[tuple[bool, bytes]], cut: int, use_view: bool
) -> None:
    data = b"".join(frame(p, c) for c, p in msgs)
    if not data:
        return
    cut = min(cut, len(data))
    truncated = data[: len(data) - cut]
    decoder = MessageDecoder(300)
    chunk = memoryview(truncated) if use_view else truncated
    got = decoder.feed(chunk)
    assert got == msgs[: len(got)]
    # Some message was cut: either at a boundary (then nothing is partial) or inside one.
    boundaries = set()
    pos = 0
    for _, p in msgs:
        pos += MESSAGE_PREFIX_LENGTH + len(p)
        boundaries.add(pos)
    assert decoder.has_partial_message == (len(truncated) not in boundaries | {0})


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200), cuts=st.lists(st.integers(0, 200), max_size=8))
def test_random_bytes_never_crash(data: bytes, cuts: list[int]) -> None:
    decoder = MessageDecoder(64)
    start = 0
    try:
        for point in [*sorted(min(c, len(data)) for c in cuts), len(data)]:
            for compressed, payload in decoder.feed(data[start:point]):
                assert isinstance(compressed, bool)
                assert len(payload) <= 64
            start = point
    except (FramingError, MessageTooLarge):
        pass
