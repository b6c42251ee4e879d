"""RpcError and Deadline."""

from __future__ import annotations

import time

import pytest
from plugrpc_core import Deadline, Metadata, RpcError, StatusCode


def test_rpc_error_accessors_and_text():
    err = RpcError(
        StatusCode.NOT_FOUND,
        "no such user",
        initial_metadata=[("X-A", "1")],
        trailing_metadata=Metadata([("x-b-bin", b"\x01")]),
        status_details_bin=b"\x08\x05",
    )
    assert isinstance(err, Exception)
    assert err.code() is StatusCode.NOT_FOUND
    assert err.details() == "no such user"
    assert err.initial_metadata() == [("x-a", "1")]
    assert err.trailing_metadata() == [("x-b-bin", b"\x01")]
    assert err.status_details_bin() == b"\x08\x05"
    assert str(err) == "NOT_FOUND: no such user"
    assert repr(err) == "RpcError(NOT_FOUND, 'no such user')"
    with pytest.raises(RpcError) as info:
        raise err
    assert info.value.code() is StatusCode.NOT_FOUND


def test_rpc_error_defaults():
    err = RpcError(StatusCode.CANCELLED)
    assert str(err) == "CANCELLED"
    assert err.details() == ""
    assert err.initial_metadata() == Metadata()
    assert err.trailing_metadata() == Metadata()
    assert err.status_details_bin() is None


def test_rpc_error_takes_plain_ints_as_codes():
    assert RpcError(14, "down").code() is StatusCode.UNAVAILABLE  # type: ignore[arg-type]


def test_rpc_error_validates_metadata():
    with pytest.raises(ValueError):
        RpcError(StatusCode.INTERNAL, trailing_metadata=[("bad key", "v")])


def test_deadline_arithmetic_with_an_explicit_clock():
    d = Deadline.after(2.0, now=100.0)
    assert d.when == 102.0
    assert d.remaining(now=101.5) == 0.5
    assert not d.expired(now=101.999)
    assert d.expired(now=102.0)
    assert d.remaining(now=103.0) == -1.0


def test_deadline_earliest():
    early, late = Deadline(5.0), Deadline(9.0)
    assert early.earliest(late) is early
    assert late.earliest(early) is early
    assert late.earliest(None) is late


def test_deadline_uses_the_monotonic_clock_by_default():
    before = time.monotonic()
    d = Deadline.after(60.0)
    assert before + 60.0 <= d.when <= time.monotonic() + 60.0
    assert 0 < d.remaining() <= 60.0
    assert not d.expired()
    assert Deadline.after(-1.0).expired()


def test_deadline_is_a_frozen_value():
    d = Deadline(1.0)
    assert d == Deadline(1.0)
    assert hash(d) == hash(Deadline(1.0))
    with pytest.raises(AttributeError):
        d.when = 2.0  # type: ignore[misc]
