"""The ``pick_first`` load-balancing policy (gRFC A62 and A61; grpc-go ``pickfirst``).

Theory of operation: the policy uses one connection at a time, to the first address that
works. Each address list from the resolver is de-duplicated, shuffled when the config says
``shuffleAddressList`` (A62), and interleaved by address family, IPv6 and IPv4 taking turns
from whichever comes first (RFC 8305 section 4, as A61 asks).

- A *first pass* (Happy Eyeballs, A61) walks the list: it asks the current address's
  subchannel to connect and, unless that is the last address, starts a 250 ms timer (the
  Connection Attempt Delay of RFC 8305 section 5). If the attempt fails, or the timer fires
  first, the pass moves on to the next address without cancelling attempts in flight, so
  several may race. A subchannel still backing off (TRANSIENT_FAILURE) counts as a failed
  attempt and is skipped; one already CONNECTING counts as started.
- The first subchannel to become READY is selected: the timer stops, every other subchannel
  is shut down and every call goes to it.
- When every address has failed at least once the pass is over: the policy reports
  TRANSIENT_FAILURE with the last error, asks for re-resolution and keeps trying, connecting
  each subchannel again as soon as its backoff ends (it comes back IDLE). It stays in
  TRANSIENT_FAILURE until a subchannel is READY ("sticky" TF, A62), also through a new pass
  started by a new address list, and re-resolves again after every round of as many
  failures as it has subchannels (A61).
- When the selected connection closes the policy goes IDLE and asks for re-resolution; the
  next call (``exit_idle``, also triggered by a pick of its IDLE picker) starts a new pass.
- Zero addresses or a resolver error before any address put it in TRANSIENT_FAILURE; that
  failure is not sticky, so new addresses start a pass in CONNECTING (grpc-go).

Client-side health checking (A17) and weighted shuffling (A113) are not implemented.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plugrpc_core import Balancer, ConnectivityState, PickComplete, Picker
from plugrpc_core.lb import FailPicker, IdlePicker, QueuePicker

if TYPE_CHECKING:
    from collections.abc import Mapping

    from plugrpc_core import (
        Address,
        BalancerHelper,
        PickInfo,
        PickResult,
        ResolverState,
        Subchannel,
        TimerHandle,
    )

__all__ = ["PickFirst", "PickFirstConfig", "interleave_families"]

_IDLE = ConnectivityState.IDLE
_CONNECTING = ConnectivityState.CONNECTING
_READY = ConnectivityState.READY
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE

_QUEUE_PICKER = QueuePicker()
#: RFC 8305 section 5: the default Connection Attempt Delay, and A61's bounds for it.
DEFAULT_ATTEMPT_DELAY = 0.25
_MIN_ATTEMPT_DELAY = 0.1
_MAX_ATTEMPT_DELAY = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PickFirstConfig:
    """``pick_first``'s parsed config: ``{"shuffleAddressList": bool}``."""

    shuffle_address_list: bool = False


def _family(address: Address) -> int:
    """4, 6, or 0 for anything that is not an IP literal (a name, a Unix socket)."""
    if address.path is not None:
        return 0
    try:
        ip = ipaddress.ip_address(address.host)
    except ValueError:
        return 0
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return 4
    return ip.version


def interleave_families(addresses: list[Address]) -> list[Address]:
    """Alternate address families, starting with the family of the first address.

    RFC 8305 section 4 with a "First Address Family Count" of 1, as gRFC A61 and grpc-go do:
    IPv6, IPv4 and everything else (names, Unix sockets) are three families; each keeps its
    own order, and they take turns in the order they first appear.
    """
    groups: dict[int, list[Address]] = {}
    for address in addresses:
        groups.setdefault(_family(address), []).append(address)
    if len(groups) < 2:
        return list(addresses)
    queues = [iter(group) for group in groups.values()]
    out: list[Address] = []
    while len(out) < len(addresses):
        for queue in queues:
            taken = next(queue, None)
            if taken is not None:
                out.append(taken)
    return out


class _ReadyPicker(Picker):
    """Every call goes to one subchannel; the result is built once."""

    __slots__ = ("_result",)

    def __init__(self, subchannel: Subchannel) -> None:
        self._result = PickComplete(subchannel=subchannel)

    def pick(self, info: PickInfo) -> PickResult:
        return self._result


class _SubchannelData:
    """One address's subchannel and what the first pass knows about it."""

    __slots__ = ("failed_in_pass", "last_error", "state", "subchannel")

    def __init__(self, subchannel: Subchannel) -> None:
        self.subchannel = subchannel
        self.state = subchannel.state
        self.failed_in_pass = False
        self.last_error = ""


class PickFirst(Balancer):
    """Connect to the first address that works and send every call there.

    Args:
        helper: the channel side.
        rng: the random source for ``shuffleAddressList`` (default: a private one).
        connection_attempt_delay: how long an attempt runs alone before the next address is
            tried too, in seconds (RFC 8305; clamped to [0.1, 2] as gRFC A61 says).
    """

    name = "pick_first"

    def __init__(
        self,
        helper: BalancerHelper,
        *,
        rng: random.Random | None = None,
        connection_attempt_delay: float = DEFAULT_ATTEMPT_DELAY,
    ) -> None:
        super().__init__(helper)
        self._rng = rng or random.Random()
        self._delay = min(max(connection_attempt_delay, _MIN_ATTEMPT_DELAY), _MAX_ATTEMPT_DELAY)
        self._addresses: list[Address] = []
        self._index = 0
        self._subchannels: dict[Address, _SubchannelData] = {}
        self._selected: _SubchannelData | None = None
        self._state = _IDLE
        self._first_pass = False
        self._failures = 0
        self._timer: TimerHandle | None = None
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

    @property
    def addresses(self) -> tuple[Address, ...]:
        """The address list in the order it is tried (de-duplicated, shuffled, interleaved)."""
        return tuple(self._addresses)

    # -- channel -> balancer -------------------------------------------------------------

    def update_state(self, state: ResolverState, config: Any) -> None:
        """Take new addresses; keep a READY connection whose address is still listed."""
        if self._closed:
            return
        if not isinstance(config, PickFirstConfig):
            config = self.parse_config(dict(config or {}))
        self._cancel_timer()
        addresses = list(dict.fromkeys(state.addresses))
        if config.shuffle_address_list:
            self._rng.shuffle(addresses)
        addresses = interleave_families(addresses)
        previous_count = len(self._addresses)
        was_ready = self._selected is not None
        self._addresses = addresses
        self._index = 0
        listed = set(addresses)
        for address in [a for a in self._subchannels if a not in listed]:
            self._drop(address)
        if not addresses:
            self._first_pass = False
            self._publish(
                _TRANSIENT_FAILURE, FailPicker("the name resolver produced zero addresses")
            )
            self.helper.request_reresolution()
            return
        selected = self._selected
        if selected is not None:
            # Still listed (else _drop cleared it): stay on it (grpc-go seeks to it).
            self._index = addresses.index(selected.subchannel.address)
            return
        if was_ready or self._state is _CONNECTING or previous_count == 0:
            self._publish(_CONNECTING, _QUEUE_PICKER)
            self._start_pass()
        elif self._state is _TRANSIENT_FAILURE:
            self._start_pass()  # sticky: stays in TRANSIENT_FAILURE until READY (A62)
        # IDLE: a call will wake us up (exit_idle).

    def resolver_error(self, error: str) -> None:
        """Fail calls with the resolver's error unless there is something to serve."""
        if self._closed:
            return
        if not self._addresses or self._state is _TRANSIENT_FAILURE:
            self._publish(_TRANSIENT_FAILURE, FailPicker(f"name resolver error: {error}"))

    def exit_idle(self) -> None:
        """A call arrived while IDLE: start a first pass."""
        if self._closed or not self._addresses or self._state is not _IDLE:
            return
        self._publish(_CONNECTING, _QUEUE_PICKER)
        self._start_pass()

    def close(self) -> None:
        """Shut every subchannel down."""
        self._closed = True
        self._cancel_timer()
        for address in list(self._subchannels):
            self._drop(address)

    # -- internals ----------------------------------------------------------------------

    def _publish(self, state: ConnectivityState, picker: Picker) -> None:
        self._state = state
        self.helper.update_state(state, picker)

    def _drop(self, address: Address) -> None:
        data = self._subchannels.pop(address)
        if data is self._selected:
            self._selected = None
        data.subchannel.shutdown()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _start_pass(self) -> None:
        self._first_pass = True
        self._failures = 0
        self._index = 0
        for data in self._subchannels.values():
            data.failed_in_pass = False
        self._request_connection()

    def _request_connection(self) -> None:
        """Connect the pass's current address (A61), skipping those still backing off."""
        addresses = self._addresses
        while self._index < len(addresses):
            address = addresses[self._index]
            data = self._subchannels.get(address)
            if data is None:
                subchannel = self.helper.create_subchannel(address, self._on_subchannel_state)
                data = self._subchannels[address] = _SubchannelData(subchannel)
            if data.state is _IDLE:
                data.subchannel.connect()
                self._schedule_next_attempt()
                return
            if data.state is _CONNECTING:
                self._schedule_next_attempt()
                return
            if data.state is _READY:
                self._select(data)
                return
            data.failed_in_pass = True  # TRANSIENT_FAILURE: still in backoff
            if data.last_error:
                self._last_error = data.last_error
            self._index += 1
        self._end_pass_if_done()

    def _schedule_next_attempt(self) -> None:
        self._cancel_timer()
        if self._index + 1 < len(self._addresses):
            self._timer = self.helper.call_later(self._delay, self._attempt_delay_over)

    def _attempt_delay_over(self) -> None:
        self._timer = None
        if self._closed or not self._first_pass or self._selected is not None:
            return
        self._index += 1
        if self._index < len(self._addresses):
            self._request_connection()

    def _end_pass_if_done(self) -> None:
        if self._index < len(self._addresses):
            return
        if not all(d.failed_in_pass for d in self._subchannels.values()):
            return  # attempts started by the timer are still running
        self._first_pass = False
        self._failures = 0
        self._publish(
            _TRANSIENT_FAILURE, FailPicker(self._last_error or "no address could be connected")
        )
        self.helper.request_reresolution()
        for data in list(self._subchannels.values()):
            if data.state is _IDLE:
                data.subchannel.connect()

    def _select(self, data: _SubchannelData) -> None:
        self._cancel_timer()
        self._first_pass = False
        self._selected = data
        for address in [a for a, d in self._subchannels.items() if d is not data]:
            self._drop(address)
        self._index = self._addresses.index(data.subchannel.address)
        self._publish(_READY, _ReadyPicker(data.subchannel))

    def _on_subchannel_state(
        self, subchannel: Subchannel, state: ConnectivityState, error: str | None
    ) -> None:
        data = self._subchannels.get(subchannel.address)
        if self._closed or data is None or data.subchannel is not subchannel:
            return  # shut down already
        old, data.state = data.state, state
        if error:
            data.last_error = self._last_error = error
        if state is _READY:
            self._select(data)
            return
        if data is self._selected or (old is _CONNECTING and state is _IDLE):
            # The connection went away (or closed while being set up, which grpc-go treats
            # the same): go IDLE until the next call and let the resolver look again.
            self._cancel_timer()
            self._first_pass = False
            self._selected = None
            for address in [a for a, d in self._subchannels.items() if d is not data]:
                self._drop(address)
            self._index = 0
            self._publish(_IDLE, IdlePicker(self.helper, self.exit_idle))
            self.helper.request_reresolution()
            return
        if self._first_pass:
            if state is _CONNECTING:
                # Sticky TF stays (A62); CONNECTING is not reported twice.
                if self._state is not _CONNECTING and self._state is not _TRANSIENT_FAILURE:
                    self._publish(_CONNECTING, _QUEUE_PICKER)
            elif state is _TRANSIENT_FAILURE:
                data.failed_in_pass = True
                addresses = self._addresses
                if self._index < len(addresses) and addresses[self._index] == subchannel.address:
                    self._cancel_timer()
                    self._index += 1
                    self._request_connection()
                else:
                    self._end_pass_if_done()
            return
        if self._state is not _TRANSIENT_FAILURE:
            return
        if state is _IDLE:
            subchannel.connect()  # backoff over: try again at once (A61)
        elif state is _TRANSIENT_FAILURE:
            # Keep the newest error in the picker, and re-resolve once per round of as many
            # failures as there are subchannels rather than once per failure (A61).
            self._publish(_TRANSIENT_FAILURE, FailPicker(self._last_error))
            self._failures += 1
            if self._failures >= len(self._subchannels):
                self._failures = 0
                self.helper.request_reresolution()
