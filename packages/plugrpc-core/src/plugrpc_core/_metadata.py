"""gRPC metadata: an ordered multimap of lowercase keys to ASCII text or, for ``-bin`` keys, bytes.

Rules from PROTOCOL-HTTP2 ("Custom-Metadata"): keys are non-empty and made of
``[0-9a-z_.-]`` (keys given in upper case are lowercased); values of keys ending in ``-bin``
are arbitrary bytes (base64 on the wire, handled by the transport); other values are printable
ASCII (0x20-0x7E). Only the relative order of values under one key is significant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Union, overload

if TYPE_CHECKING:
    from typing import TypeAlias

__all__ = ["Metadata", "MetadataLike", "MetadataValue", "validate_metadata_key"]

MetadataValue: TypeAlias = str | bytes
MetadataLike: TypeAlias = Union["Metadata", Iterable[tuple[str, MetadataValue]]]

_KEY_RE = re.compile(r"[0-9a-z_.\-]+\Z")
_ASCII_VALUE_RE = re.compile(r"[\x20-\x7e]*\Z")


def validate_metadata_key(key: str) -> str:
    """Return ``key`` lowercased, or raise ``ValueError`` if gRPC does not allow it."""
    if not isinstance(key, str):
        raise TypeError(f"metadata key must be str, not {type(key).__name__}")
    lowered = key.lower()
    if not _KEY_RE.match(lowered):
        raise ValueError(
            f"invalid metadata key {key!r}: keys are non-empty and use only 0-9 a-z _ . -"
        )
    return lowered


def _validate_value(key: str, value: MetadataValue) -> MetadataValue:
    if key.endswith("-bin"):
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TypeError(f"metadata key {key!r} ends in -bin, so its value must be bytes")
    if not isinstance(value, str):
        raise TypeError(
            f"metadata value for {key!r} must be str (use a key ending in -bin for bytes)"
        )
    if not _ASCII_VALUE_RE.match(value):
        raise ValueError(
            f"invalid metadata value for {key!r}: text values are printable ASCII "
            "(0x20-0x7E); use a key ending in -bin for other data"
        )
    return value


class Metadata:
    """Ordered, multi-valued call metadata.

    Args:
        pairs: ``(key, value)`` pairs, e.g. ``[("x-user", "ann"), ("x-trace-bin", b"\\x01")]``.

    Raises:
        ValueError, TypeError: a key or value that gRPC does not allow.
    """

    __slots__ = ("_pairs",)

    def __init__(self, pairs: MetadataLike = ()) -> None:
        if isinstance(pairs, Metadata):
            self._pairs: list[tuple[str, MetadataValue]] = list(pairs._pairs)
            return
        out = []
        for key, value in pairs:
            k = validate_metadata_key(key)
            out.append((k, _validate_value(k, value)))
        self._pairs = out

    @classmethod
    def coerce(cls, value: MetadataLike | None) -> Metadata:
        """Return ``value`` if it already is ``Metadata``, else validated ``Metadata`` of it."""
        if value is None:
            return cls()
        if isinstance(value, Metadata):
            return value
        return cls(value)

    @classmethod
    def _trusted(cls, pairs: list[tuple[str, MetadataValue]]) -> Metadata:
        """Wrap pairs the transport already checked, without copying or re-validating."""
        md = cls.__new__(cls)
        md._pairs = pairs
        return md

    def add(self, key: str, value: MetadataValue) -> None:
        """Append one value under ``key``."""
        k = validate_metadata_key(key)
        self._pairs.append((k, _validate_value(k, value)))

    def extend(self, other: MetadataLike) -> None:
        """Append every pair of ``other``."""
        self._pairs.extend(Metadata.coerce(other)._pairs)

    def get(self, key: str, default: MetadataValue | None = None) -> MetadataValue | None:
        """The first value under ``key``, or ``default``."""
        key = key.lower()
        for k, v in self._pairs:
            if k == key:
                return v
        return default

    def get_all(self, key: str) -> list[MetadataValue]:
        """Every value under ``key``, in the order they were added or received."""
        key = key.lower()
        return [v for k, v in self._pairs if k == key]

    def remove_all(self, key: str) -> None:
        """Drop every value under ``key``."""
        key = key.lower()
        self._pairs = [(k, v) for k, v in self._pairs if k != key]

    def keys(self) -> list[str]:
        """Distinct keys, in first-seen order."""
        return list(dict.fromkeys(k for k, _ in self._pairs))

    def pairs(self) -> Sequence[tuple[str, MetadataValue]]:
        """All ``(key, value)`` pairs (read-only view)."""
        return tuple(self._pairs)

    def __iter__(self) -> Iterator[tuple[str, MetadataValue]]:
        return iter(self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        key = key.lower()
        return any(k == key for k, _ in self._pairs)

    @overload
    def __getitem__(self, key: str) -> MetadataValue: ...
    @overload
    def __getitem__(self, key: int) -> tuple[str, MetadataValue]: ...
    def __getitem__(self, key: str | int) -> MetadataValue | tuple[str, MetadataValue]:
        if isinstance(key, int):
            return self._pairs[key]
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Metadata):
            return self._pairs == other._pairs
        if isinstance(other, (list, tuple)):
            return self._pairs == [tuple(p) for p in other]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Metadata({self._pairs!r})"
