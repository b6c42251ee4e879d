"""The client side of out-of-band ORCA reports: a listener API for balancers (gRFC A51).

Theory of operation (A51 "Out of Band Metrics Reporting: The LB Policy API"):

- A balancer subscribes with ``register_oob_listener(subchannel, listener,
  report_interval=...)`` once the subchannel is READY, and calls the returned ``stop``
  when it no longer wants reports (the subchannel left READY or was removed, the policy's
  config changed, the policy closed).
- Subscriptions are shared per connection: one ``StreamCoreMetrics`` call per connection
  serves every subscriber, asking for the smallest interval any of them wants; a
  subscription that changes that minimum restarts the call. Each report is parsed once and
  handed to every subscriber.
- A call that fails with UNIMPLEMENTED is not retried on that connection (the backend has
  no ORCA service; an ERROR is logged). Any other failure is retried with exponential
  backoff (gRPC's connection-backoff schedule), except that the first retry after a call
  that delivered a report starts at once. When the connection stops taking streams
  (GOAWAY, loss, close) the call is dropped; the balancer subscribes again on the
  subchannel's next READY.

The stream goes on the subchannel's own connection, as grpc-go's ORCA producer does, so it
shares the channel's credentials. plugrpc's ``Subchannel`` interface has no stream API yet:
this module uses the channel subchannel's public ``connection`` property (a
``plugrpc_transport.ClientConnection`` while READY). A wrapping subchannel (an outlier
detection wrapper, say) exposes the wrapped one's ``connection`` the same way.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from plugrpc import BackoffConfig
from plugrpc_core import StatusCode
from plugrpc_transport import ConnectionUnavailable, StreamClosed
from plugrpc_transport.protocol import RequestHead

from ._report import OrcaLoadReport, OrcaLoadReportRequest
from ._service import STREAM_CORE_METRICS
from ._wire import OrcaDecodeError

if TYPE_CHECKING:
    from plugrpc_core import Address, Subchannel
    from plugrpc_transport import ClientStream

__all__ = ["OobListener", "register_oob_listener"]

_log = logging.getLogger("plugrpc.orca")

#: ``listener(report)``: called on the channel's loop with each out-of-band report.
OobListener: TypeAlias = Callable[[OrcaLoadReport], None]

_USER_AGENT = "grpc-python-plugrpc-orca/0.1.0"


class _StreamOpener(Protocol):
    """What this module needs of a connection (``plugrpc_transport.ClientConnection``)."""

    @property
    def available(self) -> bool: ...

    def add_close_listener(self, callback: Callable[[str | None], None]) -> None: ...

    def start_stream(self, head: RequestHead) -> ClientStream: ...


def _connection_of(subchannel: Subchannel) -> _StreamOpener | None:
    connection: Any = getattr(subchannel, "connection", None)
    if connection is None or not hasattr(connection, "start_stream"):
        return None
    if not connection.available:
        return None
    opener: _StreamOpener = connection
    return opener


def _authority(address: Address) -> str:
    if address.path is not None:
        return "localhost"
    return str(address)


def register_oob_listener(
    subchannel: Subchannel,
    listener: OobListener,
    *,
    report_interval: float,
    backoff: BackoffConfig | None = None,
) -> Callable[[], None]:
    """Receive ``subchannel``'s out-of-band load reports until the returned ``stop()``.

    Call it when the subchannel is READY (from a balancer's subchannel listener, on the
    channel's loop). If the subchannel has no open connection, nothing happens: subscribe
    again when it next becomes READY.

    Args:
        subchannel: a subchannel of a plugrpc channel (or a wrapper exposing its
            ``connection``).
        listener: called with every report; exceptions it raises are logged and ignored.
        report_interval: the interval to ask the backend for, in seconds (the backend may
            send less often: its minimum wins).
        backoff: the retry schedule after failed streams (gRPC's connection backoff).

    Returns:
        ``stop()``: end this subscription (idempotent).
    """
    connection = _connection_of(subchannel)
    if connection is None:
        _log.debug("ORCA OOB: %s has no connection yet; nothing to listen on", subchannel)
        return _noop
    stream = _streams.get(connection)
    if stream is None:
        stream = _OobStream(connection, subchannel.address, backoff or BackoffConfig())
        _streams[connection] = stream
    token = object()
    stream.subscribe(token, listener, report_interval)
    return lambda: stream.unsubscribe(token)


def _noop() -> None:
    pass


class _OobStream:
    """One connection's ``StreamCoreMetrics`` call and its subscribers."""

    def __init__(self, connection: _StreamOpener, address: Address, backoff: BackoffConfig) -> None:
        self._connection = connection
        self._address = address
        self._backoff = backoff
        self._subscribers: dict[object, tuple[OobListener, float]] = {}
        self._interval: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._unimplemented = False
        self._closed = False
        self._rng = random.Random()
        connection.add_close_listener(self._connection_closed)

    def subscribe(self, token: object, listener: OobListener, interval: float) -> None:
        self._subscribers[token] = (listener, interval)
        self._restart_if_needed()

    def unsubscribe(self, token: object) -> None:
        if self._subscribers.pop(token, None) is None:
            return
        if not self._subscribers:
            self._close()
        else:
            self._restart_if_needed()

    def _restart_if_needed(self) -> None:
        if self._closed or self._unimplemented:
            return
        wanted = min(interval for _, interval in self._subscribers.values())
        if self._task is not None and wanted == self._interval:
            return
        if self._task is not None:
            self._task.cancel()
        self._interval = wanted
        self._task = asyncio.get_running_loop().create_task(
            self._run_logged(wanted), name=f"plugrpc-orca-oob {self._address}"
        )

    def _connection_closed(self, reason: str | None) -> None:
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if _streams.get(self._connection) is self:
            del _streams[self._connection]

    def _deliver(self, payload: bytes) -> bool:
        try:
            report = OrcaLoadReport.from_bytes(payload)
        except OrcaDecodeError as exc:
            _log.warning("ORCA OOB: malformed report from %s: %s", self._address, exc)
            return False
        for listener, _ in list(self._subscribers.values()):
            try:
                listener(report)
            except Exception:
                _log.exception("ORCA OOB listener %r failed", listener)
        return True

    async def _run_logged(self, interval: float) -> None:
        try:
            await self._run(interval)
        except Exception:
            # Nothing awaits this task: say what broke instead of losing it.
            _log.exception("ORCA OOB: the stream to %s failed", self._address)

    async def _run(self, interval: float) -> None:
        request = OrcaLoadReportRequest(report_interval=interval).to_bytes()
        head = RequestHead(
            path=STREAM_CORE_METRICS,
            authority=_authority(self._address),
            content_subtype="proto",
            user_agent=_USER_AGENT,
        )
        failures = 0
        while self._connection.available:
            received = False
            try:
                stream = self._connection.start_stream(head)
            except ConnectionUnavailable:
                return
            try:
                received = await self._exchange(stream, request)
                status = await stream.receive_status()
            except asyncio.CancelledError:
                stream.cancel()
                raise
            if status.code == StatusCode.UNIMPLEMENTED:
                # A51: the backend has no ORCA service; never retry on this connection.
                _log.error(
                    "ORCA OOB: %s does not implement %s; no out-of-band reports from it",
                    self._address,
                    STREAM_CORE_METRICS,
                )
                self._unimplemented = True
                return
            _log.debug(
                "ORCA OOB: stream to %s ended: %s %s",
                self._address,
                status.code.name,
                status.message,
            )
            failures = 0 if received else failures + 1
            if failures:
                await asyncio.sleep(self._delay(failures - 1))

    async def _exchange(self, stream: ClientStream, request: bytes) -> bool:
        """Send the request and deliver reports until the stream ends; True if any came."""
        received = False
        try:
            await stream.send_message(request, end=True)
            while True:
                item = await stream.receive_message()
                if item is None:
                    return received
                compressed, payload = item
                if compressed:
                    # We offer no grpc-accept-encoding, so a compressed message is a
                    # protocol violation (compression.md); drop the stream.
                    stream.cancel()
                    return received
                received = self._deliver(payload) or received
        except StreamClosed:
            return received

    def _delay(self, retries: int) -> float:
        config = self._backoff
        delay = min(config.base_delay * config.multiplier**retries, config.max_delay)
        return delay * (1 + config.jitter * self._rng.uniform(-1, 1))


_streams: dict[_StreamOpener, _OobStream] = {}
