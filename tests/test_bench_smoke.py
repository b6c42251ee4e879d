"""The benchmark harness (tools/bench) runs end to end in its smallest mode, plugrpc only.

A smoke check, not a benchmark: it proves every row still runs (servers start, scenarios
finish, the driver measures, the report renders, the JSON is written). No timing is
asserted: CI machines are shared and slow.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = (
    "unary1",
    "unary100",
    "server_stream",
    "client_stream",
    "bidi",
    "echo_1MiB",
    "echo_16MiB",
    "idle_connections",
    "open_streams",
)


def test_smoke_mode_runs_every_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "bench" / "run.py"),
            "smoke",
            "--impls",
            "plugrpc",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=100,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["mode"] == "smoke" and data["impls"] == ["plugrpc"]
    for row in ROWS:
        [run] = data["raw"][row]["plugrpc"]
        assert "error" not in run, (row, run)
        assert run["count"] > 0
        summary = data["summary"][row]["plugrpc"]
        if row in ("idle_connections", "open_streams"):
            assert "server_mem" in summary and "client_mem" in summary
        else:
            assert summary["rate"] > 0 and "server_us" in summary and "client_us" in summary
    assert (
        data["summary"]["unary1"]["plugrpc"]["p99_us"]
        >= data["summary"]["unary1"]["plugrpc"]["p50_us"]
    )
    inmemory = data["inmemory"]
    keys = ["h2_default", "h2_novalidate", "machines", "transport", "plugrpc"]
    if importlib.util.find_spec("uvloop") is not None:
        keys.append("plugrpc_uvloop")
    for key in keys:
        assert inmemory[key]["total_us"] > 0, key
    # The markdown report went to stdout.
    assert "| unary, 1 in flight: QPS |" in proc.stdout
    assert "In memory" in proc.stdout
