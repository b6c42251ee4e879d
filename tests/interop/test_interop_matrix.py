"""The interop matrix (tools/interop/matrix.py) in pytest: one test per pairing and transport.

Each test starts the pairing's server once, plays every standard case with client processes
(two at a time) and requires each case to pass, or to be skipped for a reason the matrix
states about a peer that truly cannot do it; plugrpc itself skips nothing. The Go pairings
need tools/interop/go/bin (``bash tools/interop/go/build.sh``): without it they are skipped
locally and fail under CI=true. A few more tests check that the programs can fail: a client
says why and exits 1 when an assertion does not hold.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[2]


def _load(path: str, name: str) -> ModuleType:
    """Import a tools/interop program as a module (they are scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


matrix = _load("tools/interop/matrix.py", "plugrpc_interop_matrix")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> object:
    return matrix.make_tls_files(tmp_path_factory.mktemp("interop-tls"))


def _pairing_id(pairing: tuple[str, str]) -> str:
    return f"{pairing[0]}-to-{pairing[1]}"


@pytest.mark.parametrize("transport", matrix.TRANSPORTS)
@pytest.mark.parametrize("pairing", matrix.PAIRINGS, ids=_pairing_id)
def test_matrix_row(
    pairing: tuple[str, str], transport: str, tls_files: object, tmp_path: Path
) -> None:
    missing = matrix.missing_programs(pairing)
    if missing:
        message = f"NOT BUILT: {', '.join(missing)} (run: bash tools/interop/go/build.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    row = matrix.run_row(pairing, transport, tls=tls_files, work_dir=tmp_path, jobs=2)
    table = matrix.format_table([row])
    assert row.count(matrix.FAIL) == 0, table
    assert [result.case for result in row.cases] == list(matrix.CLIENT_TEST_CASES), table
    for result in row.cases:
        assert result.outcome in (matrix.PASS, matrix.SKIP), table
        if result.outcome == matrix.SKIP:
            assert result.reason == matrix.skip_reason(pairing, result.case), table
    if pairing == ("plugrpc", "plugrpc"):
        assert row.count(matrix.SKIP) == 0, table


def test_only_other_peers_are_ever_skipped() -> None:
    assert matrix.SKIPS, "the skip table is empty"
    for (role, peer, case), reason in matrix.SKIPS.items():
        assert role in ("client", "server")
        assert peer != "plugrpc", f"plugrpc must skip nothing, but skips {case} as {role}"
        assert case in matrix.CLIENT_TEST_CASES
        assert len(reason) > 20


def _client(program: str, port: int, case: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / program),
            "--server_host=127.0.0.1",
            f"--server_port={port}",
            f"--test_case={case}",
            "--use_tls=false",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_a_failed_assertion_exits_1_with_the_reason(tmp_path: Path) -> None:
    # grpcio's server cannot check expect_compressed, so the plugrpc client's probe (an
    # uncompressed request that claims to be compressed) wrongly succeeds there.
    with matrix.running_server("grpcio", None, tmp_path / "server.log") as (port, _):
        done = _client("tools/interop/client.py", port, "client_compressed_unary")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "client_compressed_unary: FAIL" in done.stderr
    assert "expect_compressed" in done.stderr
    assert "want status INVALID_ARGUMENT" in done.stderr


def test_the_grpcio_client_names_what_grpcio_cannot_do() -> None:
    done = _client("tests/interop/grpcio_client.py", 9, "server_compressed_unary")
    assert done.returncode == 1
    assert "not supported: grpcio's client does not expose" in done.stderr


async def test_the_plugrpc_server_refuses_a_compressed_message_expected_uncompressed() -> None:
    # The standard cases only probe the other direction (uncompressed, expected compressed).
    server_module = _load("tools/interop/server.py", "plugrpc_interop_server")
    import interop_messages_pb2 as messages_pb2
    import interop_test_plugrpc as test_plugrpc
    import plugrpc

    server = plugrpc.Server()
    server.add_service(server_module.TestService(), server_module._served_descriptor())
    port = await server.start("127.0.0.1:0")
    try:
        async with plugrpc.Channel(f"127.0.0.1:{port}") as channel:
            stub = test_plugrpc.TestServiceStub(channel)
            for compression, expect in (("gzip", False), (None, True)):
                request = messages_pb2.SimpleRequest(
                    response_size=10,
                    payload=messages_pb2.Payload(body=bytes(1000)),
                    expect_compressed=messages_pb2.BoolValue(value=expect),
                )
                with pytest.raises(plugrpc.RpcError) as caught:
                    await stub.UnaryCall(request, compression=compression, timeout=10)
                assert caught.value.code() == plugrpc.StatusCode.INVALID_ARGUMENT
            ok = messages_pb2.SimpleRequest(
                response_size=10, expect_compressed=messages_pb2.BoolValue(value=True)
            )
            response = await stub.UnaryCall(ok, compression="gzip", timeout=10)
            assert len(response.payload.body) == 10
    finally:
        await server.stop(grace=1.0)


def test_unknown_flags_and_cases_are_usage_errors() -> None:
    for flags in (["--test_case=no_such_case"], ["--no_such_flag=1"], ["--use_tls=maybe"]):
        done = subprocess.run(
            [sys.executable, str(REPO / "tools" / "interop" / "client.py"), *flags],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, (flags, done.stderr)
        assert "usage:" in done.stderr
