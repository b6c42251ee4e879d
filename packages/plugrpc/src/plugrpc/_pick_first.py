"""The ``pick_first`` load-balancing policy (gRFC A62 without Happy Eyeballs; grpc-go pickfirst).

Theory of operation: the balancer keeps the resolver's addresses in order (de-duplicated, and
shuffled when the config says ``shuffleAddressList``) and uses one connection at a time.

- A *first pass* tries the addresses in order, one subchannel each, each attempt after the
  previous one failed; subchannels still backing off are skipped. While it runs the balancer
  is CONNECTING and calls queue.
- The first subchannel to become READY is selected: every other one is shut down and every
  call goes to it.
- When a pass ends with no connection the balancer reports TRANSIENT_FAILURE with the last
  connection error (calls fail fast unless wait-for-ready), asks for re-resolution and keeps
  trying: each subchannel is connected again as soon as its backoff ends and it comes back
  IDLE. It stays in TRANSIENT_FAILURE until a subchannel is READY ("sticky" TF, A62), and
  re-resolves again after every round of as many failures as it has subchannels.
- When the selected connection closes the balancer goes IDLE and asks for re-resolution
  (grpc-go); the next call (``exit_idle``) starts a new first pass.
- Zero addresses or a resolver error before any address put it in TRANSIENT_FAILURE; that
  failure is not sticky, so new addresses start a pass in CONNECTING (grpc-go pickfirstleaf).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plugrpc_core import (
    Balancer,
    ConnectivityState,
    PickComplete,
    Picker,
    PickFail,
    PickQueue,
    StatusCode,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from plugrpc_core import (
        Address,
        BalancerHelper,
        PickInfo,
        PickResult,
        ResolverState,
        Subchannel,
    )

__all__ = ["PickFirst", "PickFirstConfig"]

_IDLE = ConnectivityState.IDLE
_CONNECTING = ConnectivityState.CONNECTING
_READY = ConnectivityState.READY
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE

_QUEUE = PickQueue()


@dataclass(frozen=True, slots=True, kw_only=True)
class PickFirstConfig:
    """``pick_first``'s parsed config: ``{"shuffleAddressList": bool}``."""

    shuffle_address_list: bool = False


class _QueuePicker(Picker):
    __slots__ = ()

    def pick(self, info: PickInfo) -> PickResult:
        return _QUEUE


_QUEUE_PICKER = _QueuePicker()


class _ReadyPicker(Picker):
    """Every call goes to one subchannel; the result is built once."""

    __slots__ = ("_result",)

    def __init__(self, subchannel: Subchannel) -> None:
        self._result = PickComplete(subchannel=subchannel)

    def pick(self, info: PickInfo) -> PickResult:
        return self._result


class _FailPicker(Picker):
    __slots__ = ("_result",)

    def __init__(self, message: str) -> None:
        self._result = PickFail(code=StatusCode.UNAVAILABLE, message=message)

    def pick(self, info: PickInfo) -> PickResult:
        return self._result


class PickFirst(Balancer):
    """Connect to the first address that works and send every call there.

    Args:
        helper: the channel side.
        rng: the random source for ``shuffleAddressList`` (default: a private one).
    """

    name = "pick_first"

    def __init__(self, helper: BalancerHelper, *, rng: random.Random | None = None) -> None:
        super().__init__(helper)
        self._rng = rng or random.Random()
        self._addresses: list[Address] = []
        self._subchannels: dict[Address, Subchannel] = {}
        self._states: dict[Subchannel, ConnectivityState] = {}
        self._selected: Subchannel | None = None
        self._state = _IDLE
        self._sticky_failure = False
        self._started = False
        self._pass_index: int | None = None
        self._failures = 0
        self._last_error = ""
        self._closed = False

    @classmethod
    def parse_config(cls, config: Mapping[str, Any]) -> PickFirstConfig:
        """Parse ``{"shuffleAddressList": bool}``; other fields are ignored.

        Raises:
            ValueError: the config is not an object or the flag is not a boolean.
        """
        if not isinstance(config, dict):
            raise ValueError(f"pick_first: config must be a JSON object, got {config!r}")
        shuffle = config.get("shuffleAddressList", False)
        if not isinstance(shuffle, bool):
            raise ValueError(f"pick_first: shuffleAddressList must be a boolean, got {shuffle!r}")
        return PickFirstConfig(shuffle_address_list=shuffle)

    @property
    def state(self) -> ConnectivityState:
        """The state last reported to the channel."""
        return self._state

    # -- channel -> balancer -------------------------------------------------------------

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Take new addresses; keep a READY connection whose address is still listed."""
        if self._closed:
            return
        if not isinstance(config, PickFirstConfig):
            config = self.parse_config(dict(config or {}))
        addresses = list(dict.fromkeys(state.addresses))
        if config.shuffle_address_list:
            self._rng.shuffle(addresses)
        first_update = not self._started
        self._started = True
        self._addresses = addresses
        listed = set(addresses)
        for address in [a for a in self._subchannels if a not in listed]:
            self._drop(address)
        if not addresses:
            self._pass_index = None
            self._fail("the name resolver produced zero addresses", sticky=False)
            self.helper.request_reresolution()
            return
        if self._selected is not None:
            return  # still listed (else _drop cleared it): stay on it
        if self._state is _IDLE and not first_update:
            return  # a call will wake us up (exit_idle)
        self._start_pass()

    def resolver_error(self, error: str) -> None:
        """Fail calls with the resolver's error unless there is something to serve."""
        if self._closed:
            return
        if not self._started or not self._addresses:
            self._fail(f"name resolver error: {error}", sticky=False)
        elif self._state is _TRANSIENT_FAILURE:
            self._fail(f"name resolver error: {error}", sticky=self._sticky_failure)

    def exit_idle(self) -> None:
        """A call arrived while IDLE: start a first pass."""
        if self._closed or not self._started or not self._addresses:
            return
        if self._state is _IDLE:
            self._start_pass()

    def close(self) -> None:
        """Shut every subchannel down."""
        self._closed = True
        for address in list(self._subchannels):
            self._drop(address)
        self._pass_index = None

    # -- internals ----------------------------------------------------------------------

    def _publish(self, state: ConnectivityState, picker: Picker) -> None:
        self._state = state
        self.helper.update_state(state, picker)

    def _fail(self, message: str, *, sticky: bool) -> None:
        self._last_error = message
        self._sticky_failure = sticky
        self._publish(_TRANSIENT_FAILURE, _FailPicker(message))

    def _drop(self, address: Address) -> None:
        subchannel = self._subchannels.pop(address)
        self._states.pop(subchannel, None)
        if subchannel is self._selected:
            self._selected = None
        subchannel.shutdown()

    def _subchannel_for(self, address: Address) -> Subchannel:
        subchannel = self._subchannels.get(address)
        if subchannel is None:
            subchannel = self.helper.create_subchannel(address, self._on_subchannel_state)
            self._subchannels[address] = subchannel
            self._states[subchannel] = subchannel.state
        return subchannel

    def _start_pass(self) -> None:
        self._pass_index = 0
        self._failures = 0
        if not (self._state is _TRANSIENT_FAILURE and self._sticky_failure):
            self._publish(_CONNECTING, _QUEUE_PICKER)
        self._advance()

    def _advance(self) -> None:
        """Connect the pass's current address, skipping those still backing off."""
        index = self._pass_index
        assert index is not None
        while index < len(self._addresses):
            subchannel = self._subchannel_for(self._addresses[index])
            state = self._states[subchannel]
            if state is _IDLE:
                self._pass_index = index
                subchannel.connect()
                return
            if state is _CONNECTING:
                self._pass_index = index
                return
            if state is _READY:
                self._select(subchannel)
                return
            index += 1
        self._pass_index = None
        self._fail(self._last_error or "no address could be connected", sticky=True)
        self.helper.request_reresolution()
        for subchannel in list(self._subchannels.values()):
            if self._states.get(subchannel) is _IDLE:
                subchannel.connect()

    def _select(self, subchannel: Subchannel) -> None:
        self._pass_index = None
        self._selected = subchannel
        self._sticky_failure = False
        for address in [a for a, s in self._subchannels.items() if s is not subchannel]:
            self._drop(address)
        self._publish(_READY, _ReadyPicker(subchannel))

    def _on_subchannel_state(
        self, subchannel: Subchannel, state: ConnectivityState, error: str | None
    ) -> None:
        if self._closed or self._subchannels.get(subchannel.address) is not subchannel:
            return  # shut down already
        self._states[subchannel] = state
        if error:
            self._last_error = error
        if state is _READY:
            self._select(subchannel)
            return
        if subchannel is self._selected:
            # The connection went away: go IDLE until the next call, and let the resolver
            # look again (grpc-go re-resolves on every connection loss).
            self._selected = None
            self._publish(_IDLE, _QUEUE_PICKER)
            self.helper.request_reresolution()
            return
        if self._pass_index is not None:
            current = self._subchannels.get(self._addresses[self._pass_index])
            if subchannel is current and state is _TRANSIENT_FAILURE:
                self._pass_index += 1
                self._advance()
            return
        if self._state is not _TRANSIENT_FAILURE:
            return
        if state is _IDLE:
            subchannel.connect()
        elif state is _TRANSIENT_FAILURE:
            # A62: keep the newest error in the picker, and re-resolve once per round of
            # failures rather than once per failure.
            self._fail(self._last_error, sticky=True)
            self._failures += 1
            if self._failures >= len(self._subchannels):
                self._failures = 0
                self.helper.request_reresolution()
