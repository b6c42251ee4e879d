"""StatusCode: wire values, parsing as service config does, mapping received numbers."""

from __future__ import annotations

import pytest
from plugrpc_core import StatusCode

WIRE = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}


def test_the_seventeen_codes_have_their_wire_values():
    assert {c.name: c.value for c in StatusCode} == WIRE


@pytest.mark.parametrize(("name", "value"), WIRE.items())
def test_parse_by_name_and_number(name, value):
    assert StatusCode.parse(name) is StatusCode(value)
    assert StatusCode.parse(value) is StatusCode(value)


@pytest.mark.parametrize("bad", ["unavailable", "Unavailable", "", "14", " OK", "CANCELED"])
def test_parse_rejects_other_spellings(bad):
    with pytest.raises(ValueError, match="not a status code"):
        StatusCode.parse(bad)


@pytest.mark.parametrize("bad", [17, -1, 2**31, True, False])
def test_parse_rejects_numbers_out_of_range_and_booleans(bad):
    with pytest.raises(ValueError, match="not a status code"):
        StatusCode.parse(bad)


@pytest.mark.parametrize("value", range(17))
def test_from_wire_known(value):
    assert StatusCode.from_wire(value) is StatusCode(value)


@pytest.mark.parametrize("value", [17, 99, -1, 2**32])
def test_from_wire_unknown_numbers_are_unknown(value):
    assert StatusCode.from_wire(value) is StatusCode.UNKNOWN
