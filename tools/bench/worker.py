"""One benchmark process: a server, or a client that runs scenarios on command.

``worker.py server IMPL [--options JSON]`` serves tests/protos/echo.proto on an ephemeral
loopback port, prints ``@@port N`` and serves until it is killed.

``worker.py client IMPL`` reads one JSON command per line on stdin and answers on stdout
with lines starting ``@@``: ``{"cmd": "run", "scenario": ..., "port": ..., "params": {...}}``
runs a scenario and prints ``@@result {...}``; a memory scenario first prints
``@@hold {...}`` and waits for a ``release`` line (the driver measures the server then);
``{"cmd": "exit"}`` ends the process. The client process lives for the whole benchmark, so
each implementation pays its import and start-up cost once.

Implementations: ``plugrpc``, ``plugrpc-uvloop``, ``grpcio-sync``, ``grpcio-aio``,
``grpclib``, ``grpclib-uvloop``. The ``-uvloop`` variants run the same code on uvloop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "tests" / "gen", Path(__file__).resolve().parent):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

IMPLS = ("plugrpc", "plugrpc-uvloop", "grpcio-sync", "grpcio-aio", "grpclib", "grpclib-uvloop")


def _emit(kind: str, payload: Any) -> None:
    sys.stdout.write(f"@@{kind} {json.dumps(payload)}\n")
    sys.stdout.flush()


def _loop_factory(impl: str) -> Any:
    if impl.endswith("-uvloop"):
        import uvloop

        return uvloop.new_event_loop
    return None


# -- server ---------------------------------------------------------------------------------


def serve(impl: str, options: dict[str, Any]) -> None:
    def announce(port: int) -> None:
        _emit("port", port)

    if impl.startswith("plugrpc") and options.get("workers"):
        serve_processes(impl, options)
        return
    if impl == "grpcio-sync":
        from _impl_grpcio import serve_sync

        serve_sync(announce, options)
        return
    if impl.startswith("plugrpc"):
        from _impl_plugrpc import serve as coro
    elif impl == "grpcio-aio":
        from _impl_grpcio import serve_aio as coro
    else:
        from _impl_grpclib import serve as coro
    with asyncio.Runner(loop_factory=_loop_factory(impl)) as runner:
        runner.run(coro(announce, options))


def serve_processes(impl: str, options: dict[str, Any]) -> None:
    """plugrpc in ``workers`` processes on one port (plugrpc's SO_REUSEPORT supervisor)."""
    import signal

    import plugrpc
    from _impl_plugrpc import make_server

    servers = plugrpc.start_server_processes(
        make_server,
        "127.0.0.1:0",
        workers=options["workers"],
        grace=0,
        use_uvloop=impl.endswith("-uvloop"),
    )
    signal.signal(signal.SIGTERM, lambda *_: servers._signal_stop())
    _emit("pids", servers.pids)
    _emit("port", servers.port)
    servers.wait()


# -- client ---------------------------------------------------------------------------------


class _Control:
    """Marks and holds travel as ``@@`` lines; a hold waits for the driver's ``release``."""

    @staticmethod
    def mark(label: str) -> None:
        _emit("mark", label)

    @staticmethod
    def hold(state: dict[str, Any]) -> None:
        _emit("hold", state)
        line = sys.stdin.readline()
        if line.strip() != "release":
            raise SystemExit(f"expected 'release', got {line!r}")


def client(impl: str) -> None:
    from _scenarios import SCENARIOS

    runner: asyncio.Runner | None = None
    sync_scenarios: dict[str, Any] = {}
    if impl == "grpcio-sync":
        from _impl_grpcio import SYNC_SCENARIOS

        sync_scenarios = SYNC_SCENARIOS
        make: Any = None
    else:
        if impl.startswith("plugrpc"):
            from _impl_plugrpc import Adapter as make
        elif impl == "grpcio-aio":
            from _impl_grpcio import AioAdapter as make
        else:
            from _impl_grpclib import Adapter as make
        runner = asyncio.Runner(loop_factory=_loop_factory(impl))
    _emit("ready", {"impl": impl})
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "exit":
            break
        name, port, params = command["scenario"], command["port"], command["params"]
        try:
            if runner is None:
                result = sync_scenarios[name](port, params, _Control)
            else:
                result = runner.run(SCENARIOS[name](make, port, params, _Control))
        except Exception as exc:
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        _emit("result", result)
    if runner is not None:
        runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("role", choices=("server", "client"))
    parser.add_argument("impl", choices=IMPLS)
    parser.add_argument("--options", default="{}", help="server options, JSON")
    args = parser.parse_args()
    if args.role == "server":
        serve(args.impl, json.loads(args.options))
    else:
        client(args.impl)


if __name__ == "__main__":
    main()
