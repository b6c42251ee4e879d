"""gRPC status codes (statuscodes.md; wire values are the enum values)."""

from __future__ import annotations

import enum

__all__ = ["StatusCode"]


class StatusCode(enum.IntEnum):
    """The 17 gRPC status codes, valued as they travel in ``grpc-status``."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @classmethod
    def from_wire(cls, value: int) -> StatusCode:
        """Map a received ``grpc-status`` number to a code; unknown numbers are UNKNOWN."""
        try:
            return cls(value)
        except ValueError:
            return cls.UNKNOWN

    @classmethod
    def parse(cls, value: str | int) -> StatusCode:
        """Parse a code given by name (``"UNAVAILABLE"``) or number, as service config does.

        Raises:
            ValueError: the name or number is not a status code.
        """
        if isinstance(value, bool):
            raise ValueError(f"not a status code: {value!r}")
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                raise ValueError(f"not a status code: {value!r} (expected 0..16)") from None
        try:
            return cls[value]
        except KeyError:
            names = ", ".join(c.name for c in cls)
            raise ValueError(f"not a status code: {value!r} (expected one of {names})") from None
