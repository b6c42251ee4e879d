"""The subchannel wrapper and the counting picker of outlier detection (gRFC A50).

``EjectableSubchannel`` is what the child policy sees instead of the channel's subchannel.
It passes state changes through, except while its address is ejected: ``eject()`` reports
TRANSIENT_FAILURE and holds back further changes, ``uneject()`` reports the latest real state
and lets changes through again (A50 "Subchannel Wrapper"). A wrapper made for an address that
is ejected at that moment starts ejected without telling the child (its ``state`` already
says TRANSIENT_FAILURE; a report from inside ``create_subchannel`` would re-enter the child).

``CountingPicker`` asks the child's picker, swaps the wrapper in its answer for the channel's
subchannel (the channel only takes its own) and, when an algorithm is configured, adds an
``on_done`` that counts the call's result for the wrapper's address: OK is a success,
any other status a failure.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from plugrpc_core import ConnectivityState, PickComplete, Picker, StatusCode, Subchannel
from plugrpc_core.lb import add_on_done

if TYPE_CHECKING:
    from collections.abc import Callable

    from plugrpc_core import Address, Metadata, PickInfo, PickResult

    from ._detector import AddressInfo

__all__ = ["CountingPicker", "EjectableSubchannel"]

_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE
_OK = StatusCode.OK
_EJECTED = "ejected by outlier detection"


class EjectableSubchannel(Subchannel):
    """A channel subchannel as the child policy sees it.

    Args:
        listener: the child's listener for this subchannel.
        on_shutdown: told when the child shuts the wrapper down.
    """

    __slots__ = (
        "_cache",
        "_ejected",
        "_inner",
        "_latest",
        "_listener",
        "_on_shutdown",
        "info",
    )

    def __init__(
        self,
        listener: Callable[[Subchannel, ConnectivityState, str | None], None],
        on_shutdown: Callable[[EjectableSubchannel], None],
    ) -> None:
        self._listener = listener
        self._on_shutdown = on_shutdown
        self._inner: Subchannel | None = None
        self._latest: tuple[ConnectivityState, str | None] = (ConnectivityState.IDLE, None)
        self._ejected = False
        # (counting?, the child's result, what the channel gets) of the last pick.
        self._cache: tuple[bool, PickComplete, PickComplete] | None = None
        #: The address's outlier-detection state, or None when the address is not tracked.
        self.info: AddressInfo | None = None

    def __repr__(self) -> str:
        ejected = " ejected" if self._ejected else ""
        return f"<EjectableSubchannel {self.inner!r}{ejected}>"

    def attach(self, inner: Subchannel) -> None:
        """Wrap ``inner`` (done once, right after the channel made it)."""
        self._inner = inner
        self._latest = (inner.state, None)

    @property
    def inner(self) -> Subchannel:
        """The channel's subchannel."""
        assert self._inner is not None
        return self._inner

    @property
    def ejected(self) -> bool:
        """Whether the wrapper reports TRANSIENT_FAILURE because its address is ejected."""
        return self._ejected

    @property
    def connection(self) -> Any:
        """The wrapped subchannel's ``connection`` (for ORCA out-of-band streams)."""
        return getattr(self._inner, "connection", None)

    # -- Subchannel -----------------------------------------------------------------------

    @property
    def address(self) -> Address:
        """Where the wrapped subchannel connects."""
        return self.inner.address

    @property
    def state(self) -> ConnectivityState:
        """TRANSIENT_FAILURE while ejected, else the wrapped subchannel's state."""
        return _TRANSIENT_FAILURE if self._ejected else self.inner.state

    def connect(self) -> None:
        """Connect the wrapped subchannel (ejection does not stop connections)."""
        self.inner.connect()

    def shutdown(self) -> None:
        """Shut the wrapped subchannel down and stop tracking this wrapper."""
        self.inner.shutdown()
        self._on_shutdown(self)

    # -- outlier detection ----------------------------------------------------------------

    def on_inner_state(
        self, subchannel: Subchannel, state: ConnectivityState, error: str | None
    ) -> None:
        """The wrapped subchannel changed state: pass it on unless ejected."""
        self._latest = (state, error)
        if not self._ejected:
            self._listener(self, state, error)

    def start_ejected(self) -> None:
        """Begin ejected, without a report (the child reads ``state``)."""
        self._ejected = True

    def eject(self) -> None:
        """Report TRANSIENT_FAILURE to the child and hold back changes."""
        if self._ejected:
            return
        self._ejected = True
        self._listener(self, _TRANSIENT_FAILURE, _EJECTED)

    def uneject(self) -> None:
        """Report the latest real state to the child and pass changes on again."""
        if not self._ejected:
            return
        self._ejected = False
        state, error = self._latest
        self._listener(self, state, error)

    def record(self, code: StatusCode, trailing_metadata: Metadata) -> None:
        """Count one finished call for this wrapper's address."""
        info = self.info
        if info is None:
            return
        bucket = info.counter.active
        if code is _OK:
            bucket.successes += 1
        else:
            bucket.failures += 1

    def for_channel(self, result: PickComplete, counting: bool) -> PickComplete:
        """The child's pick with the channel's subchannel, counting the call if asked."""
        cache = self._cache
        if cache is not None and cache[1] is result and cache[0] is counting:
            return cache[2]
        unwrapped = dataclasses.replace(result, subchannel=self.inner)
        if counting:
            unwrapped = add_on_done(unwrapped, self.record)
        self._cache = (counting, result, unwrapped)
        return unwrapped


class CountingPicker(Picker):
    """The child's picker, with wrappers swapped out and call results counted.

    Args:
        child: the child policy's picker.
        counting: whether to count call results (an algorithm is configured).
    """

    __slots__ = ("_child", "_counting")

    def __init__(self, child: Picker, counting: bool) -> None:
        self._child = child
        self._counting = counting

    def pick(self, info: PickInfo) -> PickResult:
        """Ask the child; translate its subchannel."""
        result = self._child.pick(info)
        if type(result) is PickComplete:
            subchannel = result.subchannel
            if isinstance(subchannel, EjectableSubchannel):
                return subchannel.for_channel(result, self._counting)
        return result
