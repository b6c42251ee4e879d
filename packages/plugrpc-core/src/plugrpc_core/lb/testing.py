"""Test doubles for unit-testing load-balancing policies without sockets or an event loop.

``FakeHelper`` is a complete ``BalancerHelper`` with a manual clock: it records what the
policy publishes, hands out ``FakeSubchannel`` objects whose state changes the test performs
(reported to the policy exactly as the channel reports real ones), and runs timers only when
the test advances the clock. ``SimpleLeaf`` is a one-subchannel leaf policy for testing
parent policies without depending on ``pick_first`` (which ships with ``plugrpc``).

Example::

    helper = FakeHelper()
    policy = MyPolicy(helper)
    policy.update_state(ResolverState(addresses=(Address(host="10.0.0.1", port=1),)), None)
    helper.subchannel(port=1).ready()
    assert helper.state is ConnectivityState.READY
    assert helper.pick().subchannel.address.port == 1
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING, Any

from .._balancing import (
    Balancer,
    BalancerHelper,
    ConnectivityState,
    PickComplete,
    Picker,
    PickInfo,
    Subchannel,
)
from .._metadata import Metadata
from ._pickers import FailPicker, IdlePicker, QueuePicker

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._balancing import PickResult
    from .._metadata import MetadataLike
    from .._naming import Address, ResolverState

__all__ = ["FakeHelper", "FakeSubchannel", "FakeTimer", "SimpleLeaf"]

_IDLE = ConnectivityState.IDLE
_CONNECTING = ConnectivityState.CONNECTING
_READY = ConnectivityState.READY
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE
_SHUTDOWN = ConnectivityState.SHUTDOWN


class FakeSubchannel(Subchannel):
    """A subchannel whose transitions the test performs.

    ``connect()`` only counts (``connects``) and does not change the state: the test moves
    it with ``become``, ``fail`` and ``ready``, as the channel's subchannel would.
    """

    def __init__(
        self,
        address: Address,
        listener: Callable[[Subchannel, ConnectivityState, str | None], None],
    ) -> None:
        self._address = address
        self._listener = listener
        self._state = _IDLE
        #: How many times ``connect()`` was called while IDLE.
        self.connects = 0

    def __repr__(self) -> str:
        return f"<FakeSubchannel {self._address} {self._state.name}>"

    @property
    def address(self) -> Address:
        """Where this subchannel would connect."""
        return self._address

    @property
    def state(self) -> ConnectivityState:
        """The state the test set last (SHUTDOWN after ``shutdown()``)."""
        return self._state

    def connect(self) -> None:
        """Count a connection request (only IDLE subchannels count it, like real ones)."""
        if self._state is _IDLE:
            self.connects += 1

    def shutdown(self) -> None:
        """Become SHUTDOWN; not reported to the listener (the policy did it)."""
        self._state = _SHUTDOWN

    def become(self, state: ConnectivityState, error: str | None = None) -> None:
        """Move to ``state`` and report it to the policy.

        Raises:
            AssertionError: the subchannel is shut down (a real one reports nothing more).
        """
        assert self._state is not _SHUTDOWN, f"{self!r} is shut down"
        self._state = state
        self._listener(self, state, error)

    def fail(self, error: str = "connection refused") -> None:
        """A failed attempt: CONNECTING (unless already), then TRANSIENT_FAILURE."""
        if self._state is not _CONNECTING:
            self.become(_CONNECTING)
        self.become(_TRANSIENT_FAILURE, error or "connection refused")

    def ready(self) -> None:
        """A successful attempt: CONNECTING (unless already), then READY."""
        if self._state is not _CONNECTING:
            self.become(_CONNECTING)
        self.become(_READY)


class FakeTimer:
    """A timer of ``FakeHelper``: runs when the test advances the clock past ``when``."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run."""
        self.cancelled = True


class FakeHelper(BalancerHelper):
    """A ``BalancerHelper`` with a manual clock that records everything a policy does.

    Attributes:
        clock: the current time, in seconds (starts at 0).
        subchannels: every subchannel created, in order (shut down ones included).
        states: every state the policy published, in order.
        picker: the picker published last, or None.
        reresolutions: how many times re-resolution was requested.
    """

    def __init__(self) -> None:
        self.clock = 0.0
        self.subchannels: list[FakeSubchannel] = []
        self.states: list[ConnectivityState] = []
        self.picker: Picker | None = None
        self.reresolutions = 0
        self._timers: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()

    # -- BalancerHelper -------------------------------------------------------------------

    def create_subchannel(
        self,
        address: Address,
        listener: Callable[[Subchannel, ConnectivityState, str | None], None],
    ) -> FakeSubchannel:
        """A new ``FakeSubchannel``, IDLE."""
        subchannel = FakeSubchannel(address, listener)
        self.subchannels.append(subchannel)
        return subchannel

    def update_state(self, state: ConnectivityState, picker: Picker) -> None:
        """Record the publication."""
        self.states.append(state)
        self.picker = picker

    def request_reresolution(self) -> None:
        """Count the request."""
        self.reresolutions += 1

    def call_later(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        """A timer that ``advance`` runs once the clock reaches ``clock + delay``."""
        timer = FakeTimer(self.clock + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    def now(self) -> float:
        """The manual clock."""
        return self.clock

    # -- driving the test -----------------------------------------------------------------

    def advance(self, seconds: float = 0.0) -> int:
        """Move the clock forward and run every timer due by then, in time order.

        Timers scheduled by those callbacks run too if they are due. ``advance()`` with no
        argument runs what is due now (zero-delay timers, such as deferred ``exit_idle``).

        Returns:
            How many timers ran.
        """
        target = self.clock + seconds
        ran = 0
        while self._timers and self._timers[0][0] <= target:
            when, _, timer = heapq.heappop(self._timers)
            self.clock = max(self.clock, when)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()
                ran += 1
        self.clock = target
        return ran

    @property
    def pending_timers(self) -> list[FakeTimer]:
        """Timers not yet run or cancelled, soonest first."""
        return [t for _, _, t in sorted(self._timers) if not t.cancelled]

    @property
    def state(self) -> ConnectivityState | None:
        """The state published last, or None."""
        return self.states[-1] if self.states else None

    def pick(self, method: str = "/test.Service/Method", metadata: MetadataLike = ()) -> PickResult:
        """Ask the current picker, as a call of ``method`` with ``metadata`` would.

        Raises:
            AssertionError: nothing was published yet.
        """
        assert self.picker is not None, "the policy has published no picker"
        return self.picker.pick(PickInfo(method=method, metadata=Metadata(metadata)))

    def picked(self, method: str = "/test.Service/Method", metadata: MetadataLike = ()) -> Any:
        """The subchannel the current picker chooses (asserts that it chooses one)."""
        result = self.pick(method, metadata)
        assert isinstance(result, PickComplete), f"expected a subchannel, got {result!r}"
        return result.subchannel

    def subchannel(self, *, port: int | None = None, host: str | None = None) -> FakeSubchannel:
        """The one live (not shut down) subchannel with this port and/or host.

        Raises:
            AssertionError: there is not exactly one.
        """
        live = [
            s
            for s in self.subchannels
            if s.state is not _SHUTDOWN
            and (port is None or s.address.port == port)
            and (host is None or s.address.host == host)
        ]
        assert len(live) == 1, f"expected one live subchannel, found {live}"
        return live[0]

    def live(self) -> list[FakeSubchannel]:
        """Every subchannel not shut down, in creation order."""
        return [s for s in self.subchannels if s.state is not _SHUTDOWN]


class SimpleLeaf(Balancer):
    """A leaf policy with one subchannel, for the first address of its update.

    It behaves like ``pick_first`` with a single address (gRFC A62): connects on its first
    update; READY sends every call to the subchannel; a failure is TRANSIENT_FAILURE with the
    error, and stays so ("sticky") while it reconnects whenever the subchannel comes back
    IDLE; a lost connection goes IDLE until ``exit_idle()`` (its IDLE picker calls that on the
    first pick). Use it as ``child_policy`` when testing a parent policy.
    """

    name = "plugrpc_testing_simple_leaf"

    def __init__(self, helper: BalancerHelper) -> None:
        super().__init__(helper)
        self._subchannel: Subchannel | None = None
        self._state: ConnectivityState | None = None
        self._closed = False

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Use the first address; a new one replaces the subchannel."""
        if self._closed:
            return
        if not state.addresses:
            self._drop()
            self._publish(_TRANSIENT_FAILURE, FailPicker("no addresses"))
            return
        address = state.addresses[0]
        if self._subchannel is not None and self._subchannel.address == address:
            return
        self._drop()
        self._subchannel = self.helper.create_subchannel(address, self._on_state)
        self._publish(_CONNECTING, QueuePicker())
        self._subchannel.connect()

    def resolver_error(self, error: str) -> None:
        """Fail with the error if there is nothing to serve."""
        if not self._closed and self._subchannel is None:
            self._publish(_TRANSIENT_FAILURE, FailPicker(f"name resolver error: {error}"))

    def exit_idle(self) -> None:
        """Connect if IDLE."""
        if self._closed or self._subchannel is None:
            return
        if self._state is _IDLE:
            self._publish(_CONNECTING, QueuePicker())
            self._subchannel.connect()

    def close(self) -> None:
        """Shut the subchannel down."""
        self._closed = True
        self._drop()

    def _drop(self) -> None:
        if self._subchannel is not None:
            self._subchannel.shutdown()
            self._subchannel = None

    def _publish(self, state: ConnectivityState, picker: Picker) -> None:
        self._state = state
        self.helper.update_state(state, picker)

    def _on_state(
        self, subchannel: Subchannel, state: ConnectivityState, error: str | None
    ) -> None:
        if self._closed or subchannel is not self._subchannel:
            return
        if state is _READY:
            self._publish(_READY, _Fixed(PickComplete(subchannel=subchannel)))
        elif state is _TRANSIENT_FAILURE:
            self._publish(_TRANSIENT_FAILURE, FailPicker(error or "connection failed"))
        elif state is _IDLE:
            if self._state is _TRANSIENT_FAILURE:
                subchannel.connect()  # backoff over: try again, staying in TF (sticky)
            else:
                self._publish(_IDLE, IdlePicker(self.helper, self.exit_idle))
        elif state is _CONNECTING and self._state is not _TRANSIENT_FAILURE:
            self._publish(_CONNECTING, QueuePicker())


class _Fixed(Picker):
    __slots__ = ("_result",)

    def __init__(self, result: PickResult) -> None:
        self._result = result

    def pick(self, info: PickInfo) -> PickResult:
        return self._result
