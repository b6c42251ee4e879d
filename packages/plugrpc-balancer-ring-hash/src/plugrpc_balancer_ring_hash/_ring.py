"""The hash ring (gRFC A42; grpc-go ``balancer/ringhash/ring.go``; Envoy's ketama-style ring).

Theory of operation: each endpoint has a *hash key* (by default its first address as
``host:port``; A76 lets a resolver set one) and a weight (default 1). Weights are normalized
to sum to 1; the ring is scaled so that the lightest endpoint gets a whole number of entries,
at least ``min_size`` entries in all and at most ``max_size``. Entries are laid out in sorted
hash-key order, the running total deciding how many each endpoint gets, entry ``i`` of an
endpoint being ``xxh64(f"{hash_key}_{i}")``; the ring is the entries sorted by hash. The
numbering per endpoint keeps an endpoint's entries in place when others come or go, so only
the keys that hashed to a departed endpoint move (consistent hashing).

A request hash picks the first entry whose hash is >= it, wrapping to the first entry.

The hash is XXH64 with seed 0, as grpc-go (``github.com/cespare/xxhash/v2``) and Envoy use,
so a given request header value reaches the same endpoint from gRPC clients in any language.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import xxhash

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Ring", "hash_key_of", "xxh64"]


def xxh64(data: str | bytes) -> int:
    """XXH64 of ``data`` (UTF-8 for text) with seed 0, as an unsigned 64-bit integer."""
    if isinstance(data, str):
        data = data.encode()
    return xxhash.xxh64_intdigest(data)


def hash_key_of(address_text: str, attributes: Mapping[str, Any]) -> str:
    """An endpoint's hash key: the ``hash_key`` attribute if set (A76), else its address."""
    if isinstance(attributes, Mapping):
        key = attributes.get("hash_key")
        if isinstance(key, str) and key:
            return key
    return address_text


class Ring:
    """A sorted ring of ``(hash, hash_key)`` entries.

    Args:
        endpoints: ``(hash_key, weight)`` pairs; keys unique, weights >= 1, at least one.
        min_size: the least number of entries.
        max_size: the most entries.

    Raises:
        ValueError: no endpoints, or a weight below 1.
    """

    __slots__ = ("hashes", "keys")

    def __init__(self, endpoints: Iterable[tuple[str, int]], min_size: int, max_size: int) -> None:
        items = sorted(endpoints)
        if not items:
            raise ValueError("a ring needs at least one endpoint")
        total = 0
        for key, weight in items:
            if weight < 1:
                raise ValueError(f"endpoint {key!r} has weight {weight}; weights are >= 1")
            total += weight
        normalized = [(key, weight / total) for key, weight in items]
        smallest = min(1.0, *(share for _, share in normalized))
        # grpc-go newRing: scale so the lightest endpoint gets a whole number of entries.
        scale = min(math.ceil(smallest * min_size) / smallest, float(max_size))
        entries: list[tuple[int, str]] = []
        current = target = 0.0
        for key, share in normalized:
            target += scale * share
            index = 0
            while current < target:
                entries.append((xxh64(f"{key}_{index}"), key))
                index += 1
                current += 1
        entries.sort(key=lambda entry: entry[0])
        #: Entry hashes, ascending.
        self.hashes = [h for h, _ in entries]
        #: The hash key of each entry's endpoint.
        self.keys = [k for _, k in entries]

    def __len__(self) -> int:
        return len(self.hashes)

    def index_for(self, request_hash: int) -> int:
        """The first entry whose hash is >= ``request_hash``, wrapping to 0."""
        index = bisect.bisect_left(self.hashes, request_hash)
        return 0 if index == len(self.hashes) else index
