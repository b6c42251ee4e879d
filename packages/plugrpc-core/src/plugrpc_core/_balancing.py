"""Plugin interface for load-balancing policies (gRFC L9, A61; grpc-go ``balancer``).

Theory of operation: the channel owns one balancer. The balancer receives resolver results
(``update_state``), creates subchannels through its ``BalancerHelper``, watches their
connectivity and publishes a ``Picker`` plus an aggregate state. Every call asks the current
picker for a subchannel; the picker answers at once with a subchannel, "queue" (wait for the
next picker) or "fail". Pickers are immutable snapshots, so picking needs no locks and no I/O.
Balancers are plain objects: timers come from the helper, so their logic is testable without
an event loop.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ._status import StatusCode

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._metadata import Metadata
    from ._naming import Address, ResolverState

__all__ = [
    "Balancer",
    "BalancerHelper",
    "ConnectivityState",
    "PickComplete",
    "PickFail",
    "PickInfo",
    "PickQueue",
    "PickResult",
    "Picker",
    "Subchannel",
    "TimerHandle",
]


class ConnectivityState(enum.Enum):
    """Channel and subchannel states (connectivity-semantics-and-api.md)."""

    IDLE = "IDLE"
    CONNECTING = "CONNECTING"
    READY = "READY"
    TRANSIENT_FAILURE = "TRANSIENT_FAILURE"
    SHUTDOWN = "SHUTDOWN"


class Subchannel(abc.ABC):
    """A logical connection to one address, owned by the channel, driven by a balancer.

    A subchannel starts IDLE, connects when asked, and reports every state change to the
    listener given at creation. After a failure it waits out the connection backoff in
    TRANSIENT_FAILURE and then goes IDLE; the balancer decides whether to connect again.
    """

    @property
    @abc.abstractmethod
    def address(self) -> Address:
        """Where this subchannel connects."""

    @property
    @abc.abstractmethod
    def state(self) -> ConnectivityState:
        """The current state."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Start connecting if IDLE; no-op otherwise."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Release the subchannel (in-flight calls on it finish)."""


class TimerHandle(Protocol):
    """A cancellable timer."""

    def cancel(self) -> None:
        """Stop the timer if it has not fired."""


class BalancerHelper(abc.ABC):
    """The channel side of a balancer."""

    @abc.abstractmethod
    def create_subchannel(
        self,
        address: Address,
        listener: Callable[[Subchannel, ConnectivityState, str | None], None],
    ) -> Subchannel:
        """Make a subchannel; ``listener(subchannel, state, error)`` hears its state changes."""

    @abc.abstractmethod
    def update_state(self, state: ConnectivityState, picker: Picker) -> None:
        """Publish the balancer's aggregate state and a new picker."""

    @abc.abstractmethod
    def request_reresolution(self) -> None:
        """Ask the resolver to look again (a connection failed or closed)."""

    @abc.abstractmethod
    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` after ``delay`` seconds on the channel's loop."""

    @abc.abstractmethod
    def now(self) -> float:
        """The channel's monotonic clock, in seconds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PickInfo:
    """What a picker may look at: the full method name and the call's metadata."""

    method: str
    metadata: Metadata


@dataclass(frozen=True, slots=True, kw_only=True)
class PickComplete:
    """Use this subchannel. ``on_done(code, trailing_metadata)`` runs when the call ends."""

    subchannel: Subchannel
    on_done: Callable[[StatusCode, Metadata], None] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PickQueue:
    """No decision yet: wait for the next picker (or fail fast in TRANSIENT_FAILURE)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PickFail:
    """Fail the call (wait-for-ready calls keep waiting unless ``drop`` is set)."""

    code: StatusCode = StatusCode.UNAVAILABLE
    message: str = ""
    drop: bool = False


PickResult = PickComplete | PickQueue | PickFail


class Picker(abc.ABC):
    """An immutable snapshot of the balancer's choice."""

    @abc.abstractmethod
    def pick(self, info: PickInfo) -> PickResult:
        """Choose for one call; must not block."""


class Balancer(abc.ABC):
    """A load-balancing policy. ``name`` is the registry key (gRPC's own policy names)."""

    name: ClassVar[str]

    def __init__(self, helper: BalancerHelper) -> None:
        self.helper = helper

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> Any:
        """Validate this policy's JSON config; raise ``ValueError`` naming the bad field."""
        if not isinstance(config, dict):
            raise ValueError(f"{cls.name}: config must be a JSON object")
        return config

    @abc.abstractmethod
    def update_state(self, state: ResolverState, config: Any) -> None:
        """New addresses and this policy's parsed config."""

    @abc.abstractmethod
    def resolver_error(self, error: str) -> None:
        """The resolver failed; keep serving if there is something to serve."""

    def exit_idle(self) -> None:
        """A call arrived while the balancer reported IDLE: start connecting."""

    @abc.abstractmethod
    def close(self) -> None:
        """Shut every subchannel down; no helper calls afterwards."""
