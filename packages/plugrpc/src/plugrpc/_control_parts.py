"""The pieces ``ChannelControl`` hands to its plugins, and small shared helpers.

A resolver gets a ``ChannelResolverListener`` and a balancer a ``ChannelBalancerHelper``.
Both hold only callables into the channel plus an ``active`` flag: when the channel replaces
a balancer or closes, it clears the flag, and from then on nothing the old plugin does (late
timers, late subchannel events, stale pickers) reaches the channel.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from plugrpc_core import BalancerHelper, Picker, PickFail, RpcError, StatusCode

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from plugrpc_core import (
        Address,
        ConnectivityState,
        PickInfo,
        ResolverState,
        Subchannel,
        TimerHandle,
    )

    from ._subchannel import ConnectionLike, SubchannelListener

__all__ = [
    "ChannelBalancerHelper",
    "ChannelResolverListener",
    "FailPicker",
    "deadline_error",
    "drain_connection",
    "wake",
]

_log = logging.getLogger("plugrpc.channel")


class ChannelResolverListener:
    """The resolver's view of the channel."""

    __slots__ = ("_on_error", "_on_state", "active")

    def __init__(
        self,
        on_state: Callable[[ResolverState], None],
        on_error: Callable[[str], None],
    ) -> None:
        self._on_state = on_state
        self._on_error = on_error
        self.active = True

    def update_state(self, state: ResolverState) -> None:
        """Pass a resolution result to the channel while it listens."""
        if self.active:
            self._on_state(state)

    def report_error(self, error: str) -> None:
        """Pass a resolution error to the channel while it listens."""
        if self.active:
            self._on_error(error)


class ChannelBalancerHelper(BalancerHelper):
    """One balancer's view of the channel.

    Args:
        loop: the channel's loop (timers and clock).
        create: makes a subchannel for an address and a listener.
        publish: takes the balancer's state and picker.
        reresolve: asks the resolver to look again.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        create: Callable[[Address, SubchannelListener], Subchannel],
        publish: Callable[[ConnectivityState, Picker], None],
        reresolve: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._create = create
        self._publish = publish
        self._reresolve = reresolve
        self.active = True

    def create_subchannel(self, address: Address, listener: SubchannelListener) -> Subchannel:
        """A new subchannel whose events reach ``listener`` while this helper is active."""
        if not self.active:
            raise RuntimeError("this balancer has been closed; it cannot create subchannels")

        def gated(subchannel: Subchannel, state: ConnectivityState, error: str | None) -> None:
            if self.active:
                listener(subchannel, state, error)

        return self._create(address, gated)

    def update_state(self, state: ConnectivityState, picker: Picker) -> None:
        """Publish the balancer's state and picker."""
        if self.active:
            self._publish(state, picker)

    def request_reresolution(self) -> None:
        """Ask the resolver to look again."""
        if self.active:
            self._reresolve()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` after ``delay`` seconds, unless the balancer is gone by then."""

        def fire() -> None:
            if self.active:
                callback()

        return self._loop.call_later(delay, fire)

    def now(self) -> float:
        """The loop's clock."""
        return self._loop.time()


class FailPicker(Picker):
    """Fails every call with UNAVAILABLE and one message."""

    __slots__ = ("_result",)

    def __init__(self, message: str) -> None:
        self._result = PickFail(code=StatusCode.UNAVAILABLE, message=message)

    def pick(self, info: PickInfo) -> PickFail:
        """The same failure for every call."""
        return self._result


def wake(waiters: set[asyncio.Future[Any]], value: Any = None) -> None:
    """Resolve every waiter with ``value`` and forget them."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(value)
    waiters.clear()


def deadline_error(doing: str, last_error: str | None) -> RpcError:
    """DEADLINE_EXCEEDED saying what the call waited for and what went wrong meanwhile."""
    message = f"deadline exceeded {doing}"
    if last_error:
        message += f"; last error: {last_error}"
    return RpcError(StatusCode.DEADLINE_EXCEEDED, message)


async def drain_connection(connection: ConnectionLike) -> None:
    """Drain a connection, logging (not raising) a failure: it is going away anyway."""
    try:
        await connection.drain()
    except Exception:
        _log.debug("draining %r failed", connection, exc_info=True)
