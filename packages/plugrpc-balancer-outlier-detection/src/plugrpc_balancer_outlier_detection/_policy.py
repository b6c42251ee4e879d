"""The ``outlier_detection_experimental`` policy (gRFC A50; grpc-go outlierdetection).

Theory of operation:

- The child policy named by ``childPolicy`` runs under a ``GracefulSwitch`` (a new child
  policy takes over once it is ready). Its helper, ``_DetectorHelper``, wraps every
  subchannel the child creates in an ``EjectableSubchannel`` and tracks it under its address.
- The policy keeps an ``AddressInfo`` per resolver address: created and dropped with the
  addresses of each update (a wrapper whose address is dropped is returned to service and no
  longer counted). What the child publishes goes out with a ``CountingPicker``, which counts
  call results per address while an algorithm is configured.
- A timer runs ``sweep`` every ``interval``. On a config update the timer is restarted for
  what is left of the current interval (A50: "interval minus the time since the timer
  started"); the first config starts it with fresh counters. A config with neither
  algorithm stops it, returns every address to service and resets every multiplier.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Any

from plugrpc_core import Balancer
from plugrpc_core.lb import ChildHelper, GracefulSwitch

from ._config import OutlierDetectionConfig, parse_config
from ._detector import AddressInfo, sweep
from ._wrappers import CountingPicker, EjectableSubchannel

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from plugrpc_core import (
        Address,
        BalancerHelper,
        ConnectivityState,
        ResolverState,
        Subchannel,
        TimerHandle,
    )

__all__ = ["OutlierDetection"]

_log = logging.getLogger("plugrpc.balancer.outlier_detection")

# A zero interval is valid config (grpc-go accepts it); sweeping back to back would only burn
# the loop, so sweeps are at least this far apart.
_MIN_SWEEP_INTERVAL = 0.01


class _DetectorHelper(ChildHelper):
    """The child's helper: wraps its subchannels, hands its pickers to the policy."""

    def __init__(self, parent: BalancerHelper, policy: OutlierDetection) -> None:
        super().__init__(parent, policy._child_updated, label="outlier_detection")
        self._policy = policy

    def create_subchannel(
        self,
        address: Address,
        listener: Callable[[Subchannel, ConnectivityState, str | None], None],
    ) -> Subchannel:
        wrapper = EjectableSubchannel(listener, self._policy._untrack)
        wrapper.attach(super().create_subchannel(address, wrapper.on_inner_state))
        self._policy._track(wrapper)
        return wrapper


class OutlierDetection(Balancer):
    """Ejects backends whose calls fail more than the others' (success rate, failure %).

    Args:
        helper: the channel side.
        rng: decides enforcement percentages (default: a private one).
    """

    name = "outlier_detection_experimental"

    def __init__(self, helper: BalancerHelper, *, rng: random.Random | None = None) -> None:
        super().__init__(helper)
        self._rng = rng or random.Random()
        self._config: OutlierDetectionConfig | None = None
        self._addresses: dict[Address, AddressInfo] = {}
        self._wrappers: set[EjectableSubchannel] = set()
        self._timer: TimerHandle | None = None
        self._timer_start: float | None = None
        self._updating = False
        self._closed = False
        self._child_helper = _DetectorHelper(helper, self)
        self._switch = GracefulSwitch(self._child_helper)

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> OutlierDetectionConfig:
        """Parse and validate the JSON config (see ``OutlierDetectionConfig``).

        Raises:
            ValueError: a field is invalid or no ``childPolicy`` is installed.
        """
        return parse_config(config)

    @property
    def config(self) -> OutlierDetectionConfig | None:
        """The config in use, once one was given."""
        return self._config

    @property
    def address_info(self) -> Mapping[Address, AddressInfo]:
        """The per-address state (counters, ejections), for tests and diagnostics."""
        return self._addresses

    def ejected_addresses(self) -> list[Address]:
        """The addresses out of service now."""
        return [address for address, info in self._addresses.items() if info.ejected]

    # -- Balancer -------------------------------------------------------------------------

    def update_state(self, state: ResolverState, config: Any) -> None:
        """New addresses and config; the child gets the addresses and its own config."""
        if self._closed:
            return
        if not isinstance(config, OutlierDetectionConfig):
            config = parse_config(dict(config or {}))
        self._config = config
        self._update_addresses(state.addresses)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if config.counts_calls:
            self._start_timer(config)
        else:
            self._timer_start = None
            for info in self._addresses.values():
                if info.ejected:
                    info.uneject()
                info.multiplier = 0
        self._updating = True
        try:
            self._switch.update_state(state, config.child_policy)
        finally:
            self._updating = False
        self._publish()

    def resolver_error(self, error: str) -> None:
        """Tell the child."""
        if not self._closed:
            self._switch.resolver_error(error)

    def exit_idle(self) -> None:
        """Ask the child to connect."""
        if not self._closed:
            self._switch.exit_idle()

    def close(self) -> None:
        """Stop the timer and close the child."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._switch.close()
        self._child_helper.close()
        self._wrappers.clear()
        self._addresses.clear()

    # -- addresses and wrappers -----------------------------------------------------------

    def _update_addresses(self, addresses: tuple[Address, ...]) -> None:
        listed = dict.fromkeys(addresses)
        for address in [a for a in self._addresses if a not in listed]:
            info = self._addresses.pop(address)
            for wrapper in list(info.subchannels):
                assert isinstance(wrapper, EjectableSubchannel)
                wrapper.info = None
                wrapper.uneject()
        for address in listed:
            if address not in self._addresses:
                info = self._addresses[address] = AddressInfo()
                for wrapper in self._wrappers:
                    if wrapper.info is None and wrapper.address == address:
                        wrapper.info = info
                        info.subchannels.append(wrapper)

    def _track(self, wrapper: EjectableSubchannel) -> None:
        self._wrappers.add(wrapper)
        info = self._addresses.get(wrapper.address)
        wrapper.info = info
        if info is not None:
            info.subchannels.append(wrapper)
            if info.ejected:
                wrapper.start_ejected()

    def _untrack(self, wrapper: EjectableSubchannel) -> None:
        self._wrappers.discard(wrapper)
        info, wrapper.info = wrapper.info, None
        if info is not None and wrapper in info.subchannels:
            info.subchannels.remove(wrapper)

    # -- the timer ------------------------------------------------------------------------

    def _start_timer(self, config: OutlierDetectionConfig) -> None:
        now = self.helper.now()
        if self._timer_start is None:
            self._timer_start = now
            for info in self._addresses.values():
                info.counter.clear()
            delay = config.interval
        else:
            delay = max(0.0, config.interval - (now - self._timer_start))
        self._timer = self._child_helper.call_later(max(delay, _MIN_SWEEP_INTERVAL), self._sweep)

    def _sweep(self) -> None:
        self._timer = None
        config = self._config
        if self._closed or config is None or not config.counts_calls:
            return
        now = self.helper.now()
        self._timer_start = now
        ejected, returned = sweep(self._addresses.values(), config, now, self._rng)
        if ejected or returned:
            names = {id(info): address for address, info in self._addresses.items()}
            _log.info(
                "outlier detection: ejected %s; returned %s",
                [str(names[id(i)]) for i in ejected] or "none",
                [str(names[id(i)]) for i in returned] or "none",
            )
        self._timer = self._child_helper.call_later(
            max(config.interval, _MIN_SWEEP_INTERVAL), self._sweep
        )

    # -- publishing -----------------------------------------------------------------------

    def _child_updated(self, child: ChildHelper) -> None:
        if not self._updating:
            self._publish()

    def _publish(self) -> None:
        if self._closed:
            return
        child = self._child_helper
        config = self._config
        counting = config is not None and config.counts_calls
        self.helper.update_state(child.state, CountingPicker(child.picker, counting))
