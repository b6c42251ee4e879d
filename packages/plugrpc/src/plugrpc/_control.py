"""The channel's control plane: resolver -> service config -> balancer -> picker.

Theory of operation (grpc-go ``ClientConn``; naming.md, connectivity-semantics-and-api.md,
wait-for-ready.md, gRFC A21):

- Construction parses the target and finds its resolver class, so that a malformed target or
  a missing plugin fails there with a clear message. Nothing else happens: like grpc-go's
  ``NewClient`` the channel starts IDLE and builds its resolver on the first call or on
  ``get_state(try_to_connect=True)``.
- Each resolver result picks the service config: the resolver's, unless configs are
  disabled or it has none (then the default one, else none). A config the resolver could not
  parse keeps the config in use; with none in use yet the channel fails its calls with the
  parse error (TRANSIENT_FAILURE) until a good result comes. The config names the policy
  (``pick_first`` by default); the resolver's addresses and the policy's config go to a
  ``GracefulSwitch`` (``plugrpc_core.lb``), which runs that policy. When a later config names
  another policy, the old one keeps serving calls until the new one is READY (or the old one
  leaves READY), then it is closed and its connections drain (grpc-go ``gracefulswitch``).
- The balancer creates subchannels through a helper and publishes a state and a picker; the
  channel's connectivity state is the balancer's. A balancer that has been replaced keeps a
  dead helper: nothing it does reaches the channel any more.
- ``pick`` asks the current picker. A usable answer returns at once (no future, no task);
  otherwise the call waits for the next picker, unless it may not: a failure fails the call
  (wait-for-ready calls keep waiting unless the balancer drops them), and a queued call on a
  channel in TRANSIENT_FAILURE fails fast with the last connection error, as in grpc-go.
  Failures with codes the control plane may not produce become INTERNAL (gRFC A54).
- ``wait_for_resolution`` lets the call layer read method configs only after the resolver's
  first answer (grpc-go ``waitForResolvedAddrs``).
- Idleness (A62 asks for it, grpc-go ``internal/idle``): after ``idle_timeout`` seconds (30
  minutes by default) with no call started, none in flight (``call_started`` /
  ``call_finished``) and none waiting for a connection, the channel closes its resolver and
  balancer (connections drain) and reports IDLE; the next call starts them again.
- ``close`` moves to SHUTDOWN, fails waiting calls with CANCELLED, closes the resolver and
  the balancer and drains the connections, so that calls in flight finish.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Any

from plugrpc_core import (
    ConnectivityState,
    Metadata,
    PickComplete,
    PickFail,
    ResolverOptions,
    RpcError,
    StatusCode,
    plugins,
)
from plugrpc_core.lb import GracefulSwitch

from ._backoff import Backoff, BackoffConfig
from ._control_parts import (
    ChannelBalancerHelper,
    ChannelResolverListener,
    FailPicker,
    deadline_error,
    drain_connection,
    wake,
)
from ._subchannel import ChannelSubchannel, ConnectionLike, Connector, SubchannelListener
from ._target import parse_target

if TYPE_CHECKING:
    from plugrpc_core import (
        Address,
        Picker,
        PickInfo,
        Resolver,
        ResolverState,
        ServiceConfig,
        Subchannel,
        Target,
    )

__all__ = ["DEFAULT_IDLE_TIMEOUT", "ChannelControl", "ConnectionLike", "Connector"]

_log = logging.getLogger("plugrpc.channel")

_IDLE = ConnectivityState.IDLE
_CONNECTING = ConnectivityState.CONNECTING
_READY = ConnectivityState.READY
_TRANSIENT_FAILURE = ConnectivityState.TRANSIENT_FAILURE
_SHUTDOWN = ConnectivityState.SHUTDOWN
_DEFAULT_POLICY = "pick_first"
#: grpc-go's and A62's default idle timeout: 30 minutes.
DEFAULT_IDLE_TIMEOUT = 1800.0
_CLOSED_MESSAGE = "the channel is closed"
# gRFC A54: codes that the control plane must not produce; they become INTERNAL.
_ILLEGAL_CONTROL_PLANE_CODES = frozenset(
    {
        StatusCode.OK,
        StatusCode.INVALID_ARGUMENT,
        StatusCode.NOT_FOUND,
        StatusCode.ALREADY_EXISTS,
        StatusCode.FAILED_PRECONDITION,
        StatusCode.ABORTED,
        StatusCode.OUT_OF_RANGE,
        StatusCode.DATA_LOSS,
    }
)


class ChannelControl:
    """Resolver, service config, balancer and subchannels of one channel.

    Args:
        target: the channel's target (see ``parse_target``).
        connector: opens a transport connection to an address.
        default_service_config: used when the resolver supplies none (gRFC A21).
        disable_service_config: ignore service configs from the resolver.
        loop: the channel's loop (default: the running loop when the channel starts).
        backoff: the connection backoff parameters (grpc-go's defaults).
        rng: the random source for backoff jitter.
        idle_timeout: seconds without calls after which the channel goes IDLE (closing its
            resolver, balancer and connections until the next call); None or 0 never.

    Raises:
        ValueError: the target is malformed for its scheme, or ``idle_timeout`` is negative.
        plugrpc_core.plugins.PluginNotFoundError: no resolver handles the target's scheme.
    """

    def __init__(
        self,
        target: str,
        *,
        connector: Connector,
        default_service_config: ServiceConfig | None = None,
        disable_service_config: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
        backoff: BackoffConfig | None = None,
        rng: random.Random | None = None,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        if idle_timeout is not None and not idle_timeout >= 0:
            raise ValueError(f"idle_timeout must be >= 0 seconds or None, got {idle_timeout!r}")
        self.target: Target = parse_target(target)
        self._resolver_cls: type[Resolver] = plugins.resolvers.get(self.target.scheme)
        self._resolver_cls.validate_target(self.target)
        #: The default ``:authority`` of calls, from the resolver.
        self.authority: str = self._resolver_cls.default_authority(self.target)
        #: The service config in use (for per-method settings), or None.
        self.service_config: ServiceConfig | None = default_service_config
        self._connector = connector
        self._default_config = default_service_config
        self._disable_config = disable_service_config
        self._loop = loop
        self._backoff_config = backoff or BackoffConfig()
        self._rng = rng or random.Random()
        self._state = _IDLE
        self._picker: Picker | None = None
        self._started = False
        self._closed = False
        self._resolved = False
        self._config_applied = False
        self._last_error: str | None = None
        self._resolver: Resolver | None = None
        self._resolver_listener: ChannelResolverListener | None = None
        self._balancer: GracefulSwitch | None = None
        self._balancer_config: tuple[str, Any] = (_DEFAULT_POLICY, None)
        self._helper: ChannelBalancerHelper | None = None
        self._idle_timeout = idle_timeout or None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._calls_in_flight = 0
        self._waiting_picks = 0
        self._active = False
        self._subchannels: set[ChannelSubchannel] = set()
        self._draining: dict[asyncio.Task[None], ConnectionLike] = {}
        self._pick_waiters: set[asyncio.Future[None]] = set()
        self._state_waiters: set[asyncio.Future[ConnectivityState]] = set()
        self._resolution_waiters: set[asyncio.Future[None]] = set()

    def __repr__(self) -> str:
        return f"<ChannelControl {self.target.raw!r} {self._state.name}>"

    # -- connectivity API ---------------------------------------------------------------

    def get_state(self, try_to_connect: bool = False) -> ConnectivityState:
        """The channel's state; with ``try_to_connect``, an IDLE channel starts connecting."""
        if try_to_connect and self._state is _IDLE:
            self._exit_idle()
        return self._state

    async def wait_for_state_change(self, source: ConnectivityState) -> ConnectivityState:
        """Wait until the state is not ``source`` and return it.

        SHUTDOWN never changes, so waiting for a change from it returns SHUTDOWN at once.
        """
        if self._state is not source or source is _SHUTDOWN:
            return self._state
        waiter: asyncio.Future[ConnectivityState] = self._get_loop().create_future()
        self._state_waiters.add(waiter)
        try:
            return await waiter
        finally:
            self._state_waiters.discard(waiter)

    def reset_connect_backoff(self) -> None:
        """Forget connection failures: subchannels waiting out a backoff go IDLE now."""
        for subchannel in list(self._subchannels):
            subchannel.reset_backoff()

    # -- idleness -----------------------------------------------------------------------

    def call_started(self) -> None:
        """A call began: the channel does not go IDLE until ``call_finished``."""
        self._calls_in_flight += 1
        self._active = True

    def call_finished(self) -> None:
        """A call counted by ``call_started`` ended."""
        self._calls_in_flight -= 1
        self._active = True

    def enter_idle(self) -> bool:
        """Go IDLE now if no call is in flight or waiting (what the idle timer does).

        Returns:
            Whether the channel went IDLE (False while calls are active, or when the channel
            is closed or has not started).
        """
        if self._closed or not self._started:
            return False
        if self._busy():
            return False
        self._go_idle()
        return True

    def _busy(self) -> bool:
        return (
            self._calls_in_flight > 0 or self._waiting_picks > 0 or bool(self._resolution_waiters)
        )

    def _arm_idle_timer(self) -> None:
        if self._idle_timeout is None or self._closed:
            return
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = self._get_loop().call_later(self._idle_timeout, self._idle_timer_fired)

    def _idle_timer_fired(self) -> None:
        # grpc-go internal/idle: calls in flight or activity since the last check keep the
        # channel busy for another period; otherwise it goes IDLE.
        self._idle_timer = None
        if self._closed or not self._started:
            return
        if self._active or self._busy():
            self._active = False
            self._arm_idle_timer()
            return
        self._go_idle()

    def _go_idle(self) -> None:
        _log.debug("channel %s: idle for %s s, entering IDLE", self.target.raw, self._idle_timeout)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        self._started = False
        self._active = False
        if self._resolver_listener is not None:
            self._resolver_listener.active = False
        if self._resolver is not None:
            self._resolver.close()
        self._resolver = self._resolver_listener = None
        self._close_balancer()
        self._picker = None
        self._set_state(_IDLE)

    @property
    def resolved(self) -> bool:
        """Whether the resolver has answered (addresses or an error) at least once."""
        return self._resolved

    async def wait_for_resolution(self, deadline: float | None = None) -> None:
        """Start the channel if IDLE and wait for the resolver's first answer.

        grpc-go waits for it before reading a call's method config, so that the first call
        sees the resolver's service config. Returns at once (no allocation) afterwards.

        Raises:
            RpcError: DEADLINE_EXCEEDED at ``deadline`` (``loop.time()`` based), CANCELLED if
                the channel closes.
        """
        if self._resolved:
            return
        if self._state is _IDLE:
            self._exit_idle()
        while not self._resolved:
            if self._closed:
                raise RpcError(StatusCode.CANCELLED, _CLOSED_MESSAGE)
            await self._wait(
                self._resolution_waiters, deadline, "while waiting for name resolution"
            )

    # -- picking ------------------------------------------------------------------------

    async def pick(
        self, info: PickInfo, *, wait_for_ready: bool, deadline: float | None
    ) -> tuple[ConnectionLike, PickComplete]:
        """Choose a connection for a call.

        Args:
            info: the method and metadata the picker may look at.
            wait_for_ready: wait through failures instead of failing fast.
            deadline: absolute, on the loop's clock; None for no deadline.

        Returns:
            The connection and the pick (whose ``on_done`` the call runs when it ends).

        Raises:
            RpcError: the picker failed the call, the channel is in TRANSIENT_FAILURE (not
                wait-for-ready), the deadline passed (DEADLINE_EXCEEDED) or the channel closed
                (CANCELLED).
        """
        self._active = True
        if self._state is _IDLE:
            self._exit_idle()
        picker = self._picker
        if picker is not None:
            result = picker.pick(info)
            if type(result) is PickComplete:
                subchannel = result.subchannel
                if isinstance(subchannel, ChannelSubchannel):
                    connection = subchannel.connection
                    if connection is not None and connection.available:
                        return connection, result
        return await self._pick_slowly(info, wait_for_ready, deadline)

    async def _pick_slowly(
        self, info: PickInfo, wait_for_ready: bool, deadline: float | None
    ) -> tuple[ConnectionLike, PickComplete]:
        last_error: str | None = None
        while True:
            if self._closed:
                raise RpcError(StatusCode.CANCELLED, _CLOSED_MESSAGE)
            if self._state is _IDLE:
                self._exit_idle()
            picker = self._picker
            if picker is not None:
                result = picker.pick(info)
                if isinstance(result, PickComplete):
                    subchannel = result.subchannel
                    if not isinstance(subchannel, ChannelSubchannel):
                        raise RpcError(
                            StatusCode.INTERNAL,
                            f"the {self._current_policy()} policy picked a subchannel that "
                            "this channel did not create",
                        )
                    connection = subchannel.connection
                    if connection is not None and connection.available:
                        return connection, result
                    if result.on_done is not None:
                        # Unused, not failed: grpc-go reports such picks with an empty
                        # DoneInfo, so outlier detection must not count them as errors.
                        result.on_done(StatusCode.OK, Metadata())
                elif isinstance(result, PickFail):
                    code, message = result.code, result.message
                    if code in _ILLEGAL_CONTROL_PLANE_CODES:
                        message = f"the balancer failed the call with illegal code {code.name}"
                        message += f": {result.message}" if result.message else ""
                        code = StatusCode.INTERNAL
                    last_error = message
                    if result.drop or not wait_for_ready:
                        raise RpcError(code, message)
                elif self._state is _TRANSIENT_FAILURE and not wait_for_ready:
                    raise RpcError(
                        StatusCode.UNAVAILABLE,
                        self._last_error or "the channel is in TRANSIENT_FAILURE",
                    )
            elif self._state is _TRANSIENT_FAILURE and not wait_for_ready:
                raise RpcError(
                    StatusCode.UNAVAILABLE, self._last_error or "the channel cannot connect"
                )
            self._waiting_picks += 1
            try:
                await self._wait(
                    self._pick_waiters,
                    deadline,
                    "while waiting for connections to become ready",
                    last_error or self._last_error,
                )
            finally:
                self._waiting_picks -= 1

    async def _wait(
        self,
        waiters: set[asyncio.Future[None]],
        deadline: float | None,
        doing: str,
        last_error: str | None = None,
    ) -> None:
        loop = self._get_loop()
        if deadline is not None and loop.time() >= deadline:
            raise deadline_error(doing, last_error)
        waiter: asyncio.Future[None] = loop.create_future()
        waiters.add(waiter)
        try:
            if deadline is None:
                await waiter
            else:
                async with asyncio.timeout_at(deadline):
                    await waiter
        except TimeoutError:
            raise deadline_error(doing, last_error) from None
        finally:
            waiters.discard(waiter)

    # -- lifecycle ----------------------------------------------------------------------

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            try:
                self._loop = asyncio.get_running_loop()
            except RuntimeError:
                raise RuntimeError(
                    "the channel starts on its first call or get_state(try_to_connect=True); "
                    "do that on the asyncio loop that runs the channel"
                ) from None
        return self._loop

    def _exit_idle(self) -> None:
        if self._closed:
            return
        if self._started:
            if self._balancer is not None:
                self._balancer.exit_idle()
            return
        loop = self._get_loop()
        self._started = True
        self._active = True
        self._arm_idle_timer()
        self._set_state(_CONNECTING)
        _log.debug("channel %s: starting %s resolver", self.target.raw, self.target.scheme)
        listener = ChannelResolverListener(self._on_resolver_state, self._on_resolver_error)
        self._resolver_listener = listener
        options = ResolverOptions(disable_service_config=self._disable_config)
        self._resolver = self._resolver_cls(self.target, listener, options)
        try:
            self._resolver.start()
        except Exception as exc:
            _log.debug("channel %s: resolver failed to start", self.target.raw, exc_info=True)
            loop.call_soon(self._on_resolver_error, f"the resolver failed to start: {exc}")

    async def close(self, *, drain: bool = True) -> None:
        """Shut the channel down: SHUTDOWN, no more calls, resolver and balancer closed.

        Args:
            drain: let calls in flight finish on their connections (the default). Without it,
                or if this coroutine is cancelled while draining, connections close at once.
        """
        if not self._closed:
            self._closed = True
            if self._idle_timer is not None:
                self._idle_timer.cancel()
                self._idle_timer = None
            self._set_state(_SHUTDOWN)
            self._picker = None
            if self._resolver_listener is not None:
                self._resolver_listener.active = False
            wake(self._pick_waiters)
            wake(self._resolution_waiters)
            if self._resolver is not None:
                self._resolver.close()
            self._close_balancer()
            for subchannel in list(self._subchannels):
                subchannel.shutdown()
        connections = list(self._draining.values())
        if not drain:
            for connection in connections:
                connection.close()
        tasks = list(self._draining)
        if not tasks:
            return
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            for connection in connections:
                connection.close()
            raise

    def _create_subchannel(self, address: Address, listener: SubchannelListener) -> Subchannel:
        def on_state(subchannel: Subchannel, state: ConnectivityState, error: str | None) -> None:
            if state is _TRANSIENT_FAILURE and error:
                self._last_error = error
            listener(subchannel, state, error)

        subchannel = ChannelSubchannel(
            address,
            on_state,
            connector=self._connector,
            backoff=Backoff(self._backoff_config, rng=self._rng),
            loop=self._get_loop(),
            on_shutdown=self._subchannel_shut_down,
        )
        self._subchannels.add(subchannel)
        return subchannel

    def _reresolve(self) -> None:
        if self._resolver is not None and not self._closed:
            self._resolver.resolve_now()

    def _subchannel_shut_down(
        self, subchannel: ChannelSubchannel, connection: ConnectionLike | None
    ) -> None:
        self._subchannels.discard(subchannel)
        if connection is None:
            return
        task = self._get_loop().create_task(drain_connection(connection), name="plugrpc-drain")
        self._draining[task] = connection
        task.add_done_callback(lambda done: self._draining.pop(done, None))

    # -- state --------------------------------------------------------------------------

    def _set_state(self, state: ConnectivityState) -> None:
        if state is self._state:
            return
        _log.debug("channel %s: %s -> %s", self.target.raw, self._state.name, state.name)
        self._state = state
        wake(self._state_waiters, state)

    def _publish(self, state: ConnectivityState, picker: Picker) -> None:
        if self._closed:
            return
        self._picker = picker
        if state is _READY:
            self._last_error = None
        self._set_state(state)
        wake(self._pick_waiters)

    # -- resolver -> config -> balancer ---------------------------------------------------

    def _on_resolver_state(self, state: ResolverState) -> None:
        self._mark_resolved()
        if self._disable_config or (
            state.service_config is None and state.service_config_error is None
        ):
            config = self._default_config
        elif state.service_config_error is not None or state.service_config is None:
            error = state.service_config_error or "the resolver gave no service config"
            if not self._config_applied:
                self._fail_config(f"invalid service config from the resolver: {error}")
                return
            _log.warning(
                "channel %s: keeping the service config in use; the resolver's new one is "
                "invalid: %s",
                self.target.raw,
                error,
            )
            config = self.service_config
        else:
            config = state.service_config
        if self._apply_config(config) and self._balancer is not None:
            self._balancer.update_state(state, self._balancer_config)

    def _on_resolver_error(self, error: str) -> None:
        if self._closed:
            return
        self._mark_resolved()
        self._last_error = error
        if self._balancer is None and not self._config_applied:
            # grpc-go applies the default config; the switch reports the failure.
            self._apply_config(self._default_config)
        if self._balancer is not None:
            self._balancer.resolver_error(error)
        else:
            self._publish(_TRANSIENT_FAILURE, FailPicker(f"name resolver error: {error}"))

    def _mark_resolved(self) -> None:
        if not self._resolved:
            self._resolved = True
            wake(self._resolution_waiters)

    def _apply_config(self, config: ServiceConfig | None) -> bool:
        """Use ``config`` and its policy; False if neither it nor an older one is usable.

        The policy itself changes in the ``GracefulSwitch`` when it gets the next resolver
        update with the new ``(name, config)`` pair.
        """
        policy = config.load_balancing_policy if config is not None else None
        name = policy or _DEFAULT_POLICY
        try:
            balancer_cls = plugins.balancers.get(name)
            if policy is not None and config is not None:
                balancer_config = config.load_balancing_config
            else:
                balancer_config = balancer_cls.parse_config({})
        except (LookupError, ValueError) as exc:
            if self._balancer is not None:  # A21: keep what works
                _log.warning("channel %s: keeping balancer %s: %s", self.target.raw, name, exc)
                return True
            self._fail_config(str(exc))
            return False
        self.service_config = config
        self._config_applied = True
        self._balancer_config = (name, balancer_config)
        if self._balancer is None:
            helper = ChannelBalancerHelper(
                self._get_loop(),
                create=self._create_subchannel,
                publish=self._publish,
                reresolve=self._reresolve,
            )
            self._helper = helper
            self._balancer = GracefulSwitch(helper)
            _log.debug("channel %s: balancer %s", self.target.raw, name)
        return True

    def _current_policy(self) -> str | None:
        return self._balancer.current_policy if self._balancer is not None else None

    def _fail_config(self, message: str) -> None:
        self._close_balancer()
        self._last_error = message
        self._publish(_TRANSIENT_FAILURE, FailPicker(message))

    def _close_balancer(self) -> None:
        balancer, helper = self._balancer, self._helper
        self._balancer = self._helper = None
        if helper is not None:
            helper.active = False
        if balancer is not None:
            balancer.close()
