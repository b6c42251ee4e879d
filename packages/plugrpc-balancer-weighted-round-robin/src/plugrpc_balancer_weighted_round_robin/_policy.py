"""The ``weighted_round_robin`` load-balancing policy (gRFC A58; grpc-go weightedroundrobin).

Theory of operation:

- Endpoints and connections are ``round_robin``'s: an ``EndpointSharding`` gives every
  address a ``pick_first`` child, reconnects children that go IDLE and aggregates their
  states (READY if any is READY, ...; gRFC A61). While no child is READY, the sharding's own
  state and picker are published as they are.
- Each address has an ``EndpointWeight``. Its load reports come either per call, from the
  ``endpoint-load-metrics-bin`` trailer (the picker adds an ``on_done`` that reads it), or,
  with ``enableOobLoadReport``, from an out-of-band ORCA stream on the endpoint's READY
  subchannel (never both, A58). When an endpoint's subchannel becomes READY its weight
  starts over, so the blackout period applies to every new connection.
- The picker schedules the READY children by weight with an EDF scheduler
  (``make_scheduler``) and asks the chosen child's picker for the subchannel. Every
  ``weightUpdatePeriod`` a timer rebuilds the scheduler of the current picker from the
  latest weights, without publishing a new picker (A58: "swap the scheduler").
- A config change takes effect at once: new penalties for later reports, OOB streams
  started, stopped or restarted with the new period, a new picker.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from plugrpc_core import Balancer, ConnectivityState, PickComplete, Picker
from plugrpc_core.lb import ChildHelper, EndpointSharding, ShardingPicker, add_on_done
from plugrpc_orca import register_oob_listener, report_from_metadata

from ._config import WeightedRoundRobinConfig, parse_config
from ._scheduler import RoundRobinScheduler, make_scheduler
from ._weights import EndpointWeight

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from plugrpc_core import (
        Address,
        BalancerHelper,
        Metadata,
        PickInfo,
        PickResult,
        ResolverState,
        StatusCode,
        Subchannel,
        TimerHandle,
    )

    from ._scheduler import Scheduler

__all__ = ["WeightedRoundRobin"]

_READY = ConnectivityState.READY


class _Endpoint:
    """One address's weight and the OOB subscription on its READY subchannel."""

    __slots__ = ("oob", "stop_oob", "subchannel", "weight")

    def __init__(self, weight: EndpointWeight) -> None:
        self.weight = weight
        self.subchannel: Subchannel | None = None
        #: (enabled, period) of the running OOB subscription, or None.
        self.oob: tuple[bool, float] | None = None
        self.stop_oob: Callable[[], None] | None = None

    def on_call_done(self, code: StatusCode, trailing_metadata: Metadata) -> None:
        report = report_from_metadata(trailing_metadata)
        if report is not None:
            self.weight.on_report(report)

    def start_oob(self, config: WeightedRoundRobinConfig) -> None:
        self.end_oob()
        if config.enable_oob_load_report and self.subchannel is not None:
            self.stop_oob = register_oob_listener(
                self.subchannel,
                self.weight.on_report,
                report_interval=config.oob_reporting_period,
            )
            self.oob = (True, config.oob_reporting_period)

    def end_oob(self) -> None:
        stop, self.stop_oob, self.oob = self.stop_oob, None, None
        if stop is not None:
            stop()


class _WrrPicker(Picker):
    """Weighted choice between READY children; reads per-call reports unless OOB is on."""

    __slots__ = ("_done", "_last", "_pickers", "_scheduler", "_weights")

    def __init__(
        self,
        pickers: tuple[Picker, ...],
        weights: tuple[EndpointWeight, ...],
        done: tuple[Callable[[StatusCode, Metadata], None], ...] | None,
    ) -> None:
        self._pickers = pickers
        self._weights = weights
        self._done = done
        self._scheduler: Scheduler | None = None
        # Per child, the last child result and its wrapped copy: a pick_first child
        # returns the same PickComplete for every call, so it is wrapped once.
        self._last: list[tuple[PickComplete, PickComplete] | None] = [None] * len(pickers)

    def weights(self, now: float, config: WeightedRoundRobinConfig) -> list[float]:
        """The children's current weights (0: not usable yet)."""
        expiration, blackout = config.weight_expiration_period, config.blackout_period
        return [w.weight(now, expiration, blackout) for w in self._weights]

    def rebuild(self, now: float, config: WeightedRoundRobinConfig, rng: random.Random) -> None:
        """Schedule with the weights as they are at ``now``."""
        previous = self._scheduler
        scheduler = make_scheduler(self.weights(now, config), rng)
        if isinstance(scheduler, RoundRobinScheduler) and isinstance(previous, RoundRobinScheduler):
            # Still no usable weights: carry on the turn order, so that calls stay evenly
            # spread across rebuilds instead of restarting at a random endpoint each time.
            scheduler = previous
        self._scheduler = scheduler

    def pick(self, info: PickInfo) -> PickResult:
        scheduler = self._scheduler
        assert scheduler is not None
        index = scheduler.pick()
        result = self._pickers[index].pick(info)
        done = self._done
        if done is None or type(result) is not PickComplete:
            return result
        last = self._last[index]
        if last is not None and last[0] is result:
            return last[1]
        wrapped = add_on_done(result, done[index])
        self._last[index] = (result, wrapped)
        return wrapped


class _TrackingHelper(ChildHelper):
    """The sharding's helper: tells the policy about its subchannels' states."""

    def __init__(self, parent: BalancerHelper, policy: WeightedRoundRobin) -> None:
        super().__init__(parent, policy._sharding_updated, label="weighted_round_robin")
        self._policy = policy

    def create_subchannel(
        self,
        address: Address,
        listener: Callable[[Subchannel, ConnectivityState, str | None], None],
    ) -> Subchannel:
        policy = self._policy

        def tracked(subchannel: Subchannel, state: ConnectivityState, error: str | None) -> None:
            policy._subchannel_state(subchannel, state)
            listener(subchannel, state, error)

        return super().create_subchannel(address, tracked)


class WeightedRoundRobin(Balancer):
    """Round robin weighted by the load backends report through ORCA.

    Args:
        helper: the channel side.
        child_policy: the per-endpoint policy (default ``pick_first``; tests may pass
            another ``Balancer`` class).
        rng: the random source for scheduler starting points.
    """

    name = "weighted_round_robin"

    def __init__(
        self,
        helper: BalancerHelper,
        *,
        child_policy: type[Balancer] | str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(helper)
        self._rng = rng or random.Random()
        self._config = WeightedRoundRobinConfig()
        self._endpoints: dict[Address, _Endpoint] = {}
        self._picker: _WrrPicker | None = None
        self._timer: TimerHandle | None = None
        self._closed = False
        self._sharding_helper = _TrackingHelper(helper, self)
        self._sharding = EndpointSharding(
            self._sharding_helper, child_policy=child_policy, rng=self._rng
        )

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> WeightedRoundRobinConfig:
        """Parse and validate the JSON config (see ``WeightedRoundRobinConfig``).

        Raises:
            ValueError: a field is invalid.
        """
        return parse_config(config)

    @property
    def config(self) -> WeightedRoundRobinConfig:
        """The config in use."""
        return self._config

    def endpoint_weights(self) -> dict[Address, float]:
        """Every endpoint's usable weight now (0: none yet), for tests and diagnostics."""
        now, config = self.helper.now(), self._config
        return {
            address: endpoint.weight.weight(
                now, config.weight_expiration_period, config.blackout_period
            )
            for address, endpoint in self._endpoints.items()
        }

    # -- Balancer -------------------------------------------------------------------------

    def update_state(self, state: ResolverState, config: Any) -> None:
        """New addresses and config: keep the weights of addresses still listed."""
        if self._closed:
            return
        if not isinstance(config, WeightedRoundRobinConfig):
            config = parse_config(dict(config or {}))
        self._config = config
        listed = dict.fromkeys(state.addresses)
        for address in [a for a in self._endpoints if a not in listed]:
            self._endpoints.pop(address).end_oob()
        wanted = (True, config.oob_reporting_period) if config.enable_oob_load_report else None
        for address in listed:
            endpoint = self._endpoints.get(address)
            if endpoint is None:
                weight = EndpointWeight(self.helper.now, config.error_utilization_penalty)
                endpoint = self._endpoints[address] = _Endpoint(weight)
            endpoint.weight.set_penalty(config.error_utilization_penalty)
            if endpoint.oob != wanted:
                endpoint.start_oob(config)
        self._sharding.update_state(state, None)

    def resolver_error(self, error: str) -> None:
        """Let the children decide (they keep serving what they have)."""
        if not self._closed:
            self._sharding.resolver_error(error)

    def exit_idle(self) -> None:
        """Ask every child to connect."""
        if not self._closed:
            self._sharding.exit_idle()

    def close(self) -> None:
        """Stop timers and OOB streams, close the children."""
        self._closed = True
        self._cancel_timer()
        for endpoint in self._endpoints.values():
            endpoint.end_oob()
        self._endpoints.clear()
        self._sharding.close()
        self._sharding_helper.close()

    # -- internals ------------------------------------------------------------------------

    def _subchannel_state(self, subchannel: Subchannel, state: ConnectivityState) -> None:
        endpoint = self._endpoints.get(subchannel.address)
        if self._closed or endpoint is None:
            return
        if state is _READY and endpoint.subchannel is None:
            endpoint.subchannel = subchannel
            endpoint.weight.reset()
            endpoint.start_oob(self._config)
        elif state is not _READY and endpoint.subchannel is subchannel:
            endpoint.end_oob()
            endpoint.subchannel = None

    def _sharding_updated(self, sharding: ChildHelper) -> None:
        if self._closed:
            return
        self._cancel_timer()
        picker = sharding.picker
        children = picker.children if isinstance(picker, ShardingPicker) else ()
        ready: list[tuple[Picker, _Endpoint]] = []
        for child in children:
            if child.state is _READY:
                endpoint = self._endpoints.get(child.endpoint.addresses[0])
                if endpoint is not None:
                    ready.append((child.picker, endpoint))
        if not ready:
            self._picker = None
            self.helper.update_state(sharding.state, picker)
            return
        self._picker = self._new_picker(ready)
        self.helper.update_state(sharding.state, self._picker)
        if len(ready) > 1:
            self._schedule_update()

    def _new_picker(self, ready: Sequence[tuple[Picker, _Endpoint]]) -> _WrrPicker:
        config = self._config
        done = None
        if not config.enable_oob_load_report:
            done = tuple(endpoint.on_call_done for _, endpoint in ready)
        picker = _WrrPicker(tuple(p for p, _ in ready), tuple(e.weight for _, e in ready), done)
        picker.rebuild(self.helper.now(), config, self._rng)
        return picker

    def _schedule_update(self) -> None:
        self._timer = self.helper.call_later(self._config.weight_update_period, self._update)

    def _update(self) -> None:
        self._timer = None
        picker = self._picker
        if self._closed or picker is None:
            return
        picker.rebuild(self.helper.now(), self._config, self._rng)
        self._schedule_update()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
