"""Metadata: key rules, -bin values, ASCII values, order per key (PROTOCOL-HTTP2)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugrpc_core import Metadata, validate_metadata_key

KEY_CHARS = string.digits + string.ascii_lowercase + "_.-"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("x-user", "x-user"),
        ("X-User", "x-user"),
        ("TRACE.ID_2", "trace.id_2"),
        ("a", "a"),
        ("x-data-bin", "x-data-bin"),
        ("-", "-"),
    ],
)
def test_valid_keys_are_lowercased(key, expected):
    assert validate_metadata_key(key) == expected


@pytest.mark.parametrize("key", ["", "x user", "x:y", "é", "x\n", "x/y", "grpc@", "\x00"])
def test_invalid_keys_are_rejected(key):
    with pytest.raises(ValueError, match="invalid metadata key"):
        validate_metadata_key(key)


@pytest.mark.parametrize("key", [b"x-user", 3, None])
def test_non_string_keys_are_type_errors(key):
    with pytest.raises(TypeError, match="metadata key must be str"):
        validate_metadata_key(key)  # type: ignore[arg-type]


def test_bin_values_must_be_bytes():
    md = Metadata([("x-trace-bin", b"\x00\xff"), ("x-buf-bin", bytearray(b"ab"))])
    assert md.get("x-trace-bin") == b"\x00\xff"
    assert md.get("x-buf-bin") == b"ab"
    assert type(md.get("x-buf-bin")) is bytes
    with pytest.raises(TypeError, match="ends in -bin"):
        Metadata([("x-trace-bin", "text")])
    with pytest.raises(TypeError, match="ends in -bin"):
        Metadata().add("X-Trace-Bin", "text")


def test_text_values_must_be_printable_ascii_str():
    Metadata([("k", " ~printable ASCII 0x20-0x7e~ ")])
    with pytest.raises(TypeError, match="must be str"):
        Metadata([("k", b"bytes")])
    for bad in ["line\nbreak", "tab\t", "del\x7f", "caf\u00e9", "\x00"]:
        with pytest.raises(ValueError, match="printable ASCII"):
            Metadata([("k", bad)])


def test_order_is_kept_per_key_and_overall():
    md = Metadata([("a", "1"), ("B", "2"), ("a", "3")])
    md.add("b", "4")
    md.extend([("a", "5")])
    assert md.get_all("a") == ["1", "3", "5"]
    assert md.get_all("B") == ["2", "4"]
    assert md.get("a") == "1"
    assert md.keys() == ["a", "b"]
    assert list(md) == [("a", "1"), ("b", "2"), ("a", "3"), ("b", "4"), ("a", "5")]
    assert md.pairs() == (("a", "1"), ("b", "2"), ("a", "3"), ("b", "4"), ("a", "5"))


def test_mapping_like_access():
    md = Metadata([("a", "1"), ("b-bin", b"2")])
    assert md["A"] == "1"
    assert md[1] == ("b-bin", b"2")
    assert "B-BIN" in md
    assert "c" not in md
    assert 3 not in md
    assert len(md) == 2
    assert md
    assert not Metadata()
    assert md.get("c") is None
    assert md.get("c", "dflt") == "dflt"
    assert md.get_all("c") == []
    with pytest.raises(KeyError):
        md["c"]
    md.remove_all("A")
    assert list(md) == [("b-bin", b"2")]


def test_equality_copy_and_coerce():
    md = Metadata([("a", "1")])
    assert md == [("a", "1")]
    assert md == (("a", "1"),)
    assert md == Metadata([("A", "1")])
    assert md != Metadata([("a", "2")])
    assert (md == "a") is False
    copy = Metadata(md)
    copy.add("b", "2")
    assert len(md) == 1
    assert Metadata.coerce(md) is md
    assert Metadata.coerce(None) == Metadata()
    assert Metadata.coerce([("X", "y")]) == [("x", "y")]
    with pytest.raises(TypeError):
        hash(md)
    assert repr(md) == "Metadata([('a', '1')])"


keys = st.text(alphabet=KEY_CHARS, min_size=1, max_size=12).filter(lambda k: not k.endswith("-bin"))
text_values = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
pairs = st.lists(
    st.one_of(
        st.tuples(keys, text_values),
        st.tuples(keys.map(lambda k: k + "-bin"), st.binary(max_size=20)),
    ),
    max_size=20,
)


@given(pairs=pairs, upper=st.booleans())
def test_random_valid_metadata_round_trips(pairs, upper):
    given_pairs = [(k.upper() if upper else k, v) for k, v in pairs]
    md = Metadata(given_pairs)
    assert list(md) == [(k.lower(), v) for k, v in given_pairs]
    for key in {k for k, _ in pairs}:
        assert md.get_all(key.upper()) == [v for k, v in pairs if k == key]
    assert md.keys() == list(dict.fromkeys(k for k, _ in pairs))
    assert Metadata(md) == md
    assert Metadata(md.pairs()) == md


@given(key=st.text(min_size=1, max_size=8))
def test_random_keys_are_accepted_exactly_when_gRPC_allows_them(key):
    allowed = all(c in KEY_CHARS for c in key.lower())
    try:
        assert validate_metadata_key(key) == key.lower()
        assert allowed
    except ValueError:
        assert not allowed
