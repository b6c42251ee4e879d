"""The interop matrix: every case, in every pairing of client and server, plaintext and TLS.

Run from the repository root with the default env's interpreter::

    python tools/interop/matrix.py                       # everything
    python tools/interop/matrix.py --pairings=grpcio:plugrpc --transports=tls --jobs=3
    python tools/interop/matrix.py --cases=large_unary,ping_pong

Pairings are ``client:server``: plugrpc:plugrpc, plugrpc:grpcio, grpcio:plugrpc,
plugrpc:go, go:plugrpc. For each pairing and transport one server process is started (on a
port it picks and prints, TLS with a throwaway CA and server certificate made here with trustme for
``foo.test.google.fr``), then one client process per case runs against it, a few at a time,
each bounded in time. A case whose peer truly cannot do it is skipped with the reason (see
``SKIPS``); plugrpc itself skips nothing. The Go peers are tools/interop/go/bin/interop_server
and interop_client (``bash tools/interop/go/build.sh``); without them the Go pairings are
reported NOT BUILT. The exit status is 1 when a case failed (or, with CI=true, when a pairing
was not built).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from interop_common import CLIENT_TEST_CASES, TLS_SERVER_NAME

REPO = Path(__file__).resolve().parents[2]
GO_BIN = REPO / "tools" / "interop" / "go" / "bin"

#: ``(client, server)`` in the order the table lists them.
PAIRINGS: tuple[tuple[str, str], ...] = (
    ("plugrpc", "plugrpc"),
    ("plugrpc", "grpcio"),
    ("grpcio", "plugrpc"),
    ("plugrpc", "go"),
    ("go", "plugrpc"),
)
TRANSPORTS = ("plaintext", "tls")

_NO_REQUEST_FLAG = (
    "grpcio's server API does not say whether a request message arrived compressed, so it "
    "cannot check expect_compressed (CompressedRequest)"
)
_NO_RESPONSE_FLAG = "grpcio's client API does not expose a response message's compressed flag"
_NO_MESSAGE_OPT_OUT = "grpcio's client cannot send one message of a compressed stream uncompressed"
# tools/interop/go/README.md ("Skips for the matrix runner") says why, with the details.
_GO_NO_SEND_COMPRESSOR = (
    "grpc-go 1.33's server cannot choose response compression per call or per message: it "
    "compresses responses only when the request itself is compressed, with its encoding"
)

#: ``(role, peer, case) -> reason``: what a peer implementation truly cannot do.
SKIPS: dict[tuple[str, str, str], str] = {
    ("server", "grpcio", "client_compressed_unary"): _NO_REQUEST_FLAG,
    ("server", "grpcio", "client_compressed_streaming"): _NO_REQUEST_FLAG,
    ("client", "grpcio", "server_compressed_unary"): _NO_RESPONSE_FLAG,
    ("client", "grpcio", "server_compressed_streaming"): _NO_RESPONSE_FLAG,
    ("client", "grpcio", "client_compressed_streaming"): _NO_MESSAGE_OPT_OUT,
    ("server", "go", "server_compressed_unary"): _GO_NO_SEND_COMPRESSOR,
    ("server", "go", "server_compressed_streaming"): _GO_NO_SEND_COMPRESSOR,
}

#: Soak flags the matrix passes: few iterations, generous limits for a loaded 2-core machine.
SOAK_FLAGS = (
    "--soak_iterations=5",
    "--soak_max_failures=0",
    "--soak_per_iteration_max_acceptable_latency_ms=5000",
    "--soak_overall_timeout_seconds=40",
)

PASS, FAIL, SKIP, NOT_BUILT = "pass", "fail", "skip", "not built"


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsFiles:
    """A throwaway CA and a server certificate for ``foo.test.google.fr`` (and loopback)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls_files(directory: Path) -> TlsFiles:
    """Write a fresh CA, server certificate chain and key under ``directory`` (trustme)."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert(TLS_SERVER_NAME, "localhost", "127.0.0.1", "::1")
    files = TlsFiles(
        ca_file=directory / "ca.pem",
        cert_file=directory / "server.pem",
        key_file=directory / "server.key",
    )
    ca.cert_pem.write_to_path(str(files.ca_file))
    files.cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(files.key_file))
    return files


def _program(peer: str, role: str) -> list[str]:
    """The command line (without flags) that runs ``peer``'s server or client."""
    if peer == "plugrpc":
        return [sys.executable, str(REPO / "tools" / "interop" / f"{role}.py")]
    if peer == "grpcio":
        return [sys.executable, str(REPO / "tests" / "interop" / f"grpcio_{role}.py")]
    if peer == "go":
        return [str(GO_BIN / f"interop_{role}")]
    raise ValueError(f"unknown peer {peer!r}")


def missing_programs(pairing: tuple[str, str]) -> list[str]:
    """The Go binaries a pairing needs that are not built (empty when it can run)."""
    client, server = pairing
    needed = [_program(client, "client")[0], _program(server, "server")[0]]
    return [path for path in needed if path != sys.executable and not os.access(path, os.X_OK)]


def skip_reason(pairing: tuple[str, str], case: str) -> str | None:
    """Why ``case`` cannot run in ``pairing``, or None when it must pass."""
    client, server = pairing
    return SKIPS.get(("client", client, case)) or SKIPS.get(("server", server, case))


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseResult:
    """One case in one pairing and transport."""

    pairing: tuple[str, str]
    transport: str
    case: str
    outcome: str
    reason: str = ""
    output: str = ""
    seconds: float = 0.0


@dataclass(slots=True, kw_only=True)
class RowResult:
    """Every case of one pairing over one transport."""

    pairing: tuple[str, str]
    transport: str
    cases: list[CaseResult] = field(default_factory=list)
    not_built: str = ""
    server_log: str = ""

    def count(self, outcome: str) -> int:
        """How many cases ended with ``outcome``."""
        return sum(1 for result in self.cases if result.outcome == outcome)


#: Every interop server prints its bound port on its first line ("... on port 40143 ...").
_PORT_LINE = re.compile(rb"\bport (\d+)\b")


def _wait_listening(process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> int | None:
    """The port the server says it bound, once it accepts connections there (None if not).

    The server picks its own port (``--port=0``) and prints it: choosing a free port here and
    passing it down would race with every other process on the machine.
    """
    deadline = time.monotonic() + timeout
    port = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        if port is None:
            match = _PORT_LINE.search(log_path.read_bytes())
            port = int(match.group(1)) if match else None
        if port is not None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return port
        time.sleep(0.05)
    return None


@contextlib.contextmanager
def running_server(
    peer: str, tls: TlsFiles | None, log_path: Path, startup_timeout: float = 30.0
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Start ``peer``'s interop server on a port of its choice; yield ``(port, process)``."""
    tls_flags = ["--use_tls=false"]
    if tls is not None:
        tls_flags = [
            "--use_tls=true",
            f"--tls_cert_file={tls.cert_file}",
            f"--tls_key_file={tls.key_file}",
        ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_program(peer, "server"), "--port=0", *tls_flags],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )
    try:
        port = _wait_listening(process, log_path, startup_timeout)
        if port is None:
            raise RuntimeError(f"the {peer} interop server did not start: {_tail(log_path)}")
        yield port, process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _run_client(
    pairing: tuple[str, str],
    transport: str,
    case: str,
    port: int,
    tls: TlsFiles | None,
    timeout: float,
) -> CaseResult:
    flags = ["--server_host=127.0.0.1", f"--server_port={port}", f"--test_case={case}"]
    if tls is None:
        flags.append("--use_tls=false")
    else:
        flags += ["--use_tls=true", f"--ca_file={tls.ca_file}"]
        flags.append(f"--server_host_override={TLS_SERVER_NAME}")
    if case.endswith("_soak"):
        flags += SOAK_FLAGS
    began = time.monotonic()
    try:
        done = subprocess.run(
            [*_program(pairing[0], "client"), *flags],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        partial = (expired.stdout or b"") + (expired.stderr or b"")
        return CaseResult(
            pairing=pairing,
            transport=transport,
            case=case,
            outcome=FAIL,
            reason=f"the client did not finish within {timeout:.0f} s",
            output=partial.decode(errors="replace") if isinstance(partial, bytes) else partial,
            seconds=time.monotonic() - began,
        )
    output = (done.stdout + done.stderr).decode(errors="replace")
    return CaseResult(
        pairing=pairing,
        transport=transport,
        case=case,
        outcome=PASS if done.returncode == 0 else FAIL,
        reason="" if done.returncode == 0 else f"exit status {done.returncode}",
        output=output,
        seconds=time.monotonic() - began,
    )


def run_row(
    pairing: tuple[str, str],
    transport: str,
    *,
    tls: TlsFiles | None,
    work_dir: Path,
    cases: Sequence[str] = CLIENT_TEST_CASES,
    jobs: int = 2,
    case_timeout: float = 60.0,
) -> RowResult:
    """Play ``cases`` in one pairing over one transport against one server process."""
    row = RowResult(pairing=pairing, transport=transport)
    missing = missing_programs(pairing)
    if missing:
        row.not_built = f"missing {', '.join(missing)} (bash tools/interop/go/build.sh)"
        return row
    if transport == "tls" and tls is None:
        raise ValueError("the tls transport needs TlsFiles")
    tls_files = tls if transport == "tls" else None
    to_run = []
    for case in cases:
        reason = skip_reason(pairing, case)
        if reason is None:
            to_run.append(case)
        else:
            row.cases.append(
                CaseResult(
                    pairing=pairing, transport=transport, case=case, outcome=SKIP, reason=reason
                )
            )
    log_path = work_dir / f"server-{pairing[0]}-{pairing[1]}-{transport}.log"
    try:
        with running_server(pairing[1], tls_files, log_path) as (port, process):
            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                results = list(
                    pool.map(
                        lambda case: _run_client(
                            pairing, transport, case, port, tls_files, case_timeout
                        ),
                        to_run,
                    )
                )
            alive = process.poll() is None
    except RuntimeError as exc:
        results = [
            CaseResult(
                pairing=pairing, transport=transport, case=case, outcome=FAIL, reason=str(exc)
            )
            for case in to_run
        ]
        alive = True
        row.server_log = _tail(log_path)
    row.cases.extend(results)
    row.cases.sort(key=lambda result: list(cases).index(result.case))
    if not alive or any(result.outcome == FAIL for result in results):
        row.server_log = _tail(log_path)
    if not alive:
        row.cases.append(
            CaseResult(
                pairing=pairing,
                transport=transport,
                case="(server)",
                outcome=FAIL,
                reason="the server process exited during the run",
                output=row.server_log,
            )
        )
    return row


def format_table(rows: Sequence[RowResult]) -> str:
    """The matrix as text: counts per pairing and transport, then skips and failures."""
    lines = [f"{'client -> server':<22} {'transport':<10} {'pass':>5} {'fail':>5} {'skip':>5}"]
    for row in rows:
        name = f"{row.pairing[0]} -> {row.pairing[1]}"
        if row.not_built:
            lines.append(f"{name:<22} {row.transport:<10} NOT BUILT: {row.not_built}")
            continue
        lines.append(
            f"{name:<22} {row.transport:<10} {row.count(PASS):>5} {row.count(FAIL):>5} "
            f"{row.count(SKIP):>5}"
        )
    skips = sorted(
        {(r.pairing, r.case, r.reason) for row in rows for r in row.cases if r.outcome == SKIP}
    )
    if skips:
        lines += ["", "skipped (both transports):"]
        lines += [f"  {c} -> {s}: {case}: {reason}" for (c, s), case, reason in skips]
    failures = [r for row in rows for r in row.cases if r.outcome == FAIL]
    if failures:
        lines += ["", "failures:"]
        for result in failures:
            lines.append(
                f"  {result.pairing[0]} -> {result.pairing[1]} {result.transport} "
                f"{result.case}: {result.reason}"
            )
            lines += [f"    | {line}" for line in result.output.strip().splitlines()[-25:]]
        for row in rows:
            if row.server_log:
                lines.append(f"  server log, {row.pairing[0]} -> {row.pairing[1]} {row.transport}:")
                lines += [f"    | {line}" for line in row.server_log.splitlines()]
    return "\n".join(lines)


def _pairing(text: str) -> tuple[str, str]:
    client, sep, server = text.partition(":")
    pairing = (client, server)
    if not sep or pairing not in PAIRINGS:
        known = ", ".join(f"{c}:{s}" for c, s in PAIRINGS)
        raise argparse.ArgumentTypeError(f"unknown pairing {text!r}; known: {known}")
    return pairing


def main(argv: Sequence[str] | None = None) -> int:
    """Run the matrix and print its table; 1 when a case failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairings", default=",".join(f"{c}:{s}" for c, s in PAIRINGS))
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--cases", default=",".join(CLIENT_TEST_CASES))
    parser.add_argument("--jobs", type=int, default=2, help="client processes at a time")
    parser.add_argument("--case_timeout", type=float, default=60.0, help="seconds per client")
    args = parser.parse_args(argv)
    pairings = [_pairing(p) for p in args.pairings.split(",") if p]
    transports = [t for t in args.transports.split(",") if t]
    cases = [c for c in args.cases.split(",") if c]
    for name in transports:
        if name not in TRANSPORTS:
            parser.error(f"unknown transport {name!r}")
    for name in cases:
        if name not in CLIENT_TEST_CASES:
            parser.error(f"unknown case {name!r}")
    began = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="plugrpc-interop-") as scratch:
        work_dir = Path(scratch)
        tls = make_tls_files(work_dir) if "tls" in transports else None
        for pairing in pairings:
            for transport in transports:
                row = run_row(
                    pairing,
                    transport,
                    tls=tls,
                    work_dir=work_dir,
                    cases=cases,
                    jobs=args.jobs,
                    case_timeout=args.case_timeout,
                )
                rows.append(row)
                print(format_table([row]).splitlines()[1], flush=True)
    print()
    print(format_table(rows))
    print(f"\nwall time: {time.monotonic() - began:.1f} s")
    failed = any(row.count(FAIL) for row in rows)
    not_built = any(row.not_built for row in rows)
    if not_built and os.environ.get("CI", "").lower() == "true":
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
