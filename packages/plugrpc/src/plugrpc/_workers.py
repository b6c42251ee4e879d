"""Running servers on every core, and asyncio programs on the fastest installed loop.

Theory of operation
-------------------
One Python process runs one core's worth of gRPC: the GIL serialises it. To use N cores a
server runs N worker processes that all listen on the same port with ``SO_REUSEPORT``; the
kernel spreads incoming connections over them (Linux balances by a hash of the connection's
addresses; each connection then stays with its worker for life, as HTTP/2 wants). Each
worker is a full ``Server`` on its own event loop; nothing is shared between them.

``start_server_processes`` is the supervisor: it reserves the port first (a bound, never
listening ``SO_REUSEPORT`` socket, so port 0 becomes one port for all workers), starts the
workers, waits until each one listens, and restarts a worker that dies unexpectedly, up
to a crash budget. Stopping sends SIGTERM; a worker stops its server gracefully (GOAWAY,
in-flight calls finish within ``grace``) and exits. On Linux a worker also dies with its
supervisor (``PR_SET_PDEATHSIG``), so a killed supervisor leaves no orphans.

Workers start with the ``spawn`` method by default: a fresh interpreter imports the
factory by its module and name, so the factory must be a top-level function of an
importable module (the program's own ``__main__`` is fine behind the usual
``if __name__ == "__main__":`` guard).

``run`` is ``asyncio.run`` with uvloop when it is installed (``pip install
"plugrpc[uvloop]"``): a loop about twice as fast for networking (reference/performance.md
section h). It never changes the global event-loop policy; importing plugrpc never swaps
the loop either.
"""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING, Any, TypeVar

from ._server import _parse_listen_address

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from ._server import Server

__all__ = ["ServerProcesses", "run", "serve_in_processes", "start_server_processes"]

T = TypeVar("T")

_CRASH_WINDOW = 60.0  # seconds in which ...
_CRASH_LIMIT = 5  # ... this many unexpected worker exits stop the whole server
_PR_SET_PDEATHSIG = 1


def _loop_factory(use_uvloop: bool | None) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if use_uvloop is False:
        return None
    try:
        import uvloop
    except ImportError:
        if use_uvloop:
            raise ImportError('uvloop is not installed: pip install "plugrpc[uvloop]"') from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(
    main: Coroutine[Any, Any, T], *, use_uvloop: bool | None = None, debug: bool | None = None
) -> T:
    """Run the coroutine ``main`` to completion on a new event loop, like ``asyncio.run``.

    Args:
        main: the program, e.g. ``main()``.
        use_uvloop: None (default) uses uvloop when it is installed, True requires it,
            False uses asyncio's own loop.
        debug: asyncio debug mode, as in ``asyncio.run``.

    Raises:
        ImportError: ``use_uvloop=True`` and uvloop is not installed.
    """
    try:
        factory = _loop_factory(use_uvloop)
    except ImportError:
        main.close()  # never started: no "coroutine was never awaited" warning
        raise
    with asyncio.Runner(debug=debug, loop_factory=factory) as runner:
        return runner.run(main)


# -- worker side ----------------------------------------------------------------------------


def _die_with_parent() -> None:
    if sys.platform != "linux":
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        pass


async def _worker(
    factory: Callable[[], Server | Coroutine[Any, Any, Server]],
    address: str,
    grace: float | None,
    ready: Connection,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    made = factory()
    server: Server = await made if inspect.isawaitable(made) else made
    await server.start(address, reuse_port=True)
    ready.send(("ready", os.getpid()))
    ready.close()
    await stop.wait()
    await server.stop(grace)


def _worker_main(
    factory: Callable[[], Server | Coroutine[Any, Any, Server]],
    address: str,
    grace: float | None,
    use_uvloop: bool | None,
    ready: Connection,
) -> None:
    """Entry point of a worker process."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the supervisor's to handle
    try:
        run(_worker(factory, address, grace, ready), use_uvloop=use_uvloop)
    except BaseException as exc:
        try:
            ready.send(("error", f"{type(exc).__name__}: {exc}"))
        except (OSError, ValueError):
            pass
        raise


# -- supervisor side ------------------------------------------------------------------------


def _reserve(host: str | None, port: int) -> socket.socket:
    """Bind (never listen) an SO_REUSEPORT socket that holds the port for the workers."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise OSError("SO_REUSEPORT is not available on this platform")
    if host is None:
        # Every interface: a dual-stack IPv6 socket holds the port for both families.
        family = socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET
        sockaddr: tuple[Any, ...] = ("::", port) if socket.has_ipv6 else ("0.0.0.0", port)
    else:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, sockaddr = info[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6 and host is None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(sockaddr)
    except OSError:
        sock.close()
        raise
    return sock


class ServerProcesses:
    """Worker processes serving one port. Made by ``start_server_processes``.

    Attributes:
        port: the TCP port every worker listens on.
        address: the listen address the workers were given (with the real port).
    """

    def __init__(
        self,
        factory: Callable[[], Server | Coroutine[Any, Any, Server]],
        address: str,
        workers: int,
        grace: float | None,
        use_uvloop: bool | None,
        start_method: str,
        ready_timeout: float,
    ) -> None:
        host, port, path = _parse_listen_address(address)
        if path is not None:
            raise ValueError("several processes can share a TCP port, not a Unix socket")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._reservation = _reserve(host, port)
        self.port: int = self._reservation.getsockname()[1]
        shown = f"[{host}]" if host is not None and ":" in host else (host or "")
        self.address = f"{shown}:{self.port}"  # ":port" listens on every interface
        self._factory = factory
        self._grace = grace
        self._use_uvloop = use_uvloop
        # Any: typeshed types only literal start methods' contexts as having .Process.
        self._context: Any = multiprocessing.get_context(start_method)
        self._ready_timeout = ready_timeout
        self._procs: list[BaseProcess] = []
        self._crashes: list[float] = []
        self._stopping = False
        try:
            for _ in range(workers):
                self._procs.append(self._spawn())
        except BaseException:
            self.stop(None)
            raise
        finally:
            # Workers hold the port now; the reservation must not linger in the group.
            self._reservation.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [p.pid for p in self._procs if p.pid is not None and p.is_alive()]

    def _spawn(self) -> BaseProcess:
        receiver, sender = self._context.Pipe(duplex=False)
        proc: BaseProcess = self._context.Process(
            target=_worker_main,
            args=(self._factory, self.address, self._grace, self._use_uvloop, sender),
            name="plugrpc-worker",
            daemon=False,
        )
        proc.start()
        sender.close()
        try:
            if not receiver.poll(self._ready_timeout):
                proc.kill()
                proc.join()
                raise RuntimeError(f"worker did not start within {self._ready_timeout} s")
            try:
                kind, detail = receiver.recv()
            except EOFError:
                proc.join(5)
                raise RuntimeError(f"worker exited at start (exit code {proc.exitcode})") from None
        finally:
            receiver.close()
        if kind != "ready":
            proc.join(5)
            raise RuntimeError(f"worker failed to start: {detail}")
        return proc

    def wait(self, timeout: float | None = None) -> bool:
        """Supervise until every worker exited (after ``stop``) or ``timeout`` passed.

        A worker that exits while the server is not stopping is restarted; more than five
        such exits within a minute stop the server and raise ``RuntimeError``.

        Returns:
            True when all workers have exited.
        """
        from multiprocessing.connection import wait as wait_any

        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            alive = [p for p in self._procs if p.exitcode is None]
            if not alive:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            wait_any([p.sentinel for p in alive], left)
            if self._stopping:
                continue
            for index, proc in enumerate(self._procs):
                if proc.exitcode is not None:
                    self._restart(index, proc)

    def _restart(self, index: int, proc: BaseProcess) -> None:
        now = time.monotonic()
        self._crashes = [t for t in self._crashes if now - t < _CRASH_WINDOW] + [now]
        if len(self._crashes) > _CRASH_LIMIT:
            self.stop(None)
            raise RuntimeError(
                f"plugrpc worker exited with code {proc.exitcode}; too many worker exits "
                f"({len(self._crashes)} within {_CRASH_WINDOW:.0f} s), the server stopped"
            )
        self._procs[index] = self._spawn()

    def _signal_stop(self) -> None:
        """Ask every worker to stop (SIGTERM: graceful, with the workers' grace)."""
        self._stopping = True
        for proc in self._procs:
            if proc.exitcode is None and proc.pid is not None:
                try:
                    os.kill(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def stop(self, grace: float | None = 5.0) -> None:
        """Stop every worker: SIGTERM (graceful stop with the workers' grace), then kill
        the ones still running ``grace`` + 5 seconds later."""
        self._signal_stop()
        limit = time.monotonic() + (grace or 0.0) + 5.0
        for proc in self._procs:
            proc.join(max(0.0, limit - time.monotonic()))
            if proc.exitcode is None:
                proc.kill()
                proc.join()

    def __enter__(self) -> ServerProcesses:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop(self._grace)


def start_server_processes(
    factory: Callable[[], Server | Coroutine[Any, Any, Server]],
    address: str,
    *,
    workers: int | None = None,
    grace: float | None = 5.0,
    use_uvloop: bool | None = None,
    start_method: str = "spawn",
    ready_timeout: float = 60.0,
) -> ServerProcesses:
    """Start ``workers`` processes that each serve ``factory()`` on ``address``'s port.

    Returns once every worker listens.

    Args:
        factory: a top-level function returning a ``Server`` (not started), or a coroutine
            function doing so; it runs in each worker.
        address: ``host:port`` (port 0 picks one port for all the workers).
        workers: number of processes (default: the number of CPUs).
        grace: seconds in-flight calls get when a worker stops.
        use_uvloop: as in ``run``.
        start_method: ``multiprocessing`` start method ("spawn", "forkserver", "fork").
        ready_timeout: seconds a worker may take to start listening.

    Raises:
        ValueError: a Unix socket address, or ``workers`` < 1.
        OSError: the port cannot be bound, or SO_REUSEPORT is missing.
        RuntimeError: a worker failed to start (the others are stopped).
    """
    return ServerProcesses(
        factory,
        address,
        workers if workers is not None else (os.cpu_count() or 1),
        grace,
        use_uvloop,
        start_method,
        ready_timeout,
    )


def serve_in_processes(
    factory: Callable[[], Server | Coroutine[Any, Any, Server]],
    address: str,
    *,
    workers: int | None = None,
    grace: float | None = 5.0,
    use_uvloop: bool | None = None,
    start_method: str = "spawn",
) -> None:
    """Serve on all cores until SIGINT or SIGTERM, then stop gracefully.

    ``start_server_processes`` with supervision (crashed workers are restarted) and
    signal handling, for a program's main function::

        def make_server() -> plugrpc.Server:
            return plugrpc.Server([Greeter()])

        if __name__ == "__main__":
            plugrpc.serve_in_processes(make_server, "[::]:50051", workers=4)
    """
    stop_requested = False
    servers: ServerProcesses | None = None

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True
        if servers is not None:
            servers._signal_stop()

    # Installed first: a signal while the workers start must not kill the supervisor.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        servers = start_server_processes(
            factory,
            address,
            workers=workers,
            grace=grace,
            use_uvloop=use_uvloop,
            start_method=start_method,
        )
        if stop_requested:
            servers._signal_stop()
        servers.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if servers is not None:
            servers.stop(grace)
