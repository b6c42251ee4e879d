"""Rough side-by-side unary QPS: plugrpc vs grpcio (sync and asyncio), one call in flight.

Client and server run in separate processes on loopback; implementations are interleaved over
several rounds and the median is reported with plugrpc's ratio to each peer. CPU time per call
(client and server, from /proc) is reported too: it is steadier than wall time on a shared
machine. The full benchmark suite is tools/bench's job in a later issue; this is the quick check.

Usage, from the repository root:
``hatch run python tools/bench/unary_qps.py [--seconds 3] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "gen"))

IMPLS = ("plugrpc", "grpcio-sync", "grpcio-aio")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# -- servers ------------------------------------------------------------------------------


def serve(impl: str) -> None:
    import echo_pb2

    if impl == "plugrpc":
        import echo_plugrpc
        import plugrpc

        class Echo(echo_plugrpc.EchoBase):
            async def Unary(self, request, context):  # type: ignore[no-untyped-def]
                return echo_pb2.EchoResponse(message=request.message)

        async def main() -> None:
            server = plugrpc.Server([Echo()])
            port = await server.start("127.0.0.1:0")
            print(port, flush=True)
            await server.wait_for_termination()

        asyncio.run(main())
    elif impl == "grpcio-sync":
        from concurrent import futures

        import echo_pb2_grpc
        import grpc

        class GEcho(echo_pb2_grpc.EchoServicer):
            def Unary(self, request, context):  # type: ignore[no-untyped-def]
                return echo_pb2.EchoResponse(message=request.message)

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        echo_pb2_grpc.add_EchoServicer_to_server(GEcho(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        print(port, flush=True)
        server.wait_for_termination()
    else:
        import echo_pb2_grpc
        import grpc

        class AEcho(echo_pb2_grpc.EchoServicer):
            async def Unary(self, request, context):  # type: ignore[no-untyped-def]
                return echo_pb2.EchoResponse(message=request.message)

        async def amain() -> None:
            server = grpc.aio.server()
            echo_pb2_grpc.add_EchoServicer_to_server(AEcho(), server)
            port = server.add_insecure_port("127.0.0.1:0")
            await server.start()
            print(port, flush=True)
            await server.wait_for_termination()

        asyncio.run(amain())


# -- clients ------------------------------------------------------------------------------


def client(impl: str, port: int, seconds: float) -> None:
    import echo_pb2

    request = echo_pb2.EchoRequest(message="0123456789")
    if impl == "plugrpc":
        import echo_plugrpc
        import plugrpc

        async def main() -> tuple[int, float]:
            async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
                stub = echo_plugrpc.EchoStub(channel)
                for _ in range(200):
                    await stub.Unary(request)
                count = 0
                start = time.perf_counter()
                cpu0 = time.process_time()
                end = start + seconds
                while time.perf_counter() < end:
                    await stub.Unary(request)
                    count += 1
                return count, time.process_time() - cpu0

        count, cpu = asyncio.run(main())
    elif impl == "grpcio-sync":
        import echo_pb2_grpc
        import grpc

        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = echo_pb2_grpc.EchoStub(channel)
            for _ in range(200):
                stub.Unary(request)
            count = 0
            cpu0 = time.process_time()
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                stub.Unary(request)
                count += 1
            cpu = time.process_time() - cpu0
    else:
        import echo_pb2_grpc
        import grpc

        async def amain() -> tuple[int, float]:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = echo_pb2_grpc.EchoStub(channel)
                for _ in range(200):
                    await stub.Unary(request)
                count = 0
                cpu0 = time.process_time()
                end = time.perf_counter() + seconds
                while time.perf_counter() < end:
                    await stub.Unary(request)
                    count += 1
                return count, time.process_time() - cpu0

        count, cpu = asyncio.run(amain())
    print(json.dumps({"count": count, "cpu": cpu}), flush=True)


def run_once(impl: str, seconds: float) -> dict[str, float]:
    me = [sys.executable, __file__]
    server = subprocess.Popen([*me, "--serve", impl], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        server_cpu0 = _cpu_seconds(server.pid)
        out = subprocess.run(
            [*me, "--client", impl, "--port", str(port), "--seconds", str(seconds)],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        )
        server_cpu = _cpu_seconds(server.pid) - server_cpu0
    finally:
        server.kill()
        server.wait()
    result = json.loads(out.stdout.strip().splitlines()[-1])
    count = result["count"]
    return {
        "qps": count / seconds,
        "client_us": result["cpu"] / count * 1e6,
        "server_us": server_cpu / count * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve")
    parser.add_argument("--client")
    parser.add_argument("--port", type=int)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.client:
        client(args.client, args.port, args.seconds)
        return
    runs: dict[str, list[dict[str, float]]] = {impl: [] for impl in IMPLS}
    for _ in range(args.rounds):
        for impl in IMPLS:
            runs[impl].append(run_once(impl, args.seconds))
    med = {
        impl: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for impl, rs in runs.items()
    }
    print("| impl | unary QPS (1 in flight) | client CPU us/call | server CPU us/call |")
    print("|---|---|---|---|")
    for impl, m in med.items():
        print(f"| {impl} | {m['qps']:.0f} | {m['client_us']:.0f} | {m['server_us']:.0f} |")
    ours = med["plugrpc"]
    for impl in IMPLS[1:]:
        print(
            f"plugrpc / {impl}: QPS x{ours['qps'] / med[impl]['qps']:.2f}, "
            f"server CPU per call x{ours['server_us'] / med[impl]['server_us']:.2f}"
        )


if __name__ == "__main__":
    main()
