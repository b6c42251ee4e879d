"""``LazyBalancer``: stay IDLE until needed, then build the real policy (grpc-go ``lazy``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._balancing import Balancer, ConnectivityState
from ._pickers import IdlePicker

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._balancing import BalancerHelper
    from .._naming import ResolverState

__all__ = ["LazyBalancer"]


class LazyBalancer(Balancer):
    """Reports IDLE and builds its delegate only when asked to connect.

    It publishes IDLE with an ``IdlePicker`` at once. The first ``exit_idle()`` (from the
    parent, or from a call picking this IDLE picker) builds the delegate with the same helper
    and replays the latest resolver update and error to it; from then on everything goes to
    the delegate. ``ring_hash_experimental`` wraps its per-endpoint ``pick_first`` children in
    it so that only endpoints that calls hash to are connected (gRFC A61).

    Args:
        helper: the helper to publish to, also given to the delegate.
        delegate: builds the real policy from a helper (a ``Balancer`` class works).
    """

    name = "lazy"

    def __init__(
        self, helper: BalancerHelper, delegate: Callable[[BalancerHelper], Balancer]
    ) -> None:
        super().__init__(helper)
        self._factory = delegate
        self._delegate: Balancer | None = None
        self._update: tuple[ResolverState, Any] | None = None
        self._error: str | None = None
        self._closed = False
        helper.update_state(ConnectivityState.IDLE, IdlePicker(helper, self.exit_idle))

    @property
    def delegate(self) -> Balancer | None:
        """The real policy, once built."""
        return self._delegate

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Forward to the delegate, or keep the update for it."""
        if self._closed:
            return
        if self._delegate is not None:
            self._delegate.update_state(state, config)
            return
        self._update = (state, config)
        self._error = None

    def resolver_error(self, error: str) -> None:
        """Forward to the delegate, or keep the error for it."""
        if self._closed:
            return
        if self._delegate is not None:
            self._delegate.resolver_error(error)
            return
        self._error = error

    def exit_idle(self) -> None:
        """Build the delegate (replaying what it missed), or forward to it."""
        if self._closed:
            return
        if self._delegate is not None:
            self._delegate.exit_idle()
            return
        delegate = self._delegate = self._factory(self.helper)
        update, self._update = self._update, None
        error, self._error = self._error, None
        if update is not None:
            delegate.update_state(*update)
        if error is not None:
            delegate.resolver_error(error)

    def close(self) -> None:
        """Close the delegate, if built."""
        self._closed = True
        if self._delegate is not None:
            self._delegate.close()
