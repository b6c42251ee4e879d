"""``ring_hash_experimental``'s config, parsed and validated as grpc-go does (A42, A76).

Rules (grpc-go ``balancer/ringhash/config.go`` and ``internal/envconfig``):

- ``minRingSize`` (default 1024) and ``maxRingSize`` (default 4096) are non-negative
  integers, at most 8M (8 * 1024 * 1024); 0 means the default; min above max is rejected.
- Both are then lowered to ``GRPC_RING_HASH_CAP`` (environment, default 4096, clamped to
  [1, 8M]): the cap does not make a config invalid, it limits memory.
- ``requestHashHeader`` (A76) names the call metadata key whose values are hashed. It is
  lowercased and must be a valid metadata key not ending in ``-bin``. Setting
  ``GRPC_EXPERIMENTAL_RING_HASH_SET_REQUEST_HASH_KEY=false`` ignores it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from plugrpc_core import validate_metadata_key

__all__ = [
    "DEFAULT_MAX_RING_SIZE",
    "DEFAULT_MIN_RING_SIZE",
    "RING_SIZE_UPPER_BOUND",
    "RingHashConfig",
    "parse_ring_hash_config",
]

NAME = "ring_hash_experimental"
DEFAULT_MIN_RING_SIZE = 1024
DEFAULT_MAX_RING_SIZE = 4096
#: The largest ring size a config may ask for (grpc-go ``ringHashSizeUpperBound``).
RING_SIZE_UPPER_BOUND = 8 * 1024 * 1024
_CAP_VARIABLE = "GRPC_RING_HASH_CAP"
_HEADER_VARIABLE = "GRPC_EXPERIMENTAL_RING_HASH_SET_REQUEST_HASH_KEY"


@dataclass(frozen=True, slots=True, kw_only=True)
class RingHashConfig:
    """The parsed config.

    Args:
        min_ring_size: the least number of ring entries.
        max_ring_size: the most ring entries.
        request_hash_header: the metadata key hashed per call; "" for none.
    """

    min_ring_size: int = DEFAULT_MIN_RING_SIZE
    max_ring_size: int = DEFAULT_MAX_RING_SIZE
    request_hash_header: str = ""


def ring_hash_cap() -> int:
    """``GRPC_RING_HASH_CAP`` as grpc-go reads it: 4096 unless set to an integer; [1, 8M]."""
    raw = os.environ.get(_CAP_VARIABLE, "")
    try:
        value = int(raw, 10)
    except ValueError:
        return DEFAULT_MAX_RING_SIZE
    if value < 0:  # grpc-go parses an unsigned integer: a sign is a parse error
        return DEFAULT_MAX_RING_SIZE
    return min(max(value, 1), RING_SIZE_UPPER_BOUND)


def _size(config: dict[str, Any], key: str, default: int) -> int:
    raw = config.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int):
        # grpc-go reads the sizes into unsigned integers: only JSON integers parse.
        raise ValueError(f"{NAME}: {key} must be an integer, got {raw!r}")
    value = raw
    if value < 0:
        raise ValueError(f"{NAME}: {key} must not be negative, got {value}")
    if value > RING_SIZE_UPPER_BOUND:
        raise ValueError(
            f"{NAME}: {key} {value} is greater than the largest supported, {RING_SIZE_UPPER_BOUND}"
        )
    return value or default


def parse_ring_hash_config(config: Any) -> RingHashConfig:
    """Validate a ``ring_hash_experimental`` config object (see the module notes).

    Raises:
        ValueError: a field is malformed or out of range; the message names it.
    """
    if not isinstance(config, dict):
        raise ValueError(f"{NAME}: config must be a JSON object, got {config!r}")
    low = _size(config, "minRingSize", DEFAULT_MIN_RING_SIZE)
    high = _size(config, "maxRingSize", DEFAULT_MAX_RING_SIZE)
    if low > high:
        raise ValueError(f"{NAME}: minRingSize {low} is greater than maxRingSize {high}")
    cap = ring_hash_cap()
    header = config.get("requestHashHeader", "")
    if header is None:
        header = ""
    if not isinstance(header, str):
        raise ValueError(f"{NAME}: requestHashHeader must be a string, got {header!r}")
    if os.environ.get(_HEADER_VARIABLE, "").lower() == "false":
        header = ""
    if header:
        try:
            header = validate_metadata_key(header)
        except ValueError as exc:
            raise ValueError(f"{NAME}: invalid requestHashHeader {header!r}: {exc}") from None
        if header.endswith("-bin"):
            raise ValueError(
                f"{NAME}: invalid requestHashHeader {header!r}: the key must not end with "
                '"-bin" (A76)'
            )
    return RingHashConfig(
        min_ring_size=min(low, cap), max_ring_size=min(high, cap), request_hash_header=header
    )
