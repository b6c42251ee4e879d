"""``python -m plugrpc``: usage errors and the plugins listing, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("plugrpc", reason="the command line lives in the plugrpc distribution")

_SWITCHES = ("PLUGRPC_DISABLE_PLUGIN_AUTOLOAD", "PLUGRPC_PLUGINS", "PLUGRPC_BLOCK_PLUGINS")


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in _SWITCHES}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "plugrpc", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("args", [(), ("frobnicate",)])
def test_missing_or_unknown_command_prints_usage_and_exits_2(args):
    done = run_cli(*args)
    assert done.returncode == 2
    assert "usage: python -m plugrpc" in done.stderr
    assert done.stdout == ""


def test_plugins_table_has_a_header_and_sorted_rows():
    done = run_cli("plugins")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["KIND", "KEY", "DISTRIBUTION", "VERSION", "CLASS"]
    rows = [line.split() for line in lines[1:] if line and not line.startswith("(")]
    assert rows == sorted(rows, key=lambda r: (r[0], r[1]))
    for row in rows:
        assert len(row) == 5
        assert ":" in row[4]  # module:Class


def test_plugins_json_matches_the_table():
    table = run_cli("plugins")
    as_json = run_cli("plugins", "--json")
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert isinstance(rows, list)
    keys = [(r["kind"], r["key"]) for r in rows]
    assert keys == sorted(keys)
    listed = [tuple(line.split()[:2]) for line in table.stdout.splitlines()[1:] if line.strip()]
    assert [k for k in listed if k[0] != "(no"] == keys


def test_plugins_with_autoload_disabled_lists_only_builtins():
    done = run_cli("plugins", "--json", PLUGRPC_DISABLE_PLUGIN_AUTOLOAD="1")
    assert done.returncode == 0, done.stderr
    for row in json.loads(done.stdout):
        assert row["distribution"] in {"plugrpc", "plugrpc-core"}, row
