"""Worker processes on one port (SO_REUSEPORT), their supervision, and ``run``'s loop choice.

In-process tests start workers with ``fork`` (a test module cannot be imported by a spawned
interpreter); one test runs a real program with ``serve_in_processes`` and the default
``spawn`` start method in a subprocess, and stops it with SIGINT like a user would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import plugrpc
import pytest
from plugrpc import MethodHandler, MethodKind, StatusCode, run, start_server_processes


async def _pid(request: bytes, context: plugrpc.ServicerContext) -> bytes:
    if request:
        await asyncio.sleep(float(request))
    return str(os.getpid()).encode()


def make_server() -> plugrpc.Server:
    handlers = {"Pid": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=_pid)}
    return plugrpc.Server(
        generic_handlers=[plugrpc.method_handlers_generic_handler("w.Svc", handlers)]
    )


async def _pids(port: int, connections: int, delay: bytes = b"") -> list[int]:
    seen = []
    for _ in range(connections):
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            pid = channel.unary_unary("/w.Svc/Pid", bytes, bytes)
            seen.append(int(await pid(delay, timeout=5)))
    return seen


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie child of ours still answers kill(0): look at its state.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_workers_share_one_port_and_stop():
    servers = start_server_processes(make_server, "127.0.0.1:0", workers=2, start_method="fork")
    try:
        assert servers.port > 0 and servers.address == f"127.0.0.1:{servers.port}"
        pids = servers.pids
        assert len(pids) == 2
        seen = asyncio.run(_pids(servers.port, 16))
        # Connections are spread by the kernel: with 16 of them, both workers serve some.
        assert set(seen) == set(pids)
    finally:
        servers.stop(grace=1)
    assert servers.pids == []
    assert all(_gone(pid) for pid in pids)


def test_a_crashed_worker_is_replaced():
    with start_server_processes(
        make_server, "127.0.0.1:0", workers=2, start_method="fork", grace=1
    ) as servers:
        victim, survivor = servers.pids
        os.kill(victim, signal.SIGKILL)
        assert servers.wait(timeout=3) is False  # supervising: restarts, never "all exited"
        pids = servers.pids
        assert survivor in pids and victim not in pids and len(pids) == 2
        assert set(asyncio.run(_pids(servers.port, 12))) <= set(pids)


def test_stop_lets_in_flight_calls_finish():
    servers = start_server_processes(make_server, "127.0.0.1:0", workers=1, start_method="fork")
    result: list[object] = []

    def slow_call() -> None:
        try:
            result.extend(asyncio.run(_pids(servers.port, 1, delay=b"0.8")))
        except Exception as exc:  # reported by the assertion below
            result.append(exc)

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.4)  # the call is in the handler now
    started = time.monotonic()
    servers.stop(grace=5)
    caller.join(10)
    assert [type(r) for r in result] == [int], result
    assert time.monotonic() - started < 5  # the worker exited as soon as its call ended


def test_unix_socket_address_is_refused():
    with pytest.raises(ValueError, match="Unix socket"):
        start_server_processes(make_server, "unix:/tmp/x.sock", workers=1)
    with pytest.raises(ValueError, match="workers"):
        start_server_processes(make_server, "127.0.0.1:0", workers=0)


def test_run_uses_uvloop_when_installed():
    async def loop_module() -> str:
        return type(asyncio.get_running_loop()).__module__

    try:
        import uvloop  # noqa: F401
    except ImportError:
        assert run(loop_module()).startswith("asyncio")
        with pytest.raises(ImportError, match="plugrpc\\[uvloop\\]"):
            run(loop_module(), use_uvloop=True)
    else:
        assert run(loop_module()).startswith("uvloop")
        assert run(loop_module(), use_uvloop=True).startswith("uvloop")
    assert run(loop_module(), use_uvloop=False).startswith("asyncio")
    # The global policy is never touched.
    assert type(asyncio.get_event_loop_policy()).__module__.startswith("asyncio")


PROGRAM = textwrap.dedent(
    """
    import asyncio, os, sys
    import plugrpc
    from plugrpc import MethodHandler, MethodKind

    async def pid(request, context):
        return str(os.getpid()).encode()

    def make_server():
        handlers = {"Pid": MethodHandler(kind=MethodKind.UNARY_UNARY, behavior=pid)}
        return plugrpc.Server(
            generic_handlers=[plugrpc.method_handlers_generic_handler("w.Svc", handlers)]
        )

    if __name__ == "__main__":
        plugrpc.serve_in_processes(make_server, f"127.0.0.1:{sys.argv[1]}", workers=2, grace=2)
        print("stopped", flush=True)
    """
)


def test_serve_in_processes_program_stops_on_sigint(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = tmp_path / "server.py"
    script.write_text(PROGRAM)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(port)], stdout=subprocess.PIPE, text=True
    )
    try:

        async def first_calls() -> list[int]:
            async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
                call = channel.unary_unary("/w.Svc/Pid", bytes, bytes)
                return [int(await call(b"", timeout=20, wait_for_ready=True))]

        pids = asyncio.run(first_calls())
        pids += asyncio.run(_pids(port, 6))
        assert all(pid != proc.pid for pid in pids)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert "stopped" in out
        assert all(_gone(pid) for pid in set(pids))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_calls_fail_fast_once_workers_are_gone():
    servers = start_server_processes(make_server, "127.0.0.1:0", workers=1, start_method="fork")
    port = servers.port
    servers.stop(grace=0)

    async def call() -> None:
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            await channel.unary_unary("/w.Svc/Pid", bytes, bytes)(b"", timeout=3)

    with pytest.raises(plugrpc.RpcError) as info:
        asyncio.run(call())
    assert info.value.code() in (StatusCode.UNAVAILABLE, StatusCode.DEADLINE_EXCEEDED)
