"""``ChildHelper``: the helper a parent policy gives to each child policy.

Theory of operation (gRFC A61; grpc-go's ``balancer.ClientConn`` wrappers): a parent policy
builds each child with a ``ChildHelper`` over its own helper. Subchannel creation, timers,
the clock and re-resolution requests go through to the parent's helper (so to the channel);
what the child *publishes* (its state and picker) stops at the ``ChildHelper``, which keeps
it and tells the parent. The parent then decides what to publish itself: an aggregate of
all its children (``EndpointSharding``), the newest child's (``GracefulSwitch``), or its own
picker built from the children's.

``close()`` mutes the child for good: late subchannel events, timers, pickers and
re-resolution requests from it are dropped, and the subchannels it created are shut down if
it did not do so itself. Parents therefore never need to guard against a closed child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._balancing import BalancerHelper, ConnectivityState
from ._pickers import QueuePicker

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._balancing import Picker, Subchannel, TimerHandle
    from .._naming import Address

__all__ = ["ChildHelper"]

_SHUTDOWN = ConnectivityState.SHUTDOWN
_QUEUE_PICKER = QueuePicker()


class ChildHelper(BalancerHelper):
    """A child policy's view of its parent; keeps what the child publishes.

    Until the child publishes, ``state`` is CONNECTING and ``picker`` queues calls (a child
    that has just been given addresses is about to connect). Subclass it to intercept more
    (an outlier-detection parent overrides ``create_subchannel`` to wrap subchannels, and
    ``update_state`` to wrap pickers), calling ``super()``. A parent that hands its child
    wrapped subchannels must unwrap them in its picker: the channel accepts only the
    subchannels it created in ``PickComplete`` (grpc-go's outlier detection does the same).

    Args:
        parent: the parent policy's own helper.
        on_update: called with this helper after each state and picker the child publishes,
            while the helper is open. It runs inside the child's ``update_state`` call, so
            it must not call back into the child synchronously; schedule that with
            ``call_later(0, ...)`` instead.
        label: a name for logs and ``repr`` (an endpoint, a policy name).

    Example::

        class Wrapper(Balancer):
            name = "my_wrapper"

            def __init__(self, helper: BalancerHelper) -> None:
                super().__init__(helper)
                self._child_helper = ChildHelper(helper, self._child_updated)
                self._child = plugins.balancers.get("round_robin")(self._child_helper)

            def _child_updated(self, child: ChildHelper) -> None:
                self.helper.update_state(child.state, MyPicker(child.picker))
    """

    def __init__(
        self,
        parent: BalancerHelper,
        on_update: Callable[[ChildHelper], None] | None = None,
        *,
        label: str = "",
    ) -> None:
        self._parent = parent
        self._on_update = on_update
        self.label = label
        self._state = ConnectivityState.CONNECTING
        self._picker: Picker = _QUEUE_PICKER
        self._active = True
        self._subchannels: list[Subchannel] = []

    def __repr__(self) -> str:
        return f"<ChildHelper {self.label or hex(id(self))} {self._state.name}>"

    @property
    def parent(self) -> BalancerHelper:
        """The parent policy's helper."""
        return self._parent

    @property
    def state(self) -> ConnectivityState:
        """The state the child published last (CONNECTING before its first publication)."""
        return self._state

    @property
    def picker(self) -> Picker:
        """The picker the child published last (a queueing one before its first)."""
        return self._picker

    @property
    def active(self) -> bool:
        """False after ``close()``."""
        return self._active

    # -- BalancerHelper -------------------------------------------------------------------

    def create_subchannel(
        self,
        address: Address,
        listener: Callable[[Subchannel, ConnectivityState, str | None], None],
    ) -> Subchannel:
        """Create a subchannel through the parent; its events reach ``listener`` while open.

        Raises:
            RuntimeError: the helper is closed (the child outlived its parent's interest).
        """
        if not self._active:
            raise RuntimeError(f"{self!r} is closed; its policy cannot create subchannels")

        def gated(subchannel: Subchannel, state: ConnectivityState, error: str | None) -> None:
            if self._active:
                listener(subchannel, state, error)

        subchannel = self._parent.create_subchannel(address, gated)
        subchannels = self._subchannels
        if len(subchannels) >= 16 and len(subchannels) % 16 == 0:
            # Forget subchannels the child has shut down itself, so that a long-lived
            # child with churning addresses does not grow this list without bound.
            subchannels[:] = [s for s in subchannels if s.state is not _SHUTDOWN]
        subchannels.append(subchannel)
        return subchannel

    def update_state(self, state: ConnectivityState, picker: Picker) -> None:
        """Keep the child's state and picker, then tell the parent (while open)."""
        if not self._active:
            return
        self._state = state
        self._picker = picker
        if self._on_update is not None:
            self._on_update(self)

    def request_reresolution(self) -> None:
        """Pass the child's request on to the parent (while open)."""
        if self._active:
            self._parent.request_reresolution()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """A parent timer whose callback is dropped if this helper closes first."""

        def fire() -> None:
            if self._active:
                callback()

        return self._parent.call_later(delay, fire)

    def now(self) -> float:
        """The parent's clock."""
        return self._parent.now()

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Mute the child and shut down the subchannels it left open.

        Call it after (or instead of relying on) the child's own ``close()``. Idempotent.
        """
        if not self._active:
            return
        self._active = False
        subchannels, self._subchannels = self._subchannels, []
        for subchannel in subchannels:
            if subchannel.state is not _SHUTDOWN:
                subchannel.shutdown()
