"""Plugin interface for stats handlers (grpc-go ``stats.Handler``), called per call event."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from ._status import StatusCode

__all__ = ["CallEnd", "CallStart", "MessageIn", "MessageOut", "StatsEvent", "StatsHandler"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStart:
    """A call began (``client`` tells the side)."""

    method: str
    client: bool
    time: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageOut:
    """A message was sent: sizes before and after compression."""

    method: str
    client: bool
    length: int
    wire_length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageIn:
    """A message was received: sizes on the wire and after decompression."""

    method: str
    client: bool
    length: int
    wire_length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnd:
    """A call ended with ``code``."""

    method: str
    client: bool
    code: StatusCode
    time: float


StatsEvent = CallStart | MessageOut | MessageIn | CallEnd


class StatsHandler(abc.ABC):
    """Receives call events. Installed handlers stay off until a channel or server names them."""

    name: ClassVar[str]

    @abc.abstractmethod
    def handle(self, event: StatsEvent) -> None:
        """Record one event; must be cheap and must not raise."""
