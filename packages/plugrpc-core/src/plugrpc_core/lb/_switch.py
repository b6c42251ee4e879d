"""``GracefulSwitch``: change a policy without a gap in service (grpc-go ``gracefulswitch``).

Theory of operation: the switch holds a *current* child policy and, during a change, a
*pending* one. Calls keep using the current policy's pickers while the pending one connects:

- A pending policy's publications are held back while it is CONNECTING and the current one
  is READY. Once the pending one reports anything else (READY, IDLE, TRANSIENT_FAILURE), or
  as soon as the current one is not READY, the pending one becomes current: its latest state
  and picker are published and the old policy is closed (its connections drain, so calls in
  flight on them finish).
- If the current policy leaves READY while a pending one waits, the switch happens then.
- Resolver updates, errors and ``exit_idle`` go to the newest policy (pending, else current);
  only the newest may ask for re-resolution.
- A further change while one is pending replaces the pending policy (it is closed unused).

The channel uses it for the policy named by the service config (gRFC A21: "the old policy
serves until the new one is ready"), and a parent with a ``childPolicy`` can use it the same
way for its child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._balancing import Balancer, ConnectivityState
from ._child import ChildHelper
from ._pickers import FailPicker

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._balancing import BalancerHelper
    from .._naming import ResolverState
    from .._registry import Registry

__all__ = ["GracefulSwitch"]

_READY = ConnectivityState.READY
_CONNECTING = ConnectivityState.CONNECTING
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE


class _Slot:
    __slots__ = ("balancer", "helper", "name")

    def __init__(self, name: str, helper: _SlotHelper) -> None:
        self.name = name
        self.helper = helper
        self.balancer: Balancer | None = None

    def close(self) -> None:
        if self.balancer is not None:
            self.balancer.close()
        self.helper.close()


class _SlotHelper(ChildHelper):
    """A child helper that forwards re-resolution requests only from the newest policy."""

    def __init__(
        self, parent: BalancerHelper, switch: GracefulSwitch, on_update: Callable[..., None]
    ) -> None:
        super().__init__(parent, on_update)
        self._switch = switch

    def request_reresolution(self) -> None:
        latest = self._switch._latest()
        if latest is not None and latest.helper is self:
            super().request_reresolution()


class GracefulSwitch(Balancer):
    """A policy that runs the policy its config names and switches between them gracefully.

    Args:
        helper: the helper of the switch (the channel's, or a parent policy's).
        registry: where policy names are looked up (default: the installed balancers,
            ``plugrpc_core.plugins.balancers``).

    The config passed to ``update_state`` is a ``(name, parsed config)`` pair, as
    ``plugrpc_core.select_lb_policy`` returns it for a ``loadBalancingConfig`` list.

    Example::

        switch = GracefulSwitch(helper)
        switch.update_state(resolver_state, select_lb_policy(config["childPolicy"]))
    """

    name = "graceful_switch"

    def __init__(
        self, helper: BalancerHelper, *, registry: Registry[Balancer] | None = None
    ) -> None:
        super().__init__(helper)
        self._registry = registry
        self._current: _Slot | None = None
        self._pending: _Slot | None = None
        self._closed = False

    @property
    def current_policy(self) -> str | None:
        """The name of the policy whose pickers are in use, if any."""
        return self._current.name if self._current is not None else None

    @property
    def pending_policy(self) -> str | None:
        """The name of the policy waiting to take over, if any."""
        return self._pending.name if self._pending is not None else None

    def switch_to(
        self, policy: str, factory: Callable[[BalancerHelper], Balancer] | None = None
    ) -> None:
        """Start the policy ``policy`` (as pending if another is current).

        Args:
            policy: the policy's registry name (also used to tell whether a later config
                names the same policy).
            factory: builds the policy from a helper; default: the class registered under
                ``policy``.

        Raises:
            plugrpc_core.plugins.PluginNotFoundError: no such policy is installed.
            RuntimeError: the switch is closed.
        """
        if self._closed:
            raise RuntimeError("the graceful switch is closed")
        if factory is None:
            if self._registry is None:
                from .._registries import balancers

                self._registry = balancers
            factory = self._registry.get(policy)
        slot = _Slot(policy, _SlotHelper(self.helper, self, lambda h: self._child_updated(slot)))
        replaced = self._pending
        if self._current is None:
            self._current = slot
        else:
            self._pending = slot
        if replaced is not None:
            replaced.close()
        try:
            slot.balancer = factory(slot.helper)
        except BaseException:
            # A policy that cannot be built leaves the switch as it was (minus a replaced
            # pending policy, which was going away anyway).
            if self._current is slot:
                self._current = None
            if self._pending is slot:
                self._pending = None
            slot.close()
            raise

    # -- Balancer -------------------------------------------------------------------------

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Switch if ``config`` names another policy, then give the newest one the update.

        Args:
            state: the resolver's result.
            config: ``(policy name, the policy's parsed config)``.

        Raises:
            TypeError: ``config`` is not a ``(name, config)`` pair.
        """
        if self._closed:
            return
        if not (isinstance(config, tuple) and len(config) == 2 and isinstance(config[0], str)):
            raise TypeError(
                f"GracefulSwitch takes a (policy name, parsed config) pair, got {config!r}"
            )
        name, child_config = config
        latest = self._latest()
        if latest is None or latest.name != name:
            self.switch_to(name)
            latest = self._latest()
        assert latest is not None and latest.balancer is not None
        latest.balancer.update_state(state, child_config)

    def resolver_error(self, error: str) -> None:
        """Tell the newest policy; with none yet, fail calls with the error."""
        if self._closed:
            return
        latest = self._latest()
        if latest is None or latest.balancer is None:
            self.helper.update_state(
                _TRANSIENT_FAILURE, FailPicker(f"name resolver error: {error}")
            )
            return
        latest.balancer.resolver_error(error)

    def exit_idle(self) -> None:
        """Ask the newest policy to connect."""
        latest = self._latest()
        if not self._closed and latest is not None and latest.balancer is not None:
            latest.balancer.exit_idle()

    def close(self) -> None:
        """Close both policies."""
        self._closed = True
        for slot in (self._pending, self._current):
            if slot is not None:
                slot.close()
        self._current = self._pending = None

    # -- internals ------------------------------------------------------------------------

    def _latest(self) -> _Slot | None:
        return self._pending if self._pending is not None else self._current

    def _child_updated(self, slot: _Slot) -> None:
        if self._closed:
            return
        current, pending = self._current, self._pending
        if slot is current:
            if pending is not None and slot.helper.state is not _READY:
                self._swap()
            else:
                self.helper.update_state(slot.helper.state, slot.helper.picker)
        elif (
            slot is pending
            and current is not None
            and (slot.helper.state is not _CONNECTING or current.helper.state is not _READY)
        ):
            self._swap()

    def _swap(self) -> None:
        old, new = self._current, self._pending
        assert new is not None
        self._current, self._pending = new, None
        self.helper.update_state(new.helper.state, new.helper.picker)
        if old is not None:
            old.close()
