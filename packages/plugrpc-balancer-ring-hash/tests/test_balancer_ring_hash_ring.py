"""The hash ring and the config of ring_hash_experimental: grpc-go's rules, measured."""

from __future__ import annotations

import random

import pytest
from plugrpc_balancer_ring_hash import Ring, RingHash, RingHashConfig, xxh64
from plugrpc_core import ServiceConfigError, parse_service_config, plugins

# -- XXH64 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # Reference vectors of XXH64 with seed 0 (the xxHash specification's test values).
        (b"", 0xEF46DB3751D8E999),
        (b"a", 0xD24EC4F1A98C6E5B),
        (b"abc", 0x44BC2CF5AD770999),
        ("abc", 0x44BC2CF5AD770999),
    ],
)
def test_xxh64_is_the_reference_function(data: str | bytes, expected: int) -> None:
    assert xxh64(data) == expected


# -- the ring -------------------------------------------------------------------------------

WEIGHTED = [("a", 3), ("b", 3), ("c", 4)]


@pytest.mark.parametrize("low", [3, 4, 6, 8])
@pytest.mark.parametrize("high", [20, 8])
def test_ring_size_and_shares_follow_the_weights(low: int, high: int) -> None:
    """grpc-go's TestRingNew: size within bounds, each share within 25% of its weight."""
    ring = Ring(WEIGHTED, low, high)
    assert low <= len(ring) <= high
    for key, weight in WEIGHTED:
        got = ring.keys.count(key) / len(ring)
        want = weight / 10
        assert abs(got - want) / ((got + want) / 2) < 0.25


def test_entries_are_the_xxh64_of_key_and_index_sorted() -> None:
    ring = Ring([("10.0.0.1:1", 1), ("10.0.0.1:2", 1)], 4, 4)
    expected = sorted(
        (xxh64(f"10.0.0.1:{port}_{i}"), f"10.0.0.1:{port}") for port in (1, 2) for i in range(2)
    )
    assert list(zip(ring.hashes, ring.keys, strict=True)) == expected


def test_default_sizes_give_1024_entries_for_even_weights() -> None:
    ring = Ring([(f"host:{p}", 1) for p in range(4)], 1024, 4096)
    assert len(ring) == 1024
    assert {ring.keys.count(f"host:{p}") for p in range(4)} == {256}
    # Three endpoints: the lightest must get a whole number of entries.
    assert len(Ring([(f"host:{p}", 1) for p in range(3)], 1024, 4096)) == 1026


def test_lookup_finds_the_first_entry_at_or_above_the_hash() -> None:
    ring = Ring(WEIGHTED, 10, 20)
    for data in ("1", "2", "3", "4"):
        h = xxh64(data)
        index = ring.index_for(h)
        low = ring.hashes[index - 1] if index > 0 else 0
        assert low <= h <= ring.hashes[index] or (index == 0 and h > ring.hashes[-1])
    assert ring.index_for(ring.hashes[-1] + 1) == 0  # past the last entry: wrap
    assert ring.index_for(ring.hashes[3]) == 3


def test_removing_one_of_four_endpoints_moves_its_keys_and_few_others() -> None:
    """The departed endpoint's quarter moves; the ring grows from 1024 to 1026 entries (342
    instead of 256 per endpoint, grpc-go's sizing), and the new entries take some keys
    between the remaining endpoints: about 11 % of all keys, measured here.
    """
    endpoints = [(f"10.0.0.{n}:50051", 1) for n in range(1, 5)]
    before = Ring(endpoints, 1024, 4096)
    after = Ring(endpoints[1:], 1024, 4096)
    rng = random.Random(1)
    keys = [f"user-{rng.getrandbits(32)}" for _ in range(20000)]
    moved = lost = 0
    for key in keys:
        h = xxh64(key)
        old = before.keys[before.index_for(h)]
        new = after.keys[after.index_for(h)]
        if old == endpoints[0][0]:
            lost += 1
            continue
        if old != new:
            moved += 1
    assert 0.22 < lost / len(keys) < 0.28  # the departed endpoint's share
    assert moved / len(keys) < 0.15  # keys of the remaining endpoints mostly stay


def test_ring_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Ring([], 1024, 4096)
    with pytest.raises(ValueError, match="weight"):
        Ring([("a", 0)], 1024, 4096)


# -- config ---------------------------------------------------------------------------------


def test_config_defaults_and_zero_values() -> None:
    assert RingHash.parse_config({}) == RingHashConfig()
    assert RingHash.parse_config({"minRingSize": 0, "maxRingSize": 0}) == RingHashConfig(
        min_ring_size=1024, max_ring_size=4096
    )
    parsed = RingHash.parse_config({"minRingSize": 10, "maxRingSize": 100})
    assert (parsed.min_ring_size, parsed.max_ring_size) == (10, 100)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"minRingSize": 8 * 1024 * 1024 + 1}, "greater than the largest"),
        ({"maxRingSize": 8 * 1024 * 1024 + 1}, "greater than the largest"),
        ({"minRingSize": 100, "maxRingSize": 10}, "greater than maxRingSize"),
        ({"minRingSize": -1}, "negative"),
        ({"minRingSize": "1"}, "integer"),
        ({"minRingSize": 1.5}, "integer"),
        ({"maxRingSize": 64.0}, "integer"),
        ({"requestHashHeader": 5}, "string"),
        ({"requestHashHeader": "x-key-bin"}, "-bin"),
        ({"requestHashHeader": "bad key"}, "invalid requestHashHeader"),
        ([], "JSON object"),
    ],
)
def test_config_errors(config: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RingHash.parse_config(config)  # type: ignore[arg-type]


def test_sizes_are_capped_by_grpc_ring_hash_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    big = {"minRingSize": 100000, "maxRingSize": 200000}
    parsed = RingHash.parse_config(big)
    assert (parsed.min_ring_size, parsed.max_ring_size) == (4096, 4096)
    monkeypatch.setenv("GRPC_RING_HASH_CAP", "150000")
    parsed = RingHash.parse_config(big)
    assert (parsed.min_ring_size, parsed.max_ring_size) == (100000, 150000)
    monkeypatch.setenv("GRPC_RING_HASH_CAP", "99999999999")
    assert RingHash.parse_config({"maxRingSize": 8 * 1024 * 1024}).max_ring_size == 8388608
    monkeypatch.setenv("GRPC_RING_HASH_CAP", "0")
    assert RingHash.parse_config({}).max_ring_size == 1
    monkeypatch.setenv("GRPC_RING_HASH_CAP", "lots")
    assert RingHash.parse_config(big).max_ring_size == 4096


def test_request_hash_header_is_lowercased_and_can_be_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert RingHash.parse_config({"requestHashHeader": "X-User"}).request_hash_header == "x-user"
    monkeypatch.setenv("GRPC_EXPERIMENTAL_RING_HASH_SET_REQUEST_HASH_KEY", "False")
    assert RingHash.parse_config({"requestHashHeader": "x-user"}).request_hash_header == ""


def test_selected_by_service_config() -> None:
    assert plugins.balancers.get("ring_hash_experimental") is RingHash
    config = parse_service_config(
        {"loadBalancingConfig": [{"ring_hash_experimental": {"requestHashHeader": "x-k"}}]}
    )
    assert config.load_balancing_config == RingHashConfig(request_hash_header="x-k")
    with pytest.raises(ServiceConfigError, match="minRingSize"):
        parse_service_config(
            {"loadBalancingConfig": [{"ring_hash_experimental": {"minRingSize": -5}}]}
        )
