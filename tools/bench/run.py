"""plugrpc against grpcio (blocking and asyncio) and grpclib, on this machine, in one run.

Usage, from the repository root (Linux; reads /proc)::

    hatch run python tools/bench/run.py quick          # about a minute
    hatch run python tools/bench/run.py full           # about 9 minutes: the published table
    hatch run python tools/bench/run.py smoke --impls plugrpc   # seconds: CI's check

Each implementation is the client and the server of itself (tests/protos/echo.proto, the
same handlers, the same payloads), client and server in separate processes on loopback.
Server processes live for the whole run (fresh ones for the memory rows); each
implementation has one long-lived client process that runs the scenarios on command
(``worker.py``). Scenarios are interleaved: for every scenario, every implementation runs
once per round, in an order that rotates between rounds, and the medians over the rounds are
reported. CPU time is taken from /proc (server) and ``time.process_time`` (client) over the
measured part only, bracketed by marks the client sends; on a shared machine it is steadier
than wall-clock rates, so it is reported next to them.

Output: a markdown table of the medians, a table of plugrpc's ratio to each peer, the issue
targets with their measured ratios, and the JSON of every run (``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from _proc import cpu_seconds, rss_bytes, summarize  # noqa: E402
from _report import render  # noqa: E402

WORKER = str(HERE / "worker.py")
PEERS = ("grpcio-sync", "grpcio-aio", "grpclib")
ALL_IMPLS = ("plugrpc", "plugrpc-uvloop", "grpcio-sync", "grpcio-aio", "grpclib", "grpclib-uvloop")

# Scenario rows: (row name, worker scenario, params) per mode.
MODES: dict[str, dict[str, Any]] = {
    "smoke": {
        "rounds": 1,
        "impls": ("plugrpc",),
        "rows": [
            ("unary1", "unary1", {"calls": 200, "warmup": 50}),
            ("unary100", "unary100", {"concurrency": 100, "seconds": 0.3}),
            ("server_stream", "server_stream", {"messages": 2000}),
            ("client_stream", "client_stream", {"messages": 2000}),
            ("bidi", "bidi", {"round_trips": 200}),
            ("echo_1MiB", "echo", {"size": 1 << 20, "calls": 3}),
            ("echo_16MiB", "echo", {"size": 1 << 24, "calls": 1}),
            ("idle_connections", "idle_connections", {"connections": 5}),
            ("open_streams", "open_streams", {"connections": 2, "streams": 20}),
        ],
        "inmemory_seconds": 0.3,
        "scaling": None,
    },
    "quick": {
        "rounds": 1,
        "impls": ("plugrpc", "plugrpc-uvloop", "grpcio-sync", "grpcio-aio", "grpclib"),
        "rows": [
            ("unary1", "unary1", {"calls": 1500}),
            ("unary100", "unary100", {"concurrency": 100, "seconds": 1.0}),
            ("server_stream", "server_stream", {"messages": 20000}),
            ("client_stream", "client_stream", {"messages": 20000}),
            ("bidi", "bidi", {"round_trips": 1500}),
            ("echo_1MiB", "echo", {"size": 1 << 20, "calls": 20}),
            ("echo_16MiB", "echo", {"size": 1 << 24, "calls": 2}),
            ("idle_connections", "idle_connections", {"connections": 50}),
            ("open_streams", "open_streams", {"connections": 2, "streams": 200}),
        ],
        "inmemory_seconds": 1.0,
        "scaling": None,
    },
    "full": {
        "rounds": 3,
        "impls": ALL_IMPLS,
        "rows": [
            ("unary1", "unary1", {"calls": 10000}),
            ("unary100", "unary100", {"concurrency": 100, "seconds": 5.0}),
            ("server_stream", "server_stream", {"messages": 100000}),
            ("client_stream", "client_stream", {"messages": 100000}),
            ("bidi", "bidi", {"round_trips": 10000}),
            ("echo_1MiB", "echo", {"size": 1 << 20, "calls": 100}),
            ("echo_16MiB", "echo", {"size": 1 << 24, "calls": 8}),
            ("idle_connections", "idle_connections", {"connections": 200}),
            ("open_streams", "open_streams", {"connections": 10, "streams": 1000}),
        ],
        "inmemory_seconds": 3.0,
        "scaling": {
            "workers": (1, 2),
            "clients": 2,
            "channels": 4,
            "concurrency": 32,
            "seconds": 5.0,
        },
    },
}
MEMORY_ROWS = {"idle_connections", "open_streams"}
COMMAND_TIMEOUT = 300.0  # seconds for one scenario command


class _Logs:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="plugrpc-bench-"))

    def open(self, name: str) -> Any:
        return open(self.dir / f"{name}.log", "ab")

    def tail(self, name: str, lines: int = 15) -> str:
        path = self.dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class _Lines:
    """Lines from a child's stdout, read with a time limit (select on the raw pipe)."""

    def __init__(self, stream: Any, name: str, logs: _Logs) -> None:
        self._fd = stream.fileno()
        self._buffer = b""
        self._name = name
        self._logs = logs

    def read(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{self._name}: no answer within {timeout:.0f} s")
            ready, _, _ = select.select([self._fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._fd, 65536)
            if not chunk:
                raise RuntimeError(f"{self._name} exited:\n{self._logs.tail(self._name)}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()


def _spawn_args(impl: str) -> tuple[str, dict[str, str] | None]:
    """``plugrpc@base`` runs ``plugrpc`` with the ``--baseline`` tree first on sys.path."""
    name, _, variant = impl.partition("@")
    if not variant:
        return name, None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [BASELINE[0], env.get("PYTHONPATH")]))
    return name, env


BASELINE: list[str] = [""]


class Server:
    """A server process; ``port`` once it announced it."""

    def __init__(self, impl: str, logs: _Logs, options: dict[str, Any] | None = None) -> None:
        self.impl = impl
        name, env = _spawn_args(impl)
        self.proc = subprocess.Popen(
            [sys.executable, WORKER, "server", name, "--options", json.dumps(options or {})],
            env=env,
            stdout=subprocess.PIPE,
            stderr=logs.open(f"{impl}-server"),
            stdin=subprocess.DEVNULL,
        )
        self.port = 0
        self.pids = [self.proc.pid]
        lines = _Lines(self.proc.stdout, f"{impl}-server", logs)
        try:
            while not self.port:
                line = lines.read(60)
                if line.startswith("@@pids "):
                    self.pids = json.loads(line[7:])
                elif line.startswith("@@port "):
                    self.port = int(line.split()[1])
        except RuntimeError:
            self.stop()
            raise

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def rss(self) -> int:
        return sum(rss_bytes(pid) for pid in self.pids)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Client:
    """A long-lived client process of one implementation."""

    def __init__(self, impl: str, logs: _Logs) -> None:
        self.impl = impl
        self._logs = logs
        name, env = _spawn_args(impl)
        self.proc = subprocess.Popen(
            [sys.executable, WORKER, "client", name],
            env=env,
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,
            stderr=logs.open(f"{impl}-client"),
        )
        self._lines = _Lines(self.proc.stdout, f"{impl}-client", logs)
        if not self._line(60).startswith("@@ready"):
            raise RuntimeError(f"{impl} client did not start:\n{logs.tail(impl + '-client')}")

    def _line(self, timeout: float = COMMAND_TIMEOUT) -> str:
        try:
            return self._lines.read(timeout)
        except RuntimeError:
            self.proc.kill()
            self.proc.wait()
            raise

    def _send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def run(self, scenario: str, server: Server, params: dict[str, Any]) -> dict[str, Any]:
        """Run one scenario against ``server``; adds server CPU (marks) and RSS (holds)."""
        command = {"cmd": "run", "scenario": scenario, "port": server.port, "params": params}
        self._send(json.dumps(command))
        marks: dict[str, float] = {}
        holds: dict[str, int] = {}
        deadline = time.monotonic() + params.get("timeout", COMMAND_TIMEOUT)
        while True:
            line = self._line(max(deadline - time.monotonic(), 0.001))
            if line.startswith("@@mark "):
                marks[json.loads(line[7:])] = server.cpu()
            elif line.startswith("@@hold "):
                state = json.loads(line[7:])
                time.sleep(0.3)  # let the server settle (freed buffers, finished tasks)
                holds[state["phase"]] = server.rss()
                self._send("release")
            elif line.startswith("@@result "):
                result: dict[str, Any] = json.loads(line[9:])
                break
        if "start" in marks and "end" in marks:
            result["server_cpu"] = marks["end"] - marks["start"]
        if "baseline" in holds and "loaded" in holds:
            result["server_rss_delta"] = holds["loaded"] - holds["baseline"]
        return result

    def close(self) -> None:
        try:
            self._send(json.dumps({"cmd": "exit"}))
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def derive(row: str, r: dict[str, Any]) -> dict[str, float]:
    """Turn one raw scenario result into the reported metrics."""
    if "error" in r:
        return {}
    n = r["count"]
    out: dict[str, float] = {}
    if row in MEMORY_ROWS:
        per = 1000 if row == "open_streams" else 1
        unit = 2**20 if row == "open_streams" else 1024
        out["server_mem"] = r.get("server_rss_delta", 0) / n * per / unit
        out["client_mem"] = r["client_rss_delta"] / n * per / unit
        return out
    wall = r["wall"]
    out["rate"] = n / wall
    out["client_us"] = r["client_cpu"] / n * 1e6
    if "server_cpu" in r:
        out["server_us"] = r["server_cpu"] / n * 1e6
    if "p50_us" in r:
        out["p50_us"] = r["p50_us"]
        out["p99_us"] = r["p99_us"]
    if "bytes" in r:
        out["rate"] = n * r["bytes"] / wall / 1e6
    return out


def run_inmemory(seconds: float, logs: _Logs) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(HERE / "inmemory.py"), "--seconds", str(seconds), "--all"],
        capture_output=True,
        text=True,
        timeout=seconds * 20 + 120,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def run_scaling(config: dict[str, Any], logs: _Logs) -> dict[str, Any]:
    """plugrpc server in 1..N worker processes (SO_REUSEPORT) under several client processes."""
    results: dict[str, Any] = {}
    for workers in config["workers"]:
        server = Server("plugrpc-uvloop", logs, {"workers": workers})
        clients = [Client("plugrpc-uvloop", logs) for _ in range(config["clients"])]
        try:
            params = {
                "concurrency": config["concurrency"],
                "channels": config["channels"],
                "seconds": config["seconds"],
            }
            cpu0 = server.cpu()
            start = time.perf_counter()
            procs = []
            for client in clients:
                command = {"cmd": "run", "scenario": "unary100", "port": server.port}
                command["params"] = params
                client._send(json.dumps(command))
                procs.append(client)
            total = 0
            walls = []
            for client in procs:
                while True:
                    line = client._line()
                    if line.startswith("@@result "):
                        result = json.loads(line[9:])
                        total += result.get("count", 0)
                        walls.append(result.get("wall", config["seconds"]))
                        break
            wall = time.perf_counter() - start
            results[str(workers)] = {
                "qps": total / max(walls),
                "server_cpu_per_s": (server.cpu() - cpu0) / wall,
            }
        finally:
            for client in clients:
                client.close()
            server.stop()
    return results


def machine_info() -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for dist in ("grpcio", "grpclib", "h2", "hpack", "protobuf", "uvloop", "plugrpc"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "versions": versions,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", choices=tuple(MODES))
    parser.add_argument("--impls", help="comma-separated subset of " + ",".join(ALL_IMPLS))
    parser.add_argument("--rows", help="comma-separated subset of the rows")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json", help="where to write the JSON (default: a temp file)")
    parser.add_argument("--no-inmemory", action="store_true")
    parser.add_argument("--scaling", action="store_true", help="also run the worker-scaling row")
    parser.add_argument(
        "--baseline",
        help="a source tree (a directory put first on PYTHONPATH, e.g. an older "
        "plugrpc_transport): adds a `<impl>@base` run of each plugrpc implementation",
    )
    args = parser.parse_args()
    mode = MODES[args.mode]
    impls = tuple(args.impls.split(",")) if args.impls else mode["impls"]
    if args.baseline:
        BASELINE[0] = str(Path(args.baseline).resolve())
        impls = tuple(
            x for i in impls for x in ((i, i + "@base") if i.startswith("plugrpc") else (i,))
        )
    rows = [r for r in mode["rows"] if not args.rows or r[0] in args.rows.split(",")]
    rounds = args.rounds or mode["rounds"]
    logs = _Logs()
    data: dict[str, Any] = {"meta": machine_info(), "mode": args.mode, "impls": impls}
    data["meta"]["rounds"] = rounds
    data["params"] = {name: params for name, _, params in rows}
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {r[0]: {i: [] for i in impls} for r in rows}
    started = time.monotonic()

    servers: dict[str, Server] = {}
    clients: dict[str, Client] = {}
    try:
        for impl in impls:
            clients[impl] = Client(impl, logs)
            servers[impl] = Server(impl, logs)
        for rnd in range(rounds):
            for index, (name, scenario, params) in enumerate(rows):
                order = list(impls[rnd % len(impls) :] + impls[: rnd % len(impls)])
                if index % 2:
                    order.reverse()
                for impl in order:
                    fresh = fresh_client = None
                    server = servers[impl]
                    client = clients[impl]
                    if name in MEMORY_ROWS:
                        # Fresh processes on both ends: memory a process once used and
                        # freed would hide what the row costs.
                        options: dict[str, Any] = {}
                        if name == "open_streams" and impl == "grpcio-sync":
                            options["workers"] = params["streams"] + 50
                        fresh = server = Server(impl, logs, options)
                        fresh_client = client = Client(impl, logs)
                    try:
                        result = client.run(scenario, server, params)
                    except RuntimeError as exc:
                        result = {"error": str(exc)}
                        if fresh_client is None:
                            clients[impl] = Client(impl, logs)
                    finally:
                        if fresh is not None:
                            fresh.stop()
                        if fresh_client is not None:
                            fresh_client.close()
                    raw[name][impl].append(result)
                    status = result.get("error") or json.dumps(derive(name, result))
                    clock = time.monotonic() - started
                    print(
                        f"[{clock:6.1f}s] r{rnd + 1} {name:16} {impl:15} {status}",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        for client in clients.values():
            client.close()
        for server in servers.values():
            server.stop()
    data["raw"] = raw
    data["summary"] = {
        name: {impl: summarize([derive(name, r) for r in runs]) for impl, runs in by_impl.items()}
        for name, by_impl in raw.items()
    }
    if not args.no_inmemory and any(i.startswith("plugrpc") for i in impls):
        inmem = [run_inmemory(mode["inmemory_seconds"], logs) for _ in range(rounds)]
        data["inmemory_raw"] = inmem
        good = [r for r in inmem if "error" not in r]
        data["inmemory"] = {
            key: summarize([r[key] for r in good]) for key in (good[0] if good else {})
        }
        if not good:
            data["inmemory_error"] = inmem[0].get("error")
    if args.scaling or (mode["scaling"] and "plugrpc-uvloop" in impls):
        data["scaling"] = run_scaling(mode["scaling"] or MODES["full"]["scaling"], logs)
    data["meta"]["loadavg_end"] = os.getloadavg()
    data["meta"]["seconds"] = round(time.monotonic() - started, 1)
    print(render(data))
    path = (
        Path(args.json)
        if args.json
        else Path(tempfile.gettempdir()) / f"plugrpc-bench-{args.mode}.json"
    )
    path.write_text(json.dumps(data, indent=1))
    print(f"\nJSON: {path}\nlogs: {logs.dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
