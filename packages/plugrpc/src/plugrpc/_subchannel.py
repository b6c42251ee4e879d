"""The channel's subchannel: one address, at most one connection, the connection backoff.

Theory of operation (connectivity-semantics-and-api.md, connection-backoff.md, grpc-go
``addrConn``): a subchannel starts IDLE and connects only when its balancer asks. A connect
attempt moves it to CONNECTING and may take ``max(min_connect_timeout, backoff delay)``. On
success it is READY, exposes ``connection`` and resets its backoff. On failure it reports
TRANSIENT_FAILURE with the error, waits out the backoff delay, then goes IDLE: the balancer
decides whether to try again. When a READY connection closes (GOAWAY, loss, idle close), the
subchannel goes IDLE at once; reconnecting is again the balancer's decision.

State changes reach the balancer through the listener given at creation, always from a task
or a loop callback, never from inside a call the balancer made (``connect`` only schedules
the attempt), so balancers need not be re-entrant. ``shutdown`` is the balancer's own act and
is not reported back. It hands a READY connection to the channel, which drains it so that
calls in flight on it finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, TypeAlias

from plugrpc_core import Address, ConnectivityState, Subchannel

if TYPE_CHECKING:
    from ._backoff import Backoff

__all__ = ["ChannelSubchannel", "ConnectionLike", "Connector", "SubchannelListener"]

_log = logging.getLogger("plugrpc.channel")

_IDLE = ConnectivityState.IDLE
_CONNECTING = ConnectivityState.CONNECTING
_READY = ConnectivityState.READY
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE
_SHUTDOWN = ConnectivityState.SHUTDOWN


class ConnectionLike(Protocol):
    """What the channel's control plane needs from a transport connection.

    ``plugrpc_transport.ClientConnection`` satisfies it; tests may use any object that does.
    """

    @property
    def available(self) -> bool:
        """False once the connection takes no new streams (draining or closed)."""
        ...

    def add_close_listener(self, callback: Callable[[str | None], None]) -> None:
        """Call ``callback(reason)`` once, when the connection stops taking new streams."""
        ...

    def close(self) -> None:
        """Close now; streams still open fail."""
        ...

    async def drain(self, timeout: float | None = None) -> None:
        """Take no new streams and close once the open ones have finished."""
        ...


#: Opens a connection to an address; raises (any ``Exception``) on failure.
Connector: TypeAlias = Callable[[Address], Awaitable[ConnectionLike]]

#: ``listener(subchannel, new_state, error)``; ``error`` explains a TRANSIENT_FAILURE.
SubchannelListener: TypeAlias = Callable[[Subchannel, ConnectivityState, str | None], None]


class ChannelSubchannel(Subchannel):
    """The ``Subchannel`` implementation of ``ChannelControl``.

    Args:
        address: where to connect.
        listener: hears every state change but SHUTDOWN.
        connector: opens a connection to ``address``.
        backoff: this subchannel's backoff state.
        loop: the channel's event loop.
        on_shutdown: told once, at shutdown, with the connection to drain (or None).
    """

    def __init__(
        self,
        address: Address,
        listener: SubchannelListener,
        *,
        connector: Connector,
        backoff: Backoff,
        loop: asyncio.AbstractEventLoop,
        on_shutdown: Callable[[ChannelSubchannel, ConnectionLike | None], None],
    ) -> None:
        self._address = address
        self._listener = listener
        self._connector = connector
        self._backoff = backoff
        self._loop = loop
        self._on_shutdown = on_shutdown
        self._state = _IDLE
        self._connection: ConnectionLike | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.last_error: str | None = None

    def __repr__(self) -> str:
        return f"<ChannelSubchannel {self._address} {self._state.name}>"

    @property
    def address(self) -> Address:
        """Where this subchannel connects."""
        return self._address

    @property
    def state(self) -> ConnectivityState:
        """The current state."""
        return self._state

    @property
    def connection(self) -> ConnectionLike | None:
        """The connection while READY, else None."""
        return self._connection

    def connect(self) -> None:
        """Start a connection attempt if IDLE (the attempt runs in a task)."""
        if self._state is not _IDLE or self._connect_task is not None:
            return
        self._connect_task = self._loop.create_task(
            self._connect_once(), name=f"plugrpc-connect {self._address}"
        )

    def reset_backoff(self) -> None:
        """Forget past failures; a subchannel waiting out its backoff goes IDLE now."""
        self._backoff.reset()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._set_state(_IDLE, None)

    def shutdown(self) -> None:
        """Stop connecting and hand the connection, if any, to the channel to drain."""
        if self._state is _SHUTDOWN:
            return
        self._state = _SHUTDOWN
        if self._connect_task is not None:
            self._connect_task.cancel()
            self._connect_task = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        connection, self._connection = self._connection, None
        _log.debug("subchannel %s: shut down", self._address)
        self._on_shutdown(self, connection)

    # -- internals ----------------------------------------------------------------------

    def _set_state(self, state: ConnectivityState, error: str | None) -> None:
        self._state = state
        if error is not None:
            self.last_error = error
        _log.debug("subchannel %s: %s%s", self._address, state.name, f" ({error})" * bool(error))
        self._listener(self, state, error)

    async def _connect_once(self) -> None:
        # grpc-go addrConn.resetTransport: one jittered delay serves both as the attempt's
        # time budget (at least min_connect_timeout) and as the wait after a failure.
        delay = self._backoff.next_delay()
        timeout = self._backoff.connect_timeout(delay)
        self._set_state(_CONNECTING, None)
        try:
            async with asyncio.timeout(timeout):
                connection = await self._connector(self._address)
        except asyncio.CancelledError:
            if self._state is _SHUTDOWN:
                return
            raise
        except Exception as exc:
            self._connect_task = None
            if isinstance(exc, TimeoutError) and not str(exc):
                detail = f"timed out after {timeout:g} s"
            else:
                detail = str(exc) or type(exc).__name__
            address = str(self._address)
            error = detail if address in detail else f"failed to connect to {address}: {detail}"
            self._set_state(_TRANSIENT_FAILURE, error)
            if self._state is _TRANSIENT_FAILURE:
                self._timer = self._loop.call_later(delay, self._backoff_over)
            return
        self._connect_task = None
        if self._state is _SHUTDOWN:  # shut down while the connector was finishing
            connection.close()
            return
        self._backoff.reset()
        self._connection = connection
        connection.add_close_listener(lambda reason: self._connection_closed(connection, reason))
        if self._connection is not connection:  # it closed before we listened
            return
        if not connection.available:
            self._connection_closed(connection, "the connection closed while being set up")
            return
        self._set_state(_READY, None)

    def _backoff_over(self) -> None:
        self._timer = None
        if self._state is _TRANSIENT_FAILURE:
            self._set_state(_IDLE, None)

    def _connection_closed(self, connection: ConnectionLike, reason: str | None) -> None:
        if self._connection is not connection:
            return
        self._connection = None
        if self._state is _SHUTDOWN:
            return
        _log.debug("subchannel %s: connection closed (%s)", self._address, reason)
        # grpc-go addrConn: a lost transport always leaves the subchannel IDLE; the balancer
        # decides when to reconnect.
        self._set_state(_IDLE, None)
