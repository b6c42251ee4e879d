"""The grpc-go interop peer builds offline from Debian's packages and behaves as documented.

tools/interop/go/build.sh builds tools/interop/go/bin/interop_{server,client} on grpc-go
1.33 from /usr/share/gocode. Without Go and grpc-go's source these tests skip, except under
CI=true, where the toolchain is part of the job (.ci/packages/interop-go.txt) and a missing
one is a failure. The full case matrix is tools/interop/matrix.py's job; here the Go client
plays a few cases against the Go server, enough to show that the binaries work and that the
grpc-go 1.33 limits documented in tools/interop/go/README.md are real and reported clearly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GO_DIR = REPO / "tools" / "interop" / "go"
BUILD_SH = GO_DIR / "build.sh"
SERVER = GO_DIR / "bin" / "interop_server"
CLIENT = GO_DIR / "bin" / "interop_client"
GRPC_GO_SRC = Path("/usr/share/gocode/src/google.golang.org/grpc")

SERVER_FLAGS = ("-port", "-use_tls", "-tls_cert_file", "-tls_key_file")
CLIENT_FLAGS = (
    "-server_host",
    "-server_port",
    "-test_case",
    "-use_tls",
    "-ca_file",
    "-server_host_override",
    "-soak_iterations",
    "-soak_max_failures",
    "-soak_per_iteration_max_acceptable_latency_ms",
    "-soak_overall_timeout_seconds",
    "-soak_min_time_ms_between_rpcs",
    "-soak_request_size",
    "-soak_response_size",
)


def _missing_toolchain() -> list[str]:
    missing = [tool for tool in ("go", "protoc") if shutil.which(tool) is None]
    if not (GRPC_GO_SRC / "server.go").is_file():
        missing.append(str(GRPC_GO_SRC))
    return missing


def _run(*args: str | Path, timeout: float = 30, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )


@pytest.fixture(scope="module")
def built() -> None:
    """Builds the binaries once for this module (a no-op when they are up to date)."""
    missing = _missing_toolchain()
    if missing:
        message = f"Go toolchain for the grpc-go interop peer missing: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI installs .ci/packages/interop-go.txt")
        pytest.skip(message)
    # From scratch this compiles grpc-go (about 13 s on 2 cores); afterwards it is a stamp check.
    proc = _run("bash", BUILD_SH, timeout=100)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.access(SERVER, os.X_OK)
    assert os.access(CLIENT, os.X_OK)


@pytest.fixture(scope="module")
def go_server(built: None) -> Iterator[int]:
    """A plaintext Go interop server on a free port; yields the port."""
    proc = subprocess.Popen(
        [str(SERVER), "--port=0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the server prints its ready line once it listens
        match = re.search(r"on port (\d+)$", line.strip())
        assert match, f"unexpected ready line {line!r}"
        yield int(match.group(1))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_build_is_idempotent_and_go_sources_are_clean(built: None) -> None:
    proc = _run("bash", BUILD_SH, "--check", timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "up to date" in proc.stdout
    assert "gofmt and go vet clean" in proc.stdout


def test_build_names_the_missing_debian_packages() -> None:
    # Needs no Go at all: the toolchain check runs first.
    proc = _run("bash", BUILD_SH, PLUGRPC_GOCODE="/nonexistent/gocode")
    assert proc.returncode == 1
    assert "golang-google-grpc-dev" in proc.stderr
    assert "golang-github-golang-protobuf-1-3-dev" in proc.stderr
    assert ".ci/packages/interop-go.txt" in proc.stderr


@pytest.mark.parametrize(("binary", "flags"), [(SERVER, SERVER_FLAGS), (CLIENT, CLIENT_FLAGS)])
def test_help_lists_the_standard_flags(built: None, binary: Path, flags: tuple[str, ...]) -> None:
    proc = _run(binary, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(f"usage: {binary.name}")
    for flag in flags:
        assert re.search(rf"^\s+{re.escape(flag)}\b", proc.stderr, re.MULTILINE), flag


def test_client_usage_errors_exit_2(built: None) -> None:
    proc = _run(CLIENT, "--test_case=no_such_case")
    assert proc.returncode == 2
    assert 'unknown test case "no_such_case"' in proc.stderr
    proc = _run(CLIENT, "--test_case=rpc_soak", "--soak_overall_timeout_seconds=0")
    assert proc.returncode == 2
    assert "--soak_overall_timeout_seconds must be positive" in proc.stderr


@pytest.mark.parametrize(
    "case",
    [
        "empty_unary",
        "custom_metadata",
        "special_status_message",
        "unimplemented_method",
        "client_compressed_unary",
        "client_compressed_streaming",
        "cancel_after_first_response",
        "channel_soak",
    ],
)
def test_go_client_passes_against_go_server(go_server: int, case: str) -> None:
    proc = _run(CLIENT, f"--server_port={go_server}", f"--test_case={case}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"interop_client: {case} passed in" in proc.stdout


@pytest.mark.parametrize("case", ["server_compressed_unary", "server_compressed_streaming"])
def test_go_server_refuses_response_compression_it_cannot_do(go_server: int, case: str) -> None:
    # The two documented server skips: the call fails loudly rather than with a wrong flag.
    proc = _run(CLIENT, f"--server_port={go_server}", f"--test_case={case}")
    assert proc.returncode == 1
    assert f"interop_client: {case} FAILED" in proc.stderr
    assert "code = Unimplemented" in proc.stderr
    assert "interop_server (grpc-go 1.33) cannot send" in proc.stderr


def test_go_client_fails_when_the_server_is_unreachable(built: None) -> None:
    proc = _run(CLIENT, "--server_port=1", "--test_case=empty_unary")
    assert proc.returncode == 1
    assert "interop_client: empty_unary FAILED" in proc.stderr
    assert "Unavailable" in proc.stderr
